//! Member tags through the `polity` binary: `agent --tag`, `members` (with its `--tag`
//! filter), `tags --set/--delete`, and the refusals of bad tags.
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

/// Generous bound on any wait: convergence, gossip.
const BOUND: Duration = Duration::from_secs(30);

include!("cli_agent/harness.rs");

/// `name`'s tags as `members --json` at `http` lists them.
fn tags_seen(http: &str, name: &str) -> Value {
    let members = polity(&["members", "--json", "--http", http]).json();
    members["members"]
        .as_array()
        .and_then(|all| all.iter().find(|m| m["name"] == name))
        .map(|m| m["tags"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn tags_set_at_start_and_at_run_time_reach_every_member_and_filter_members() {
    let cluster = Cluster::start_with(|_, name| {
        let zone = if name == "c" { "us" } else { "eu" };
        vec![
            "--tag".into(),
            format!("zone={zone}"),
            "--tag".into(),
            format!("api=http://{name}"),
        ]
    });
    let (a, b, c) = (cluster.http("a"), cluster.http("b"), cluster.http("c"));
    for http in [a, b, c] {
        wait_for("every agent to see every agent's tags", || {
            ["a", "b", "c"]
                .iter()
                .all(|name| tags_seen(http, name)["api"] == format!("http://{name}"))
        });
    }

    // The text table has a TAGS column; --tag keeps the members that have the tag.
    let table = polity(&["members", "--http", b]);
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("TAGS"),
        "{table:?}"
    );
    assert!(table.stdout.contains("api=http://c,zone=us"), "{table:?}");
    let names = |run: &Run| -> Vec<String> {
        run.stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
            .collect()
    };
    let eu = polity(&["members", "--tag", "zone=eu", "--http", c]);
    assert_eq!(names(&eu), ["a", "b"], "{eu:?}");
    let both = polity(&[
        "members",
        "--tag",
        "zone=eu",
        "--tag",
        "api=http://b",
        "--http",
        c,
    ]);
    assert_eq!(names(&both), ["b"], "{both:?}");
    let none = polity(&["members", "--tag", "zone=mars", "--http", c, "--json"]);
    assert_eq!(none.json()["members"], Value::Array(Vec::new()), "{none:?}");

    // At run time: delete one, set another; every member sees the change.
    let changed = polity(&[
        "tags", "--delete", "api", "--set", "zone=ap", "--set", "rack=r7", "--http", a,
    ]);
    assert_eq!(
        (changed.code, changed.stdout.as_str()),
        (0, "rack=r7\nzone=ap"),
        "{changed:?}"
    );
    assert_eq!(polity(&["tags", "--http", a]).stdout, "rack=r7\nzone=ap");
    for http in [b, c] {
        wait_for("the change to reach every agent", || {
            tags_seen(http, "a") == serde_json::json!({"rack": "r7", "zone": "ap"})
        });
    }
    let ap = polity(&["members", "--tag", "zone=ap", "--http", c]);
    assert_eq!(names(&ap), ["a"], "{ap:?}");
}

#[test]
fn bad_tags_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    // At start: exit 2, naming the rule.
    let long = format!("big={}", "v".repeat(600));
    for (flag, says) in [
        ("no-equals-sign", "is not KEY=VALUE"),
        ("bad key=v", "tag key"),
        ("=v", "tag key"),
        (long.as_str(), "more than the 512 allowed"),
    ] {
        let args = [
            "agent",
            "--name",
            "x",
            "--bind",
            "127.0.0.1:0",
            "--tag",
            flag,
        ];
        let run = polity(&args);
        assert_eq!(run.code, 2, "{flag}: {run:?}");
        assert!(run.stderr.contains(says), "{flag}: {run:?}");
    }

    // At run time: refused by the agent, and the tags stay as they were.
    let agent = Agent::start_with(dir.path(), "a", None, &["--tag".into(), "zone=eu".into()]);
    let too_long = polity(&[
        "tags",
        "--set",
        &long,
        "--set",
        "rack=r1",
        "--http",
        &agent.http,
    ]);
    assert_eq!(too_long.code, 1, "{too_long:?}");
    assert!(too_long.stderr.contains("nothing changed"), "{too_long:?}");
    let control = http(
        &agent.http,
        "POST",
        "/v1/tags",
        "Content-Type: application/json\r\n",
        r#"{"set": {"zone": "a\nb"}}"#,
    );
    assert!(control.starts_with("HTTP/1.0 400"), "{control}");
    assert!(control.contains("\"bad_tags\""), "{control}");
    let unknown = http(
        &agent.http,
        "POST",
        "/v1/tags",
        "Content-Type: application/json\r\n",
        r#"{"put": {"zone": "x"}}"#,
    );
    assert!(unknown.starts_with("HTTP/1.0 400"), "{unknown}");
    assert_eq!(polity(&["tags", "--http", &agent.http]).stdout, "zone=eu");
    let bad_flag = polity(&["tags", "--set", "nokey", "--http", &agent.http]);
    assert_eq!(bad_flag.code, 2, "{bad_flag:?}");
}
