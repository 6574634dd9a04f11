//! A seed's own sequence of random draws, for scenarios that pick faults, nodes and
//! delays from their seed (xorshift64): the same seed, the same schedule.

use std::time::Duration;

use super::Sim;

/// A seed's sequence of draws (xorshift64).
#[derive(Debug, Clone)]
pub struct Draws(u64);

impl Draws {
    /// The draws of `seed`.
    pub fn new(seed: u64) -> Self {
        Draws(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next draw, any `u64` but 0.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (`n` above 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One of `sim`'s nodes.
    pub fn node(&mut self, sim: &Sim) -> usize {
        usize::try_from(self.below(sim.len() as u64)).unwrap_or(0)
    }

    /// A duration of 0 to `max` whole milliseconds.
    pub fn millis(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
