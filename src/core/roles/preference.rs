//! Preferred holders (client-go's `preferredHolder`, etcd's election priorities): a
//! candidate campaigns with a priority, carried in its vote requests; a holder that has
//! seen a candidate of a higher priority than its own ask without a pause for
//! [`crate::Config::preference_delay`] hands the role to it by a transfer.
//!
//! Priority 0, the default, is no preference: nothing here moves a role unless some
//! candidate asks for more. A candidate that stops asking for more than two leases (it
//! crashed, flaps, or was cut off) starts its wait again, so a flapping node does not
//! bounce the role. The handover is a [`super::transfer`], with everything that keeps
//! it safe.

use std::time::{Duration, Instant};

use super::campaign::rank_key;
use super::{Ctx, Outbox, Roles};
use crate::core::membership::MemberStatus;
use crate::identity::{NodeName, RoleName};

/// How a candidate has asked a holder for a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiting {
    /// When it last asked.
    pub(crate) last: Instant,
    /// Since when it has asked without a gap of more than two leases.
    since: Instant,
    /// The priority its last request carried.
    priority: u32,
}

impl Waiting {
    pub(crate) fn new(now: Instant, priority: u32) -> Self {
        Waiting {
            last: now,
            since: now,
            priority,
        }
    }

    /// It asked again at `now`; a gap longer than `gap` since the last time starts its
    /// streak again.
    pub(crate) fn again(&mut self, now: Instant, priority: u32, gap: Duration) {
        if now.saturating_duration_since(self.last) > gap {
            self.since = now;
        }
        self.last = now;
        self.priority = priority;
    }

    /// Whether, at `now`, it has asked for more than `mine` for `delay` without a gap of
    /// more than `gap`.
    fn preferred(&self, now: Instant, mine: u32, delay: Duration, gap: Duration) -> bool {
        self.priority > mine
            && now.saturating_duration_since(self.last) <= gap
            && now.saturating_duration_since(self.since) >= delay
    }
}

impl Roles {
    /// Hands each held role a preferred candidate has waited for long enough to the one
    /// of the highest priority (then the first in the role's order), unless a transfer
    /// of that role is under way. Only roles some candidate asked more for are looked at.
    pub(super) fn prefer(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        let gap = ctx.config.successor_window();
        let delay = ctx.config.preference_delay;
        let now = ctx.now;
        let roles: Vec<RoleName> = self.preferred.iter().cloned().collect();
        for role in roles {
            let Some(held) = self.held.get(&role) else {
                self.preferred.remove(&role);
                continue;
            };
            let best = held
                .waiting
                .iter()
                .filter(|(name, asked)| {
                    asked.preferred(now, held.priority, delay, gap)
                        && ctx.membership.lookup(name).is_some_and(|(_, status)| {
                            matches!(status, MemberStatus::Alive | MemberStatus::Suspect)
                        })
                })
                .max_by_key(|(name, asked)| {
                    (asked.priority, std::cmp::Reverse(rank_key(&role, name)))
                })
                .map(|(name, _)| name.clone());
            let moving = self.transfers_of(&role);
            if let (Some(to), false) = (best, moving) {
                tracing::info!(%role, %to, "handing the role to a preferred candidate");
                self.transfer(ctx, out, role, &to);
            }
        }
    }

    /// Notes that `candidate` asked for a vote for `role`, held here, with `priority`.
    pub(super) fn candidate_asked(
        &mut self,
        ctx: &Ctx<'_>,
        role: &RoleName,
        candidate: &NodeName,
        priority: u32,
    ) {
        let Some(held) = self.held.get_mut(role) else {
            return;
        };
        held.candidate_asked(candidate, ctx.now, priority, ctx.config.successor_window());
        if priority > held.priority {
            self.preferred.insert(role.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_candidate_is_preferred_only_after_asking_for_the_delay_without_a_pause() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let (delay, gap) = (3 * s, 2 * s);
        let mut asked = Waiting::new(t0, 5);
        for i in 1..=3 {
            asked.again(t0 + i * s, 5, gap);
        }
        assert!(asked.preferred(t0 + 3 * s, 0, delay, gap));
        assert!(
            !asked.preferred(t0 + 3 * s, 5, delay, gap),
            "equal priorities stay"
        );
        assert!(
            !asked.preferred(t0 + 6 * s, 0, delay, gap),
            "silent too long"
        );
        // A pause longer than the gap starts the wait again.
        asked.again(t0 + 6 * s, 5, gap);
        assert!(!asked.preferred(t0 + 7 * s, 0, delay, gap));
        asked.again(t0 + 8 * s, 5, gap);
        asked.again(t0 + 9 * s, 5, gap);
        assert!(asked.preferred(t0 + 9 * s, 0, delay, gap));
    }
}
