//! What the core tells its user, drained with [`super::Core::poll_event`].

use std::time::Instant;

use super::roles::{LossReason, RoleState};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};

/// Something that happened, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A member came alive (joined, or came back under a newer generation).
    MemberUp(NodeId),
    /// A member was declared down by the failure detector; it still counts in the
    /// population until reaped or force-left.
    MemberDown(NodeId),
    /// A member left on purpose, or was force-left while down; it no longer counts.
    MemberLeft(NodeId),
    /// A member that was down or gone for `reap_down_after` was forgotten.
    MemberReaped(NodeName),
    /// This node reached the cluster: at least one member knows it.
    Joined,
    /// This node knows no live member any more; it re-announces to its join addresses.
    Isolated,
    /// This node was declared down by the others and rejoined under a new generation.
    Rejoined(NodeId),
    /// This node's keyring changed (a key installed, used or removed, by a
    /// [`super::Core::rollout_keys`] here or on another node): save it if it is kept on disk.
    KeyringChanged,
    /// This node now holds `role`; `term` is its fencing token.
    RoleAcquired {
        /// The role.
        role: RoleName,
        /// The term won.
        term: LamportTime,
    },
    /// No quorum has acknowledged a renewal of `role` for `renew_deadline`: unless one
    /// does, this node steps down at `until` (its own lease's end, before any voter's).
    /// Reported once per tenure, and always before a `RoleLost` for an expired lease
    /// (at the same moment if this node was held up past the warning); stop acting for
    /// the role before `until`.
    RoleAtRisk {
        /// The role.
        role: RoleName,
        /// The term held.
        term: LamportTime,
        /// When this node steps down unless a quorum renews first.
        until: Instant,
    },
    /// This node no longer holds `role`: it stopped before any voter could grant the
    /// role to someone else.
    RoleLost {
        /// The role.
        role: RoleName,
        /// The term it held.
        term: LamportTime,
        /// Why.
        reason: LossReason,
    },
    /// This node's view of `role` changed; views only move to higher terms.
    RoleChanged {
        /// The role.
        role: RoleName,
        /// The new state.
        state: RoleState,
    },
}
