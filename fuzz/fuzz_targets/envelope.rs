//! The first bytes a datagram meets: the seal and the envelope. Any input is refused or
//! opened without a panic, and what is sealed opens to itself.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use polity::wire::{self, KEY_LEN, Key, Keyring, MAX_UDP_PAYLOAD, NONCE_LEN};

/// Two keys, built once rather than for every input.
static KEYRING: LazyLock<Keyring> = LazyLock::new(|| {
    Keyring::new(vec![Key::new([1; KEY_LEN]), Key::new([2; KEY_LEN])]).expect("two keys")
});

fuzz_target!(|data: &[u8]| {
    let keyring = &*KEYRING;
    // As received: sealed with one of the keys, or not at all.
    if let Ok(plain) = keyring.open(data, b"fuzz") {
        let _ = wire::open(&plain, MAX_UDP_PAYLOAD);
    }
    if let Ok((_, body)) = wire::open(data, MAX_UDP_PAYLOAD) {
        assert!(body.len() + wire::ENVELOPE_LEN == data.len());
    }
    // As sent: sealing then opening gives the datagram back, and only under its label.
    let mut nonce = [0; NONCE_LEN];
    let n = data.len().min(NONCE_LEN);
    nonce[..n].copy_from_slice(&data[..n]);
    let mut sealed = Vec::new();
    keyring.seal(data, b"fuzz", nonce, &mut sealed);
    assert_eq!(keyring.open(&sealed, b"fuzz").as_deref(), Ok(data));
    assert!(keyring.open(&sealed, b"other").is_err());
});
