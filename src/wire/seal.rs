//! Sealing: every datagram encrypted and authenticated with XChaCha20-Poly1305 under the
//! cluster's keyring, as `[seal version 1][nonce 24][ciphertext + tag 16]`, with the seal
//! version and the cluster label as associated data.
//!
//! The keyring's first key seals; every key is tried to open, so keys can be rotated as
//! serf does: install a new key everywhere, make it the primary, then remove the old one.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use super::WireError;

/// The byte in front of every sealed datagram.
pub const SEAL_VERSION: u8 = 1;

/// Length of a key, in bytes.
pub const KEY_LEN: usize = 32;

/// Length of a nonce, in bytes.
pub const NONCE_LEN: usize = 24;

/// The most keys a keyring holds.
pub const MAX_KEYS: usize = 16;

/// A 32-byte cluster key.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Key([u8; KEY_LEN]);

impl Key {
    /// A key from its bytes.
    pub fn new(bytes: [u8; KEY_LEN]) -> Self {
        Key(bytes)
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Key {
    /// Never prints the key itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Why a keyring change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum KeyringError {
    /// A keyring needs at least one key; to stop sealing, configure no keyring.
    #[error("a keyring needs at least one key")]
    Empty,
    /// Too many keys; remove old ones first.
    #[error("a keyring holds at most {MAX_KEYS} keys")]
    Full,
    /// The key is not in the keyring; install it first.
    #[error("the key is not in the keyring")]
    UnknownKey,
    /// The primary key cannot be removed; make another key primary first.
    #[error("the primary key cannot be removed; make another key primary first")]
    RemovingPrimary,
    /// The node has no keyring: it neither seals nor opens, and sealing can only be
    /// switched on at start (the agent's `--keyring`).
    #[error("this node does not seal datagrams; start it with a keyring")]
    NotSealed,
}

/// The keys a node seals and opens datagrams with; the first is the primary.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<Key>,
    ciphers: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyring({} keys)", self.keys.len())
    }
}

impl PartialEq for Keyring {
    fn eq(&self, other: &Self) -> bool {
        self.keys == other.keys
    }
}

impl Keyring {
    /// A keyring of `keys`, the first of them primary.
    pub fn new(keys: Vec<Key>) -> Result<Self, KeyringError> {
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        if keys.len() > MAX_KEYS {
            return Err(KeyringError::Full);
        }
        let ciphers = keys.iter().map(cipher).collect();
        Ok(Keyring { keys, ciphers })
    }

    /// The keys, primary first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Adds a key that opens datagrams; it seals only once made primary.
    pub fn install(&mut self, key: Key) -> Result<(), KeyringError> {
        if self.keys.contains(&key) {
            return Ok(());
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(KeyringError::Full);
        }
        self.ciphers.push(cipher(&key));
        self.keys.push(key);
        Ok(())
    }

    /// Makes an installed key the primary: it seals from now on.
    pub fn use_key(&mut self, key: &Key) -> Result<(), KeyringError> {
        let at = self.position(key)?;
        self.keys.swap(0, at);
        self.ciphers.swap(0, at);
        Ok(())
    }

