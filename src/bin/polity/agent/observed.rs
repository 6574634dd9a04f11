//! What the agent observes of its node for `/v1/metrics`, beyond the core's own counters:
//! elections asked of the API, roles gained and lost, early warnings, membership changes,
//! and, as this node saw them, how long a role went without a holder after its holder was
//! lost (failover) and how long this node's resignation took to hand a role over
//! (handoff).
//!
//! Invariants: memory stays bounded whatever the cluster does. One entry per role shown
//! held (gone once it is shown vacant), and at most [`MAX_PENDING`] losses waiting for
//! the next holder, each dropped after [`PENDING_HORIZON`].

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use polity::{Event, Histogram, LamportTime, LossReason, NodeName, RoleName, RoleState};

/// Losses of a holder followed at once, waiting for the next holder: past this, a loss
/// goes unmeasured (a failover of more roles at once than this is measured in part).
pub const MAX_PENDING: usize = 256;

/// A loss with no next holder after this much time is no longer followed: the role was
/// given up for good, or forgotten.
pub const PENDING_HORIZON: Duration = Duration::from_secs(300);

/// The reasons a role is lost, in the order metrics list them.
pub const LOSS_REASONS: [(LossReason, &str); 4] = [
    (LossReason::Resigned, "resigned"),
    (LossReason::LeaseExpired, "lease_expired"),
    (LossReason::Recalled, "recalled"),
    (LossReason::Superseded, "superseded"),
];

/// The kinds of membership change, in the order metrics list them.
pub const MEMBERSHIP_KINDS: [&str; 5] = ["up", "down", "left", "reaped", "rejoined"];

/// How an election asked of the API ended.
#[derive(Debug, Clone, Copy)]
pub enum ElectionOutcome {
    /// The agent's node holds the role.
    Won,
    /// Another node holds it.
    Lost,
    /// No answer: too few members, not joined yet, timed out, cancelled.
    Failed,
}

/// Everything observed, behind one lock: events come from one task, API elections from
/// handlers, reads from scrapes.
#[derive(Debug, Default)]
pub struct Observed {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    counts: Counts,
    /// The holder and term of each role shown held.
    shown: BTreeMap<RoleName, (NodeName, LamportTime)>,
    pending: BTreeMap<RoleName, Loss>,
}

/// The figures themselves.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// API elections: won, lost, failed.
    pub elections: [u64; 3],
    pub roles_acquired: u64,
    /// By [`LOSS_REASONS`].
    pub roles_lost: [u64; 4],
    pub at_risk: u64,
    /// By [`MEMBERSHIP_KINDS`].
    pub membership: [u64; 5],
    pub failover: Histogram,
    pub handoff: Histogram,
}

/// A holder's loss this node saw, waiting for the next holder.
#[derive(Debug, Clone)]
struct Loss {
    since: Instant,
    /// The term lost: the same term shown again is no new holder.
    term: LamportTime,
    /// This node resigned it: a handoff.
    resigned: bool,
}

impl Observed {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counts that are still counts.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the figures, for a scrape.
    pub fn counts(&self) -> Counts {
        self.lock().counts.clone()
    }

    /// Counts an election asked of the API.
    pub fn election(&self, outcome: ElectionOutcome) {
        self.lock().counts.elections[outcome as usize] += 1;
    }

