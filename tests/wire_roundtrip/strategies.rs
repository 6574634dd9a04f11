//! proptest strategies for every wire type, valid names and invalid ones.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use foca::{Header, Member, Message, State};
use polity::wire::{
    Announcement, Ballot, Body, KEY_LEN, Key, KeyOp, KeyringError, Kind, MAX_KEYS, PolityMessage,
    SetPart, Tenure, VoteReply,
};
use polity::{LamportTime, MAX_ROLE_VALUE_LEN, NodeId, NodeName, RoleName, RoleValue, Tags};
use proptest::prelude::*;

use crate::helpers::{EVERY_KIND, EVERY_STATE};

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

pub(crate) fn node_name() -> impl Strategy<Value = NodeName> {
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
pub(crate) fn invalid_name_string() -> impl Strategy<Value = String> {
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

/// A value: empty, short text, or any bytes up to the longest allowed.
pub(crate) fn role_value() -> impl Strategy<Value = RoleValue> {
    prop_oneof![
        Just(RoleValue::EMPTY),
        "[a-z0-9.:]{1,32}".prop_map(|text| RoleValue::new(text).expect("short")),
        prop::collection::vec(any::<u8>(), 0..=MAX_ROLE_VALUE_LEN)
            .prop_map(|bytes| RoleValue::new(bytes).expect("within the limit")),
    ]
}

pub(crate) fn role_name() -> impl Strategy<Value = RoleName> {
    valid_role_string().prop_map(|s| RoleName::new(s).expect("generated role names are valid"))
}

/// Strings `RoleName` refuses: empty, longer than 128 bytes, or holding a bad character.
pub(crate) fn invalid_role_string() -> impl Strategy<Value = String> {
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
pub(crate) fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
    ]
}

pub(crate) fn node_id() -> impl Strategy<Value = NodeId> {
    (node_name(), socket_addr(), any::<u64>())
        .prop_map(|(name, addr, generation)| NodeId::new(name, addr, generation))
}

pub(crate) fn lamport_time() -> impl Strategy<Value = LamportTime> {
    prop_oneof![
        Just(LamportTime::ZERO),
        Just(LamportTime(u64::MAX)),
        any::<u64>().prop_map(LamportTime),
    ]
}

pub(crate) fn ballot() -> impl Strategy<Value = Ballot> {
    (lamport_time(), node_name()).prop_map(|(term, candidate)| Ballot { term, candidate })
}

pub(crate) fn tenure() -> impl Strategy<Value = Tenure> {
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

pub(crate) fn vote_reply() -> impl Strategy<Value = VoteReply> {
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

/// Tags within the rules: up to four keys of `[a-z0-9.:/_-]`, printable values, the
/// pairs that would pass the size limit kept.
fn tags() -> impl Strategy<Value = Tags> {
    prop::collection::btree_map("[a-z0-9.:/_-]{1,16}", "[ -~]{0,64}", 0..4).prop_map(|map| {
        let mut tags = Tags::new();
        for (key, value) in map {
            let _ = tags.insert(key, value);
        }
        tags
    })
}

pub(crate) fn announcement() -> impl Strategy<Value = Announcement> {
    prop_oneof![
        node_id().prop_map(|id| Announcement::Left { id }),
        (node_name(), any::<u64>(), node_name()).prop_map(|(name, generation, by)| {
            Announcement::ForceLeft {
                name,
                generation,
                by,
            }
        }),
        (
            role_name(),
            node_name(),
            lamport_time(),
            wide_u64(),
            role_value()
        )
            .prop_map(
                |(role, holder, term, version, value)| Announcement::Elected {
                    role,
                    holder,
                    term,
                    version,
                    value
                }
            ),
        (role_name(), lamport_time())
            .prop_map(|(role, term)| Announcement::Recalled { role, term }),
        (role_name(), node_name(), lamport_time())
            .prop_map(|(role, holder, term)| Announcement::Resigned { role, holder, term }),
        (node_id(), any::<u64>(), tags()).prop_map(|(id, version, tags)| Announcement::Tags {
            id,
            version,
            tags
        }),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        announcement().prop_map(Body::Announce),
        (role_name(), lamport_time(), any::<u32>()).prop_map(|(role, term, priority)| {
            Body::VoteRequest {
                role,
                term,
                priority,
            }
        }),
        vote_reply().prop_map(Body::VoteReply),
        (
            wide_u64(),
            (wide_u64(), wide_u32(), wide_u32()),
            prop::collection::vec((role_name(), lamport_time()), 0..8)
        )
            .prop_map(|(round, (version, chunk, chunks), leases)| Body::Renew {
                round,
                part: SetPart {
                    version,
                    chunk,
                    chunks
                },
                leases
            }),
        (
            wide_u64(),
            wide_u32(),
            prop::collection::vec(lamport_time(), 0..8),
            prop::option::of(wide_u64())
        )
            .prop_map(|(round, population, acked, whole)| Body::RenewReply {
                round,
                population,
                acked,
                whole
            }),
        (wide_u64(), wide_u64()).prop_map(|(round, version)| Body::RenewSet { round, version }),
        (
            (wide_u64(), wide_u64()),
            (wide_u64(), wide_u32(), wide_u32()),
            prop::collection::vec((role_name(), prop::option::of(lamport_time())), 0..8)
        )
            .prop_map(|((round, from), (version, chunk, chunks), changes)| {
                Body::RenewDelta {
                    round,
                    from,
                    part: SetPart {
                        version,
                        chunk,
                        chunks,
                    },
                    changes,
                }
            }),
        (
            role_name(),
            lamport_time(),
            prop::option::of(node_name()),
            any::<bool>()
        )
            .prop_map(|(role, term, successor, transfer)| Body::Release {
                role,
                term,
                successor,
                transfer,
            }),
        (role_name(), lamport_time()).prop_map(|(role, term)| Body::Withdraw { role, term }),
        (role_name(), lamport_time()).prop_map(|(role, term)| Body::AskAnnouncement { role, term }),
        (role_name(), lamport_time()).prop_map(|(role, term)| Body::TransferOffer { role, term }),
        (role_name(), lamport_time(), any::<bool>()).prop_map(|(role, term, campaigning)| {
            Body::TransferReply {
                role,
                term,
                campaigning,
            }
        }),
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
            any::<bool>(),
            prop::option::of((wide_u64(), role_value()))
        )
            .prop_map(
                |(request, population, lease, recalled, value)| Body::QueryReply {
                    request,
                    population,
                    lease,
                    recalled,
                    value
                }
            ),
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

pub(crate) fn polity_message() -> impl Strategy<Value = PolityMessage> {
    (node_id(), lamport_time(), body()).prop_map(|(from, clock, body)| PolityMessage {
        from,
        clock,
        body,
    })
}

pub(crate) fn kind() -> impl Strategy<Value = Kind> {
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

pub(crate) fn header() -> impl Strategy<Value = Header<NodeId>> {
    (node_id(), any::<u16>(), node_id(), foca_message()).prop_map(
        |(src, src_incarnation, dst, message)| Header {
            src,
            src_incarnation,
            dst,
            message,
        },
    )
}

pub(crate) fn foca_state() -> impl Strategy<Value = State> {
    prop::sample::select(EVERY_STATE.to_vec())
}

pub(crate) fn member() -> impl Strategy<Value = Member<NodeId>> {
    (node_id(), any::<u16>(), foca_state())
        .prop_map(|(id, incarnation, state)| Member::new(id, incarnation, state))
}

pub(crate) fn trailing() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}
