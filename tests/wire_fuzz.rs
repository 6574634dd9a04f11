//! Feeds random and mutated datagrams to the wire decoders and to a running core.
//!
//! Every decoder must return a value or an error, never panic. The core must never
//! panic, must reject exactly what the decoders reject, and a datagram it counts as
//! rejected must change nothing it shows: members, population, clock, next timeout,
//! its view of every role and the roles it holds, and no datagram, event or request
//! outcome may come out of it. (An accepted datagram may change all of these: a valid
//! vote request makes the target promise, a valid reply completes its request.)
//!
//! The target holds a role, has granted a lease for another, and has an election, a
//! query and a recall waiting for answers when each run starts, and the corpus holds
//! every polity message and announcement, so mutations reach the role layer in every
//! one of these states.
//!
//! Deterministic: the seed is fixed unless `POLITY_FUZZ_SEED` is set (decimal or `0x`
//! hex) and the number of datagrams is 100,000 unless `POLITY_FUZZ_CASES` is set. A
//! failure names the seed and the case, so it can be replayed.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};
use foca::{Codec, Header, Member, Message, State};
use polity::core::Stats;
use polity::wire::{
    self, Announcement, Ballot, Body, FocaCodec, KEY_LEN, Key, KeyOp, KeyringError, Kind, MAX_KEYS,
    PolityMessage, Tenure, VoteReply, WireError,
};
use polity::{
    Completion, Config, Core, Event, LamportTime, NodeId, NodeName, RoleName, RoleState, Startup,
    Transmit,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const DEFAULT_SEED: u64 = 0x706f_6c69_7479;
const DEFAULT_CASES: usize = 100_000;
/// The target core is rebuilt from scratch this often, so that what earlier datagrams
/// did to it (new members, a rejoin under a new identity) does not pile up.
const RESET_EVERY: usize = 2_000;
/// Time moves on and due timers run this often, so the core also passes through
/// suspicion and probing while it is fed.
const TICK_EVERY: usize = 200;
const TICK: Duration = Duration::from_millis(500);
const MAX_DATAGRAM: usize = 1400;
/// How many failures are described in full.
const SHOWN_FAILURES: usize = 12;

// bincode 2 varint markers: the value follows in the next 2, 4, 8 or 16 bytes.
const VARINT_U16: u8 = 251;
const VARINT_U32: u8 = 252;
const VARINT_U64: u8 = 253;
const VARINT_U128: u8 = 254;

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim().replace('_', "");
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

fn role(s: &str) -> RoleName {
    RoleName::new(s).expect("valid role name")
}

/// A role name of exactly `len` bytes (at most 128), ending in `tag`.
fn long_role(tag: &str, len: usize) -> RoleName {
    role(&format!("{tag:~>len$}"))
}

/// The index of a `Body` variant. The match is exhaustive, so a new variant fails to
/// compile here until the corpus below holds it.
fn body_variant(body: &Body) -> usize {
    match body {
        Body::Announce(_) => 0,
        Body::VoteRequest { .. } => 1,
        Body::VoteReply(_) => 2,
        Body::Renew { .. } => 3,
        Body::RenewReply { .. } => 4,
        Body::Release { .. } => 5,
        Body::Withdraw { .. } => 6,
        Body::Recall { .. } => 7,
        Body::RecallReply { .. } => 8,
        Body::Query { .. } => 9,
        Body::QueryReply { .. } => 10,
        Body::KeyRequest { .. } => 11,
        Body::KeyReply { .. } => 12,
    }
}
const BODY_VARIANTS: usize = 13;

/// The index of an `Announcement` variant; exhaustive, like `body_variant`.
fn announcement_variant(announcement: &Announcement) -> usize {
    match announcement {
        Announcement::Left { .. } => 0,
        Announcement::ForceLeft { .. } => 1,
        Announcement::Elected { .. } => 2,
        Announcement::Recalled { .. } => 3,
        Announcement::Resigned { .. } => 4,
    }
}
const ANNOUNCEMENT_VARIANTS: usize = 5;

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

// ---------------------------------------------------------------------------------------
// The target: core "a", which has joined core "b" and elected roles with it.
// ---------------------------------------------------------------------------------------

const A_PORT: u16 = 7001;
const B_PORT: u16 = 7002;

/// The role "a" holds, the one "b" holds, and the ones "a" has asked about and is still
/// waiting for answers on.
const HELD_BY_A: &str = "held-by-a";
const HELD_BY_B: &str = "held-by-b";
const PENDING: &str = "pending-election";

fn core(node: &str, port: u16, join: Vec<SocketAddr>, seed: u64, now: Instant) -> Core {
    let mut config = Config::lan(name(node));
    config.bind = local(port);
    config.join = join;
    let startup = Startup {
        addr: local(port),
        generation: 1,
        rng_seed: seed,
        clock_floor: 1_000,
    };
    Core::new(config, startup, now).expect("valid config")
}

/// Delivers what "a" and "b" send each other at `now` until both are quiet (or, with
/// `withhold`, delivers what "a" sends and keeps what "b" answers). Returns every
/// datagram "b" sent to "a".
fn settle(a: &mut Core, b: &mut Core, now: Instant, withhold: bool) -> Vec<Vec<u8>> {
    let mut from_b = Vec::new();
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            moved = true;
            b.handle_datagram(now, local(A_PORT), &t.bytes);
        }
        while let Some(t) = b.poll_transmit() {
            if !withhold {
                moved = true;
                a.handle_datagram(now, local(B_PORT), &t.bytes);
            }
            from_b.push(t.bytes);
        }
        if !moved {
            return from_b;
        }
    }
}

