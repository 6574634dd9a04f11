//! Who is waiting for a role here, and when to try again: after a lost election, or in
//! turn, in an order every node agrees on, when a contest for the role opens.

use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;

use super::{Ctx, Outbox, RequestId, Roles};
use crate::identity::{NodeName, RoleName};

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
fn jitter(rng: &mut StdRng, max: Duration) -> Duration {
    if max.is_zero() {
        Duration::ZERO
    } else {
        rng.random_range(Duration::ZERO..max)
    }
}

impl Roles {
    /// A new contest for `role` begins (the holder resigned or went quiet): waiting
    /// candidates start again from the shortest backoff, each after `step` times its
    /// rank among the live voters (plus up to one `step` at random). The order comes from
    /// a hash of the role and the names, the same on every node, so that one candidate
    /// usually asks first and the others vote for it instead of splitting the vote; each
    /// role orders the nodes differently, which spreads the roles. A `successor` the
    /// holder named asks at once, and the others wait one more round trip's worth
    /// (`election_timeout / 30`) on top of their turn, in case it is gone.
    pub(super) fn contest_opens(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        step: Duration,
        successor: Option<&NodeName>,
    ) {
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        campaign.attempt = 0;
        if self.elections.contains_key(role) || self.held.contains_key(role) {
            return;
        }
        let wait = match successor {
            Some(name) if name == ctx.me.name() => Duration::ZERO,
            Some(_) => ctx.config.retry_step() + self.turn(ctx, role, step),
            None => self.turn(ctx, role, step),
        };
        self.schedule_retry(ctx, out, role, wait);
    }

    /// How long this node waits for its turn in a contest for `role`: `step` times the
    /// number of live voters ranked before it, plus up to one `step` at random.
    pub(super) fn turn(&mut self, ctx: &Ctx<'_>, role: &RoleName, step: Duration) -> Duration {
        let mine = rank_key(role, ctx.me.name());
        let ahead = ctx
            .live_voters()
            .iter()
            .filter(|id| rank_key(role, id.name()) < mine)
            .count();
        let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
        step.saturating_mul(ahead) + jitter(&mut self.rng, step)
    }
}

/// A node's place in the order in which candidates go first for `role`.
pub(crate) fn rank_key(role: &RoleName, name: &NodeName) -> (u64, NodeName) {
    let bytes = role
        .as_str()
        .bytes()
        .chain([0])
        .chain(name.as_str().bytes());
    let hash = bytes.fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash, name.clone())
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
