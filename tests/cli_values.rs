//! The value a holder publishes, through the `polity` binary: `elect --value`, `proclaim`,
//! what `query`, `watch` and `roles` show, the refusals, and `campaign --value` with
//! `POLITY_VALUE` in CMD's environment.
#![cfg(feature = "cli")]
// The harness is shared with `cli_agent.rs`; these tests use only part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any wait: convergence, an election, gossip.
const BOUND: Duration = Duration::from_secs(30);

include!("cli_agent/harness.rs");

#[test]
fn a_holder_publishes_a_value_and_every_agent_shows_it() {
    let cluster = Cluster::start();
    let (a, b, c) = (cluster.http("a"), cluster.http("b"), cluster.http("c"));

    let won = polity(&[
        "elect",
        "scheduler",
        "--value",
        "10.0.0.1:8080",
        "--http",
        a,
    ]);
    assert_eq!(won.code, 0, "{won:?}");
    let term = won.stdout.clone();
    let held = format!("scheduler a {term} held 10.0.0.1:8080");

    // A quorum's answer, another agent's view and the JSON all carry it.
    let query = polity(&["query", "scheduler", "--http", b]);
    assert_eq!((query.code, query.stdout.as_str()), (0, held.as_str()));
    let json = polity(&["query", "scheduler", "--json", "--http", c]).json();
    assert_eq!(json["value"], "10.0.0.1:8080", "{json}");
    poll("c to list the value", &["roles", "--http", c], |run| {
        run.stdout.lines().any(|line| line == held)
    });

    // A watch sees each new value, in order, with the same term.
    let mut watch = Command::new(POLITY)
        .args(["watch", "scheduler", "--http", c])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the polity binary runs");
    let watched = Lines::new(watch.stdout.take().expect("stdout is piped"));
    let _watch = Guard(watch);
    watched.until(&held);
    for (n, port) in [(1, 9001), (2, 9002)] {
        let value = format!("10.0.0.1:{port}");
        let proclaimed = polity(&["proclaim", "scheduler", &value, "--http", a]);
        assert_eq!(
            (proclaimed.code, proclaimed.stdout.as_str()),
            (0, &*n.to_string())
        );
        watched.until(&format!("scheduler a {term} held {value}"));
    }
    let json = polity(&[
        "proclaim",
        "scheduler",
        "10.0.0.1:9003",
        "--json",
        "--http",
        a,
    ])
    .json();
    assert_eq!(
        (json["version"].clone(), json["term"].to_string()),
        (3.into(), term.clone())
    );
    watched.until(&format!("scheduler a {term} held 10.0.0.1:9003"));

    // Refused, and nothing changes: a node that does not hold the role (exit 3), a
    // value too long for a datagram (exit 1), a body that is not JSON (400).
    let elsewhere = polity(&["proclaim", "scheduler", "10.0.0.2:1", "--http", b]);
    assert_eq!(elsewhere.code, 3, "{elsewhere:?}");
    assert!(
        elsewhere.stderr.contains("does not hold scheduler"),
        "{elsewhere:?}"
    );
    let long = "x".repeat(921);
    let too_long = polity(&["proclaim", "scheduler", &long, "--json", "--http", a]);
    assert_eq!(too_long.code, 1, "{too_long:?}");
    assert_eq!(too_long.json()["code"], "value_too_large", "{too_long:?}");
    let too_long = polity(&["elect", "other", "--value", &long, "--http", a]);
    assert_eq!(too_long.code, 1, "{too_long:?}");
    assert!(
        too_long.stderr.contains("more than the 920 allowed"),
        "{too_long:?}"
    );
    let bad = http(a, "POST", "/v1/roles/scheduler/proclaim", "", "not json");
    assert!(bad.contains(" 400 Bad Request"), "{bad}");
    let query = polity(&["query", "scheduler", "--http", b]);
    assert_eq!(
        query.stdout,
        format!("scheduler a {term} held 10.0.0.1:9003")
    );
    let other = polity(&["query", "other", "--http", b]);
    assert_eq!(
        other.code, 3,
        "an oversized elect elects nothing: {other:?}"
    );

    // The next holder's value comes with its own term.
    let resigned = polity(&["resign", "scheduler", "--http", a]);
    assert_eq!(resigned.code, 0, "{resigned:?}");
    let next = polity(&[
        "elect",
        "scheduler",
        "--value",
        "10.0.0.2:8080",
        "--http",
        b,
    ]);
    assert_eq!(next.code, 0, "{next:?}");
    watched.until(&format!("scheduler b {} held 10.0.0.2:8080", next.stdout));
}

#[test]
fn campaign_publishes_its_value_and_hands_it_to_cmd() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("value");
    let script = format!(
        "echo \"$POLITY_VALUE\" > {}.tmp && mv {0}.tmp {0} && sleep 30",
        out.display()
    );
    let a_udp = &cluster.agent("a").udp;
    let campaign = Command::new(POLITY)
        .args([
            "campaign",
            "compactor",
            "--name",
            "d",
            "--bind",
            "127.0.0.1:0",
        ])
        .args([
            "--join",
            a_udp,
            "--profile",
            "fast",
            "--value",
            "10.0.0.4:7000",
        ])
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the polity binary runs");
    let _campaign = Guard(campaign);
    wait_for("CMD to write POLITY_VALUE", || out.exists());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "10.0.0.4:7000\n");
    poll(
        "the agents to show the campaign's value",
        &["query", "compactor", "--http", cluster.http("b")],
        |run| run.code == 0 && run.stdout.ends_with(" held 10.0.0.4:7000"),
    );
    // A value too long for a datagram is refused before the node starts.
    let refused = polity(&[
        "campaign",
        "compactor",
        "--name",
        "e",
        "--value",
        &"x".repeat(921),
        "--",
        "true",
    ]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("more than the 920 allowed"),
        "{refused:?}"
    );
}