/// Runs both cores' timers up to `until`, delivering everything in between.
fn run_pair(a: &mut Core, b: &mut Core, now: &mut Instant, until: Instant) -> Vec<Vec<u8>> {
    let mut from_b = Vec::new();
    loop {
        from_b.extend(settle(a, b, *now, false));
        match [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        {
            Some(next) if next <= until => {
                *now = next.max(*now);
                a.handle_timeout(*now);
                b.handle_timeout(*now);
            }
            _ => {
                *now = until;
                return from_b;
            }
        }
    }
}

/// The target with "b", every datagram "b" sent it (answers it never received
/// included), and the time the target has reached.
struct Target {
    a: Core,
    b: Core,
    from_b: Vec<Vec<u8>>,
    now: Instant,
}

/// Builds the target from scratch, the same way every time: "a" announces itself to
/// "b", "b" answers with a feed, and "a" has one live member. Once past their quiet
/// time "a" and "b" each win a role; then "a" starts an election, a query and a recall
/// whose answers "b" gives but "a" never gets.
fn joined_target(base: Instant) -> Target {
    let mut a = core("a", A_PORT, vec![local(B_PORT)], 11, base);
    let mut b = core("b", B_PORT, Vec::new(), 22, base);
    let mut from_b = settle(&mut a, &mut b, base, false);
    assert!(a.is_connected(), "the target joined");
    assert_eq!(a.population(), 2);

    let mut now = base;
    let quiet = a.config().lease + Duration::from_millis(100);
    from_b.extend(run_pair(&mut a, &mut b, &mut now, base + quiet));
    a.elect(now, role(HELD_BY_A));
    from_b.extend(settle(&mut a, &mut b, now, false));
    b.elect(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, false));
    a.elect(now, role(PENDING));
    from_b.extend(settle(&mut a, &mut b, now, true));
    a.query_role(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, true));
    a.recall(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, true));

    while a.poll_event().is_some() {}
    while a.poll_completion().is_some() {}
    let held: Vec<RoleName> = a.held_roles().into_iter().map(|(r, ..)| r).collect();
    assert_eq!(held, [role(HELD_BY_A)], "the target won its role");
    assert!(
        matches!(a.role_state(&role(HELD_BY_B)), RoleState::Held { holder, .. } if holder == name("b")),
        "the target knows who holds the other role"
    );
    Target { a, b, from_b, now }
}

#[derive(Debug, Clone, PartialEq)]
struct Observed {
    id: NodeId,
    members: Vec<polity::Member>,
    population: usize,
    clock: LamportTime,
    timeout: Option<Instant>,
    connected: bool,
    roles: Vec<(RoleName, RoleState)>,
    held: Vec<(RoleName, LamportTime, Instant)>,
}

fn observe(core: &Core) -> Observed {
    Observed {
        id: core.id().clone(),
        members: core.members(),
        population: core.population(),
        clock: core.clock(),
        timeout: core.poll_timeout(),
        connected: core.is_connected(),
        roles: core.roles(),
        held: core.held_roles(),
    }
}

