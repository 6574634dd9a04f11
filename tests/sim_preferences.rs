//! Preferred holders (`campaign_with_priority`), in the simulator: a candidate of a higher
//! priority than the holder's takes the role once it has asked for `preference_delay`,
//! and keeps it; equal priorities and no priority move nothing; a candidate that flaps
//! never gets the role; and under loss, reordering, partitions and crashes the checker
//! finds one holder at most, while the preferred node ends up holding once it heals.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Draws, Sim, SimConfig, for_each_seed, sweep_seeds};

#[path = "common/trouble.rs"]
mod trouble;
use polity::{LamportTime, RoleName};
use trouble::{campaign_unless_holding, heal_all, lossy, stir};

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// A converged cluster of five, with `scheduler` held by one of n0 to n3 (priority 0).
fn held_by_one(seed: u64) -> Result<(Sim, RoleName, (usize, LamportTime)), String> {
    let mut sim = Sim::new(SimConfig::lan(5, seed));
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
    for node in 0..4 {
        sim.campaign(node, &role);
    }
    sim.run_until(5 * SECOND, |s| s.holders(&role).len() == 1)
        .ok_or("nobody was elected")?;
    let holder = sim.holders(&role)[0];
    Ok((sim, role, holder))
}

/// The node holding `role`, if exactly one does.
fn holder(sim: &Sim, role: &RoleName) -> Option<usize> {
    match sim.holders(role)[..] {
        [(node, _)] => Some(node),
        _ => None,
    }
}

#[test]
fn a_candidate_of_a_higher_priority_takes_the_role_after_the_delay_and_keeps_it() {
    for_each_seed("preferred_takes_over", 0..40, |seed| {
        let (mut sim, role, (first, term)) = held_by_one(seed)?;
        let delay = sim.config(0).preference_delay;
        // Another candidate of the same priority (none) moves nothing.
        sim.run_for(2 * delay);
        if sim.holders(&role) != [(first, term)] {
            return Err(format!(
                "the role moved without a preference: {:?}",
                sim.holders(&role)
            ));
        }
        let asked_at = sim.now();
        sim.campaign_with_priority(4, &role, 5)
            .ok_or("n4 is down")?;
        // Not before it has asked for the whole delay.
        sim.run_for(delay - 100 * MS);
        if holder(&sim, &role) != Some(first) {
            return Err(format!(
                "handed over before the delay: {:?}",
                sim.holders(&role)
            ));
        }
        // Then within a renewal interval and a few round trips.
        let bound = 200 * MS + sim.config(0).renew_interval;
        sim.run_until(bound + 100 * MS, |s| holder(s, &role) == Some(4))
            .ok_or_else(|| format!("n4 did not take over: {:?}", sim.holders(&role)))?;
        let took = sim.now() - asked_at;
        if took > delay + bound {
            return Err(format!("n4 took over {took:?} after it asked"));
        }
        // The one it replaced campaigns again, with no priority: the role stays.
        sim.campaign(first, &role);
        let (_, won) = sim.holders(&role)[0];
        sim.run_for(3 * delay);
        if sim.holders(&role) != [(4, won)] {
            return Err(format!(
                "n4 did not keep the role: {:?}",
                sim.holders(&role)
            ));
        }
        sim.check()
    });
}

#[test]
fn equal_priorities_move_nothing_and_a_flapping_candidate_never_takes_the_role() {
    for_each_seed("preference_holds_still", 0..20, |seed| {
        let mut sim = Sim::new(SimConfig::lan(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("membership did not converge")?;
        sim.run_for(sim.config(0).lease);
        let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
        sim.campaign_with_priority(0, &role, 5)
            .ok_or("n0 is down")?;
        sim.run_until(5 * SECOND, |s| holder(s, &role) == Some(0))
            .ok_or("n0 was not elected")?;
        let held = sim.holders(&role);
        let delay = sim.config(0).preference_delay;
        // As high as the holder's: no reason to move.
        sim.campaign_with_priority(1, &role, 5)
            .ok_or("n1 is down")?;
        sim.run_for(2 * delay);
        if sim.holders(&role) != held {
            return Err(format!(
                "an equal priority moved the role: {:?}",
                sim.holders(&role)
            ));
        }
        // Higher, but up for less than the delay at a time, and away longer than two
        // leases in between: its wait starts again each time.
        let away = 2 * sim.config(0).lease + SECOND;
        for _ in 0..4 {
            sim.run_for(delay / 2);
            sim.crash(2);
            sim.run_for(away);
            sim.restart(2);
            sim.campaign_with_priority(2, &role, 9)
                .ok_or("n2 is down")?;
        }
        sim.run_for(delay / 2);
        if sim.holders(&role) != held {
            return Err(format!(
                "a flapping candidate moved the role: {:?}",
                sim.holders(&role)
            ));
        }
        // Once it stays, it gets it.
        sim.run_until(2 * delay, |s| holder(s, &role) == Some(2))
            .ok_or_else(|| format!("n2 did not take over: {:?}", sim.holders(&role)))?;
        sim.check()
    });
}

/// Every node campaigns with its own priority while datagrams are lost, delayed,
/// reordered and duplicated, a node is cut off now and then and one crashes and
/// restarts: the checker finds at most one holder at any instant, and once the network
/// heals the node of the highest priority ends up holding the role.
#[test]
fn preferences_under_faults_never_make_two_holders_and_settle_on_the_preferred_node() {
    for_each_seed("preferences_under_faults", sweep_seeds(200), |seed| {
        let mut sim = Sim::new(SimConfig::lan(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("membership did not converge")?;
        sim.run_for(sim.config(0).lease);
        let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
        let mut draws = Draws::new(seed);
        // Distinct priorities 1 to 5, in an order of the seed's.
        let top = draws.node(&sim);
        let priority = |node: usize| 5 - ((node + 5 - top) % 5) as u32;
        let campaign_all = |sim: &mut Sim| {
            campaign_unless_holding(sim, &role, |sim, node| {
                sim.campaign_with_priority(node, &role, priority(node));
            });
        };
        campaign_all(&mut sim);
        sim.set_faults(lossy());
        for step in 0..10 {
            sim.run_for(MS * 200 + draws.millis(799));
            stir(&mut sim, &mut draws, 5, step % 3 == 1);
            campaign_all(&mut sim);
        }
        heal_all(&mut sim);
        campaign_all(&mut sim);
        let settle = sim.config(0).preference_delay + 10 * SECOND;
        sim.run_until(settle, |s| holder(s, &role) == Some(top))
            .ok_or_else(|| {
                format!(
                    "n{top} (priority 5) never took over: {:?}",
                    sim.holders(&role)
                )
            })?;
        sim.check()
    });
}
