//! Role elections in the simulator, every scenario asserting the checker's verdict
//! (S1 one holder, S2 rising terms, S3 quorum, S5 monotonic views) over many seeds.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed, sweep_seeds};
use polity::{Completion, NodeName, RoleName, RoleState, RoleValue};

const SECOND: Duration = Duration::from_secs(1);

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A converged cluster past every node's quiet time after start.
fn ready(config: SimConfig) -> Result<Sim, String> {
    let mut sim = Sim::new(config);
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    let quiet = sim.config(0).lease;
    sim.run_for(quiet);
    Ok(sim)
}

/// Every one of the first five nodes campaigns for `r`; returns the node that holds it
/// within `limit`.
fn everyone_campaigns(sim: &mut Sim, r: &RoleName, limit: Duration) -> Result<usize, String> {
    for node in 0..5 {
        sim.campaign(node, r).ok_or("a node is down")?;
    }
    sim.run_until(limit, |sim| one_holder(sim, r).is_some())
        .ok_or_else(|| format!("nobody won within {limit:?}"))?;
    one_holder(sim, r).ok_or_else(|| "no holder".to_owned())
}

fn one_holder(sim: &Sim, r: &RoleName) -> Option<usize> {
    match sim.holders(r).as_slice() {
        [(node, _)] => Some(*node),
        _ => None,
    }
}

#[test]
fn five_nodes_elect_one_scheduler_and_agree_on_it() {
    for_each_seed("five_nodes_elect_one_scheduler", 0..50, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        let id = sim.elect(2, &r).ok_or("n2 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(2, id).is_some())
            .ok_or("the election did not finish within 1 s")?;
        let term = match sim.completion(2, id) {
            Some(Completion::Elect {
                result: Ok(term), ..
            }) => *term,
            other => return Err(format!("election failed: {other:?}")),
        };
        if one_holder(&sim, &r) != Some(2) {
            return Err(format!("holders {:?}", sim.holders(&r)));
        }
        // Every node learns the holder.
        let expected = RoleState::Held {
            holder: NodeName::new("n2").map_err(|e| e.to_string())?,
            term,
            value: RoleValue::EMPTY,
        };
        sim.run_until(SECOND, |sim| {
            (0..5).all(|i| sim.core(i).is_some_and(|c| c.role_state(&r) == expected))
        })
        .ok_or("views did not agree within 1 s")?;
        // A second candidate loses to the holder, by name.
        let id = sim.elect(4, &r).ok_or("n4 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(4, id).is_some())
            .ok_or("the second election did not finish")?;
        match sim.completion(4, id) {
            Some(Completion::Elect {
                result: Err(polity::RoleError::Lost { holder, term: t }),
                ..
            }) if holder.as_str() == "n2" && *t == term => {}
            other => return Err(format!("second candidate: {other:?}")),
        }
        sim.run_for(10 * SECOND);
        if one_holder(&sim, &r) != Some(2) {
            return Err(format!("the role moved: {:?}", sim.holders(&r)));
        }
        sim.check()
    });
}

#[test]
fn five_nodes_campaigning_for_100_roles_get_one_holder_each() {
    for_each_seed("five_nodes_campaigning_for_100_roles", 0..10, |seed| {
        let mut config = SimConfig::lan(5, seed);
        config.record_trace = false;
        let mut sim = ready(config)?;
        let roles: Vec<RoleName> = (0..100).map(|i| role(&format!("role-{i}"))).collect();
        for r in &roles {
            for node in 0..5 {
                sim.campaign(node, r).ok_or("a node is down")?;
            }
        }
        let took = sim
            .run_until(10 * SECOND, |sim| {
                roles.iter().all(|r| sim.holders(r).len() == 1)
            })
            .ok_or_else(|| {
                let stuck: Vec<_> = roles.iter().filter(|r| sim.holders(r).len() != 1).collect();
                format!("roles without exactly one holder after 10 s: {stuck:?}")
            })?;
        // No livelock: every role was settled quickly, and stays settled.
        if took > 3 * SECOND {
            return Err(format!("took {took:?} to fill 100 roles"));
        }
        sim.run_for(5 * SECOND);
        for r in &roles {
            if sim.holders(r).len() != 1 || sim.grants(r) != 1 {
                return Err(format!(
                    "{r}: holders {:?}, grants {}",
                    sim.holders(r),
                    sim.grants(r)
                ));
            }
        }
        sim.check()
    });
}

#[test]
fn after_a_holder_crash_a_waiting_candidate_holds_within_lease_plus_500_ms() {
    for_each_seed("holder_crash_failover", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        everyone_campaigns(&mut sim, &r, 2 * SECOND)?;
        sim.run_for(2 * SECOND);
        let (old, old_term) = sim.holders(&r)[0];
        sim.crash(old);
        let bound = sim.config(0).lease + Duration::from_millis(500);
        sim.run_until(bound, |sim| sim.holders(&r).iter().any(|&(n, _)| n != old))
            .ok_or_else(|| format!("no new holder within {bound:?} of the crash"))?;
        let (new, new_term) = sim.holders(&r)[0];
        if new == old || new_term <= old_term {
            return Err(format!(
                "n{new} term {new_term} after n{old} term {old_term}"
            ));
        }
        sim.check()
    });
}

