//! Round trips of every type polity puts on the wire, through the same codecs a node
//! uses: node and role names, identities, Lamport times, ballots, tenures and vote
//! replies, polity messages and announcements (with their gossip keys), the envelope,
//! foca's headers and members through `FocaCodec`, and whole SWIM packets laid out as
//! foca lays them out.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use foca::{Codec, Header, Invalidates, Member, Message, State};
use polity::identity::{MAX_NODE_NAME_LEN, MAX_ROLE_NAME_LEN};
use polity::wire::{
    self, Announcement, Ballot, Body, DECODE_LIMIT, ENVELOPE_LEN, FocaCodec, KEY_LEN, Key, KeyOp,
    KeyringError, Kind, MAX_KEYS, PolityMessage, Subject, Tenure, VoteReply, WireError,
};
use polity::{
    Completion, Config, Core, LamportTime, NodeId, NodeName, RoleName, RoleState, Startup,
};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The bincode configuration of `polity::wire`: standard, with the decode limit.
fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("encodes")
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, bincode_config())
}

fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

fn id(s: &str, port: u16, generation: u64) -> NodeId {
    NodeId::new(name(s), SocketAddr::from(([10, 0, 0, 1], port)), generation)
}

fn role(s: &str) -> RoleName {
    RoleName::new(s).expect("valid role name")
}

/// The index of a `foca::Message` variant. The match is exhaustive, so a variant added
/// to foca fails to compile here until the tests below cover it.
fn message_variant(message: &Message<NodeId>) -> usize {
    match message {
        Message::Ping(_) => 0,
        Message::Ack(_) => 1,
        Message::PingReq { .. } => 2,
        Message::IndirectPing { .. } => 3,
        Message::IndirectAck { .. } => 4,
        Message::ForwardedAck { .. } => 5,
        Message::Announce => 6,
        Message::Feed => 7,
        Message::Gossip => 8,
        Message::Broadcast => 9,
        Message::TurnUndead => 10,
    }
}
const MESSAGE_VARIANTS: usize = 11;

/// Every `foca::Message` variant once.
fn every_message(other: &NodeId, probe_number: u8) -> Vec<Message<NodeId>> {
    let all = vec![
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
    ];
    let mut seen: Vec<usize> = all.iter().map(message_variant).collect();
    seen.dedup();
    assert_eq!(seen, (0..MESSAGE_VARIANTS).collect::<Vec<_>>());
    all
}

fn state_variant(state: State) -> usize {
    match state {
        State::Alive => 0,
        State::Suspect => 1,
        State::Down => 2,
    }
}
const EVERY_STATE: [State; 3] = [State::Alive, State::Suspect, State::Down];

/// The index of an `Announcement` variant. The match is exhaustive, so a new variant
/// fails to compile here until the tests below cover it.
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

/// The index of a `Body` variant; exhaustive, like `announcement_variant`.
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

fn kind_variant(kind: Kind) -> usize {
    match kind {
        Kind::Swim => 0,
        Kind::Polity => 1,
    }
}
const EVERY_KIND: [Kind; 2] = [Kind::Swim, Kind::Polity];

/// Encodes `header` with `FocaCodec` into a fresh `Vec`.
fn header_bytes(header: &Header<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_header(header, &mut out)
        .expect("header encodes");
    out
}

/// Encodes `member` with `FocaCodec` into a fresh `Vec`.
fn member_bytes(member: &Member<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_member(member, &mut out)
        .expect("member encodes");
    out
}

/// Whether foca writes a member count and member updates after a header of this message.
fn needs_piggyback(message: &Message<NodeId>) -> bool {
    !matches!(
        message,
        Message::Announce | Message::TurnUndead | Message::Broadcast
    )
}

/// Whether foca appends custom broadcasts after a header of this message.
fn allows_custom_broadcasts(message: &Message<NodeId>) -> bool {
    !matches!(message, Message::Announce | Message::TurnUndead)
}

/// A SWIM packet laid out as foca 2 writes it, and the offsets where a truncated packet
/// is still well formed.
struct Packet {
    bytes: Vec<u8>,
    /// Lengths at which the packet may be cut and still parse: after the header (no
    /// member count at all), after the members, and after each custom broadcast.
    clean_cuts: Vec<usize>,
}

fn swim_packet(
    header: &Header<NodeId>,
    members: &[Member<NodeId>],
    broadcasts: &[Announcement],
) -> Packet {
    let mut bytes = header_bytes(header);
    let mut clean_cuts = vec![bytes.len()];
    if needs_piggyback(&header.message) {
        let count = u16::try_from(members.len()).expect("few members");
        bytes.put_u16(count);
        for member in members {
            bytes.extend_from_slice(&member_bytes(member));
        }
        clean_cuts.push(bytes.len());
    }
    if allows_custom_broadcasts(&header.message) {
        for broadcast in broadcasts {
            let item = wire::encode_announcement(broadcast).expect("announcement encodes");
            bytes.put_u16(u16::try_from(item.len()).expect("short item"));
            bytes.extend_from_slice(&item);
            clean_cuts.push(bytes.len());
        }
    }
    Packet { bytes, clean_cuts }
}

/// What a SWIM packet holds, read back the way foca reads it.
#[derive(Debug, PartialEq)]
struct ParsedPacket {
    header: Header<NodeId>,
    members: Vec<Member<NodeId>>,
    broadcasts: Vec<Announcement>,
}

fn parse_swim_packet(mut data: &[u8]) -> ParsedPacket {
    use bytes::Buf;
    let mut codec = FocaCodec::default();
    let header = codec.decode_header(&mut data).expect("header decodes");
    let mut members = Vec::new();
    if data.len() >= 2 && header.message != Message::Broadcast {
        let count = data.get_u16();
        for _ in 0..count {
            members.push(codec.decode_member(&mut data).expect("member decodes"));
        }
    }
    let mut broadcasts = Vec::new();
    while data.len() > 2 {
        let len = usize::from(data.get_u16());
        broadcasts.push(wire::decode_announcement(&data[..len]).expect("broadcast decodes"));
        data.advance(len);
    }
    assert!(data.is_empty(), "{} bytes left over", data.len());
    ParsedPacket {
        header,
        members,
        broadcasts,
    }
}

// ---------------------------------------------------------------------------------------
// The same types with plain strings for names, to put invalid names on the wire. Field
// order and types match polity's, so bincode encodes both alike (checked below).
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
struct RawId {
    name: String,
    addr: SocketAddr,
    generation: u64,
}

#[derive(Debug, Clone, Serialize)]
enum RawAnnouncement {
    Left {
        id: RawId,
    },
    ForceLeft {
        name: String,
        generation: u64,
        by: String,
    },
    Elected {
        role: String,
        holder: String,
        term: u64,
    },
    Recalled {
        role: String,
        term: u64,
    },
    Resigned {
        role: String,
        holder: String,
        term: u64,
    },
}

#[derive(Debug, Clone, Serialize)]
struct RawBallot {
    term: u64,
    candidate: String,
}

#[derive(Debug, Clone, Serialize)]
struct RawTenure {
    holder: String,
    term: u64,
}

#[derive(Debug, Clone, Serialize)]
struct RawVoteReply {
    role: String,
    term: u64,
    granted: bool,
    population: u32,
    promised: Option<RawBallot>,
    holder: Option<RawTenure>,
    retry_after_ms: u32,
}

