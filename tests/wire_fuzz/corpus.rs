//! The corpus: valid SWIM packets, polity messages and announcements for the target.

use foca::{Header, Member, Message, State};
use polity::wire::{
    self, Announcement, Ballot, Body, KEY_LEN, Key, KeyOp, KeyringError, MAX_KEYS, PolityMessage,
    SetPart, Tenure, VoteReply,
};
use polity::{Core, LamportTime, NodeId, RoleState, RoleValue};

use crate::datagrams::{Valid, polity_datagram, swim_datagram};
use crate::helpers::{local, long_role, name, role};
use crate::target::{A_PORT, B_PORT, HELD_BY_A, HELD_BY_B, PENDING};
use crate::wire_variants::{every_message, largest_tags, largest_value};

/// What the target's roles look like when each run starts.
pub(crate) struct RoleFacts {
    /// The term "a" holds its role with.
    a_term: LamportTime,
    /// The term "b" holds its role with.
    b_term: LamportTime,
    /// The term of the election "a" is waiting on.
    pending_term: LamportTime,
}

impl RoleFacts {
    pub(crate) fn of(target: &Core) -> Self {
        let a_term = match target.held_roles().as_slice() {
            [(_, term, _)] => *term,
            other => panic!("the target holds {other:?}"),
        };
        let b_term = match target.role_state(&role(HELD_BY_B)) {
            RoleState::Held { term, .. } => term,
            other => panic!("the target sees {other:?}"),
        };
        // The pending election's term was the last the target's clock handed out.
        let pending_term = target.clock();
        RoleFacts {
            a_term,
            b_term,
            pending_term,
        }
    }
}

