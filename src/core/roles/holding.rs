//! Holding: the roles this node holds, the renewal rounds that keep them (sent again to
//! the silent), the anti-entropy announcements, the early warning (`RoleAtRisk`), and
//! stepping down, resigning and releasing.
//!
//! Invariant: a held role's `until` is `sent_at + holder_lease` of the latest round (or
//! the winning election) that gathered a quorum of acknowledgements for its term, never
//! anything later; voters, counting from when they received that round, hold on longer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use rand::seq::IteratorRandom;

use super::campaign::{Waiter, rank_key};
use super::{Ctx, LossReason, Outbox, RequestId, RoleError, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::core::Event;
use crate::core::membership::MemberStatus;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::{Announcement, Body, DECODE_LIMIT};

/// How many waiting candidates a holder remembers for each role.
const MAX_WAITING: usize = 16;

/// A role held: its term, when this node must stop believing it holds it, and the
/// candidates waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) term: LamportTime,
    pub(crate) until: Instant,
    /// Whether `RoleAtRisk` was reported for this tenure (once at most).
    at_risk: bool,
    /// Candidates that asked this node for a vote while it held the role, with when each
    /// last asked (at most `MAX_WAITING`, the oldest forgotten first).
    waiting: BTreeMap<NodeName, Instant>,
}

impl Held {
    pub(crate) fn new(term: LamportTime, until: Instant) -> Self {
        Held {
            term,
            until,
            at_risk: false,
            waiting: BTreeMap::new(),
        }
    }

    /// The early warning for `role`'s tenure: `RoleAtRisk` the first time, then nothing.
    fn warn(&mut self, role: &RoleName) -> Option<Event> {
        (!std::mem::replace(&mut self.at_risk, true)).then(|| Event::RoleAtRisk {
            role: role.clone(),
            term: self.term,
            until: self.until,
        })
    }

    /// Notes that `candidate` asked for a vote at `now`.
    pub(crate) fn candidate_asked(&mut self, candidate: &NodeName, now: Instant) {
        if !self.waiting.contains_key(candidate) && self.waiting.len() >= MAX_WAITING {
            let oldest = self.waiting.iter().min_by_key(|(_, at)| **at);
            if let Some(name) = oldest.map(|(name, _)| name.clone()) {
                self.waiting.remove(&name);
            }
        }
        self.waiting.insert(candidate.clone(), now);
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
            .filter(|(name, at)| **at >= since && is_live(name))
            .map(|(name, _)| name)
            .min_by_key(|name| rank(name))
            .cloned()
    }
}

#[derive(Debug)]
struct Round {
    id: u64,
    sent_at: Instant,
    population: usize,
    roles: BTreeMap<LamportTime, RoleName>,
    acks: BTreeMap<LamportTime, BTreeSet<NodeName>>,
    confirmed: BTreeSet<LamportTime>,
    /// The voters the round was sent to, and those that answered it.
    asked: BTreeSet<NodeName>,
    answered: BTreeSet<NodeName>,
}

/// Renewal rounds still young enough to matter.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    rounds: VecDeque<Round>,
    next_id: u64,
}