#[derive(Debug, Clone, Serialize)]
enum RawBody {
    Announce(RawAnnouncement),
    VoteRequest {
        role: String,
        term: u64,
    },
    VoteReply(RawVoteReply),
    Renew {
        round: u64,
        leases: Vec<(String, u64)>,
    },
    RenewReply {
        round: u64,
        population: u32,
        acked: Vec<u64>,
    },
    Release {
        role: String,
        term: u64,
        successor: Option<String>,
    },
    Withdraw {
        role: String,
        term: u64,
    },
    Recall {
        role: String,
        request: u64,
    },
    RecallReply {
        request: u64,
        population: u32,
        recalled: Option<RawTenure>,
    },
    Query {
        role: String,
        request: u64,
    },
    QueryReply {
        request: u64,
        population: u32,
        lease: Option<RawTenure>,
        recalled: bool,
    },
    // Key messages hold no names, so they are mirrored with the crate's own types.
    KeyRequest {
        request: u64,
        op: KeyOp,
    },
    KeyReply {
        request: u64,
        result: Result<Vec<Key>, KeyringError>,
    },
}

#[derive(Debug, Clone, Serialize)]
struct RawMessage {
    from: RawId,
    clock: u64,
    body: RawBody,
}

fn raw_id(id: &NodeId) -> RawId {
    RawId {
        name: id.name().as_str().to_owned(),
        addr: id.addr(),
        generation: id.generation(),
    }
}

fn raw_ballot(ballot: &Ballot) -> RawBallot {
    RawBallot {
        term: ballot.term.get(),
        candidate: ballot.candidate.as_str().to_owned(),
    }
}

fn raw_tenure(tenure: &Tenure) -> RawTenure {
    RawTenure {
        holder: tenure.holder.as_str().to_owned(),
        term: tenure.term.get(),
    }
}

fn raw_vote_reply(reply: &VoteReply) -> RawVoteReply {
    RawVoteReply {
        role: reply.role.as_str().to_owned(),
        term: reply.term.get(),
        granted: reply.granted,
        population: reply.population,
        promised: reply.promised.as_ref().map(raw_ballot),
        holder: reply.holder.as_ref().map(raw_tenure),
        retry_after_ms: reply.retry_after_ms,
    }
}

fn raw_announcement(announcement: &Announcement) -> RawAnnouncement {
    match announcement {
        Announcement::Left { id } => RawAnnouncement::Left { id: raw_id(id) },
        Announcement::ForceLeft {
            name,
            generation,
            by,
        } => RawAnnouncement::ForceLeft {
            name: name.as_str().to_owned(),
            generation: *generation,
            by: by.as_str().to_owned(),
        },
        Announcement::Elected { role, holder, term } => RawAnnouncement::Elected {
            role: role.as_str().to_owned(),
            holder: holder.as_str().to_owned(),
            term: term.get(),
        },
        Announcement::Recalled { role, term } => RawAnnouncement::Recalled {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Announcement::Resigned { role, holder, term } => RawAnnouncement::Resigned {
            role: role.as_str().to_owned(),
            holder: holder.as_str().to_owned(),
            term: term.get(),
        },
    }
}

fn raw_body(body: &Body) -> RawBody {
    match body {
        Body::Announce(a) => RawBody::Announce(raw_announcement(a)),
        Body::VoteRequest { role, term } => RawBody::VoteRequest {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Body::VoteReply(reply) => RawBody::VoteReply(raw_vote_reply(reply)),
        Body::Renew { round, leases } => RawBody::Renew {
            round: *round,
            leases: leases
                .iter()
                .map(|(role, term)| (role.as_str().to_owned(), term.get()))
                .collect(),
        },
        Body::RenewReply {
            round,
            population,
            acked,
        } => RawBody::RenewReply {
            round: *round,
            population: *population,
            acked: acked.iter().map(|t| t.get()).collect(),
        },
        Body::Release {
            role,
            term,
            successor,
        } => RawBody::Release {
            role: role.as_str().to_owned(),
            term: term.get(),
            successor: successor.as_ref().map(|n| n.as_str().to_owned()),
        },
        Body::Withdraw { role, term } => RawBody::Withdraw {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Body::Recall { role, request } => RawBody::Recall {
            role: role.as_str().to_owned(),
            request: *request,
        },
        Body::RecallReply {
            request,
            population,
            recalled,
        } => RawBody::RecallReply {
            request: *request,
            population: *population,
            recalled: recalled.as_ref().map(raw_tenure),
        },
        Body::Query { role, request } => RawBody::Query {
            role: role.as_str().to_owned(),
            request: *request,
        },
        Body::QueryReply {
            request,
            population,
            lease,
            recalled,
        } => RawBody::QueryReply {
            request: *request,
            population: *population,
            lease: lease.as_ref().map(raw_tenure),
            recalled: *recalled,
        },
        Body::KeyRequest { request, op } => RawBody::KeyRequest {
            request: *request,
            op: op.clone(),
        },
        Body::KeyReply { request, result } => RawBody::KeyReply {
            request: *request,
            result: result.clone(),
        },
    }
}

fn raw_message(message: &PolityMessage) -> RawMessage {
    RawMessage {
        from: raw_id(&message.from),
        clock: message.clock.get(),
        body: raw_body(&message.body),
    }
}

/// Which rules a name field on the wire follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameField {
    Node,
    Role,
}

/// Every name field of an announcement, in order, for forging invalid names.
fn announcement_names(announcement: &mut RawAnnouncement) -> Vec<(NameField, &mut String)> {
    use NameField::{Node, Role};
    match announcement {
        RawAnnouncement::Left { id } => vec![(Node, &mut id.name)],
        RawAnnouncement::ForceLeft { name, by, .. } => vec![(Node, name), (Node, by)],
        RawAnnouncement::Elected { role, holder, .. }
        | RawAnnouncement::Resigned { role, holder, .. } => vec![(Role, role), (Node, holder)],
        RawAnnouncement::Recalled { role, .. } => vec![(Role, role)],
    }
}

/// Every name field of a message, the sender's first.
fn message_names(message: &mut RawMessage) -> Vec<(NameField, &mut String)> {
    use NameField::{Node, Role};
    let mut names = vec![(Node, &mut message.from.name)];
    match &mut message.body {
        RawBody::Announce(announcement) => names.extend(announcement_names(announcement)),
        RawBody::Release {
            role, successor, ..
        } => {
            names.push((Role, role));
            if let Some(successor) = successor {
                names.push((Node, successor));
            }
        }
        RawBody::VoteRequest { role, .. }
        | RawBody::Withdraw { role, .. }
        | RawBody::Recall { role, .. }
        | RawBody::Query { role, .. } => names.push((Role, role)),
        RawBody::VoteReply(reply) => {
            names.push((Role, &mut reply.role));
            if let Some(ballot) = &mut reply.promised {
                names.push((Node, &mut ballot.candidate));
            }
            if let Some(tenure) = &mut reply.holder {
                names.push((Node, &mut tenure.holder));
            }
        }
        RawBody::Renew { leases, .. } => {
            names.extend(leases.iter_mut().map(|(role, _)| (Role, role)));
        }
        RawBody::RenewReply { .. } => {}
        RawBody::RecallReply {
            recalled: tenure, ..
        }
        | RawBody::QueryReply { lease: tenure, .. } => {
            if let Some(tenure) = tenure {
                names.push((Node, &mut tenure.holder));
            }
        }
        RawBody::KeyRequest { .. } | RawBody::KeyReply { .. } => {}
    }
    names
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn name_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("printable, not whitespace", |c| {
        !c.is_control() && !c.is_whitespace()
    })
}

/// Valid names: ASCII up to the 64-byte limit, or any printable characters (at most 16
/// of at most 4 bytes each, so at most 64 bytes).
fn valid_name_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,64}",
        prop::collection::vec(name_char(), 1..=16).prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn node_name() -> impl Strategy<Value = NodeName> {
    valid_name_string().prop_map(|s| NodeName::new(s).expect("generated names are valid"))
}

/// Characters a name may not hold: whitespace and control characters.
fn bad_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
            '\u{1680}', '\u{2003}', '\u{2028}', '\u{2029}', '\u{3000}',
        ]),
        (0u8..0x20).prop_map(char::from),
        (0x7fu8..=0x9f).prop_map(char::from),
    ]
}

