//! What an operator scrapes: three real agents, an election and a failover, and each
//! agent's `/v1/metrics` read with a parser of the Prometheus text format.
#![cfg(feature = "cli")]
// The harness is shared with `cli_agent.rs`; these tests use only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use prometheus_parse::{Scrape, Value as Metric};
use serde_json::Value;

const POLITY: &str = env!("CARGO_BIN_EXE_polity");

/// Generous bound on any wait: convergence, an election, failure detection.
const BOUND: Duration = Duration::from_secs(30);

include!("cli_agent/harness.rs");

/// The body of `agent`'s `/v1/metrics`, checked against the format's rules and the
/// naming conventions, then parsed.
fn scrape(agent: &Agent) -> Scrape {
    let answer = http_get(&agent.http, "/v1/metrics");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    check_conventions(body);
    Scrape::parse(body.lines().map(|line| Ok(line.to_owned()))).expect("the exposition parses")
}

/// Every family has help and a type, names are valid and follow the conventions
/// (counters end in `_total`, histograms are durations in `_seconds`, gauges are not
/// `_total`), and every sample belongs to the family just declared and has a number.
fn check_conventions(body: &str) {
    let valid = |name: &str| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut family: Option<(String, String)> = None;
    let mut helped = None;
    for line in body.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, text) = help.split_once(' ').expect("HELP name text");
            assert!(valid(name) && !text.is_empty(), "{line}");
            helped = Some(name.to_owned());
        } else if let Some(ty) = line.strip_prefix("# TYPE ") {
            let (name, kind) = ty.split_once(' ').expect("TYPE name kind");
            assert_eq!(helped.as_deref(), Some(name), "HELP before TYPE: {line}");
            match kind {
                "counter" => assert!(name.ends_with("_total"), "{line}"),
                "histogram" => assert!(name.ends_with("_seconds"), "{line}"),
                "gauge" => assert!(!name.ends_with("_total"), "{line}"),
                other => panic!("unexpected type {other}: {line}"),
            }
            family = Some((name.to_owned(), kind.to_owned()));
        } else {
            let (name, kind) = family.as_ref().expect("a sample after its TYPE");
            let metric = line.split(['{', ' ']).next().unwrap_or_default();
            let own = if kind == "histogram" {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| metric == format!("{name}{suffix}"))
            } else {
                metric == name
            };
            assert!(own, "{line} is not of family {name}");
            let value = line.rsplit(' ').next().unwrap_or_default();
            assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
        }
    }
}

/// The value of the sample `metric` whose labels include `labels`.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .and_then(|s| match s.value {
            Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v) => Some(v),
            _ => None,
        })
}

/// How many observations the histogram `metric` has.
fn observations(scrape: &Scrape, metric: &str) -> f64 {
    value(scrape, &format!("{metric}_count"), &[]).expect("the histogram's count")
}

