//! Forgetting roles nothing depends on any more, so that a node's state follows the
//! roles in use, not every role ever named (`docs/design/forgetting-and-sessions.md`).
//!
//! Invariants:
//! - only a role this node neither holds, seeks, asks about nor has a lease for is
//!   forgotten, and only after its voter entry and its vacant view have stayed unchanged
//!   for [`crate::Config::forget_after`];
//! - a forgotten voter's promise and closed terms fold into `term_floor`: no vote is
//!   granted at or below them for any role (S2 with O(1) memory). This node's clock has
//!   witnessed every one of those terms, so a candidate refused for them picks a higher
//!   term next, which passes;
//! - a forgotten view's term folds into `view_floor`: an announcement about a role with
//!   no view applies only above it, so a late announcement never moves a view back (S5).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::Roles;
use crate::clock::LamportTime;
use crate::identity::RoleName;

/// Since when a value has stayed the same, as seen by the sweeps.
#[derive(Debug, Clone)]
pub(crate) struct Unchanged<K> {
    since: Option<(K, Instant)>,
}

impl<K> Default for Unchanged<K> {
    fn default() -> Self {
        Unchanged { since: None }
    }
}

impl<K: PartialEq> Unchanged<K> {
    /// How long `key` has been the same at every sweep up to `now` (zero if it changed).
    pub(super) fn for_how_long(&mut self, key: K, now: Instant) -> Duration {
        match &self.since {
            Some((seen, at)) if *seen == key => now.saturating_duration_since(*at),
            _ => {
                self.since = Some((key, now));
                Duration::ZERO
            }
        }
    }
}

/// What a sweep forgot.
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    /// Roles whose views were dropped: the gossip layer forgets them too.
    pub(crate) views: Vec<RoleName>,
}

impl Roles {
    /// Drops the voter entries and vacant views that have stayed unchanged for
    /// `forget_after` and that nothing here uses; runs at most every `forget_after / 2`.
    pub(crate) fn forget(&mut self, now: Instant, forget_after: Duration) -> Forgotten {
        let mut forgotten = Forgotten::default();
        if self.next_forget.is_some_and(|at| now < at) {
            return forgotten;
        }
        self.next_forget = Some(now + forget_after / 2);
        // Asked about (a voter entry waiting for a lease check is never forgettable).
        let busy: BTreeSet<RoleName> = self.requests.values().map(|r| r.role.clone()).collect();

        for role in self.voters.forgettable(now, forget_after) {
            if self.in_use(&role, &busy) {
                continue;
            }
            if let Some(voter) = self.voters.forget(&role) {
                self.term_floor = self.term_floor.max(voter.highest_term());
            }
        }

        let mut stale_views = Vec::new();
        for (role, view) in &mut self.views {
            let key = view.forget_key();
            let quiet = view.unchanged.for_how_long(key, now);
            if view.is_vacant() && quiet >= forget_after {
                stale_views.push(role.clone());
            }
        }
        for role in stale_views {
            if self.in_use(&role, &busy) {
                continue;
            }
            if let Some(view) = self.views.remove(&role) {
                self.view_floor = self.view_floor.max(view.seen_through());
                forgotten.views.push(role);
            }
        }
        forgotten
    }

    /// Whether anything on this node still uses `role`: held, sought, or in `busy`.
    fn in_use(&self, role: &RoleName, busy: &BTreeSet<RoleName>) -> bool {
        self.held.contains_key(role)
            || self.elections.contains_key(role)
            || self.campaigns.contains_key(role)
            || busy.contains(role)
    }

    /// Whether an announcement about `role` at `term` is older than what this node may
    /// have forgotten about it.
    pub(super) fn below_view_floor(&self, role: &RoleName, term: LamportTime) -> bool {
        term <= self.view_floor && !self.views.contains_key(role)
    }

    /// Below which term announcements of roles this node has no view of are ignored, to
    /// keep across a restart.
    pub(crate) fn view_floor(&self) -> LamportTime {
        self.view_floor
    }

    /// Raises the view floor after a restart; see [`Roles::view_floor`].
    pub(crate) fn remember_view_floor(&mut self, floor: LamportTime) {
        self.view_floor = self.view_floor.max(floor);
    }

    /// How many roles this node keeps voter entries and views for.
    #[cfg(feature = "sim")]
    pub(crate) fn entries(&self) -> (usize, usize) {
        (self.voters.len(), self.views.len())
    }
}