/// Inserts `bad` into `s` at character `at` (or at the end).
fn with_bad_char(s: String, bad: char, at: usize) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let at = at.min(chars.len());
    chars.insert(at, bad);
    chars.into_iter().collect()
}

/// Strings `NodeName` refuses: empty, longer than 64 bytes, or holding a bad character.
fn invalid_name_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[!-~]{65,200}",
        // 33 two-byte characters: few characters, but 66 bytes.
        Just("é".repeat(33)),
        (valid_name_string(), bad_char(), 0usize..=64)
            .prop_map(|(s, bad, at)| with_bad_char(s, bad, at)),
    ]
}

/// Valid role names: ASCII up to the 128-byte limit (often close to it), or any
/// printable characters (at most 32 of at most 4 bytes each).
fn valid_role_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,128}",
        "[!-~]{120,128}",
        prop::collection::vec(name_char(), 1..=32).prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn role_name() -> impl Strategy<Value = RoleName> {
    valid_role_string().prop_map(|s| RoleName::new(s).expect("generated role names are valid"))
}

/// Strings `RoleName` refuses: empty, longer than 128 bytes, or holding a bad character.
fn invalid_role_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[!-~]{129,300}",
        // 65 two-byte characters: 130 bytes.
        Just("é".repeat(65)),
        // 33 four-byte characters: 132 bytes.
        Just("𝄞".repeat(33)),
        (valid_role_string(), bad_char(), 0usize..=128)
            .prop_map(|(s, bad, at)| with_bad_char(s, bad, at)),
    ]
}

/// Addresses that serde can carry: IPv4, and IPv6 without flow label or scope id
/// (see `a_scoped_ipv6_node_id_round_trips` for those).
fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
    ]
}

fn node_id() -> impl Strategy<Value = NodeId> {
    (node_name(), socket_addr(), any::<u64>())
        .prop_map(|(name, addr, generation)| NodeId::new(name, addr, generation))
}

fn lamport_time() -> impl Strategy<Value = LamportTime> {
    prop_oneof![
        Just(LamportTime::ZERO),
        Just(LamportTime(u64::MAX)),
        any::<u64>().prop_map(LamportTime),
    ]
}

fn ballot() -> impl Strategy<Value = Ballot> {
    (lamport_time(), node_name()).prop_map(|(term, candidate)| Ballot { term, candidate })
}

fn tenure() -> impl Strategy<Value = Tenure> {
    (node_name(), lamport_time()).prop_map(|(holder, term)| Tenure { holder, term })
}

/// Integers that exercise every width of bincode's variable-length encoding.
fn wide_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0),
        Just(250),
        Just(251),
        Just(u32::from(u16::MAX)),
        Just(u32::from(u16::MAX) + 1),
        Just(u32::MAX),
        any::<u32>(),
    ]
}

fn wide_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(250),
        Just(251),
        Just(u64::from(u32::MAX) + 1),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn vote_reply() -> impl Strategy<Value = VoteReply> {
    (
        role_name(),
        lamport_time(),
        any::<bool>(),
        wide_u32(),
        prop::option::of(ballot()),
        prop::option::of(tenure()),
        wide_u32(),
    )
        .prop_map(
            |(role, term, granted, population, promised, holder, retry_after_ms)| VoteReply {
                role,
                term,
                granted,
                population,
                promised,
                holder,
                retry_after_ms,
            },
        )
}

fn announcement() -> impl Strategy<Value = Announcement> {
    prop_oneof![
        node_id().prop_map(|id| Announcement::Left { id }),
        (node_name(), any::<u64>(), node_name()).prop_map(|(name, generation, by)| {
            Announcement::ForceLeft {
                name,
                generation,
                by,
            }
        }),
        (role_name(), node_name(), lamport_time())
            .prop_map(|(role, holder, term)| Announcement::Elected { role, holder, term }),
        (role_name(), lamport_time())
            .prop_map(|(role, term)| Announcement::Recalled { role, term }),
        (role_name(), node_name(), lamport_time())
            .prop_map(|(role, holder, term)| Announcement::Resigned { role, holder, term }),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        announcement().prop_map(Body::Announce),
        (role_name(), lamport_time()).prop_map(|(role, term)| Body::VoteRequest { role, term }),
        vote_reply().prop_map(Body::VoteReply),
        (
            wide_u64(),
            prop::collection::vec((role_name(), lamport_time()), 0..8)
        )
            .prop_map(|(round, leases)| Body::Renew { round, leases }),
        (
            wide_u64(),
            wide_u32(),
            prop::collection::vec(lamport_time(), 0..8)
        )
            .prop_map(|(round, population, acked)| Body::RenewReply {
                round,
                population,
                acked
            }),
        (role_name(), lamport_time(), prop::option::of(node_name())).prop_map(
            |(role, term, successor)| Body::Release {
                role,
                term,
                successor
            }
        ),
        (role_name(), lamport_time()).prop_map(|(role, term)| Body::Withdraw { role, term }),
        (role_name(), wide_u64()).prop_map(|(role, request)| Body::Recall { role, request }),
        (wide_u64(), wide_u32(), prop::option::of(tenure())).prop_map(
            |(request, population, recalled)| Body::RecallReply {
                request,
                population,
                recalled
            }
        ),
        (role_name(), wide_u64()).prop_map(|(role, request)| Body::Query { role, request }),
        (
            wide_u64(),
            wide_u32(),
            prop::option::of(tenure()),
            any::<bool>()
        )
            .prop_map(|(request, population, lease, recalled)| Body::QueryReply {
                request,
                population,
                lease,
                recalled
            }),
        (wide_u64(), key_op()).prop_map(|(request, op)| Body::KeyRequest { request, op }),
        (
            wide_u64(),
            prop_oneof![
                prop::collection::vec(key(), 0..=MAX_KEYS).prop_map(Ok),
                prop_oneof![
                    Just(KeyringError::Empty),
                    Just(KeyringError::Full),
                    Just(KeyringError::UnknownKey),
                    Just(KeyringError::RemovingPrimary),
                    Just(KeyringError::NotSealed),
                ]
                .prop_map(Err),
            ]
        )
            .prop_map(|(request, result)| Body::KeyReply { request, result }),
    ]
}

fn key() -> impl Strategy<Value = Key> {
    any::<[u8; KEY_LEN]>().prop_map(Key::new)
}

fn key_op() -> impl Strategy<Value = KeyOp> {
    prop_oneof![
        Just(KeyOp::List),
        key().prop_map(KeyOp::Install),
        key().prop_map(KeyOp::Use),
        key().prop_map(KeyOp::Remove),
    ]
}

