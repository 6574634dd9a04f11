//! A voter's promises and leases for one role (DESIGN sections 3 and 4).
//!
//! Invariants:
//! - `promised` only grows; a vote is granted only to a ballot above it (or equal to it,
//!   for the same candidate asking again);
//! - while a lease for one holder is unexpired, no other candidate gets a vote or a
//!   renewal: this is what makes the holder's own, shorter lease safe;
//! - during its quiet time after start (one lease), the voter grants nothing, since it
//!   has forgotten which leases it granted before it restarted;
//! - a recalled or released term is never renewed again, nor a term older than one
//!   already renewed;
//! - a withdrawal drops the withdrawn ballot's unconfirmed vote but never the promise:
//!   a promise that went back could let a ballot below a term that already won be
//!   granted, and fencing terms would then fall.

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
    /// Whether the holder has renewed it, so it is known to have won; a vote not yet
    /// renewed may belong to a candidate that is about to lose.
    pub(crate) confirmed: bool,
}

impl Lease {
    /// Whether this lease, while it runs, lets `holder` at `term` take its place: only
    /// the same holder at the same or a later term. Each of a holder's terms relies on
    /// its own leases, so a lease for a later term is never traded for an earlier one
    /// (a renewal of a term the holder gave up, still on its way, would otherwise
    /// replace the vote for its next election, and the release of the old term would
    /// then drop that vote while the election counts it).
    fn admits(&self, holder: &NodeName, term: LamportTime) -> bool {
        self.holder == *holder && term >= self.term
    }

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
    /// Something that passes: the voter's quiet time after start, or a vote for another
    /// candidate whose election is still undecided. Worth asking again after
    /// `retry_after`.
    Busy { retry_after: Duration },
    /// A confirmed holder's lease runs for `retry_after` more.
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
    /// Renewals of this term and below are refused: it was recalled, or its holder gave
    /// it up (a renewal sent before a release can arrive after it).
    pub(crate) closed_through: Option<LamportTime>,
    /// The highest term this voter has renewed: renewals of older terms come from a
    /// holder that was already replaced, and are refused.
    confirmed_through: Option<LamportTime>,
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

