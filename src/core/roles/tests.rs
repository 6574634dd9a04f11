//! The roles layer over a tiny synchronous network, as raft-rs tests its state machine:
//! every node's [`Roles`] in one process, each message delivered at once and in order,
//! time moved by hand and each timer fired when it is due. No foca, no sockets, no
//! simulator: what an election, a handoff or a loss does, step by step.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::core::membership::Membership;
use crate::role_value::RoleValue;

const MS: Duration = Duration::from_millis(1);

struct TestNode {
    id: NodeId,
    config: Config,
    membership: Membership,
    clock: LamportClock,
    stats: Stats,
    roles: Roles,
    timers: Vec<(Instant, RoleTimer)>,
    events: Vec<(Instant, Event)>,
    completions: Vec<Completion>,
}

/// `n` nodes that all know each other, past their quiet time, with `lan` timings.
struct Net {
    nodes: Vec<TestNode>,
    now: Instant,
    /// Which side of a partition each node is on: messages cross no side.
    side: Vec<u8>,
    queue: VecDeque<(usize, usize, Body)>,
}

impl Net {
    fn new(n: usize) -> Net {
        let start = Instant::now();
        let ids: Vec<NodeId> = (0..n)
            .map(|i| {
                let name = NodeName::new(format!("n{i}")).expect("a valid name");
                let port = 7000 + u16::try_from(i).expect("a few nodes");
                NodeId::new(name, SocketAddr::from(([127, 0, 0, 1], port)), 1)
            })
            .collect();
        let nodes = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let config = Config::lan(id.name().clone());
                let mut membership = Membership::new(id);
                for other in &ids {
                    membership.up(other);
                }
                let roles = Roles::new(start, config.lease, LamportTime::ZERO, i as u64);
                TestNode {
                    id: id.clone(),
                    config,
                    membership,
                    // Apart, as clocks that start above the wall clock are.
                    clock: LamportClock::starting_above(1000 * i as u64),
                    stats: Stats::default(),
                    roles,
                    timers: Vec::new(),
                    events: Vec::new(),
                    completions: Vec::new(),
                }
            })
            .collect::<Vec<_>>();
        let lease = nodes[0].config.lease;
        Net {
            nodes,
            now: start + lease + MS,
            side: vec![0; n],
            queue: VecDeque::new(),
        }
    }

    fn role() -> RoleName {
        RoleName::new("scheduler").expect("a valid role")
    }

    /// Runs `f` on node `i` as the core would: roles whose lease ran out step down first,
    /// then what `f` asks is carried out.
    fn input<R>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut Roles, &mut Ctx<'_>, &mut Outbox) -> R,
    ) -> R {
        let now = self.now;
        let node = &mut self.nodes[i];
        let mut out = Outbox::default();
        let mut ctx = Ctx {
            now,
            me: &node.id,
            config: &node.config,
            membership: &node.membership,
            clock: &mut node.clock,
            joined: true,
            stats: &mut node.stats,
        };
        node.roles.expire(&mut ctx, &mut out);
        let result = f(&mut node.roles, &mut ctx, &mut out);
        node.timers.extend(out.timers);
        node.events.extend(out.events.into_iter().map(|e| (now, e)));
        node.completions.extend(out.completions);
        for (to, body) in out.sends {
            let to = self.index_of(to);
            self.queue.push_back((i, to, body));
        }
        for announcement in out.announcements {
            for to in (0..self.nodes.len()).filter(|&to| to != i) {
                self.queue
                    .push_back((i, to, Body::Announce(announcement.clone())));
            }
        }
        result
    }

    fn index_of(&self, addr: SocketAddr) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id.addr() == addr)
            .expect("a node of the test")
    }

    /// Delivers every message and fires every timer due now, until nothing is left.
    fn settle(&mut self) {
        loop {
            if let Some((from, to, body)) = self.queue.pop_front() {
                if self.side[from] != self.side[to] {
                    continue;
                }
                let sender = self.nodes[from].id.clone();
                match body {
                    Body::Announce(a) => self.input(to, |r, c, o| r.on_announcement(c, o, &a)),
                    body => self.input(to, |r, c, o| r.on_message(c, o, &sender, body)),
                }
            } else if let Some((i, at)) = self.next_timer().filter(|(_, at)| *at <= self.now) {
                let n = &mut self.nodes[i];
                let k = n.timers.iter().position(|(t, _)| *t == at).expect("due");
                let (_, timer) = n.timers.remove(k);
                self.input(i, |r, c, o| r.on_timer(c, o, timer));
            } else {
                return;
            }
        }
    }

    fn next_timer(&self) -> Option<(usize, Instant)> {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| n.timers.iter().map(move |(at, _)| (i, *at)))
            .min_by_key(|(_, at)| *at)
    }

    /// Moves time on by `by`, timer by timer, settling after each.
    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        self.settle();
        while let Some((_, at)) = self.next_timer().filter(|(_, at)| *at <= end) {
            self.now = self.now.max(at);
            self.settle();
        }
        self.now = end;
        self.settle();
    }

    fn holders(&self) -> Vec<usize> {
        let role = Net::role();
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].roles.held.contains_key(&role))
            .collect()
    }

    fn elect(&mut self, i: usize, persist: bool) -> RequestId {
        self.input(i, |r, c, o| {
            r.want(c, o, Net::role(), persist, RoleValue::EMPTY, 0)
        })
    }
}

