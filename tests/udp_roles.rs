//! Roles over real UDP on 127.0.0.1: five nodes with the `fast` profile (lease 300 ms)
//! elect, fail over, hand over, recall and watch a role through [`NodeHandle`].
//!
//! Nothing here sleeps to synchronise: every wait is for an event, a future or a watched
//! state, and the timeouts only stop a broken test from hanging. No test measures time.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use polity::{
    Config, Event, InvalidName, LossReason, Member, MemberStatus, Node, NodeError, NodeHandle,
    NodeName, RoleError, RoleName, RoleState, RoleValue,
};
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio::time::timeout;

/// Generous bound on any one step: convergence, an election, a failover.
const GUARD: Duration = Duration::from_secs(10);

const NODES: usize = 5;

fn name(name: &str) -> NodeName {
    NodeName::new(name).unwrap()
}

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap()
}

/// Awaits `step`, or panics saying what did not happen within [`GUARD`].
async fn within<T>(what: &str, step: impl Future<Output = T>) -> T {
    match timeout(GUARD, step).await {
        Ok(output) => output,
        Err(_) => panic!("waited {GUARD:?} for {what}"),
    }
}

/// Starts [`NODES`] nodes named `n0`, `n1`, ... with the `fast` profile, each joining
/// `n0`; waits until every node sees every node alive, and then until every node answers
/// role requests (a node takes none before it has been part of the cluster for a lease).
async fn cluster() -> Vec<NodeHandle> {
    let mut nodes: Vec<NodeHandle> = Vec::with_capacity(NODES);
    for i in 0..NODES {
        let mut config = Config::fast(name(&format!("n{i}")));
        config.bind = SocketAddr::from(([127, 0, 0, 1], 0));
        if let Some(first) = nodes.first() {
            config.join = vec![first.local_addr()];
        }
        nodes.push(Node::start(config).await.unwrap());
    }
    for node in &nodes {
        let what = format!("{} to see {NODES} members alive", node.id());
        within(&what, all_alive(node)).await;
    }
    for node in &nodes {
        let what = format!("{} to answer a query", node.id());
        within(&what, answers_queries(node)).await;
    }
    nodes
}

/// Returns once `node` answers a query for a role, retrying every 50 ms.
async fn answers_queries(node: &NodeHandle) {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if node.query_role(role("probe")).await.is_ok() {
            return;
        }
    }
}

/// Returns once `node` sees [`NODES`] members, all alive; rechecks after each of its
/// events and at least every 50 ms.
async fn all_alive(node: &NodeHandle) {
    let mut events = node.events();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let alive = |members: &[Member]| {
        members.len() == NODES && members.iter().all(|m| m.status == MemberStatus::Alive)
    };
    while !alive(&node.members().await.unwrap()) {
        tokio::select! {
            _ = events.recv() => {}
            _ = tick.tick() => {}
        }
    }
}

async fn stop(nodes: &[NodeHandle]) {
    for node in nodes {
        node.shutdown().await;
    }
}

/// Waits for an event on `events` that `wanted` accepts.
async fn event(
    events: &mut broadcast::Receiver<Event>,
    what: &str,
    wanted: impl Fn(&Event) -> bool,
) {
    within(what, async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("node stopped; {what}"),
            }
        }
    })
    .await;
}

/// Starts a campaign for `role` on each of `who`, in its own task.
fn campaigns(
    nodes: &[NodeHandle],
    who: impl IntoIterator<Item = usize>,
    role: &RoleName,
) -> JoinSet<(usize, Result<polity::Leadership, NodeError>)> {
    let mut set = JoinSet::new();
    for i in who {
        let (node, role) = (nodes[i].clone(), role.clone());
        set.spawn(async move { (i, node.campaign(role).await) });
    }
    set
}