/// Everything that came out of the core.
#[derive(Debug, Default)]
struct Output {
    transmits: Vec<Transmit>,
    events: Vec<Event>,
    completions: Vec<Completion>,
}

impl Output {
    fn is_empty(&self) -> bool {
        self.transmits.is_empty() && self.events.is_empty() && self.completions.is_empty()
    }
}

fn drain(core: &mut Core) -> Output {
    Output {
        transmits: std::iter::from_fn(|| core.poll_transmit()).collect(),
        events: std::iter::from_fn(|| core.poll_event()).collect(),
        completions: std::iter::from_fn(|| core.poll_completion()).collect(),
    }
}

fn rejected(stats: &Stats) -> [u64; 4] {
    [
        stats.rejected_oversized,
        stats.rejected_envelope,
        stats.rejected_malformed,
        stats.rejected_by_swim,
    ]
}

// ---------------------------------------------------------------------------------------
// The corpus: valid datagrams, with the offsets of the fields worth corrupting.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Valid {
    bytes: Vec<u8>,
    /// Offsets of bincode varints (string lengths, enum tags, integers).
    varints: Vec<usize>,
    /// Offsets of big-endian `u16` counts and lengths (member count, broadcast lengths).
    u16s: Vec<usize>,
}

fn bincode_len<T: serde::Serialize>(value: &T) -> usize {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("encodes")
        .len()
}

/// Offsets of the fields of a value being encoded, for the mutations that target them.
struct Fields {
    at: usize,
    offsets: Vec<usize>,
}

impl Fields {
    fn new() -> Self {
        Fields {
            at: 0,
            offsets: Vec::new(),
        }
    }

    fn field<T: serde::Serialize>(&mut self, value: &T) -> &mut Self {
        self.offsets.push(self.at);
        self.at += bincode_len(value);
        self
    }

    /// A sequence: its length, then each element through `each`.
    fn seq<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.field(&(items.len() as u64));
        for item in items {
            each(self, item);
        }
        self
    }

    /// An announcement: its variant tag, then every field.
    fn announcement(&mut self, announcement: &Announcement) -> &mut Self {
        self.field(&(announcement_variant(announcement) as u32));
        match announcement {
            Announcement::Left { id } => self.field(id),
            Announcement::ForceLeft {
                name,
                generation,
                by,
            } => self.field(name).field(generation).field(by),
            Announcement::Elected { role, holder, term }
            | Announcement::Resigned { role, holder, term } => {
                self.field(role).field(holder).field(term)
            }
            Announcement::Recalled { role, term } => self.field(role).field(term),
        }
    }

    /// A message body: its variant tag, then every field (inside vote replies, leases
    /// and announcements too).
    fn body(&mut self, body: &Body) -> &mut Self {
        self.field(&(body_variant(body) as u32));
        match body {
            Body::Announce(announcement) => self.announcement(announcement),
            Body::VoteRequest { role, term } | Body::Withdraw { role, term } => {
                self.field(role).field(term)
            }
            Body::Release {
                role,
                term,
                successor,
            } => self.field(role).field(term).field(successor),
            Body::VoteReply(reply) => self
                .field(&reply.role)
                .field(&reply.term)
                .field(&reply.granted)
                .field(&reply.population)
                .field(&reply.promised)
                .field(&reply.holder)
                .field(&reply.retry_after_ms),
            Body::Renew { round, leases } => self.field(round).seq(leases, |f, (role, term)| {
                f.field(role).field(term);
            }),
            Body::RenewReply {
                round,
                population,
                acked,
            } => self.field(round).field(population).seq(acked, |f, term| {
                f.field(term);
            }),
            Body::Recall { role, request } | Body::Query { role, request } => {
                self.field(role).field(request)
            }
            Body::RecallReply {
                request,
                population,
                recalled,
            } => self.field(request).field(population).field(recalled),
            Body::QueryReply {
                request,
                population,
                lease,
                recalled,
            } => self
                .field(request)
                .field(population)
                .field(lease)
                .field(recalled),
            Body::KeyRequest { request, op } => self.field(request).field(op),
            Body::KeyReply { request, result } => self.field(request).field(result),
        }
    }

    /// The offsets, shifted to where the value starts, after checking that the fields
    /// add up to the whole encoding.
    fn at(&self, start: usize, encoded_len: usize) -> impl Iterator<Item = usize> + '_ {
        assert_eq!(self.at, encoded_len, "the fields make up the whole value");
        self.offsets.iter().map(move |o| start + o)
    }
}

