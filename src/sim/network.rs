//! The simulated network: what happens to a datagram between two nodes. Every decision
//! draws from the simulator's seeded generator, so a seed fixes the whole schedule.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

/// Faults applied to every datagram in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is lost, 0.0 to 1.0.
    pub loss: f64,
    /// Probability that a datagram is delivered twice, 0.0 to 1.0.
    pub duplicate: f64,
    /// Shortest one-way delay.
    pub min_delay: Duration,
    /// Longest one-way delay; a spread wider than the gap between two datagrams reorders
    /// them.
    pub max_delay: Duration,
}

impl Default for Faults {
    /// A healthy LAN: no loss, no duplicates, 0.2 to 1 ms one way.
    fn default() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            min_delay: Duration::from_micros(200),
            max_delay: Duration::from_millis(1),
        }
    }
}

/// What became of one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Cut by a partition.
    Blocked,
    /// Lost at random.
    Lost,
    /// Delivered after each of these delays (twice when duplicated).
    Delivered(Vec<Duration>),
}

/// Faults plus the directed links that are cut.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub(crate) faults: Faults,
    cut: BTreeSet<(usize, usize)>,
}

impl Network {
    pub(crate) fn new(faults: Faults) -> Self {
        Network {
            faults,
            cut: BTreeSet::new(),
        }
    }

    /// Cuts every link from a node in `from` to a node in `to` (one way).
    pub(crate) fn cut(&mut self, from: &[usize], to: &[usize]) {
        for &a in from {
            for &b in to {
                if a != b {
                    self.cut.insert((a, b));
                }
            }
        }
    }

    /// Restores every link.
    pub(crate) fn heal(&mut self) {
        self.cut.clear();
    }

    pub(crate) fn is_cut(&self, from: usize, to: usize) -> bool {
        self.cut.contains(&(from, to))
    }

    /// Decides the fate of a datagram from `from` to `to`.
    pub(crate) fn route(&self, from: usize, to: usize, rng: &mut StdRng) -> Fate {
        if self.is_cut(from, to) {
            return Fate::Blocked;
        }
        if self.faults.loss > 0.0 && rng.random_bool(self.faults.loss.clamp(0.0, 1.0)) {
            return Fate::Lost;
        }
        let copies = if self.faults.duplicate > 0.0
            && rng.random_bool(self.faults.duplicate.clamp(0.0, 1.0))
        {
            2
        } else {
            1
        };
        let (lo, hi) = (
            self.faults.min_delay,
            self.faults.max_delay.max(self.faults.min_delay),
        );
        Fate::Delivered(
            (0..copies)
                .map(|_| {
                    if lo == hi {
                        lo
                    } else {
                        rng.random_range(lo..=hi)
                    }
                })
                .collect(),
        )
    }
}
