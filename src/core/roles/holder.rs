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

/// A role held: its term and when this node must stop believing it holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) term: LamportTime,
    pub(crate) until: Instant,
}

#[derive(Debug)]
struct Round {
    id: u64,
    sent_at: Instant,
    population: usize,
    roles: BTreeMap<LamportTime, RoleName>,
    acks: BTreeMap<LamportTime, BTreeSet<NodeName>>,
    confirmed: BTreeSet<LamportTime>,
}

/// Renewal rounds still young enough to matter.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    rounds: VecDeque<Round>,
    next_id: u64,
}

impl Renewals {
    /// Opens a round for `leases` sent at `now`; returns its id.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        leases: &[(RoleName, LamportTime)],
        population: usize,
    ) -> u64 {
        self.next_id += 1;
        self.rounds.push_back(Round {
            id: self.next_id,
            sent_at: now,
            population,
            roles: leases.iter().map(|(r, t)| (*t, r.clone())).collect(),
            acks: BTreeMap::new(),
            confirmed: BTreeSet::new(),
        });
        self.next_id
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
        let id = r.start(t0, &[(role.clone(), term)], 3);
        let a = NodeName::new("a").unwrap();
        let b = NodeName::new("b").unwrap();
        assert!(r.ack(id, &a, 3, &[term], &Majority).is_empty());
        assert!(
            r.ack(id, &a, 3, &[term], &Majority).is_empty(),
            "duplicates count once"
        );
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
