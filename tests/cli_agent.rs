//! The `polity` binary end to end: real `polity agent` processes on 127.0.0.1, driven
//! only through the client commands, and the commands' refusals of bad input.
//!
//! Agents bind port 0 for gossip, serve their API on a socket in a temporary directory,
//! and report both on standard output (`udp: ADDR`, `http: unix:PATH`). Nothing sleeps to synchronise: every wait polls a
//! command until it answers as expected, with a deadline that only stops a broken test
//! from hanging. Every process started is killed when its guard is dropped, also when a
//! test fails.
#![cfg(feature = "cli")]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any wait: convergence, an election, failure detection.
const BOUND: Duration = Duration::from_secs(30);

include!("cli_agent/harness.rs");

#[test]
fn three_agents_elect_query_watch_resign_recall_and_force_leave() {
    let mut cluster = Cluster::start();
    let (a, b, c) = (
        cluster.http("a").to_owned(),
        cluster.http("b").to_owned(),
        cluster.http("c").to_owned(),
    );

    // elect: the term on standard output, exit 0.
    let won = polity(&["elect", "sched", "--http", &a]);
    assert_eq!(won.code, 0, "{won:?}");
    let term: u64 = won.stdout.parse().expect("elect prints the term");

    // query, held: the line, exit 0; also as JSON, from another agent.
    let held = polity(&["query", "sched", "--http", &b]);
    assert_eq!(
        (held.code, held.stdout.as_str()),
        (0, &*format!("sched a {term} held"))
    );
    let held = polity(&["query", "sched", "--http", &c, "--json"]);
    assert_eq!(held.code, 0, "{held:?}");
    let view = held.json();
    assert_eq!(view["role"], "sched");
    assert_eq!(view["status"], "held");
    assert_eq!(view["holder"], "a");
    assert_eq!(view["term"], term);

    // query, vacant: dashes, exit 3.
    let vacant = polity(&["query", "nobody-has-it", "--http", &a]);
    assert_eq!(
        (vacant.code, vacant.stdout.as_str()),
        (3, "nobody-has-it - - vacant")
    );

    // A second candidate loses: exit 3, naming the holder.
    let lost = polity(&["elect", "sched", "--http", &b]);
    assert_eq!(lost.code, 3, "{lost:?}");
    assert!(lost.stderr.contains("a holds sched"), "{lost:?}");
    let lost = polity(&["elect", "sched", "--http", &b, "--json"]);
    assert_eq!(lost.code, 3, "{lost:?}");
    let error = lost.json();
    assert_eq!(error["code"], "lost");
    assert_eq!(error["holder"], "a");
    assert_eq!(error["term"], term);
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("a holds sched"))
    );

    // Electing again where it is held is no loss: the same term.
    let again = polity(&["elect", "sched", "--http", &a]);
    assert_eq!((again.code, again.stdout.as_str()), (0, &*term.to_string()));

    // roles and members, as text and JSON.
    let roles = polity(&["roles", "--http", &a]);
    assert_eq!(roles.code, 0, "{roles:?}");
    assert!(
        roles
            .stdout
            .lines()
            .any(|l| l == format!("sched a {term} held")),
        "{roles:?}"
    );
    let roles = polity(&["roles", "--http", &a, "--json"]).json();
    let sched = roles["roles"]
        .as_array()
        .expect("a roles array")
        .iter()
        .find(|role| role["role"] == "sched")
        .cloned()
        .expect("sched is listed");
    assert_eq!(
        (sched["holder"].clone(), sched["term"].clone()),
        ("a".into(), term.into())
    );
    let members = polity(&["members", "--http", &b]);
    assert_eq!(members.code, 0, "{members:?}");
    let mut lines = members.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "ADDR", "STATUS", "TAGS"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 3, "{members:?}");
    for (row, name) in rows.iter().zip(["a", "b", "c"]) {
        assert_eq!((row[0], row[2]), (name, "alive"), "{members:?}");
        assert_eq!(row[1], cluster.agent(name).udp);
    }
    let members = polity(&["members", "--http", &b, "--json"]).json();
    assert_eq!(members["population"], 3);

    // watch: the current state, then each change, one line each.
    let mut watch = spawn_polity(&["watch", "w", "--http", &c]);
    let watched = Lines::new(watch.0.stdout.take().expect("stdout is piped"));
    assert_eq!(watched.next().as_deref(), Some("w - - vacant"));
    let won = polity(&["elect", "w", "--http", &b]);
    assert_eq!(won.code, 0, "{won:?}");
    let w_term = won.stdout.clone();
    watched.until(&format!("w b {w_term} held"));
    let resigned = polity(&["resign", "w", "--http", &b]);
    assert_eq!(
        (resigned.code, resigned.stdout.as_str()),
        (0, w_term.as_str())
    );
    watched.until("w - - vacant");
    drop(watch);

    // resign what the agent does not hold: exit 3.
    let not_held = polity(&["resign", "w", "--http", &b]);
    assert_eq!(not_held.code, 3, "{not_held:?}");
    assert!(not_held.stderr.contains("does not hold w"), "{not_held:?}");

    // recall: the term recalled, exit 0; the role then runs out.
    let recalled = polity(&["recall", "sched", "--http", &b]);
    assert_eq!(
        (recalled.code, recalled.stdout.as_str()),
        (0, &*term.to_string())
    );
    poll(
        "sched to be vacant after the recall",
        &["query", "sched", "--http", &c],
        |run| run.code == 3 && run.stdout == "sched - - vacant",
    );
    // recall what nobody holds: exit 3, RoleUnfilled.
    let unfilled = polity(&["recall", "never-held", "--http", &b, "--json"]);
    assert_eq!(unfilled.code, 3, "{unfilled:?}");
    assert_eq!(unfilled.json()["code"], "role_unfilled");

    // force-leave: refused for a live member, done for a crashed one.
    let alive = polity(&["force-leave", "b", "--http", &a]);
    assert_eq!(alive.code, 1, "{alive:?}");
    assert!(alive.stderr.contains("not down"), "{alive:?}");
    let unknown = polity(&["force-leave", "zed", "--http", &a]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("no member named zed"),
        "{unknown:?}"
    );
    cluster.agents[2].process.kill();
    poll(
        "a to see c down",
        &["members", "--http", &a, "--json"],
        |run| run.code == 0 && status_of(&run.json(), "c").as_deref() == Some("down"),
    );
    let forced = polity(&["force-leave", "c", "--http", &a]);
    assert_eq!(
        (forced.code, forced.stdout.as_str()),
        (0, "force-left c"),
        "{forced:?}"
    );
    let members = polity(&["members", "--http", &a, "--json"]).json();
    assert_eq!(status_of(&members, "c").as_deref(), Some("left"));
    assert_eq!(members["population"], 2);
    poll(
        "b to learn that c was force-left",
        &["members", "--http", &b, "--json"],
        |run| run.code == 0 && status_of(&run.json(), "c").as_deref() == Some("left"),
    );
}

