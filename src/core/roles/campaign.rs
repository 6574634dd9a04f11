//! Campaigns: who is waiting for a role here (`elect` and `campaign` requests), when to
//! try again (after a lost election, or in turn, in an order every node agrees on, when
//! a contest for the role opens), and completing or cancelling the waiters.

use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;

use super::{Completion, Ctx, Outbox, RequestId, RoleError, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeName, RoleName};
use crate::role_value::RoleValue;

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
    /// The value to publish on winning: the one the latest request that gave one gave.
    pub(crate) value: RoleValue,
    /// Consecutive lost elections, for the backoff.
    pub(crate) attempt: u32,
    /// The priority its vote requests carry ([`super::preference`]): the one the latest
    /// request that gave one gave; 0 is none.
    pub(crate) priority: u32,
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
    /// (`election_timeout / 30`) on top of their turn, in case it is gone; a whole
    /// election timeout if it is a `transfer`'s target, for which the voters keep their
    /// votes that long.
    pub(super) fn contest_opens(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        step: Duration,
        successor: Option<&NodeName>,
        transfer: bool,
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
            Some(_) if transfer => ctx.config.election_timeout + self.turn(ctx, role, step),
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

    /// Starts one election (`elect`) or a campaign for `role`.
    pub(crate) fn want(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: RoleName,
        persist: bool,
        value: RoleValue,
        priority: u32,
    ) -> RequestId {
        let id = self.next_request();
        if let Err(too_large) = value.within(ctx.config.max_value_len()) {
            out.completions.push(Completion::Elect {
                id,
                role,
                result: Err(too_large.into()),
            });
            return id;
        }
        if let Some(held) = self.held.get_mut(&role).filter(|_| priority > 0) {
            held.priority = priority;
        }
        if let Some((term, published)) = self.held.get(&role).map(|h| (h.term, h.value == value)) {
            // Already held: a value given replaces the one published, a priority given
            // the one it was won with.
            if !value.is_empty() && !published {
                let _ = self.proclaim(ctx, out, &role, value);
            }
            out.completions.push(Completion::Elect {
                id,
                role,
                result: Ok(term),
            });
            return id;
        }
        let waiter = if persist {
            Waiter::Campaign { id }
        } else {
            let deadline =
                ctx.now + ctx.config.lease.saturating_mul(2) + ctx.config.election_timeout;
            out.timers.push((deadline, RoleTimer::RequestTimeout(id)));
            Waiter::Elect { id, deadline }
        };
        let campaign = self.campaigns.entry(role.clone()).or_default();
        campaign.waiters.push(waiter);
        if !value.is_empty() {
            campaign.value = value;
        }
        if priority > 0 {
            campaign.priority = priority;
        }
        self.try_elect(ctx, out, &role);
        id
    }

    /// Withdraws a request; an `elect` or `campaign` completes with `Cancelled`.
    pub(crate) fn cancel(&mut self, out: &mut Outbox, id: RequestId) {
        let mut emptied = None;
        for (role, campaign) in &mut self.campaigns {
            if let Some(at) = campaign.waiters.iter().position(|w| w.id() == id) {
                campaign.waiters.remove(at);
                out.completions.push(Completion::Elect {
                    id,
                    role: role.clone(),
                    result: Err(RoleError::Cancelled),
                });
                if campaign.waiters.is_empty() {
                    emptied = Some(role.clone());
                }
                break;
            }
        }
        if let Some(role) = emptied {
            self.campaigns.remove(&role);
        }
        if let Some(request) = self.requests.remove(&id) {
            out.completions.push(request.fail(id, RoleError::Cancelled));
        }
        self.cancel_transfer(out, id);
    }

    pub(super) fn schedule_retry(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        wait: Duration,
    ) {
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        campaign.token += 1;
        out.timers.push((
            ctx.now + wait,
            RoleTimer::Retry(role.clone(), campaign.token),
        ));
    }

    /// Completes every waiter of `role` for which `outcome` gives a result; drops the
    /// campaign once nobody waits.
    pub(super) fn complete_all(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        outcome: impl Fn(&Waiter) -> Option<Result<LamportTime, RoleError>>,
    ) {
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        campaign.waiters.retain(|waiter| match outcome(waiter) {
            Some(result) => {
                out.completions.push(Completion::Elect {
                    id: waiter.id(),
                    role: role.clone(),
                    result,
                });
                false
            }
            None => true,
        });
        if campaign.waiters.is_empty() {
            self.campaigns.remove(role);
        }
    }

    /// A campaign's retry came due: try again, unless the campaign moved on since.
    pub(super) fn retry(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        token: u64,
    ) {
        if self.campaigns.get(role).is_some_and(|c| c.token == token) {
            self.try_elect(ctx, out, role);
        }
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