    /// Takes in one of the node's events, seen at `now`.
    pub fn event(&self, event: &Event, now: Instant) {
        let mut inner = self.lock();
        match event {
            Event::MemberUp(_) => inner.counts.membership[0] += 1,
            Event::MemberDown(id) | Event::MemberLeft(id) => {
                let left = matches!(event, Event::MemberLeft(_));
                inner.counts.membership[if left { 2 } else { 1 }] += 1;
                // Every role it held is lost from now, whenever views show it.
                let lost: Vec<(RoleName, LamportTime)> = inner
                    .shown
                    .iter()
                    .filter(|(_, (holder, _))| holder == id.name())
                    .map(|(role, (_, term))| (role.clone(), *term))
                    .collect();
                for (role, term) in lost {
                    inner.lost(role, term, false, now);
                }
            }
            Event::MemberReaped(_) => inner.counts.membership[3] += 1,
            Event::Rejoined(_) => inner.counts.membership[4] += 1,
            Event::RoleAcquired { .. } => inner.counts.roles_acquired += 1,
            Event::RoleAtRisk { .. } => inner.counts.at_risk += 1,
            Event::RoleLost { role, term, reason } => {
                if let Some(at) = LOSS_REASONS.iter().position(|(r, _)| r == reason) {
                    inner.counts.roles_lost[at] += 1;
                }
                let resigned = *reason == LossReason::Resigned;
                inner.lost(role.clone(), *term, resigned, now);
            }
            Event::RoleChanged { role, state } => match state {
                RoleState::Held { holder, term, .. } => inner.held(role, holder, *term, now),
                RoleState::Vacant => {
                    if let Some((_, term)) = inner.shown.remove(role) {
                        inner.lost(role.clone(), term, false, now);
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
}

impl Inner {
    /// `role`'s holder at `term` was lost at `now` (`resigned`: by this node's own
    /// resignation). The first sign counts, except that a resignation is a handoff.
    fn lost(&mut self, role: RoleName, term: LamportTime, resigned: bool, now: Instant) {
        if let Some(loss) = self.pending.get_mut(&role) {
            if resigned && loss.term == term {
                loss.resigned = true;
            }
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending
                .retain(|_, loss| now.saturating_duration_since(loss.since) < PENDING_HORIZON);
        }
        if self.pending.len() < MAX_PENDING {
            let loss = Loss {
                since: now,
                term,
                resigned,
            };
            self.pending.insert(role, loss);
        }
    }

    /// This node's view shows `holder` holding `role` at `term`, from `now`.
    fn held(&mut self, role: &RoleName, holder: &NodeName, term: LamportTime, now: Instant) {
        if let Some(loss) = self.pending.remove(role)
            && term > loss.term
        {
            let took = now.saturating_duration_since(loss.since);
            if took < PENDING_HORIZON {
                let histogram = if loss.resigned {
                    &mut self.counts.handoff
                } else {
                    &mut self.counts.failover
                };
                histogram.observe(took);
            }
        }
        self.shown.insert(role.clone(), (holder.clone(), term));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polity::{NodeId, RoleValue};

    fn name(s: &str) -> NodeName {
        NodeName::new(s).unwrap()
    }

    fn shown(role: &RoleName, holder: &str, term: u64) -> Event {
        Event::RoleChanged {
            role: role.clone(),
            state: RoleState::Held {
                holder: name(holder),
                term: LamportTime(term),
                value: RoleValue::EMPTY,
            },
        }
    }

    fn vacant(role: &RoleName) -> Event {
        Event::RoleChanged {
            role: role.clone(),
            state: RoleState::Vacant,
        }
    }

    #[test]
    fn a_failover_counts_from_the_holder_going_down_to_the_next_holder() {
        let observed = Observed::default();
        let role = RoleName::new("scheduler").unwrap();
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        observed.event(&shown(&role, "a", 5), t0);
        let a = NodeId::new(name("a"), "127.0.0.1:1".parse().unwrap(), 1);
        observed.event(&Event::MemberDown(a), t0 + second);
        observed.event(&vacant(&role), t0 + 2 * second);
        observed.event(&shown(&role, "b", 9), t0 + 3 * second);
        let counts = observed.counts();
        assert_eq!(counts.failover.count(), 1);
        assert!(
            (counts.failover.sum_seconds() - 2.0).abs() < 1e-6,
            "from the down"
        );
        assert_eq!(counts.handoff.count(), 0);
        assert_eq!(counts.membership, [0, 1, 0, 0, 0]);
    }

    #[test]
    fn the_same_tenure_shown_again_is_no_failover_and_a_resignation_is_a_handoff() {
        let observed = Observed::default();
        let role = RoleName::new("scheduler").unwrap();
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        observed.event(&shown(&role, "a", 5), t0);
        observed.event(&vacant(&role), t0 + ms);
        observed.event(&shown(&role, "a", 5), t0 + 2 * ms);
        assert_eq!(observed.counts().failover.count(), 0, "a lapse shown again");

        observed.event(&vacant(&role), t0 + 3 * ms);
        let resigned = Event::RoleLost {
            role: role.clone(),
            term: LamportTime(5),
            reason: LossReason::Resigned,
        };
        observed.event(&resigned, t0 + 3 * ms);
        observed.event(&shown(&role, "b", 7), t0 + 10 * ms);
        let counts = observed.counts();
        assert_eq!((counts.failover.count(), counts.handoff.count()), (0, 1));
        assert_eq!(counts.roles_lost, [1, 0, 0, 0]);
    }

    #[test]
    fn losses_never_followed_stay_bounded() {
        let observed = Observed::default();
        let t0 = Instant::now();
        for i in 0..(MAX_PENDING * 4) {
            let role = RoleName::new(format!("job-{i}")).unwrap();
            observed.event(&shown(&role, "a", 5), t0);
            observed.event(&vacant(&role), t0);
        }
        let inner = observed.lock();
        assert_eq!(inner.pending.len(), MAX_PENDING);
        assert!(inner.shown.is_empty());
    }
}
