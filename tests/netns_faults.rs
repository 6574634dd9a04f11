//! Real `polity campaign` processes on five hosts, each host a network namespace joined
//! to the others by a bridge, and faults injected into the processes and the network
//! between them: the program under test is the one users run, over real UDP.
//!
//! Every node runs `polity campaign scheduler --profile lan -- CMD` (lease 1.5 s), where
//! CMD appends `<uptime> <node> <term> start|tick|stop` lines to a log of its own: a start,
//! a tick every 50 ms, and a stop when it gets SIGTERM. The checker
//! ([`netns::checker`]) reads the logs: no two nodes' CMD run at overlapping times
//! beyond the clock's 10 ms resolution, terms increase with time. The driver measures
//! each failover, from the fault to the first start of a new term on another node, and
//! after each fault heals waits for one holder that keeps the role for a lease.
//!
//! The faults, one after the other: SIGKILL of the holder's `campaign` and a restart of
//! the killed node; SIGSTOP of the holder (its `campaign` and CMD's process group) for
//! two leases, resumed `campaign` first, then again resumed together as a host resumes;
//! SIGSTOP of the holder's `campaign` alone (CMD keeps running until the watchdog kills
//! it at the deadline); three busy processes per core for 30 s (the role must not move);
//! a 3|2 partition with the holder in the minority, then healed; a one-way partition in
//! which the holder hears nothing while its datagrams still arrive; 10% loss of the
//! datagrams every host receives; a second SIGKILL and restart.
//!
//! Needs root, `ip netns` and iptables; without them the test says why and passes.
//! Namespaces, processes and rules are removed when the test ends, also when it fails
//! (the namespaces' processes are killed and the namespaces deleted, which takes their
//! interfaces and rules with them). On failure it prints the namespace prefix, what the
//! driver did, CMD's logs merged in time order and every node's `campaign` log.
//!
//! Run alone, with the figures printed:
//! `cargo test --release --all-features --test netns_faults -- --nocapture`.
#![cfg(all(feature = "cli", target_os = "linux"))]

#[path = "netns_faults/faults.rs"]
mod faults;
#[path = "netns_faults/fence.rs"]
mod fence;
mod netns;
#[path = "netns_faults/stalls.rs"]
mod stalls;

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use netns::Network;
use netns::checker::{Interventions, Timeline, merged, uptime_now};

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

const ROLE: &str = "scheduler";

const HOSTS: usize = 5;

/// Every node's UDP port, on its host's address.
const PORT: u16 = polity::config::DEFAULT_PORT;

/// The `lan` profile's lease, in centiseconds (checked against the profile when the test
/// starts).
const LEASE_CS: u64 = 150;

/// A failover after a crash or a cut takes at most a lease and a second.
const FAILOVER_BOUND_CS: u64 = LEASE_CS + 100;

/// A holder counts as settled once it has held the role this long without a change.
const SETTLED_CS: u64 = LEASE_CS;

/// Generous bound on any one wait: an election, a failover, a node joining.
const GUARD: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(10);

/// CMD: `sh -c CMD_SCRIPT cmd LOG FENCE DB`. It reads the clock with the `read` builtin,
/// so that a line's time is taken right before it is written, and sleeps with `wait`,
/// which SIGTERM interrupts at once, so the trap writes `stop` well within the grace
/// period. Beside it, `FENCE write DB` (`examples/fenced_store`) writes to a shared
/// SQLite store fenced by `POLITY_TERM`, and is stopped before `stop` is written.
const CMD_SCRIPT: &str = r#"
log=$1
trap 'kill $fence 2>/dev/null; wait $fence; read -r now _ < /proc/uptime; echo "$now $POLITY_HOLDER $POLITY_TERM stop" >> "$log"; exit 0' TERM
read -r now _ < /proc/uptime
echo "$now $POLITY_HOLDER $POLITY_TERM start" >> "$log"
"$2" write "$3" 20 2>> "$log.fence" &
fence=$!
while :; do
  sleep 0.05 & wait $!
  read -r now _ < /proc/uptime
  echo "$now $POLITY_HOLDER $POLITY_TERM tick" >> "$log"
done
"#;

