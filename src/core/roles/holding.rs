//! Holding: the roles this node holds, the renewal rounds that keep them (sent again to
//! the silent), the anti-entropy announcements, the early warning (`RoleAtRisk`), and
//! stepping down, resigning and releasing.
//!
//! Invariant: a held role's deadline is `sent_at + holder_lease` of the latest round (or
//! the winning election) that gathered a quorum of acknowledgements for its term, never
//! anything later; voters, counting from when they received that round, hold on longer.
//! A round acknowledged whole by a quorum moves the deadline of every role of its set in
//! one step ([`SetRenewed`]), so a steady renewal touches no role.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::IteratorRandom;

use super::campaign::{Waiter, rank_key};
use super::preference::Waiting;
use super::rounds::{Asked, RenewAnswer, chunks};
use super::voter::Chunk;
use super::{Ctx, LossReason, Outbox, RequestId, RoleError, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::core::Event;
use crate::core::membership::MemberStatus;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::wire::{Announcement, Body, SetPart};

/// How many waiting candidates a holder remembers for each role.
const MAX_WAITING: usize = 16;

/// How many of its roles a holder re-announces each `lease`, taking them in turn, so that
/// anti-entropy costs the same whatever the number of roles held.
const REANNOUNCE_BATCH: usize = 4;

/// The renewal rounds a quorum acknowledged whole: each `(version, until)` says that
/// every role held since that version or earlier runs until then, the round's send
/// time plus the holder's lease. Only entries no other outdoes are kept (a later end
/// for an older version), so there are no more than versions in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SetRenewed {
    entries: Vec<(u64, Instant)>,
}

impl SetRenewed {
    /// A quorum renewed every role held since `version` or earlier until `until`.
    pub(crate) fn record(&mut self, version: u64, until: Instant) {
        if self
            .entries
            .iter()
            .any(|&(v, u)| v >= version && u >= until)
        {
            return;
        }
        self.entries.retain(|&(v, u)| !(version >= v && until >= u));
        self.entries.push((version, until));
    }

    /// The deadline of a role held since version `since`, confirmed alone until `until`.
    pub(crate) fn deadline(&self, since: u64, until: Instant) -> Instant {
        self.entries
            .iter()
            .filter(|(version, _)| since <= *version)
            .map(|(_, u)| *u)
            .fold(until, Instant::max)
    }
}

/// A role this node holds, as [`crate::Core::held_role_details`] shows it for metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRole {
    /// The role.
    pub role: RoleName,
    /// The term held: its fencing token.
    pub term: LamportTime,
    /// When this node won it.
    pub won_at: Instant,
    /// Renewal rounds sent since the last one in which a quorum acknowledged this role,
    /// not counting the one under way (sent less than `renew_interval` ago). Every
    /// role held rides the same rounds, so the roles held alike count alike; at 2 or
    /// more the holder is near its `renew_deadline` warning.
    pub renewals_missed: u32,
}

/// A role held: its term, when this node must stop believing it holds it, and the
/// candidates waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) term: LamportTime,
    /// The value published with it, and how many were published before it this term.
    pub(crate) value: RoleValue,
    pub(crate) value_version: u64,
    /// The end of its lease as last confirmed for this role alone; see
    /// [`Held::deadline`].
    pub(crate) until: Instant,
    /// The version of the held set that first had it.
    pub(crate) since: u64,
    /// When this node won it.
    pub(crate) won_at: Instant,
    /// Whether `RoleAtRisk` was reported for this tenure (once at most).
    at_risk: bool,
    /// The priority the campaign that won it had ([`super::preference`]).
    pub(crate) priority: u32,
    /// Candidates that asked this node for a vote while it held the role, with when and
    /// how each asked (at most `MAX_WAITING`, the one that asked least lately forgotten
    /// first).
    pub(super) waiting: BTreeMap<NodeName, Waiting>,
}

