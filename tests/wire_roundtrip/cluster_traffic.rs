//! Every datagram running cores send each other passes the receivers' checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use polity::identity::MAX_ROLE_NAME_LEN;
use polity::wire::{self, Body, KeyOp, KeyringError, Kind};
use polity::{Completion, Config, Core, RoleState, Startup};

use crate::helpers::{name, role};
use crate::swim_packets::parse_swim_packet;
use crate::wire_variants::{
    ANNOUNCEMENT_VARIANTS, BODY_VARIANTS, MESSAGE_VARIANTS, announcement_variant, body_variant,
    message_variant,
};

/// Every request outcome a core has ready.
fn completions(core: &mut Core) -> Vec<Completion> {
    std::iter::from_fn(|| core.poll_completion()).collect()
}

/// Cores on 127.0.0.1, ports `base_port + i`, with the `fast` profile, every one joining
/// through the first, exchanging their datagrams in memory.
struct Cluster {
    cores: Vec<Core>,
    base_port: u16,
    now: Instant,
    /// A node cut off from the others: its datagrams go nowhere and none reach it.
    cut: Option<usize>,
}

impl Cluster {
    fn new(n: u16, base_port: u16, start: Instant, configure: impl Fn(&mut Config)) -> Self {
        let addr = |i: u16| SocketAddr::from(([127, 0, 0, 1], base_port + i));
        let cores = (0..n)
            .map(|i| {
                let mut config = Config::fast(name(&format!("n{i}")));
                config.bind = addr(i);
                if i > 0 {
                    config.join = vec![addr(0)];
                }
                config
                    .tags
                    .insert("zone", format!("z{i}"))
                    .expect("a valid tag");
                configure(&mut config);
                let startup = Startup {
                    addr: addr(i),
                    generation: 1,
                    rng_seed: u64::from(i),
                    clock_floor: 1_000,
                };
                Core::new(config, startup, start).expect("valid config")
            })
            .collect();
        Cluster {
            cores,
            base_port,
            now: start,
            cut: None,
        }
    }

    fn addr(&self, i: usize) -> SocketAddr {
        let i = u16::try_from(i).expect("a small cluster");
        SocketAddr::from(([127, 0, 0, 1], self.base_port + i))
    }