#[test]
fn a_candidate_wins_with_a_quorum_and_every_node_sees_it() {
    let mut net = Net::new(3);
    let id = net.elect(0, false);
    net.settle();
    let won = net.nodes[0].completions.iter().find(|c| c.id() == id);
    let Some(Completion::Elect {
        result: Ok(term), ..
    }) = won
    else {
        panic!("n0's election: {won:?}");
    };
    assert_eq!(net.holders(), [0]);
    for node in &net.nodes {
        assert_eq!(
            node.roles.state(&Net::role()),
            RoleState::Held {
                holder: net.nodes[0].id.name().clone(),
                term: *term,
                value: RoleValue::EMPTY,
            }
        );
    }
    // Renewals keep it for as long as the network is whole.
    net.advance(10 * net.nodes[0].config.lease);
    assert_eq!(net.holders(), [0]);
}

/// Two candidates at once: the one asked to vote for a higher ballot gives its undecided
/// election up, so one of them wins in the first round instead of splitting the vote.
#[test]
fn concurrent_candidates_converge_on_the_higher_ballot_in_one_round() {
    let mut net = Net::new(3);
    net.elect(0, true);
    net.elect(1, true);
    // One round trip, and the 1 ms grace a winner waits for the last answers.
    net.advance(2 * MS);
    assert_eq!(net.holders().len(), 1, "{:?}", net.holders());
    net.advance(3 * net.nodes[0].config.lease);
    assert_eq!(net.holders().len(), 1);
}

/// The waiting candidate the holder names in its release asks at once: the role moves
/// within a round trip, without waiting a turn.
#[test]
fn a_resigning_holder_hands_the_role_to_its_waiting_successor_at_once() {
    let mut net = Net::new(3);
    net.elect(0, true);
    net.settle();
    // Once a renewal has confirmed n0's lease, n1 asks (before, it would wait for what
    // looks like an undecided election); the voters refuse it for n0's lease, and n0
    // notes that it asked.
    net.advance(net.nodes[0].config.renew_interval + MS);
    net.elect(1, true);
    net.settle();
    assert_eq!(net.holders(), [0]);
    let term = net.input(0, |r, c, o| r.resign(c, o, &Net::role()));
    assert!(term.is_ok(), "{term:?}");
    let n1 = net.nodes[1].id.name().clone();
    let named = net.queue.iter().all(|(_, _, body)| match body {
        Body::Release { successor, .. } => successor.as_ref() == Some(&n1),
        _ => true,
    });
    assert!(named, "every release names n1: {:?}", net.queue);
    // The release, the successor's vote requests and their answers, and the 1 ms grace
    // a winner waits for the last answers: no turn, no backoff.
    net.advance(2 * MS);
    assert_eq!(net.holders(), [1], "the successor holds the role at once");
}

/// A holder cut off from its voters warns `renew_deadline` after the last acknowledged
/// round, then steps down `holder_lease - renew_deadline` later, before any voter's lease
/// for it ends; the others elect only after that.
#[test]
fn a_cut_off_holder_warns_steps_down_and_only_then_is_replaced() {
    let mut net = Net::new(5);
    net.elect(0, true);
    net.settle();
    net.advance(MS);
    for i in 1..5 {
        net.elect(i, true);
    }
    net.settle();
    assert_eq!(net.holders(), [0]);
    net.side = vec![1, 0, 0, 0, 0];
    let config = net.nodes[0].config.clone();
    net.advance(3 * config.lease);
    let events = &net.nodes[0].events;
    let at = |want: &dyn Fn(&Event) -> bool| events.iter().find(|(_, e)| want(e)).map(|(t, _)| *t);
    let warned = at(&|e| matches!(e, Event::RoleAtRisk { .. })).expect("a warning");
    let lost = at(&|e| {
        matches!(
            e,
            Event::RoleLost {
                reason: LossReason::LeaseExpired,
                ..
            }
        )
    })
    .expect("a loss");
    assert_eq!(lost - warned, config.holder_lease() - config.renew_deadline);
    let next = net.holders();
    assert_eq!(next.len(), 1, "{next:?}");
    let acquired = net.nodes[next[0]]
        .events
        .iter()
        .find(|(_, e)| matches!(e, Event::RoleAcquired { .. }))
        .map(|(t, _)| *t)
        .expect("the new holder's grant");
    assert!(
        acquired > lost,
        "granted at {acquired:?}, before the old holder stopped"
    );
}

