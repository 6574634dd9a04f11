//! The roles this node holds and the renewal rounds that keep them.
//!
//! Invariant: a held role's `until` is `sent_at + holder_lease` of the latest round (or
//! the winning election) that gathered a quorum of acknowledgements for its term, never
//! anything later; voters, counting from when they received that round, hold on longer.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use crate::clock::LamportTime;
use crate::identity::{NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::DECODE_LIMIT;

/// How many waiting candidates a holder remembers for each role.
const MAX_WAITING: usize = 16;

/// A role held: its term, when this node must stop believing it holds it, and the
/// candidates waiting for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) term: LamportTime,
    pub(crate) until: Instant,
    /// Whether `RoleAtRisk` was reported for this tenure (once at most).
    pub(crate) at_risk: bool,
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