    /// Answers a vote request; a granted vote is also the first lease. `undecided` is
    /// how long a candidate asking while another's vote is unconfirmed should wait.
    pub(crate) fn vote(
        &mut self,
        now: Instant,
        ballot: &Ballot,
        lease: Duration,
        quiet_until: Instant,
        undecided: Duration,
    ) -> Result<(), Refusal> {
        if now < quiet_until {
            return Err(Refusal::Busy {
                retry_after: quiet_until - now,
            });
        }
        if let Some(l) = self.live_lease(now)
            && !l.admits(&ballot.candidate, ballot.term)
        {
            let remaining = l.until - now;
            return Err(if l.confirmed {
                Refusal::Leased {
                    tenure: l.tenure(),
                    retry_after: remaining,
                }
            } else {
                Refusal::Busy {
                    retry_after: remaining.min(undecided),
                }
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
            confirmed: false,
        });
        Ok(())
    }

    /// Answers a renewal from `holder` at `term`; true if the lease was extended. A voter
    /// holding no other holder's lease acknowledges, which is how newcomers join a lease,
    /// unless the term was recalled or released, or is older than one it renewed.
    pub(crate) fn renew(
        &mut self,
        now: Instant,
        holder: &NodeName,
        term: LamportTime,
        lease: Duration,
    ) -> bool {
        let ballot = Ballot {
            term,
            candidate: holder.clone(),
        };
        let other_lease = self
            .live_lease(now)
            .is_some_and(|l| !l.admits(holder, term));
        // No quiet time here: a holder renews only while a quorum of live leases backs
        // it, and that quorum refuses any rival's election, so a voter that forgot what
        // it granted before a restart cannot help two holders by acknowledging. This is
        // how newcomers join a running lease without making the holder lose its quorum.
        if other_lease
            || self.confirmed_through.is_some_and(|c| term < c)
            || self.closed_through.is_some_and(|r| term <= r)
        {
            return false;
        }
        if !self.admits(&ballot) {
            // A higher promise whose vote was never confirmed (its withdrawal may have
            // been lost) does not stand in the way of a renewal: a renewal grants nothing
            // new, and a newer holder would have a confirmed lease here, refused above.
            // The promise itself stays, so no lower vote is granted later.
        } else {
            self.promised = Some(ballot);
        }
        self.confirmed_through = self.confirmed_through.max(Some(term));
        self.lease = Some(Lease {
            holder: holder.clone(),
            term,
            until: now + lease,
            confirmed: true,
        });
        true
    }

    /// `holder` gave up `term`: renewals of it (and of anything older) are refused from
    /// now on, also those still on their way, and its lease is dropped if it is the one
    /// held. Returns whether it was.
    pub(crate) fn release(&mut self, holder: &NodeName, term: LamportTime) -> bool {
        self.closed_through = self.closed_through.max(Some(term));
        let matches = self
            .lease
            .as_ref()
            .is_some_and(|l| l.holder == *holder && l.term == term);
        if matches {
            self.lease = None;
        }
        matches
    }

    /// The candidate of `term` lost and abandons it: drops its vote, which no renewal
    /// ever confirmed, so that it stands in nobody's way. The promise stays: only
    /// ballots above it are granted from now on, so terms keep rising.
    pub(crate) fn withdraw(&mut self, candidate: &NodeName, term: LamportTime) {
        if self
            .lease
            .as_ref()
            .is_some_and(|l| l.holder == *candidate && l.term == term && !l.confirmed)
        {
            self.lease = None;
        }
    }

    /// Stops renewing everything promised so far; returns the live lease it affects.
    /// The lease itself runs to its end, since its holder may not hear of the recall.
    pub(crate) fn recall(&mut self, now: Instant) -> Option<Tenure> {
        let highest = self.promised.as_ref().map(|p| p.term);
        self.closed_through = self.closed_through.max(highest);
        self.live_lease(now).map(Lease::tenure)
    }

    /// Whether the live lease has been recalled.
    pub(crate) fn is_recalled(&self, now: Instant) -> bool {
        self.live_lease(now)
            .is_some_and(|l| self.closed_through.is_some_and(|r| l.term <= r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(1500);
    const UNDECIDED: Duration = Duration::from_millis(300);

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
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
        let half = t0 + Duration::from_millis(500);
        assert_eq!(
            v.vote(half, &ballot(11, "b"), LEASE, t0, UNDECIDED),
            Err(Refusal::Busy {
                retry_after: UNDECIDED
            }),
            "an unconfirmed vote is worth asking again soon"
        );
        assert!(v.renew(half, &name("a"), LamportTime(10), LEASE));
        let refusal = v.vote(half, &ballot(11, "b"), LEASE, t0, UNDECIDED);
        assert_eq!(
            refusal,
            Err(Refusal::Leased {
                tenure: Tenure {
                    holder: name("a"),
                    term: LamportTime(10)
                },
                retry_after: LEASE
            })
        );
        assert_eq!(
            v.vote(half + LEASE, &ballot(11, "b"), LEASE, t0, UNDECIDED),
            Ok(())
        );
    }

    #[test]
    fn lower_ballots_are_refused_and_the_same_ballot_is_granted_again() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
        let later = t0 + LEASE;
        assert_eq!(
            v.vote(later, &ballot(9, "b"), LEASE, t0, UNDECIDED),
            Err(Refusal::Promised)
        );
        assert_eq!(
            v.vote(later, &ballot(10, "b"), LEASE, t0, UNDECIDED),
            Err(Refusal::Promised)
        );
    }

    #[test]
    fn a_fresh_voter_grants_no_vote_during_its_quiet_time_but_joins_a_lease() {
        let t0 = Instant::now();
        let quiet = t0 + LEASE;
        let mut v = Voter::default();
        assert_eq!(
            v.vote(t0, &ballot(10, "a"), LEASE, quiet, UNDECIDED),
            Err(Refusal::Busy { retry_after: LEASE })
        );
        assert!(
            v.renew(t0, &name("a"), LamportTime(10), LEASE),
            "a newcomer joins a running lease at once"
        );
        assert_eq!(
            v.live_lease(t0 + LEASE / 2).map(|l| l.term),
            Some(LamportTime(10))
        );
        // Once the quiet time and the lease are over, it votes.
        assert_eq!(
            v.vote(quiet, &ballot(11, "b"), LEASE, quiet, UNDECIDED),
            Ok(())
        );
    }

    #[test]
    fn renewals_extend_the_holder_and_refuse_rivals_and_stale_terms() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let a = name("a");
        assert!(
            v.renew(t0, &a, LamportTime(10), LEASE),
            "a newcomer joins a lease"
        );
        assert!(v.renew(t0 + LEASE / 2, &a, LamportTime(10), LEASE));
        assert_eq!(
            v.live_lease(t0 + LEASE).map(|l| l.term),
            Some(LamportTime(10))
        );
        assert!(!v.renew(t0 + LEASE, &name("b"), LamportTime(20), LEASE));
        let after = t0 + 2 * LEASE;
        assert_eq!(
            v.vote(after, &ballot(30, "b"), LEASE, t0, UNDECIDED),
            Ok(())
        );
        // b won and renews here: a, replaced, is refused from then on.
        assert!(v.renew(after, &name("b"), LamportTime(30), LEASE));
        let later = after + 2 * LEASE;
        assert!(
            !v.renew(later, &a, LamportTime(10), LEASE),
            "older than a renewed term"
        );
    }

    #[test]
    fn a_recall_stops_renewals_but_not_the_running_lease() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let a = name("a");
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
        assert_eq!(v.recall(t0).map(|t| t.term), Some(LamportTime(10)));
        assert!(v.is_recalled(t0));
        assert!(!v.renew(t0, &a, LamportTime(10), LEASE));
        assert!(
            v.vote(t0, &ballot(11, "b"), LEASE, t0, UNDECIDED).is_err(),
            "lease still runs"
        );
        assert_eq!(
            v.vote(t0 + LEASE, &ballot(11, "b"), LEASE, t0, UNDECIDED),
            Ok(())
        );
    }

