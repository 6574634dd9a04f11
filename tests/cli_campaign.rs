//! `polity campaign ROLE -- CMD` as a user runs it: real processes on 127.0.0.1 with the
//! `fast` profile (lease 300 ms), small `sh` scripts as CMD that leave files in a scratch
//! directory.
//!
//! Clusters are three processes with the fixed electorate `n0,n1,n2`, so that a quorum is
//! two of them from the start, whoever has joined. The first is started alone; the others
//! join it at the address it prints (`polity: node n0 listening on IP:PORT`).
//!
//! Nothing sleeps to synchronise: every wait polls a file, a log or an exit status, and
//! its deadline only stops a broken test from hanging. Every process is killed when its
//! guard is dropped, also when a test fails.
//!
//! The tests take turns ([`serial`]): with the `fast` profile CMD has only 16.5 ms
//! between SIGTERM and SIGKILL after a recall (117 ms after the warning of a renewal
//! gone missing), and tests starting processes side by side on a small machine could
//! starve a trap of the CPU for longer than that.
#![cfg(all(feature = "cli", target_os = "linux"))]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any one step: a cluster forming, an election, a handoff.
const GUARD: Duration = Duration::from_secs(20);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(10);

const ROLE: &str = "scheduler";

/// CMD for most tests: records its environment in `$d/$POLITY_HOLDER.env` (written
/// whole, then renamed), appends its term to `$d/$POLITY_HOLDER.started`, and on SIGTERM
/// writes its term to `$d/$POLITY_HOLDER.term` and exits 0; exits 7 once
/// `$d/$POLITY_HOLDER.go` exists.
///
/// CMD must act on SIGTERM well within the grace period (16.5 ms with the `fast`
/// profile): the trap uses shell builtins only, and the script waits with the `wait`
/// builtin, which a trapped signal interrupts at once, rather than for a foreground
/// command, after which the shell would run the trap only once that command is done.
const SCRIPT: &str = r#"
d=$1
trap 'echo "$POLITY_TERM" > "$d/$POLITY_HOLDER.term"; exit 0' TERM
printf '%s\n%s\n%s\n' "$POLITY_ROLE" "$POLITY_TERM" "$POLITY_HOLDER" > "$d/$POLITY_HOLDER.env.tmp"
mv "$d/$POLITY_HOLDER.env.tmp" "$d/$POLITY_HOLDER.env"
echo "$POLITY_TERM" >> "$d/$POLITY_HOLDER.started"
while [ ! -e "$d/$POLITY_HOLDER.go" ]; do sleep 0.02 & wait $!; done
exit 7
"#;

/// CMD for the semaphore: records `POLITY_SLOT POLITY_ROLE` in `$d/$POLITY_HOLDER.slot`
/// (written whole, then renamed), then exits 0 once `$d/$POLITY_HOLDER.go` exists.
const SLOT_SCRIPT: &str = r#"
d=$1
printf '%s %s\n' "$POLITY_SLOT" "$POLITY_ROLE" > "$d/$POLITY_HOLDER.slot.tmp"
mv "$d/$POLITY_HOLDER.slot.tmp" "$d/$POLITY_HOLDER.slot"
while [ ! -e "$d/$POLITY_HOLDER.go" ]; do sleep 0.02 & wait $!; done
exit 0
"#;

include!("cli_campaign/harness.rs");

#[test]
fn cmd_gets_the_role_term_and_holder_in_its_environment() {
    let _turn = serial();
    let scratch = Scratch::new("env");
    let nodes = cluster(&scratch, &[]);
    let h = holder(&nodes, &scratch);
    let (role, term, holder) = recorded_env(&scratch, &nodes[h].name);
    assert_eq!(role, ROLE);
    assert!(term > 0);
    assert_eq!(holder, nodes[h].name);
}

#[test]
fn campaign_exits_with_cmds_code_and_another_node_takes_over() {
    let _turn = serial();
    let scratch = Scratch::new("handoff");
    let mut nodes = cluster(&scratch, &[]);
    let logs = Logs::of(&nodes);
    let first = holder(&nodes, &scratch);
    let (_, first_term, _) = recorded_env(&scratch, &nodes[first].name);

    std::fs::write(scratch.file(&format!("{}.go", nodes[first].name)), "").unwrap();
    let status = nodes[first].exit_status(&logs);
    assert_eq!(status.code(), Some(7), "{}", logs.dump());

    let next = logs.wait_for("another node to start CMD", || {
        (0..nodes.len())
            .find(|&i| i != first && scratch.file(&format!("{}.env", nodes[i].name)).exists())
    });
    let (_, next_term, holder) = recorded_env(&scratch, &nodes[next].name);
    assert_eq!(holder, nodes[next].name);
    assert!(
        next_term > first_term,
        "terms {first_term} then {next_term}"
    );
}