    /// Delivers every datagram and fires every timer until `until`, showing `inspect`
    /// each datagram as it is sent.
    fn run_until(&mut self, until: Instant, mut inspect: impl FnMut(&[u8])) {
        loop {
            let mut moved = true;
            while moved {
                moved = false;
                for from in 0..self.cores.len() {
                    while let Some(transmit) = self.cores[from].poll_transmit() {
                        moved = true;
                        inspect(&transmit.bytes);
                        let to = (0..self.cores.len()).find(|&i| self.addr(i) == transmit.to);
                        if let Some(to) = to
                            && self.cut != Some(to)
                            && self.cut != Some(from)
                        {
                            let from = self.addr(from);
                            self.cores[to].handle_datagram(self.now, from, &transmit.bytes);
                        }
                    }
                }
            }
            let next = self
                .cores
                .iter()
                .enumerate()
                .filter(|(i, _)| self.cut != Some(*i))
                .filter_map(|(_, c)| c.poll_timeout())
                .min();
            match next {
                Some(next) if next <= until => {
                    self.now = next.max(self.now);
                    for core in &mut self.cores {
                        core.handle_timeout(self.now);
                    }
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
    }
}

/// What the cores of `every_datagram_a_cluster_sends_passes_the_checks` sent.
#[derive(Default)]
struct Seen {
    swim: usize,
    polity: usize,
    with_members: usize,
    variants: [bool; MESSAGE_VARIANTS],
    /// Polity messages, by body variant.
    bodies: [usize; BODY_VARIANTS],
    /// Announcements sent directly, by variant.
    announced: [usize; ANNOUNCEMENT_VARIANTS],
    /// Announcements gossiped inside SWIM packets, by variant.
    gossiped: [usize; ANNOUNCEMENT_VARIANTS],
}

impl Seen {
    /// Checks a datagram as its receiver will, and counts what it carries.
    fn record(&mut self, datagram: &[u8]) {
        let (kind, body) = wire::open(datagram, 1400).expect("envelope");
        match kind {
            Kind::Swim => {
                assert_eq!(wire::check_swim_packet(body).map(drop), Ok(()), "{body:?}");
                let parsed = parse_swim_packet(body);
                self.swim += 1;
                self.variants[message_variant(&parsed.header.message)] = true;
                self.with_members += usize::from(!parsed.members.is_empty());
                for broadcast in &parsed.broadcasts {
                    self.gossiped[announcement_variant(broadcast)] += 1;
                }
            }
            Kind::Polity => {
                let message = wire::decode_message(body).expect("a polity message");
                assert_eq!(
                    wire::encode_message(&message).as_deref(),
                    Ok(body),
                    "re-encodes to the same bytes"
                );
                self.polity += 1;
                self.bodies[body_variant(&message.body)] += 1;
                if let Body::Announce(announcement) = &message.body {
                    self.announced[announcement_variant(announcement)] += 1;
                }
            }
        }
    }
}

/// Runs a few cores against each other in memory and checks every datagram they send:
/// the packets foca itself lays out must pass `check_swim_packet`, polity messages must
/// decode, and no core may reject a datagram sent by another. Along the way the cores
/// elect, query, recall and resign roles, so every polity message and every
/// announcement goes over the wire, directly and by gossip.
#[test]
fn every_datagram_a_cluster_sends_passes_the_checks() {
    let start = Instant::now();
    let mut c = Cluster::new(4, 7100, start, |_| {});
    let mut seen = Seen::default();
    let at = |ms: u64| start + Duration::from_millis(ms);

    c.run_until(at(5_000), |d| seen.record(d));
    assert!(c.cores.iter().all(|c| c.population() == 4), "all four met");

    // n0 wins the scheduler: vote requests and replies, then renewals.
    let scheduler = role("scheduler");
    let elect = c.cores[0].elect(c.now, scheduler.clone());
    c.run_until(at(5_500), |d| seen.record(d));
    let term = match completions(&mut c.cores[0]).as_slice() {
        [
            Completion::Elect {
                id,
                result: Ok(term),
                ..
            },
        ] if *id == elect => *term,
        other => panic!("n0's election: {other:?}"),
    };
    let held = RoleState::Held {
        holder: name("n0"),
        term,
        value: polity::RoleValue::EMPTY,
    };
    for core in &c.cores {
        assert_eq!(core.role_state(&scheduler), held, "{:?}", core.id());
    }
    // n1 asks who holds it, then recalls it.
    let query = c.cores[1].query_role(c.now, scheduler.clone());
    c.run_until(at(6_000), |d| seen.record(d));
    assert_eq!(
        completions(&mut c.cores[1]),
        [Completion::Query {
            id: query,
            result: Ok(held)
        }]
    );
    let recall = c.cores[1].recall(c.now, scheduler.clone());
    c.run_until(at(6_500), |d| seen.record(d));
    assert_eq!(
        completions(&mut c.cores[1]),
        [Completion::Recall {
            id: recall,
            result: Ok(term)
        }]
    );
    assert!(c.cores[0].held_roles().is_empty(), "n0 stepped down");
    // n2 holds a warden; once its voters keep that held set, winning the compactor
    // sends them only the change.
    let warden = role("warden");
    c.cores[2].elect(c.now, warden.clone());
    c.run_until(at(7_000), |d| seen.record(d));
    completions(&mut c.cores[2]);
    let compactor = role(&"c".repeat(MAX_ROLE_NAME_LEN));
    let elect = c.cores[2].elect(c.now, compactor.clone());
    c.run_until(at(7_500), |d| seen.record(d));
    let term = match completions(&mut c.cores[2]).as_slice() {
        [
            Completion::Elect {
                id,
                result: Ok(term),
                ..
            },
        ] if *id == elect => *term,
        other => panic!("n2's election: {other:?}"),
    };
    // n1 waits for the compactor and n2 hands it over: the offer, the answer and a
    // release naming n1. Then n1 resigns it.
    let waits = c.cores[1].campaign(c.now, compactor.clone());
    c.run_until(at(7_600), |d| seen.record(d));
    let transfer = c.cores[2].transfer(c.now, compactor.clone(), &name("n1"));
    c.run_until(at(7_700), |d| seen.record(d));
    assert_eq!(
        completions(&mut c.cores[2]),
        [Completion::Transfer {
            id: transfer,
            result: Ok(term)
        }]
    );
    let taken = match completions(&mut c.cores[1]).as_slice() {
        [
            Completion::Elect {
                id,
                result: Ok(taken),
                ..
            },
        ] if *id == waits => *taken,
        other => panic!("n1's campaign: {other:?}"),
    };
    assert_eq!(c.cores[1].resign(c.now, &compactor), Ok(taken));
    assert!(c.cores[2].resign(c.now, &warden).is_ok());
    c.run_until(at(8_000), |d| seen.record(d));
    for core in &c.cores {
        assert_eq!(
            core.role_state(&compactor),
            RoleState::Vacant,
            "{:?}",
            core.id()
        );
    }

    // A key listing reaches every member; unsealed nodes answer that they do not seal.
    let listing = c.cores[1].rollout_keys(c.now, KeyOp::List);
    // One allocator mints every request id, whatever the kind: the listing cannot be
    // taken for n1's query or recall.
    assert!(listing != query && listing != recall, "{listing:?}");
    c.run_until(at(8_500), |d| seen.record(d));
    let rollout = completions(&mut c.cores[1])
        .into_iter()
        .find_map(|done| match done {
            Completion::Keys { id, rollout } if id == listing => Some(rollout),
            _ => None,
        })
        .expect("the listing finished");
    assert!(rollout.missing.is_empty(), "{rollout:?}");
    assert!(
        rollout
            .answers
            .values()
            .all(|answer| *answer == Err(KeyringError::NotSealed)),
        "{rollout:?}"
    );

    c.cores[3].leave(c.now);
    c.run_until(at(11_000), |d| seen.record(d));
    c.cut = Some(2);
    c.run_until(at(23_000), |d| seen.record(d));
    let down = c.cores[0]
        .members()
        .into_iter()
        .find(|m| m.id.name().as_str() == "n2")
        .expect("n2 known");
    assert_eq!(down.status, polity::MemberStatus::Down);
    c.cores[0]
        .force_leave(c.now, &name("n2"))
        .expect("n2 is down");
    c.run_until(at(28_000), |d| seen.record(d));

    for (i, core) in c.cores.iter().enumerate() {
        let stats = core.stats();
        assert_eq!(
            (
                stats.rejected_oversized,
                stats.rejected_envelope,
                stats.rejected_malformed
            ),
            (0, 0, 0),
            "core {i} rejected a datagram: {stats:?}"
        );
    }
    assert!(seen.swim > 100, "{} SWIM packets", seen.swim);
    assert!(seen.polity >= 2, "{} polity messages", seen.polity);
    assert!(seen.with_members > 0);
    for variant in [0, 1, 2, 3, 6, 7, 8] {
        // Ping, Ack, PingReq, IndirectPing, Announce, Feed, Gossip
        assert!(
            seen.variants[variant],
            "foca sent no message of variant {variant}"
        );
    }
    for (variant, count) in seen.bodies.iter().enumerate() {
        // Withdraw (6) is sent only by a candidate that lost with votes in hand, and
        // AskAnnouncement (15) only by a voter that heard of a holder from its renewals
        // before its announcement.
        if variant != 6 && variant != 15 {
            assert!(*count > 0, "no polity message of body variant {variant}");
        }
    }
    for (variant, count) in seen.gossiped.iter().enumerate() {
        assert!(
            *count > 0,
            "no announcement of variant {variant} was gossiped"
        );
    }
    for (variant, count) in seen.announced.iter().enumerate() {
        assert!(
            *count > 0,
            "no announcement of variant {variant} was sent directly"
        );
    }
}

/// `max_datagram_size` may be as large as a UDP payload, and a holder then batches the
/// renewals of all its roles into messages of nearly that size. Every datagram it sends
/// must pass the receivers' decoder, so that it keeps its roles.
#[test]
fn a_holder_of_many_roles_keeps_them_with_the_largest_datagrams() {
    let start = Instant::now();
    let mut c = Cluster::new(3, 7200, start, |config| {
        config.max_datagram_size = wire::MAX_UDP_PAYLOAD;
    });
    let mut refused = Vec::new();
    let mut check = |datagram: &[u8]| {
        let (kind, body) = wire::open(datagram, wire::MAX_UDP_PAYLOAD).expect("envelope");
        if kind == Kind::Polity
            && let Err(error) = wire::decode_message(body)
        {
            refused.push((datagram.len(), error));
        }
    };
    c.run_until(start + Duration::from_secs(3), &mut check);
    assert!(c.cores.iter().all(|c| c.population() == 3), "all three met");

    // Enough roles with the longest names to fill one renewal of the largest size.
    let count = 470;
    for i in 0..count {
        c.cores[0].elect(c.now, role(&format!("{i:~>128}")));
    }
    c.run_until(c.now + Duration::from_millis(100), &mut check);
    assert_eq!(c.cores[0].held_roles().len(), count, "n0 won every role");
    // Several leases later.
    c.run_until(c.now + Duration::from_secs(2), &mut check);

    let stats: Vec<_> = c.cores.iter().map(|c| c.stats().clone()).collect();
    assert!(
        refused.is_empty(),
        "{} datagram(s) refused, such as {:?}; stats {stats:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!(c.cores[0].held_roles().len(), count, "n0 kept every role");
}