/// The next campaign of `set` to end, with the node it ran on; panics unless it won.
async fn next_won(
    set: &mut JoinSet<(usize, Result<polity::Leadership, NodeError>)>,
    what: &str,
) -> (usize, polity::Leadership) {
    let (i, won) = within(what, set.join_next())
        .await
        .expect("a campaign is left")
        .expect("the campaign's task ran");
    (
        i,
        won.unwrap_or_else(|error| panic!("n{i}'s campaign: {error}")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_wins_an_election_and_the_cluster_agrees() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");

    // Every node is still in its quiet time for at most one lease after it started;
    // `elect` waits that out, well within its deadline of about two leases.
    let leadership = within("n0 to win", nodes[0].elect(scheduler.clone()))
        .await
        .unwrap();
    let term = leadership.term();
    assert_eq!(leadership.role(), &scheduler);
    assert!(!leadership.is_lost());
    let held = RoleState::Held {
        holder: name("n0"),
        term,
        value: RoleValue::EMPTY,
    };

    let answer = within("a query", nodes[3].query_role(scheduler.clone())).await;
    assert_eq!(answer, Ok(held.clone()));
    assert_eq!(nodes[0].holder(&scheduler).await, Ok(held.clone()));
    assert_eq!(
        nodes[0].roles().await,
        Ok(vec![(scheduler.clone(), held.clone())])
    );

    let refused = within("n1's election", nodes[1].elect(scheduler.clone())).await;
    assert_eq!(
        refused.unwrap_err(),
        NodeError::Role(RoleError::Lost {
            holder: name("n0"),
            term
        })
    );
    // Electing again where the role is held hands out the same tenure.
    let again = within("n0 again", nodes[0].elect(scheduler.clone()))
        .await
        .unwrap();
    assert_eq!(again.term(), term);
    drop(again);
    assert_eq!(nodes[0].holder(&scheduler).await, Ok(held));
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_candidate_takes_over_from_a_crashed_holder() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let first = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let mut waiting = campaigns(&nodes, 1..NODES, &scheduler);
    let lost = first.lost();

    nodes[0].shutdown().await; // a crash: no resignation, no goodbye
    assert_eq!(
        within("lost() after a crash", lost).await,
        Err(NodeError::ShutDown)
    );

    let (winner, next) = next_won(&mut waiting, "a campaigner to take over").await;
    assert!(
        next.term() > first.term(),
        "{} > {}",
        next.term(),
        first.term()
    );
    // One holder: the other campaigns still wait, and a quorum names the winner.
    assert!(waiting.try_join_next().is_none());
    let asker = if winner == 1 { 2 } else { 1 };
    let answer = within("a query", nodes[asker].query_role(scheduler.clone())).await;
    let held = RoleState::Held {
        holder: name(&format!("n{winner}")),
        term: next.term(),
        value: RoleValue::EMPTY,
    };
    assert_eq!(answer, Ok(held));
    stop(&nodes).await;
    // The node stopped under the campaigns still waiting.
    while let Some(joined) = within("the campaigns to end", waiting.join_next()).await {
        assert_eq!(joined.unwrap().1.unwrap_err(), NodeError::ShutDown);
    }
}

/// A holder cut off from every voter hears the early warning before the loss:
/// `Event::RoleAtRisk` comes before `Event::RoleLost`, `at_risk()` resolves with the
/// tenure's standing marked at risk, and `lost()` then says the lease expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_cut_off_from_its_voters_is_warned_before_it_loses_the_role() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let mut events = nodes[0].events();
    let held = within("n0 to win", nodes[0].elect(scheduler.clone()))
        .await
        .unwrap();
    let standing = held.standing();
    assert!(!standing.get().at_risk);
    assert_eq!(standing.get().until, held.deadline());
    let (at_risk, lost) = (held.at_risk(), held.lost());

    stop(&nodes[1..]).await; // every voter but the holder crashes
    within("at_risk()", at_risk).await;
    assert!(
        standing.get().at_risk,
        "at_risk() resolved without a warning"
    );
    let is_warning = |e: &Event| matches!(e, Event::RoleAtRisk { role, term, .. } if *role == scheduler && *term == held.term());
    let is_loss = |e: &Event| matches!(e, Event::RoleLost { role, .. } if *role == scheduler);
    event(&mut events, "the warning, before any loss", |e| {
        assert!(!is_loss(e), "lost the role without a warning first");
        is_warning(e)
    })
    .await;
    assert_eq!(
        within("lost() after the warning", lost).await,
        Ok(LossReason::LeaseExpired)
    );
    stop(&nodes[..1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resigning_hands_the_role_to_a_waiting_candidate() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let old = held.term();
    let mut waiting = campaigns(&nodes, [1], &scheduler);
    let lost = held.lost();

    held.resign().await.unwrap();

    assert_eq!(within("lost()", lost).await, Ok(LossReason::Resigned));
    let (_, next) = next_won(&mut waiting, "n1 to take over").await;
    assert!(next.term() > old);
    // Resigning by name works too, and only for the holder.
    assert_eq!(nodes[1].resign(&scheduler).await, Ok(next.term()));
    assert_eq!(
        nodes[1].resign(&scheduler).await,
        Err(NodeError::Role(RoleError::NotHolder))
    );
    assert!(next.is_lost());
    assert_eq!(
        next.resign().await,
        Err(NodeError::Role(RoleError::NotHolder))
    );
    stop(&nodes).await;
}

/// A transfer goes to the node named, not to the first waiting candidate, and is refused
/// with the role kept for a node that does not campaign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_hands_the_role_to_the_node_named() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let n2 = nodes[2].id().name().clone();
    assert_eq!(
        held.transfer(&n2).await,
        Err(NodeError::Role(RoleError::NotCandidate {
            node: n2.clone()
        }))
    );
    assert!(!held.is_lost(), "a refused transfer keeps the role");
    let mut waiting = campaigns(&nodes, [1, 2], &scheduler);
    // n2's campaign starts on its own task: until it has, the transfer is refused.
    within("n0 to hand the role to n2", async {
        while held.transfer(&n2).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(held.is_lost());
    let (winner, next) = next_won(&mut waiting, "n2 to take over").await;
    assert_eq!((winner, next.term() > held.term()), (2, true));
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_leadership_resigns() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let old = held.term();
    let mut events = nodes[0].events();
    let mut waiting = campaigns(&nodes, [2], &scheduler);

    drop(held);

    // Resigned, not lapsed: the drop gave the role up.
    event(&mut events, "n0 to resign", |e| {
        matches!(e, Event::RoleLost { role, term, reason: LossReason::Resigned }
            if *role == scheduler && *term == old)
    })
    .await;
    let (_, next) = next_won(&mut waiting, "n2 to take over").await;
    assert!(next.term() > old);
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_campaign_is_withdrawn_and_leave_cancels_and_resigns() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let mut n3_events = nodes[3].events();
    // n3's campaign is dropped while it waits; n4's waits on.
    let mut dropped = campaigns(&nodes, [3], &scheduler);
    let mut waiting = campaigns(&nodes, [4], &scheduler);
    dropped.abort_all();
    let aborted = within("the abort", dropped.join_next()).await.unwrap();
    assert!(aborted.unwrap_err().is_cancelled());

    // n0 leaves: it resigns on the way out, and n4 takes over.
    let lost = held.lost();
    nodes[0].leave().await.unwrap();
    assert_eq!(within("lost()", lost).await, Ok(LossReason::Resigned));
    let (_, next) = next_won(&mut waiting, "n4 to take over").await;
    // n3 withdrew: it never held the role.
    while let Ok(event) = n3_events.try_recv() {
        assert!(
            !matches!(event, Event::RoleAcquired { .. }),
            "n3 won after withdrawing"
        );
    }

    // A campaign waiting when its node leaves is cancelled. Polled once, the campaign
    // has queued its request, so the node's task sees it before the leave.
    let left_behind = nodes[1].campaign(scheduler.clone());
    tokio::pin!(left_behind);
    tokio::select! {
        biased;
        outcome = &mut left_behind => panic!("n1 won while n4 holds the role: {outcome:?}"),
        () = std::future::ready(()) => {}
    }
    let lost = next.lost();
    nodes[1].leave().await.unwrap();
    let outcome = within("n1's campaign to end", left_behind).await;
    assert_eq!(outcome.unwrap_err(), NodeError::Role(RoleError::Cancelled));
    nodes[4].shutdown().await;
    assert_eq!(within("lost()", lost).await, Err(NodeError::ShutDown));
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_dropped_during_its_election_leaves_nothing_held() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    // Past the voters' quiet time, so that the withdrawn election can win.
    let warm_up = within("a warm-up", nodes[1].campaign(role("warm-up"))).await;
    warm_up.unwrap().resign().await.unwrap();
    let mut events = nodes[1].events();
    // Polled once, the campaign has queued its request; the answer to a later request
    // shows the node's task has started it. Dropped then, it is withdrawn while its
    // election runs; if that election wins anyway, the node resigns at once since nobody
    // waits any more.
    {
        let campaign = nodes[1].campaign(scheduler.clone());
        tokio::pin!(campaign);
        tokio::select! {
            biased;
            outcome = &mut campaign => panic!("won without a round trip: {outcome:?}"),
            () = std::future::ready(()) => {}
        }
        nodes[1].holder(&scheduler).await.unwrap();
    }
    let mut waiting = campaigns(&nodes, [2], &scheduler);
    let (_, next) = next_won(&mut waiting, "n2 to win").await;
    // If n1 won, it resigned: its next role event after the win is the resignation.
    let mut held = None;
    while let Ok(event) = events.try_recv() {
        match event {
            Event::RoleAcquired { role, term } if role == scheduler => held = Some(term),
            Event::RoleLost { role, term, reason } if role == scheduler => {
                assert_eq!((Some(term), reason), (held, LossReason::Resigned));
                held = None;
            }
            _ => {}
        }
    }
    assert_eq!(held, None, "n1 still holds the role");
    assert!(!next.is_lost());
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_vacates_a_held_role_and_refuses_a_vacant_one() {
    let nodes = cluster().await;
    let unfilled = within("a recall", nodes[1].recall(role("nobody-holds-this"))).await;
    assert_eq!(unfilled, Err(NodeError::Role(RoleError::RoleUnfilled)));

    let scheduler = role("scheduler");
    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let lost = held.lost();
    let recalled = within("a recall", nodes[2].recall(scheduler.clone())).await;
    assert_eq!(recalled, Ok(held.term()));
    let reason = within("lost() after the recall", lost).await.unwrap();
    assert!(
        matches!(reason, LossReason::Recalled | LossReason::LeaseExpired),
        "{reason:?}"
    );
    stop(&nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_a_handoff_in_term_order() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let mut watch = nodes[4].watch(scheduler.clone());
    assert_eq!(*watch.borrow(), RoleState::Vacant);

    let held = within("n0 to win", nodes[0].campaign(scheduler.clone()))
        .await
        .unwrap();
    let first = RoleState::Held {
        holder: name("n0"),
        term: held.term(),
        value: RoleValue::EMPTY,
    };
    within(
        "n4 to see n0 hold the role",
        watch.wait_for(|s| *s == first),
    )
    .await
    .unwrap();
    let mut waiting = campaigns(&nodes, [1], &scheduler);
    held.resign().await.unwrap();

    let mut seen = vec![first];
    within("n4 to see n1 hold the role", async {
        loop {
            watch.changed().await.unwrap();
            let state = watch.borrow_and_update().clone();
            let done = matches!(&state, RoleState::Held { holder, .. } if *holder == name("n1"));
            seen.push(state);
            if done {
                return;
            }
        }
    })
    .await;
    let terms: Vec<u64> = seen
        .iter()
        .filter_map(|s| match s {
            RoleState::Held { term, .. } => Some(term.get()),
            _ => None,
        })
        .collect();
    assert!(
        terms.windows(2).all(|w| w[0] < w[1]),
        "held states out of term order: {seen:?}"
    );
    let (_, next) = within("n1's campaign", waiting.join_next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        seen.last().cloned(),
        Some(RoleState::Held {
            holder: name("n1"),
            term: next.unwrap().term(),
            value: RoleValue::EMPTY,
        })
    );
    stop(&nodes).await;
    // Once the node has stopped, the watch closes.
    within("the watch to close", async {
        while watch.changed().await.is_ok() {}
    })
    .await;
}

#[test]
fn a_bad_role_name_converts_into_node_error() {
    fn named(text: &str) -> Result<RoleName, NodeError> {
        Ok(RoleName::new(text)?)
    }
    assert_eq!(named(""), Err(NodeError::InvalidName(InvalidName::Empty)));
    assert_eq!(
        named("two words").unwrap_err().to_string(),
        "invalid name: name holds the character ' ', which is not printable or is whitespace"
    );
    assert!(named("scheduler").is_ok());
}

/// Slots of a semaphore: each node campaigning for any of two slots holds at most one,
/// two nodes hold one each, and a slot given up goes to the node still waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_any_fills_each_slot_once_and_a_freed_slot_goes_to_the_waiting_node() {
    let nodes = cluster().await;
    let slots = [role("lock/1"), role("lock/2")];
    let mut set = JoinSet::new();
    for (i, node) in nodes.iter().enumerate().take(3) {
        let (node, slots) = (node.clone(), slots.clone());
        set.spawn(async move { (i, node.campaign_any(slots, RoleValue::EMPTY).await) });
    }
    let mut holders = Vec::new();
    for _ in 0..2 {
        holders.push(next_won(&mut set, "a slot to be won").await);
    }
    let (a, b) = (&holders[0].1, &holders[1].1);
    assert_ne!(a.role(), b.role(), "two slots, one holder each");
    for (i, _) in &holders {
        assert_eq!(
            nodes[*i].held_roles().await.unwrap().len(),
            1,
            "n{i} holds one slot"
        );
    }
    let (first, leadership) = holders.remove(0);
    let freed = leadership.role().clone();
    leadership.resign().await.unwrap();
    let (waiting, won) = next_won(&mut set, "the waiting node to take the freed slot").await;
    assert_ne!(waiting, first);
    assert_eq!(won.role(), &freed);
    assert_eq!(nodes[waiting].held_roles().await.unwrap().len(), 1);
    let empty: [RoleName; 0] = [];
    assert_eq!(
        nodes[0].campaign_any(empty, RoleValue::EMPTY).await.err(),
        Some(NodeError::Role(RoleError::RoleUnfilled))
    );
    stop(&nodes).await;
}

/// Holding tied to health: an unhealthy node does not campaign (a healthy one takes the
/// role it could have had), campaigns once healthy, and withdraws when its health
/// fails before it wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_while_healthy_waits_for_a_pass_and_withdraws_on_a_failure() {
    let nodes = cluster().await;
    let scheduler = role("scheduler");
    let (health, healthy) = tokio::sync::watch::channel(false);
    let gated = {
        let (node, role) = (nodes[0].clone(), scheduler.clone());
        tokio::spawn(async move {
            node.campaign_while_healthy(role, RoleValue::EMPTY, healthy)
                .await
        })
    };
    // n0 is unhealthy: n1 wins, and after n1 resigns n2 wins though n0 "waits".
    let held = within("n1 to win", nodes[1].campaign(scheduler.clone()))
        .await
        .unwrap();
    let mut next = campaigns(&nodes, [2], &scheduler);
    held.resign().await.unwrap();
    let (_, n2) = next_won(&mut next, "n2 to take over").await;
    assert!(!gated.is_finished());
    assert!(nodes[0].held_roles().await.unwrap().is_empty());

    // Healthy now, n0 campaigns and waits for n2; its health fails before n2 resigns,
    // so n0 withdraws and n3 takes over.
    let refused = || async {
        let mut leased = 0;
        for node in &nodes[1..] {
            leased += node.stats().await.unwrap().votes_refused_leased;
        }
        leased
    };
    let before = refused().await;
    health.send_replace(true);
    within("n0 to ask for votes, refused for n2's lease", async {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        while refused().await == before {
            tick.tick().await;
        }
    })
    .await;
    let mut watch = nodes[2].watch(scheduler.clone());
    health.send_replace(false);
    let mut after = campaigns(&nodes, [3], &scheduler);
    n2.resign().await.unwrap();
    let (_, n3) = next_won(&mut after, "n3 to take over").await;
    within(
        "n2 to see n3 hold it",
        watch.wait_for(
            |state| matches!(state, RoleState::Held { holder, .. } if holder.as_str() == "n3"),
        ),
    )
    .await
    .unwrap();
    assert!(!gated.is_finished());

    // Healthy again: once n3 resigns, n0 wins.
    health.send_replace(true);
    n3.resign().await.unwrap();
    let won = within("n0 to win once healthy", gated)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(won.role(), &scheduler);
    stop(&nodes).await;
}
