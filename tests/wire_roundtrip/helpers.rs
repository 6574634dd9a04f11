//! The codec, names and variant indices the round trips share.

use std::net::SocketAddr;

use foca::{Codec, Header, Member, Message, State};
use polity::wire::{Announcement, Body, DECODE_LIMIT, FocaCodec, Kind};
use polity::{NodeId, NodeName, RoleName};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The bincode configuration of `polity::wire`: standard, with the decode limit.
fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("encodes")
}

pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, bincode_config())
}

pub(crate) fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

pub(crate) fn id(s: &str, port: u16, generation: u64) -> NodeId {
    NodeId::new(name(s), SocketAddr::from(([10, 0, 0, 1], port)), generation)
}

pub(crate) fn role(s: &str) -> RoleName {
    RoleName::new(s).expect("valid role name")
}

/// The index of a `foca::Message` variant. The match is exhaustive, so a variant added
/// to foca fails to compile here until the tests cover it.
pub(crate) fn message_variant(message: &Message<NodeId>) -> usize {
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
pub(crate) const MESSAGE_VARIANTS: usize = 11;

/// Every `foca::Message` variant once.
pub(crate) fn every_message(other: &NodeId, probe_number: u8) -> Vec<Message<NodeId>> {
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

pub(crate) fn state_variant(state: State) -> usize {
    match state {
        State::Alive => 0,
        State::Suspect => 1,
        State::Down => 2,
    }
}
pub(crate) const EVERY_STATE: [State; 3] = [State::Alive, State::Suspect, State::Down];

/// The index of an `Announcement` variant. The match is exhaustive, so a new variant
/// fails to compile here until the tests cover it.
pub(crate) fn announcement_variant(announcement: &Announcement) -> usize {
    match announcement {
        Announcement::Left { .. } => 0,
        Announcement::ForceLeft { .. } => 1,
        Announcement::Elected { .. } => 2,
        Announcement::Recalled { .. } => 3,
        Announcement::Resigned { .. } => 4,
    }
}
pub(crate) const ANNOUNCEMENT_VARIANTS: usize = 5;

/// The index of a `Body` variant; exhaustive, like `announcement_variant`.
pub(crate) fn body_variant(body: &Body) -> usize {
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
pub(crate) const BODY_VARIANTS: usize = 13;

pub(crate) fn kind_variant(kind: Kind) -> usize {
    match kind {
        Kind::Swim => 0,
        Kind::Polity => 1,
    }
}
pub(crate) const EVERY_KIND: [Kind; 2] = [Kind::Swim, Kind::Polity];

/// Encodes `header` with `FocaCodec` into a fresh `Vec`.
pub(crate) fn header_bytes(header: &Header<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_header(header, &mut out)
        .expect("header encodes");
    out
}

/// Encodes `member` with `FocaCodec` into a fresh `Vec`.
pub(crate) fn member_bytes(member: &Member<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_member(member, &mut out)
        .expect("member encodes");
    out
}
