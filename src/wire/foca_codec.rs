//! foca's packets in bincode, and a check that a whole SWIM packet parses before foca
//! acts on any part of it.

use bytes::{Buf, BufMut};
use foca::{Header, Member, Message};

use super::{Announcement, WireError, decode_exact, decode_prefix, encode_into};
use crate::identity::NodeId;

/// A [`foca::Codec`] that writes headers and members with bincode 2, decoding with the
/// allocation limit of [`super::DECODE_LIMIT`].
#[derive(Debug, Default)]
pub struct FocaCodec {
    scratch: Vec<u8>,
}

impl FocaCodec {
    fn put<T: serde::Serialize>(
        &mut self,
        value: &T,
        mut buf: impl BufMut,
    ) -> Result<(), WireError> {
        self.scratch.clear();
        encode_into(value, &mut self.scratch)?;
        if buf.remaining_mut() < self.scratch.len() {
            return Err(WireError::NoRoom {
                needed: self.scratch.len(),
                available: buf.remaining_mut(),
            });
        }
        buf.put_slice(&self.scratch);
        Ok(())
    }
}

/// Decodes one value from a contiguous buffer and advances past it.
fn take<T: serde::de::DeserializeOwned>(mut buf: impl Buf) -> Result<T, WireError> {
    let (value, used) = decode_prefix(buf.chunk())?;
    buf.advance(used);
    Ok(value)
}

impl foca::Codec<NodeId> for FocaCodec {
    type Error = WireError;

    fn encode_header(
        &mut self,
        header: &Header<NodeId>,
        buf: impl BufMut,
    ) -> Result<(), WireError> {
        self.put(header, buf)
    }

    fn decode_header(&mut self, buf: impl Buf) -> Result<Header<NodeId>, WireError> {
        take(buf)
    }

    fn encode_member(
        &mut self,
        member: &Member<NodeId>,
        buf: impl BufMut,
    ) -> Result<(), WireError> {
        self.put(member, buf)
    }

    fn decode_member(&mut self, buf: impl Buf) -> Result<Member<NodeId>, WireError> {
        take(buf)
    }
}

/// Parses a whole SWIM packet, following foca 2's layout exactly (header; then, unless
/// it is a `Broadcast`, a big-endian `u16` count of member updates and the updates; then
/// custom broadcasts, each a `u16` length and an [`Announcement`]).
///
/// foca applies the updates of a packet before it reads the broadcasts behind them, so a
/// packet with a bad tail would change state and then fail. Checking it whole first
/// means a bad packet changes nothing. Returns the header, for checks of its own.
pub fn check_swim_packet(mut packet: &[u8]) -> Result<Header<NodeId>, WireError> {
    let malformed = |reason: &str| WireError::Malformed {
        reason: reason.to_owned(),
    };
    let header: Header<NodeId> = take(&mut packet)?;
    if packet.len() == 1 || (header.message == Message::Announce && !packet.is_empty()) {
        return Err(malformed("stray bytes after the SWIM header"));
    }
    if packet.len() >= 2 && header.message != Message::Broadcast {
        let updates = packet.get_u16();
        for _ in 0..updates {
            let _: Member<NodeId> = take(&mut packet)?;
        }
    }
    if !packet.is_empty() && packet.len() < 3 {
        return Err(malformed("truncated broadcast"));
    }
    while packet.len() > 2 {
        let len = usize::from(packet.get_u16());
        if len == 0 || packet.len() < len {
            return Err(malformed("broadcast length out of bounds"));
        }
        let _: Announcement = decode_exact(&packet[..len])?;
        packet.advance(len);
    }
    match packet.len() {
        0 => Ok(header),
        extra => Err(WireError::TrailingBytes { extra }),
    }
}

/// The identity an indirect-probe message asks the receiver to reach or vouch for.
///
/// foca refuses such a message when it names the receiver itself, but only after it has
/// applied the sender's liveness and updates; the core refuses it first instead.
pub fn indirect_subject(header: &Header<NodeId>) -> Option<&NodeId> {
    match &header.message {
        Message::PingReq { target, .. } | Message::IndirectAck { target, .. } => Some(target),
        Message::IndirectPing { origin, .. } | Message::ForwardedAck { origin, .. } => Some(origin),
        _ => None,
    }
}