/// Every role message and role announcement, with the target's own roles, terms and
/// requests as well as strangers', and extreme values: many leases, names near the
/// 128-byte limit, the largest integers.
pub(crate) fn role_bodies(a: &NodeId, b: &NodeId, facts: &RoleFacts) -> Vec<Body> {
    let (held_by_a, held_by_b, pending) = (role(HELD_BY_A), role(HELD_BY_B), role(PENDING));
    let fresh = role("fresh");
    let longest = long_role("longest", 128);
    let long_node = name(&"n".repeat(polity::identity::MAX_NODE_NAME_LEN));
    let RoleFacts {
        a_term,
        b_term,
        pending_term,
    } = *facts;
    let max = LamportTime(u64::MAX);
    let next = LamportTime(a_term.get().max(b_term.get()).max(pending_term.get()) + 1);
    let b_tenure = Tenure {
        holder: b.name().clone(),
        term: b_term,
    };
    let a_tenure = Tenure {
        holder: a.name().clone(),
        term: a_term,
    };
    let mut bodies = Vec::new();

    for role in [&held_by_a, &held_by_b, &pending, &fresh, &longest] {
        for term in [LamportTime::ZERO, b_term, next, max] {
            bodies.push(Body::VoteRequest {
                role: role.clone(),
                term,
                priority: 1,
            });
        }
    }
    let reply = VoteReply {
        role: pending.clone(),
        term: pending_term,
        granted: true,
        population: 2,
        promised: Some(Ballot {
            term: pending_term,
            candidate: a.name().clone(),
        }),
        holder: None,
        retry_after_ms: 0,
    };
    for reply in [
        reply.clone(),
        VoteReply {
            population: u32::MAX,
            ..reply.clone()
        },
        VoteReply {
            granted: false,
            population: 4_000_000_000,
            retry_after_ms: u32::MAX,
            promised: Some(Ballot {
                term: max,
                candidate: long_node.clone(),
            }),
            ..reply.clone()
        },
        VoteReply {
            granted: false,
            retry_after_ms: 3_000_000_000,
            holder: Some(b_tenure.clone()),
            ..reply.clone()
        },
        VoteReply {
            granted: false,
            population: 1,
            retry_after_ms: 0,
            promised: None,
            ..reply.clone()
        },
        VoteReply {
            role: longest.clone(),
            term: max,
            granted: true,
            population: u32::MAX,
            promised: Some(Ballot {
                term: max,
                candidate: long_node.clone(),
            }),
            holder: Some(Tenure {
                holder: long_node.clone(),
                term: max,
            }),
            retry_after_ms: u32::MAX,
        },
    ] {
        bodies.push(Body::VoteReply(reply));
    }
    // Renewals: "b" renewing its own role, many short names, and as many names near
    // the limit as fit in a datagram (and one more, which does not).
    bodies.push(Body::Renew {
        round: 1,
        part: SetPart {
            version: 1,
            chunk: 0,
            chunks: 1,
        },
        leases: vec![(held_by_b.clone(), b_term)],
    });
    bodies.push(Body::Renew {
        round: 2,
        part: SetPart {
            version: u64::MAX,
            chunk: 3,
            chunks: 4,
        },
        leases: vec![
            (held_by_a.clone(), a_term),
            (held_by_b.clone(), b_term),
            (pending.clone(), pending_term),
            (fresh.clone(), next),
        ],
    });
    bodies.push(Body::Renew {
        round: u64::MAX,
        part: SetPart {
            version: 0,
            chunk: u32::MAX,
            chunks: u32::MAX,
        },
        leases: (0..90u64)
            .map(|i| (role(&format!("r{i}")), LamportTime(b_term.get() + i)))
            .collect(),
    });
    for count in [9, 10] {
        bodies.push(Body::Renew {
            round: 7,
            part: SetPart {
                version: 2,
                chunk: 0,
                chunks: 1,
            },
            leases: (0..count)
                .map(|i| {
                    (
                        long_role(&i.to_string(), 128 - i),
                        LamportTime(u64::MAX - i as u64),
                    )
                })
                .collect(),
        });
    }
    for round in [1, 2, 3, 4, u64::MAX] {
        bodies.push(Body::RenewReply {
            round,
            population: 2,
            acked: vec![a_term],
            whole: None,
        });
    }
    bodies.push(Body::RenewReply {
        round: 1,
        population: u32::MAX,
        acked: (0..100).map(|i| LamportTime(a_term.get() + i)).collect(),
        whole: Some(u64::MAX),
    });
    bodies.push(Body::RenewReply {
        round: 2,
        population: 1,
        acked: Vec::new(),
        whole: Some(1),
    });
    for version in [0, 1, u64::MAX] {
        bodies.push(Body::RenewSet { round: 3, version });
    }
    bodies.push(Body::RenewDelta {
        round: 4,
        from: 1,
        part: SetPart {
            version: 2,
            chunk: 0,
            chunks: 1,
        },
        changes: vec![(held_by_a.clone(), Some(a_term)), (longest.clone(), None)],
    });
    for (role, term) in [
        (&held_by_b, b_term),
        (&held_by_a, a_term),
        (&pending, pending_term),
        (&longest, max),
    ] {
        bodies.push(Body::Release {
            role: role.clone(),
            term,
            successor: None,
            transfer: false,
        });
        bodies.push(Body::Withdraw {
            role: role.clone(),
            term,
        });
        bodies.push(Body::AskAnnouncement {
            role: role.clone(),
            term,
        });
        bodies.push(Body::TransferOffer {
            role: role.clone(),
            term,
        });
        bodies.push(Body::TransferReply {
            role: role.clone(),
            term,
            campaigning: true,
        });
    }
    // The target's requests are numbered from 1: its two elections, then the query
    // and the recall that wait for answers.
    for (role, request) in [(&held_by_a, 1), (&held_by_b, 3), (&longest, u64::MAX)] {
        bodies.push(Body::Recall {
            role: role.clone(),
            request,
        });
        bodies.push(Body::Query {
            role: role.clone(),
            request,
        });
    }
    for request in [3, 4, u64::MAX] {
        for (population, tenure) in [(2, Some(b_tenure.clone())), (u32::MAX, None)] {
            bodies.push(Body::RecallReply {
                request,
                population,
                recalled: tenure.clone(),
            });
            bodies.push(Body::QueryReply {
                request,
                population,
                value: tenure.as_ref().map(|_| (request, largest_value())),
                lease: tenure,
                recalled: population == 2,
            });
        }
    }
    bodies.push(Body::QueryReply {
        request: 3,
        population: 2,
        lease: Some(a_tenure),
        recalled: false,
        value: None,
    });
    let key = Key::new([7; KEY_LEN]);
    for op in [
        KeyOp::List,
        KeyOp::Install(key.clone()),
        KeyOp::Use(key.clone()),
        KeyOp::Remove(key.clone()),
    ] {
        bodies.push(Body::KeyRequest { request: 1, op });
    }
    bodies.push(Body::KeyReply {
        request: 1,
        result: Ok(vec![key; MAX_KEYS]),
    });
    bodies.push(Body::KeyReply {
        request: u64::MAX,
        result: Err(KeyringError::RemovingPrimary),
    });
    bodies.extend(role_announcements(b, facts).into_iter().map(Body::Announce));
    bodies
}

/// Announcements about the target's roles and others'.
fn role_announcements(b: &NodeId, facts: &RoleFacts) -> Vec<Announcement> {
    let RoleFacts { a_term, b_term, .. } = *facts;
    vec![
        Announcement::Elected {
            role: role(HELD_BY_B),
            holder: b.name().clone(),
            term: LamportTime(b_term.get() + 1),
            version: 0,
            value: RoleValue::EMPTY,
        },
        // A newer holder of the target's role: the target steps down.
        Announcement::Elected {
            role: role(HELD_BY_A),
            holder: name("c"),
            term: LamportTime(a_term.get() + 1),
            version: 3,
            value: RoleValue::new("10.0.0.3:8080").expect("short"),
        },
        Announcement::Recalled {
            role: role(HELD_BY_A),
            term: a_term,
        },
        Announcement::Recalled {
            role: role(HELD_BY_B),
            term: b_term,
        },
        Announcement::Resigned {
            role: role(HELD_BY_B),
            holder: b.name().clone(),
            term: b_term,
        },
        Announcement::Elected {
            role: long_role("longest", 128),
            holder: name(&"n".repeat(polity::identity::MAX_NODE_NAME_LEN)),
            term: LamportTime(u64::MAX),
            version: u64::MAX,
            value: largest_value(),
        },
        // The sender's tags, as large as they may be.
        Announcement::Tags {
            id: b.clone(),
            version: 2,
            tags: largest_tags(),
        },
    ]
}

