//! The codec, names and the variant indices of foca states and packet kinds the round
//! trips share.

use std::net::SocketAddr;

use foca::{Codec, Header, Member, State};
use polity::wire::{DECODE_LIMIT, FocaCodec, Kind};
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

pub(crate) fn state_variant(state: State) -> usize {
    match state {
        State::Alive => 0,
        State::Suspect => 1,
        State::Down => 2,
    }
}
pub(crate) const EVERY_STATE: [State; 3] = [State::Alive, State::Suspect, State::Down];

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
