//! A latency histogram with fixed bucket bounds, as Prometheus exposes one: a count per
//! bucket (cumulative when read), a sum and a count.
//!
//! Invariants: memory is fixed (one counter per bound), whatever is observed; a
//! duration longer than the last bound counts only in `+Inf`, the count and the sum.

use std::time::Duration;

/// The upper bounds of the buckets, in seconds: from a millisecond, for round trips on a
/// LAN, to a minute, for failovers with long leases.
pub const BUCKET_BOUNDS_SECONDS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0,
];

/// Durations observed, by bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// How many observations fell at or below each bound and above the one before.
    in_bucket: [u64; BUCKET_BOUNDS_SECONDS.len()],
    count: u64,
    sum_nanos: u128,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&mut self, duration: Duration) {
        let seconds = duration.as_secs_f64();
        if let Some(at) = BUCKET_BOUNDS_SECONDS.iter().position(|&b| seconds <= b) {
            self.in_bucket[at] += 1;
        }
        self.count += 1;
        self.sum_nanos += duration.as_nanos();
    }

    /// How many durations were observed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum of every duration observed, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        // As f64 for the exposition: exact to the microsecond for over a century.
        self.sum_nanos as f64 / 1e9
    }

    /// Each bound (in seconds) with how many durations were at or below it, in rising
    /// order: Prometheus' `le` buckets, less `+Inf`, which is [`Histogram::count`].
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        BUCKET_BOUNDS_SECONDS
            .iter()
            .zip(self.in_bucket.iter())
            .scan(0, |below, (&bound, &n)| {
                *below += n;
                Some((bound, *below))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_long_durations_count_only_in_the_total() {
        let mut h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(300));
        h.observe(Duration::from_secs(120));
        assert_eq!(h.count(), 3);
        assert!((h.sum_seconds() - 120.3005).abs() < 1e-9);
        let buckets: Vec<(f64, u64)> = h.cumulative().collect();
        assert_eq!(buckets[0], (0.001, 1));
        assert_eq!(buckets[7], (0.25, 1));
        assert_eq!(buckets[8], (0.5, 2));
        assert_eq!(buckets.last(), Some(&(60.0, 2)));
    }
}
