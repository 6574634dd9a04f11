//! What a test asks of a node (elections, campaigns, resignations, recalls, queries, key
//! rollouts, tags), and the tap that records and injects raw datagrams.

use std::time::{Duration, Instant};

use super::{Sim, addr_of};
use crate::clock::LamportTime;
use crate::core::{Core, RequestId, RoleError};
use crate::identity::RoleName;
use crate::role_value::RoleValue;
use crate::tags::Tags;

impl Sim {
    fn command<R>(
        &mut self,
        i: usize,
        what: std::fmt::Arguments<'_>,
        f: impl FnOnce(&mut Core, Instant) -> R,
    ) -> Option<R> {
        let _span = self.node_span(i).entered();
        let local = self.local_now(i);
        self.log(format_args!("n{i} {what}"));
        let result = self.nodes[i].core.as_mut().map(|core| f(core, local));
        self.after_input(i);
        result
    }

    /// Node `i` runs one election for `role`.
    pub fn elect(&mut self, i: usize, role: &RoleName) -> Option<RequestId> {
        self.command(i, format_args!("elect {role}"), |c, now| {
            c.elect(now, role.clone())
        })
    }

    /// Node `i` runs one election for `role`, to publish `value` with it.
    pub fn elect_with(&mut self, i: usize, role: &RoleName, value: RoleValue) -> Option<RequestId> {
        let shown = format!("{value:?}");
        self.command(i, format_args!("elect {role} with {shown}"), |c, now| {
            c.elect_with(now, role.clone(), value)
        })
    }

    /// Node `i` campaigns for `role` until it holds it.
    pub fn campaign(&mut self, i: usize, role: &RoleName) -> Option<RequestId> {
        self.command(i, format_args!("campaign {role}"), |c, now| {
            c.campaign(now, role.clone())
        })
    }

    /// Node `i` campaigns for `role`, to publish `value` with it.
    pub fn campaign_with(
        &mut self,
        i: usize,
        role: &RoleName,
        value: RoleValue,
    ) -> Option<RequestId> {
        let shown = format!("{value:?}");
        self.command(i, format_args!("campaign {role} with {shown}"), |c, now| {
            c.campaign_with(now, role.clone(), value)
        })
    }

    /// Node `i` campaigns for `role` with `priority`.
    pub fn campaign_with_priority(
        &mut self,
        i: usize,
        role: &RoleName,
        priority: u32,
    ) -> Option<RequestId> {
        let what = format_args!("campaign {role} with priority {priority}");
        self.command(i, what, |c, now| {
            c.campaign_with_priority(now, role.clone(), RoleValue::EMPTY, priority)
        })
    }

    /// Node `i` publishes `value` with `role`, which it holds.
    pub fn proclaim(
        &mut self,
        i: usize,
        role: &RoleName,
        value: RoleValue,
    ) -> Option<Result<u64, RoleError>> {
        let shown = format!("{value:?}");
        self.command(i, format_args!("proclaim {role} {shown}"), |c, now| {
            c.proclaim(now, role, value)
        })
    }

    /// Node `i` resigns `role`.
    pub fn resign(&mut self, i: usize, role: &RoleName) -> Option<Result<LamportTime, RoleError>> {
        self.command(i, format_args!("resign {role}"), |c, now| {
            c.resign(now, role)
        })
    }

    /// Node `i` hands `role` to node `to`.
    pub fn transfer(&mut self, i: usize, role: &RoleName, to: usize) -> Option<RequestId> {
        let name = self.name(to);
        self.command(i, format_args!("transfer {role} to n{to}"), |c, now| {
            c.transfer(now, role.clone(), &name)
        })
    }

    /// Node `i` replaces its tags.
    pub fn set_tags(&mut self, i: usize, tags: Tags) -> Option<()> {
        let shown = tags.to_string();
        self.command(i, format_args!("set tags {shown}"), |c, now| {
            c.set_tags(now, tags)
        })
    }

    /// Node `i` recalls `role`.
    pub fn recall(&mut self, i: usize, role: &RoleName) -> Option<RequestId> {
        self.command(i, format_args!("recall {role}"), |c, now| {
            c.recall(now, role.clone())
        })
    }

    /// Node `i` asks a quorum who holds `role`.
    pub fn query_role(&mut self, i: usize, role: &RoleName) -> Option<RequestId> {
        self.command(i, format_args!("query {role}"), |c, now| {
            c.query_role(now, role.clone())
        })
    }

    /// Node `i` changes (or lists) the keyring of every live member.
    pub fn rollout_keys(&mut self, i: usize, op: crate::wire::KeyOp) -> Option<RequestId> {
        let what = format!("keys {op:?}");
        self.command(i, format_args!("{what}"), |c, now| c.rollout_keys(now, op))
    }

    /// Node `i` withdraws a request.
    pub fn cancel(&mut self, i: usize, id: RequestId) {
        self.command(i, format_args!("cancel {id:?}"), |c, now| c.cancel(now, id));
    }

    /// Starts (or stops) recording every datagram delivered, as an eavesdropper would.
    pub fn tap(&mut self, on: bool) {
        self.tapping = on;
    }

    /// The datagrams recorded while the tap was on: (time, to, from, bytes).
    pub fn tapped(&self) -> &[(Duration, usize, usize, Vec<u8>)] {
        &self.tapped
    }

    /// Delivers `bytes` to node `to` now, as if node `from` had sent them: a replay.
    pub fn inject(&mut self, to: usize, from: usize, bytes: &[u8]) {
        let local = self.local_now(to);
        self.log(format_args!("inject n{from}>n{to} {}B", bytes.len()));
        if let Some(core) = self.nodes[to].core.as_mut() {
            core.handle_datagram(local, addr_of(from), bytes);
        }
        self.after_input(to);
    }
}
