//! Cost of the sans-IO core: datagrams handled per second in a steady cluster, and the
//! cost of encoding and decoding the wire format.
//!
//! `cargo bench --bench core`

use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use polity::wire::{self, Body, Kind, PolityMessage, SetPart};
use polity::{Config, Core, LamportTime, MemberStatus, NodeId, NodeName, RoleName, Startup};

/// Cores wired to one another in memory: datagrams arrive at once, time jumps to the next
/// deadline when nothing is in flight.
struct Cluster {
    cores: Vec<Core>,
    index: HashMap<SocketAddr, usize>,
    now: Instant,
    in_flight: VecDeque<(usize, SocketAddr, Vec<u8>)>,
    /// SWIM datagrams seen, kept for the decode benches.
    swim_samples: Vec<Vec<u8>>,
}

impl Cluster {
    fn new(n: usize) -> Self {
        let now = Instant::now();
        let addrs: Vec<SocketAddr> = (0..n)
            .map(|i| SocketAddr::from(([127, 0, 0, 1], 7000 + i as u16)))
            .collect();
        let cores = (0..n)
            .map(|i| {
                let name = NodeName::new(format!("n{i}")).expect("valid name");
                let mut config = Config::lan(name);
                config.bind = addrs[i];
                config.join = addrs.iter().copied().filter(|a| *a != addrs[i]).collect();
                let startup = Startup {
                    addr: addrs[i],
                    generation: 1,
                    rng_seed: i as u64 + 1,
                    clock_floor: 1,
                };
                let mut core = Core::new(config, startup, now).expect("valid config");
                core.join(now, &addrs[..1]);
                core
            })
            .collect();
        let mut cluster = Cluster {
            cores,
            index: addrs.iter().enumerate().map(|(i, a)| (*a, i)).collect(),
            now,
            in_flight: VecDeque::new(),
            swim_samples: Vec::new(),
        };
        for i in 0..n {
            cluster.drain(i);
        }
        cluster
    }

    /// Moves core `i`'s outputs into flight and drops its events and completions.
    fn drain(&mut self, i: usize) {
        let from = self.cores[i].id().addr();
        while let Some(t) = self.cores[i].poll_transmit() {
            if let Some(&to) = self.index.get(&t.to) {
                if self.swim_samples.len() < 64
                    && matches!(wire::open(&t.bytes, 65_507), Ok((Kind::Swim, _)))
                {
                    self.swim_samples.push(t.bytes.clone());
                }
                self.in_flight.push_back((to, from, t.bytes));
            }
        }
        while self.cores[i].poll_event().is_some() {}
        while self.cores[i].poll_completion().is_some() {}
    }

    /// Handles one datagram, first firing timers until one is in flight. Returns how
    /// much simulated time passed.
    fn step(&mut self) -> Duration {
        let before = self.now;
        while self.in_flight.is_empty() {
            let Some(next) = self.cores.iter().filter_map(Core::poll_timeout).min() else {
                return Duration::ZERO;
            };
            self.now = self.now.max(next);
            for i in 0..self.cores.len() {
                if self.cores[i].poll_timeout().is_some_and(|t| t <= self.now) {
                    self.cores[i].handle_timeout(self.now);
                    self.drain(i);
                }
            }
        }
        if let Some((to, from, bytes)) = self.in_flight.pop_front() {
            self.cores[to].handle_datagram(self.now, from, &bytes);
            self.drain(to);
        }
        self.now - before
    }

    fn run_for(&mut self, how_long: Duration) {
        let until = self.now + how_long;
        while self.now < until {
            self.step();
        }
    }

    fn converged(&self) -> bool {
        let n = self.cores.len();
        self.cores.iter().all(|c| {
            c.members()
                .iter()
                .filter(|m| m.status == MemberStatus::Alive)
                .count()
                == n
        })
    }
}

/// 5 nodes, every one holding 4 of 20 roles, renewing them.
fn steady_cluster() -> Cluster {
    let mut cluster = Cluster::new(5);
    while !cluster.converged() {
        cluster.run_for(Duration::from_millis(100));
    }
    cluster.run_for(Duration::from_secs(2));
    let now = cluster.now;
    for r in 0..20 {
        let role = RoleName::new(format!("role-{r}")).expect("valid role");
        cluster.cores[r % 5].campaign(now, role);
    }
    for i in 0..5 {
        cluster.drain(i);
    }
    cluster.run_for(Duration::from_secs(5));
    let held: usize = cluster.cores.iter().map(|c| c.held_roles().len()).sum();
    assert_eq!(held, 20, "every role is held before measuring");
    cluster
}

fn datagrams(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    group.throughput(Throughput::Elements(1));
    let mut cluster = steady_cluster();
    group.bench_function("datagram handled, 5 nodes, 20 roles held", |b| {
        b.iter_custom(|iters| {
            let started = Instant::now();
            for _ in 0..iters {
                black_box(cluster.step());
            }
            started.elapsed()
        });
    });
    group.finish();
}

fn message(body: Body) -> PolityMessage {
    let name = NodeName::new("node-with-a-typical-name").expect("valid name");
    PolityMessage {
        from: NodeId::new(
            name,
            SocketAddr::from(([10, 0, 0, 7], 7946)),
            1_795_437_002_745_488,
        ),
        clock: LamportTime(1_795_437_002_745_999),
        body,
    }
}

fn codec(c: &mut Criterion) {
    let role = |r: usize| RoleName::new(format!("shard-{r}-primary")).expect("valid role");
    let samples = [
        (
            "vote request",
            message(Body::VoteRequest {
                role: role(7),
                term: LamportTime(1_795_437_002_745_500),
                priority: 0,
            }),
        ),
        (
            "renew, 10 roles",
            message(Body::Renew {
                round: 42,
                part: SetPart {
                    version: 7,
                    chunk: 0,
                    chunks: 1,
                },
                leases: (0..10)
                    .map(|r| (role(r), LamportTime(1_795_437_002_745_500 + r as u64)))
                    .collect(),
            }),
        ),
    ];
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(1));
    for (name, msg) in &samples {
        let bytes = wire::encode_message(msg).expect("encodes");
        group.bench_function(format!("encode {name} ({} bytes)", bytes.len()), |b| {
            b.iter(|| wire::encode_message(black_box(msg)).expect("encodes"));
        });
        group.bench_function(format!("decode {name} ({} bytes)", bytes.len()), |b| {
            b.iter(|| wire::decode_message(black_box(&bytes)).expect("decodes"));
        });
    }
    let cluster = steady_cluster();
    let swim = cluster
        .swim_samples
        .iter()
        .max_by_key(|s| s.len())
        .expect("SWIM traffic seen")
        .clone();
    group.bench_function(
        format!("open and check a SWIM packet ({} bytes)", swim.len()),
        |b| {
            b.iter_batched_ref(
                || swim.clone(),
                |s| {
                    let (_, body) = wire::open(black_box(s), 65_507).expect("opens");
                    wire::check_swim_packet(body).expect("parses")
                },
                BatchSize::SmallInput,
            );
        },
    );
    group.finish();
}

criterion_group!(benches, datagrams, codec);
criterion_main!(benches);
