//! The requests a [`super::NodeHandle`] sends to the node's task, each with a channel
//! for the reply.

use std::net::SocketAddr;

use tokio::sync::oneshot;

use crate::core::{ForceLeaveError, Member, Stats};
use crate::identity::{NodeId, NodeName};

/// One request to the node's task. A dropped reply sender tells the handle that the task
/// has ended.
#[derive(Debug)]
pub(crate) enum Command {
    /// The node's current identity.
    CurrentId(oneshot::Sender<NodeId>),
    /// Every known member, this node included.
    Members(oneshot::Sender<Vec<Member>>),
    /// The electorate's population as this node counts it.
    Population(oneshot::Sender<usize>),
    /// The core's counters.
    Stats(oneshot::Sender<Stats>),
    /// Announce to more seeds; replied once the announcements are sent.
    Join(Vec<SocketAddr>, oneshot::Sender<()>),
    /// Remove a failed member from the population.
    ForceLeave(NodeName, oneshot::Sender<Result<(), ForceLeaveError>>),
    /// Say goodbye, send it, then end the task; replied once the goodbyes are sent.
    Leave(oneshot::Sender<()>),
    /// End the task at once, without goodbye.
    Shutdown,
}
