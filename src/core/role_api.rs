//! The core's role commands and how the role layer's requests are carried out.

use std::net::SocketAddr;
use std::time::Instant;

use super::roles::{Ctx, Held, Outbox, RequestKind, Roles, SetRenewed};
use super::{Completion, Core, HeldRole, RequestId, RoleError, RoleState, Timer};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::wire::Body;

impl Core {
    /// Runs one election for `role` with this node as candidate. The outcome comes back
    /// through [`Core::poll_completion`]: the term won, or [`RoleError::Lost`] when another
    /// node holds the role, [`RoleError::NotEnoughMembers`] when too few voters are alive,
    /// or [`RoleError::TimedOut`] when obstacles (voters' leases running out, a voter's
    /// quiet time after start) did not clear within two leases.
    pub fn elect(&mut self, now: Instant, role: RoleName) -> RequestId {
        self.elect_with(now, role, RoleValue::EMPTY)
    }

    /// [`Core::elect`], publishing `value` with the role once won (and at once, in
    /// place of the one before, if this node holds it already). An empty value gives
    /// none: it keeps what an earlier request gave; [`Core::proclaim`] clears a value.
    /// [`RoleError::ValueTooLarge`] if it is longer than [`crate::Config::max_value_len`].
    pub fn elect_with(&mut self, now: Instant, role: RoleName, value: RoleValue) -> RequestId {
        self.role_request(now, |roles, ctx, out| {
            roles.want(ctx, out, role, false, value, 0)
        })
    }

    /// Waits until this node holds `role`: elects when the role is vacant, waits for the
    /// holder's lease to end otherwise, and retries with backoff. Completes with the term
    /// won, or [`RoleError::Cancelled`] after [`Core::cancel`].
    pub fn campaign(&mut self, now: Instant, role: RoleName) -> RequestId {
        self.campaign_with(now, role, RoleValue::EMPTY)
    }

    /// [`Core::campaign`], publishing `value` with the role once won. If requests for
    /// the same role wait with different values, the latest one's is published.
    pub fn campaign_with(&mut self, now: Instant, role: RoleName, value: RoleValue) -> RequestId {
        self.campaign_with_priority(now, role, value, 0)
    }

    /// [`Core::campaign_with`], with a `priority` for the role (client-go's
    /// `preferredHolder`): a holder whose own priority for it is lower hands the role
    /// over once this node has asked for it without a pause for
    /// [`crate::Config::preference_delay`]. 0 is none; equal priorities never move a
    /// role. If requests for the same role wait with different priorities, the latest
    /// one's counts.
    pub fn campaign_with_priority(
        &mut self,
        now: Instant,
        role: RoleName,
        value: RoleValue,
        priority: u32,
    ) -> RequestId {
        self.role_request(now, |roles, ctx, out| {
            roles.want(ctx, out, role, true, value, priority)
        })
    }

    /// Publishes `value` with `role`, which this node holds, in place of the one before,
    /// without giving up the term (etcd's `Proclaim`): every member's view moves to it,
    /// and no view goes back to an earlier value of the term. Returns the value's version
    /// within the term (0 is the one the role was won with); [`RoleError::NotHolder`] if
    /// this node does not hold the role, [`RoleError::ValueTooLarge`] if the value is
    /// longer than [`crate::Config::max_value_len`].
    pub fn proclaim(
        &mut self,
        now: Instant,
        role: &RoleName,
        value: RoleValue,
    ) -> Result<u64, RoleError> {
        if self.left {
            return Err(RoleError::NotHolder);
        }
        self.expire_roles(now);
        self.with_roles(now, |roles, ctx, out| roles.proclaim(ctx, out, role, value))
    }

    /// Withdraws a request (`elect`, `campaign`, `recall`, `query_role`).
    pub fn cancel(&mut self, now: Instant, id: RequestId) {
        self.with_roles(now, |roles, _, out| roles.cancel(out, id));
    }

    /// Gives `role` up: this node steps down first, then voters release the lease so a
    /// waiting candidate can take over within a few round trips.
    pub fn resign(&mut self, now: Instant, role: &RoleName) -> Result<LamportTime, RoleError> {
        if self.left {
            return Err(RoleError::NotHolder);
        }
        self.expire_roles(now);
        self.with_roles(now, |roles, ctx, out| roles.resign(ctx, out, role))
    }

    /// Hands `role`, which this node holds, to the node named `to` (raft's leadership
    /// transfer): asks `to` whether it campaigns for the role and, once it says so,
    /// resigns in its favour; every voter then votes for `to` alone for an election
    /// timeout, and the other candidates wait as long. Completes with the term given up,
    /// or with the role still held and [`RoleError::NotHolder`],
    /// [`RoleError::NotCandidate`] (`to` does not campaign for it, or is this node) or
    /// [`RoleError::Unreachable`] (`to` is not a live member, or did not answer within
    /// an election timeout).
    pub fn transfer(&mut self, now: Instant, role: RoleName, to: &NodeName) -> RequestId {
        self.role_request(now, |roles, ctx, out| roles.transfer(ctx, out, role, to))
    }