fn polity_message() -> impl Strategy<Value = PolityMessage> {
    (node_id(), lamport_time(), body()).prop_map(|(from, clock, body)| PolityMessage {
        from,
        clock,
        body,
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(EVERY_KIND.to_vec())
}

fn foca_message() -> impl Strategy<Value = Message<NodeId>> {
    prop_oneof![
        any::<u8>().prop_map(Message::Ping),
        any::<u8>().prop_map(Message::Ack),
        (node_id(), any::<u8>()).prop_map(|(target, probe_number)| Message::PingReq {
            target,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(origin, probe_number)| Message::IndirectPing {
            origin,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(target, probe_number)| Message::IndirectAck {
            target,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(origin, probe_number)| Message::ForwardedAck {
            origin,
            probe_number
        }),
        Just(Message::Announce),
        Just(Message::Feed),
        Just(Message::Gossip),
        Just(Message::Broadcast),
        Just(Message::TurnUndead),
    ]
}

fn header() -> impl Strategy<Value = Header<NodeId>> {
    (node_id(), any::<u16>(), node_id(), foca_message()).prop_map(
        |(src, src_incarnation, dst, message)| Header {
            src,
            src_incarnation,
            dst,
            message,
        },
    )
}

fn foca_state() -> impl Strategy<Value = State> {
    prop::sample::select(EVERY_STATE.to_vec())
}

fn member() -> impl Strategy<Value = Member<NodeId>> {
    (node_id(), any::<u16>(), foca_state())
        .prop_map(|(id, incarnation, state)| Member::new(id, incarnation, state))
}

fn trailing() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

// ---------------------------------------------------------------------------------------
// Names, identities, times
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_node_name_round_trips(name in node_name()) {
        let bytes = encode(&name);
        // On the wire a name is a plain string.
        prop_assert_eq!(&bytes, &encode(&name.as_str().to_owned()));
        let (back, used): (NodeName, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(&back, &name);
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.as_str().parse::<NodeName>(), Ok(name));
    }

    #[test]
    fn an_invalid_node_name_is_refused_on_decode(bad in invalid_name_string()) {
        prop_assert!(NodeName::new(bad.clone()).is_err());
        let bytes = encode(&bad);
        prop_assert!(decode::<NodeName>(&bytes).is_err());
    }

    #[test]
    fn a_node_id_round_trips(id in node_id()) {
        let bytes = encode(&id);
        let (back, used): (NodeId, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.name(), id.name());
        prop_assert_eq!(back.addr(), id.addr());
        prop_assert_eq!(back.generation(), id.generation());
        prop_assert_eq!(back, id);
    }

    #[test]
    fn a_node_id_with_an_invalid_name_is_refused(
        bad in invalid_name_string(),
        addr in socket_addr(),
        generation in any::<u64>(),
    ) {
        let raw = RawId { name: bad, addr, generation };
        prop_assert!(decode::<NodeId>(&encode(&raw)).is_err());
    }

    #[test]
    fn a_lamport_time_round_trips_as_a_bare_integer(time in lamport_time()) {
        let bytes = encode(&time);
        prop_assert_eq!(&bytes, &encode(&time.get()));
        let (back, used): (LamportTime, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(back, time);
        prop_assert_eq!(used, bytes.len());
    }

    #[test]
    fn a_role_name_round_trips(role in role_name()) {
        let bytes = encode(&role);
        // On the wire a role name is a plain string, like a node name.
        prop_assert_eq!(&bytes, &encode(&role.as_str().to_owned()));
        let (back, used): (RoleName, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(&back, &role);
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.as_str().parse::<RoleName>(), Ok(role.clone()));
        // The same bytes read as a node name only if short enough for one.
        prop_assert_eq!(
            decode::<NodeName>(&bytes).is_ok(),
            role.as_str().len() <= MAX_NODE_NAME_LEN
        );
    }

    #[test]
    fn an_invalid_role_name_is_refused_on_decode(bad in invalid_role_string()) {
        prop_assert!(RoleName::new(bad.clone()).is_err());
        prop_assert!(bad.parse::<RoleName>().is_err());
        let bytes = encode(&bad);
        prop_assert!(decode::<RoleName>(&bytes).is_err());
        prop_assert!(decode::<NodeName>(&bytes).is_err());
    }

    #[test]
    fn a_ballot_round_trips_and_orders_by_term_then_candidate(a in ballot(), b in ballot()) {
        for ballot in [&a, &b] {
            let bytes = encode(ballot);
            prop_assert_eq!(&bytes, &encode(&raw_ballot(ballot)));
            let (back, used): (Ballot, usize) = decode(&bytes).expect("decodes");
            prop_assert_eq!(&back, ballot);
            prop_assert_eq!(used, bytes.len());
        }
        let by_fields = (a.term, a.candidate.as_str()).cmp(&(b.term, b.candidate.as_str()));
        prop_assert_eq!(a.cmp(&b), by_fields);
    }

    #[test]
    fn a_ballot_or_tenure_with_an_invalid_name_is_refused(
        ballot in ballot(),
        tenure in tenure(),
        bad in invalid_name_string(),
    ) {
        let mut raw = raw_ballot(&ballot);
        raw.candidate = bad.clone();
        prop_assert!(decode::<Ballot>(&encode(&raw)).is_err());
        let mut raw = raw_tenure(&tenure);
        raw.holder = bad;
        prop_assert!(decode::<Tenure>(&encode(&raw)).is_err());
    }

    #[test]
    fn a_tenure_round_trips(tenure in tenure(), tail in trailing()) {
        let bytes = encode(&tenure);
        prop_assert_eq!(&bytes, &encode(&raw_tenure(&tenure)));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&tail);
        let (back, used): (Tenure, usize) = decode(&longer).expect("decodes");
        prop_assert_eq!(back, tenure);
        prop_assert_eq!(used, bytes.len());
    }

    #[test]
    fn a_vote_reply_round_trips(reply in vote_reply(), tail in trailing()) {
        let bytes = encode(&reply);
        prop_assert_eq!(&bytes, &encode(&raw_vote_reply(&reply)));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&tail);
        let (back, used): (VoteReply, usize) = decode(&longer).expect("decodes");
        prop_assert_eq!(&back, &reply);
        prop_assert_eq!(used, bytes.len());
        // The same bytes as the reply inside a message body, after the variant tag.
        let inside = encode(&Body::VoteReply(reply));
        prop_assert_eq!(&inside[1..], &bytes[..]);
    }

    #[test]
    fn a_vote_reply_with_an_invalid_name_is_refused(
        reply in vote_reply(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in 0usize..3,
    ) {
        let mut raw = raw_vote_reply(&reply);
        match which {
            0 => raw.role = bad_role,
            1 => {
                raw.promised.get_or_insert(RawBallot { term: 1, candidate: String::new() })
                    .candidate = bad_node;
            }
            _ => {
                raw.holder.get_or_insert(RawTenure { holder: String::new(), term: 1 }).holder =
                    bad_node;
            }
        }
        prop_assert!(decode::<VoteReply>(&encode(&raw)).is_err());
    }
}

#[test]
fn name_limits_are_exact_on_the_wire() {
    for ok in [
        "a",
        &"a".repeat(64),
        &"é".repeat(32),
        &"𝄞".repeat(16),
        "web-1.dc_2",
    ] {
        let (back, _): (NodeName, usize) = decode(&encode(&ok.to_owned())).expect(ok);
        assert_eq!(back.as_str(), ok);
    }
    for bad in [
        "",
        &"a".repeat(65),
        &"é".repeat(33),
        "a b",
        "a\u{0}",
        "\u{a0}",
    ] {
        assert!(
            decode::<NodeName>(&encode(&bad.to_owned())).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn role_name_limits_are_exact_on_the_wire() {
    assert_eq!(MAX_ROLE_NAME_LEN, 128);
    for ok in [
        "r",
        &"r".repeat(65),
        &"r".repeat(128),
        &"é".repeat(64),
        &"𝄞".repeat(32),
        "shard-7-primary",
    ] {
        let (back, _): (RoleName, usize) = decode(&encode(&ok.to_owned())).expect(ok);
        assert_eq!(back.as_str(), ok);
    }
    for bad in [
        "",
        &"r".repeat(129),
        &"é".repeat(65),
        &"𝄞".repeat(33),
        // 127 bytes and a two-byte character: 129 bytes.
        &format!("{}é", "r".repeat(127)),
        "shard 7",
        "shard\n7",
        "a\u{0}",
        "\u{a0}",
        "\u{2028}",
    ] {
        assert!(
            decode::<RoleName>(&encode(&bad.to_owned())).is_err(),
            "{bad:?}"
        );
    }
}

/// A link-local IPv6 address needs its scope id to be reachable, and a node's identity
/// must come back from the wire equal to itself: foca only accepts packets whose
/// destination equals its own identity. serde writes only the IP and port of a
/// `SocketAddrV6`, dropping the flow label and the scope id.
#[test]
fn a_scoped_ipv6_node_id_round_trips() {
    let addr = SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), 7700, 0, 2);
    let id = NodeId::new(name("n1"), SocketAddr::V6(addr), 1);
    let (back, _): (NodeId, usize) = decode(&encode(&id)).expect("decodes");
    assert_eq!(back.addr(), id.addr(), "the scope id is lost on the wire");
    assert_eq!(back, id);
}

// ---------------------------------------------------------------------------------------
// Polity messages and announcements
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_polity_message_round_trips(message in polity_message()) {
        let bytes = wire::encode_message(&message).expect("encodes");
        // The mirror types used to forge invalid names encode alike.
        prop_assert_eq!(&bytes, &encode(&raw_message(&message)));
        prop_assert_eq!(wire::decode_message(&bytes), Ok(message));
    }

    #[test]
    fn a_polity_message_with_extra_or_missing_bytes_is_refused(
        message in polity_message(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = wire::encode_message(&message).expect("encodes");
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(
            wire::decode_message(&longer),
            Err(WireError::TrailingBytes { extra: extra.len() })
        );
        let cut = cut.index(bytes.len());
        let verdict = wire::decode_message(&bytes[..cut]);
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    #[test]
    fn a_polity_message_with_an_invalid_name_is_refused(
        message in polity_message(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut raw = raw_message(&message);
        let mut names = message_names(&mut raw);
        let (field, slot) = names.swap_remove(which.index(names.len()));
        *slot = match field {
            NameField::Node => bad_node,
            NameField::Role => bad_role,
        };
        let verdict = wire::decode_message(&encode(&raw));
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    #[test]
    fn an_announcement_with_an_invalid_name_is_refused(
        announcement in announcement(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut raw = raw_announcement(&announcement);
        prop_assert_eq!(
            &encode(&raw),
            &wire::encode_announcement(&announcement).expect("encodes")
        );
        let mut names = announcement_names(&mut raw);
        let (field, slot) = names.swap_remove(which.index(names.len()));
        *slot = match field {
            NameField::Node => bad_node,
            NameField::Role => bad_role,
        };
        let verdict = wire::decode_announcement(&encode(&raw));
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    /// Role names may be twice as long as node names: a name of 65 to 128 bytes is
    /// accepted where a role is named and refused where a node is.
    #[test]
    fn a_long_name_is_a_role_name_but_not_a_node_name(
        message in polity_message(),
        long in "[!-~]{65,128}",
        term in lamport_time(),
    ) {
        let message = PolityMessage {
            body: Body::Release {
                role: RoleName::new(long.clone()).expect("valid"),
                term,
                successor: None,
            },
            ..message
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        prop_assert_eq!(wire::decode_message(&bytes), Ok(message.clone()));
        let mut raw = raw_message(&message);
        raw.from.name = long.clone();
        prop_assert!(wire::decode_message(&encode(&raw)).is_err());
        let elected = RawAnnouncement::Elected { role: long.clone(), holder: long, term: term.get() };
        prop_assert!(wire::decode_announcement(&encode(&elected)).is_err());
    }

    #[test]
    fn an_announcement_round_trips_with_its_key(announcement in announcement()) {
        let item = wire::encode_announcement(&announcement).expect("encodes");
        let back = wire::decode_announcement(&item).expect("decodes");
        prop_assert_eq!(back.key(), announcement.key());
        prop_assert_eq!(&back, &announcement);
        // The same bytes as the announcement inside a message body.
        let inside = encode(&Body::Announce(announcement));
        prop_assert_eq!(&inside[1..], &item[..]);
    }
}

/// Every announcement variant once, with names at their length limits.
fn every_announcement() -> Vec<Announcement> {
    let longest_role = role(&"r".repeat(MAX_ROLE_NAME_LEN));
    let longest_node = name(&"n".repeat(MAX_NODE_NAME_LEN));
    let all = vec![
        Announcement::Left { id: id("a", 1, 7) },
        Announcement::ForceLeft {
            name: name("gone"),
            generation: u64::MAX,
            by: name("op"),
        },
        Announcement::Elected {
            role: longest_role.clone(),
            holder: longest_node.clone(),
            term: LamportTime(u64::MAX),
        },
        Announcement::Recalled {
            role: role("scheduler"),
            term: LamportTime::ZERO,
        },
        Announcement::Resigned {
            role: longest_role,
            holder: longest_node,
            term: LamportTime(1 << 40),
        },
    ];
    let variants: Vec<usize> = all.iter().map(announcement_variant).collect();
    assert_eq!(variants, (0..ANNOUNCEMENT_VARIANTS).collect::<Vec<_>>());
    all
}

/// Every body variant once, several with extreme values: many leases, long names, the
/// largest integers.
fn every_body() -> Vec<Body> {
    let longest_role = role(&"r".repeat(MAX_ROLE_NAME_LEN));
    let longest_node = name(&"n".repeat(MAX_NODE_NAME_LEN));
    let tenure = Tenure {
        holder: longest_node.clone(),
        term: LamportTime(u64::MAX),
    };
    let all = vec![
        Body::Announce(Announcement::Left { id: id("a", 1, 7) }),
        Body::VoteRequest {
            role: longest_role.clone(),
            term: LamportTime(u64::MAX),
        },
        Body::VoteReply(VoteReply {
            role: longest_role.clone(),
            term: LamportTime(u64::MAX),
            granted: false,
            population: u32::MAX,
            promised: Some(Ballot {
                term: LamportTime(u64::MAX),
                candidate: longest_node.clone(),
            }),
            holder: Some(tenure.clone()),
            retry_after_ms: u32::MAX,
        }),
        Body::Renew {
            round: u64::MAX,
            leases: (0..100u64)
                .map(|i| (role(&format!("{i:r>128}")), LamportTime(u64::MAX - i)))
                .collect(),
        },
        Body::RenewReply {
            round: u64::MAX,
            population: u32::MAX,
            acked: (0..100u64).map(|i| LamportTime(u64::MAX - i)).collect(),
        },
        Body::Release {
            role: role("scheduler"),
            term: LamportTime(1),
            successor: Some(longest_node.clone()),
        },
        Body::Withdraw {
            role: role(&"w".repeat(MAX_ROLE_NAME_LEN)),
            term: LamportTime(u64::MAX),
        },
        Body::Recall {
            role: longest_role.clone(),
            request: u64::MAX,
        },
        Body::RecallReply {
            request: u64::MAX,
            population: u32::MAX,
            recalled: Some(tenure.clone()),
        },
        Body::Query {
            role: longest_role,
            request: 0,
        },
        Body::QueryReply {
            request: u64::MAX,
            population: 0,
            lease: Some(tenure),
            recalled: true,
        },
        Body::KeyRequest {
            request: 1,
            op: KeyOp::Install(Key::new([9; KEY_LEN])),
        },
        Body::KeyReply {
            request: u64::MAX,
            result: Ok(vec![Key::new([9; KEY_LEN]); MAX_KEYS]),
        },
    ];
    let variants: Vec<usize> = all.iter().map(body_variant).collect();
    assert_eq!(variants, (0..BODY_VARIANTS).collect::<Vec<_>>());
    all
}

#[test]
fn every_body_and_announcement_variant_round_trips() {
    let a = id("a", 1, 7);
    let bodies = every_body()
        .into_iter()
        .chain(every_announcement().into_iter().map(Body::Announce));
    for body in bodies {
        let message = PolityMessage {
            from: a.clone(),
            clock: LamportTime(u64::MAX),
            body,
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        assert_eq!(bytes, encode(&raw_message(&message)));
        assert_eq!(wire::decode_message(&bytes).as_ref(), Ok(&message));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            wire::decode_message(&longer),
            Err(WireError::TrailingBytes { extra: 1 })
        );
        for cut in 0..bytes.len() {
            assert!(
                wire::decode_message(&bytes[..cut]).is_err(),
                "{message:?} cut at {cut}"
            );
        }
    }
    for announcement in every_announcement() {
        let item = wire::encode_announcement(&announcement).expect("encodes");
        assert_eq!(item, encode(&raw_announcement(&announcement)));
        assert_eq!(wire::decode_announcement(&item).as_ref(), Ok(&announcement));
        assert_eq!(
            wire::decode_announcement(&item).map(|a| a.key()),
            Ok(announcement.key())
        );
    }
}

/// A holder renews all its roles in one message (split to fit a datagram when sent):
/// many leases with the longest names round trip.
#[test]
fn a_renewal_of_many_long_roles_round_trips() {
    let leases: Vec<(RoleName, LamportTime)> = (0..400u64)
        .map(|i| (role(&format!("{i:~>128}")), LamportTime(i << 50)))
        .collect();
    for take in [0, 1, 9, 10, 11, 100, 400] {
        let message = PolityMessage {
            from: id("holder", 9, u64::MAX),
            clock: LamportTime(u64::MAX),
            body: Body::Renew {
                round: u64::MAX - take as u64,
                leases: leases[..take].to_vec(),
            },
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        assert_eq!(wire::decode_message(&bytes), Ok(message), "{take} leases");
    }
}

// ---------------------------------------------------------------------------------------
// Gossip keys
// ---------------------------------------------------------------------------------------

/// The subject and version an announcement should be gossiped under, written out apart
/// from `Announcement::key`: members by generation, roles by term and then the step
/// within the term (elected, recalled, resigned).
fn expected_key(announcement: &Announcement) -> (Subject, (u64, u8)) {
    match announcement {
        Announcement::Left { id } => (Subject::Member(id.name().clone()), (id.generation(), 0)),
        Announcement::ForceLeft {
            name, generation, ..
        } => (Subject::Member(name.clone()), (*generation, 0)),
        Announcement::Elected { role, term, .. } => (Subject::Role(role.clone()), (term.get(), 0)),
        Announcement::Recalled { role, term } => (Subject::Role(role.clone()), (term.get(), 1)),
        Announcement::Resigned { role, term, .. } => (Subject::Role(role.clone()), (term.get(), 2)),
    }
}

/// Announcements drawn from a handful of names, generations and terms, so that two of
/// them often share a subject, and a member and a role often share a name.
fn crowded_announcement() -> impl Strategy<Value = Announcement> {
    let text = || prop::sample::select(vec!["x", "y", "scheduler"]);
    let number = || prop_oneof![0u64..3, Just(u64::MAX)];
    let node = move || text().prop_map(name);
    let role_of = move || text().prop_map(role);
    prop_oneof![
        (node(), number()).prop_map(|(n, generation)| Announcement::Left {
            id: NodeId::new(n, SocketAddr::from(([10, 0, 0, 2], 7000)), generation),
        }),
        (node(), number(), node()).prop_map(|(name, generation, by)| Announcement::ForceLeft {
            name,
            generation,
            by
        }),
        (role_of(), node(), number()).prop_map(|(role, holder, term)| Announcement::Elected {
            role,
            holder,
            term: LamportTime(term)
        }),
        (role_of(), number()).prop_map(|(role, term)| Announcement::Recalled {
            role,
            term: LamportTime(term)
        }),
        (role_of(), node(), number()).prop_map(|(role, holder, term)| Announcement::Resigned {
            role,
            holder,
            term: LamportTime(term)
        }),
    ]
}

proptest! {
    #[test]
    fn an_announcement_key_names_its_subject_and_version(announcement in announcement()) {
        let key = announcement.key();
        let (subject, version) = expected_key(&announcement);
        prop_assert_eq!(key.subject(), &subject);
        prop_assert_eq!(key.version(), version);
        prop_assert!(key.invalidates(&key), "an announcement replaces an equal one");
    }

    #[test]
    fn only_newer_or_equal_news_of_the_same_subject_invalidates(
        a in crowded_announcement(),
        b in crowded_announcement(),
    ) {
        let (a_subject, a_version) = expected_key(&a);
        let (b_subject, b_version) = expected_key(&b);
        let same = a_subject == b_subject;
        let (a_key, b_key) = (a.key(), b.key());
        prop_assert_eq!(
            a_key.invalidates(&b_key),
            same && a_version >= b_version,
            "{:?} over {:?}", a, b
        );
        // Of two announcements about the same subject, the newer one wins; both win
        // only when they are equally new.
        prop_assert_eq!(
            a_key.invalidates(&b_key) || b_key.invalidates(&a_key),
            same
        );
        prop_assert_eq!(
            a_key.invalidates(&b_key) && b_key.invalidates(&a_key),
            same && a_version == b_version
        );
        prop_assert_eq!(a_key == b_key, same && a_version == b_version);
    }
}

#[test]
fn role_announcements_order_by_term_then_step() {
    let r = role("scheduler");
    let elected = |holder: &str, term: u64| Announcement::Elected {
        role: r.clone(),
        holder: name(holder),
        term: LamportTime(term),
    };
    let recalled = |term: u64| Announcement::Recalled {
        role: r.clone(),
        term: LamportTime(term),
    };
    let resigned = |holder: &str, term: u64| Announcement::Resigned {
        role: r.clone(),
        holder: name(holder),
        term: LamportTime(term),
    };
    // From oldest to newest news.
    let history = [
        elected("a", 0),
        recalled(0),
        resigned("a", 0),
        elected("b", 1),
        recalled(1),
        resigned("b", 1),
        elected("a", 2),
        resigned("a", 2),
        elected("c", u64::MAX - 1),
        elected("c", u64::MAX),
        recalled(u64::MAX),
        resigned("c", u64::MAX),
    ];
    for (i, newer) in history.iter().enumerate() {
        for (j, older) in history.iter().enumerate() {
            let (newer_key, older_key) = (newer.key(), older.key());
            assert_eq!(newer_key.subject(), &Subject::Role(r.clone()));
            assert_eq!(
                newer_key.version().cmp(&older_key.version()),
                i.cmp(&j),
                "{newer:?} against {older:?}"
            );
            assert_eq!(
                newer_key.invalidates(&older_key),
                i >= j,
                "{newer:?} over {older:?}"
            );
        }
    }
    // Who won or resigned is not part of the version: two reports of the same step of
    // the same term replace each other.
    assert_eq!(elected("a", 5).key(), elected("b", 5).key());
    assert!(elected("a", 5).key().invalidates(&elected("b", 5).key()));
    assert!(resigned("a", 5).key().invalidates(&resigned("b", 5).key()));
}

#[test]
fn different_subjects_never_invalidate_each_other() {
    let newest = [
        Announcement::Elected {
            role: role("scheduler"),
            holder: name("scheduler"),
            term: LamportTime(u64::MAX),
        },
        Announcement::Recalled {
            role: role("scheduler"),
            term: LamportTime(u64::MAX),
        },
        Announcement::Resigned {
            role: role("scheduler"),
            holder: name("scheduler"),
            term: LamportTime(u64::MAX),
        },
    ];
    let oldest = [
        // The same text, but a member.
        Announcement::Left {
            id: id("scheduler", 1, 0),
        },
        Announcement::ForceLeft {
            name: name("scheduler"),
            generation: 0,
            by: name("scheduler"),
        },
        // Another role.
        Announcement::Elected {
            role: role("compactor"),
            holder: name("scheduler"),
            term: LamportTime::ZERO,
        },
        Announcement::Recalled {
            role: role("Scheduler"),
            term: LamportTime::ZERO,
        },
        Announcement::Resigned {
            role: role("scheduler-2"),
            holder: name("scheduler"),
            term: LamportTime::ZERO,
        },
    ];
    for a in &newest {
        for b in &oldest {
            assert!(!a.key().invalidates(&b.key()), "{a:?} over {b:?}");
            assert!(!b.key().invalidates(&a.key()), "{b:?} over {a:?}");
            assert_ne!(a.key().subject(), b.key().subject());
        }
    }
    // A member and a role with the same text are different subjects.
    assert_ne!(
        Subject::Member(name("scheduler")),
        Subject::Role(role("scheduler"))
    );
}

#[test]
fn every_announcement_travels_in_a_swim_packet() {
    let header = Header {
        src: id("a", 1, 1),
        src_incarnation: 0,
        dst: id("b", 2, 1),
        message: Message::Gossip,
    };
    let members = [Member::new(id("c", 3, 1), 0, State::Alive)];
    let broadcasts = every_announcement();
    let packet = swim_packet(&header, &members, &broadcasts);
    assert_eq!(wire::check_swim_packet(&packet.bytes).map(drop), Ok(()));
    assert_eq!(
        parse_swim_packet(&packet.bytes),
        ParsedPacket {
            header,
            members: members.to_vec(),
            broadcasts,
        }
    );
}

// ---------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn an_envelope_round_trips(
        kind in kind(),
        body in prop::collection::vec(any::<u8>(), 0..300),
        stale in prop::collection::vec(any::<u8>(), 0..10),
    ) {
        // `write_envelope` starts the datagram afresh, whatever the buffer held.
        let mut datagram = stale;
        wire::write_envelope(kind, &mut datagram);
        prop_assert_eq!(datagram.len(), ENVELOPE_LEN);
        prop_assert_eq!(&datagram[..2], &wire::MAGIC[..]);
        prop_assert_eq!(datagram[2], wire::VERSION);
        prop_assert_eq!(usize::from(datagram[3]), kind_variant(kind));
        datagram.extend_from_slice(&body);
        let len = datagram.len();
        prop_assert_eq!(wire::open(&datagram, len), Ok((kind, &body[..])));
        prop_assert_eq!(
            wire::open(&datagram, len - 1),
            Err(WireError::Oversized { len, max: len - 1 })
        );
    }

    #[test]
    fn opening_any_bytes_returns_a_verdict(
        bytes in prop::collection::vec(any::<u8>(), 0..16),
        max_len in 0usize..32,
    ) {
        match wire::open(&bytes, max_len) {
            Ok((kind, body)) => {
                prop_assert!(bytes.len() <= max_len);
                prop_assert_eq!(&bytes[..2], &wire::MAGIC[..]);
                prop_assert_eq!(bytes[2], wire::VERSION);
                prop_assert_eq!(usize::from(bytes[3]), kind_variant(kind));
                prop_assert_eq!(body, &bytes[ENVELOPE_LEN..]);
            }
            Err(WireError::Oversized { len, max }) => {
                prop_assert_eq!((len, max), (bytes.len(), max_len));
                prop_assert!(len > max);
            }
            Err(WireError::TooShort { len }) => prop_assert!(len < ENVELOPE_LEN),
            Err(WireError::BadMagic) => prop_assert_ne!(&bytes[..2], &wire::MAGIC[..]),
            Err(WireError::UnsupportedVersion { version }) => {
                prop_assert_eq!(version, bytes[2]);
                prop_assert_ne!(version, wire::VERSION);
            }
            Err(WireError::UnknownKind { kind }) => {
                prop_assert_eq!(kind, bytes[3]);
                prop_assert!(kind > 1);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// foca's headers and members through FocaCodec
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_foca_header_round_trips(header in header(), tail in trailing()) {
        let mut codec = FocaCodec::default();
        let mut vec = Vec::new();
        codec.encode_header(&header, &mut vec).expect("encodes into a Vec");
        let mut bytes_mut = BytesMut::new();
        codec.encode_header(&header, &mut bytes_mut).expect("encodes into a BytesMut");
        prop_assert_eq!(&bytes_mut[..], &vec[..]);
        prop_assert_eq!(&vec, &encode(&header));

        vec.extend_from_slice(&tail);
        let mut slice = &vec[..];
        let back = codec.decode_header(&mut slice);
        prop_assert_eq!(back.as_ref(), Ok(&header));
        prop_assert_eq!(slice, &tail[..], "the decoder must stop exactly after the header");

        let mut bytes = Bytes::from(vec);
        prop_assert_eq!(codec.decode_header(&mut bytes), Ok(header));
        prop_assert_eq!(&bytes[..], &tail[..]);
    }

    #[test]
    fn a_foca_member_round_trips(member in member(), tail in trailing()) {
        let mut codec = FocaCodec::default();
        let mut vec = Vec::new();
        codec.encode_member(&member, &mut vec).expect("encodes into a Vec");
        let mut bytes_mut = BytesMut::new();
        codec.encode_member(&member, &mut bytes_mut).expect("encodes into a BytesMut");
        prop_assert_eq!(&bytes_mut[..], &vec[..]);
        prop_assert_eq!(&vec, &encode(&member));

        vec.extend_from_slice(&tail);
        let mut slice = &vec[..];
        let back = codec.decode_member(&mut slice).expect("decodes");
        prop_assert_eq!(slice, &tail[..], "the decoder must stop exactly after the member");
        prop_assert_eq!(back.id(), member.id());
        prop_assert_eq!(back.incarnation(), member.incarnation());
        prop_assert_eq!(back.state(), member.state());
        prop_assert_eq!(back, member);
    }

    #[test]
    fn a_header_or_member_with_an_invalid_name_is_refused(
        header in header(),
        bad in invalid_name_string(),
        incarnation in any::<u16>(),
        state in foca_state(),
    ) {
        let mut codec = FocaCodec::default();
        let mut src = raw_id(&header.src);
        src.name = bad;
        let raw = Header {
            src: src.clone(),
            src_incarnation: header.src_incarnation,
            dst: raw_id(&header.dst),
            message: Message::<RawId>::Gossip,
        };
        let bytes = encode(&raw);
        let mut slice = &bytes[..];
        prop_assert!(codec.decode_header(&mut slice).is_err());
        prop_assert_eq!(slice.len(), bytes.len(), "a failed decode consumes nothing");

        let bytes = encode(&Member::new(src, incarnation, state));
        let mut slice = &bytes[..];
        prop_assert!(codec.decode_member(&mut slice).is_err());
        prop_assert_eq!(slice.len(), bytes.len(), "a failed decode consumes nothing");
    }

    #[test]
    fn encoding_into_a_buffer_too_small_fails_and_writes_nothing(
        header in header(),
        member in member(),
        shortfall in any::<prop::sample::Index>(),
    ) {
        let encoded = header_bytes(&header);
        let size = shortfall.index(encoded.len());
        check_no_room(encoded.len(), size, |codec, buf| codec.encode_header(&header, buf))?;
        check_exact_fit(&encoded, |codec, buf| codec.encode_header(&header, buf))?;

        let encoded = member_bytes(&member);
        let size = shortfall.index(encoded.len());
        check_no_room(encoded.len(), size, |codec, buf| codec.encode_member(&member, buf))?;
        check_exact_fit(&encoded, |codec, buf| codec.encode_member(&member, buf))?;

        // foca itself writes into a `Vec` behind `BufMut::limit`.
        let mut limited = Vec::new().limit(size);
        let result = FocaCodec::default().encode_member(&member, &mut limited);
        prop_assert_eq!(
            result,
            Err(WireError::NoRoom { needed: encoded.len(), available: size })
        );
        prop_assert!(limited.into_inner().is_empty());
    }
}

/// Encodes into a slice of `size` bytes (less than `needed`), which must fail without
/// writing to the slice or advancing it.
fn check_no_room(
    needed: usize,
    size: usize,
    mut encode: impl FnMut(&mut FocaCodec, &mut &mut [u8]) -> Result<(), WireError>,
) -> Result<(), TestCaseError> {
    const CANARY: u8 = 0xA5;
    let mut storage = vec![CANARY; size];
    let mut window: &mut [u8] = &mut storage[..];
    let result = encode(&mut FocaCodec::default(), &mut window);
    let left = window.len();
    prop_assert_eq!(
        result,
        Err(WireError::NoRoom {
            needed,
            available: size
        })
    );
    prop_assert_eq!(left, size, "the buffer must not advance");
    prop_assert!(
        storage.iter().all(|&b| b == CANARY),
        "the buffer must not be written"
    );
    Ok(())
}

/// Encodes into a slice of exactly the encoded length, which must succeed and fill it.
fn check_exact_fit(
    expected: &[u8],
    mut encode: impl FnMut(&mut FocaCodec, &mut &mut [u8]) -> Result<(), WireError>,
) -> Result<(), TestCaseError> {
    let mut storage = vec![0; expected.len()];
    let mut window: &mut [u8] = &mut storage[..];
    prop_assert_eq!(encode(&mut FocaCodec::default(), &mut window), Ok(()));
    prop_assert!(window.is_empty());
    prop_assert_eq!(&storage[..], expected);
    Ok(())
}

#[test]
fn every_size_below_the_encoding_is_refused() {
    let (a, b) = (id("a", 1, 1), id("b", 2, u64::MAX));
    for message in every_message(&b, 7) {
        let header = Header {
            src: a.clone(),
            src_incarnation: 3,
            dst: b.clone(),
            message,
        };
        let encoded = header_bytes(&header);
        for size in 0..encoded.len() {
            check_no_room(encoded.len(), size, |codec, buf| {
                codec.encode_header(&header, buf)
            })
            .expect("refused");
        }
        check_exact_fit(&encoded, |codec, buf| codec.encode_header(&header, buf)).expect("fits");
    }
    for state in EVERY_STATE {
        let member = Member::new(b.clone(), u16::MAX, state);
        let encoded = member_bytes(&member);
        for size in 0..encoded.len() {
            check_no_room(encoded.len(), size, |codec, buf| {
                codec.encode_member(&member, buf)
            })
            .expect("refused");
        }
        check_exact_fit(&encoded, |codec, buf| codec.encode_member(&member, buf)).expect("fits");
    }
}

#[test]
fn every_foca_message_and_state_round_trips() {
    let mut codec = FocaCodec::default();
    let (a, b) = (id("a", 1, 1), id("b", 2, u64::MAX));
    for message in every_message(&b, 200) {
        let header = Header {
            src: a.clone(),
            src_incarnation: u16::MAX,
            dst: b.clone(),
            message,
        };
        let bytes = header_bytes(&header);
        let mut slice = &bytes[..];
        assert_eq!(codec.decode_header(&mut slice), Ok(header));
        assert!(slice.is_empty());
    }
    let mut states = Vec::new();
    for state in EVERY_STATE {
        states.push(state_variant(state));
        let member = Member::new(b.clone(), 9, state);
        let bytes = member_bytes(&member);
        let mut slice = &bytes[..];
        assert_eq!(codec.decode_member(&mut slice), Ok(member));
        assert!(slice.is_empty());
    }
    assert_eq!(states, [0, 1, 2]);
}

// ---------------------------------------------------------------------------------------
// Whole SWIM packets
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_whole_swim_packet_passes_the_check(
        header in header(),
        members in prop::collection::vec(member(), 0..6),
        broadcasts in prop::collection::vec(announcement(), 0..4),
        extra in any::<u8>(),
    ) {
        let packet = swim_packet(&header, &members, &broadcasts);
        prop_assert_eq!(wire::check_swim_packet(&packet.bytes).map(drop), Ok(()));

        let parsed = parse_swim_packet(&packet.bytes);
        let expected = ParsedPacket {
            header: header.clone(),
            members: if needs_piggyback(&header.message) { members } else { Vec::new() },
            broadcasts: if allows_custom_broadcasts(&header.message) {
                broadcasts
            } else {
                Vec::new()
            },
        };
        prop_assert_eq!(parsed, expected);

        // One stray byte more is refused, whatever the packet ends with.
        let mut longer = packet.bytes.clone();
        longer.push(extra);
        prop_assert!(wire::check_swim_packet(&longer).is_err());

        // A cut is refused unless it falls between whole items.
        for cut in 0..packet.bytes.len() {
            let verdict = wire::check_swim_packet(&packet.bytes[..cut]).map(drop);
            if packet.clean_cuts.contains(&cut) {
                prop_assert_eq!(verdict, Ok(()), "cut at {}", cut);
            } else {
                prop_assert!(verdict.is_err(), "cut at {} accepted", cut);
            }
        }
    }

    #[test]
    fn a_packet_with_a_bad_broadcast_is_refused(
        header in header(),
        members in prop::collection::vec(member(), 0..3),
        broadcasts in prop::collection::vec(announcement(), 1..3),
        garbage in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        prop_assume!(allows_custom_broadcasts(&header.message));
        prop_assume!(wire::decode_announcement(&garbage).is_err());
        let mut packet = swim_packet(&header, &members, &broadcasts).bytes;
        packet.put_u16(u16::try_from(garbage.len()).expect("short"));
        packet.extend_from_slice(&garbage);
        prop_assert!(wire::check_swim_packet(&packet).is_err());
    }
}

#[test]
fn a_packet_claiming_more_members_than_it_holds_is_refused() {
    let header = Header {
        src: id("a", 1, 1),
        src_incarnation: 0,
        dst: id("b", 2, 1),
        message: Message::Gossip,
    };
    let member = Member::new(id("c", 3, 1), 0, State::Alive);
    for count in [2, 0xFFFF] {
        let mut packet = header_bytes(&header);
        packet.put_u16(count);
        packet.extend_from_slice(&member_bytes(&member));
        assert!(matches!(
            wire::check_swim_packet(&packet),
            Err(WireError::Malformed { .. })
        ));
    }
}

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