#[test]
fn a_minority_holder_steps_down_and_the_majority_takes_over() {
    for_each_seed("minority_holder_steps_down", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        // n4 holds the role, everyone else waits for it.
        sim.elect(4, &r).ok_or("n4 is down")?;
        sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(4))
            .ok_or("n4 did not win")?;
        for node in 0..5 {
            sim.campaign(node, &r).ok_or("a node is down")?;
        }
        sim.partition(&[0, 1, 2], &[3, 4]);
        let lease = sim.config(0).lease;
        sim.run_until(lease + SECOND, |sim| {
            sim.holders(&r).iter().any(|&(n, _)| n < 3)
        })
        .ok_or("the majority did not elect within a lease and a second")?;
        // The minority never elects, however long the partition lasts.
        sim.run_for(30 * SECOND);
        if sim.holders(&r).iter().any(|&(n, _)| n >= 3) {
            return Err(format!(
                "the minority holds the role: {:?}",
                sim.holders(&r)
            ));
        }
        sim.heal();
        sim.run_until(5 * SECOND, Sim::converged)
            .ok_or("no convergence within 5 s of healing")?;
        sim.run_for(5 * SECOND);
        if sim.holders(&r).len() != 1 {
            return Err(format!("after healing: {:?}", sim.holders(&r)));
        }
        sim.check()
    });
}

#[test]
fn a_holder_that_cannot_hear_is_replaced_within_a_lease_and_a_second() {
    // The holder still sends (vote requests among them) but receives nothing: it steps
    // down when it cannot renew, and its hopeless candidacies must not keep the voters'
    // votes tied up while the nodes that can hear them elect.
    for_each_seed("deaf_holder_replaced", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        let deaf = everyone_campaigns(&mut sim, &r, 2 * SECOND)?;
        let others: Vec<usize> = (0..5).filter(|&n| n != deaf).collect();
        sim.cut_one_way(&others, &[deaf]);
        // As `polity campaign` does, the deaf node campaigns again once it lost the role.
        let lease = sim.config(0).lease;
        sim.run_until(lease, |sim| sim.holders(&r).iter().all(|&(n, _)| n != deaf))
            .ok_or("the deaf holder never stepped down")?;
        sim.campaign(deaf, &r).ok_or("the deaf node is down")?;
        let bound = lease + SECOND;
        sim.run_until(bound, |sim| !sim.holders(&r).is_empty())
            .ok_or_else(|| format!("n{deaf} went deaf and nobody took over within {bound:?}"))?;
        sim.run_for(20 * SECOND);
        match sim.holders(&r).as_slice() {
            [(n, _)] if *n != deaf => {}
            other => return Err(format!("20 s on, holders {other:?}")),
        }
        sim.check()
    });
}

#[test]
fn resigning_hands_over_within_100_ms() {
    for_each_seed("resign_hands_over", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        sim.elect(0, &r).ok_or("n0 is down")?;
        sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("n0 did not win")?;
        for node in 1..5 {
            sim.campaign(node, &r).ok_or("a node is down")?;
        }
        sim.run_for(3 * SECOND);
        let term = match sim.resign(0, &r) {
            Some(Ok(term)) => term,
            other => return Err(format!("resign: {other:?}")),
        };
        let limit = Duration::from_millis(100);
        sim.run_until(limit, |sim| sim.holders(&r).iter().any(|&(n, _)| n != 0))
            .ok_or_else(|| format!("no handover within {limit:?}"))?;
        let (_, new_term) = sim.holders(&r)[0];
        if new_term <= term {
            return Err(format!("term went from {term} to {new_term}"));
        }
        sim.check()
    });
}