#[test]
fn campaign_keeps_one_holder_through_crashes_pauses_partitions_and_loss() {
    let name = polity::NodeName::new("n0").expect("a valid name");
    let lease = polity::Config::new(name, polity::Profile::Lan).lease;
    assert_eq!(
        u128::from(LEASE_CS) * 10,
        lease.as_millis(),
        "LEASE_CS is the lan lease"
    );
    if let Some(reason) = netns::missing_prerequisite() {
        eprintln!(
            "SKIPPED netns_faults: {reason}; these tests need root, `ip netns` (iproute2) \
             and iptables"
        );
        return;
    }
    let began = Instant::now();
    let network = Network::create(HOSTS);
    let mut cluster = Cluster::start(&network);

    let first = cluster.settled_holder("the first election");
    cluster.note(format!("first holder {} term {}", first.node, first.term));

    cluster.crash_holder("SIGKILL of the holder's campaign");
    cluster.pause_holder(Resume::CampaignFirst);
    cluster.pause_holder(Resume::Together);
    cluster.freeze_campaign_alone();
    cluster.overload_cpu();
    cluster.partition_holder_in_minority();
    cluster.deafen_holder();
    cluster.lose_datagrams(0.1);
    cluster.crash_holder("SIGKILL of the holder's campaign, again");

    let timeline = cluster.timeline();
    let violations = timeline.violations();
    println!("{}", cluster.report(&timeline, began.elapsed()));
    let store = cluster.fence.check();
    println!("fenced store: {store}");
    assert!(store.accepted > 0, "no CMD wrote to the fenced store");
    assert_eq!(
        store.stale_accepted, 0,
        "the fenced store accepted stale writes"
    );
    assert!(
        violations.is_empty(),
        "the logs break the rules:\n{}",
        violations.join("\n")
    );
    let slow: Vec<&Measure> = cluster
        .measures
        .iter()
        .filter(|m| {
            m.bound
                .is_some_and(|bound| m.failover().is_none_or(|f| f > bound))
        })
        .collect();
    assert!(slow.is_empty(), "failovers over their bound: {slow:#?}");
}

/// A scratch directory of its own, removed on drop.
struct Scratch(PathBuf);

/// Scratch directories are named this and the namespace prefix, `pty<pid>`.
const SCRATCH_PREFIX: &str = "polity-netns-faults-pty";

impl Scratch {
    /// Makes the directory, and removes those that runs whose process is gone left.
    fn new(prefix: &str) -> Self {
        let temp = std::env::temp_dir();
        for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX));
            if pid.is_some_and(|pid| {
                pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists()
            }) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let path = temp.join(format!("polity-netns-faults-{prefix}"));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("the scratch directory can be made");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One node: `campaign` on host `index`, named `n<index>`.
struct Node {
    name: String,
    /// The running `campaign`, if any.
    child: Option<Child>,
    state_dir: PathBuf,
    /// CMD's log.
    cmd_log: PathBuf,
    /// `campaign`'s standard output and error, across restarts.
    campaign_log: PathBuf,
}

impl Node {
    fn pid(&self) -> Pid {
        let child = self.child.as_ref().expect("the node is running");
        Pid::from_raw(i32::try_from(child.id()).expect("process ids fit in i32"))
    }
}

/// A run of CMD, as the driver names it.
#[derive(Clone, Debug)]
struct Holding {
    host: usize,
    node: String,
    term: u64,
}

/// One fault and the failover it caused.
#[derive(Debug)]
struct Measure {
    fault: String,
    holder: String,
    injected: u64,
    /// The new holder and when its CMD started.
    successor: Option<(String, u64)>,
    /// The largest failover allowed, if one is promised.
    bound: Option<u64>,
    detail: String,
}

impl Measure {
    fn failover(&self) -> Option<u64> {
        self.successor
            .as_ref()
            .map(|(_, start)| start.saturating_sub(self.injected))
    }
}

/// How a paused host is resumed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Resume {
    /// `campaign` first; CMD's group once `campaign` has sent it SIGTERM (or SIGKILL).
    CampaignFirst,
    /// Both at once, as a host that was frozen resumes.
    Together,
}

/// The five nodes and what the driver did to them. Dropping it kills every node; during
/// a panic it first prints everything needed to understand the failure.
struct Cluster<'a> {
    network: &'a Network,
    nodes: Vec<Node>,
    done: Interventions,
    /// What the driver did, when (centiseconds of `/proc/uptime`).
    journal: Vec<(u64, String)>,
    measures: Vec<Measure>,
    /// The SQLite store every node's CMD writes to, fenced by its term.
    fence: fence::FencedStore,
    scratch: Scratch,
}

impl<'a> Cluster<'a> {
    fn start(network: &'a Network) -> Self {
        let scratch = Scratch::new(network.prefix());
        let nodes = (0..HOSTS)
            .map(|i| Node {
                name: format!("n{i}"),
                child: None,
                state_dir: scratch.0.join(format!("n{i}.state")),
                cmd_log: scratch.0.join(format!("n{i}.cmd.log")),
                campaign_log: scratch.0.join(format!("n{i}.campaign.log")),
            })
            .collect();
        let mut cluster = Cluster {
            network,
            nodes,
            done: Interventions::default(),
            journal: Vec::new(),
            measures: Vec::new(),
            fence: fence::FencedStore::new(Path::new(POLITY), &scratch.0.join("store.db")),
            scratch,
        };
        cluster.note(format!(
            "namespaces {}-br and {}-h0..h{}",
            network.prefix(),
            network.prefix(),
            HOSTS - 1
        ));
        for i in 0..HOSTS {
            cluster.spawn(i);
        }
        cluster
    }

