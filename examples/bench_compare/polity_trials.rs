//! The timed trials of polity: failover, handoff and election latency.

use std::collections::HashMap;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;
use crate::http::post;
use crate::polity_cluster::{AgentSetup, Polity};
use crate::proc::{Proc, first_line};

/// Failover: kill -9 the holder while the other four wait with `polity elect --wait`;
/// time until the first of them prints the term it won.
pub fn polity_failover(
    bin: &Path,
    work: &Path,
    profile: &str,
    trials: usize,
) -> Result<Vec<Duration>> {
    let mut c = Polity::start(bin, work, profile, 5)?;
    let role = "failover";
    c.elect(0, role)?;
    let mut holder = 0;
    let mut waiters: HashMap<usize, Proc> = HashMap::new();
    for i in 1..5 {
        waiters.insert(i, c.waiter(i, role, &format!("wait-{i}-0"))?);
    }
    let mut samples = Vec::new();
    for trial in 0..trials {
        thread::sleep(c.lease + Duration::from_millis(500));
        let killed_at = c.agents[holder].proc.kill9();
        let order: Vec<usize> = waiters.keys().copied().collect();
        let procs: Vec<&Proc> = order.iter().map(|i| &waiters[i]).collect();
        let (w, won_at, _) = first_line(&procs, Duration::from_secs(60), |l| {
            l.trim().parse::<u64>().is_ok()
        })
        .map_err(|e| format!("polity {profile} failover trial {trial}: {e}"))?;
        samples.push(won_at - killed_at);
        let winner = order[w];
        waiters.remove(&winner);
        c.restart(holder)?;
        c.settle()?;
        waiters.insert(
            holder,
            c.waiter(holder, role, &format!("wait-{holder}-{}", trial + 1))?,
        );
        holder = winner;
    }
    Ok(samples)
}

/// The agents' `RUST_LOG` in the handoff trial: `info`, as everywhere, and the role
/// layer's elections at `debug`, whose "election lost" line is the only sign an agent
/// gives that a campaign has asked the voters and waits for the holder to go:
/// `polity elect --wait` prints nothing until it wins, and neither the agent's view of
/// the role nor its metrics change while its node campaigns. It costs one more line a
/// winner writes ("election started") inside the timed handoff, and the trial reads a
/// debug line's words: if they change, it fails waiting for them instead of timing.
const ELECTIONS_LOGGED: &str = "info,polity::core::roles=debug";

/// Handoff: the holder resigns through the API while a second agent waits with
/// `polity elect --wait`; time until the waiter prints the term it won.
pub fn polity_handoff(bin: &Path, work: &Path, trials: usize) -> Result<Vec<Duration>> {
    let setup = AgentSetup {
        log_filter: Some(ELECTIONS_LOGGED),
        ..AgentSetup::default()
    };
    let c = Polity::start_with(bin, work, "lan", 5, setup)?;
    let role = "handoff";
    c.elect(0, role)?;
    let mut holder = 0;
    let mut samples = Vec::new();
    for trial in 0..trials {
        let next = (holder + 1) % 5;
        let candidate = &c.agents[next].proc;
        candidate.drain();
        let waiter = c.waiter(next, role, &format!("handoff-{trial}"))?;
        // The campaign's first election, lost to the holder: it now waits for the holder.
        let lost_to = format!("holder: \"{}\"", c.agents[holder].name);
        let in_role = format!(" role={role} ");
        candidate
            .wait_line(Duration::from_secs(30), |l| {
                l.contains("election lost") && l.contains(&in_role) && l.contains(&lost_to)
            })
            .map_err(|e| format!("polity handoff trial {trial}, campaign: {e}"))?;
        let resigned_at = Instant::now();
        let (status, body) = post(
            &c.client,
            &c.url(holder, &format!("/roles/{role}/resign")),
            "",
        )?;
        if status != 200 {
            return Err(format!("resign: {status} {body}"));
        }
        let (won_at, _) = waiter
            .wait_line(Duration::from_secs(30), |l| l.trim().parse::<u64>().is_ok())
            .map_err(|e| format!("polity handoff trial {trial}: {e}"))?;
        samples.push(won_at - resigned_at);
        holder = next;
    }
    Ok(samples)
}

/// Uncontended election latency: `POST /v1/roles/ROLE/elect` on one agent, a new role
/// each time, resigned afterwards (not timed).
pub fn polity_elections(bin: &Path, work: &Path, n: usize) -> Result<Vec<Duration>> {
    let c = Polity::start(bin, work, "lan", 5)?;
    c.elect(0, "warm-up")?;
    let mut samples = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let (status, body) = post(&c.client, &c.url(0, &format!("/roles/e-{i}/elect")), "")?;
        let took = started.elapsed();
        if status != 200 {
            return Err(format!("election {i}: {status} {body}"));
        }
        samples.push(took);
        post(&c.client, &c.url(0, &format!("/roles/e-{i}/resign")), "")?;
    }
    Ok(samples)
}