#[test]
fn a_resigning_holder_names_the_waiting_candidate_which_takes_over_at_once() {
    // Without a successor named, a lone candidate would wait its turn: 3 ms for every
    // voter ranked before it, up to 12 ms with five nodes.
    for_each_seed("resign_names_successor", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        sim.elect(0, &r).ok_or("n0 is down")?;
        sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("n0 did not win")?;
        let waiting = 1 + (seed % 4) as usize;
        sim.campaign(waiting, &r).ok_or("the candidate is down")?;
        sim.run_for(3 * SECOND);
        match sim.resign(0, &r) {
            Some(Ok(_)) => {}
            other => return Err(format!("resign: {other:?}")),
        }
        let limit = Duration::from_millis(6);
        sim.run_until(limit, |sim| one_holder(sim, &r) == Some(waiting))
            .ok_or_else(|| format!("n{waiting} did not take over within {limit:?}"))?;
        sim.check()
    });
}

#[test]
fn a_recall_vacates_the_role_and_the_next_grant_waits_for_the_recalled_lease() {
    for_each_seed("recall_vacates", 0..50, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        let id = sim.recall(1, &r).ok_or("n1 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(1, id).is_some())
            .ok_or("recall of a vacant role did not finish")?;
        match sim.completion(1, id) {
            Some(Completion::Recall {
                result: Err(polity::RoleError::RoleUnfilled),
                ..
            }) => {}
            other => return Err(format!("recall of a vacant role: {other:?}")),
        }
        sim.elect(0, &r).ok_or("n0 is down")?;
        sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("n0 did not win")?;
        sim.run_for(2 * SECOND);
        sim.campaign(2, &r).ok_or("n2 is down")?;
        let recalled_at = sim.now();
        let id = sim.recall(1, &r).ok_or("n1 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(1, id).is_some())
            .ok_or("recall did not finish")?;
        match sim.completion(1, id) {
            Some(Completion::Recall { result: Ok(_), .. }) => {}
            other => return Err(format!("recall: {other:?}")),
        }
        sim.run_until(SECOND, |sim| sim.holders(&r).iter().all(|&(n, _)| n != 0))
            .ok_or("n0 still holds the role a second after the recall")?;
        sim.run_until(5 * SECOND, |sim| one_holder(sim, &r) == Some(2))
            .ok_or("n2 did not take over")?;
        // n0's last renewal could be just before the recall, so voters hold its lease
        // for most of a lease after it: the grant cannot come much earlier.
        let waited = sim.now() - recalled_at;
        let lease = sim.config(0).lease;
        if waited < lease - sim.config(0).renew_interval * 2 {
            return Err(format!(
                "n2 won {waited:?} after the recall, before the lease ran out"
            ));
        }
        sim.check()
    });
}

#[test]
fn ten_percent_loss_for_ten_minutes_moves_no_role() {
    for_each_seed("ten_percent_loss", 0..5, |seed| {
        let mut config = SimConfig::lan(5, seed);
        config.record_trace = false;
        let mut sim = ready(config)?;
        let r = role("scheduler");
        everyone_campaigns(&mut sim, &r, 2 * SECOND)?;
        sim.set_faults(Faults {
            loss: 0.1,
            ..Faults::default()
        });
        sim.run_for(600 * SECOND);
        if sim.grants(&r) != 1 || sim.holders(&r).len() != 1 {
            return Err(format!("the role moved: {} grants", sim.grants(&r)));
        }
        sim.check()
    });
}

#[test]
fn fifty_voters_under_ten_percent_loss_keep_the_holder_and_their_view_of_it() {
    for_each_seed("fifty_voters_loss", 0..5, |seed| {
        let mut config = SimConfig::lan(50, seed);
        config.record_trace = false;
        let mut sim = ready(config)?;
        let r = role("scheduler");
        sim.campaign(0, &r).ok_or("n0 is down")?;
        sim.run_until(2 * SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("n0 did not win")?;
        sim.run_for(2 * SECOND);
        let since = sim.now();
        sim.set_faults(Faults {
            loss: 0.1,
            ..Faults::default()
        });
        sim.run_for(120 * SECOND);
        if sim.grants(&r) != 1 || one_holder(&sim, &r) != Some(0) {
            return Err(format!("the role moved: {} grants", sim.grants(&r)));
        }
        // No voter's lease for the holder ran out: none saw the role fall vacant. (With
        // each renewal sent once, seed 1 lost five in a row to one voter.)
        for node in 0..sim.len() {
            let lapsed = sim.events(node).iter().find(|(at, event)| {
                *at >= since
                    && matches!(event, polity::Event::RoleChanged { role, state }
                        if *role == r && !matches!(state, RoleState::Held { .. }))
            });
            if let Some((at, event)) = lapsed {
                return Err(format!(
                    "n{node} saw the role fall vacant at {at:?} (loss from {since:?}): {event:?}"
                ));
            }
        }
        sim.check()
    });
}

#[test]
fn clock_drift_at_max_drift_never_overlaps() {
    for_each_seed("clock_drift_at_max_drift", 0..100, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        // Rates differ by max_drift (10%): the holder's clock is the slow one, the
        // voters' the fast ones, which is the worst case for its lease.
        sim.set_clock_rate(0, 0.95);
        for node in 1..5 {
            sim.set_clock_rate(node, 1.045);
        }
        sim.elect(0, &r).ok_or("n0 is down")?;
        sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("n0 did not win")?;
        for node in 1..5 {
            sim.campaign(node, &r).ok_or("a node is down")?;
        }
        sim.run_for(2 * SECOND);
        // Cut the holder off; the others take over as soon as their leases allow.
        sim.partition(&[0], &[1, 2, 3, 4]);
        sim.run_until(5 * SECOND, |sim| {
            sim.holders(&r).iter().any(|&(n, _)| n != 0)
        })
        .ok_or("no takeover")?;
        sim.check()
    });
}

#[test]
fn voter_restarts_and_a_whole_cluster_restart_keep_terms_rising() {
    for_each_seed("restarts_keep_terms_rising", 0..50, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        let holder = everyone_campaigns(&mut sim, &r, 3 * SECOND)?;
        // Restart two voters that are not the holder: the role must not move.
        let voters: Vec<usize> = (0..5).filter(|&n| n != holder).take(2).collect();
        for &v in &voters {
            sim.crash(v);
            sim.restart(v);
        }
        sim.run_for(5 * SECOND);
        if one_holder(&sim, &r) != Some(holder) {
            return Err(format!(
                "voter restarts moved the role: {:?}",
                sim.holders(&r)
            ));
        }
        let before = sim.holders(&r)[0].1;
        for node in 0..5 {
            sim.crash(node);
        }
        sim.run_for(SECOND);
        for node in 0..5 {
            sim.restart(node);
        }
        everyone_campaigns(&mut sim, &r, 10 * SECOND)
            .map_err(|e| format!("after the whole cluster restarted: {e}"))?;
        let after = sim.holders(&r)[0].1;
        if after <= before {
            return Err(format!(
                "term went from {before} to {after} across a restart"
            ));
        }
        sim.check()
    });
}