/// Cuts the holder off by stopping the two other nodes: it cannot renew with a quorum,
/// loses the role, and must stop CMD with SIGTERM. Returns the holder's index.
fn cut_off_holder(nodes: &[Campaign], scratch: &Scratch) -> usize {
    let h = holder(nodes, scratch);
    for (i, node) in nodes.iter().enumerate() {
        if i != h {
            node.signal(Signal::SIGSTOP);
        }
    }
    let name = &nodes[h].name;
    let term = Logs::of(nodes).wait_for(&format!("{name}'s CMD to get SIGTERM"), || {
        scratch
            .read(&format!("{name}.term"))
            .filter(|term| term.ends_with('\n'))
    });
    let (_, held, _) = recorded_env(scratch, name);
    assert_eq!(term.trim(), held.to_string());
    for (i, node) in nodes.iter().enumerate() {
        if i != h {
            node.signal(Signal::SIGCONT);
        }
    }
    h
}

#[test]
fn cmd_gets_sigterm_when_the_role_is_lost_and_once_exits_with_1() {
    let _turn = serial();
    let scratch = Scratch::new("lost-once");
    let mut nodes = cluster(&scratch, &["--once"]);
    let logs = Logs::of(&nodes);
    let h = cut_off_holder(&nodes, &scratch);
    let status = nodes[h].exit_status(&logs);
    assert_eq!(status.code(), Some(1), "{}", logs.dump());
    logs.wait_for("another node to take the role over", || {
        (0..nodes.len())
            .find(|&i| i != h && scratch.file(&format!("{}.started", nodes[i].name)).exists())
    });
}

/// An agent outside the electorate, for an operator's commands; killed when dropped.
struct Operator(Child);

impl Operator {
    /// Starts `polity agent` joined to `join`, its API on a socket in `scratch`; returns
    /// it and its API's address.
    fn start(join: &str, logs: &Logs, scratch: &Scratch) -> (Self, String) {
        let socket = format!("unix:{}", scratch.file("operator.sock").display());
        let mut child = Command::new(POLITY)
            .args(["agent", "--name", "operator", "--bind", "127.0.0.1:0"])
            .args(["--http", &socket, "--profile", "fast"])
            .args(["--electorate", "n0,n1,n2", "--join", join])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let operator = Operator(child);
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("http: ") {
                    let _ = sender.send(addr.to_owned());
                }
            }
        });
        let http = logs.wait_for("the operator's agent to print its HTTP address", || {
            receiver.try_recv().ok()
        });
        (operator, http)
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cmd_gets_sigterm_when_the_role_is_recalled() {
    let _turn = serial();
    let scratch = Scratch::new("recalled");
    let mut nodes = cluster(&scratch, &["--once"]);
    let logs = Logs::of(&nodes);
    let h = holder(&nodes, &scratch);
    let join = nodes[0].addr(&logs);
    let (_operator, http) = Operator::start(&join, &logs, &scratch);
    // The operator's node may not stand or ask yet (not joined for a lease): retry.
    logs.wait_for("polity recall to succeed", || {
        let recall = Command::new(POLITY)
            .args(["recall", ROLE, "--http", &http])
            .output()
            .unwrap();
        recall.status.success().then_some(())
    });
    let name = &nodes[h].name;
    let term = logs.wait_for(&format!("{name}'s CMD to get SIGTERM"), || {
        scratch
            .read(&format!("{name}.term"))
            .filter(|term| term.ends_with('\n'))
    });
    let (_, held, _) = recorded_env(&scratch, name);
    assert_eq!(term.trim(), held.to_string());
    let status = nodes[h].exit_status(&logs);
    assert_eq!(status.code(), Some(1), "{}", logs.dump());
}

#[test]
fn without_once_the_role_is_campaigned_for_again_after_a_loss() {
    let _turn = serial();
    let scratch = Scratch::new("lost-again");
    let mut nodes = cluster(&scratch, &[]);
    let logs = Logs::of(&nodes);
    cut_off_holder(&nodes, &scratch);
    // Whichever node wins next, the holder included, starts CMD again.
    logs.wait_for("CMD to start again", || {
        let starts: usize = nodes
            .iter()
            .filter_map(|n| scratch.read(&format!("{}.started", n.name)))
            .map(|started| started.lines().count())
            .sum();
        (starts >= 2).then_some(())
    });
    for node in &mut nodes {
        assert_eq!(node.child.try_wait().unwrap(), None, "{}", logs.dump());
    }
}

