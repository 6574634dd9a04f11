//! A voter's promises and leases for one role (DESIGN sections 3 and 4).
//!
//! Invariants:
//! - `promised` only grows; a vote is granted only to a ballot above it (or equal to it,
//!   for the same candidate asking again);
//! - while a lease for one holder is unexpired, no other candidate gets a vote or a
//!   renewal: this is what makes the holder's own, shorter lease safe;
//! - during its quiet time after start (one lease), the voter grants nothing, since it
//!   has forgotten which leases it granted before it restarted;
//! - a recalled term is never renewed again.

use std::time::{Duration, Instant};

use crate::clock::LamportTime;
use crate::identity::NodeName;
use crate::wire::{Ballot, Tenure};

/// A lease this voter granted or renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) holder: NodeName,
    pub(crate) term: LamportTime,
    /// Local time the lease ends.
    pub(crate) until: Instant,
}

impl Lease {
    pub(crate) fn tenure(&self) -> Tenure {
        Tenure {
            holder: self.holder.clone(),
            term: self.term,
        }
    }
}

/// Why a vote was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The voter started less than a lease ago; it may vote after `retry_after`.
    Quiet { retry_after: Duration },
    /// Another holder's lease runs for `retry_after` more.
    Leased {
        tenure: Tenure,
        retry_after: Duration,
    },
    /// The voter promised a higher ballot; only a higher term can win it.
    Promised,
}

/// One voter's state for one role.
#[derive(Debug, Clone, Default)]
pub(crate) struct Voter {
    pub(crate) promised: Option<Ballot>,
    pub(crate) lease: Option<Lease>,
    /// Renewals of this term and below are refused (set by a recall).
    pub(crate) recalled_through: Option<LamportTime>,
}