    fn note(&mut self, what: String) {
        self.journal.push((uptime_now(), what));
    }

    /// Starts `polity campaign` on host `i`, joined to every host, with its state
    /// directory (kept across restarts, as a real node's disk).
    fn spawn(&mut self, i: usize) {
        let node = &self.nodes[i];
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.campaign_log)
            .expect("campaign's log can be opened");
        let errors = output.try_clone().expect("the log's handle can be cloned");
        let mut command = self.network.command(i, Path::new(POLITY));
        command
            .args(["campaign", ROLE, "--name", &node.name, "--profile", "lan"])
            .arg("--bind")
            .arg(format!("{}:{PORT}", self.network.addr(i)))
            .arg("--state-dir")
            .arg(&node.state_dir);
        for j in 0..HOSTS {
            command
                .arg("--join")
                .arg(format!("{}:{PORT}", self.network.addr(j)));
        }
        command
            .args(["--", "sh", "-c", CMD_SCRIPT, "cmd"])
            .arg(&node.cmd_log)
            .arg(&self.fence.program)
            .arg(&self.fence.db)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors);
        // SAFETY: runs between fork and exec and makes one system call, prctl, which is
        // async-signal-safe; it allocates nothing and takes no lock. The signal comes
        // when this thread, the test's, ends: no node outlives a test that failed.
        unsafe {
            command.pre_exec(|| Ok(nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?));
        }
        let child = command
            .spawn()
            .expect("ip netns exec polity campaign starts");
        self.nodes[i].child = Some(child);
        let what = format!("started {} on {}", self.nodes[i].name, self.network.addr(i));
        self.note(what);
    }

    /// Every node's CMD log: `(node, text)`.
    fn logs(&self) -> Vec<(String, String)> {
        self.nodes
            .iter()
            .map(|node| {
                let text = std::fs::read_to_string(&node.cmd_log).unwrap_or_default();
                (node.name.clone(), text)
            })
            .collect()
    }

    fn timeline(&self) -> Timeline {
        let logs = self.logs();
        Timeline::build(&logs, &self.done, uptime_now())
    }

    /// Polls the logs until `check` returns `Some`; panics if the logs break a rule, or
    /// after [`GUARD`].
    fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&Timeline) -> Option<T>) -> T {
        let deadline = Instant::now() + GUARD;
        loop {
            let timeline = self.timeline();
            let violations = timeline.violations();
            assert!(
                violations.is_empty(),
                "while waiting for {what}, the logs break the rules:\n{}",
                violations.join("\n")
            );
            if let Some(value) = check(&timeline) {
                return value;
            }
            assert!(Instant::now() < deadline, "waited {GUARD:?} for {what}");
            std::thread::sleep(POLL);
        }
    }

    /// Waits for one CMD running, the same one for [`SETTLED_CS`].
    fn settled_holder(&self, what: &str) -> Holding {
        let mut seen: Option<(String, u64, u64)> = None;
        self.wait_for(&format!("one holder after {what}"), |timeline| {
            let running = timeline.running();
            let [run] = running[..] else {
                seen = None;
                return None;
            };
            let now = uptime_now();
            match &seen {
                Some((node, term, since)) if *node == run.node && *term == run.term => {
                    (now >= since + SETTLED_CS).then(|| Holding {
                        host: host_of(&run.node),
                        node: run.node.clone(),
                        term: run.term,
                    })
                }
                _ => {
                    seen = Some((run.node.clone(), run.term, now));
                    None
                }
            }
        })
    }

    /// Waits for a run that started at or after `at` on another node than `holder`'s,
    /// with a higher term, for at most `within`; returns its node and start.
    fn successor(&self, holder: &Holding, at: u64, within: Duration) -> Option<(String, u64)> {
        let deadline = Instant::now() + within;
        let what = format!("a successor to {}", holder.node);
        self.wait_for(&what, |timeline| {
            match timeline.first_successor(at, &holder.node, holder.term) {
                Some(run) => Some(Some((run.node.clone(), run.start))),
                None => (Instant::now() >= deadline).then_some(None),
            }
        })
    }

    /// Waits until `campaign` on host `i`, started last, has joined the cluster.
    fn wait_joined(&self, i: usize) {
        let node = &self.nodes[i];
        let banner = format!("polity: node {} listening on", node.name);
        self.wait_for(&format!("{} to join the cluster", node.name), |_| {
            let log = std::fs::read_to_string(&node.campaign_log).unwrap_or_default();
            let latest = log.rsplit_once(&banner).map(|(_, after)| after)?;
            latest.contains("joined the cluster").then_some(())
        });
    }

    /// The measures as a table, then the driver's journal and the checker's notes.
    fn report(&self, timeline: &Timeline, took: Duration) -> String {
        let mut out = format!(
            "netns_faults: {} runs of CMD over {:.0} s; failover = fault to the first start \
             of a new term on another node (clock resolution 10 ms)\n\n\
             | fault | holder | failover | new holder | bound | notes |\n\
             | --- | --- | --- | --- | --- | --- |\n",
            timeline.runs.len(),
            took.as_secs_f64()
        );
        for m in &self.measures {
            let (failover, successor) = match (&m.successor, m.failover()) {
                (Some((node, _)), Some(f)) => (format!("{} ms", f * 10), node.clone()),
                _ => ("none".into(), "-".into()),
            };
            let bound = m.bound.map_or("-".into(), |b| format!("{} ms", b * 10));
            out.push_str(&format!(
                "| {} | {} | {failover} | {successor} | {bound} | {} |\n",
                m.fault, m.holder, m.detail
            ));
        }
        out.push_str("\ndriver:\n");
        for (at, what) in &self.journal {
            out.push_str(&format!("  {}.{:02} {what}\n", at / 100, at % 100));
        }
        for note in timeline.notes() {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                // A stopped process dies of SIGKILL too; SIGCONT lets its CMD go as well.
                let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGCONT);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            let logs = self.logs();
            let timeline = Timeline::build(&logs, &self.done, uptime_now());
            let mut out = format!(
                "\n==== netns_faults failed; namespaces {}-*, scratch {}\n",
                self.network.prefix(),
                self.scratch.0.display()
            );
            out.push_str(&self.report(&timeline, Duration::ZERO));
            out.push_str("\n==== CMD logs, merged\n");
            out.push_str(&merged(&logs));
            for node in &self.nodes {
                let log = std::fs::read_to_string(&node.campaign_log).unwrap_or_default();
                out.push_str(&format!("\n==== {} campaign log\n{log}", node.name));
            }
            eprintln!("{out}");
        }
    }
}

