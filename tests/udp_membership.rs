//! Membership over real UDP on 127.0.0.1: nodes bind port 0, join one another, leave,
//! crash, and shrug off garbage.
//!
//! Nothing here sleeps to synchronise: every wait watches events or polls a condition,
//! and the timeouts only stop a broken test from hanging.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use polity::core::Stats;
use polity::{
    Config, Event, Member, MemberStatus, Node, NodeError, NodeHandle, NodeName, StartError,
};
use tokio::sync::broadcast;
use tokio::time::timeout;

/// Generous bound on how long a small cluster on loopback takes to converge.
const CONVERGENCE: Duration = Duration::from_secs(15);

fn name(name: &str) -> NodeName {
    NodeName::new(name).unwrap()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Starts `n` nodes named `n0`, `n1`, ... from `profile`, each joining `n0`.
async fn cluster(n: usize, profile: fn(NodeName) -> Config) -> Vec<NodeHandle> {
    let mut nodes: Vec<NodeHandle> = Vec::with_capacity(n);
    for i in 0..n {
        let mut config = profile(name(&format!("n{i}")));
        config.bind = loopback();
        if let Some(first) = nodes.first() {
            config.join = vec![first.local_addr()];
        }
        nodes.push(Node::start(config).await.unwrap());
    }
    nodes
}

/// Waits until `check` holds for `node`'s members, rechecking after each of its events
/// and at least every 50 ms; panics with `what` after `bound`.
async fn wait_members(
    node: &NodeHandle,
    bound: Duration,
    what: &str,
    check: impl Fn(&[Member]) -> bool,
) -> Vec<Member> {
    let mut events = node.events();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let waited = timeout(bound, async {
        loop {
            let members = node.members().await.unwrap();
            if check(&members) {
                return members;
            }
            tokio::select! {
                _ = events.recv() => {}
                _ = tick.tick() => {}
            }
        }
    })
    .await;
    match waited {
        Ok(members) => members,
        Err(_) => panic!(
            "{} waited {bound:?} for {what}; members are {:?}",
            node.id(),
            node.members().await
        ),
    }
}

/// Waits for an event on `events` that `wanted` accepts; panics with `what` after `bound`.
async fn wait_event(
    events: &mut broadcast::Receiver<Event>,
    bound: Duration,
    what: &str,
    wanted: impl Fn(&Event) -> bool,
) -> Event {
    let waited = timeout(bound, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("node stopped; {what}"),
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("waited {bound:?} for {what}"))
}

/// Each member's name and status.
fn statuses(members: &[Member]) -> BTreeMap<String, MemberStatus> {
    members
        .iter()
        .map(|m| (m.id.name().to_string(), m.status))
        .collect()
}

fn all_alive(n: usize) -> impl Fn(&[Member]) -> bool {
    move |members| members.len() == n && members.iter().all(|m| m.status == MemberStatus::Alive)
}

fn status_of(members: &[Member], who: &NodeName) -> Option<MemberStatus> {
    members
        .iter()
        .find(|m| m.id.name() == who)
        .map(|m| m.status)
}

async fn converge(nodes: &[NodeHandle]) {
    for node in nodes {
        wait_members(
            node,
            CONVERGENCE,
            "every member alive",
            all_alive(nodes.len()),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge() {
    let nodes = cluster(3, Config::lan).await;
    converge(&nodes).await;
    for node in &nodes {
        let members = node.members().await.unwrap();
        let names: Vec<String> = statuses(&members).into_keys().collect();
        assert_eq!(names, ["n0", "n1", "n2"], "as seen by {}", node.id());
        assert_eq!(node.population().await.unwrap(), 3);
        assert_eq!(node.current_id().await.unwrap(), node.id());
    }
    for node in &nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_leaves_stops_counting() {
    let nodes = cluster(3, Config::lan).await;
    converge(&nodes).await;
    let (leaver, stayers) = (&nodes[2], &nodes[..2]);
    let mut events: Vec<_> = stayers.iter().map(NodeHandle::events).collect();

    leaver.leave().await.unwrap();

    let gone = leaver.id();
    for (node, events) in stayers.iter().zip(&mut events) {
        let what = format!("{} to see {gone:?} leave", node.id());
        wait_event(
            events,
            CONVERGENCE,
            &what,
            |e| matches!(e, Event::MemberLeft(id) if id.name() == gone.name()),
        )
        .await;
        let members = node.members().await.unwrap();
        assert_eq!(
            status_of(&members, gone.name()),
            Some(MemberStatus::Left),
            "{members:?}"
        );
        assert_eq!(node.population().await.unwrap(), 2);
    }
    // The node that left is gone for good.
    assert_eq!(leaver.members().await, Err(NodeError::ShutDown));
    assert_eq!(leaver.leave().await, Err(NodeError::ShutDown));
    for node in stayers {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_node_is_seen_down_and_still_counts() {
    let nodes = cluster(3, Config::fast).await;
    converge(&nodes).await;
    let (crashed, survivors) = (&nodes[2], &nodes[..2]);
    let mut events: Vec<_> = survivors.iter().map(NodeHandle::events).collect();

    crashed.shutdown().await;

    // Without packet loss every survivor declares the crash within this bound; the rest
    // is slack for a loaded machine.
    let bound = Config::fast(name("bound")).failure_detection_bound(nodes.len()) * 2 + CONVERGENCE;
    let down = crashed.id();
    for (node, events) in survivors.iter().zip(&mut events) {
        let what = format!("{} to see {down:?} down", node.id());
        wait_event(
            events,
            bound,
            &what,
            |e| matches!(e, Event::MemberDown(id) if id.name() == down.name()),
        )
        .await;
        let members = node.members().await.unwrap();
        assert_eq!(
            status_of(&members, down.name()),
            Some(MemberStatus::Down),
            "{members:?}"
        );
        assert_eq!(node.population().await.unwrap(), 3);
    }
    assert_eq!(crashed.population().await, Err(NodeError::ShutDown));
    for node in survivors {
        node.shutdown().await;
    }
}

fn rejected(stats: &Stats) -> u64 {
    stats.rejected_envelope + stats.rejected_malformed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_counted_and_dropped() {
    let nodes = cluster(2, Config::lan).await;
    converge(&nodes).await;
    let target = &nodes[0];
    let before_members = statuses(&target.members().await.unwrap());
    let before = rejected(&target.stats().await.unwrap());

    let sender = std::net::UdpSocket::bind(loopback()).unwrap();
    sender
        .send_to(b"GET / HTTP/1.1\r\n\r\n", target.local_addr())
        .unwrap();
    let mut truncated = Vec::new();
    polity::wire::write_envelope(polity::wire::Kind::Polity, &mut truncated);
    truncated.extend_from_slice(&[0xff; 7]);
    sender.send_to(&truncated, target.local_addr()).unwrap();

    let counted = timeout(CONVERGENCE, async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        loop {
            tick.tick().await;
            if rejected(&target.stats().await.unwrap()) >= before + 2 {
                break;
            }
        }
    })
    .await;
    let stats = target.stats().await.unwrap();
    assert!(counted.is_ok(), "garbage not counted: {stats:?}");
    assert_eq!(rejected(&stats), before + 2, "{stats:?}");

    // The node still works: it answers, and it sees the same members.
    assert_eq!(statuses(&target.members().await.unwrap()), before_members);
    wait_members(&nodes[1], CONVERGENCE, "both alive", all_alive(2)).await;
    for node in &nodes {
        node.shutdown().await;
    }
}

#[tokio::test]
async fn start_refuses_what_cannot_work() {
    let mut invalid = Config::lan(name("bad"));
    invalid.bind = loopback();
    invalid.gossip_fanout = 0;
    let error = Node::start(invalid).await.unwrap_err();
    assert!(matches!(error, StartError::Config(_)), "{error}");

    let mut wildcard = Config::lan(name("wild"));
    wildcard.bind = "0.0.0.0:0".parse().unwrap();
    let error = Node::start(wildcard).await.unwrap_err();
    assert!(
        matches!(error, StartError::NoAdvertiseAddress { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("advertise"), "{error}");

    let taken = std::net::UdpSocket::bind(loopback()).unwrap();
    let mut clash = Config::lan(name("clash"));
    clash.bind = taken.local_addr().unwrap();
    let error = Node::start(clash).await.unwrap_err();
    match error {
        StartError::Bind { addr, .. } => assert_eq!(addr, taken.local_addr().unwrap()),
        other => panic!("expected a bind error, got {other}"),
    }
}

#[tokio::test]
async fn dropping_every_handle_stops_the_node() {
    let mut config = Config::lan(name("alone"));
    config.bind = loopback();
    let node = Node::start(config).await.unwrap();
    let addr = node.local_addr();
    let mut events = node.events();
    drop(node);
    // The task drops the event sender when it ends.
    let closed = timeout(CONVERGENCE, async {
        loop {
            if let Err(broadcast::error::RecvError::Closed) = events.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the node kept running");
    // Its port is free again.
    let mut again = Config::lan(name("again"));
    again.bind = addr;
    let node = Node::start(again).await.unwrap();
    node.shutdown().await;
    node.shutdown().await;
    assert_eq!(node.stats().await, Err(NodeError::ShutDown));
}
