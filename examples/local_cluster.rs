//! A cluster of N nodes in one process on 127.0.0.1: watch them find one another, notice
//! a crash, and see a graceful leave.
//!
//! ```text
//! cargo run --release --example local_cluster            # 5 nodes
//! cargo run --release --example local_cluster -- --nodes 8
//! ```
//!
//! Exits 0 when every step was seen, 1 if a step did not happen in time, 2 on bad
//! arguments.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use polity::{Config, Event, MemberStatus, Node, NodeHandle, NodeName};
use tokio::sync::mpsc;
use tokio::time::timeout;

const DEFAULT_NODES: usize = 5;
const MAX_NODES: usize = 64;

/// Slack added to every bound, for a loaded machine.
const SLACK: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let n = match node_count(std::env::args().skip(1)) {
        Ok(n) => n,
        Err(message) => {
            eprintln!("error: {message}");
            eprintln!("usage: local_cluster [--nodes N]   (N from 2 to {MAX_NODES})");
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
    if !(2..=MAX_NODES).contains(&n) {
        return Err(format!("{n} nodes: choose from 2 to {MAX_NODES}"));
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

/// An event seen by the node at this index.
type Seen = (usize, Event);

async fn run(n: usize) -> Result<(), String> {
    let clock = Timeline(Instant::now());
    let (seen_tx, mut seen) = mpsc::unbounded_channel::<Seen>();
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
        forward_events(i, &node, seen_tx.clone());
        nodes.push(node);
    }
    clock.say(format_args!(
        "started {n} nodes on 127.0.0.1 (ports {})",
        ports(&nodes)
    ));
    // Each wait allows the time to detect a crash without packet loss, and slack.
    let bound = Config::lan(node_name(0)?).failure_detection_bound(n) + SLACK;

    // 1. Convergence: every node sees every node alive. Check each node now, then again
    // after each of its events.
    let mut converged = Vec::with_capacity(n);
    for node in &nodes {
        converged.push(sees_all_alive(node, n, &clock).await?);
    }
    bounded(bound, "every node to see all nodes alive", async {
        while converged.contains(&false) {
            let Some((i, _)) = seen.recv().await else {
                return Err(String::from("every node stopped"));
            };
            if !converged[i] {
                converged[i] = sees_all_alive(&nodes[i], n, &clock).await?;
            }
        }
        Ok(())
    })
    .await?;
    clock.say(format_args!(
        "membership converged: every node sees {n} alive"
    ));

    // 2. A crash: the last node stops without goodbye.
    let crashed = n - 1;
    nodes[crashed].shutdown().await;
    let crash_time = Instant::now();
    clock.say(format_args!("node-{crashed} crashes (no goodbye)"));
    let survivors: Vec<usize> = (0..crashed).collect();
    let crashed_name = node_name(crashed)?;
    let what = format!("every survivor to see node-{crashed} down");
    bounded(bound, &what, async {
        wait_for_each(&mut seen, &survivors, &clock, |event| match event {
            Event::MemberDown(id) if *id.name() == crashed_name => {
                Some(format!("sees node-{crashed} down"))
            }
            _ => None,
        })
        .await
    })
    .await?;
    let population = nodes[0].population().await.map_err(|e| e.to_string())?;
    clock.say(format_args!(
        "every survivor sees node-{crashed} down, {:.3}s after the crash; \
         population still {population}",
        crash_time.elapsed().as_secs_f64(),
    ));

    // 3. A graceful leave: the node before it says goodbye.
    if survivors.len() < 2 {
        clock.say("no graceful leave: nobody would be left to see it");
    } else {
        let leaver = crashed - 1;
        nodes[leaver].leave().await.map_err(|e| e.to_string())?;
        let leave_time = Instant::now();
        clock.say(format_args!("node-{leaver} leaves (goodbye sent)"));
        let stayers: Vec<usize> = (0..leaver).collect();
        let leaver_name = node_name(leaver)?;
        let what = format!("every remaining node to see node-{leaver} leave");
        bounded(bound, &what, async {
            wait_for_each(&mut seen, &stayers, &clock, |event| match event {
                Event::MemberLeft(id) if *id.name() == leaver_name => {
                    Some(format!("sees node-{leaver} left"))
                }
                _ => None,
            })
            .await
        })
        .await?;
        let population = nodes[0].population().await.map_err(|e| e.to_string())?;
        clock.say(format_args!(
            "every remaining node sees node-{leaver} left, {:.3}s after it left; \
             population now {population}",
            leave_time.elapsed().as_secs_f64(),
        ));
    }

    for node in &nodes {
        node.shutdown().await;
    }
    clock.say("done");
    Ok(())
}

fn node_name(i: usize) -> Result<NodeName, String> {
    NodeName::new(format!("node-{i}")).map_err(|e| e.to_string())
}

fn ports(nodes: &[NodeHandle]) -> String {
    let ports: Vec<String> = nodes
        .iter()
        .map(|node| node.local_addr().port().to_string())
        .collect();
    ports.join(", ")
}

/// Copies node `i`'s events into the shared timeline channel until the node stops.
fn forward_events(i: usize, node: &NodeHandle, to: mpsc::UnboundedSender<Seen>) {
    let mut events = node.events();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if to.send((i, event)).is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Whether `node` sees `n` members, all alive; prints it when it does.
async fn sees_all_alive(node: &NodeHandle, n: usize, clock: &Timeline) -> Result<bool, String> {
    let members = node.members().await.map_err(|e| e.to_string())?;
    let alive = members
        .iter()
        .filter(|m| m.status == MemberStatus::Alive)
        .count();
    if alive == n {
        clock.say(format_args!("{} sees all {n} alive", node.id().name()));
    }
    Ok(alive == n)
}

/// Waits until each node in `who` has had an event that `wanted` describes, printing
/// each the first time.
async fn wait_for_each(
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    who: &[usize],
    clock: &Timeline,
    wanted: impl Fn(&Event) -> Option<String>,
) -> Result<(), String> {
    let mut pending: Vec<usize> = who.to_vec();
    while !pending.is_empty() {
        let Some((i, event)) = seen.recv().await else {
            return Err(String::from("every node stopped"));
        };
        if let Some(what) = wanted(&event)
            && let Some(at) = pending.iter().position(|&p| p == i)
        {
            pending.swap_remove(at);
            clock.say(format_args!("node-{i} {what}"));
        }
    }
    Ok(())
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