    #[test]
    fn a_withdrawn_ballot_frees_the_holder_but_keeps_the_promise() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let h = name("h");
        assert!(v.renew(t0, &h, LamportTime(10), LEASE));
        let later = t0 + LEASE;
        // The holder's lease ran out here (a lost packet), and a challenger got the vote.
        assert_eq!(
            v.vote(later, &ballot(20, "c"), LEASE, t0, UNDECIDED),
            Ok(())
        );
        assert!(!v.renew(later, &h, LamportTime(10), LEASE));
        // The challenger lost elsewhere and withdraws: the holder is back in business.
        v.withdraw(&name("c"), LamportTime(20));
        assert!(v.renew(later, &h, LamportTime(10), LEASE));
        assert!(v.live_lease(later).is_some_and(|l| l.confirmed));
        // The promise stays: no ballot at or below 20 is granted once the lease ends.
        assert_eq!(v.promised, Some(ballot(20, "c")));
        let after = later + 2 * LEASE;
        let vote = v.vote(after, &ballot(15, "d"), LEASE, t0, UNDECIDED);
        assert_eq!(vote, Err(Refusal::Promised));
    }

    #[test]
    fn a_chain_of_withdrawals_never_lowers_the_promise_below_a_term_that_won() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(258, "a"), LEASE, t0, UNDECIDED), Ok(()));
        assert!(v.renew(t0, &name("a"), LamportTime(258), LEASE));
        // a's lease ends; two candidates take turns losing, their withdrawals crossing.
        let mut now = t0 + LEASE;
        for (term, candidate) in [(546, "b"), (555, "c"), (595, "c"), (608, "b")] {
            assert_eq!(
                v.vote(now, &ballot(term, candidate), LEASE, t0, UNDECIDED),
                Ok(())
            );
            now += LEASE;
        }
        v.withdraw(&name("b"), LamportTime(608));
        v.withdraw(&name("c"), LamportTime(595));
        v.withdraw(&name("b"), LamportTime(546));
        let vote = v.vote(now, &ballot(300, "d"), LEASE, t0, UNDECIDED);
        assert_eq!(vote, Err(Refusal::Promised), "term 258 already won");
    }

    #[test]
    fn a_promise_whose_withdrawal_was_lost_does_not_block_the_holder() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let h = name("h");
        assert!(v.renew(t0, &h, LamportTime(10), LEASE));
        let later = t0 + LEASE;
        // A challenger got the vote while the holder's lease had run out here, lost, and
        // its withdrawal never arrived: once its vote runs out, the holder renews again.
        assert_eq!(
            v.vote(later, &ballot(20, "c"), LEASE, t0, UNDECIDED),
            Ok(())
        );
        assert!(
            !v.renew(later, &h, LamportTime(10), LEASE),
            "the vote still runs"
        );
        let after = later + LEASE;
        assert!(v.renew(after, &h, LamportTime(10), LEASE));
        // The promise did not go down: no vote below it is granted.
        assert_eq!(v.promised, Some(ballot(20, "c")));
        let vote = v.vote(after + LEASE, &ballot(15, "d"), LEASE, t0, UNDECIDED);
        assert_eq!(vote, Err(Refusal::Promised));
    }

    #[test]
    fn a_release_drops_only_the_named_lease() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
        assert!(!v.release(&name("a"), LamportTime(9)));
        assert!(!v.release(&name("b"), LamportTime(10)));
        assert!(v.release(&name("a"), LamportTime(10)));
        assert!(
            !v.renew(t0, &name("a"), LamportTime(10), LEASE),
            "a renewal that arrives after the release"
        );
        assert_eq!(v.vote(t0, &ballot(11, "b"), LEASE, t0, UNDECIDED), Ok(()));
    }

    #[test]
    fn a_late_renewal_of_a_resigned_term_keeps_the_vote_for_the_next_one() {
        let t0 = Instant::now();
        let mut v = Voter::default();
        let a = name("a");
        assert!(v.renew(t0, &a, LamportTime(10), LEASE));
        // a resigns term 10 and campaigns for 20; its vote request overtakes the release.
        assert_eq!(v.vote(t0, &ballot(20, "a"), LEASE, t0, UNDECIDED), Ok(()));
        assert!(
            !v.renew(t0, &a, LamportTime(10), LEASE),
            "a renewal of the old term, still on its way, keeps the vote for the new one"
        );
        assert_eq!(v.live_lease(t0).map(|l| l.term), Some(LamportTime(20)));
        // The release of term 10 does not match the lease (term 20) but closes term 10.
        assert!(!v.release(&a, LamportTime(10)));
        assert_eq!(v.live_lease(t0).map(|l| l.term), Some(LamportTime(20)));
        assert!(!v.renew(t0 + LEASE, &a, LamportTime(10), LEASE));
        assert!(
            v.vote(t0, &ballot(30, "b"), LEASE, t0, UNDECIDED).is_err(),
            "the vote for a's term 20 still stands against a rival"
        );
    }
}
