//! Scale in the simulator: how long a large cluster takes to converge and to elect many
//! roles, in simulated time, and how long simulating it takes in wall time (leaving out
//! the time spent checking for convergence).
//!
//! `cargo run --profile bench --features sim --example sim_scale [NODES] [ROLES] [CANDIDATES] [SEED]`
//! (defaults: 1000 nodes, 100 roles, 3 candidates per role, seed 1)
//!
//! All nodes start at simulated time zero on a healthy simulated LAN (`lan` profile,
//! every node joins through the first three) and every member votes. **Membership**: the
//! time until every node sees 90%, 99% and all of the nodes alive (or suspect, not down),
//! checked every 100 ms of simulated time (every second after 99%), for at most 1,200 s.
//! Then, one lease later, each role gets its candidates (three by default) spread over
//! the cluster. **Elections**: the time from the campaigns until every role has a holder,
//! exact to the event. Afterwards the safety checker verifies the whole run.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use polity::sim::{Sim, SimConfig};
use polity::{Event, MemberStatus, Profile, RoleName};

/// How often membership convergence is checked, in simulated time, until every node sees
/// 99% of the others; ten times less often afterwards.
const CHECK_EVERY: Duration = Duration::from_millis(100);

fn arg(n: usize, default: u64) -> Result<u64, String> {
    match std::env::args().nth(n) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .ok()
            .filter(|&v| v > 0)
            .ok_or(format!("{s:?} is not a positive whole number")),
    }
}

/// How many members node `i` sees alive or suspect (not down), itself included.
fn seen_up(sim: &Sim, i: usize) -> usize {
    sim.core(i).map_or(0, |core| {
        core.members()
            .iter()
            .filter(|m| matches!(m.status, MemberStatus::Alive | MemberStatus::Suspect))
            .count()
    })
}

fn run(nodes: usize, roles: usize, candidates: usize, seed: u64) -> Result<(), String> {
    let wall = Instant::now();
    let mut config = SimConfig::new(Profile::Lan, nodes, seed);
    config.record_trace = false;
    let mut sim = Sim::new(config);
    let lease = sim.config(0).lease;
    let limit = Duration::from_secs(1200);
    // Milestones: the first time every node sees at least this share of the members.
    let shares = [0.9, 0.99, 1.0];
    let mut next = 0;
    // Wall time spent checking convergence, which is not simulation.
    let mut checking = Duration::ZERO;
    while next < shares.len() {
        let checked = Instant::now();
        let wanted = (shares[next] * nodes as f64).ceil() as usize;
        // Stops at the first node short of the share, so most checks are cheap.
        let reached = (0..sim.len()).all(|i| seen_up(&sim, i) >= wanted);
        checking += checked.elapsed();
        if reached {
            println!(
                "membership: every node sees at least {:.0}% of the {nodes} nodes after {:.1} s simulated ({:.1} s wall)",
                shares[next] * 100.0,
                sim.now().as_secs_f64(),
                (wall.elapsed() - checking).as_secs_f64()
            );
            next += 1;
            continue;
        }
        if sim.now() >= limit {
            let least = (0..sim.len()).map(|i| seen_up(&sim, i)).min().unwrap_or(0);
            println!(
                "membership: after {:.0} s simulated the node that sees fewest sees {least} of {nodes}",
                limit.as_secs_f64()
            );
            break;
        }
        // Fine steps while most joins spread, then coarser.
        sim.run_for(if next < 2 {
            CHECK_EVERY
        } else {
            10 * CHECK_EVERY
        });
    }
    sim.run_for(lease);
    let names: Vec<RoleName> = (0..roles)
        .map(|r| RoleName::new(format!("role-{r}")).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let campaigned = sim.now();
    let elect_wall = Instant::now();
    for (r, role) in names.iter().enumerate() {
        for c in 0..candidates {
            // Candidates spread over the cluster: role r's go to nodes r, r + n/3, r + 2n/3.
            let node = (r + c * nodes / candidates) % nodes;
            sim.campaign(node, role);
        }
    }
    while names.iter().any(|role| sim.holders(role).is_empty()) {
        if sim.now() - campaigned >= limit {
            let vacant = names
                .iter()
                .filter(|role| sim.holders(role).is_empty())
                .count();
            return Err(format!("{vacant} roles still vacant after {limit:?}"));
        }
        sim.run_for(Duration::from_millis(10));
    }
    // Exact: the last first acquisition of each role, from the nodes' events.
    let wanted: HashSet<&RoleName> = names.iter().collect();
    let mut first = std::collections::HashMap::new();
    for i in 0..sim.len() {
        for (at, event) in sim.events(i) {
            if let Event::RoleAcquired { role, .. } = event
                && *at >= campaigned
                && wanted.contains(role)
            {
                let t = first.entry(role.clone()).or_insert(*at);
                *t = (*t).min(*at);
            }
        }
    }
    let mut took: Vec<Duration> = first.values().map(|at| *at - campaigned).collect();
    took.sort();
    let last = took.last().copied().unwrap_or_default();
    let median = took.get(took.len() / 2).copied().unwrap_or_default();
    let elect_wall = elect_wall.elapsed();
    let holders: HashSet<usize> = names
        .iter()
        .flat_map(|role| sim.holders(role).into_iter().map(|(n, _)| n))
        .collect();
    println!(
        "elections: all {roles} roles held {:.1} ms after the campaigns, half of them by {:.1} ms (simulated; {} distinct holders, {} grants; {:.1} s wall)",
        last.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        holders.len(),
        names.iter().map(|role| sim.grants(role)).sum::<usize>(),
        elect_wall.as_secs_f64()
    );
    let checked = Instant::now();
    sim.check()?;
    let total = wall.elapsed() - checking;
    let simulated = sim.now();
    println!(
        "total: {:.1} s simulated in {:.1} s wall ({:.2}x real time; safety check {:.1} s included, {:.1} s of convergence checks left out)",
        simulated.as_secs_f64(),
        total.as_secs_f64(),
        simulated.as_secs_f64() / total.as_secs_f64(),
        checked.elapsed().as_secs_f64(),
        checking.as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let parsed = (|| Ok::<_, String>((arg(1, 1000)?, arg(2, 100)?, arg(3, 3)?, arg(4, 1)?)))();
    let (nodes, roles, candidates, seed) = match parsed {
        Ok(v) => v,
        Err(error) => {
            eprintln!("usage: sim_scale [NODES] [ROLES] [CANDIDATES] [SEED]: {error}");
            return ExitCode::from(2);
        }
    };
    println!(
        "sim_scale: {nodes} nodes, {roles} roles, {candidates} candidates each, seed {seed}, profile lan"
    );
    match run(nodes as usize, roles as usize, candidates as usize, seed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sim_scale: {error}");
            ExitCode::FAILURE
        }
    }
}
