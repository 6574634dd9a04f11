//! Every decoder over a datagram and slices of it, and their verdict on the whole.

use bytes::Buf;
use foca::Codec;
use polity::wire::{self, FocaCodec, Kind, WireError};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::helpers::MAX_DATAGRAM;

/// What the decoders say of a whole datagram, as a node reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
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
pub(crate) fn run_decoders(bytes: &[u8], rng: &mut StdRng) -> Result<Verdict, String> {
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

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}
