//! The inputs: random bytes, random bodies and mutated valid datagrams.

use polity::wire::{self, Kind};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::datagrams::Valid;
use crate::helpers::MAX_DATAGRAM;

// bincode 2 varint markers: the value follows in the next 2, 4, 8 or 16 bytes.
const VARINT_U16: u8 = 251;
const VARINT_U32: u8 = 252;
const VARINT_U64: u8 = 253;
const VARINT_U128: u8 = 254;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Random bytes of random length.
    Random,
    /// A valid envelope followed by random bytes.
    RandomBody,
    /// A valid datagram, mutated.
    Mutated,
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes[..]);
    bytes
}

fn huge_varint(rng: &mut StdRng) -> Vec<u8> {
    match rng.random_range(0..5) {
        0 => vec![VARINT_U16, 0xFF, 0xFF],
        1 => vec![VARINT_U32, 0xFF, 0xFF, 0xFF, 0xFF],
        2 => {
            let mut v = vec![VARINT_U64];
            v.extend_from_slice(&u64::MAX.to_le_bytes());
            v
        }
        3 => {
            let mut v = vec![VARINT_U128];
            v.extend_from_slice(&u128::MAX.to_le_bytes());
            v
        }
        _ => vec![rng.random_range(VARINT_U16..=0xFF)],
    }
}

/// Applies one to four mutations to a copy of a valid datagram.
fn mutate(rng: &mut StdRng, corpus: &[Valid]) -> Vec<u8> {
    let valid = &corpus[rng.random_range(0..corpus.len())];
    let mut bytes = valid.bytes.clone();
    let rounds = match rng.random_range(0..20) {
        0..12 => 1,
        12..17 => 2,
        _ => rng.random_range(3..=4),
    };
    for _ in 0..rounds {
        let len = bytes.len();
        match rng.random_range(0..12) {
            // Flip one bit.
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            // Replace a byte.
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                bytes[at] = rng.random();
            }
            // Truncate.
            2 => bytes.truncate(rng.random_range(0..=len)),
            // Extend with random bytes.
            3 => {
                let extra = rng.random_range(1..64);
                bytes.extend(random_bytes(rng, extra));
            }
            // Splice with another datagram.
            4 => {
                let other = &corpus[rng.random_range(0..corpus.len())].bytes;
                let keep = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                bytes.truncate(keep);
                bytes.extend_from_slice(&other[from..]);
            }
            // Insert random bytes.
            5 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..16);
                let insert = random_bytes(rng, n);
                bytes.splice(at..at, insert);
            }
            // Delete a range.
            6 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = rng.random_range(at..=len.min(at + 16));
                bytes.drain(at..end);
            }
            // A huge or bad count or length where one is.
            7 => {
                let at = match valid.u16s.is_empty() {
                    true => rng.random_range(0..=len.saturating_sub(2)),
                    false => valid.u16s[rng.random_range(0..valid.u16s.len())],
                };
                let value: u16 = match rng.random_range(0..5) {
                    0 => 0xFFFF,
                    1 => 0,
                    2 => 1,
                    3 => 0x8000,
                    _ => rng.random(),
                };
                if at + 2 <= len {
                    bytes[at..at + 2].copy_from_slice(&value.to_be_bytes());
                }
            }
            // A huge varint where a length, tag or integer is.
            8 => {
                let at = match valid.varints.is_empty() || rng.random_bool(0.2) {
                    true => rng.random_range(0..=len),
                    false => valid.varints[rng.random_range(0..valid.varints.len())],
                };
                if at <= len {
                    let end = (at + usize::from(rng.random_bool(0.8))).min(len);
                    let huge = huge_varint(rng);
                    bytes.splice(at..end, huge);
                }
            }
            // Repeat a chunk.
            9 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = rng.random_range(at..=len);
                let chunk = bytes[at..end].to_vec();
                bytes.splice(end..end, chunk);
            }
            // Swap the kind, so a SWIM body is read as a polity message and back.
            10 if len > wire::ENVELOPE_LEN => bytes[3] ^= 1,
            // Pad to around the size limits.
            11 => {
                let target = MAX_DATAGRAM + rng.random_range(0..3) - 1 - rng.random_range(0..60);
                if target > len {
                    bytes.extend(random_bytes(rng, target - len));
                }
            }
            _ => {}
        }
    }
    bytes
}

pub(crate) fn generate(rng: &mut StdRng, corpus: &[Valid]) -> (Origin, Vec<u8>) {
    match rng.random_range(0..100) {
        0..10 => {
            let len = rng.random_range(0..2000);
            (Origin::Random, random_bytes(rng, len))
        }
        10..20 => {
            let kind = if rng.random_bool(0.5) {
                Kind::Swim
            } else {
                Kind::Polity
            };
            let mut bytes = Vec::new();
            wire::write_envelope(kind, &mut bytes);
            let len = rng.random_range(0..200);
            bytes.extend(random_bytes(rng, len));
            (Origin::RandomBody, bytes)
        }
        _ => (Origin::Mutated, mutate(rng, corpus)),
    }
}
