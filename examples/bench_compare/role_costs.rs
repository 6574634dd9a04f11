//! What roles cost an agent: resident memory after many roles were elected and resigned,
//! and idle CPU while holding many roles.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;
use crate::http::{get, post};
use crate::polity_cluster::Polity;
use crate::proc_usage::idle_cost;

/// How many roles agent `i` lists in `GET /v1/roles`.
fn listed(c: &Polity, i: usize) -> Result<usize> {
    let (status, body) = get(&c.client, &c.url(i, "/roles"))?;
    if status != 200 {
        return Err(format!("roles: {status} {body}"));
    }
    let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(v["roles"].as_array().map_or(0, Vec::len))
}

/// Resident memory (MB) of every agent of `c`, read at once.
fn rss(c: &Polity) -> Result<Vec<f64>> {
    let pids: Vec<i32> = c.agents.iter().map(|a| a.proc.pid()).collect();
    Ok(idle_cost(&pids, 0)?
        .into_iter()
        .map(|(rss, ..)| rss)
        .collect())
}

/// 3 agents; agent 0 elects and resigns `roles` distinct roles one after another. Prints
/// each agent's resident memory before, right after, and once the agents have had
/// `forget_after` (twice over) to forget the vacant roles, with how many roles each lists.
pub fn role_churn(bin: &Path, work: &Path, roles: usize) -> Result<()> {
    let c = Polity::start(bin, work, "lan", 3)?;
    c.elect(0, "warm-up")?;
    post(&c.client, &c.url(0, "/roles/warm-up/resign"), "")?;
    thread::sleep(Duration::from_secs(10));
    let before = rss(&c)?;
    let started = Instant::now();
    for i in 0..roles {
        let role = format!("job-{i}");
        c.elect(0, &role)?;
        let (status, body) = post(&c.client, &c.url(0, &format!("/roles/{role}/resign")), "")?;
        if status != 200 {
            return Err(format!("resign {role}: {status} {body}"));
        }
    }
    let churned = started.elapsed();
    let after = rss(&c)?;
    let after_listed: Vec<usize> = (0..3).map(|i| listed(&c, i)).collect::<Result<_>>()?;
    let forget_after = polity::Config::new(
        polity::NodeName::new("bench").map_err(|e| e.to_string())?,
        polity::Profile::Lan,
    )
    .forget_after();
    thread::sleep(2 * forget_after + Duration::from_secs(5));
    let settled = rss(&c)?;
    println!(
        "\n## {roles} roles elected and resigned on agent 0 of 3 ({:.0} s), lan\n\n| agent | VmRSS before | right after | roles listed | {} s later | roles listed |\n| --- | --- | --- | --- | --- | --- |",
        churned.as_secs_f64(),
        (2 * forget_after + Duration::from_secs(5)).as_secs()
    );
    for i in 0..3 {
        println!(
            "| {} | {:.2} MB | {:.2} MB | {} | {:.2} MB | {} |",
            c.agents[i].name,
            before[i],
            after[i],
            after_listed[i],
            settled[i],
            listed(&c, i)?
        );
    }
    Ok(())
}

/// 3 agents; agent 0 holds `held` roles. Prints the idle cost of each agent over `secs`,
/// after a first run holding one role, so that both come from the same run.
pub fn held_idle(bin: &Path, work: &Path, held: usize, secs: u64) -> Result<()> {
    println!(
        "\n## idle cost of holding many roles, 3 agents, lan\n\n| roles held by p0 | agent | VmRSS | CPU of one core |\n| --- | --- | --- | --- |"
    );
    for count in [1, held] {
        let c = Polity::start(bin, work, "lan", 3)?;
        for i in 0..count {
            c.elect(0, &format!("held-{i}"))?;
        }
        // Gossip carries each `Elected` `max_transmissions` times, a few dozen to a
        // packet: for 3,000 roles that takes about a minute, which is not idle.
        thread::sleep(Duration::from_secs(75));
        let pids: Vec<i32> = c.agents.iter().map(|a| a.proc.pid()).collect();
        let cost = idle_cost(&pids, secs)?;
        for (agent, (rss, _, cpu)) in c.agents.iter().zip(cost) {
            println!(
                "| {count} | {} | {rss:.2} MB | {cpu:.2}% ({secs} s) |",
                agent.name
            );
        }
        let still = listed(&c, 1)?;
        if still < count {
            return Err(format!("p1 lists {still} of the {count} roles held"));
        }
    }
    Ok(())
}