pub(crate) fn corpus(a: &NodeId, b: &NodeId, facts: &RoleFacts, real: Vec<Vec<u8>>) -> Vec<Valid> {
    let id = |n: &str, port: u16, generation: u64| NodeId::new(name(n), local(port), generation);
    let c = id("c", 7003, 1);
    let d = id("d", 7004, 5);
    let b_new = id("b", B_PORT, 2);
    let a_old = id("a", A_PORT, 0);
    // The identity a joining node sends its first announce to.
    let seed_of_a = id("?", A_PORT, 0);
    let stranger = id("z", 7009, 1);

    let member_sets = [
        vec![],
        vec![
            Member::new(c.clone(), 0, State::Alive),
            Member::new(d.clone(), 3, State::Alive),
        ],
        vec![
            Member::new(b.clone(), 0, State::Suspect),
            Member::new(d.clone(), 1, State::Down),
            Member::new(b_new.clone(), 0, State::Alive),
        ],
        vec![
            Member::new(a.clone(), 0, State::Suspect),
            Member::new(a_old, 0, State::Alive),
        ],
        vec![Member::new(a.clone(), 0, State::Down)],
    ];
    let broadcast_sets = [
        vec![],
        vec![Announcement::Left { id: d.clone() }],
        vec![
            Announcement::ForceLeft {
                name: name("c"),
                generation: 1,
                by: name("b"),
            },
            Announcement::Left { id: b_new.clone() },
        ],
        vec![Announcement::Left { id: b.clone() }],
        role_announcements(b, facts)[..3].to_vec(),
        role_announcements(b, facts)[3..].to_vec(),
    ];

    let mut out: Vec<Valid> = real
        .into_iter()
        .map(|bytes| Valid {
            varints: vec![wire::ENVELOPE_LEN],
            u16s: Vec::new(),
            bytes,
        })
        .collect();
    for (src, incarnation) in [(b, 0), (&c, 0), (&c, 7), (&b_new, 1)] {
        for (i, message) in every_message(&d, 9).into_iter().enumerate() {
            let dst = if message == Message::Announce {
                seed_of_a.clone()
            } else {
                a.clone()
            };
            let header = Header {
                src: src.clone(),
                src_incarnation: incarnation,
                dst,
                message,
            };
            let members = &member_sets[i % member_sets.len()];
            let broadcasts = &broadcast_sets[(i / 2) % broadcast_sets.len()];
            out.push(swim_datagram(&header, members, broadcasts));
            out.push(swim_datagram(&header, &[], &[]));
        }
    }
    // Indirect probes naming the target itself, and packets for another node.
    for message in every_message(a, 3) {
        let header = Header {
            src: c.clone(),
            src_incarnation: 0,
            dst: a.clone(),
            message: message.clone(),
        };
        out.push(swim_datagram(&header, &member_sets[1], &[]));
        let header = Header {
            dst: stranger.clone(),
            ..header
        };
        out.push(swim_datagram(&header, &member_sets[1], &broadcast_sets[1]));
    }
    let bodies = [
        Body::Announce(Announcement::Left { id: d.clone() }),
        Body::Announce(Announcement::Left { id: b.clone() }),
        Body::Announce(Announcement::Left { id: a.clone() }),
        Body::Announce(Announcement::ForceLeft {
            name: name("b"),
            generation: 1,
            by: name("c"),
        }),
    ];
    for from in [b, &c, a] {
        for clock in [0, 5_000, u64::MAX] {
            for body in &bodies {
                out.push(polity_datagram(&PolityMessage {
                    from: from.clone(),
                    clock: LamportTime(clock),
                    body: body.clone(),
                }));
            }
        }
    }
    // Role messages, mostly from the other member, some from a stranger, a few
    // claiming to come from the target itself.
    for (i, body) in role_bodies(a, b, facts).into_iter().enumerate() {
        out.push(polity_datagram(&PolityMessage {
            from: b.clone(),
            clock: facts.b_term,
            body: body.clone(),
        }));
        let (from, clock) = match i % 4 {
            0 => (b, LamportTime(u64::MAX)),
            1 => (&c, LamportTime::ZERO),
            2 => (a, facts.a_term),
            _ => continue,
        };
        out.push(polity_datagram(&PolityMessage {
            from: from.clone(),
            clock,
            body,
        }));
    }
    out
}