/// One random fault, drawn from the seed.
fn random_fault(sim: &mut Sim, pick: u64) {
    let n = 5;
    let a = (pick % n as u64) as usize;
    let b = ((pick / 7) % n as u64) as usize;
    match (pick / 49) % 8 {
        0 => {
            sim.crash(a);
            sim.run_for(Duration::from_millis(pick % 3000));
            sim.restart(a);
        }
        1 => {
            let (left, right): (Vec<usize>, Vec<usize>) =
                (0..n).partition(|&i| (pick >> i) & 1 == 1);
            sim.partition(&left, &right);
        }
        2 => sim.cut_one_way(&[a], &[b]),
        3 => sim.pause(a, Duration::from_millis(pick % 4000)),
        4 => {
            sim.set_faults(Faults {
                loss: (pick % 20) as f64 / 100.0,
                duplicate: 0.05,
                max_delay: Duration::from_millis(pick % 30 + 1),
                ..Faults::default()
            });
        }
        // Rates within max_drift of each other (10%).
        5 => sim.set_clock_rate(a, 0.95 + (pick % 10) as f64 / 100.0),
        6 => {
            let r = role("scheduler");
            let _ = sim.resign(a, &r);
            sim.campaign(a, &r);
        }
        _ => sim.heal(),
    }
}

