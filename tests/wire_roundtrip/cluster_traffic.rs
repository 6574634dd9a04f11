//! Every datagram running cores send each other passes the receivers' checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use polity::identity::MAX_ROLE_NAME_LEN;
use polity::wire::{self, Body, KeyOp, KeyringError, Kind};
use polity::{Completion, Config, Core, RoleState, Startup};

use crate::helpers::{
    ANNOUNCEMENT_VARIANTS, BODY_VARIANTS, MESSAGE_VARIANTS, announcement_variant, body_variant,
    message_variant, name, role,
};
use crate::swim_packets::parse_swim_packet;

/// Every request outcome a core has ready.
fn completions(core: &mut Core) -> Vec<Completion> {
    std::iter::from_fn(|| core.poll_completion()).collect()
}

/// Runs a few cores against each other in memory and checks every datagram they send:
/// the packets foca itself lays out must pass `check_swim_packet`, polity messages must
/// decode, and no core may reject a datagram sent by another. Along the way the cores
/// elect, query, recall and resign roles, so every polity message and every
/// announcement goes over the wire, directly and by gossip.
#[test]
fn every_datagram_a_cluster_sends_passes_the_checks() {
    let start = Instant::now();
    let addr = |i: u16| SocketAddr::from(([127, 0, 0, 1], 7100 + i));
    let mut cores: Vec<Core> = (0..4u16)
        .map(|i| {
            let mut config = Config::fast(name(&format!("n{i}")));
            config.bind = addr(i);
            if i > 0 {
                config.join = vec![addr(0)];
            }
            let startup = Startup {
                addr: addr(i),
                generation: 1,
                rng_seed: u64::from(i),
                clock_floor: 1_000,
            };
            Core::new(config, startup, start).expect("valid config")
        })
        .collect();

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
    let mut seen = Seen::default();
    let mut cut_off: Option<usize> = None;
    let mut now = start;

    let mut run_until =
        |cores: &mut Vec<Core>, now: &mut Instant, until: Instant, cut: Option<usize>| {
            loop {
                let mut moved = true;
                while moved {
                    moved = false;
                    for from in 0..cores.len() {
                        while let Some(transmit) = cores[from].poll_transmit() {
                            moved = true;
                            let (kind, body) = wire::open(&transmit.bytes, 1400).expect("envelope");
                            match kind {
                                Kind::Swim => {
                                    assert_eq!(
                                        wire::check_swim_packet(body).map(drop),
                                        Ok(()),
                                        "{body:?}"
                                    );
                                    let parsed = parse_swim_packet(body);
                                    seen.swim += 1;
                                    seen.variants[message_variant(&parsed.header.message)] = true;
                                    seen.with_members += usize::from(!parsed.members.is_empty());
                                    for broadcast in &parsed.broadcasts {
                                        seen.gossiped[announcement_variant(broadcast)] += 1;
                                    }
                                }
                                Kind::Polity => {
                                    let message =
                                        wire::decode_message(body).expect("a polity message");
                                    assert_eq!(
                                        wire::encode_message(&message).as_deref(),
                                        Ok(body),
                                        "re-encodes to the same bytes"
                                    );
                                    seen.polity += 1;
                                    seen.bodies[body_variant(&message.body)] += 1;
                                    if let Body::Announce(announcement) = &message.body {
                                        seen.announced[announcement_variant(announcement)] += 1;
                                    }
                                }
                            }
                            let to = (0..cores.len()).find(|&i| addr(i as u16) == transmit.to);
                            if let Some(to) = to
                                && cut != Some(to)
                                && cut != Some(from)
                            {
                                cores[to].handle_datagram(*now, addr(from as u16), &transmit.bytes);
                            }
                        }
                    }
                }
                let next = cores
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| cut != Some(*i))
                    .filter_map(|(_, c)| c.poll_timeout())
                    .min();
                match next {
                    Some(next) if next <= until => {
                        *now = next.max(*now);
                        for core in cores.iter_mut() {
                            core.handle_timeout(*now);
                        }
                    }
                    _ => {
                        *now = until;
                        return;
                    }
                }
            }
        };
    let at = |ms: u64| start + Duration::from_millis(ms);

    run_until(&mut cores, &mut now, at(5_000), cut_off);
    assert!(cores.iter().all(|c| c.population() == 4), "all four met");

    // n0 wins the scheduler: vote requests and replies, then renewals.
    let scheduler = role("scheduler");
    let elect = cores[0].elect(now, scheduler.clone());
    run_until(&mut cores, &mut now, at(5_500), cut_off);
    let term = match completions(&mut cores[0]).as_slice() {
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
    };
    for core in &cores {
        assert_eq!(core.role_state(&scheduler), held, "{:?}", core.id());
    }
    // n1 asks who holds it, then recalls it.
    let query = cores[1].query_role(now, scheduler.clone());
    run_until(&mut cores, &mut now, at(6_000), cut_off);
    assert_eq!(
        completions(&mut cores[1]),
        [Completion::Query {
            id: query,
            result: Ok(held)
        }]
    );
    let recall = cores[1].recall(now, scheduler.clone());
    run_until(&mut cores, &mut now, at(6_500), cut_off);
    assert_eq!(
        completions(&mut cores[1]),
        [Completion::Recall {
            id: recall,
            result: Ok(term)
        }]
    );
    assert!(cores[0].held_roles().is_empty(), "n0 stepped down");
    // n2 wins the compactor, then resigns it.
    let compactor = role(&"c".repeat(MAX_ROLE_NAME_LEN));
    let elect = cores[2].elect(now, compactor.clone());
    run_until(&mut cores, &mut now, at(7_000), cut_off);
    let term = match completions(&mut cores[2]).as_slice() {
        [
            Completion::Elect {
                id,
                result: Ok(term),
                ..
            },
        ] if *id == elect => *term,
        other => panic!("n2's election: {other:?}"),
    };
    assert_eq!(cores[2].resign(now, &compactor), Ok(term));
    run_until(&mut cores, &mut now, at(8_000), cut_off);
    for core in &cores {
        assert_eq!(
            core.role_state(&compactor),
            RoleState::Vacant,
            "{:?}",
            core.id()
        );
    }

    // A key listing reaches every member; unsealed nodes answer that they do not seal.
    let listing = cores[1].rollout_keys(now, KeyOp::List);
    run_until(&mut cores, &mut now, at(8_500), cut_off);
    let (id, rollout) = cores[1].poll_key_rollout().expect("the listing finished");
    assert_eq!(id, listing);
    assert!(rollout.missing.is_empty(), "{rollout:?}");
    assert!(
        rollout
            .answers
            .values()
            .all(|answer| *answer == Err(KeyringError::NotSealed)),
        "{rollout:?}"
    );

    cores[3].leave(now);
    run_until(&mut cores, &mut now, at(11_000), cut_off);
    cut_off = Some(2);
    run_until(&mut cores, &mut now, at(23_000), cut_off);
    let down = cores[0]
        .members()
        .into_iter()
        .find(|m| m.id.name().as_str() == "n2")
        .expect("n2 known");
    assert_eq!(down.status, polity::MemberStatus::Down);
    cores[0].force_leave(now, &name("n2")).expect("n2 is down");
    run_until(&mut cores, &mut now, at(28_000), cut_off);

    for (i, core) in cores.iter().enumerate() {
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
        // Withdraw (6) is sent only by a candidate that lost with votes in hand.
        if variant != 6 {
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
    let addr = |i: u16| SocketAddr::from(([127, 0, 0, 1], 7200 + i));
    let mut cores: Vec<Core> = (0..3u16)
        .map(|i| {
            let mut config = Config::fast(name(&format!("n{i}")));
            config.bind = addr(i);
            config.max_datagram_size = wire::MAX_UDP_PAYLOAD;
            if i > 0 {
                config.join = vec![addr(0)];
            }
            let startup = Startup {
                addr: addr(i),
                generation: 1,
                rng_seed: u64::from(i),
                clock_floor: 1_000,
            };
            Core::new(config, startup, start).expect("valid config")
        })
        .collect();
    let mut now = start;
    let mut refused = Vec::new();
    let mut run_until = |cores: &mut Vec<Core>, now: &mut Instant, until: Instant| {
        loop {
            let mut moved = true;
            while moved {
                moved = false;
                for from in 0..cores.len() {
                    while let Some(transmit) = cores[from].poll_transmit() {
                        moved = true;
                        let (kind, body) =
                            wire::open(&transmit.bytes, wire::MAX_UDP_PAYLOAD).expect("envelope");
                        if kind == Kind::Polity
                            && let Err(error) = wire::decode_message(body)
                        {
                            refused.push((transmit.bytes.len(), error));
                        }
                        let to = (0..cores.len()).find(|&i| addr(i as u16) == transmit.to);
                        if let Some(to) = to {
                            cores[to].handle_datagram(*now, addr(from as u16), &transmit.bytes);
                        }
                    }
                }
            }
            match cores.iter().filter_map(Core::poll_timeout).min() {
                Some(next) if next <= until => {
                    *now = next.max(*now);
                    for core in cores.iter_mut() {
                        core.handle_timeout(*now);
                    }
                }
                _ => {
                    *now = until;
                    return;
                }
            }
        }
    };
    run_until(&mut cores, &mut now, start + Duration::from_secs(3));
    assert!(cores.iter().all(|c| c.population() == 3), "all three met");

    // Enough roles with the longest names to fill one renewal of the largest size.
    let count = 470;
    for i in 0..count {
        cores[0].elect(now, role(&format!("{i:~>128}")));
    }
    let until = now + Duration::from_millis(100);
    run_until(&mut cores, &mut now, until);
    assert_eq!(cores[0].held_roles().len(), count, "n0 won every role");
    // Several leases later.
    let until = now + Duration::from_secs(2);
    run_until(&mut cores, &mut now, until);

    let stats: Vec<_> = cores.iter().map(|c| c.stats().clone()).collect();
    assert!(
        refused.is_empty(),
        "{} datagram(s) refused, such as {:?}; stats {stats:?}",
        refused.len(),
        refused.first()
    );
    assert_eq!(cores[0].held_roles().len(), count, "n0 kept every role");
}
