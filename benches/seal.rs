//! Cost of sealing: XChaCha20-Poly1305 seal and open of one datagram with a
//! [`polity::wire::Keyring`], in datagrams per second on one core.
//!
//! `cargo bench --bench seal`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use polity::wire::{KEY_LEN, Key, Keyring, NONCE_LEN};

const LABEL: &[u8] = b"prod-eu-1";

fn sealing(c: &mut Criterion) {
    let ring = Keyring::new(vec![Key::new([7; KEY_LEN])]).expect("one key");
    // A ring mid-rotation: datagrams sealed with the newest key, which is tried last.
    let mut rotating = Keyring::new(vec![Key::new([1; KEY_LEN])]).expect("one key");
    rotating.install(Key::new([2; KEY_LEN])).expect("room");
    rotating.install(Key::new([7; KEY_LEN])).expect("room");
    let mut group = c.benchmark_group("seal");
    group.throughput(Throughput::Elements(1));
    for size in [200usize, 1400] {
        let plaintext: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut out = Vec::with_capacity(size + 64);
        let mut nonce = [0u8; NONCE_LEN];
        let mut counter = 0u64;
        group.bench_function(format!("seal {size} bytes"), |b| {
            b.iter(|| {
                // A fresh nonce per datagram, as the node draws one; the counter keeps
                // the bench free of the generator's cost.
                counter += 1;
                nonce[..8].copy_from_slice(&counter.to_le_bytes());
                ring.seal(black_box(&plaintext), LABEL, nonce, &mut out);
                black_box(out.len())
            });
        });
        let mut sealed = Vec::new();
        ring.seal(&plaintext, LABEL, [9; NONCE_LEN], &mut sealed);
        group.bench_function(format!("open {size} bytes"), |b| {
            b.iter(|| ring.open(black_box(&sealed), LABEL).expect("opens"));
        });
        group.bench_function(format!("open {size} bytes, third key of three"), |b| {
            b.iter(|| rotating.open(black_box(&sealed), LABEL).expect("opens"));
        });
    }
    group.finish();
}

criterion_group!(benches, sealing);
criterion_main!(benches);
