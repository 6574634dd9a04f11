//! The tokio node: a thin driver that runs the sans-IO [`Core`] over a real UDP socket.
//!
//! [`Node::start`] binds the socket and spawns one task that owns the socket, the core
//! and its timers. The task waits for whichever comes first (a datagram, the core's next
//! deadline, or a request from a [`NodeHandle`]), hands it to the core with the current
//! time, then hands each role request's outcome to its caller (a won role as a
//! [`Leadership`]), publishes every event the core reported, and sends every datagram it
//! queued. Nothing else touches the core, so it needs no lock.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use polity::{Config, Node, NodeName};
//!
//! let mut config = Config::lan(NodeName::new("web-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! let node = Node::start(config).await?;
//! let mut events = node.events();
//! while let Ok(event) = events.recv().await {
//!     println!("{event:?}; population {}", node.population().await?);
//! }
//! # Ok(())
//! # }
//! ```

mod campaign_gates;
mod command;
mod control;
mod driver;
mod error;
mod handle;
mod key_calls;
mod leadership;
mod role_calls;
mod role_desk;
mod role_watch;
mod startup;
mod state_dir;

pub use error::{NodeError, StartError};
pub use handle::NodeHandle;
pub use leadership::{Leadership, Standing, StandingWatch};

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, watch};

use crate::config::Config;
use crate::core::Core;
use driver::Driver;
use role_desk::RoleDesk;
use role_watch::RoleWatches;
use state_dir::StateWriter;

/// How many events each subscriber may fall behind before it misses the oldest.
const EVENT_CAPACITY: usize = 1024;

/// How many requests from handles may wait for the node's task.
const COMMAND_CAPACITY: usize = 64;

/// Starts nodes; see [`Node::start`]. A running node is reached through its
/// [`NodeHandle`].
#[derive(Debug)]
pub struct Node {
    _no_instances: (),
}

impl Node {
    /// Starts a node: validates `config`, binds a UDP socket to `config.bind`, works out
    /// the address to advertise, and spawns the node's task on the current tokio runtime.
    /// The node announces itself to `config.join` at once, and again every
    /// `rejoin_interval` for as long as it knows no live member.
    ///
    /// The advertised address is `config.advertise` if set; else the bound address if its
    /// IP is specific; else (a wildcard bind) the local IP that routes towards the first
    /// `config.join` address, with the bound port. The node's generation and the floor of
    /// its Lamport clock are the wall-clock time in microseconds since the UNIX epoch, so
    /// a restarted node wins over its old self.
    ///
    /// Must be called within a tokio runtime (any flavour). A node started this way
    /// keeps nothing on disk; [`Node::start_with_state`] keeps what a restart needs.
    pub async fn start(config: Config) -> Result<NodeHandle, StartError> {
        Self::start_with_state(config, None).await
    }

    /// Starts a node as [`Node::start`] does, keeping its state in `state_dir` if one is
    /// given (`None` keeps nothing, exactly like `start`).
    ///
    /// The directory is made if it does not exist, and holds one file, `state.json`: the
    /// node's [`crate::Durable`] state (its Lamport clock, the members it counts and the
    /// highest term it has seen of each role). If the file exists, the node starts its
    /// clock and generation above the saved clock (or at the wall-clock time, if that is
    /// higher), so its terms keep growing even if the wall clock was set back, and it
    /// counts the saved members as down until it hears from them, so that a restart
    /// never shrinks the population it counts. The file is written once at start (so a
    /// directory that cannot be written is found at once), then at most once a second
    /// while the state changes, and once more when the node leaves, shuts down or is
    /// dropped. Every write replaces the file atomically (a temporary file, flushed to
    /// the disk, renamed).
    ///
    /// Fails with [`StartError::StateDir`] if the directory cannot be made, and with
    /// [`StartError::StateFile`] if the file cannot be read or written, is larger than
    /// 16 MiB, or is not a polity state file: remove it to start afresh. Give every node
    /// its own directory.
    pub async fn start_with_state(
        config: Config,
        state_dir: Option<&Path>,
    ) -> Result<NodeHandle, StartError> {
        config.validate()?;
        let saved = match state_dir {
            Some(dir) => {
                let owned = dir.to_path_buf();
                run_blocking(dir, move || state_dir::load(&owned)).await?
            }
            None => None,
        };
        let requested = config.bind;
        let socket = UdpSocket::bind(requested)
            .await
            .map_err(|source| StartError::Bind {
                addr: requested,
                source,
            })?;
        let bound = socket.local_addr().map_err(|source| StartError::Bind {
            addr: requested,
            source,
        })?;
        let startup = startup::startup(&config, bound, saved.as_ref().map(|saved| saved.clock))?;
        let now = Instant::now();
        let mut core = Core::new(config, startup, now)?;
        if let Some(saved) = &saved {
            core.remember(now, saved);
        }
        let state = match state_dir {
            Some(dir) => {
                let owned = dir.to_path_buf();
                let durable = core.durable();
                let (owned, durable) = run_blocking(dir, move || {
                    state_dir::save(&owned, &durable).map_err(|error| StartError::StateFile {
                        path: owned.join(state_dir::STATE_FILE),
                        reason: format!("cannot write it: {error}"),
                    })?;
                    Ok((owned, durable))
                })
                .await?;
                Some(StateWriter::new(owned, durable))
            }
            None => None,
        };
        let id = core.id().clone();

        let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (event_tx, _) = broadcast::channel(EVENT_CAPACITY);
        let (ended_tx, ended_rx) = watch::channel(());
        let watches = Arc::new(RoleWatches::new());
        let roles = RoleDesk::new(Arc::clone(&watches), control_tx.clone());
        let handle = NodeHandle::new(
            id.clone(),
            startup.addr,
            command_tx,
            control_tx,
            event_tx.downgrade(),
            watches,
            ended_rx,
        );
        tracing::debug!(?id, %bound, "node started");
        let driver = Driver::new(socket, core, command_rx, control_rx, event_tx, roles, state);
        tokio::spawn(async move {
            // The driver, socket included, is dropped when `run` returns; only then is the
            // end signalled, so `shutdown` and `leave` return with the socket closed.
            driver.run().await;
            drop(ended_tx);
        });
        Ok(handle)
    }
}

/// Runs work on the files of `dir` on tokio's blocking pool, so that a slow disk does not
/// stall the runtime's other tasks.
async fn run_blocking<T: Send + 'static>(
    dir: &Path,
    work: impl FnOnce() -> Result<T, StartError> + Send + 'static,
) -> Result<T, StartError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| {
            // The work panicked, or the runtime is shutting down.
            Err(StartError::StateDir {
                dir: dir.to_path_buf(),
                source: std::io::Error::other(error),
            })
        })
}
