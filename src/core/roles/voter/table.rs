//! Every role's voter entry on this node, with the held sets holders renew by version
//! (`sessions.rs`).
//!
//! Invariants:
//! - no entry is read or changed before the renewals by version of the set that binds
//!   its lease are settled into it (`lease.until` becomes the later of its own and the
//!   set's), so every rule in `Voter` sees the lease a renewal of each role would give;
//! - a change that leaves a bound lease one that renewing it would refuse (recalled,
//!   replaced, ended) drops the holder's whole set, settled: a renewal by version then
//!   renews nothing, and the holder goes back to lists; only the set's own holder
//!   giving the role up takes that role alone out of the set, since that holder no
//!   longer holds it, and counts a later `whole` answer only for roles it holds;
//! - every lease has a check pending: its own `LeaseCheck`, or, while a whole set binds
//!   it, that set's `SessionCheck`, which hands its leases back to their own checks when
//!   the set goes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::Voter;
use super::sessions::{ChangesChunk, Check, Chunk, Sessions};
use crate::clock::LamportTime;
use crate::core::roles::{Outbox, RoleTimer};
use crate::identity::{NodeId, NodeName, RoleName};

use super::Lease;

/// Every role's voter entry, and the held sets kept for each holder.
#[derive(Debug, Default)]
pub(crate) struct Voters {
    by_role: BTreeMap<RoleName, Voter>,
    sessions: Sessions,
    /// The roles whose own `LeaseCheck` is pending.
    checks: BTreeSet<RoleName>,
}

/// Settles into `voter` the renewals by version of the set that binds its lease; returns
/// the holder and term it binds, if it does.
fn settle(
    sessions: &Sessions,
    role: &RoleName,
    voter: &mut Voter,
) -> Option<(NodeName, LamportTime)> {
    let lease = voter.lease.as_mut()?;
    let until = sessions.until_for(&lease.holder, role, lease.term)?;
    lease.until = lease.until.max(until);
    Some((lease.holder.clone(), lease.term))
}

impl Voters {
    /// Whether `role` has an entry.
    pub(crate) fn contains(&self, role: &RoleName) -> bool {
        self.by_role.contains_key(role)
    }

    /// How many entries there are.
    #[cfg(feature = "sim")]
    pub(crate) fn len(&self) -> usize {
        self.by_role.len()
    }

    /// `role`'s entry, settled.
    pub(crate) fn get(&mut self, role: &RoleName) -> Option<&Voter> {
        let voter = self.by_role.get_mut(role)?;
        settle(&self.sessions, role, voter);
        Some(voter)
    }

    /// Applies `change` to `role`'s entry (a fresh one if it has none), settled first;
    /// then drops the set binding its lease if the change left that lease unrenewable,
    /// and makes sure its lease has a check pending.
    pub(crate) fn update<R>(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        change: impl FnOnce(&mut Voter) -> R,
    ) -> R {
        self.change(out, role, None, change)
    }

    /// `holder` gave `role` up at `term` (released it, or announced it resigned):
    /// renewals of that term and below are refused from now on. If a set of that same
    /// holder bound the role at that term or below, the role alone leaves the set.
    /// With `reserve` (a transfer), the entry votes for nobody but the successor named
    /// until the instant given. Returns whether the term was not closed here before.
    pub(crate) fn release(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        holder: &NodeName,
        term: LamportTime,
        reserve: Option<(&NodeName, Instant)>,
    ) -> bool {
        self.change(out, role, Some(holder), |voter| {
            let news = voter.closed_through < Some(term);
            voter.release(holder, term);
            if let Some((successor, until)) = reserve {
                voter.reserved = Some((successor.clone(), until));
            }
            news
        })
    }

    /// [`Voters::update`], where `given_up_by` (if any) is a holder giving the role up:
    /// a set of that holder's loses only this role instead of going whole.
    fn change<R>(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        given_up_by: Option<&NodeName>,
        change: impl FnOnce(&mut Voter) -> R,
    ) -> R {
        let voter = self.by_role.entry(role.clone()).or_default();
        let bound = settle(&self.sessions, role, voter);
        let result = change(voter);
        if let Some((holder, term)) = bound
            && !voter.renews(&holder, term)
        {
            if given_up_by == Some(&holder) {
                self.sessions.remove_role(&holder, role);
            } else {
                self.drop_set(out, &holder);
            }
        }
        self.arm(out, role);
        result
    }

    /// Arms `role`'s own lease check, unless one is pending or a whole set binds it.
    fn arm(&mut self, out: &mut Outbox, role: &RoleName) {
        let Some(lease) = self.by_role.get(role).and_then(|v| v.lease.as_ref()) else {
            return;
        };
        if self.sessions.binds(&lease.holder, role, lease.term) {
            return;
        }
        if self.checks.insert(role.clone()) {
            out.timers
                .push((lease.until, RoleTimer::LeaseCheck(role.clone())));
        }
    }