/// Two nodes of five, cut off together, never elect, however long they try.
#[test]
fn a_minority_never_elects() {
    let mut net = Net::new(5);
    net.side = vec![1, 1, 0, 0, 0];
    net.elect(0, true);
    net.elect(1, true);
    net.advance(20 * net.nodes[0].config.lease);
    assert!(net.holders().iter().all(|&i| i >= 2), "{:?}", net.holders());
    assert!(net.nodes[..2].iter().all(|n| {
        n.events
            .iter()
            .all(|(_, e)| !matches!(e, Event::RoleAcquired { .. }))
    }));
}

/// A role given up and left alone is forgotten on every node, voters and views alike;
/// a ballot at a term it had is refused, and the next election goes above it.
#[test]
fn a_forgotten_role_leaves_nothing_behind_and_its_old_ballots_stay_refused() {
    let mut net = Net::new(3);
    net.elect(0, false);
    net.settle();
    let role = Net::role();
    let term = net.nodes[0].roles.held_entry(&role).expect("n0 won").term;
    net.advance(net.nodes[0].config.lease);
    net.input(0, |r, c, o| r.resign(c, o, &role))
        .expect("n0 holds it");
    let forget_after = net.nodes[0].config.forget_after();
    for _ in 0..3 {
        net.advance(forget_after / 2);
        let now = net.now;
        for node in &mut net.nodes {
            node.roles.forget(now, forget_after);
        }
    }
    for node in &net.nodes {
        assert_eq!(node.roles.entries(), (0, 0), "{}", node.id.name());
        assert_eq!(node.roles.state(&role), RoleState::Vacant);
    }
    // A candidate that never heard of the term asks for it again.
    let rival = net.nodes[2].id.clone();
    net.input(1, |r, c, o| {
        let ask = Body::VoteRequest {
            role: role.clone(),
            term,
            priority: 0,
        };
        r.on_message(c, o, &rival, ask);
    });
    let refused = net.queue.iter().any(|(_, _, body)| {
        matches!(body, Body::VoteReply(reply) if reply.term == term && !reply.granted)
    });
    assert!(refused, "{:?}", net.queue);
    net.queue.clear();
    net.elect(2, false);
    net.settle();
    let next = net.nodes[2].roles.held_entry(&role).expect("n2 won").term;
    assert!(next > term, "{next} after {term}");
}

/// What metrics read: votes by outcome, election and renewal times, rounds that failed
/// and the rounds a holder cut off has missed in a row.
#[test]
fn stats_count_votes_renewals_and_missed_rounds() {
    let mut net = Net::new(3);
    net.elect(0, false);
    net.settle();
    let config = net.nodes[0].config.clone();
    net.advance(10 * config.renew_interval);
    let stats = &net.nodes[0].stats;
    assert_eq!(stats.elections_won.count(), 1);
    assert_eq!(stats.elections_lost.count(), 0);
    assert!(stats.renewal_round_trip.count() >= 9, "{stats:?}");
    assert_eq!(stats.renewal_rounds_failed, 0);
    for node in &net.nodes {
        assert_eq!(node.stats.votes_granted, 1, "each voted for n0 once");
    }
    let missed = |net: &Net| {
        net.nodes[0]
            .roles
            .held_details(net.now, config.renew_interval)
    };
    assert_eq!(missed(&net)[0].renewals_missed, 0);

    // Cut off, n0 misses a round each interval (the one just sent is under way), until
    // it steps down.
    net.side[0] = 1;
    net.advance(2 * config.renew_interval + MS);
    assert_eq!(missed(&net)[0].renewals_missed, 1);
    net.advance(config.renew_interval);
    assert_eq!(missed(&net)[0].renewals_missed, 2);
    // n1 asks while the others still grant n0's lease: refused as leased.
    net.elect(1, false);
    net.settle();
    assert_eq!(net.nodes[2].stats.votes_refused_leased, 1);
    assert_eq!(net.nodes[1].stats.elections_lost.count(), 1);
    net.advance(config.holder_lease());
    assert!(net.holders().is_empty());
    assert!(net.nodes[0].stats.renewal_rounds_failed >= 2);
}
