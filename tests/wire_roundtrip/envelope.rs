//! The envelope: magic, version and kind ahead of every datagram.

use polity::wire::{self, ENVELOPE_LEN, WireError};
use proptest::prelude::*;

use crate::helpers::kind_variant;
use crate::strategies::kind;

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
