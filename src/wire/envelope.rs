//! The envelope in front of every datagram: `[magic 2][version 1][kind 1]`.

use super::WireError;

/// The two bytes every polity datagram starts with.
pub const MAGIC: [u8; 2] = *b"PY";

/// The protocol version this build speaks. Version 2 renews by held-set version
/// (`Body::RenewSet`), version 3 sends a held set's changes (`Body::RenewDelta`), version
/// 4 carries the value a holder publishes (`Announcement::Elected`, `Body::QueryReply`)
/// and member tags, version 5 lets a voter ask a holder for its announcement
/// (`Body::AskAnnouncement`), version 6 hands a role to a named node
/// (`Body::TransferOffer`, `Body::Release::transfer`); nodes of different versions refuse
/// each other's datagrams.
pub const VERSION: u8 = 6;

/// Length of the envelope, in bytes.
pub const ENVELOPE_LEN: usize = 4;

/// What follows the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SWIM packet for foca.
    Swim = 0,
    /// A [`super::PolityMessage`].
    Polity = 1,
}

/// Starts a datagram: writes the envelope for `kind` into an empty buffer.
pub fn write_envelope(kind: Kind, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind as u8);
}

/// Checks the envelope of a received datagram of at most `max_len` bytes and returns
/// the kind and the body after it.
pub fn open(datagram: &[u8], max_len: usize) -> Result<(Kind, &[u8]), WireError> {
    if datagram.len() > max_len {
        return Err(WireError::Oversized {
            len: datagram.len(),
            max: max_len,
        });
    }
    let Some((header, body)) = datagram.split_first_chunk::<ENVELOPE_LEN>() else {
        return Err(WireError::TooShort {
            len: datagram.len(),
        });
    };
    let [m0, m1, version, kind] = *header;
    if [m0, m1] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if version != VERSION {
        return Err(WireError::UnsupportedVersion { version });
    }
    let kind = match kind {
        0 => Kind::Swim,
        1 => Kind::Polity,
        kind => return Err(WireError::UnknownKind { kind }),
    };
    Ok((kind, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_round_trips() {
        for kind in [Kind::Swim, Kind::Polity] {
            let mut out = Vec::new();
            write_envelope(kind, &mut out);
            out.extend_from_slice(b"body");
            assert_eq!(open(&out, 1400), Ok((kind, &b"body"[..])));
        }
    }

    #[test]
    fn bad_envelopes_are_named() {
        assert_eq!(open(b"PY\x01", 1400), Err(WireError::TooShort { len: 3 }));
        assert_eq!(open(b"XY\x01\x00", 1400), Err(WireError::BadMagic));
        assert_eq!(
            open(b"PY\x05\x00", 1400),
            Err(WireError::UnsupportedVersion { version: 5 }),
            "an older version is refused"
        );
        assert_eq!(
            open(b"PY\x07\x00", 1400),
            Err(WireError::UnsupportedVersion { version: 7 })
        );
        assert_eq!(
            open(b"PY\x06\x09", 1400),
            Err(WireError::UnknownKind { kind: 9 })
        );
        assert_eq!(
            open(&[0; 10], 8),
            Err(WireError::Oversized { len: 10, max: 8 })
        );
    }
}
