//! The voter's rules, one role at a time.

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

#[test]
fn a_transfer_keeps_the_vote_for_its_successor_until_the_reservation_ends() {
    let t0 = Instant::now();
    let mut v = Voter::default();
    assert_eq!(v.vote(t0, &ballot(10, "a"), LEASE, t0, UNDECIDED), Ok(()));
    assert!(v.renew(t0, &name("a"), LamportTime(10), LEASE));
    assert!(v.release(&name("a"), LamportTime(10)));
    let until = t0 + UNDECIDED;
    v.reserved = Some((name("c"), until));
    assert_eq!(
        v.vote(t0, &ballot(11, "b"), LEASE, t0, UNDECIDED),
        Err(Refusal::Busy {
            retry_after: UNDECIDED
        }),
        "another candidate is refused while the successor asks"
    );
    assert_eq!(v.vote(t0, &ballot(12, "c"), LEASE, t0, UNDECIDED), Ok(()));
    // Once it ends, the reservation stands in nobody's way (the successor's vote, a
    // lease, still does until it ends too).
    let mut w = Voter {
        reserved: Some((name("c"), until)),
        ..Voter::default()
    };
    assert_eq!(
        w.vote(until, &ballot(13, "b"), LEASE, t0, UNDECIDED),
        Ok(())
    );
}
