//! foca's headers and members through `FocaCodec`.

use bytes::{BufMut, Bytes, BytesMut};
use foca::{Codec, Header, Member, Message};
use polity::wire::{FocaCodec, WireError};
use proptest::prelude::*;

use crate::helpers::{EVERY_STATE, encode, header_bytes, id, member_bytes, state_variant};
use crate::raw_types::{RawId, raw_id};
use crate::strategies::{foca_state, header, invalid_name_string, member, trailing};
use crate::wire_variants::every_message;

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