fn swim_datagram(
    header: &Header<NodeId>,
    members: &[Member<NodeId>],
    broadcasts: &[Announcement],
) -> Valid {
    let mut codec = FocaCodec::default();
    let mut bytes = Vec::new();
    wire::write_envelope(Kind::Swim, &mut bytes);
    let start = bytes.len();
    codec.encode_header(header, &mut bytes).expect("encodes");
    let dst_at = start + bincode_len(&header.src) + bincode_len(&header.src_incarnation);
    let message_at = dst_at + bincode_len(&header.dst);
    let mut varints = vec![start, dst_at, message_at];
    let mut u16s = Vec::new();
    let piggyback = !matches!(
        header.message,
        Message::Announce | Message::TurnUndead | Message::Broadcast
    );
    if piggyback {
        u16s.push(bytes.len());
        bytes.put_u16(u16::try_from(members.len()).expect("few"));
        for member in members {
            varints.push(bytes.len());
            codec.encode_member(member, &mut bytes).expect("encodes");
        }
    }
    if !matches!(header.message, Message::Announce | Message::TurnUndead) {
        for broadcast in broadcasts {
            let item = wire::encode_announcement(broadcast).expect("encodes");
            u16s.push(bytes.len());
            bytes.put_u16(u16::try_from(item.len()).expect("short"));
            let mut fields = Fields::new();
            fields.announcement(broadcast);
            varints.extend(fields.at(bytes.len(), item.len()));
            bytes.extend_from_slice(&item);
        }
    }
    assert!(wire::check_swim_packet(&bytes[start..]).is_ok());
    Valid {
        bytes,
        varints,
        u16s,
    }
}

fn polity_datagram(message: &PolityMessage) -> Valid {
    let mut bytes = Vec::new();
    wire::write_envelope(Kind::Polity, &mut bytes);
    let start = bytes.len();
    bytes.extend_from_slice(&wire::encode_message(message).expect("encodes"));
    let clock_at = start + bincode_len(&message.from);
    let body_at = clock_at + bincode_len(&message.clock);
    assert_eq!(wire::decode_message(&bytes[start..]).as_ref(), Ok(message));
    let mut fields = Fields::new();
    fields.body(&message.body);
    let mut varints = vec![start, clock_at];
    varints.extend(fields.at(body_at, bytes.len() - body_at));
    Valid {
        bytes,
        varints,
        u16s: Vec::new(),
    }
}

/// What the target's roles look like when each run starts.
struct RoleFacts {
    /// The term "a" holds its role with.
    a_term: LamportTime,
    /// The term "b" holds its role with.
    b_term: LamportTime,
    /// The term of the election "a" is waiting on.
    pending_term: LamportTime,
}

impl RoleFacts {
    fn of(target: &Core) -> Self {
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
fn role_bodies(a: &NodeId, b: &NodeId, facts: &RoleFacts) -> Vec<Body> {
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
        leases: vec![(held_by_b.clone(), b_term)],
    });
    bodies.push(Body::Renew {
        round: 2,
        leases: vec![
            (held_by_a.clone(), a_term),
            (held_by_b.clone(), b_term),
            (pending.clone(), pending_term),
            (fresh.clone(), next),
        ],
    });
    bodies.push(Body::Renew {
        round: u64::MAX,
        leases: (0..90u64)
            .map(|i| (role(&format!("r{i}")), LamportTime(b_term.get() + i)))
            .collect(),
    });
    for count in [9, 10] {
        bodies.push(Body::Renew {
            round: 7,
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
        });
    }
    bodies.push(Body::RenewReply {
        round: 1,
        population: u32::MAX,
        acked: (0..100).map(|i| LamportTime(a_term.get() + i)).collect(),
    });
    bodies.push(Body::RenewReply {
        round: 2,
        population: 1,
        acked: Vec::new(),
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
        });
        bodies.push(Body::Withdraw {
            role: role.clone(),
            term,
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
        },
        // A newer holder of the target's role: the target steps down.
        Announcement::Elected {
            role: role(HELD_BY_A),
            holder: name("c"),
            term: LamportTime(a_term.get() + 1),
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
        },
    ]
}

