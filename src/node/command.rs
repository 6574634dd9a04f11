//! The requests a [`super::NodeHandle`] sends to the node's task, each with a channel
//! for the reply. What a tenure sends is in [`super::control`].

use std::net::SocketAddr;

use tokio::sync::oneshot;

use super::leadership::Leadership;
use crate::clock::LamportTime;
use crate::core::{ForceLeaveError, HeldRole, KeyRollout, Member, RoleError, RoleState, Stats};
use crate::identity::{NodeId, NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::tags::{Tags, TagsError};
use crate::wire::{Key, KeyOp};

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
    /// The roles this node holds, for metrics.
    HeldRoles(oneshot::Sender<Vec<HeldRole>>),
    /// Announce to more seeds; replied once the announcements are sent.
    Join(Vec<SocketAddr>, oneshot::Sender<()>),
    /// This node's own tags.
    Tags(oneshot::Sender<Tags>),
    /// Delete some (or, with `clear`, all) of this node's tags and set some, then
    /// publish them; replied with the tags now, or why they were refused (nothing
    /// changed then).
    UpdateTags {
        clear: bool,
        set: Vec<(String, String)>,
        delete: Vec<String>,
        reply: oneshot::Sender<Result<Tags, TagsError>>,
    },
    /// Remove a failed member from the population.
    ForceLeave(NodeName, oneshot::Sender<Result<(), ForceLeaveError>>),
    /// A role operation.
    Role(RoleCommand),
    /// This node's keys, primary first; `None` if it does not seal.
    Keys(oneshot::Sender<Option<Vec<Key>>>),
    /// A keyring change made on every live member; replied when all answered or the
    /// time is up.
    RolloutKeys(KeyOp, oneshot::Sender<KeyRollout>),
    /// Say goodbye, send it, then end the task; replied once the goodbyes are sent.
    Leave(oneshot::Sender<()>),
    /// End the task at once, without goodbye.
    Shutdown,
}

/// A role operation. Requests that wait for other nodes (`Elect`, `Recall`, `Query`) are
/// cancelled when their reply's receiver is closed and a [`Control::Abandoned`] arrives.
#[derive(Debug)]
pub(crate) enum RoleCommand {
    /// One election (`campaign: false`) or a campaign.
    Elect {
        role: RoleName,
        campaign: bool,
        value: RoleValue,
        /// The campaign's priority ([`crate::Core::campaign_with_priority`]); 0 is none.
        priority: u32,
        reply: oneshot::Sender<Result<Leadership, RoleError>>,
    },
    /// Ask a quorum to stop renewing the holder.
    Recall {
        role: RoleName,
        reply: oneshot::Sender<Result<LamportTime, RoleError>>,
    },
    /// Ask a quorum who holds the role.
    Query {
        role: RoleName,
        reply: oneshot::Sender<Result<RoleState, RoleError>>,
    },
    /// Step down from the role; with a `term`, only if it is held at that term.
    Resign {
        role: RoleName,
        term: Option<LamportTime>,
        reply: oneshot::Sender<Result<LamportTime, RoleError>>,
    },
    /// Hand the role to `to`; with a `term`, only if it is held at that term.
    Transfer {
        role: RoleName,
        term: Option<LamportTime>,
        to: NodeName,
        reply: oneshot::Sender<Result<LamportTime, RoleError>>,
    },
    /// This node's view of one role.
    State(RoleName, oneshot::Sender<RoleState>),
    /// This node's view of every role it has heard of.
    List(oneshot::Sender<Vec<(RoleName, RoleState)>>),
}