#[test]
fn a_randomised_sweep_of_fault_schedules_breaks_nothing() {
    for_each_seed("randomised_sweep", sweep_seeds(500), |seed| {
        let mut config = SimConfig::lan(5, seed);
        config.record_trace = false;
        let mut sim = ready(config)?;
        let roles = [role("scheduler"), role("compactor")];
        for r in &roles {
            for node in 0..5 {
                sim.campaign(node, r);
            }
        }
        // A schedule of faults drawn from the seed: a splitmix sequence.
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            random_fault(&mut sim, state);
            sim.run_for(Duration::from_millis(state % 4000 + 500));
        }
        // Heal everything; every role must settle on exactly one holder (L4, L5).
        sim.heal();
        sim.set_faults(Faults::default());
        for node in 0..5 {
            if sim.core(node).is_none() {
                sim.restart(node);
            }
            for r in &roles {
                sim.campaign(node, r);
            }
        }
        sim.run_until(20 * SECOND, |sim| {
            sim.converged() && roles.iter().all(|r| sim.holders(r).len() == 1)
        })
        .ok_or_else(|| {
            let holders: Vec<_> = roles.iter().map(|r| sim.holders(r)).collect();
            format!("not settled 20 s after healing: holders {holders:?}")
        })?;
        sim.check()
    });
}

/// n0 and n1 are cut off from the rest for `hold` while the majority holds the role,
/// with `joins` new nodes joining the minority side during the partition.
fn long_partition(seed: u64, fixed: bool, joins: usize, hold: Duration) -> Result<Sim, String> {
    let mut config = SimConfig::lan(5, seed);
    config.record_trace = false;
    config.template.reap_down_after = 10 * SECOND;
    if fixed {
        let voters = (0..5).map(|i| NodeName::new(format!("n{i}")).map_err(|e| e.to_string()));
        config.template.electorate = Some(voters.collect::<Result<_, _>>()?);
    }
    let mut sim = ready(config)?;
    let r = role("scheduler");
    sim.elect(4, &r);
    sim.run_until(SECOND, |sim| one_holder(sim, &r) == Some(4))
        .ok_or("n4 did not win")?;
    for node in 0..5 {
        sim.campaign(node, &r);
    }
    sim.partition(&[0, 1], &[2, 3, 4]);
    for _ in 0..joins {
        let new = sim.add_node(&[0]);
        sim.partition(&[new], &[2, 3, 4]);
        sim.campaign(new, &r);
    }
    sim.run_for(hold);
    Ok(sim)
}

#[test]
fn the_dynamic_electorate_splits_under_long_partitions_or_joins_and_the_fixed_one_does_not() {
    for_each_seed("dynamic_electorate_limits", 0..10, |seed| {
        // A partition longer than reap_down_after: the minority forgets the majority,
        // its population shrinks to 2, and it elects a second holder.
        let sim = long_partition(seed, false, 0, 40 * SECOND)?;
        if !sim.violations().iter().any(|v| v.starts_with("S1")) {
            return Err("expected the dynamic electorate to split after reaping".into());
        }
        // Joins on the minority side: 2 + 4 alive out of a population of 9 is a quorum.
        let sim = long_partition(seed, false, 4, 5 * SECOND)?;
        if !sim.violations().iter().any(|v| v.starts_with("S1")) {
            return Err("expected the dynamic electorate to split after joins".into());
        }
        // The fixed electorate keeps one holder through both.
        let sim = long_partition(seed, true, 4, 40 * SECOND)?;
        sim.check().map_err(|v| format!("fixed electorate: {v}"))?;
        if sim
            .holders(&role("scheduler"))
            .iter()
            .any(|&(n, _)| n != 2 && n != 3 && n != 4)
        {
            return Err("a minority node holds the role under the fixed electorate".into());
        }
        Ok(())
    });
}

#[test]
fn joining_nodes_do_not_move_a_role() {
    for_each_seed("joins_do_not_move_a_role", 0..30, |seed| {
        // One node founds the cluster and holds the role.
        let mut sim = Sim::new(SimConfig::lan(1, seed));
        let r = role("scheduler");
        sim.campaign(0, &r);
        sim.run_until(5 * SECOND, |sim| one_holder(sim, &r) == Some(0))
            .ok_or("the lone node did not win")?;
        // A second node makes the quorum 2 of 2; three more at once make it 3 of 5.
        // Newcomers join the running lease at once, so the holder keeps its quorum.
        sim.add_node(&[0]);
        sim.run_for(5 * SECOND);
        for _ in 0..3 {
            sim.add_node(&[0]);
        }
        sim.run_for(10 * SECOND);
        if one_holder(&sim, &r) != Some(0) || sim.grants(&r) != 1 {
            return Err(format!(
                "the role moved: holders {:?}, {} grants",
                sim.holders(&r),
                sim.grants(&r)
            ));
        }
        sim.check()
    });
}
