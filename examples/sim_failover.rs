//! Failover and handoff times in the simulator, in simulated time, over many seeds.
//!
//! `cargo run --profile bench --features sim --example sim_failover [SEEDS]`
//!
//! For each profile: 5 nodes campaign for one role; the holder crashes (failover: time
//! from the crash until another node holds the role), then later the new holder resigns
//! (handoff: time until a waiting candidate holds it). Prints p50, p99 and max.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use polity::sim::{Sim, SimConfig};
use polity::{Event, Profile, RoleName};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "{name:<9} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} runs)",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len()
    )
}

/// Runs one seed; returns (failover, handoff) in simulated time.
fn run(profile: Profile, seed: u64) -> Result<(Duration, Duration), String> {
    let mut config = SimConfig::new(profile, 5, seed);
    config.record_trace = false;
    let mut sim = Sim::new(config);
    let lease = sim.config(0).lease;
    sim.run_until(Duration::from_secs(60), Sim::converged)
        .ok_or("no convergence")?;
    sim.run_for(lease);
    let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
    for node in 0..5 {
        sim.campaign(node, &role);
    }
    sim.run_until(10 * lease, |s| s.holders(&role).len() == 1)
        .ok_or("nobody won")?;
    sim.run_for(2 * lease);
    let (old, _) = sim.holders(&role)[0];
    let crashed_at = sim.now();
    sim.crash(old);
    sim.run_until(10 * lease, |s| {
        s.holders(&role).iter().any(|&(n, _)| n != old)
    })
    .ok_or("no failover")?;
    let (new, _) = sim.holders(&role)[0];
    let failover = acquired_at(&sim, new, &role)? - crashed_at;
    sim.run_for(2 * lease);
    let resigned_at = sim.now();
    sim.resign(new, &role);
    sim.run_until(10 * lease, |s| {
        s.holders(&role).iter().any(|&(n, _)| n != new)
    })
    .ok_or("no handoff")?;
    let (next, _) = sim.holders(&role)[0];
    let handoff = acquired_at(&sim, next, &role)? - resigned_at;
    sim.check()?;
    Ok((failover, handoff))
}

/// When node `i` last acquired `role`, exactly, in simulated time.
fn acquired_at(sim: &Sim, i: usize, role: &RoleName) -> Result<Duration, String> {
    sim.events(i)
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, Event::RoleAcquired { role: r, .. } if r == role))
        .map(|(at, _)| *at)
        .ok_or_else(|| format!("n{i} holds {role} without having acquired it"))
}

fn main() -> ExitCode {
    let seeds: u64 = match std::env::args().nth(1).map(|s| s.parse()) {
        None => 200,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: sim_failover [SEEDS], SEEDS a positive whole number");
            return ExitCode::from(2);
        }
    };
    for profile in [Profile::Lan, Profile::Fast, Profile::Wan] {
        let started = Instant::now();
        let (mut failovers, mut handoffs) = (Vec::new(), Vec::new());
        for seed in 0..seeds {
            match run(profile, seed) {
                Ok((f, h)) => {
                    failovers.push(f);
                    handoffs.push(h);
                }
                Err(error) => {
                    eprintln!("{profile}: seed {seed} failed: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        println!(
            "profile {profile} (5 nodes, simulated time; wall {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        println!("  {}", summary("failover", failovers));
        println!("  {}", summary("handoff", handoffs));
    }
    ExitCode::SUCCESS
}
