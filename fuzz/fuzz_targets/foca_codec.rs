//! SWIM packets through polity's foca codec: the whole-packet check and each decoder
//! refuse any input without a panic, and what decodes encodes back to the same value.
#![no_main]

use foca::Codec;
use libfuzzer_sys::fuzz_target;
use polity::wire::{self, FocaCodec};

fuzz_target!(|data: &[u8]| {
    let _ = wire::check_swim_packet(data);
    let mut codec = FocaCodec::default();
    if let Ok(header) = codec.decode_header(&mut bytes::Bytes::copy_from_slice(data)) {
        let mut out = Vec::new();
        codec.encode_header(&header, &mut out).expect("a decoded header encodes");
        let again = codec.decode_header(&mut out.as_slice()).expect("and decodes");
        assert_eq!(again, header);
    }
    if let Ok(member) = codec.decode_member(&mut bytes::Bytes::copy_from_slice(data)) {
        let mut out = Vec::new();
        codec.encode_member(&member, &mut out).expect("a decoded member encodes");
        let again = codec.decode_member(&mut out.as_slice()).expect("and decodes");
        assert_eq!(again, member);
    }
    if let Ok(announcement) = wire::decode_announcement(data) {
        let out = wire::encode_announcement(&announcement).expect("an announcement encodes");
        assert_eq!(wire::decode_announcement(&out).as_ref(), Ok(&announcement));
    }
});
