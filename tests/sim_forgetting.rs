//! Forgetting in the simulator: a cluster that elects and resigns thousands of distinct
//! roles keeps per-node state bounded by the roles in use lately, and stays safe (the
//! checker's S1-S5) while it forgets.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed};
use polity::{RoleName, RoleState};

const SECOND: Duration = Duration::from_secs(1);

fn role(n: usize) -> RoleName {
    RoleName::new(format!("job-{n}")).unwrap_or_else(|e| panic!("job-{n}: {e}"))
}

/// Elects `batch` roles at a time on five nodes, resigns them once held, and moves on:
/// `total` distinct roles in all, under loss, with `max_gossip_backlog` set to `backlog`
/// if given.
/// Returns the largest count of role entries (voters plus views) any node kept. The
/// gossip backlog stays within `backlog` and the announcements of one datagram.
fn churn(seed: u64, total: usize, batch: usize, backlog: Option<usize>) -> Result<usize, String> {
    let mut config = SimConfig::lan(5, seed);
    if let Some(backlog) = backlog {
        config.template.max_gossip_backlog = backlog;
    }
    let mut sim = Sim::new(config);
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    sim.set_faults(Faults {
        loss: 0.02,
        ..Faults::default()
    });
    let mut most = 0;
    for start in (0..total).step_by(batch) {
        let roles: Vec<(usize, RoleName)> = (start..(start + batch).min(total))
            .map(|n| (n % 5, role(n)))
            .collect();
        for (node, r) in &roles {
            sim.elect(*node, r).ok_or("a node is down")?;
        }
        let held = |sim: &Sim| roles.iter().all(|(_, r)| sim.holders(r).len() == 1);
        sim.run_until(10 * SECOND, held)
            .ok_or_else(|| format!("roles {start}.. were not all elected"))?;
        for (_, r) in &roles {
            for (holder, _) in sim.holders(r) {
                sim.resign(holder, r);
            }
        }
        sim.run_for(SECOND);
        for node in 0..5 {
            let (voters, views) = sim.role_entries(node).ok_or("a node is down")?;
            most = most.max(voters + views);
            let core = sim.core(node).ok_or("a node is down")?;
            let (backlog, limit) = (
                core.stats().gossip_backlog,
                core.config().max_gossip_backlog,
            );
            if backlog > limit as u64 + 64 {
                return Err(format!(
                    "n{node} holds {backlog} announcements to gossip (limit {limit})"
                ));
            }
        }
    }
    sim.check()?;
    // Once every role has been left alone long enough, nothing of them is left.
    sim.run_for(2 * sim.config(0).forget_after());
    for node in 0..5 {
        let entries = sim.role_entries(node).ok_or("a node is down")?;
        if entries != (0, 0) {
            return Err(format!("n{node} still keeps {entries:?} role entries"));
        }
        let core = sim.core(node).ok_or("a node is down")?;
        if !core.roles().is_empty() {
            return Err(format!("n{node} still lists {:?}", core.roles()));
        }
        if core.role_state(&role(0)) != RoleState::Vacant {
            return Err(format!("n{node} sees a forgotten role held"));
        }
    }
    sim.check()?;
    Ok(most)
}

/// 10,000 roles, 100 at a time, about a second apart: each node keeps at most the roles
/// of the last `forget_after` (15 s with `lan`) and one sweep more, never all 10,000.
#[test]
fn churn_of_ten_thousand_roles_keeps_state_bounded() {
    for_each_seed(
        "churn_of_ten_thousand_roles_keeps_state_bounded",
        0..1,
        |seed| {
            let most = churn(seed, 10_000, 100, None)?;
            eprintln!("most role entries on a node: {most}");
            // A voter entry and a view per role, for the batches of the last forget_after
            // and one sweep interval more (23 s), at most one batch a second.
            let bound = 2 * 100 * 23;
            if most > bound {
                return Err(format!("a node kept {most} role entries (bound {bound})"));
            }
            Ok(())
        },
    );
}

/// Bursts of 500 roles elected at once, then resigned at once: more announcements than
/// gossip spreads in time (the backlog would reach about 500). It stops at
/// `max_gossip_backlog`, and every role is still elected, resigned and forgotten
/// everywhere, with the checker's promises kept.
#[test]
fn bursts_of_churn_keep_the_gossip_backlog_bounded() {
    for_each_seed(
        "bursts_of_churn_keep_the_gossip_backlog_bounded",
        0..1,
        |seed| churn(seed, 1000, 500, Some(64)).map(|_| ()),
    );
}

/// Forgetting under faults of several seeds: the checker finds no violation.
#[test]
fn forgetting_keeps_every_promise_under_loss() {
    for_each_seed("forgetting_keeps_every_promise_under_loss", 0..5, |seed| {
        churn(seed, 300, 20, None).map(|_| ())
    });
}
