//! Cut or padded role messages and self-naming indirect probes: rejected, with no effect.

use std::time::Instant;

use foca::{Header, Message};
use polity::wire::{self, PolityMessage};
use polity::{LamportTime, NodeId};

use crate::corpus::{RoleFacts, role_bodies};
use crate::datagrams::{polity_datagram, swim_datagram};
use crate::helpers::{SHOWN_FAILURES, hex, local, name};
use crate::observation::{drain, observe, rejected, rejected_yet};
use crate::target::{B_PORT, Target, joined_target};

/// Every cut of every role message, and every role message with a byte more, is
/// refused, and changes nothing: not the target's roles, its requests in flight, its
/// clock or its members.
#[test]
fn a_truncated_or_padded_role_message_changes_nothing() {
    let base = Instant::now();
    let Target {
        a: mut core,
        b,
        now,
        ..
    } = joined_target(base);
    let facts = RoleFacts::of(&core);
    let (a, b) = (core.id().clone(), b.id().clone());
    let mut failures = Vec::new();
    let mut fed = 0;
    for body in role_bodies(&a, &b, &facts) {
        let datagram = polity_datagram(&PolityMessage {
            from: b.clone(),
            clock: LamportTime(u64::MAX),
            body,
        })
        .bytes;
        let mut inputs: Vec<Vec<u8>> = (wire::ENVELOPE_LEN..datagram.len())
            .map(|cut| datagram[..cut].to_vec())
            .collect();
        for extra in [0, 0xFF] {
            let mut longer = datagram.clone();
            longer.push(extra);
            inputs.push(longer);
        }
        for input in inputs {
            fed += 1;
            let before = observe(&core);
            let stats_before = core.stats().clone();
            core.handle_datagram(now, local(B_PORT), &input);
            let output = drain(&mut core);
            let after = observe(&core);
            let counted = rejected(core.stats()) != rejected(&stats_before);
            if !counted {
                failures.push(format!("accepted: {}", hex(&input)));
            }
            if let Some(yet) = rejected_yet(&before, &after, &output) {
                failures.push(format!("rejected {yet}\n    input {}", hex(&input)));
            }
        }
    }
    assert!(fed > 5_000, "{fed} inputs");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures[..failures.len().min(SHOWN_FAILURES)].join("\n")
    );
}

/// foca applies the sender and the member updates of a packet before it notices that an
/// indirect probe names the receiver itself and returns an error; the core counts that
/// error as a rejected datagram although the datagram changed its members.
#[test]
fn an_indirect_probe_naming_this_node_changes_nothing_when_rejected() {
    let base = Instant::now();
    let c = NodeId::new(name("c"), local(7003), 1);
    let mut failures = Vec::new();
    let a = joined_target(base).a.id().clone();
    for message in [
        Message::PingReq {
            target: a.clone(),
            probe_number: 1,
        },
        Message::IndirectPing {
            origin: a.clone(),
            probe_number: 1,
        },
        Message::IndirectAck {
            target: a.clone(),
            probe_number: 1,
        },
        Message::ForwardedAck {
            origin: a.clone(),
            probe_number: 1,
        },
    ] {
        let Target {
            a: mut core, now, ..
        } = joined_target(base);
        let header = Header {
            src: c.clone(),
            src_incarnation: 0,
            dst: a.clone(),
            message: message.clone(),
        };
        let datagram = swim_datagram(&header, &[], &[]).bytes;
        let before = observe(&core);
        let stats_before = core.stats().clone();
        core.handle_datagram(now, local(7003), &datagram);
        let output = drain(&mut core);
        let rejected = rejected(core.stats()) != rejected(&stats_before);
        if rejected && let Some(yet) = rejected_yet(&before, &observe(&core), &output) {
            failures.push(format!(
                "{message:?}: counted as rejected ({:?}) {yet}\n    input {}",
                core.stats(),
                hex(&datagram)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