impl Voter {
    /// The lease, if it has not run out at `now`.
    pub(crate) fn live_lease(&self, now: Instant) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.until > now)
    }

    fn admits(&self, ballot: &Ballot) -> bool {
        match &self.promised {
            None => true,
            Some(p) => ballot.term > p.term || ballot == p,
        }
    }

    /// Answers a vote request; a granted vote is also the first lease.
    pub(crate) fn vote(
        &mut self,
        now: Instant,
        ballot: &Ballot,
        lease: Duration,
        quiet_until: Instant,
    ) -> Result<(), Refusal> {
        if now < quiet_until {
            return Err(Refusal::Quiet {
                retry_after: quiet_until - now,
            });
        }
        if let Some(l) = self.live_lease(now)
            && l.holder != ballot.candidate
        {
            return Err(Refusal::Leased {
                tenure: l.tenure(),
                retry_after: l.until - now,
            });
        }
        if !self.admits(ballot) {
            return Err(Refusal::Promised);
        }
        self.promised = Some(ballot.clone());
        self.lease = Some(Lease {
            holder: ballot.candidate.clone(),
            term: ballot.term,
            until: now + lease,
        });
        Ok(())
    }

    /// Answers a renewal from `holder` at `term`; true if the lease was extended. A voter
    /// that promised nothing higher acknowledges, which is how newcomers join a lease.
    pub(crate) fn renew(
        &mut self,
        now: Instant,
        holder: &NodeName,
        term: LamportTime,
        lease: Duration,
        quiet_until: Instant,
    ) -> bool {
        let ballot = Ballot {
            term,
            candidate: holder.clone(),
        };
        let other_lease = self.live_lease(now).is_some_and(|l| l.holder != *holder);
        if now < quiet_until
            || other_lease
            || !self.admits(&ballot)
            || self.recalled_through.is_some_and(|r| term <= r)
        {
            return false;
        }
        self.promised = Some(ballot);
        self.lease = Some(Lease {
            holder: holder.clone(),
            term,
            until: now + lease,
        });
        true
    }

    /// Drops the lease of `holder` at `term`, if that is the one held.
    pub(crate) fn release(&mut self, holder: &NodeName, term: LamportTime) -> bool {
        let matches = self
            .lease
            .as_ref()
            .is_some_and(|l| l.holder == *holder && l.term == term);
        if matches {
            self.lease = None;
        }
        matches
    }

    /// Stops renewing everything promised so far; returns the live lease it affects.
    /// The lease itself runs to its end, since its holder may not hear of the recall.
    pub(crate) fn recall(&mut self, now: Instant) -> Option<Tenure> {
        let highest = self.promised.as_ref().map(|p| p.term);
        self.recalled_through = self.recalled_through.max(highest);
        self.live_lease(now).map(Lease::tenure)
    }

    /// Whether the live lease has been recalled.
    pub(crate) fn is_recalled(&self, now: Instant) -> bool {
        self.live_lease(now)
            .is_some_and(|l| self.recalled_through.is_some_and(|r| l.term <= r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(1500);

    fn name(n: &str) -> NodeName {
        NodeName::new(n).unwrap()
    }

    fn ballot(term: u64, candidate: &str) -> Ballot {
        Ballot {
            term: LamportTime(term),
            candidate: name(candidate),
        }
    }

    #[test]
    fn a_vote_is_the_first_lease_and_blocks_other_candidates_until_it_ends() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0), Ok(()));
        let refusal = v.vote(t0 + Duration::from_millis(500), &ballot(11, "b"), LEASE, t0);
        assert_eq!(
            refusal,
            Err(Refusal::Leased {
                tenure: Tenure {
                    holder: name("a"),
                    term: LamportTime(10)
                },
                retry_after: Duration::from_millis(1000)
            })
        );
        assert_eq!(v.vote(t0 + LEASE, &ballot(11, "b"), LEASE, t0), Ok(()));
    }

    #[test]
    fn lower_ballots_are_refused_and_the_same_ballot_is_granted_again() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0), Ok(()));
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0), Ok(()));
        let later = t0 + LEASE;
        assert_eq!(
            v.vote(later, &ballot(9, "b"), LEASE, t0),
            Err(Refusal::Promised)
        );
        assert_eq!(
            v.vote(later, &ballot(10, "b"), LEASE, t0),
            Err(Refusal::Promised)
        );
    }

    #[test]
    fn a_fresh_voter_grants_nothing_during_its_quiet_time() {
        let t0 = Instant::now();
        let quiet = t0 + LEASE;
        let mut v = Voter::default();
        assert_eq!(
            v.vote(t0, &ballot(10, "a"), LEASE, quiet),
            Err(Refusal::Quiet { retry_after: LEASE })
        );
        assert!(!v.renew(t0, &name("a"), LamportTime(10), LEASE, quiet));
        assert_eq!(v.vote(quiet, &ballot(10, "a"), LEASE, quiet), Ok(()));
    }

    #[test]
    fn renewals_extend_the_holder_and_refuse_rivals_and_stale_terms() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let a = name("a");
        assert!(
            v.renew(t0, &a, LamportTime(10), LEASE, t0),
            "a newcomer joins a lease"
        );
        assert!(v.renew(t0 + LEASE / 2, &a, LamportTime(10), LEASE, t0));
        assert_eq!(
            v.live_lease(t0 + LEASE).map(|l| l.term),
            Some(LamportTime(10))
        );
        assert!(!v.renew(t0 + LEASE, &name("b"), LamportTime(20), LEASE, t0));
        let after = t0 + 2 * LEASE;
        assert_eq!(v.vote(after, &ballot(30, "b"), LEASE, t0), Ok(()));
        assert!(!v.renew(after + 2 * LEASE, &a, LamportTime(10), LEASE, t0));
    }

    #[test]
    fn a_recall_stops_renewals_but_not_the_running_lease() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let a = name("a");
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0), Ok(()));
        assert_eq!(v.recall(t0).map(|t| t.term), Some(LamportTime(10)));
        assert!(v.is_recalled(t0));
        assert!(!v.renew(t0, &a, LamportTime(10), LEASE, t0));
        assert!(
            v.vote(t0, &ballot(11, "b"), LEASE, t0).is_err(),
            "lease still runs"
        );
        assert_eq!(v.vote(t0 + LEASE, &ballot(11, "b"), LEASE, t0), Ok(()));
    }

    #[test]
    fn a_release_drops_only_the_named_lease() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0), Ok(()));
        assert!(!v.release(&name("a"), LamportTime(9)));
        assert!(!v.release(&name("b"), LamportTime(10)));
        assert!(v.release(&name("a"), LamportTime(10)));
        assert_eq!(v.vote(t0, &ballot(11, "b"), LEASE, t0), Ok(()));
    }
}
