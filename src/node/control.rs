//! What a tenure ([`super::Leadership`]) and code that cannot wait (a `Drop`) send to
//! the node's task, on an unbounded channel. It names no handle type, so that
//! `leadership` depends on it and not on [`super::command`], which hands out
//! `Leadership` values.

use tokio::sync::oneshot;

use crate::clock::LamportTime;
use crate::core::RoleError;
use crate::identity::{NodeName, RoleName};
use crate::role_value::RoleValue;

#[derive(Debug)]
pub(crate) enum Control {
    /// Somebody stopped waiting for a role request: cancel every request whose reply
    /// nobody can receive any more.
    Abandoned,
    /// The last `Leadership` of this tenure was dropped: resign the role, if the node
    /// still holds it at `term` and no new `Leadership` for it was handed out since.
    Release { role: RoleName, term: LamportTime },
    /// `Leadership::resign`: step down from the role if it is held at `term`.
    Resign {
        role: RoleName,
        term: LamportTime,
        reply: oneshot::Sender<Result<LamportTime, RoleError>>,
    },
    /// `Leadership::transfer`: hand the role to `to` if it is held at `term`.
    Transfer {
        role: RoleName,
        term: LamportTime,
        to: NodeName,
        reply: oneshot::Sender<Result<LamportTime, RoleError>>,
    },
    /// `Leadership::proclaim`: publish `value` with the role if it is held at `term`.
    Proclaim {
        role: RoleName,
        term: LamportTime,
        value: RoleValue,
        reply: oneshot::Sender<Result<u64, RoleError>>,
    },
}
