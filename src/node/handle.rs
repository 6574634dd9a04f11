//! [`NodeHandle`]: how the rest of a program talks to a running node.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::command::Command;
use super::control::Control;
use super::error::NodeError;
use super::role_watch::RoleWatches;
use crate::core::{Event, HeldRole, Member, Stats};
use crate::identity::{NodeId, NodeName};
use crate::tags::Tags;

/// A handle to a running node, returned by [`super::Node::start`]. Cheap to clone; every
/// clone reaches the same node.
///
/// Membership: [`NodeHandle::members`], [`NodeHandle::events`], [`NodeHandle::leave`],
/// [`NodeHandle::force_leave`]. Roles: [`NodeHandle::campaign`], [`NodeHandle::elect`],
/// [`NodeHandle::resign`], [`NodeHandle::recall`], [`NodeHandle::query_role`],
/// [`NodeHandle::holder`], [`NodeHandle::roles`], [`NodeHandle::watch`].
///
/// The node runs until [`NodeHandle::leave`] or [`NodeHandle::shutdown`] is called, or
/// until every handle is dropped (which stops it like `shutdown`, without goodbye). After
/// that every request fails with [`NodeError::ShutDown`].
#[derive(Clone)]
pub struct NodeHandle {
    id: NodeId,
    local_addr: SocketAddr,
    pub(super) commands: mpsc::Sender<Command>,
    /// For what must reach the task without waiting (an abandoned request).
    pub(super) control: mpsc::UnboundedSender<Control>,
    events: broadcast::WeakSender<Event>,
    pub(super) watches: Arc<RoleWatches>,
    ended: watch::Receiver<()>,
}

impl NodeHandle {
    pub(crate) fn new(
        id: NodeId,
        local_addr: SocketAddr,
        commands: mpsc::Sender<Command>,
        control: mpsc::UnboundedSender<Control>,
        events: broadcast::WeakSender<Event>,
        watches: Arc<RoleWatches>,
        ended: watch::Receiver<()>,
    ) -> Self {
        NodeHandle {
            id,
            local_addr,
            commands,
            control,
            events,
            watches,
            ended,
        }
    }

    /// The node's identity when it started. Its generation grows if the node has to
    /// rejoin after being declared down; [`NodeHandle::current_id`] tells the current one.
    pub fn id(&self) -> NodeId {
        self.id.clone()
    }

    /// The node's identity now, with the generation it currently runs under.
    pub async fn current_id(&self) -> Result<NodeId, NodeError> {
        self.ask(Command::CurrentId).await
    }

    /// The address the node advertises to the other members, which they send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Every member this node knows, itself included, one entry per name.
    pub async fn members(&self) -> Result<Vec<Member>, NodeError> {
        self.ask(Command::Members).await
    }

    /// This node's tags: deletes the keys of `delete`, then sets each `(key, value)` of
    /// `set`, and publishes the result to every member (directly to the live ones, and by
    /// gossip). Returns the tags now. If the result would break a rule of [`Tags`],
    /// fails with [`NodeError::Tags`] and changes nothing.
    pub async fn update_tags(
        &self,
        set: Vec<(String, String)>,
        delete: Vec<String>,
    ) -> Result<Tags, NodeError> {
        self.change_tags(false, set, delete).await
    }

    async fn change_tags(
        &self,
        clear: bool,
        set: Vec<(String, String)>,
        delete: Vec<String>,
    ) -> Result<Tags, NodeError> {
        let result = self
            .ask(|reply| Command::UpdateTags {
                clear,
                set,
                delete,
                reply,
            })
            .await?;
        Ok(result?)
    }

    /// Replaces this node's tags with `tags` and publishes them, as
    /// [`NodeHandle::update_tags`] does.
    pub async fn set_tags(&self, tags: Tags) -> Result<(), NodeError> {
        let set = tags
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.change_tags(true, set, Vec::new()).await.map(|_| ())
    }

