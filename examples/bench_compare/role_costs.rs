//! What roles cost an agent: resident memory after many roles were elected and resigned,
//! and idle CPU while holding many roles.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;
use crate::http::{get, post};
use crate::polity_cluster::{Polity, elect_at};
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

/// Resident memory (MB) of every agent of `c`, read at once: all of it (`VmRSS`, the
/// binary's code pages included), its own (`RssAnon`), and the bytes in its live
/// allocations (from `polity_heap_allocated_bytes`), as `RSS / anon / live`.
fn rss(c: &Polity) -> Result<Vec<String>> {
    let pids: Vec<i32> = c.agents.iter().map(|a| a.proc.pid()).collect();
    let resident = idle_cost(&pids, 0)?;
    (0..c.agents.len())
        .map(|i| {
            let (_, metrics) = get(&c.client, &c.url(i, "/metrics"))?;
            let sample = |name: &str| {
                metrics
                    .lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                    .map(str::trim)
            };
            let live = sample("polity_heap_allocated_bytes")
                .and_then(|n| n.parse::<f64>().ok())
                .map_or_else(|| String::from("?"), |b| format!("{:.2}", b / 1e6));
            let backlog = sample("polity_gossip_backlog").unwrap_or("?");
            let (all, anon, _) = resident[i];
            Ok(format!("{all:.2} / {anon:.2} / {live} MB, {backlog}"))
        })
        .collect()
}

/// 3 agents; agent 0 elects and resigns `roles` distinct roles one after another. Prints
/// each agent's resident memory before, right after, and once the agents have had
/// `forget_after` (twice over) to forget the vacant roles, with how many roles each lists,
/// and 3 minutes after that, once gossip has drained.
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
    let settled_listed: Vec<usize> = (0..3).map(|i| listed(&c, i)).collect::<Result<_>>()?;
    // Gossip still carries the last announcements for a while: read memory again once
    // it has drained.
    const DRAINED: Duration = Duration::from_secs(180);
    thread::sleep(DRAINED);
    let drained = rss(&c)?;
    println!(
        "\n## {roles} roles elected and resigned on agent 0 of 3 ({:.0} s), lan\n\nEach cell: VmRSS / RssAnon / bytes in live allocations, then announcements in the gossip backlog.\n\n| agent | before | right after | roles listed | {} s later | roles listed | {} s later |\n| --- | --- | --- | --- | --- | --- | --- |",
        churned.as_secs_f64(),
        (2 * forget_after + Duration::from_secs(5)).as_secs(),
        (2 * forget_after + Duration::from_secs(5) + DRAINED).as_secs(),
    );
    for i in 0..3 {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.agents[i].name,
            before[i],
            after[i],
            after_listed[i],
            settled[i],
            settled_listed[i],
            drained[i],
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

/// The sum of every sample of metric `name` (any labels) that agent `i` exposes.
fn metric(c: &Polity, i: usize, name: &str) -> Result<f64> {
    let (status, body) = get(&c.client, &c.url(i, "/metrics"))?;
    if status != 200 {
        return Err(format!("metrics: {status} {body}"));
    }
    let mut sum = 0.0;
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or((line, ""));
        let base = series.split('{').next().unwrap_or(series);
        if base == name {
            sum += value.parse::<f64>().map_err(|e| format!("{line}: {e}"))?;
        }
    }
    Ok(sum)
}

/// 5 agents; agent 0 elects `roles` roles at once (16 requests in flight), holds them
/// for 60 s, then resigns 100 of them one after another. Prints how long the elections
/// took, and how many roles agent 0 still holds and lost after each step.
pub fn many_held(bin: &Path, work: &Path, roles: usize) -> Result<()> {
    const IN_FLIGHT: usize = 16;
    const HOLD: Duration = Duration::from_secs(60);
    const RESIGNED: usize = 100;
    let c = Polity::start(bin, work, "lan", 5)?;
    let lost_before = metric(&c, 0, "polity_roles_lost_total")?;
    let urls: Vec<String> = (0..roles)
        .map(|i| c.url(0, &format!("/roles/shard-{i}/elect")))
        .collect();
    let started = Instant::now();
    let failures: Vec<String> = thread::scope(|s| {
        let workers: Vec<_> = (0..IN_FLIGHT)
            .map(|k| {
                let (client, urls) = (c.client.clone(), &urls);
                s.spawn(move || {
                    urls.iter()
                        .skip(k)
                        .step_by(IN_FLIGHT)
                        .find_map(|url| elect_at(&client, url).err())
                })
            })
            .collect();
        workers
            .into_iter()
            .filter_map(|w| w.join().unwrap_or(Some("a worker panicked".into())))
            .collect()
    });
    let elected = started.elapsed();
    if let Some(failure) = failures.first() {
        return Err(failure.clone());
    }
    thread::sleep(HOLD);
    let held = metric(&c, 0, "polity_roles_held")?;
    let lost = metric(&c, 0, "polity_roles_lost_total")? - lost_before;
    let seen = listed(&c, 1)?;
    check_held(&c, held, roles, lost, 0.0)?;
    // Then it resigns some, one after another: each changes the held set, and the others
    // must ride through.
    for i in 0..RESIGNED {
        let url = c.url(0, &format!("/roles/shard-{i}/resign"));
        let (status, body) = post(&c.client, &url, "")?;
        if status != 200 {
            return Err(format!("{url}: {status} {body}"));
        }
    }
    thread::sleep(Duration::from_secs(10));
    let after_held = metric(&c, 0, "polity_roles_held")?;
    let after_lost = metric(&c, 0, "polity_roles_lost_total")? - lost_before;
    println!(
        "\n## {roles} roles held by agent 0 of 5, lan\n\n| roles | all elected in | held {} s later | lost meanwhile | roles p1 lists | held 10 s after resigning {RESIGNED} | lost in all |\n| --- | --- | --- | --- | --- | --- | --- |",
        HOLD.as_secs()
    );
    println!(
        "| {roles} | {:.2} s ({IN_FLIGHT} requests in flight) | {held} | {lost} | {seen} | {after_held} | {after_lost} |",
        elected.as_secs_f64()
    );
    check_held(
        &c,
        after_held,
        roles - RESIGNED,
        after_lost,
        RESIGNED as f64,
    )?;
    Ok(())
}

/// Fails unless agent 0 holds `want` roles and lost `lost_want` (the ones it resigned).
fn check_held(c: &Polity, held: f64, want: usize, lost: f64, lost_want: f64) -> Result<()> {
    if held as usize == want && lost == lost_want {
        return Ok(());
    }
    let (_, body) = get(&c.client, &c.url(0, "/metrics"))?;
    let reasons: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("polity_roles_lost_total{"))
        .collect();
    Err(format!(
        "{held} of {want} roles held, {lost} lost: {reasons:?}"
    ))
}
