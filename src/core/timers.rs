//! Pending timers in the order they fall due; equal deadlines keep the order they were
//! scheduled in, which is the order foca expects its timers back.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Instant;

#[derive(Debug)]
struct Scheduled<E> {
    at: Instant,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Capacity the heap keeps whatever it holds.
const MIN_CAPACITY: usize = 64;

/// A min-heap of events keyed by deadline, then by insertion order.
#[derive(Debug)]
pub(crate) struct Timers<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    seq: u64,
}

impl<E> Timers<E> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub(crate) fn schedule(&mut self, at: Instant, event: E) {
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            event,
        }));
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(s)| s.at)
    }

    /// Removes and returns the earliest event due at or before `now`. The heap gives
    /// memory back once it is a quarter full (keeping twice what it holds), so a burst
    /// of timers, thousands of roles elected at once, does not pin its peak for good;
    /// each shrink moves at most half the capacity, O(1) per timer over time.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<E> {
        if self.next_deadline()? > now {
            return None;
        }
        let event = self.heap.pop().map(|Reverse(s)| s.event);
        if self.heap.capacity() > MIN_CAPACITY && self.heap.len() * 4 < self.heap.capacity() {
            self.heap.shrink_to(MIN_CAPACITY.max(self.heap.len() * 2));
        }
        event
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_fire_by_deadline_then_in_scheduling_order() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut timers = Timers::new();
        timers.schedule(t0 + ms(20), "late");
        timers.schedule(t0 + ms(10), "first of two");
        timers.schedule(t0 + ms(10), "second of two");
        assert_eq!(timers.next_deadline(), Some(t0 + ms(10)));
        assert_eq!(timers.pop_due(t0 + ms(5)), None);
        assert_eq!(timers.pop_due(t0 + ms(15)), Some("first of two"));
        assert_eq!(timers.pop_due(t0 + ms(15)), Some("second of two"));
        assert_eq!(timers.pop_due(t0 + ms(15)), None);
        assert_eq!(timers.pop_due(t0 + ms(20)), Some("late"));
        assert_eq!(timers.len(), 0);
    }

    #[test]
    fn a_burst_of_timers_gives_its_memory_back_once_they_fire() {
        let t0 = Instant::now();
        let mut timers = Timers::new();
        for i in 0..100_000u64 {
            timers.schedule(t0 + Duration::from_micros(i), i);
        }
        let peak = timers.heap.capacity();
        let mut fired = 0;
        while let Some(i) = timers.pop_due(t0 + Duration::from_secs(1)) {
            assert_eq!(i, fired, "still in deadline order while shrinking");
            fired += 1;
        }
        assert_eq!(fired, 100_000);
        assert!(peak >= 100_000);
        assert!(
            timers.heap.capacity() <= MIN_CAPACITY,
            "{}",
            timers.heap.capacity()
        );
    }
}
