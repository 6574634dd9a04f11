//! Lamport logical clocks and windows of Lamport times.
//!
//! Terms of roles are [`LamportTime`]s handed out by a [`LamportClock`]. A
//! clock only moves forward: it is advanced by [`LamportClock::increment`]
//! when this peer starts something new, and by [`LamportClock::witness`] when
//! it sees a time from another peer, so that anything it starts afterwards is
//! ordered after everything it has seen.
//!
//! To keep terms monotonic across restarts of the whole cluster, create the
//! clock with [`LamportClock::starting_above`], passing the current wall-clock
//! time in microseconds (or any larger saved value). This module never reads
//! a clock of its own; the caller supplies that floor.
//!
//! A [`LamportWindow`] records the range of times seen so far, so a caller can
//! tell whether a new time lies before, inside or after that range.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A point in Lamport (logical) time.
///
/// Larger values are later. The number has no unit of its own: it counts
/// events, except that a clock made with [`LamportClock::starting_above`]
/// starts above a caller-supplied floor, typically wall-clock microseconds.
///
/// Serializes as a bare `u64`, and displays as the number.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct LamportTime(pub u64);

impl LamportTime {
    /// The earliest time, `0`. A fresh [`LamportClock::new`] reads this.
    pub const ZERO: LamportTime = LamportTime(0);

    /// Returns the time as a plain number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for LamportTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A Lamport clock: a counter that only moves forward.
///
/// The clock is not synchronised; it is meant to be owned by one task, which
/// advances it with [`increment`](Self::increment) and
/// [`witness`](Self::witness). Arithmetic saturates at `u64::MAX` instead of
/// wrapping or panicking; once there, the clock stays there.
#[derive(Debug, Clone)]
pub struct LamportClock {
    counter: u64,
}

impl LamportClock {
    /// Creates a clock reading [`LamportTime::ZERO`]; its first
    /// [`increment`](Self::increment) returns `1`.
    pub const fn new() -> Self {
        LamportClock { counter: 0 }
    }

    /// Creates a clock reading `floor`, so its first
    /// [`increment`](Self::increment) returns a value greater than `floor`
    /// (unless `floor` is `u64::MAX`, where the clock saturates).
    ///
    /// Pass the largest of the current wall-clock time in microseconds since
    /// the Unix epoch and any time saved from a previous run. Terms issued
    /// after a restart of every peer then stay above the terms issued before
    /// it, as long as wall clocks do not step back by more than the time the
    /// cluster was down.
    pub const fn starting_above(floor: u64) -> Self {
        LamportClock { counter: floor }
    }

    /// Returns the current time without advancing the clock.
    pub const fn time(&self) -> LamportTime {
        LamportTime(self.counter)
    }

    /// Advances the clock by one and returns the new time.
    ///
    /// The returned time is greater than every time previously returned or
    /// witnessed, unless the clock has reached `u64::MAX`, where it stays.
    pub fn increment(&mut self) -> LamportTime {
        self.counter = self.counter.saturating_add(1);
        LamportTime(self.counter)
    }

    /// Records a time seen from another peer.
    ///
    /// If `t` is earlier than the current time nothing changes; otherwise the
    /// clock is set to `t`. Afterwards [`time`](Self::time) is at least `t`,
    /// and the next [`increment`](Self::increment) returns a time greater
    /// than `t` (unless `t` is `u64::MAX`).
    pub fn witness(&mut self, t: LamportTime) {
        if t.0 < self.counter {
            return;
        }
        self.counter = t.0;
    }
}

impl Default for LamportClock {
    /// Same as [`LamportClock::new`].
    fn default() -> Self {
        Self::new()
    }
}

/// The closed interval `[low, high]` of the Lamport times witnessed so far.
///
/// A window starts empty and grows with each [`witness`](Self::witness) call
/// to the smallest interval holding every witnessed time. A caller can use it
/// to filter times: [`before`](Self::before) reports a time earlier than all
/// of them, [`after`](Self::after) one later than all of them, and
/// [`contains`](Self::contains) one within the range.
///
/// For a non-empty window exactly one of `before(t)`, `contains(t)` and
/// `after(t)` is true for any `t`. For an empty window all three are false.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LamportWindow {
    bounds: Option<(LamportTime, LamportTime)>,
}