    /// Forgets `holder`'s set, settling every lease it binds and handing each back to
    /// its own check.
    fn drop_set(&mut self, out: &mut Outbox, holder: &NodeName) {
        let roles = self.sessions.bound_roles(holder);
        for role in &roles {
            if let Some(voter) = self.by_role.get_mut(role) {
                settle(&self.sessions, role, voter);
            }
        }
        self.sessions.remove(holder);
        for role in &roles {
            self.arm(out, role);
        }
    }

    /// `role`'s own lease check came due: the lease that ended, if one did (it is then
    /// gone); otherwise the check is armed again, unless a whole set binds the lease.
    pub(crate) fn lease_check(
        &mut self,
        out: &mut Outbox,
        now: Instant,
        role: &RoleName,
    ) -> Option<Lease> {
        self.checks.remove(role);
        let voter = self.by_role.get_mut(role)?;
        let bound = settle(&self.sessions, role, voter);
        let lease = voter.lease.clone()?;
        if lease.until > now {
            self.arm(out, role);
            return None;
        }
        voter.lease = None;
        if let Some((holder, _)) = bound {
            self.drop_set(out, &holder);
        }
        Some(lease)
    }

    /// The session check of `holder`'s set armed at `at` came due at `now`. If the set
    /// was not renewed in time it goes, and its leases get their own checks, due now.
    pub(crate) fn session_check(
        &mut self,
        out: &mut Outbox,
        now: Instant,
        holder: &NodeName,
        at: Instant,
    ) {
        match self.sessions.check(now, holder, at) {
            Check::Stale => {}
            Check::Again(at) => out
                .timers
                .push((at, RoleTimer::SessionCheck(holder.clone(), at))),
            Check::Ended => self.drop_set(out, holder),
        }
    }

    /// Adds `chunk` of `holder`'s renewal round, whose leases were renewed for `lease`;
    /// the set's version once it is whole.
    pub(crate) fn add_part(
        &mut self,
        out: &mut Outbox,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        chunk: Chunk<'_>,
    ) -> Option<u64> {
        if self
            .sessions
            .replaces_whole(holder, chunk.round, &chunk.part)
        {
            self.drop_set(out, holder.name());
        }
        let added = self.sessions.add_part(now, lease, holder, chunk);
        if let Some(at) = added.check_at {
            out.timers
                .push((at, RoleTimer::SessionCheck(holder.name().clone(), at)));
        }
        added.whole
    }

    /// Adds `chunk` of the changes to `holder`'s kept set (its added leases renewed for
    /// `lease`), renewing that set whole; once the changes are all in, applies them.
    /// Returns the version of the set kept whole, renewed: the new one once applied,
    /// the one they apply to before, `None` if this voter keeps neither.
    pub(crate) fn add_changes(
        &mut self,
        out: &mut Outbox,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        chunk: ChangesChunk<'_>,
    ) -> Option<u64> {
        if self.sessions.renew(now, lease, holder, chunk.part.version) {
            // A chunk sent again after the changes were applied.
            return Some(chunk.part.version);
        }
        let Some(changed) = self.sessions.stage(now, lease, holder, chunk)? else {
            return Some(chunk.from);
        };
        for role in &changed {
            if let Some(voter) = self.by_role.get_mut(role) {
                settle(&self.sessions, role, voter);
            }
        }
        let version = self.sessions.apply(lease, holder.name())?;
        // A role the set no longer has goes back to its own check.
        for role in &changed {
            self.arm(out, role);
        }
        Some(version)
    }

    /// Renews `holder`'s whole set at `version` for `lease` from `now`: every lease it
    /// binds, as renewing each by list would. False if no such set is kept.
    pub(crate) fn renew_set(
        &mut self,
        now: Instant,
        lease: Duration,
        holder: &NodeId,
        version: u64,
    ) -> bool {
        self.sessions.renew(now, lease, holder, version)
    }

    /// The leaseless entries that have stayed unchanged for `after`, and so may be
    /// forgotten; forgets the sets that never became whole and went unused as long.
    pub(crate) fn forgettable(&mut self, now: Instant, after: Duration) -> Vec<RoleName> {
        self.sessions.forget_idle(now, after);
        let mut stale = Vec::new();
        for (role, voter) in &mut self.by_role {
            let key = voter.version();
            let quiet = voter.unchanged.for_how_long(key, now);
            if voter.lease.is_none() && quiet >= after && !self.checks.contains(role) {
                stale.push(role.clone());
            }
        }
        stale
    }

    /// Forgets `role`'s entry if it holds no lease; returns it.
    pub(crate) fn forget(&mut self, role: &RoleName) -> Option<Voter> {
        if self.by_role.get(role)?.lease.is_some() {
            return None;
        }
        self.by_role.remove(role)
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
