//! polity's own messages: any input is refused or decoded without a panic, and a decoded
//! message encodes and decodes back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use polity::wire;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = wire::decode_message(data) {
        let out = wire::encode_message(&message).expect("a decoded message encodes");
        assert!(out.len() <= data.len(), "no encoding is shorter than ours");
        assert_eq!(wire::decode_message(&out).as_ref(), Ok(&message));
    }
});
