//! Replay protection for polity messages: every message carries a Lamport time unique to
//! its sender (the clock ticks on each send), and a receiver refuses a time it has seen
//! from the same sender, or one older than everything it still remembers.
//!
//! Invariants: at most [`WINDOW`] times per sender and [`MAX_SENDERS`] senders are kept,
//! so memory is bounded whatever arrives; a newer generation of a sender starts afresh
//! and an older one is refused. Sealing makes this meaningful: without a key, anyone can
//! forge fresh messages anyway.

use std::collections::{BTreeMap, BTreeSet};

use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName};

/// How many recent message times are remembered per sender. Messages reordered by more
/// than this many are refused as too old.
pub(crate) const WINDOW: usize = 512;

/// How many senders are tracked; beyond that, messages of new senders are let through
/// untracked rather than evicting a member's history.
pub(crate) const MAX_SENDERS: usize = 4096;

#[derive(Debug)]
struct Seen {
    generation: u64,
    times: BTreeSet<LamportTime>,
}

/// The message times seen per sender.
#[derive(Debug, Default)]
pub(crate) struct ReplayGuard {
    senders: BTreeMap<NodeName, Seen>,
}

impl ReplayGuard {
    /// Records a message from `from` sent at `time`; false if it is a replay (or too old
    /// to tell), in which case it must be dropped.
    pub(crate) fn fresh(&mut self, from: &NodeId, time: LamportTime) -> bool {
        if !self.senders.contains_key(from.name()) && self.senders.len() >= MAX_SENDERS {
            return true;
        }
        let seen = self.senders.entry(from.name().clone()).or_insert(Seen {
            generation: from.generation(),
            times: BTreeSet::new(),
        });
        if from.generation() < seen.generation {
            return false;
        }
        if from.generation() > seen.generation {
            seen.generation = from.generation();
            seen.times.clear();
        }
        let too_old = seen.times.len() >= WINDOW && seen.times.first().is_some_and(|&f| time < f);
        if too_old || !seen.times.insert(time) {
            return false;
        }
        if seen.times.len() > WINDOW {
            seen.times.pop_first();
        }
        true
    }

    /// Forgets a sender, when the member itself is forgotten.
    pub(crate) fn forget(&mut self, name: &NodeName) {
        self.senders.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(generation: u64) -> NodeId {
        NodeId::new(
            NodeName::new("a").unwrap(),
            ([127, 0, 0, 1], 1).into(),
            generation,
        )
    }

    #[test]
    fn a_message_time_is_accepted_once_even_out_of_order() {
        let mut guard = ReplayGuard::default();
        assert!(guard.fresh(&id(1), LamportTime(10)));
        assert!(guard.fresh(&id(1), LamportTime(12)));
        assert!(
            guard.fresh(&id(1), LamportTime(11)),
            "reordered, not replayed"
        );
        assert!(!guard.fresh(&id(1), LamportTime(10)), "replayed");
        assert!(!guard.fresh(&id(1), LamportTime(12)), "replayed");
    }

    #[test]
    fn generations_start_afresh_and_old_ones_are_refused() {
        let mut guard = ReplayGuard::default();
        assert!(guard.fresh(&id(1), LamportTime(10)));
        assert!(guard.fresh(&id(2), LamportTime(10)), "a restarted sender");
        assert!(!guard.fresh(&id(1), LamportTime(11)), "its old incarnation");
    }

    #[test]
    fn memory_is_bounded_and_what_fell_out_is_refused() {
        let mut guard = ReplayGuard::default();
        for t in 0..(WINDOW as u64 * 3) {
            assert!(guard.fresh(&id(1), LamportTime(1000 + t)));
        }
        assert_eq!(guard.senders[id(1).name()].times.len(), WINDOW);
        assert!(
            !guard.fresh(&id(1), LamportTime(1000)),
            "older than the window"
        );
        let name = |i: usize| NodeName::new(format!("s{i}")).unwrap();
        for i in 0..MAX_SENDERS + 10 {
            let sender = NodeId::new(name(i), ([127, 0, 0, 1], 2).into(), 1);
            assert!(guard.fresh(&sender, LamportTime(1)));
        }
        assert_eq!(guard.senders.len(), MAX_SENDERS);
    }
}
