//! The state directory over real UDP on 127.0.0.1: a node started with one keeps its
//! clock and the members it counts across a restart, writes them while it runs, and
//! refuses a corrupt state file with an error instead of starting afresh.
//!
//! Nothing here sleeps to synchronise: every wait polls a condition, and the timeouts
//! only stop a broken test from hanging.

use std::path::Path;
use std::time::Duration;

use polity::{Config, MemberStatus, Node, NodeHandle, NodeName, StartError};
use serde_json::Value;

/// Generous bound on anything here: convergence on loopback, a write of the state file.
const BOUND: Duration = Duration::from_secs(15);

fn config(name: &str) -> Config {
    let mut config = Config::fast(NodeName::new(name).unwrap());
    config.bind = "127.0.0.1:0".parse().unwrap();
    config
}

/// The state file in `dir`, as JSON.
fn read_state(dir: &Path) -> Value {
    let text = std::fs::read(dir.join("state.json")).expect("the state file exists");
    serde_json::from_slice(&text).expect("the state file is JSON")
}

fn saved_clock(state: &Value) -> u64 {
    state["clock"].as_u64().expect("the state holds a clock")
}

fn saved_member_names(state: &Value) -> Vec<String> {
    state["members"]
        .as_array()
        .expect("the state holds members")
        .iter()
        .map(|member| member["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Polls `check` every 20 ms until it holds; panics with `what` after [`BOUND`].
async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {BOUND:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sees_alive(node: &NodeHandle, name: &str) -> bool {
    node.members()
        .await
        .unwrap()
        .iter()
        .any(|member| member.id.name().as_str() == name && member.status == MemberStatus::Alive)
}

#[tokio::test]
async fn a_restarted_node_keeps_its_clock_and_counts_the_members_it_knew() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::start_with_state(config("a"), Some(dir.path()))
        .await
        .unwrap();
    let mut b_config = config("b");
    b_config.join = vec![a.local_addr()];
    let b = Node::start(b_config).await.unwrap();
    wait_until("a to see b alive", async || sees_alive(&a, "b").await).await;

    // Written while running, without waiting for a stop.
    wait_until("a's state file to list b", async || {
        saved_member_names(&read_state(dir.path())) == ["b"]
    })
    .await;

    a.shutdown().await;
    b.shutdown().await;
    let first = read_state(dir.path());
    let first_clock = saved_clock(&first);
    assert_eq!(saved_member_names(&first), ["b"]);
    assert!(!dir.path().join("state.json.tmp").exists());

    let a = Node::start_with_state(config("a"), Some(dir.path()))
        .await
        .unwrap();
    assert!(
        a.id().generation() > first_clock,
        "generation {} is not above the saved clock {first_clock}",
        a.id().generation()
    );
    assert_eq!(a.population().await.unwrap(), 2, "b still counts");
    let members = a.members().await.unwrap();
    let b = members
        .iter()
        .find(|member| member.id.name().as_str() == "b")
        .expect("a remembers b");
    assert_eq!(b.status, MemberStatus::Down);
    a.leave().await.unwrap();

    let second = read_state(dir.path());
    assert!(saved_clock(&second) > first_clock);
    assert_eq!(saved_member_names(&second), ["b"]);
}

#[tokio::test]
async fn a_saved_clock_ahead_of_the_wall_clock_is_a_floor() {
    let dir = tempfile::tempdir().unwrap();
    let a = Node::start_with_state(config("a"), Some(dir.path()))
        .await
        .unwrap();
    a.shutdown().await;
    // As if the wall clock had been set back by a day since the state was saved.
    let mut state = read_state(dir.path());
    let ahead = saved_clock(&state) + 86_400_000_000;
    state["clock"] = Value::from(ahead);
    std::fs::write(dir.path().join("state.json"), state.to_string()).unwrap();

    let a = Node::start_with_state(config("a"), Some(dir.path()))
        .await
        .unwrap();
    assert!(a.id().generation() > ahead);
    a.shutdown().await;
    assert!(saved_clock(&read_state(dir.path())) > ahead);
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{\"clock\": 12, \"members\": [").unwrap();
    let error = Node::start_with_state(config("a"), Some(dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(error, StartError::StateFile { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("remove it to start afresh"), "{message}");
    // Left as it was, for the operator to look at.
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"clock\": 12, \"members\": ["
    );
}
