//! Who is waiting for a role here, and when to try again.

use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;

use super::RequestId;

/// Someone waiting for an election's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// `elect`: one election, retried only while the obstacles pass, until `deadline`;
    /// it gives up at once when another node holds the role.
    Elect { id: RequestId, deadline: Instant },
    /// `campaign`: keeps trying until it holds the role or is cancelled.
    Campaign { id: RequestId },
}

impl Waiter {
    pub(crate) fn id(&self) -> RequestId {
        match self {
            Waiter::Elect { id, .. } | Waiter::Campaign { id } => *id,
        }
    }
}

/// The wish of this node to hold one role.
#[derive(Debug, Default)]
pub(crate) struct Campaign {
    pub(crate) waiters: Vec<Waiter>,
    /// Consecutive lost elections, for the backoff.
    pub(crate) attempt: u32,
    /// Only the retry timer carrying this token is current.
    pub(crate) token: u64,
}

/// A random delay in `[0, max)`.
pub(crate) fn jitter(rng: &mut StdRng, max: Duration) -> Duration {
    if max.is_zero() {
        Duration::ZERO
    } else {
        rng.random_range(Duration::ZERO..max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn jitter_stays_below_its_bound() {
        let mut rng = StdRng::seed_from_u64(1);
        let max = Duration::from_millis(10);
        assert!((0..1000).all(|_| jitter(&mut rng, max) < max));
        assert_eq!(jitter(&mut rng, Duration::ZERO), Duration::ZERO);
    }
}