fn corpus(a: &NodeId, b: &NodeId, facts: &RoleFacts, real: Vec<Vec<u8>>) -> Vec<Valid> {
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
    let messages = |other: &NodeId, probe_number: u8| {
        vec![
            Message::Ping(probe_number),
            Message::Ack(probe_number),
            Message::PingReq {
                target: other.clone(),
                probe_number,
            },
            Message::IndirectPing {
                origin: other.clone(),
                probe_number,
            },
            Message::IndirectAck {
                target: other.clone(),
                probe_number,
            },
            Message::ForwardedAck {
                origin: other.clone(),
                probe_number,
            },
            Message::Announce,
            Message::Feed,
            Message::Gossip,
            Message::Broadcast,
            Message::TurnUndead,
        ]
    };

    let mut out: Vec<Valid> = real
        .into_iter()
        .map(|bytes| Valid {
            varints: vec![wire::ENVELOPE_LEN],
            u16s: Vec::new(),
            bytes,
        })
        .collect();
    for (src, incarnation) in [(b, 0), (&c, 0), (&c, 7), (&b_new, 1)] {
        for (i, message) in messages(&d, 9).into_iter().enumerate() {
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
    for message in messages(a, 3) {
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

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Random bytes of random length.
    Random,
    /// A valid envelope followed by random bytes.
    RandomBody,
    /// A valid datagram, mutated.
    Mutated,
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes[..]);
    bytes
}

fn huge_varint(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..5) {
        0 => vec![VARINT_U16, 0xFF, 0xFF],
        1 => vec![VARINT_U32, 0xFF, 0xFF, 0xFF, 0xFF],
        2 => {
            let mut v = vec![VARINT_U64];
            v.extend_from_slice(&u64::MAX.to_le_bytes());
            v
        }
        3 => {
            let mut v = vec![VARINT_U128];
            v.extend_from_slice(&u128::MAX.to_le_bytes());
            v
        }
        _ => vec![rng.random_range(VARINT_U16..=0xFF)],
    }
}

/// Applies one to four mutations to a copy of a valid datagram.
fn mutate(rng: &mut StdRng, corpus: &[Valid]) -> Vec<u8> {
    let valid = &corpus[rng.random_range(0..corpus.len())];
    let mut bytes = valid.bytes.clone();
    let rounds = match rng.random_range(0..20) {
        0..12 => 1,
        12..17 => 2,
        _ => rng.random_range(3..=4),
    };
    for _ in 0..rounds {
        let len = bytes.len();
        match rng.random_range(0..12) {
            // Flip one bit.
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            // Replace a byte.
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes[at] = rng.random();
            }
            // Truncate.
            2 => bytes.truncate(rng.random_range(0..=len)),
            // Extend with random bytes.
            3 => {
                let extra = rng.random_range(1..64);
                bytes.extend(random_bytes(rng, extra));
            }
            // Splice with another datagram.
            4 => {
                let other = &corpus[rng.random_range(0..corpus.len())].bytes;
                let keep = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                bytes.truncate(keep);
                bytes.extend_from_slice(&other[from..]);
            }
            // Insert random bytes.
            5 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..16);
                let insert = random_bytes(rng, n);
                bytes.splice(at..at, insert);
            }
            // Delete a range.
            6 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = rng.random_range(at..=len.min(at + 16));
                bytes.drain(at..end);
            }
            // A huge or bad count or length where one is.
            7 => {
                let at = match valid.u16s.is_empty() {
                    true => rng.random_range(0..=len.saturating_sub(2)),
                    false => valid.u16s[rng.random_range(0..valid.u16s.len())],
                };
                let value: u16 = match rng.random_range(0..5) {
                    0 => 0xFFFF,
                    1 => 0,
                    2 => 1,
                    3 => 0x8000,
                    _ => rng.random(),
                };
                if at + 2 <= len {
                    bytes[at..at + 2].copy_from_slice(&value.to_be_bytes());
                }
            }
            // A huge varint where a length, tag or integer is.
            8 => {
                let at = match valid.varints.is_empty() || rng.random_bool(0.2) {
                    true => rng.random_range(0..=len),
                    false => valid.varints[rng.random_range(0..valid.varints.len())],
                };
                if at <= len {
                    let end = (at + usize::from(rng.random_bool(0.8))).min(len);
                    let huge = huge_varint(rng);
                    bytes.splice(at..end, huge);
                }
            }
            // Repeat a chunk.
            9 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = rng.random_range(at..=len);
                let chunk = bytes[at..end].to_vec();
                bytes.splice(end..end, chunk);
            }
            // Swap the kind, so a SWIM body is read as a polity message and back.
            10 if len > wire::ENVELOPE_LEN => bytes[3] ^= 1,
            // Pad to around the size limits.
            11 => {
                let target = MAX_DATAGRAM + rng.random_range(0..3) - 1 - rng.random_range(0..60);
                if target > len {
                    bytes.extend(random_bytes(rng, target - len));
                }
            }
            _ => {}
        }
    }
    bytes
}