impl Held {
    pub(crate) fn new(
        term: LamportTime,
        value: RoleValue,
        won_at: Instant,
        until: Instant,
        since: u64,
        priority: u32,
    ) -> Self {
        Held {
            term,
            value,
            value_version: 0,
            until,
            since,
            won_at,
            at_risk: false,
            priority,
            waiting: BTreeMap::new(),
        }
    }

    /// When this node stops believing it holds the role: the later of its own `until`
    /// and that of the last set renewed whole, if the set had it.
    pub(crate) fn deadline(&self, set: &SetRenewed) -> Instant {
        set.deadline(self.since, self.until)
    }

    /// The early warning for `role`'s tenure: `RoleAtRisk` the first time, then nothing.
    fn warn(&mut self, role: &RoleName, until: Instant) -> Option<Event> {
        (!std::mem::replace(&mut self.at_risk, true)).then(|| Event::RoleAtRisk {
            role: role.clone(),
            term: self.term,
            until,
        })
    }

    /// The announcement of this tenure and its current value.
    pub(crate) fn announcement(&self, role: &RoleName, me: &NodeName) -> Announcement {
        Announcement::Elected {
            role: role.clone(),
            holder: me.clone(),
            term: self.term,
            version: self.value_version,
            value: self.value.clone(),
        }
    }

    /// Notes that `candidate` asked for a vote at `now` with `priority`; a pause longer
    /// than `gap` since it last asked starts its streak again.
    pub(crate) fn candidate_asked(
        &mut self,
        candidate: &NodeName,
        now: Instant,
        priority: u32,
        gap: Duration,
    ) {
        if let Some(asked) = self.waiting.get_mut(candidate) {
            asked.again(now, priority, gap);
            return;
        }
        if self.waiting.len() >= MAX_WAITING {
            let oldest = self.waiting.iter().min_by_key(|(_, asked)| asked.last);
            if let Some(name) = oldest.map(|(name, _)| name.clone()) {
                self.waiting.remove(&name);
            }
        }
        self.waiting
            .insert(candidate.clone(), Waiting::new(now, priority));
    }

    /// The successor to name on giving the role up: of the candidates that asked since
    /// `since` and that `is_live` accepts, the first by `rank` (the order candidates
    /// take turns in), so that every holder would pick the same one.
    pub(crate) fn successor<K: Ord>(
        &self,
        since: Instant,
        is_live: impl Fn(&NodeName) -> bool,
        rank: impl Fn(&NodeName) -> K,
    ) -> Option<NodeName> {
        self.waiting
            .iter()
            .filter(|(name, asked)| asked.last >= since && is_live(name))
            .map(|(name, _)| name)
            .min_by_key(|name| rank(name))
            .cloned()
    }
}

impl Roles {
    /// Steps down from `role` for `reason`. A lease that ran out is always warned of
    /// first: a node held up past its warning (paused, starved) reports `RoleAtRisk`
    /// and `RoleLost` together, so an application never sees the loss unwarned.
    pub(super) fn step_down(&mut self, out: &mut Outbox, role: &RoleName, reason: LossReason) {
        if let Some(mut held) = self.held.remove(role) {
            self.held_version.changed();
            if reason == LossReason::LeaseExpired {
                let until = held.deadline(&self.set_renewed);
                out.events.extend(held.warn(role, until));
            }
            out.events.push(Event::RoleLost {
                role: role.clone(),
                term: held.term,
                reason,
            });
            self.learn(out, role, |v| v.ended(held.term));
        }
    }