impl Renewals {
    /// Opens a round for `leases` sent at `now` to `asked`; returns its id.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        leases: &[(RoleName, LamportTime)],
        population: usize,
        asked: BTreeSet<NodeName>,
    ) -> u64 {
        self.next_id += 1;
        self.rounds.push_back(Round {
            id: self.next_id,
            sent_at: now,
            population,
            roles: leases.iter().map(|(r, t)| (*t, r.clone())).collect(),
            acks: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            asked,
            answered: BTreeSet::new(),
        });
        self.next_id
    }

    /// The leases of round `id` and the voters it was sent to that have not answered it
    /// (an empty list once the round is pruned).
    pub(crate) fn unanswered(&self, id: u64) -> (Vec<(RoleName, LamportTime)>, Vec<NodeName>) {
        let Some(round) = self.rounds.iter().find(|r| r.id == id) else {
            return (Vec::new(), Vec::new());
        };
        let leases = round.roles.iter().map(|(t, r)| (r.clone(), *t)).collect();
        let silent = round.asked.difference(&round.answered).cloned().collect();
        (leases, silent)
    }

    /// Records that `voter` acknowledged `acked` in round `id`. Returns each role that
    /// reached a quorum in that round just now, with its term and the round's send time.
    pub(crate) fn ack(
        &mut self,
        id: u64,
        voter: &NodeName,
        population: usize,
        acked: &[LamportTime],
        quorum: &dyn QuorumFunc,
    ) -> Vec<(RoleName, LamportTime, Instant)> {
        let Some(round) = self.rounds.iter_mut().find(|r| r.id == id) else {
            return Vec::new();
        };
        round.population = round.population.max(population);
        round.answered.insert(voter.clone());
        let need = quorum.votes_required(round.population);
        let mut reached = Vec::new();
        for term in acked {
            let Some(role) = round.roles.get(term) else {
                continue;
            };
            let acks = round.acks.entry(*term).or_default();
            acks.insert(voter.clone());
            if acks.len() >= need && round.confirmed.insert(*term) {
                reached.push((role.clone(), *term, round.sent_at));
            }
        }
        reached
    }

    /// Forgets rounds sent before `cutoff`: their acknowledgements could no longer
    /// extend anything.
    pub(crate) fn prune(&mut self, cutoff: Instant) {
        while self.rounds.front().is_some_and(|r| r.sent_at < cutoff) {
            self.rounds.pop_front();
        }
    }
}

/// Splits `leases` into groups that each fit in one datagram of `max_datagram` bytes.
pub(crate) fn chunks(
    leases: &[(RoleName, LamportTime)],
    max_datagram: usize,
) -> Vec<&[(RoleName, LamportTime)]> {
    // Envelope, sealing, sender identity and framing take well under 200 bytes. Each
    // lease takes its name, a length and a term: at most 10 bytes each on the wire, but
    // the receiver's decoder budgets 8 for each in memory, and refuses a message whose
    // budget passes DECODE_LIMIT, so count 16 and stay under that limit too.
    let budget = max_datagram.min(DECODE_LIMIT).saturating_sub(200).max(1);
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, (role, _)) in leases.iter().enumerate() {
        let size = role.as_str().len() + 16;
        if used + size > budget && i > start {
            groups.push(&leases[start..i]);
            start = i;
            used = 0;
        }
        used += size;
    }
    if start < leases.len() {
        groups.push(&leases[start..]);
    }
    groups
}