fn generate(rng: &mut StdRng, corpus: &[Valid]) -> (Origin, Vec<u8>) {
    match rng.random_range(0..100) {
        0..10 => {
            let len = rng.random_range(0..2000);
            (Origin::Random, random_bytes(rng, len))
        }
        10..20 => {
            let kind = if rng.random_bool(0.5) {
                Kind::Swim
            } else {
                Kind::Polity
            };
            let mut bytes = Vec::new();
            wire::write_envelope(kind, &mut bytes);
            let len = rng.random_range(0..200);
            bytes.extend(random_bytes(rng, len));
            (Origin::RandomBody, bytes)
        }
        _ => (Origin::Mutated, mutate(rng, corpus)),
    }
}

// ---------------------------------------------------------------------------------------
// The decoders
// ---------------------------------------------------------------------------------------

/// What the decoders say of a whole datagram, as a node reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Oversized,
    Envelope,
    Malformed,
    Parses,
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
}

/// Runs every decoder over `bytes` and over a few slices of it; checks what a decoder
/// returns makes sense, and returns the verdict on the whole datagram.
fn run_decoders(bytes: &[u8], rng: &mut StdRng) -> Result<Verdict, String> {
    let verdict = match wire::open(bytes, MAX_DATAGRAM) {
        Err(WireError::Oversized { .. }) => Verdict::Oversized,
        Err(_) => Verdict::Envelope,
        Ok((Kind::Swim, body)) => match wire::check_swim_packet(body) {
            Ok(_) => Verdict::Parses,
            Err(_) => Verdict::Malformed,
        },
        Ok((Kind::Polity, body)) => match wire::decode_message(body) {
            Ok(_) => Verdict::Parses,
            Err(_) => Verdict::Malformed,
        },
    };
    match wire::open(bytes, usize::MAX) {
        Ok((_, body)) if body.len() + wire::ENVELOPE_LEN != bytes.len() => {
            return Err("open returned a body of the wrong length".into());
        }
        _ => {}
    }
    let skip = rng.random_range(0..=bytes.len().min(64));
    for slice in [
        bytes,
        bytes.get(wire::ENVELOPE_LEN..).unwrap_or(&[]),
        &bytes[skip..],
    ] {
        let _ = wire::check_swim_packet(slice);
        if let Ok(message) = wire::decode_message(slice) {
            let again = wire::encode_message(&message).map_err(|e| e.to_string())?;
            if wire::decode_message(&again).as_ref() != Ok(&message) {
                return Err(format!("message does not round trip: {message:?}"));
            }
        }
        if let Ok(announcement) = wire::decode_announcement(slice) {
            let again = wire::encode_announcement(&announcement).map_err(|e| e.to_string())?;
            if wire::decode_announcement(&again).as_ref() != Ok(&announcement) {
                return Err(format!(
                    "announcement does not round trip: {announcement:?}"
                ));
            }
        }
        let mut codec = FocaCodec::default();
        let mut rest = slice;
        match codec.decode_header(&mut rest) {
            Ok(header) => {
                let used = slice.len() - rest.remaining();
                let again = bincode::serde::encode_to_vec(&header, config()).expect("encodes");
                if codec.decode_header(&mut &again[..]).as_ref() != Ok(&header) {
                    return Err(format!("header does not round trip: {header:?}"));
                }
                if used == 0 || used > slice.len() {
                    return Err(format!("header decode used {used} of {}", slice.len()));
                }
            }
            Err(_) if rest.len() != slice.len() => {
                return Err("a failed header decode advanced the buffer".into());
            }
            Err(_) => {}
        }
        let mut rest = slice;
        match codec.decode_member(&mut rest) {
            Ok(member) => {
                let again = bincode::serde::encode_to_vec(&member, config()).expect("encodes");
                if codec.decode_member(&mut &again[..]).as_ref() != Ok(&member) {
                    return Err(format!("member does not round trip: {member:?}"));
                }
            }
            Err(_) if rest.len() != slice.len() => {
                return Err("a failed member decode advanced the buffer".into());
            }
            Err(_) => {}
        }
    }
    Ok(verdict)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Tally {
    fed: usize,
    rejected: usize,
    oversized: usize,
    envelope: usize,
    malformed: usize,
    by_swim: usize,
    accepted: usize,
    /// Accepted datagrams that changed what the core shows, or made it send, report or
    /// complete something.
    effective: usize,
}

/// Which polity messages the core accepted, by body variant, and which announcements
/// among them, by announcement variant.
#[derive(Debug, Default)]
struct Reached {
    bodies: [usize; BODY_VARIANTS],
    announcements: [usize; ANNOUNCEMENT_VARIANTS],
}

impl Reached {
    fn record(&mut self, datagram: &[u8]) {
        if let Ok((Kind::Polity, body)) = wire::open(datagram, MAX_DATAGRAM)
            && let Ok(message) = wire::decode_message(body)
        {
            self.bodies[body_variant(&message.body)] += 1;
            if let Body::Announce(announcement) = &message.body {
                self.announcements[announcement_variant(announcement)] += 1;
            }
        }
    }
}

/// What a rejected datagram did that it should not have, if anything.
fn rejected_yet(before: &Observed, after: &Observed, output: &Output) -> Option<String> {
    if after == before && output.is_empty() {
        return None;
    }
    let mut what = String::from("yet");
    if after != before {
        what += &format!("\n    state before: {before:?}\n    state after:  {after:?}");
    }
    if !output.transmits.is_empty() {
        what += &format!("\n    sent {} datagram(s)", output.transmits.len());
    }
    if !output.events.is_empty() {
        what += &format!("\n    reported {:?}", output.events);
    }
    if !output.completions.is_empty() {
        what += &format!("\n    completed {:?}", output.completions);
    }
    Some(what)
}

#[test]
fn random_and_mutated_datagrams_are_handled_safely() {
    let seed = env_number("POLITY_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env_number("POLITY_FUZZ_CASES")
        .map(|n| usize::try_from(n).expect("fits"))
        .unwrap_or(DEFAULT_CASES);
    let replay = format!("POLITY_FUZZ_SEED={seed:#x} POLITY_FUZZ_CASES={cases}");
    eprintln!("wire fuzz: {replay}");

    let base = Instant::now();
    let Target {
        a: target,
        mut b,
        from_b,
        now: start,
    } = joined_target(base);
    // "b" probes "a", gossips to it and renews its role: real packets for the corpus,
    // not delivered.
    let mut real = from_b;
    for step in 1..=6 {
        b.handle_timeout(start + TICK * step * 4);
        while let Some(t) = b.poll_transmit() {
            real.push(t.bytes);
        }
    }
    let facts = RoleFacts::of(&target);
    let corpus = corpus(target.id(), b.id(), &facts, real);
    let mut core = target;
    let mut rng = StdRng::seed_from_u64(seed);

    let mut failures: Vec<String> = Vec::new();
    let mut failure_count = 0usize;
    let mut fail = |case: usize, epoch: usize, what: String, input: &[u8]| {
        failure_count += 1;
        if failures.len() < SHOWN_FAILURES {
            failures.push(format!(
                "case {case} (core rebuilt at case {epoch}): {what}\n    input ({} bytes): {}",
                input.len(),
                hex(input)
            ));
        }
    };
    let mut tallies = [
        (Origin::Random, Tally::default()),
        (Origin::RandomBody, Tally::default()),
        (Origin::Mutated, Tally::default()),
    ];
    let mut reached = Reached::default();
    let mut now = start;
    let mut epoch = 0;
    let rebuild = || {
        let target = joined_target(base);
        assert_eq!(target.now, start, "the target is rebuilt the same way");
        target.a
    };

    for case in 0..cases {
        if case % RESET_EVERY == 0 && case > 0 {
            now = start;
            epoch = case;
            core = rebuild();
        } else if case % TICK_EVERY == 0 && case > 0 {
            now += TICK;
            core.handle_timeout(now);
            drain(&mut core);
        }
        let (origin, input) = generate(&mut rng, &corpus);
        let tally = &mut tallies
            .iter_mut()
            .find(|(o, _)| *o == origin)
            .expect("every origin is tallied")
            .1;
        tally.fed += 1;

        let verdict = match catch_unwind(AssertUnwindSafe(|| run_decoders(&input, &mut rng))) {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(what)) => {
                fail(case, epoch, format!("decoder: {what}"), &input);
                continue;
            }
            Err(panic) => {
                let what = format!("a decoder panicked: {}", panic_message(&*panic));
                fail(case, epoch, what, &input);
                continue;
            }
        };

        let before = observe(&core);
        let stats_before = core.stats().clone();
        let handled = catch_unwind(AssertUnwindSafe(|| {
            core.handle_datagram(now, local(B_PORT), &input);
        }));
        if let Err(panic) = handled {
            let what = format!("the core panicked: {}", panic_message(&*panic));
            fail(case, epoch, what, &input);
            now = start;
            epoch = case + 1;
            core = rebuild();
            continue;
        }
        let output = drain(&mut core);
        let after = observe(&core);
        let grew: Vec<bool> = rejected(&stats_before)
            .iter()
            .zip(rejected(core.stats()))
            .map(|(before, after)| after > *before)
            .collect();
        let [oversized, envelope, malformed, by_swim] = [grew[0], grew[1], grew[2], grew[3]];

        let core_verdict = match (oversized, envelope, malformed) {
            (true, false, false) => Verdict::Oversized,
            (false, true, false) => Verdict::Envelope,
            (false, false, true) => Verdict::Malformed,
            (false, false, false) => Verdict::Parses,
            _ => {
                fail(case, epoch, format!("counted twice: {grew:?}"), &input);
                continue;
            }
        };
        if core_verdict != verdict {
            let what = format!("the decoders say {verdict:?}, the core says {core_verdict:?}");
            fail(case, epoch, what, &input);
        }

        if grew.contains(&true) {
            tally.rejected += 1;
            tally.oversized += usize::from(oversized);
            tally.envelope += usize::from(envelope);
            tally.malformed += usize::from(malformed);
            tally.by_swim += usize::from(by_swim);
            if let Some(yet) = rejected_yet(&before, &after, &output) {
                fail(
                    case,
                    epoch,
                    format!("rejected (counters {grew:?}) {yet}"),
                    &input,
                );
            }
        } else {
            tally.accepted += 1;
            tally.effective += usize::from(after != before || !output.is_empty());
            reached.record(&input);
            if origin == Origin::Random && verdict != Verdict::Parses {
                fail(case, epoch, "random bytes were not rejected".into(), &input);
            }
        }
    }

    for (origin, tally) in &tallies {
        eprintln!("wire fuzz: {origin:?}: {tally:?}");
    }
    eprintln!("wire fuzz: accepted polity messages: {reached:?}");
    eprintln!("wire fuzz: {failure_count} failure(s)");
    assert!(
        failures.is_empty(),
        "{failure_count} failure(s); replay with {replay}\n{}",
        failures.join("\n")
    );

    let [(_, random), (_, random_body), (_, mutated)] = &tallies;
    assert!(
        random.fed + random_body.fed + mutated.fed == cases,
        "every case was fed"
    );
    // Random bytes carry the magic, version and kind by chance once in 2^23 tries; such
    // a datagram may parse, and is counted as accepted above only if the decoders agree.
    assert!(
        random.accepted <= random.fed / 1000,
        "random bytes accepted: {random:?}"
    );
    if cases >= 10_000 {
        assert!(
            random_body.rejected * 10 >= random_body.fed * 9,
            "{random_body:?}"
        );
        // Most mutants are refused, but enough get through to reach foca and the core.
        assert!(mutated.rejected * 2 >= mutated.fed, "{mutated:?}");
        assert!(mutated.malformed * 5 >= mutated.fed * 2, "{mutated:?}");
        assert!(mutated.accepted * 25 >= mutated.fed, "{mutated:?}");
        assert!(mutated.effective * 250 >= mutated.fed, "{mutated:?}");
        // Mutants of every polity message and announcement got through to the core.
        assert!(!reached.bodies.contains(&0), "{reached:?}");
        assert!(!reached.announcements.contains(&0), "{reached:?}");
    }
}

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
