//! A cluster of N nodes in one process on 127.0.0.1: they find one another, all campaign
//! for the role "scheduler", and the role moves on when its holder crashes and again
//! when the next holder resigns.
//!
//! ```text
//! cargo run --release --example local_cluster            # 5 nodes
//! cargo run --release --example local_cluster -- --nodes 8
//! ```
//!
//! The nodes use the `lan` profile (lease 1.5 s): a failover takes about one lease, a
//! handoff a few round trips. Exits 0 when every step was seen, 1 if a step did not
//! happen in time, 2 on bad arguments.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use polity::{Config, Leadership, MemberStatus, Node, NodeError, NodeHandle, NodeName, RoleName};
use tokio::task::JoinSet;
use tokio::time::timeout;

const DEFAULT_NODES: usize = 5;
/// A failover needs a majority of the nodes to survive the crash.
const MIN_NODES: usize = 3;
const MAX_NODES: usize = 64;

/// Slack added to every bound, for a loaded machine.
const SLACK: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let n = match node_count(std::env::args().skip(1)) {
        Ok(n) => n,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("usage: local_cluster [--nodes N]   (N from {MIN_NODES} to {MAX_NODES})");
            return ExitCode::from(2);
        }
    };
    match run(n).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The number of nodes from `--nodes N`, `--nodes=N` or a lone `N`.
fn node_count(mut args: impl Iterator<Item = String>) -> Result<usize, String> {
    let text = match args.next() {
        None => return Ok(DEFAULT_NODES),
        Some(flag) if flag == "--nodes" => args
            .next()
            .ok_or_else(|| String::from("--nodes needs a number"))?,
        Some(arg) => match arg.strip_prefix("--nodes=") {
            Some(value) => value.to_owned(),
            None if !arg.starts_with('-') => arg,
            None => return Err(format!("unknown argument {arg:?}")),
        },
    };
    if let Some(extra) = args.next() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of nodes"))?;
    if !(MIN_NODES..=MAX_NODES).contains(&n) {
        return Err(format!("{n} nodes: choose from {MIN_NODES} to {MAX_NODES}"));
    }
    Ok(n)
}

/// Prints timeline lines relative to the start.
struct Timeline(Instant);

impl Timeline {
    fn say(&self, what: impl std::fmt::Display) {
        println!("{:>8.3}s  {what}", self.0.elapsed().as_secs_f64());
    }
}

/// The campaigns still waiting: each task ends with its node's index and outcome.
type Campaigns = JoinSet<(usize, Result<Leadership, NodeError>)>;

async fn run(n: usize) -> Result<(), String> {
    let clock = Timeline(Instant::now());
    let mut nodes: Vec<NodeHandle> = Vec::with_capacity(n);
    for i in 0..n {
        let mut config = Config::lan(node_name(i)?);
        config.bind = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
        if let Some(first) = nodes.first() {
            config.join = vec![first.local_addr()];
        }
        let node = Node::start(config)
            .await
            .map_err(|e| format!("starting node-{i}: {e}"))?;
        nodes.push(node);
    }
    clock.say(format_args!("started {n} nodes on 127.0.0.1"));
    let config = Config::lan(node_name(0)?);
    let membership_bound = config.failure_detection_bound(n) + SLACK;
    // A failover takes one lease and an election round; a first election also waits
    // out the voters' quiet time after they start (one lease).
    let role_bound = config.lease * 2 + SLACK;

    // 1. Membership: every node sees every node alive.
    bounded(
        membership_bound,
        "every node to see all nodes alive",
        async {
            for node in &nodes {
                while !sees_all_alive(node, n).await? {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Ok(())
        },
    )
    .await?;
    clock.say(format_args!(
        "membership converged: every node sees {n} alive"
    ));

    // 2. Every node campaigns for the role; one wins.
    let scheduler = RoleName::new("scheduler").map_err(|e| e.to_string())?;
    let mut campaigns = Campaigns::new();
    for (i, node) in nodes.iter().enumerate() {
        let (node, role) = (node.clone(), scheduler.clone());
        campaigns.spawn(async move { (i, node.campaign(role).await) });
    }
    clock.say(format_args!("all {n} nodes campaign for \"{scheduler}\""));
    let (holder, leadership) = next_holder(&mut campaigns, role_bound, "a first holder").await?;
    clock.say(format_args!(
        "node-{holder} holds \"{scheduler}\" with term {}",
        leadership.term()
    ));

    // 3. The holder crashes: no resignation, no goodbye. A waiting node takes over once
    // the voters' leases run out.
    nodes[holder].shutdown().await;
    let crashed = Instant::now();
    clock.say(format_args!("node-{holder} crashes"));
    let (next, taken) = next_holder(&mut campaigns, role_bound, "a failover").await?;
    let failover = crashed.elapsed();
    clock.say(format_args!(
        "node-{next} takes over with term {}, {} ms after the crash",
        taken.term(),
        failover.as_millis()
    ));
    drop(leadership);

    // 4. The new holder resigns: the voters release their leases at once, and a waiting
    // node takes over within a few round trips.
    let resigned = Instant::now();
    let lost = taken.lost();
    taken.resign().await.map_err(|e| e.to_string())?;
    let reason = lost.await.map_err(|e| e.to_string())?;
    clock.say(format_args!("node-{next} resigns (lost: {reason:?})"));
    let (last, handed) = next_holder(&mut campaigns, role_bound, "a handoff").await?;
    let handoff = resigned.elapsed();
    clock.say(format_args!(
        "node-{last} takes over with term {}, {} ms after the resignation",
        handed.term(),
        handoff.as_millis()
    ));

    drop(handed);
    campaigns.abort_all();
    for node in &nodes {
        node.shutdown().await;
    }
    clock.say("done");
    Ok(())
}

fn node_name(i: usize) -> Result<NodeName, String> {
    NodeName::new(format!("node-{i}")).map_err(|e| e.to_string())
}

/// Whether `node` sees `n` members, all alive.
async fn sees_all_alive(node: &NodeHandle, n: usize) -> Result<bool, String> {
    let members = node.members().await.map_err(|e| e.to_string())?;
    let alive = members
        .iter()
        .filter(|m| m.status == MemberStatus::Alive)
        .count();
    Ok(alive == n)
}

/// Waits for the next campaign to win, within `bound`.
async fn next_holder(
    campaigns: &mut Campaigns,
    bound: Duration,
    what: &str,
) -> Result<(usize, Leadership), String> {
    bounded(bound, what, async {
        match campaigns.join_next().await {
            Some(Ok((i, Ok(leadership)))) => Ok((i, leadership)),
            Some(Ok((i, Err(error)))) => Err(format!("node-{i}'s campaign failed: {error}")),
            Some(Err(error)) => Err(format!("a campaign task failed: {error}")),
            None => Err(String::from("no campaign is left")),
        }
    })
    .await
}

/// Runs `step`, or fails saying what did not happen within `bound`.
async fn bounded<T>(
    bound: Duration,
    what: &str,
    step: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match timeout(bound, step).await {
        Ok(result) => result,
        Err(_) => Err(format!("gave up after {bound:?} waiting for {what}")),
    }
}
