//! A voter's kept sets: renewed by version, settled into each lease, dropped on a change.

use super::*;
use crate::wire::{Ballot, SetPart};

const LEASE: Duration = Duration::from_millis(1500);

fn role(i: u32) -> RoleName {
    RoleName::new(format!("r{i}")).unwrap()
}

fn holder() -> NodeId {
    NodeId::new(
        NodeName::new("h").unwrap(),
        "127.0.0.1:1".parse().unwrap(),
        1,
    )
}

/// Voters that renewed 3 roles of `holder()` at `t0` by list in one chunk (version 1),
/// and so keep that set whole.
fn kept(t0: Instant) -> (Voters, Outbox) {
    let mut voters = Voters::default();
    let mut out = Outbox::default();
    let h = holder();
    let leases: Vec<(RoleName, LamportTime)> = (1..=3)
        .map(|i| (role(i), LamportTime(u64::from(i))))
        .collect();
    for (r, t) in &leases {
        assert!(voters.update(&mut out, r, |v| v.renew(t0, h.name(), *t, LEASE)));
    }
    let chunk = Chunk {
        round: 1,
        part: SetPart {
            version: 1,
            chunk: 0,
            chunks: 1,
        },
        leases: &leases,
        all_renewed: true,
    };
    assert_eq!(voters.add_part(&mut out, t0, LEASE, &h, chunk), Some(1));
    (voters, out)
}

/// Each role's own check comes due at `at`, while the set binds its lease: none is
/// armed again, the set's check covers them.
fn hand_over(voters: &mut Voters, out: &mut Outbox, at: Instant) {
    for i in 1..=3 {
        assert_eq!(voters.lease_check(out, at, &role(i)), None);
    }
    out.timers.clear();
}

fn until(voters: &mut Voters, i: u32) -> Option<Instant> {
    voters.get(&role(i))?.lease.as_ref().map(|l| l.until)
}

#[test]
fn a_kept_set_renewed_by_version_extends_every_lease_and_needs_no_lease_check() {
    let t0 = Instant::now();
    let (mut voters, mut out) = kept(t0);
    let t1 = t0 + LEASE / 2;
    assert!(voters.renew_set(t1, LEASE, &holder(), 1));
    assert!(
        !voters.renew_set(t1, LEASE, &holder(), 2),
        "another version renews nothing"
    );
    for i in 1..=3 {
        assert_eq!(
            until(&mut voters, i),
            Some(t1 + LEASE),
            "settled before use"
        );
    }
    // Each role's own check, armed by the list, comes due: the set covers it.
    out.timers.clear();
    for i in 1..=3 {
        assert_eq!(voters.lease_check(&mut out, t0 + LEASE, &role(i)), None);
    }
    assert!(
        out.timers.is_empty(),
        "no per-role check while the set binds"
    );
    // The set's check, armed at its first end, is armed again at the new end.
    voters.session_check(&mut out, t0 + LEASE, holder().name(), t0 + LEASE);
    assert_eq!(
        out.timers,
        vec![(
            t1 + LEASE,
            RoleTimer::SessionCheck(holder().name().clone(), t1 + LEASE)
        )]
    );
    let ballot = Ballot {
        term: LamportTime(9),
        candidate: NodeName::new("rival").unwrap(),
    };
    let refused = voters.update(&mut out, &role(2), |v| {
        v.vote(t0 + LEASE, &ballot, LEASE, t0, LEASE)
    });
    assert!(
        refused.is_err(),
        "the renewed lease still stands in the way"
    );
}

#[test]
fn a_recall_of_one_bound_lease_drops_the_set_and_the_others_keep_their_lease() {
    let t0 = Instant::now();
    let (mut voters, mut out) = kept(t0);
    let t1 = t0 + LEASE / 2;
    hand_over(&mut voters, &mut out, t1);
    let t2 = t1 + LEASE / 2;
    assert!(voters.renew_set(t2, LEASE, &holder(), 1));
    let recalled = voters.update(&mut out, &role(2), |v| v.recall(t2));
    assert!(recalled.is_some());
    assert!(
        !voters.renew_set(t2, LEASE, &holder(), 1),
        "the set is gone: the holder must list again"
    );
    for i in [1, 3] {
        assert_eq!(
            until(&mut voters, i),
            Some(t2 + LEASE),
            "the renewals by version stay in the lease"
        );
    }
    let checks: Vec<&RoleTimer> = out.timers.iter().map(|(_, t)| t).collect();
    assert!(
        checks.contains(&&RoleTimer::LeaseCheck(role(1)))
            && checks.contains(&&RoleTimer::LeaseCheck(role(3))),
        "each lease gets its own check back: {checks:?}"
    );
}

#[test]
fn a_set_not_renewed_in_time_ends_every_lease_it_binds() {
    let t0 = Instant::now();
    let (mut voters, mut out) = kept(t0);
    hand_over(&mut voters, &mut out, t0 + LEASE / 2);
    let end = t0 + LEASE;
    voters.session_check(&mut out, end, holder().name(), end);
    assert!(!voters.renew_set(end, LEASE, &holder(), 1), "dropped");
    assert_eq!(out.timers.len(), 3, "one check per lease, due now");
    for (at, timer) in out.timers.clone() {
        assert!(at <= end);
        let RoleTimer::LeaseCheck(r) = timer else {
            panic!("{timer:?}");
        };
        assert!(voters.lease_check(&mut out, end, &r).is_some(), "{r} ends");
    }
    for i in 1..=3 {
        assert_eq!(until(&mut voters, i), None);
    }
}

#[test]
fn the_holder_giving_one_role_up_takes_it_alone_out_of_its_set() {
    let t0 = Instant::now();
    let (mut voters, mut out) = kept(t0);
    let h = holder();
    assert!(voters.release(&mut out, &role(2), h.name(), LamportTime(2), None));
    assert!(
        !voters.release(&mut out, &role(2), h.name(), LamportTime(2), None),
        "closed already"
    );
    let t1 = t0 + LEASE / 2;
    assert!(
        voters.renew_set(t1, LEASE, &h, 1),
        "the rest of the set is kept"
    );
    assert_eq!(until(&mut voters, 2), None, "the released lease is gone");
    for i in [1, 3] {
        assert_eq!(until(&mut voters, i), Some(t1 + LEASE));
    }
    let other = NodeName::new("other").unwrap();
    voters.release(&mut out, &role(1), &other, LamportTime(5), None);
    assert!(
        !voters.renew_set(t1, LEASE, &h, 1),
        "another node closing a bound term drops the set"
    );
}
