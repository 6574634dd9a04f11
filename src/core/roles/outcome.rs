//! What role requests come to: request ids, outcomes and errors.

use super::RoleState;
use crate::clock::LamportTime;
use crate::core::KeyRollout;
use crate::identity::{NodeName, RoleName};

/// Identifies a request made of the core; its outcome comes back as a [`Completion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Why a role operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// Another node holds the role; wait for it to go (`campaign`) or recall it.
    #[error("lost: {holder} holds the role with term {term}")]
    Lost {
        /// The holder.
        holder: NodeName,
        /// Its term.
        term: LamportTime,
    },
    /// Too few voters are alive to reach a quorum; bring members back or force-leave
    /// the dead ones.
    #[error("not enough members: have {have}, need {need}")]
    NotEnoughMembers {
        /// Live voters, this node included if it votes.
        have: usize,
        /// Votes required.
        need: usize,
    },
    /// Nobody holds the role, so there is nothing to recall.
    #[error("the role is not held by anyone")]
    RoleUnfilled,
    /// This node does not hold the role, so it cannot resign it.
    #[error("this node does not hold the role")]
    NotHolder,
    /// No quorum answered in time; the network may be partitioned. Try again.
    #[error("timed out waiting for a quorum")]
    TimedOut,
    /// The request was cancelled, or the node left.
    #[error("cancelled")]
    Cancelled,
    /// This node has not been part of the cluster for a lease since it started, so it
    /// cannot know the electorate yet; wait, or check its join addresses.
    #[error("not joined: this node has not been part of the cluster for a lease yet")]
    NotJoined,
    /// The node a transfer named does not campaign for the role (or is this node); the
    /// role stays held. Start a campaign on it first, or name another node.
    #[error("{node} does not campaign for the role; the role stays held")]
    NotCandidate {
        /// The node named.
        node: NodeName,
    },
    /// The node a transfer named is not a live member, or did not answer the offer
    /// within an election timeout; the role stays held. Check that it runs and is
    /// reachable, or name another node.
    #[error("{node} is not reachable; the role stays held")]
    Unreachable {
        /// The node named.
        node: NodeName,
    },
    /// The value is longer than this node's [`crate::Config::max_value_len`]; shorten it.
    #[error(transparent)]
    ValueTooLarge(#[from] crate::role_value::ValueTooLarge),
}

/// Why this node stopped holding a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LossReason {
    /// It resigned.
    Resigned,
    /// It could not renew with a quorum before its lease ran out.
    LeaseExpired,
    /// A quorum recalled it.
    Recalled,
    /// It learned of a newer holder.
    Superseded,
}

/// The outcome of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// `elect` or `campaign`: the term won, or why not.
    Elect {
        /// The request.
        id: RequestId,
        /// The role.
        role: RoleName,
        /// The term won (the fencing token), or why not.
        result: Result<LamportTime, RoleError>,
    },
    /// `recall`: the term recalled, or why not.
    Recall {
        /// The request.
        id: RequestId,
        /// The term recalled, or why not.
        result: Result<LamportTime, RoleError>,
    },
    /// `query_role`: the state a quorum reported.
    Query {
        /// The request.
        id: RequestId,
        /// The state with the highest term among a quorum's answers, or why none came.
        result: Result<RoleState, RoleError>,
    },
    /// `transfer`: the term given up in favour of the node named, or why the role
    /// stays held.
    Transfer {
        /// The request.
        id: RequestId,
        /// The term given up, or why not.
        result: Result<LamportTime, RoleError>,
    },
    /// `rollout_keys`: what each member answered, and who did not.
    Keys {
        /// The request.
        id: RequestId,
        /// The answers.
        rollout: KeyRollout,
    },
}

impl Completion {
    /// The request this is the outcome of.
    pub fn id(&self) -> RequestId {
        match self {
            Completion::Elect { id, .. }
            | Completion::Recall { id, .. }
            | Completion::Query { id, .. }
            | Completion::Transfer { id, .. }
            | Completion::Keys { id, .. } => *id,
        }
    }
}