/// Whether process `pid` is gone: no longer in `/proc`, or a zombie nobody has reaped.
fn is_dead(pid: u32) -> bool {
    let Ok(mut stat) = std::fs::File::open(format!("/proc/{pid}/stat")) else {
        return true;
    };
    let mut text = String::new();
    if stat.read_to_string(&mut text).is_err() {
        return true;
    }
    // The state follows the command name, which is in parentheses.
    let state = text.rsplit_once(')').map(|(_, rest)| rest.trim_start());
    matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
}

#[test]
fn cmd_dies_when_campaign_is_killed() {
    let _turn = serial();
    let scratch = Scratch::new("pdeathsig");
    let dir = scratch.path().to_str().unwrap();
    // A one-node cluster: the node is its own quorum.
    let script = r#"echo $$ > "$1/pid.tmp"; mv "$1/pid.tmp" "$1/pid"; exec sleep 600"#;
    let mut node = Campaign::start("solo", &[], &["sh", "-c", script, "cmd", dir]);
    let logs = Logs::of([&node]);
    let pid: u32 = logs.wait_for("CMD to write its pid", || {
        scratch.read("pid").map(|pid| pid.trim().parse().unwrap())
    });
    assert!(!is_dead(pid));

    node.signal(Signal::SIGKILL);
    node.exit_status(&logs);
    logs.wait_for(&format!("CMD (pid {pid}) to die"), || {
        is_dead(pid).then_some(())
    });
}

#[test]
fn the_watchdog_kills_cmd_at_the_deadline_while_campaign_is_frozen() {
    let _turn = serial();
    let scratch = Scratch::new("frozen");
    let dir = scratch.path().to_str().unwrap();
    // CMD ignores SIGTERM: only the SIGKILL at the deadline stops it.
    let script = r#"
        trap '' TERM
        cat "$POLITY_DEADLINE_FILE" > "$1/deadline"
        echo $$ > "$1/pid.tmp"; mv "$1/pid.tmp" "$1/pid"
        while :; do sleep 1; done
    "#;
    let mut node = Campaign::start("solo", &["--once"], &["sh", "-c", script, "cmd", dir]);
    let logs = Logs::of([&node]);
    let pid: u32 = logs.wait_for("CMD to write its pid", || {
        scratch.read("pid").map(|pid| pid.trim().parse().unwrap())
    });
    let deadline: u128 = scratch.read("deadline").unwrap().trim().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        deadline + 60_000 > now,
        "deadline {deadline} is not a recent Unix time in ms"
    );

    // Campaign alone is frozen (CMD is in a process group of its own): nothing renews
    // the role and nothing signals CMD but the watchdog.
    node.signal(Signal::SIGSTOP);
    logs.wait_for(
        &format!("CMD (pid {pid}) to die while campaign is stopped"),
        || is_dead(pid).then_some(()),
    );
    node.signal(Signal::SIGCONT);
    let status = node.exit_status(&logs);
    assert_eq!(status.code(), Some(1), "{}", logs.dump());
}

/// `examples/fenced_store`, which `cargo test` builds next to the `polity` binary.
fn fenced_store() -> PathBuf {
    let debug = Path::new(POLITY).parent().unwrap();
    let path = debug.join("examples").join("fenced_store");
    assert!(
        path.exists(),
        "{} is missing: build the examples",
        path.display()
    );
    path
}