/// `elect --wait --priority N`: a node that waits with a priority higher than the
/// holder's gets the role handed to it; a priority needs `--wait`.
#[test]
fn elect_wait_with_a_priority_takes_the_role_from_a_holder_without_one() {
    let cluster = Cluster::start();
    let (a, b) = (cluster.http("a"), cluster.http("b"));
    let won = polity(&["elect", "p", "--http", a]);
    assert_eq!(won.code, 0, "{won:?}");
    let term: u64 = won.stdout.parse().expect("elect prints the term");

    let no_wait = polity(&["elect", "p", "--priority", "3", "--http", b]);
    assert_eq!(no_wait.code, 2, "{no_wait:?}");
    let answer = http(a, "POST", "/v1/roles/p/elect?priority=3", "", "");
    assert_eq!(answer.split_whitespace().nth(1), Some("400"), "{answer}");
    assert!(answer.contains("needs wait=true"), "{answer}");

    let mut waiting = spawn_polity(&["elect", "p", "--wait", "--priority", "3", "--http", b]);
    let new_term = term_once_held_by(a, "p", "b");
    assert!(new_term > term);
    let status = waiting
        .0
        .wait()
        .expect("elect --wait exits once it holds the role");
    assert!(status.success(), "{status:?}");
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut waiting.0.stdout.take().expect("piped"), &mut printed)
        .expect("its output");
    assert_eq!(printed.trim(), new_term.to_string());
}