    /// This node's own tags.
    pub async fn tags(&self) -> Result<Tags, NodeError> {
        self.ask(Command::Tags).await
    }

    /// The electorate's population as this node counts it: distinct names alive or down,
    /// itself included, not counting members that left, were force-left or reaped.
    pub async fn population(&self) -> Result<usize, NodeError> {
        self.ask(Command::Population).await
    }

    /// The node's counters (datagrams received, sent and dropped, by reason).
    pub async fn stats(&self) -> Result<Stats, NodeError> {
        self.ask(Command::Stats).await
    }

    /// The roles this node holds, each with its term, when it was won and how many
    /// renewal rounds in a row have gone without a quorum (for metrics; [`Self::roles`]
    /// is every role this node knows).
    pub async fn held_roles(&self) -> Result<Vec<HeldRole>, NodeError> {
        self.ask(Command::HeldRoles).await
    }

    /// A new subscription to the node's events, from now on; earlier events are not
    /// replayed. Up to 1024 events are buffered per subscriber: one that falls further
    /// behind gets [`broadcast::error::RecvError::Lagged`] and misses the oldest. Once
    /// the node has stopped, the receiver reports
    /// [`broadcast::error::RecvError::Closed`].
    pub fn events(&self) -> broadcast::Receiver<Event> {
        match self.events.upgrade() {
            Some(sender) => sender.subscribe(),
            // The node has stopped: hand out a receiver that is already closed.
            None => broadcast::channel(1).1,
        }
    }

    /// Announces this node to `seeds` as well, now and whenever it knows no live member.
    /// Returns once the announcements are sent, not once they are answered: watch
    /// [`NodeHandle::events`] for [`Event::Joined`].
    pub async fn join(&self, seeds: Vec<SocketAddr>) -> Result<(), NodeError> {
        self.ask(|reply| Command::Join(seeds, reply)).await
    }

    /// Removes a failed member from the population on every node, as serf's
    /// `force-leave` does. Refused ([`NodeError::ForceLeave`]) for an unknown name and
    /// for a member that is not down.
    pub async fn force_leave(&self, name: NodeName) -> Result<(), NodeError> {
        self.ask(|reply| Command::ForceLeave(name, reply)).await??;
        Ok(())
    }

    /// Leaves the cluster gracefully: resigns every role held (each
    /// [`super::Leadership::lost`] resolves with `Resigned`), cancels every role request
    /// still waiting (they fail with `Cancelled`), tells the members this node is gone,
    /// so it stops counting in their population, then stops the node. Returns once the
    /// goodbyes are sent and the node's socket is closed. Fails with
    /// [`NodeError::ShutDown`] if the node had already stopped.
    pub async fn leave(&self) -> Result<(), NodeError> {
        self.ask(Command::Leave).await?;
        self.stopped().await;
        Ok(())
    }

    /// Stops the node without saying goodbye, as a crash would: the other members see it
    /// fail and keep counting it until it is reaped or force-left, and the roles it held
    /// pass to others once their leases run out. Role requests still waiting fail with
    /// [`NodeError::ShutDown`], and every [`super::Leadership::lost`] resolves with it.
    /// Returns once the node has stopped and its socket is closed; does nothing more if
    /// it had already stopped.
    pub async fn shutdown(&self) {
        // A send error means the task has already ended.
        let _ = self.commands.send(Command::Shutdown).await;
        self.stopped().await;
    }

    /// Waits until the node's task has ended and its socket is closed.
    async fn stopped(&self) {
        let mut ended = self.ended.clone();
        // The task never sends a value: `changed` fails once it has dropped the sender.
        while ended.changed().await.is_ok() {}
    }

    pub(super) async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| NodeError::ShutDown)?;
        answer.await.map_err(|_| NodeError::ShutDown)
    }
}

impl fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeHandle")
            .field("id", &self.id)
            .field("local_addr", &self.local_addr)
            .field("running", &!self.commands.is_closed())
            .finish()
    }
}
