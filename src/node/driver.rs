//! The node's one task: it owns the socket, the core and the timers, feeds the core every
//! datagram, timeout and command with the current time, and after each one sends what
//! the core wants sent and publishes what it reports.

use std::future;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc};

use super::command::Command;
use super::control::Control;
use super::role_desk::RoleDesk;
use super::state_dir::{SAVE_INTERVAL, StateWriter};
use crate::core::{Core, Event};

/// Size of the receive buffer, in bytes: larger than any UDP payload, so an oversized
/// datagram reaches the core whole, which counts and drops it.
const RECV_BUFFER_LEN: usize = 65_536;

/// Whether the task carries on after an input.
enum Flow {
    Continue,
    Stop,
}

/// Everything the node's task owns.
pub(crate) struct Driver {
    socket: UdpSocket,
    core: Core,
    commands: mpsc::Receiver<Command>,
    control: mpsc::UnboundedReceiver<Control>,
    events: broadcast::Sender<Event>,
    roles: RoleDesk,
    /// Writes the state directory's file, if the node has one.
    state: Option<StateWriter>,
    buf: Vec<u8>,
}

impl Driver {
    pub(crate) fn new(
        socket: UdpSocket,
        core: Core,
        commands: mpsc::Receiver<Command>,
        control: mpsc::UnboundedReceiver<Control>,
        events: broadcast::Sender<Event>,
        roles: RoleDesk,
        state: Option<StateWriter>,
    ) -> Self {
        Driver {
            socket,
            core,
            commands,
            control,
            events,
            roles,
            state,
            buf: vec![0; RECV_BUFFER_LEN],
        }
    }

    /// Runs until the node leaves, is shut down, or every handle is dropped. Everything
    /// the driver owns, the socket included, is closed when this returns; requests still
    /// waiting fail with `ShutDown`, every `Leadership::lost()` resolves, and the state
    /// file, if any, holds the state the node stopped with.
    pub(crate) async fn run(mut self) {
        self.serve().await;
        self.roles.close();
        if let Some(state) = &mut self.state {
            state.finish(self.core.durable()).await;
        }
    }

    async fn serve(&mut self) {
        // What the core queued while starting (its first announcements to the seeds).
        self.flush().await;
        let mut next_save = tokio::time::Instant::now() + SAVE_INTERVAL;
        loop {
            let saving = self.state.is_some();
            let deadline = self.core.poll_timeout();
            let timer = async {
                match deadline {
                    Some(deadline) => {
                        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await
                    }
                    None => future::pending().await,
                }
            };
            let flow = tokio::select! {
                received = self.socket.recv_from(&mut self.buf) => {
                    match received {
                        Ok((len, from)) => {
                            let datagram = self.buf.get(..len).unwrap_or_default();
                            self.core.handle_datagram(Instant::now(), from, datagram);
                        }
                        // An ICMP port-unreachable surfaces here as ConnectionReset on
                        // some systems; the peer's failure is the failure detector's
                        // business, not the socket's.
                        Err(error) => tracing::debug!(%error, "receiving a datagram failed"),
                    }
                    Flow::Continue
                }
                () = timer => {
                    self.core.handle_timeout(Instant::now());
                    Flow::Continue
                }
                () = tokio::time::sleep_until(next_save), if saving => {
                    let durable = self.core.durable();
                    if let Some(state) = &mut self.state {
                        state.tick(durable).await;
                    }
                    next_save = tokio::time::Instant::now() + SAVE_INTERVAL;
                    Flow::Continue
                }
                Some(control) = self.control.recv() => {
                    self.roles.control(&mut self.core, control);
                    Flow::Continue
                }
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => {
                        tracing::debug!(id = ?self.core.id(), "every handle dropped; stopping");
                        Flow::Stop
                    }
                },
            };
            if let Flow::Stop = flow {
                return;
            }
            self.flush().await;
        }
    }

    async fn command(&mut self, command: Command) -> Flow {
        match command {
            Command::CurrentId(reply) => {
                let _ = reply.send(self.core.id().clone());
            }
            Command::Members(reply) => {
                let _ = reply.send(self.core.members());
            }
            Command::Population(reply) => {
                let _ = reply.send(self.core.population());
            }
            Command::Stats(reply) => {
                let _ = reply.send(self.core.stats().clone());
            }
            Command::HeldRoles(reply) => {
                let _ = reply.send(self.core.held_role_details(Instant::now()));
            }
            Command::Join(seeds, reply) => {
                self.core.join(Instant::now(), &seeds);
                self.flush().await;
                let _ = reply.send(());
            }
            Command::UpdateTags {
                clear,
                set,
                delete,
                reply,
            } => {
                let updated = self.core.update_tags(Instant::now(), clear, set, &delete);
                self.flush().await;
                let _ = reply.send(updated);
            }
            Command::Tags(reply) => {
                let _ = reply.send(self.core.tags());
            }
            Command::ForceLeave(name, reply) => {
                let result = self.core.force_leave(Instant::now(), &name);
                self.flush().await;
                let _ = reply.send(result);
            }
            Command::Role(command) => self.roles.command(&mut self.core, command),
            Command::Keys(reply) => {
                let _ = reply.send(self.core.keyring().map(|ring| ring.keys().to_vec()));
            }
            Command::RolloutKeys(op, reply) => self.roles.rollout_keys(&mut self.core, op, reply),
            Command::Leave(reply) => {
                tracing::debug!(id = ?self.core.id(), "leaving");
                self.core.leave(Instant::now());
                self.flush().await;
                let _ = reply.send(());
                return Flow::Stop;
            }
            Command::Shutdown => {
                tracing::debug!(id = ?self.core.id(), "shutting down without goodbye");
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Routes every outcome of a request to its caller, publishes every event the core
    /// reported, and sends every datagram it queued.
    async fn flush(&mut self) {
        loop {
            let events = &self.events;
            let resigned = self.roles.route(&mut self.core, |event| {
                // An error only means that nobody is subscribed right now.
                let _ = events.send(event);
            });
            while let Some(transmit) = self.core.poll_transmit() {
                if let Err(error) = self.socket.send_to(&transmit.bytes, transmit.to).await {
                    tracing::debug!(%error, to = %transmit.to, "sending a datagram failed");
                }
            }
            // Resigning a role nobody wants queues more events and datagrams.
            if !resigned {
                return;
            }
        }
    }
}