    /// Removes a key that is not the primary. Removing a key that is not installed does
    /// nothing, so a removal can be repeated on nodes that missed it.
    pub fn remove(&mut self, key: &Key) -> Result<(), KeyringError> {
        match self.position(key) {
            Ok(0) => Err(KeyringError::RemovingPrimary),
            Ok(at) => {
                self.keys.remove(at);
                self.ciphers.remove(at);
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    fn position(&self, key: &Key) -> Result<usize, KeyringError> {
        self.keys
            .iter()
            .position(|k| k == key)
            .ok_or(KeyringError::UnknownKey)
    }

    /// Seals `plaintext` with the primary key and `nonce` into `out`, replacing its
    /// contents. The nonce must never repeat under a key: draw it from a CSPRNG.
    pub fn seal(&self, plaintext: &[u8], label: &[u8], nonce: [u8; NONCE_LEN], out: &mut Vec<u8>) {
        let aad = aad(label);
        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        out.clear();
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        // Encryption fails only for inputs of gigabytes; datagrams are small.
        if let Ok(ciphertext) = self.ciphers[0].encrypt(&XNonce::from(nonce), payload) {
            out.extend_from_slice(&ciphertext);
        }
    }

    /// Opens a sealed datagram with any key of the ring; unsealed, wrongly sealed or
    /// damaged datagrams are refused.
    pub fn open(&self, sealed: &[u8], label: &[u8]) -> Result<Vec<u8>, WireError> {
        let Some((&version, rest)) = sealed.split_first() else {
            return Err(WireError::Unsealed);
        };
        if version != SEAL_VERSION {
            return Err(WireError::Unsealed);
        }
        let Some((nonce, ciphertext)) = rest.split_first_chunk::<NONCE_LEN>() else {
            return Err(WireError::Unsealed);
        };
        let nonce = XNonce::from(*nonce);
        let aad = aad(label);
        self.ciphers
            .iter()
            .find_map(|cipher| {
                let payload = Payload {
                    msg: ciphertext,
                    aad: &aad,
                };
                cipher.decrypt(&nonce, payload).ok()
            })
            .ok_or(WireError::Unsealed)
    }
}

fn cipher(key: &Key) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key.bytes()).into())
}

fn aad(label: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + label.len());
    aad.push(SEAL_VERSION);
    aad.extend_from_slice(label);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> Key {
        Key::new([n; KEY_LEN])
    }

    #[test]
    fn sealed_datagrams_open_only_with_the_right_key_and_label() {
        let ring = Keyring::new(vec![key(1)]).unwrap();
        let mut sealed = Vec::new();
        ring.seal(b"hello", b"prod", [7; NONCE_LEN], &mut sealed);
        assert_eq!(sealed.len(), 5 + 1 + NONCE_LEN + 16);
        assert_eq!(ring.open(&sealed, b"prod"), Ok(b"hello".to_vec()));
        assert_eq!(ring.open(&sealed, b"test"), Err(WireError::Unsealed));
        let other = Keyring::new(vec![key(2)]).unwrap();
        assert_eq!(other.open(&sealed, b"prod"), Err(WireError::Unsealed));
        for i in 0..sealed.len() {
            let mut damaged = sealed.clone();
            damaged[i] ^= 1;
            assert_eq!(
                ring.open(&damaged, b"prod"),
                Err(WireError::Unsealed),
                "byte {i}"
            );
        }
        for cut in 0..sealed.len() {
            assert_eq!(ring.open(&sealed[..cut], b"prod"), Err(WireError::Unsealed));
        }
        assert_eq!(
            ring.open(b"PY\x01\x00plain", b"prod"),
            Err(WireError::Unsealed)
        );
    }

    #[test]
    fn keys_rotate_install_use_remove() {
        let mut ring = Keyring::new(vec![key(1)]).unwrap();
        let mut old = Vec::new();
        ring.seal(b"old", b"", [1; NONCE_LEN], &mut old);
        ring.install(key(2)).unwrap();
        ring.use_key(&key(2)).unwrap();
        assert_eq!(ring.remove(&key(2)), Err(KeyringError::RemovingPrimary));
        let mut new = Vec::new();
        ring.seal(b"new", b"", [2; NONCE_LEN], &mut new);
        assert_eq!(
            ring.open(&old, b""),
            Ok(b"old".to_vec()),
            "old key still opens"
        );
        ring.remove(&key(1)).unwrap();
        assert_eq!(
            ring.remove(&key(1)),
            Ok(()),
            "a repeated removal does nothing"
        );
        assert_eq!(ring.open(&old, b""), Err(WireError::Unsealed));
        assert_eq!(ring.open(&new, b""), Ok(b"new".to_vec()));
        assert_eq!(Keyring::new(vec![]), Err(KeyringError::Empty));
        assert_eq!(ring.use_key(&key(9)), Err(KeyringError::UnknownKey));
        assert_eq!(format!("{:?}", key(1)), "Key(..)");
    }
}