/// The holder's `campaign` alone is frozen for two leases while its CMD keeps writing to
/// a fenced SQLite store: the watchdog kills CMD at the holder's deadline, another node
/// takes over, and the store never sees a write from a holder that lost the role,
/// refused or accepted.
#[test]
fn a_frozen_campaign_leaves_no_stale_write_in_a_fenced_store() {
    let _turn = serial();
    let scratch = Scratch::new("fenced");
    let store = fenced_store();
    let db = scratch.file("store.db");
    let cmd = [store.to_str().unwrap(), "write", db.to_str().unwrap(), "5"];
    let nodes = three_running(&["--profile", "lan"], &cmd);
    let logs = Logs::of(&nodes);
    let holding = |node: &Campaign| node.log().matches("holding the role").count();
    let first = logs.wait_for("a node to hold the role", || {
        (0..3).find(|&i| holding(&nodes[i]) > 0)
    });
    logs.wait_for("the first writes", || db.exists().then_some(()));
    nodes[first].signal(Signal::SIGSTOP);
    logs.wait_for("another node to take over", || {
        (0..3).find(|&i| i != first && holding(&nodes[i]) > 0)
    });
    // Two leases after the freeze (the new holder took over after one).
    std::thread::sleep(Duration::from_millis(1500));
    nodes[first].signal(Signal::SIGCONT);
    logs.wait_for("the frozen node to notice that CMD is gone", || {
        let log = nodes[first].log();
        (log.contains("the watchdog stopped the command") || log.contains("the command stopped"))
            .then_some(())
    });
    drop(nodes);
    let output = Command::new(&store)
        .args(["check", db.to_str().unwrap()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains(" refused 0 stale-accepted 0"),
        "{report}\n{}",
        logs.dump()
    );
}

#[test]
fn campaign_forwards_sigterm_and_exits_with_cmds_code() {
    let _turn = serial();
    let scratch = Scratch::new("sigterm");
    let dir = scratch.path().to_str().unwrap();
    let script = r#"
        trap 'echo > "$1/term"; exit 3' TERM
        echo > "$1/started"
        while :; do sleep 1 & wait $!; done
    "#;
    let mut node = Campaign::start("solo", &[], &["sh", "-c", script, "cmd", dir]);
    let logs = Logs::of([&node]);
    logs.wait_for("CMD to start", || scratch.read("started"));
    node.signal(Signal::SIGTERM);
    let status = node.exit_status(&logs);
    assert_eq!(status.code(), Some(3), "{}", logs.dump());
    assert!(scratch.file("term").exists(), "{}", logs.dump());
}

#[test]
fn a_cmd_that_cannot_start_exits_127_or_126_with_a_message() {
    let _turn = serial();
    let scratch = Scratch::new("no-cmd");
    let missing = scratch.file("no-such-command");
    let missing = missing.to_str().unwrap();
    let not_executable = scratch.path().to_str().unwrap();
    for (cmd, code, error) in [
        (missing, 127, "No such file or directory"),
        (not_executable, 126, "Permission denied"),
    ] {
        let mut node = Campaign::start("solo", &[], &[cmd]);
        let logs = Logs::of([&node]);
        let status = node.exit_status(&logs);
        assert_eq!(status.code(), Some(code), "{}", logs.dump());
        let log = node.final_log(&logs);
        assert!(
            log.lines().any(|l| l.starts_with("polity: cannot run")
                && l.contains(cmd)
                && l.contains(error)),
            "{log}"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let _turn = serial();
    for (args, says) in [
        (
            &["campaign", "bad role", "--name", "a", "--", "true"][..],
            "whitespace",
        ),
        (&["campaign", ROLE, "--name", "a"][..], "<CMD>"),
        (
            &["campaign", ROLE, "--name", "a", "true"][..],
            "unexpected argument",
        ),
        (
            &[
                "campaign",
                ROLE,
                "--name",
                "a",
                "--stop-timeout",
                "soon",
                "--",
                "true",
            ][..],
            "is not a duration",
        ),
        (
            &[
                "campaign",
                ROLE,
                "--name",
                "a",
                "--stop-timeout",
                "2s",
                "--",
                "true",
            ][..],
            "--stop-timeout 2000ms is out of range: allowed 1ms to 1035ms",
        ),
        (
            &["campaign", ROLE, "--slots", "0", "--", "true"][..],
            "from 1 to 256",
        ),
        (
            &["campaign", &"r".repeat(127), "--slots", "12", "--", "true"][..],
            "--slots 12: slot role",
        ),
        (
            &["campaign", ROLE, "--check-interval", "1s", "--", "true"][..],
            "--check <CMD>",
        ),
        (
            &[
                "campaign",
                ROLE,
                "--check",
                "true",
                "--check-interval",
                "5ms",
                "--",
                "true",
            ][..],
            "from 10ms to 3600s",
        ),
    ] {
        let output = Command::new(POLITY).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn slots_run_cmd_on_at_most_n_nodes_and_a_freed_slot_goes_to_a_waiting_node() {
    let _turn = serial();
    let scratch = Scratch::new("slots");
    let dir = scratch.path().to_str().unwrap();
    let cmd = ["sh", "-c", SLOT_SCRIPT, "cmd", dir];
    let mut nodes = three_running(&["--slots", "2"], &cmd);
    let logs = Logs::of(&nodes);
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let slot_of = |i: usize| scratch.read(&format!("{}.slot", names[i]));
    let running = logs.wait_for("two nodes to hold a slot", || {
        let holding: Vec<usize> = (0..names.len()).filter(|&i| slot_of(i).is_some()).collect();
        assert!(holding.len() <= 2, "more than two slots held: {holding:?}");
        (holding.len() == 2).then_some(holding)
    });
    let mut held: Vec<String> = running.iter().map(|&i| slot_of(i).unwrap()).collect();
    held.sort();
    assert_eq!(held, ["1 scheduler/1\n", "2 scheduler/2\n"]);

    // The holder of one slot is done: the node that waited takes that slot.
    let (done, waiting) = (running[0], (0..3).find(|i| !running.contains(i)).unwrap());
    let freed = slot_of(done).unwrap();
    std::fs::write(scratch.file(&format!("{}.go", nodes[done].name)), "").unwrap();
    assert_eq!(
        nodes[done].exit_status(&logs).code(),
        Some(0),
        "{}",
        logs.dump()
    );
    let taken = logs.wait_for("the waiting node to take the freed slot", || {
        slot_of(waiting)
    });
    assert_eq!(taken, freed, "{}", logs.dump());
    assert!(
        slot_of(running[1]).is_some_and(|s| s != freed),
        "the other slot's holder kept it"
    );
}

#[test]
fn a_failing_check_stops_cmd_hands_the_role_over_and_never_wins() {
    let _turn = serial();
    let scratch = Scratch::new("check");
    let sick = |name: &str| scratch.file(&format!("{name}.sick"));
    // n2 is unhealthy from the start.
    std::fs::write(sick("n2"), "").unwrap();
    let start = |name: &str, join: Option<&str>| {
        let check = format!("test ! -e {}", sick(name).display());
        let flags = ["--check", &check, "--check-interval", "50ms"];
        Campaign::member(name, join, &flags, &scratch)
    };
    let n0 = start("n0", None);
    let addr = n0.addr(&Logs::of([&n0]));
    let nodes = vec![n0, start("n1", Some(&addr)), start("n2", Some(&addr))];
    let logs = Logs::of(&nodes);
    let started = |i: usize| scratch.file(&format!("{}.started", nodes[i].name)).exists();

    let first = holder(&nodes, &scratch);
    assert_ne!(first, 2, "an unhealthy node won");
    // The holder turns unhealthy: CMD gets SIGTERM and the other healthy node takes over.
    std::fs::write(sick(&nodes[first].name), "").unwrap();
    logs.wait_for("the unhealthy holder to stop CMD", || {
        scratch.read(&format!("{}.term", nodes[first].name))
    });
    let second = 1 - first;
    logs.wait_for("the other healthy node to start CMD", || {
        started(second).then_some(())
    });
    // It turns unhealthy too: nobody healthy is left, and n2 stays out until it passes.
    std::fs::write(sick(&nodes[second].name), "").unwrap();
    logs.wait_for("the second holder to stop CMD", || {
        scratch.read(&format!("{}.term", nodes[second].name))
    });
    assert!(
        !started(2),
        "n2 ran CMD while its check failed\n{}",
        logs.dump()
    );
    std::fs::remove_file(sick("n2")).unwrap();
    logs.wait_for("n2 to start CMD once its check passes", || {
        started(2).then_some(())
    });
    let runs = |i: usize| {
        scratch
            .read(&format!("{}.started", nodes[i].name))
            .map_or(0, |s| s.lines().count())
    };
    assert_eq!((runs(first), runs(second)), (1, 1), "{}", logs.dump());
}

#[test]
fn a_node_that_campaigns_with_a_higher_priority_is_handed_the_role() {
    let _turn = serial();
    let scratch = Scratch::new("priority");
    let n0 = Campaign::member("n0", None, &[], &scratch);
    let addr = n0.addr(&Logs::of([&n0]));
    let n1 = Campaign::member("n1", Some(&addr), &[], &scratch);
    let started = |name: &str| scratch.file(&format!("{name}.started")).exists();
    let pair = [n0, n1];
    let first = pair[holder(&pair, &scratch)].name.clone();
    // n2 prefers itself: once it has waited two leases, the holder hands it the role.
    let n2 = Campaign::member("n2", Some(&addr), &["--priority", "5"], &scratch);
    let logs = Logs::of([&n2]);
    logs.wait_for("the holder to stop CMD for n2", || {
        scratch.read(&format!("{first}.term"))
    });
    logs.wait_for("n2 to start CMD", || started("n2").then_some(()));
}
