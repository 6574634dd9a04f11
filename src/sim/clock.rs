//! A node's local clock in the simulator: it runs at its own rate, so two nodes measure
//! the same true interval differently, as real clocks with drift do.

use std::time::{Duration, Instant};

/// Maps true (simulated) time to one node's local `Instant`, and back.
#[derive(Debug, Clone)]
pub(crate) struct LocalClock {
    /// Local nanoseconds at true time zero.
    offset_ns: f64,
    /// Local nanoseconds per true nanosecond.
    rate: f64,
    /// The last local time handed out; local time never goes backwards.
    last: Duration,
}

/// Local clocks start an hour after the epoch, so slowing one down never goes below it.
const START: f64 = 3_600e9;

impl LocalClock {
    pub(crate) fn new(rate: f64) -> Self {
        LocalClock {
            offset_ns: START,
            rate,
            last: Duration::ZERO,
        }
    }

    /// Changes the rate from true time `now` on, keeping local time continuous.
    pub(crate) fn set_rate(&mut self, now: Duration, rate: f64) {
        let local = self.local_ns(now);
        self.rate = rate;
        self.offset_ns = local - now.as_nanos() as f64 * rate;
    }

    fn local_ns(&self, now: Duration) -> f64 {
        self.offset_ns + now.as_nanos() as f64 * self.rate
    }

    /// The local time at true time `now`, and at least `floor`.
    pub(crate) fn local(
        &mut self,
        epoch: Instant,
        now: Duration,
        floor: Option<Instant>,
    ) -> Instant {
        let mut local = Duration::from_nanos(self.local_ns(now).max(0.0) as u64).max(self.last);
        if let Some(floor) = floor {
            local = local.max(floor.saturating_duration_since(epoch));
        }
        self.last = local;
        epoch + local
    }

    /// The true time at which this clock reads `local` (rounded up).
    pub(crate) fn true_time(&self, epoch: Instant, local: Instant) -> Duration {
        let local_ns = local.saturating_duration_since(epoch).as_nanos() as f64;
        let true_ns = ((local_ns - self.offset_ns) / self.rate).ceil().max(0.0);
        Duration::from_nanos(true_ns as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_measures_more_and_stays_continuous() {
        let epoch = Instant::now();
        let s = Duration::from_secs;
        let mut clock = LocalClock::new(1.1);
        let a = clock.local(epoch, s(0), None);
        let b = clock.local(epoch, s(10), None);
        assert_eq!(b - a, s(11));
        clock.set_rate(s(10), 0.9);
        let c = clock.local(epoch, s(20), None);
        assert_eq!(c - b, s(9));
        assert_eq!(clock.true_time(epoch, c), s(20));
    }

    #[test]
    fn local_time_never_goes_backwards() {
        let epoch = Instant::now();
        let mut clock = LocalClock::new(1.0);
        let later = clock.local(epoch, Duration::from_secs(5), None);
        assert!(clock.local(epoch, Duration::from_secs(4), None) >= later);
    }
}