    /// Steps down from every role whose lease has run out; the core calls this before it
    /// handles any input, so a node that was paused never acts on a stale belief. The
    /// voters are told to release the lease, as on a resignation: a holder that can send
    /// but not hear (its renewals reach the voters, their answers never reach it) would
    /// otherwise keep their leases alive for a lease after it stepped down.
    ///
    /// Before the earliest end of any role held (`held_floor`), there is nothing to look
    /// at, so a holder of many roles does not scan them all on every input.
    pub(crate) fn expire(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held_floor.is_some_and(|floor| ctx.now < floor) {
            return;
        }
        let set = &self.set_renewed;
        let expired: Vec<(RoleName, LamportTime)> = self
            .held
            .iter()
            .filter(|(_, h)| h.deadline(set) <= ctx.now)
            .map(|(r, h)| (r.clone(), h.term))
            .collect();
        for (role, term) in expired {
            self.give_up(ctx, out, &role, term, LossReason::LeaseExpired, None);
        }
        let set = &self.set_renewed;
        self.held_floor = self.held.values().map(|h| h.deadline(set)).min();
    }

    pub(super) fn renew(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            self.renewing = false;
            return;
        }
        let list = self.held_version.list(&self.held);
        let version = list.version;
        let population = ctx.population();
        let voters = ctx.live_voters();
        let live: BTreeSet<NodeName> = voters.iter().map(|v| v.name().clone()).collect();
        self.held_version.retain(&live);
        // Each voter by version if it keeps this set, by the changes since the set it
        // keeps if they take no more datagrams than the list, else by list.
        let max_datagram = ctx.config.max_datagram_size;
        let list_chunks = chunks(&list.leases, max_datagram).len();
        let mut changes_since: BTreeMap<u64, Vec<(RoleName, Option<LamportTime>)>> =
            BTreeMap::new();
        let (mut by_version, mut by_changes, mut by_list) = (Vec::new(), Vec::new(), Vec::new());
        for voter in voters {
            if self.held_version.is_synced(voter.name()) {
                by_version.push(voter);
            } else if let Some(base) = self.held_version.base(voter.name())
                && changes_fit(
                    changes_since
                        .entry(base.version)
                        .or_insert_with(|| list.changes_since(base)),
                    max_datagram,
                    list_chunks,
                )
            {
                by_changes.push((voter, base.version));
            } else {
                by_list.push(voter);
            }
        }
        let names = |voters: &[NodeId]| voters.iter().map(|v| v.name().clone()).collect();
        let asked = Asked {
            by_version: names(&by_version),
            by_changes: by_changes
                .iter()
                .map(|(v, base)| (v.name().clone(), *base))
                .collect(),
            by_list: names(&by_list),
        };
        // One span per round, closed when a quorum confirmed every role or the round
        // can no longer extend a lease; a set of one role names it and its term.
        let span = tracing::debug_span!(
            "renewal",
            node = %ctx.me.name(),
            version,
            roles = list.leases.len(),
            role = tracing::field::Empty,
            term = tracing::field::Empty,
            outcome = tracing::field::Empty
        );
        if let [(role, term)] = list.leases.as_slice() {
            span.record("role", tracing::field::display(role));
            span.record("term", tracing::field::display(term));
        }
        if self.renewals.latest_incomplete() {
            ctx.stats.renewal_rounds_failed += 1;
        }
        let round = self
            .renewals
            .start(ctx.now, Arc::clone(&list), population, asked, span);
        send_by_version(out, round, version, &by_version);
        for (voter, base) in &by_changes {
            if let Some(changes) = changes_since.get(base) {
                send_changes(ctx, out, round, (*base, version), changes, voter);
            }
        }
        send_lists(ctx, out, round, version, &list.leases, &by_list);
        // Voters that have not answered by a third of the interval are asked once more:
        // under loss, a voter that misses several renewals in a row would let its lease
        // run out and believe the role vacant.
        out.timers.push((
            ctx.now + ctx.config.resend_after(),
            RoleTimer::Resend(round),
        ));
        if ctx.i_vote() {
            // This node renews its own leases as any voter does: by version once it keeps
            // the set whole, by list when the set changed.
            let me = ctx.me.clone();
            let (now, lease) = (ctx.now, ctx.config.lease);
            let (acked, whole) = if self.voters.renew_set(now, lease, &me, version) {
                (Vec::new(), Some(version))
            } else {
                let acked = self.renew_leases(ctx, out, &me, &list.leases);
                let chunk = Chunk {
                    round,
                    part: SetPart {
                        version,
                        chunk: 0,
                        chunks: 1,
                    },
                    leases: &list.leases,
                    all_renewed: acked.len() == list.leases.len(),
                };
                let whole = self.voters.add_part(out, now, lease, &me, chunk);
                (acked, whole)
            };
            let answer = RenewAnswer {
                population: ctx.population(),
                acked: &acked,
                whole,
            };
            self.renewed(ctx, out, round, &me, answer);
        }
        // A round sent a holder lease ago can no longer extend anything.
        if let Some(cutoff) = ctx.now.checked_sub(ctx.config.holder_lease()) {
            self.renewals.prune(cutoff);
        }
        out.timers
            .push((ctx.now + ctx.config.renew_interval, RoleTimer::Renew));
    }

    pub(super) fn resend(&self, ctx: &Ctx<'_>, out: &mut Outbox, id: u64) {
        let again = self.renewals.to_resend(id);
        if again.by_version.is_empty() && again.by_changes.is_empty() && again.by_list.is_empty() {
            // Every voter answered, as on a healthy network: nothing to look up or send.
            return;
        }
        let Some(list) = self.renewals.list_of(id) else {
            return;
        };
        let (mut by_version, mut by_list) = (Vec::new(), Vec::new());
        for voter in ctx.live_voters() {
            let name = voter.name();
            if again.by_version.contains(name) {
                by_version.push(voter);
            } else if let Some(base) = again.by_changes.get(name) {
                match self.held_version.list_at(*base) {
                    Some(base) => {
                        let changes = list.changes_since(base);
                        send_changes(ctx, out, id, (base.version, list.version), &changes, &voter);
                    }
                    None => by_list.push(voter),
                }
            } else if again.by_list.contains(name) {
                by_list.push(voter);
            }
        }
        send_by_version(out, id, list.version, &by_version);
        send_lists(ctx, out, id, list.version, &list.leases, &by_list);
    }

    pub(super) fn renewed(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        round: u64,
        voter: &NodeId,
        answer: RenewAnswer<'_>,
    ) {
        tracing::trace!(me = %ctx.me.name(), round, voter = %voter.name(), population = answer.population, acked = answer.acked.len(), whole = ?answer.whole, "renewal acknowledged");
        let acked = self
            .renewals
            .ack(round, voter.name(), &answer, ctx.config.quorum.as_ref());
        if acked.set_lost {
            // The voter lost the set (it restarted, forgot it, or refused a lease in it):
            // it gets this round's full list at once, and lists until it keeps the set.
            self.held_version.unsynced(voter.name());
            if let Some(list) = self.renewals.list_of(round) {
                let voters = std::slice::from_ref(voter);
                send_lists(ctx, out, round, list.version, &list.leases, voters);
            }
        } else if let Some(version) = answer.whole {
            self.held_version.synced(voter.name(), version);
        }
        if let Some(sent_at) = acked.completed {
            let round_trip = ctx.now.saturating_duration_since(sent_at);
            ctx.stats.renewal_round_trip.observe(round_trip);
        }
        if let Some((version, sent_at)) = acked.all {
            let until = sent_at + ctx.config.holder_lease();
            self.set_renewed.record(version, until);
        }
        for (role, term, sent_at) in acked.reached {
            if let Some(held) = self.held.get_mut(&role)
                && held.term == term
                && held.until < sent_at + ctx.config.holder_lease()
            {
                held.until = sent_at + ctx.config.holder_lease();
                self.deadlines_moved += 1;
            }
        }
    }

    /// The announcements of the roles this node holds with a value. (One held without a
    /// value is shown as it is by a voter that knows it only from a renewal.)
    pub(crate) fn valued_announcements(&self, me: &NodeName) -> Vec<Announcement> {
        self.held
            .iter()
            .filter(|(_, held)| !held.value.is_empty())
            .map(|(role, held)| held.announcement(role, me))
            .collect()
    }

    /// A voter knows this node holds `role` at `term` only from its renewals: it gets
    /// the announcement, with the value. Only live members are answered, so that a
    /// small forged request cannot turn into a large datagram sent elsewhere.
    pub(super) fn on_ask_announcement(
        &mut self,
        ctx: &Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        role: &RoleName,
        term: LamportTime,
    ) {
        // The role first: most requests it ignores need no look at the membership.
        if let Some(held) = self.held.get(role).filter(|held| held.term == term)
            && ctx.membership.live().any(|m| m == from)
        {
            let announcement = held.announcement(role, ctx.me.name());
            out.sends.push((from.addr(), Body::Announce(announcement)));
        }
    }

    pub(super) fn reannounce(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            return;
        }
        // Anti-entropy: gossip is not guaranteed to reach everyone, so holders tell a few
        // random members again; those that missed it pass it on.
        let targets: Vec<SocketAddr> = ctx
            .membership
            .peers()
            .map(NodeId::addr)
            .sample(&mut self.rng, ctx.config.gossip_fanout);
        // The roles after the last one re-announced, then from the first, once each.
        let after = match &self.reannounced_through {
            Some(last) => self.held.range::<RoleName, _>((Excluded(last), Unbounded)),
            None => self.held.range::<RoleName, _>(..),
        };
        let batch: Vec<(RoleName, Announcement)> = after
            .chain(self.held.iter())
            .take(REANNOUNCE_BATCH.min(self.held.len()))
            .map(|(role, held)| (role.clone(), held.announcement(role, ctx.me.name())))
            .collect();
        self.reannounced_through = batch.last().map(|(role, _)| role.clone());
        for (_, announcement) in batch {
            for addr in &targets {
                out.sends
                    .push((*addr, Body::Announce(announcement.clone())));
            }
        }
        out.timers
            .push((ctx.now + ctx.config.lease, RoleTimer::Reannounce));
    }

    /// Publishes `value` with `role`, which this node holds, in place of the one before:
    /// every member learns it directly and by gossip, in version order. Returns the
    /// value's version within the term.
    pub(crate) fn proclaim(
        &mut self,
        ctx: &Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        value: RoleValue,
    ) -> Result<u64, RoleError> {
        value.within(ctx.config.max_value_len())?;
        let held = self.held.get_mut(role).ok_or(RoleError::NotHolder)?;
        held.value_version += 1;
        held.value = value;
        let announcement = held.announcement(role, ctx.me.name());
        let (term, version, value) = (held.term, held.value_version, held.value.clone());
        #[cfg(feature = "sim")]
        if let Some(published) = &mut self.published {
            published.push((role.clone(), term, version, value.clone()));
        }
        self.learn(out, role, |v| {
            v.elected(ctx.me.name(), term, version, &value)
        });
        out.announcements.push(announcement);
        Ok(version)
    }

    /// Steps down from `role`, then tells the voters to release the lease (all of them, also
    /// those it believes down) and everyone that the term is over, so that the next
    /// election need not wait for the voters' leases to run out. Voters release only the
    /// lease of this holder at this term, and then open the contest.
    ///
    /// The release names a successor: `transfer_to` if given (a transfer), otherwise
    /// the first, in the role's order, of the live candidates that asked this node for a
    /// vote in the last two leases. It asks at once instead of waiting its turn. Its
    /// release is sent last, so that on one network path every other voter has its
    /// release before the successor's vote request.
    pub(super) fn give_up(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        term: LamportTime,
        reason: LossReason,
        transfer_to: Option<NodeName>,
    ) {
        let since = ctx
            .now
            .checked_sub(ctx.config.successor_window())
            .unwrap_or(ctx.now);
        let transfer = transfer_to.is_some();
        let successor = transfer_to.or_else(|| {
            self.held.get(role).and_then(|held| {
                held.successor(
                    since,
                    |name| {
                        ctx.membership
                            .lookup(name)
                            .is_some_and(|(_, status)| status == MemberStatus::Alive)
                    },
                    |name| rank_key(role, name),
                )
            })
        });
        self.step_down(out, role, reason);
        let mut voters = ctx.counted_voters();
        voters.sort_by_key(|voter| successor.as_ref() == Some(voter.name()));
        for voter in voters {
            out.sends.push((
                voter.addr(),
                Body::Release {
                    role: role.clone(),
                    term,
                    successor: successor.clone(),
                    transfer,
                },
            ));
        }
        let until = ctx.now + ctx.config.election_timeout;
        let reserve = successor.as_ref().filter(|_| transfer).map(|s| (s, until));
        self.voters.release(out, role, ctx.me.name(), term, reserve);
        out.announcements.push(Announcement::Resigned {
            role: role.clone(),
            holder: ctx.me.name().clone(),
            term,
        });
    }

    /// Steps down from `role` first, then tells voters to release the lease at once.
    pub(crate) fn resign(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
    ) -> Result<LamportTime, RoleError> {
        let term = self
            .held
            .get(role)
            .map(|h| h.term)
            .ok_or(RoleError::NotHolder)?;
        self.give_up(ctx, out, role, term, LossReason::Resigned, None);
        Ok(term)
    }

    /// Resigns every role held and cancels every request, before leaving the cluster.
    pub(crate) fn resign_all(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        let held: Vec<RoleName> = self.held.keys().cloned().collect();
        for role in held {
            let _ = self.resign(ctx, out, &role);
        }
        let waiting: Vec<RequestId> = self
            .campaigns
            .values()
            .flat_map(|c| c.waiters.iter().map(Waiter::id))
            .chain(self.requests.keys().copied())
            .chain(self.transfer_ids())
            .collect();
        for id in waiting {
            self.cancel(out, id);
        }
    }

    /// Makes sure this node wakes at `at`, the end of a role held, or earlier: one
    /// wake-up is pending for all roles held, whatever their number.
    pub(super) fn arm_holder_check(&mut self, out: &mut Outbox, at: Instant) {
        if self.holder_check_at.is_none_or(|pending| at < pending) {
            self.holder_check_at = Some(at);
            out.timers.push((at, RoleTimer::HolderCheck(at)));
        }
    }

    /// The wake-up set for `at`: the core has stepped down from every role that ran out
    /// before handling it (`expire`); wake again at the next end.
    pub(super) fn holder_check(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, at: Instant) {
        if self.holder_check_at != Some(at) {
            return; // an earlier wake-up replaced this one
        }
        self.holder_check_at = None;
        self.expire(ctx, out);
        if let Some(next) = self.held_floor {
            self.arm_holder_check(out, next);
        }
    }

    /// Makes sure the early warning is looked at by `at`; one check is pending for all
    /// roles held.
    pub(super) fn arm_risk_check(&mut self, out: &mut Outbox, at: Instant) {
        if self.risk_check_at.is_none_or(|pending| at < pending) {
            self.risk_check_at = Some(at);
            out.timers.push((at, RoleTimer::RiskCheck(at)));
        }
    }

    /// Warns, once per tenure, of each role held that no quorum renewed for
    /// `renew_deadline`, with the time left before the holder's own lease ends; then
    /// checks again when the next role could be at risk.
    pub(super) fn risk_check(&mut self, ctx: &Ctx<'_>, out: &mut Outbox, at: Instant) {
        if self.risk_check_at != Some(at) {
            return; // an earlier check replaced this one
        }
        self.risk_check_at = None;
        let mut next: Option<Instant> = None;
        let set = &self.set_renewed;
        for (role, held) in self.held.iter_mut().filter(|(_, h)| !h.at_risk) {
            // The deadline is `sent_at + holder_lease` of the last acknowledged round.
            let until = held.deadline(set);
            let risk_at = until - ctx.config.holder_lease() + ctx.config.renew_deadline;
            if risk_at <= ctx.now {
                out.events.extend(held.warn(role, until));
            } else {
                next = Some(next.map_or(risk_at, |n| n.min(risk_at)));
            }
        }
        if let Some(next) = next {
            self.arm_risk_check(out, next);
        }
    }
}