impl LamportWindow {
    /// Creates an empty window.
    pub const fn new() -> Self {
        LamportWindow { bounds: None }
    }

    /// Grows the window so that it contains `t`.
    ///
    /// The first call makes the window the single point `[t, t]`; later calls
    /// lower `low` or raise `high` as needed.
    pub fn witness(&mut self, t: LamportTime) {
        self.bounds = Some(match self.bounds {
            None => (t, t),
            Some((low, high)) => (low.min(t), high.max(t)),
        });
    }

    /// Returns `true` if no time has been witnessed yet.
    pub const fn is_empty(&self) -> bool {
        self.bounds.is_none()
    }

    /// Returns the earliest witnessed time, or `None` if the window is empty.
    pub fn low(&self) -> Option<LamportTime> {
        self.bounds.map(|(low, _)| low)
    }

    /// Returns the latest witnessed time, or `None` if the window is empty.
    pub fn high(&self) -> Option<LamportTime> {
        self.bounds.map(|(_, high)| high)
    }

    /// Returns `true` if the window is non-empty and `t < low`, that is, `t`
    /// is strictly earlier than every witnessed time.
    ///
    /// `before(low)` is `false`. Returns `false` for an empty window.
    pub fn before(&self, t: LamportTime) -> bool {
        matches!(self.bounds, Some((low, _)) if t < low)
    }

    /// Returns `true` if the window is non-empty and `t > high`, that is, `t`
    /// is strictly later than every witnessed time.
    ///
    /// `after(high)` is `false`. Returns `false` for an empty window.
    pub fn after(&self, t: LamportTime) -> bool {
        matches!(self.bounds, Some((_, high)) if t > high)
    }