#[test]
fn metrics_name_the_holder_once_and_count_one_failover_and_one_handoff() {
    let mut cluster = Cluster::start();
    let won = polity(&["elect", "metered", "--http", cluster.http("a"), "--json"]);
    assert_eq!(won.code, 0, "{won:?}");
    for name in ["b", "c"] {
        poll(
            &format!("{name} to see a hold metered"),
            &["query", "metered", "--http", cluster.http(name), "--json"],
            |run| run.code == 0 && run.json()["holder"] == "a",
        );
    }
    let held = |name: &str| {
        let scrape = scrape(cluster.agent(name));
        value(&scrape, "polity_role_held", &[("role", "metered")])
    };
    let mut before: BTreeMap<&str, Option<f64>> = BTreeMap::new();
    for name in ["a", "b", "c"] {
        before.insert(name, held(name));
    }
    assert_eq!(before["a"], Some(1.0), "{before:?}");
    assert_eq!(
        (before["b"], before["c"]),
        (Some(0.0), Some(0.0)),
        "{before:?}"
    );
    let a = scrape(cluster.agent("a"));
    assert_eq!(
        value(&a, "polity_role_term", &[("role", "metered")]),
        Some(won.json()["term"].as_f64().expect("a term"))
    );
    assert_eq!(
        value(&a, "polity_api_elections_total", &[("outcome", "won")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &a,
            "polity_election_duration_seconds_count",
            &[("outcome", "won")]
        ),
        Some(1.0)
    );
    assert_eq!(
        observations(&a, "polity_failover_seconds"),
        0.0,
        "no failover yet"
    );
    dashboard_names_only_what_agents_export(&a);

    // b and c campaign; the holder dies; one of them takes over, and both count the
    // failover once.
    let _campaigns: Vec<Guard> = ["b", "c"]
        .iter()
        .map(|name| {
            let http = cluster.http(name);
            let child = Command::new(POLITY)
                .args(["elect", "metered", "--wait", "--http", http])
                .stdout(Stdio::null())
                .spawn()
                .expect("the polity binary runs");
            Guard(child)
        })
        .collect();
    cluster.agents[0].process.kill();
    let (b, c) = (cluster.http("b").to_owned(), cluster.http("c").to_owned());
    let view = poll(
        "b to see a new holder of metered",
        &["query", "metered", "--http", &b, "--json"],
        |run| run.code == 0 && run.json()["holder"] != "a",
    )
    .json();
    poll(
        "c to see the same holder",
        &["query", "metered", "--http", &c, "--json"],
        |run| run.code == 0 && run.json()["holder"] == view["holder"],
    );
    let survivors = [cluster.agent("b"), cluster.agent("c")];
    let down = |scrape: &Scrape| {
        value(
            scrape,
            "polity_membership_changes_total",
            &[("kind", "down")],
        )
    };
    wait_for(
        "both survivors to count the failover and a going down",
        || {
            survivors.iter().all(|agent| {
                let scrape = scrape(agent);
                observations(&scrape, "polity_failover_seconds") >= 1.0
                    && down(&scrape) >= Some(1.0)
            })
        },
    );
    let mut holders = 0;
    for agent in survivors {
        let scrape = scrape(agent);
        assert_eq!(
            observations(&scrape, "polity_failover_seconds"),
            1.0,
            "{} counted one failover",
            agent.name
        );
        let held = value(&scrape, "polity_role_held", &[("role", "metered")]);
        if held == Some(1.0) {
            holders += 1;
            assert_eq!(Some(agent.name.as_str()), view["holder"].as_str());
        }
        assert_eq!(
            down(&scrape),
            Some(1.0),
            "{} saw a go down once",
            agent.name
        );
    }
    assert_eq!(holders, 1, "exactly one survivor holds metered");

    // The new holder resigns; the other survivor, still campaigning, takes over: one
    // handoff on the one that resigned.
    let holder = view["holder"].as_str().expect("a holder's name");
    let other = if holder == "b" { "c" } else { "b" };
    let resigned = polity(&["resign", "metered", "--http", cluster.http(holder)]);
    assert_eq!(resigned.code, 0, "{resigned:?}");
    poll(
        &format!("{holder} to see {other} hold metered"),
        &["query", "metered", "--http", cluster.http(holder), "--json"],
        |run| run.code == 0 && run.json()["holder"] == other,
    );
    let resigner = cluster.agent(holder);
    wait_for("the resigner to count the handoff", || {
        observations(&scrape(resigner), "polity_handoff_seconds") >= 1.0
    });
    let scrape = scrape(resigner);
    assert_eq!(observations(&scrape, "polity_handoff_seconds"), 1.0);
    assert_eq!(
        value(
            &scrape,
            "polity_roles_lost_total",
            &[("reason", "resigned")]
        ),
        Some(1.0)
    );
}

/// Every metric the shipped Grafana dashboard queries is one an agent exports.
fn dashboard_names_only_what_agents_export(scrape: &Scrape) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dist/grafana/polity.json");
    let text = std::fs::read_to_string(path).expect("the dashboard is shipped");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(
        dashboard["panels"]
            .as_array()
            .is_some_and(|p| p.len() >= 10)
    );
    let exported: Vec<&str> = scrape.docs.keys().map(String::as_str).collect();
    let mut queried = 0;
    for (at, _) in text.match_indices("polity_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .unwrap_or(&name);
        assert!(
            exported.contains(&family),
            "the dashboard queries {name}, not exported"
        );
        queried += 1;
    }
    assert!(queried >= 15, "{queried} queries");
}