/// Sends renewal round `round` of `leases` (the held set at `version`) to `voters`, in
/// datagrams that fit.
fn send_lists(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    round: u64,
    version: u64,
    leases: &[(RoleName, LamportTime)],
    voters: &[NodeId],
) {
    send_chunked(ctx, out, version, leases, voters, |part, leases| {
        Body::Renew {
            round,
            part,
            leases,
        }
    });
}

/// Whether `changes` (some, at least) take no more datagrams than the list, `list_chunks`.
fn changes_fit(
    changes: &[(RoleName, Option<LamportTime>)],
    max_datagram: usize,
    list_chunks: usize,
) -> bool {
    !changes.is_empty() && chunks(changes, max_datagram).len() <= list_chunks
}

/// Sends renewal round `round` to `voter`, which keeps the held set at version `from`
/// whole, as the `changes` that make it the set at `to`, in datagrams that fit.
fn send_changes(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    round: u64,
    (from, to): (u64, u64),
    changes: &[(RoleName, Option<LamportTime>)],
    voter: &NodeId,
) {
    let voters = std::slice::from_ref(voter);
    send_chunked(ctx, out, to, changes, voters, |part, changes| {
        Body::RenewDelta {
            round,
            from,
            part,
            changes,
        }
    });
}

/// Sends `items` of the held set at `version` to each of `voters`, in as many chunks as
/// datagrams need, each made into a message by `body`.
fn send_chunked<T: Clone>(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    version: u64,
    items: &[(RoleName, T)],
    voters: &[NodeId],
    body: impl Fn(SetPart, Vec<(RoleName, T)>) -> Body,
) {
    if voters.is_empty() {
        return;
    }
    let groups = chunks(items, ctx.config.max_datagram_size);
    let chunks = u32::try_from(groups.len()).unwrap_or(u32::MAX);
    for (chunk, group) in (0..chunks).zip(&groups) {
        let part = SetPart {
            version,
            chunk,
            chunks,
        };
        for voter in voters {
            out.sends.push((voter.addr(), body(part, group.to_vec())));
        }
    }
}