    /// Returns `true` if the window is non-empty and `low <= t <= high`.
    ///
    /// Both bounds are included. Returns `false` for an empty window.
    pub fn contains(&self, t: LamportTime) -> bool {
        matches!(self.bounds, Some((low, high)) if low <= t && t <= high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(v: u64) -> LamportTime {
        LamportTime(v)
    }

    #[test]
    fn time_basics() {
        assert_eq!(LamportTime::ZERO, LamportTime::default());
        assert_eq!(LamportTime::ZERO.get(), 0);
        assert_eq!(lt(42).get(), 42);
        assert_eq!(lt(42).to_string(), "42");
        assert!(lt(1) < lt(2));
    }

    #[test]
    fn new_clock_starts_at_zero() {
        let clock = LamportClock::new();
        assert_eq!(clock.time(), LamportTime::ZERO);
        assert_eq!(LamportClock::default().time(), LamportTime::ZERO);
    }

    #[test]
    fn increment_is_monotonic() {
        let mut clock = LamportClock::new();
        let mut prev = clock.time();
        for expected in 1..=100 {
            let next = clock.increment();
            assert!(next > prev);
            assert_eq!(next, lt(expected));
            assert_eq!(clock.time(), next);
            prev = next;
        }
    }

    #[test]
    fn witness_lower_is_ignored() {
        let mut clock = LamportClock::starting_above(10);
        clock.witness(lt(5));
        assert_eq!(clock.time(), lt(10));
        assert_eq!(clock.increment(), lt(11));
    }

    #[test]
    fn witness_equal_keeps_time() {
        let mut clock = LamportClock::starting_above(10);
        clock.witness(lt(10));
        assert_eq!(clock.time(), lt(10));
        assert!(clock.increment() > lt(10));
    }

    #[test]
    fn witness_higher_advances() {
        let mut clock = LamportClock::starting_above(10);
        clock.witness(lt(20));
        assert!(clock.time() >= lt(20));
        assert!(clock.increment() > lt(20));
    }

    #[test]
    fn starting_above_first_increment_exceeds_floor() {
        for floor in [0, 1, 1_700_000_000_000_000, u64::MAX - 1] {
            let mut clock = LamportClock::starting_above(floor);
            assert!(clock.increment().get() > floor, "floor {floor}");
        }
    }

    #[test]
    fn saturates_at_max() {
        let mut clock = LamportClock::starting_above(u64::MAX - 1);
        assert_eq!(clock.increment(), lt(u64::MAX));
        assert_eq!(clock.increment(), lt(u64::MAX));
        clock.witness(lt(u64::MAX));
        assert_eq!(clock.time(), lt(u64::MAX));
        assert_eq!(clock.increment(), lt(u64::MAX));

        let mut clock = LamportClock::new();
        clock.witness(lt(u64::MAX));
        assert_eq!(clock.increment(), lt(u64::MAX));
    }

    #[test]
    fn empty_window() {
        let w = LamportWindow::new();
        assert!(w.is_empty());
        assert_eq!(w, LamportWindow::default());
        assert_eq!(w.low(), None);
        assert_eq!(w.high(), None);
        for t in [0, 1, 100, u64::MAX] {
            assert!(!w.before(lt(t)));
            assert!(!w.after(lt(t)));
            assert!(!w.contains(lt(t)));
        }
    }

    #[test]
    fn single_point_window() {
        let mut w = LamportWindow::new();
        w.witness(lt(7));
        assert!(!w.is_empty());
        assert_eq!(w.low(), Some(lt(7)));
        assert_eq!(w.high(), Some(lt(7)));
        assert!(w.contains(lt(7)));
        assert!(!w.before(lt(7)));
        assert!(!w.after(lt(7)));
        assert!(w.before(lt(6)));
        assert!(!w.contains(lt(6)));
        assert!(w.after(lt(8)));
        assert!(!w.contains(lt(8)));
    }

    #[test]
    fn window_grows_both_ways() {
        let mut w = LamportWindow::new();
        w.witness(lt(10));
        w.witness(lt(15));
        assert_eq!((w.low(), w.high()), (Some(lt(10)), Some(lt(15))));
        w.witness(lt(5));
        assert_eq!((w.low(), w.high()), (Some(lt(5)), Some(lt(15))));
        w.witness(lt(12));
        assert_eq!((w.low(), w.high()), (Some(lt(5)), Some(lt(15))));
        w.witness(lt(20));
        assert_eq!((w.low(), w.high()), (Some(lt(5)), Some(lt(20))));
    }

    #[test]
    fn window_boundaries() {
        let mut w = LamportWindow::new();
        w.witness(lt(10));
        w.witness(lt(20));

        assert!(!w.before(lt(10)));
        assert!(w.before(lt(9)));
        assert!(w.contains(lt(10)));

        assert!(!w.after(lt(20)));
        assert!(w.after(lt(21)));
        assert!(w.contains(lt(20)));

        assert!(w.before(lt(0)));
        assert!(w.after(lt(u64::MAX)));
    }

    #[test]
    fn window_filters_outside_times() {
        let mut w = LamportWindow::new();
        for t in [100, 105, 110] {
            w.witness(lt(t));
        }
        for t in [0, 50, 99, 111, 200] {
            assert!(!w.contains(lt(t)), "{t} should be outside");
        }
        for t in 0..=250 {
            let t = lt(t);
            let hits = [w.before(t), w.contains(t), w.after(t)]
                .into_iter()
                .filter(|&b| b)
                .count();
            assert_eq!(hits, 1, "exactly one of before/contains/after at {t}");
        }
    }

    #[test]
    fn window_at_extremes() {
        let mut w = LamportWindow::new();
        w.witness(LamportTime::ZERO);
        w.witness(lt(u64::MAX));
        assert!(w.contains(LamportTime::ZERO));
        assert!(w.contains(lt(u64::MAX)));
        assert!(!w.before(LamportTime::ZERO));
        assert!(!w.after(lt(u64::MAX)));
    }
}