    /// Asks a quorum of voters to stop renewing the holder of `role`. Completes with the
    /// term recalled, or [`RoleError::RoleUnfilled`] when nobody holds it. The next grant
    /// still waits for the recalled lease to run out.
    pub fn recall(&mut self, now: Instant, role: RoleName) -> RequestId {
        self.role_request(now, |roles, ctx, out| {
            roles.ask(ctx, out, role, RequestKind::Recall)
        })
    }

    /// Asks a quorum of voters who holds `role`; completes with the highest term reported.
    pub fn query_role(&mut self, now: Instant, role: RoleName) -> RequestId {
        self.role_request(now, |roles, ctx, out| {
            roles.ask(ctx, out, role, RequestKind::Query)
        })
    }

    /// This node's own view of `role`: no messages, fast, possibly stale.
    pub fn role_state(&self, role: &RoleName) -> RoleState {
        self.roles.state(role)
    }

    /// From now on, keeps every value this node publishes for [`Core::take_published`].
    #[cfg(feature = "sim")]
    pub(crate) fn record_published(&mut self) {
        self.roles.published.get_or_insert_default();
    }

    /// The values this node published since the last call, for the simulator's checker.
    #[cfg(feature = "sim")]
    pub(crate) fn take_published(
        &mut self,
    ) -> Vec<(RoleName, LamportTime, u64, crate::role_value::RoleValue)> {
        self.roles
            .published
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// How many roles this node keeps voter entries and views for.
    #[cfg(feature = "sim")]
    pub(crate) fn role_entries(&self) -> (usize, usize) {
        self.roles.entries()
    }

    /// Every role this node has heard of, with its view.
    pub fn roles(&self) -> Vec<(RoleName, RoleState)> {
        self.roles.states()
    }

    /// The roles this node holds: name, term and the local time its belief ends.
    pub fn held_roles(&self) -> Vec<(RoleName, LamportTime, Instant)> {
        self.roles
            .held()
            .map(|(role, term, until)| (role.clone(), term, until))
            .collect()
    }

    /// The roles this node holds at `now`, with when each was won and how its renewals
    /// fare, for metrics.
    pub fn held_role_details(&self, now: Instant) -> Vec<HeldRole> {
        self.roles.held_details(now, self.config.renew_interval)
    }

    /// A number that rises whenever a held role's own deadline ([`Held::until`]) moves,
    /// so that a driver can refresh what it handed out only when it changed.
    pub(crate) fn deadlines_moved(&self) -> u64 {
        self.roles.deadlines_moved()
    }

    /// `role` as this node holds it, if it does: one lookup, where
    /// [`Core::held_roles`] lists every role. Its deadline is
    /// `held.deadline(self.set_renewed())`.
    pub(crate) fn held_at(&self, role: &RoleName) -> Option<&Held> {
        self.roles.held_entry(role)
    }

    /// The latest renewal round a quorum acknowledged whole, which moves the deadline of
    /// every role held since its version in one step.
    pub(crate) fn set_renewed(&self) -> &SetRenewed {
        self.roles.set_renewed()
    }

    /// The next outcome of a request.
    pub fn poll_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    fn role_request(
        &mut self,
        now: Instant,
        request: impl FnOnce(&mut Roles, &mut Ctx<'_>, &mut Outbox) -> RequestId,
    ) -> RequestId {
        self.expire_roles(now);
        let id = self.with_roles(now, request);
        if self.left {
            self.with_roles(now, |roles, _, out| roles.cancel(out, id));
        }
        id
    }

    /// Steps down from roles whose lease has run out.
    pub(super) fn expire_roles(&mut self, now: Instant) {
        self.with_roles(now, Roles::expire);
    }

    /// Runs `f` on the role layer and carries out what it asks.
    pub(super) fn with_roles<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Roles, &mut Ctx<'_>, &mut Outbox) -> R,
    ) -> R {
        let mut out = Outbox::default();
        let mut ctx = Ctx {
            now,
            me: &self.id,
            config: &self.config,
            membership: &self.membership,
            clock: &mut self.clock,
            // Gossip needs a moment to refill a restarted node's membership: until it
            // has been joined for a lease, it would undercount the population.
            joined: self.config.join.is_empty()
                || self
                    .joined_at
                    .is_some_and(|at| now >= at + self.config.lease),
            stats: &mut self.stats,
        };
        let result = f(&mut self.roles, &mut ctx, &mut out);
        self.carry_out(now, out);
        result
    }

    fn carry_out(&mut self, now: Instant, out: Outbox) {
        for (to, body) in out.sends {
            self.send_message(to, body);
        }
        for announcement in out.announcements {
            // Directly to every live member for speed, and by gossip for the rest.
            let live: Vec<SocketAddr> = self.membership.peers().map(NodeId::addr).collect();
            for to in live {
                self.send_message(to, Body::Announce(announcement.clone()));
            }
            self.broadcast(now, &announcement);
        }
        for (at, timer) in out.timers {
            self.timers.schedule(at, Timer::Role(timer));
        }
        self.events.extend(out.events);
        self.completions.extend(out.completions);
    }
}