impl Roles {
    /// Steps down from `role` for `reason`. A lease that ran out is always warned of
    /// first: a node held up past its warning (paused, starved) reports `RoleAtRisk`
    /// and `RoleLost` together, so an application never sees the loss unwarned.
    pub(super) fn step_down(&mut self, out: &mut Outbox, role: &RoleName, reason: LossReason) {
        if let Some(mut held) = self.held.remove(role) {
            if reason == LossReason::LeaseExpired {
                out.events.extend(held.warn(role));
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
    pub(crate) fn expire(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        let expired: Vec<(RoleName, LamportTime)> = self
            .held
            .iter()
            .filter(|(_, h)| h.until <= ctx.now)
            .map(|(r, h)| (r.clone(), h.term))
            .collect();
        for (role, term) in expired {
            self.give_up(ctx, out, &role, term, LossReason::LeaseExpired);
        }
    }

    pub(super) fn renew(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            self.renewing = false;
            return;
        }
        let leases: Vec<(RoleName, LamportTime)> =
            self.held.iter().map(|(r, h)| (r.clone(), h.term)).collect();
        let population = ctx.population();
        let voters = ctx.live_voters();
        let asked = voters.iter().map(|v| v.name().clone()).collect();
        let round = self.renewals.start(ctx.now, &leases, population, asked);
        send_renewals(ctx, out, round, &leases, &voters);
        // Voters that have not answered by a third of the interval are asked once more:
        // under loss, a voter that misses several renewals in a row would let its lease
        // run out and believe the role vacant.
        out.timers.push((
            ctx.now + ctx.config.resend_after(),
            RoleTimer::Resend(round),
        ));
        if ctx.i_vote() {
            let mut acked = Vec::new();
            for (role, term) in &leases {
                let voter = self.voters.entry(role.clone()).or_default();
                if voter.renew(ctx.now, ctx.me.name(), *term, ctx.config.lease) {
                    acked.push(*term);
                }
            }
            for (role, _) in &leases {
                self.arm_lease_check(out, role);
            }
            let me = ctx.me.name().clone();
            self.renewed(ctx, round, &me, ctx.population(), &acked);
        }
        // A round sent a holder lease ago can no longer extend anything.
        if let Some(cutoff) = ctx.now.checked_sub(ctx.config.holder_lease()) {
            self.renewals.prune(cutoff);
        }
        out.timers
            .push((ctx.now + ctx.config.renew_interval, RoleTimer::Renew));
    }

    pub(super) fn resend(&self, ctx: &Ctx<'_>, out: &mut Outbox, round: u64) {
        let (leases, silent) = self.renewals.unanswered(round);
        if silent.is_empty() {
            // Every voter answered, as on a healthy network: nothing to look up or send.
            return;
        }
        let voters: Vec<NodeId> = ctx
            .live_voters()
            .into_iter()
            .filter(|v| silent.contains(v.name()))
            .collect();
        send_renewals(ctx, out, round, &leases, &voters);
    }

    pub(super) fn renewed(
        &mut self,
        ctx: &Ctx<'_>,
        round: u64,
        voter: &NodeName,
        population: usize,
        acked: &[LamportTime],
    ) {
        tracing::trace!(me = %ctx.me.name(), round, %voter, population, acked = acked.len(), "renewal acknowledged");
        let reached =
            self.renewals
                .ack(round, voter, population, acked, ctx.config.quorum.as_ref());
        for (role, term, sent_at) in reached {
            if let Some(held) = self.held.get_mut(&role)
                && held.term == term
            {
                held.until = held.until.max(sent_at + ctx.config.holder_lease());
            }
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
            .live()
            .filter(|id| id.name() != ctx.me.name())
            .map(NodeId::addr)
            .sample(&mut self.rng, ctx.config.gossip_fanout);
        for (role, held) in &self.held {
            let announcement = Announcement::Elected {
                role: role.clone(),
                holder: ctx.me.name().clone(),
                term: held.term,
            };
            for addr in &targets {
                out.sends
                    .push((*addr, Body::Announce(announcement.clone())));
            }
        }
        out.timers
            .push((ctx.now + ctx.config.lease, RoleTimer::Reannounce));
    }

    /// Steps down from `role`, then tells the voters to release the lease (all of them, also
    /// those it believes down) and everyone that the term is over, so that the next
    /// election need not wait for the voters' leases to run out. Voters release only the
    /// lease of this holder at this term, and then open the contest.
    ///
    /// The release names a successor: the first, in the role's order, of the live
    /// candidates that asked this node for a vote in the last two leases. It asks at once
    /// instead of waiting its turn. Its release is sent last, so that on one network path
    /// every other voter has its release before the successor's vote request.
    pub(super) fn give_up(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        term: LamportTime,
        reason: LossReason,
    ) {
        let since = ctx
            .now
            .checked_sub(ctx.config.successor_window())
            .unwrap_or(ctx.now);
        let successor = self.held.get(role).and_then(|held| {
            held.successor(
                since,
                |name| {
                    ctx.membership
                        .lookup(name)
                        .is_some_and(|(_, status)| status == MemberStatus::Alive)
                },
                |name| rank_key(role, name),
            )
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
                },
            ));
        }
        self.voters
            .entry(role.clone())
            .or_default()
            .release(ctx.me.name(), term);
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
        self.give_up(ctx, out, role, term, LossReason::Resigned);
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
            .collect();
        for id in waiting {
            self.cancel(out, id);
        }
    }

    /// The holder's own lease of `role` may have run out: step down if it has.
    pub(super) fn holder_check(&mut self, ctx: &Ctx<'_>, out: &mut Outbox, role: RoleName) {
        if let Some(held) = self.held.get(&role) {
            if held.until <= ctx.now {
                self.step_down(out, &role, LossReason::LeaseExpired);
            } else {
                out.timers.push((held.until, RoleTimer::HolderCheck(role)));
            }
        }
    }

    /// No quorum may have acknowledged a renewal of `role` for `renew_deadline`: warn,
    /// once per tenure, with the time left before the holder's own lease ends.
    pub(super) fn risk_check(&mut self, ctx: &Ctx<'_>, out: &mut Outbox, role: RoleName) {
        if let Some(held) = self.held.get_mut(&role)
            && !held.at_risk
        {
            // `until` is `sent_at + holder_lease` of the last acknowledged round.
            let risk_at = held.until - ctx.config.holder_lease() + ctx.config.renew_deadline;
            if risk_at <= ctx.now {
                out.events.extend(held.warn(&role));
            } else {
                out.timers.push((risk_at, RoleTimer::RiskCheck(role)));
            }
        }
    }
}

/// Sends renewal round `round` of `leases` to `voters`, in datagrams that fit.
fn send_renewals(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    round: u64,
    leases: &[(RoleName, LamportTime)],
    voters: &[NodeId],
) {
    for chunk in chunks(leases, ctx.config.max_datagram_size) {
        for voter in voters {
            out.sends.push((
                voter.addr(),
                Body::Renew {
                    round,
                    leases: chunk.to_vec(),
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::Majority;

    #[test]
    fn a_role_is_confirmed_once_per_round_when_a_quorum_acks() {
        let t0 = Instant::now();
        let role = RoleName::new("r").unwrap();
        let term = LamportTime(7);
        let mut r = Renewals::default();
        let a = NodeName::new("a").unwrap();
        let b = NodeName::new("b").unwrap();
        let asked = BTreeSet::from([a.clone(), b.clone()]);
        let id = r.start(t0, &[(role.clone(), term)], 3, asked);
        let leases = vec![(role.clone(), term)];
        assert_eq!(
            r.unanswered(id),
            (leases.clone(), vec![a.clone(), b.clone()])
        );
        assert!(r.ack(id, &a, 3, &[term], &Majority).is_empty());
        assert!(
            r.ack(id, &a, 3, &[term], &Majority).is_empty(),
            "duplicates count once"
        );
        assert_eq!(r.unanswered(id), (leases, vec![b.clone()]));
        assert_eq!(r.ack(id, &b, 3, &[term], &Majority), vec![(role, term, t0)]);
        let c = NodeName::new("c").unwrap();
        assert!(
            r.ack(id, &c, 3, &[term], &Majority).is_empty(),
            "already confirmed"
        );
        assert!(
            r.ack(id, &c, 3, &[LamportTime(8)], &Majority).is_empty(),
            "unknown term"
        );
        r.prune(t0 + std::time::Duration::from_secs(1));
        assert!(r.ack(id, &c, 3, &[term], &Majority).is_empty(), "pruned");
        assert_eq!(r.unanswered(id), (Vec::new(), Vec::new()), "pruned");
    }

    #[test]
    fn the_successor_is_the_first_live_candidate_that_asked_lately() {
        let t0 = Instant::now();
        let second = std::time::Duration::from_secs(1);
        let name = |n: &str| NodeName::new(n).unwrap();
        let mut held = Held::new(LamportTime(3), t0 + second);
        assert_eq!(held.successor(t0, |_| true, |n| n.clone()), None);
        held.candidate_asked(&name("c"), t0);
        held.candidate_asked(&name("b"), t0 + second);
        held.candidate_asked(&name("a"), t0 + second);
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
            held.candidate_asked(&name(&format!("n{i:03}")), t0 + second * (i + 2));
        }
        assert_eq!(held.waiting.len(), MAX_WAITING, "bounded");
        assert!(held.waiting.contains_key(&name("n099")), "the newest kept");
    }

    #[test]
    fn renewals_fit_in_datagrams() {
        let leases: Vec<(RoleName, LamportTime)> = (0..100)
            .map(|i| (RoleName::new(format!("{i:0>100}")).unwrap(), LamportTime(i)))
            .collect();
        let groups = chunks(&leases, 1400);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 100);
        assert!(
            groups.iter().all(|g| g.len() * 112 <= 1200),
            "{:?}",
            groups.iter().map(|g| g.len()).collect::<Vec<_>>()
        );
        let short: Vec<(RoleName, LamportTime)> = (0..50)
            .map(|i| (RoleName::new(format!("r{i}")).unwrap(), LamportTime(i)))
            .collect();
        assert_eq!(
            chunks(&short, 1400).len(),
            1,
            "50 short names fit in one datagram"
        );
    }
}