/// `resign --to NODE` hands the role to a node that campaigns for it, and refuses, with
/// the role kept, a node that does not campaign (exit 3), one that is not a member
/// (exit 1) and a name that is not valid (exit 2).
#[test]
fn resign_to_hands_the_role_to_the_named_campaigner_and_refuses_the_others() {
    let cluster = Cluster::start();
    let (a, b, c) = (cluster.http("a"), cluster.http("b"), cluster.http("c"));
    let won = polity(&["elect", "t", "--http", a]);
    assert_eq!(won.code, 0, "{won:?}");
    let term: u64 = won.stdout.parse().expect("elect prints the term");
    let held_by_a = format!("t a {term} held");

    let not_campaigning = polity(&["resign", "t", "--to", "c", "--http", a, "--json"]);
    assert_eq!(not_campaigning.code, 3, "{not_campaigning:?}");
    assert_eq!(not_campaigning.json()["code"], "not_candidate");
    let unknown = polity(&["resign", "t", "--to", "zed", "--http", a]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("zed is not a live member"),
        "{unknown:?}"
    );
    let invalid = polity(&["resign", "t", "--to", "bad name", "--http", a]);
    assert_eq!(invalid.code, 2, "{invalid:?}");
    let not_held = polity(&["resign", "t", "--to", "c", "--http", b]);
    assert_eq!(not_held.code, 3, "{not_held:?}");
    assert!(not_held.stderr.contains("does not hold t"), "{not_held:?}");
    let query = polity(&["query", "t", "--http", b]);
    assert_eq!((query.code, query.stdout.as_str()), (0, held_by_a.as_str()));

    // b and c both wait for the role; it goes to c, the one named.
    let waiting: Vec<Guard> = [b, c]
        .iter()
        .map(|http| spawn_polity(&["elect", "t", "--wait", "--http", http]))
        .collect();
    // Until c's campaign has started, the handover is refused and a keeps the role.
    let handed = poll(
        "a to hand t to c",
        &["resign", "t", "--to", "c", "--http", a],
        |run| run.code != 3 || !run.stderr.contains("does not campaign"),
    );
    assert_eq!(
        (handed.code, handed.stdout.as_str()),
        (0, &*term.to_string())
    );
    assert!(term_once_held_by(b, "t", "c") > term);
    drop(waiting);
}