/// Sends renewal round `round` to `voters` that keep the held set at `version` whole.
fn send_by_version(out: &mut Outbox, round: u64, version: u64, voters: &[NodeId]) {
    for voter in voters {
        out.sends
            .push((voter.addr(), Body::RenewSet { round, version }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_is_the_first_live_candidate_that_asked_lately() {
        let t0 = Instant::now();
        let second = std::time::Duration::from_secs(1);
        let name = |n: &str| NodeName::new(n).unwrap();
        let mut held = Held::new(LamportTime(3), RoleValue::EMPTY, t0, t0 + second, 1, 0);
        assert_eq!(held.successor(t0, |_| true, |n| n.clone()), None);
        held.candidate_asked(&name("c"), t0, 0, second);
        held.candidate_asked(&name("b"), t0 + second, 0, second);
        held.candidate_asked(&name("a"), t0 + second, 0, second);
        let rank = |n: &NodeName| n.clone();
        assert_eq!(held.successor(t0, |_| true, rank), Some(name("a")));
        assert_eq!(
            held.successor(t0, |n| *n != name("a"), rank),
            Some(name("b")),
            "a candidate believed down is passed over"
        );
        assert_eq!(
            held.successor(t0 + second, |n| *n == name("c"), rank),
            None,
            "a candidate that stopped asking is forgotten"
        );
        for i in 0..100 {
            held.candidate_asked(&name(&format!("n{i:03}")), t0 + second * (i + 2), 0, second);
        }
        assert_eq!(held.waiting.len(), MAX_WAITING, "bounded");
        assert!(held.waiting.contains_key(&name("n099")), "the newest kept");
    }
}