/// The host index of node `n<i>`.
fn host_of(node: &str) -> usize {
    node.strip_prefix('n')
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("{node:?} is not a node of the test"))
}

/// A process as `/proc/PID/stat` describes it.
struct Process {
    pid: i32,
    /// One letter: `R`, `S`, `T`, `Z` (a zombie), ...
    state: String,
    parent: i32,
    group: i32,
}

/// Every process now.
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            Some(Process {
                pid,
                state: (*fields.first()?).to_owned(),
                parent: fields.get(1)?.parse().ok()?,
                group: fields.get(2)?.parse().ok()?,
            })
        })
        .collect()
}

/// CMD's process group of the `campaign` with process id `campaign`: its child that
/// leads a process group of its own (the watchdog, which CMD's group belongs to).
fn command_of(campaign: Pid) -> Option<Pid> {
    processes()
        .into_iter()
        .find(|p| p.parent == campaign.as_raw() && p.group == p.pid)
        .map(|p| Pid::from_raw(p.pid))
}

/// Whether any process is left in process group `group`. (Signal 0 would count a
/// zombie leader; the members' states do not.)
fn group_alive(group: Pid) -> bool {
    processes()
        .iter()
        .any(|p| p.group == group.as_raw() && p.state != "Z" && p.state != "X")
}

/// Whether a stopped process has SIGTERM pending, or is gone (SIGKILL).
fn signalled(pid: Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return true;
    };
    let sigterm = 1u64 << (Signal::SIGTERM as i32 - 1);
    status.lines().any(|line| {
        if line.starts_with("State:") {
            return line.contains("zombie") || line.contains("dead");
        }
        let Some(mask) = line
            .strip_prefix("SigPnd:")
            .or_else(|| line.strip_prefix("ShdPnd:"))
        else {
            return false;
        };
        u64::from_str_radix(mask.trim(), 16).is_ok_and(|mask| mask & sigterm != 0)
    })
}

/// How long, in centiseconds, some CMD was active between `from` and `to`.
fn held_within(timeline: &Timeline, from: u64, to: u64) -> u64 {
    let mut spans: Vec<(u64, u64)> = timeline
        .runs
        .iter()
        .flat_map(|run| run.active.iter().copied())
        .map(|(a, b)| (a.max(from), b.min(to)))
        .filter(|(a, b)| a < b)
        .collect();
    spans.sort_unstable();
    let mut held = 0;
    let mut reached = from;
    for (a, b) in spans {
        let a = a.max(reached);
        if b > a {
            held += b - a;
            reached = b;
        }
    }
    held
}
