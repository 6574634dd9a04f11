//! The wire format: every datagram is an envelope (magic, version, kind; see [`open`]) followed by
//! either a SWIM packet (encoded by [`FocaCodec`]) or a [`PolityMessage`].
//!
//! Every decode goes through one pair of helpers that cap what bincode
//! may allocate at [`DECODE_LIMIT`] bytes: a short datagram that claims a huge string or
//! list is refused instead of making the process allocate it.

mod envelope;
mod foca_codec;
mod message;
mod seal;

pub use envelope::{ENVELOPE_LEN, Kind, MAGIC, VERSION, open, write_envelope};
pub use foca_codec::{FocaCodec, check_swim_packet, indirect_subject};
pub use message::{
    Announcement, AnnouncementKey, Ballot, Body, KeyOp, PolityMessage, SetPart, Subject, Tenure,
    VoteReply,
};
pub use seal::{KEY_LEN, Key, Keyring, KeyringError, MAX_KEYS, NONCE_LEN, SEAL_VERSION};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The most any single decode may consume or allocate, in bytes. No datagram is larger.
pub const DECODE_LIMIT: usize = 65_536;

/// Bytes reserved below the datagram size for sealing (version, 24-byte nonce, 16-byte tag).
pub const SEAL_OVERHEAD: usize = 41;

/// The largest UDP payload over IPv4, in bytes.
pub const MAX_UDP_PAYLOAD: usize = 65_507;

/// Why bytes could not be decoded (or a value could not be encoded).
///
/// A datagram that fails to decode is dropped and counted; nothing else happens, so the
/// caller has nothing to undo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not sealed with a key of this node's keyring (or not sealed at all): a node of
    /// another cluster, or an outsider. Check that every node has the same keyring.
    #[error("not sealed with a key of this keyring")]
    Unsealed,
    /// Shorter than the envelope: not a polity datagram.
    #[error("datagram of {len} bytes is shorter than the {ENVELOPE_LEN}-byte envelope")]
    TooShort {
        /// Length received, in bytes.
        len: usize,
    },
    /// The first bytes are not polity's magic: another protocol, or garbage.
    #[error("datagram does not start with polity's magic bytes")]
    BadMagic,
    /// Sent by a polity version this one does not speak; upgrade the older node.
    #[error("protocol version {version} is not supported (this node speaks {VERSION})")]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The kind byte names no known payload.
    #[error("unknown payload kind {kind}")]
    UnknownKind {
        /// The kind byte received.
        kind: u8,
    },
    /// Larger than the configured datagram size.
    #[error("{len} bytes exceed the limit of {max}")]
    Oversized {
        /// Length received, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The payload does not parse.
    #[error("malformed payload: {reason}")]
    Malformed {
        /// What the decoder objected to.
        reason: String,
    },
    /// A value was encoded but bytes were left over after it.
    #[error("{extra} unexpected bytes after the payload")]
    TrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
    /// The output buffer cannot hold the encoded value.
    #[error("{needed} bytes do not fit in the {available} left in the packet")]
    NoRoom {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

fn malformed(error: impl std::fmt::Display) -> WireError {
    WireError::Malformed {
        reason: error.to_string(),
    }
}

/// Appends the bincode encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), WireError> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(drop)
        .map_err(malformed)
}

/// Decodes one value from the front of `bytes`; returns it and how many bytes it used.
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), WireError> {
    bincode::serde::decode_from_slice(bytes, config()).map_err(malformed)
}

/// Encodes `message` as the body of a [`Kind::Polity`] datagram; the datagram is the
/// envelope ([`write_envelope`]) followed by these bytes.
pub fn encode_message(message: &PolityMessage) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_into(message, &mut out)?;
    Ok(out)
}

/// Decodes the body of a [`Kind::Polity`] datagram as a node does on receipt: within
/// [`DECODE_LIMIT`], and refusing bytes left over after the message.
pub fn decode_message(body: &[u8]) -> Result<PolityMessage, WireError> {
    decode_exact(body)
}

/// Encodes `announcement` as one foca custom broadcast item (without the `u16` length
/// that precedes each item in a SWIM packet).
pub fn encode_announcement(announcement: &Announcement) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    encode_into(announcement, &mut out)?;
    Ok(out)
}

/// Decodes one foca custom broadcast item as a node does on receipt: within
/// [`DECODE_LIMIT`], and refusing bytes left over after the announcement.
pub fn decode_announcement(item: &[u8]) -> Result<Announcement, WireError> {
    decode_exact(item)
}

/// Decodes one value that must use every byte of `bytes`.
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let (value, used) = decode_prefix(bytes)?;
    match bytes.len() - used {
        0 => Ok(value),
        extra => Err(WireError::TrailingBytes { extra }),
    }
}