#[test]
fn an_agent_leaves_on_sigterm_and_the_others_see_it_go() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = Agent::start(dir.path(), "a", None);
    let mut b = Agent::start(dir.path(), "b", Some(&a.udp));
    poll(
        "a to see b alive",
        &["members", "--http", &a.http, "--json"],
        |run| run.code == 0 && status_of(&run.json(), "b").as_deref() == Some("alive"),
    );
    let health = polity(&["members", "--http", &b.http]);
    assert_eq!(health.code, 0, "{health:?}");

    let signalled = Command::new("kill")
        .args(["-TERM", &b.process.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    let deadline = Instant::now() + BOUND;
    let status = loop {
        if let Some(status) = b.process.0.try_wait().expect("the agent can be waited for") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "b did not exit on SIGTERM:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "b exited with {status}:\n{}", b.log());
    assert!(b.log().contains("leaving the cluster"), "{}", b.log());
    // Left, not down: it said goodbye, and no longer counts.
    let members = poll(
        "a to see b leave",
        &["members", "--http", &a.http, "--json"],
        |run| run.code == 0 && status_of(&run.json(), "b").as_deref() != Some("alive"),
    );
    assert_eq!(status_of(&members.json(), "b").as_deref(), Some("left"));
    assert_eq!(members.json()["population"], 1);
}

#[test]
fn unknown_flags_are_refused_with_exit_2() {
    let run = polity(&["query", "sched", "--bogus"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--bogus"), "{run:?}");
    let run = polity(&["agent", "--name", "a", "--bogus"]);
    assert_eq!(run.code, 2, "{run:?}");
    // A preference delay shorter than the election timeout (60 ms with fast).
    let run = polity(&[
        "agent",
        "--name",
        "a",
        "--profile",
        "fast",
        "--preference-delay",
        "10ms",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("preference_delay"), "{run:?}");
}

#[test]
fn bad_addresses_are_refused_with_exit_2() {
    for command in ["query", "elect", "watch"] {
        let run = polity(&[command, "sched", "--http", "nonsense"]);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("nonsense") && run.stderr.contains("IP:PORT"),
            "{run:?}"
        );
    }
    let run = polity(&["members", "--http", "localhost"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn bad_role_names_are_refused_with_exit_2_naming_the_character() {
    let run = polity(&["elect", "bad role"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("' '"), "{run:?}");
    let run = polity(&["query", "tab\there", "--json"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("'\\t'"), "{run:?}");
    let run = polity(&["query", &"r".repeat(129)]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("at most 128"), "{run:?}");
}

#[test]
fn an_unreachable_agent_is_named_with_how_to_start_one() {
    // A port that was free a moment ago: nothing listens there.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = listener.local_addr().expect("its address").to_string();
    drop(listener);
    for args in [
        vec!["query", "sched", "--http", &addr],
        vec!["members", "--http", &addr, "--json"],
        vec!["watch", "sched", "--http", &addr],
    ] {
        let run = polity(&args);
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains(&addr), "{run:?}");
        assert!(run.stderr.contains("polity agent --name"), "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
    }
}

#[test]
fn the_api_is_refused_beyond_loopback_without_http_public() {
    let run = polity(&[
        "agent",
        "--name",
        "a",
        "--bind",
        "127.0.0.1:0",
        "--http",
        "0.0.0.0:0",
    ]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--http-public"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn a_corrupt_state_file_stops_the_agent_and_names_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let state = dir.path().join("state.json");
    std::fs::write(&state, "not json").expect("the file can be written");
    let dir_arg = dir.path().to_str().expect("a UTF-8 path");
    let run = polity(&[
        "agent",
        "--name",
        "a",
        "--bind",
        "127.0.0.1:0",
        "--state-dir",
        dir_arg,
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains(&state.display().to_string()), "{run:?}");
    assert!(run.stderr.contains("remove it to start afresh"), "{run:?}");
}

/// Writes a keyring file of `keys` (base64) at `path`.
fn write_keyring(path: &Path, keys: &[&str]) {
    std::fs::write(path, serde_json::to_string(keys).expect("keys serialise"))
        .expect("the keyring file can be written");
}

/// The keys in a keyring file, primary first.
fn read_keyring(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("the keyring file can be read");
    serde_json::from_str(&text).expect("a keyring file is a JSON list")
}

/// Every key in a `keys --json` answer, with how many nodes have it installed and how
/// many seal with it, in order.
fn key_counts(answer: &Value) -> Vec<(String, u64, u64)> {
    let mut counts: Vec<(String, u64, u64)> = answer["keys"]
        .as_array()
        .expect("a keys array")
        .iter()
        .map(|k| {
            (
                k["fingerprint"].as_str().unwrap_or_default().to_owned(),
                k["installed"].as_u64().unwrap_or(0),
                k["primary"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    counts.sort();
    counts
}

#[test]
fn sealed_agents_keep_outsiders_out_and_rotate_keys_cluster_wide() {
    let old = polity(&["keygen"]).stdout;
    let new = polity(&["keygen"]).stdout;
    let other = polity(&["keygen"]).stdout;
    let cluster = Cluster::start_with(|dir, name| {
        let file = dir.join(format!("{name}.keyring"));
        write_keyring(&file, &[&old]);
        vec!["--keyring".into(), file.display().to_string()]
    });
    let (a, b) = (cluster.http("a").to_owned(), cluster.http("b").to_owned());
    let print_of = |key: &str| {
        let run = polity(&["keys", "fingerprint", key]);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout
    };
    let (old_print, new_print) = (print_of(&old), print_of(&new));
    let keyring_of = |name: &str| cluster.dir.path().join(format!("{name}.keyring"));

    // An agent with another key knocks on a's door: a drops what it sends unread.
    let outsider_dir = tempfile::tempdir().expect("a temporary directory");
    let outsider_keyring = outsider_dir.path().join("x.keyring");
    write_keyring(&outsider_keyring, &[&other]);
    let outsider = Agent::start_with(
        outsider_dir.path(),
        "x",
        Some(&cluster.agent("a").udp),
        &["--keyring".into(), outsider_keyring.display().to_string()],
    );
    wait_for("a to count the outsider's datagrams as unsealed", || {
        http_get(&a, "/v1/metrics").lines().any(|line| {
            line.strip_prefix("polity_datagrams_rejected_total{reason=\"unsealed\"} ")
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0)
        })
    });
    let members = polity(&["members", "--http", &a, "--json"]).json();
    assert_eq!(status_of(&members, "x"), None, "{members}");
    let members = polity(&["members", "--http", &outsider.http, "--json"]).json();
    assert_eq!(
        statuses(&members).len(),
        1,
        "x knows only itself: {members}"
    );
    let refused = polity(&["elect", "r", "--http", &outsider.http]);
    assert_ne!(
        refused.code, 0,
        "an outsider cannot hold a role: {refused:?}"
    );

    // Rotation: install, use, remove, each on every node, each summarised. The new key
    // comes from a file, so that it shows in no process list.
    let new_file = cluster.dir.path().join("new.key");
    std::fs::write(&new_file, format!("{new}\n")).expect("the key file can be written");
    let new_file = new_file.display().to_string();
    let installed = polity(&["keys", "install", "--key-file", &new_file, "--http", &a]);
    assert_eq!(installed.code, 0, "{installed:?}");
    assert!(
        installed
            .stdout
            .starts_with(&format!("3 of 3 nodes installed the key {new_print}")),
        "{installed:?}"
    );
    let listed = polity(&["keys", "list", "--http", &b, "--json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let mut expected = vec![(old_print.clone(), 3, 3), (new_print.clone(), 3, 0)];
    expected.sort();
    assert_eq!(key_counts(&listed.json()), expected);

    let used = polity(&["keys", "use", "--key-file", &new_file, "--http", &b]);
    assert_eq!(used.code, 0, "{used:?}");
    let removed = polity(&["keys", "remove", &old, "--http", &a]);
    assert_eq!(removed.code, 0, "{removed:?}");
    let listed = polity(&["keys", "list", "--http", &a, "--json"]).json();
    assert_eq!(key_counts(&listed), vec![(new_print.clone(), 3, 3)]);

    // Every agent wrote its new keyring down, so a restart keeps it.
    for name in ["a", "b", "c"] {
        wait_for(&format!("{name} to save its keyring"), || {
            read_keyring(&keyring_of(name)) == vec![new.clone()]
        });
    }

    // The cluster still works, and a refused step says who refused and why.
    let won = polity(&["elect", "after-rotation", "--http", &b]);
    assert_eq!(won.code, 0, "{won:?}");
    let refused = polity(&["keys", "remove", &new, "--http", &a]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused
            .stdout
            .contains("a refused: the primary key cannot be removed"),
        "{refused:?}"
    );
}

#[test]
fn key_commands_refuse_bad_keys_and_unsealed_agents() {
    let bad = polity(&["keys", "install", "not-a-key", "--http", "127.0.0.1:1"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("not base64"), "{bad:?}");
    let short = polity(&["keys", "use", "AQID", "--http", "127.0.0.1:1"]);
    assert_eq!(short.code, 2, "{short:?}");
    assert!(short.stderr.contains("has 3 bytes"), "{short:?}");

    let dir = tempfile::tempdir().expect("a temporary directory");
    let plain = Agent::start(dir.path(), "plain", None);
    let unsealed = polity(&["keys", "list", "--http", &plain.http]);
    assert_eq!(unsealed.code, 1, "{unsealed:?}");
    assert!(unsealed.stderr.contains("--keyring"), "{unsealed:?}");

    let missing = dir.path().join("missing.keyring");
    let refused = polity(&[
        "agent",
        "--name",
        "k",
        "--bind",
        "127.0.0.1:0",
        "--http",
        &format!("unix:{}/k.sock", dir.path().display()),
        "--keyring",
        &missing.display().to_string(),
    ]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("missing.keyring"), "{refused:?}");
}
