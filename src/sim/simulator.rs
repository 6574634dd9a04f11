//! The simulator proper: nodes, the event queue in virtual time, faults and the trace.

mod commands;
mod faults;
mod inspect;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::checker::Checker;
use super::clock::LocalClock;
use super::network::{Fate, Faults, Network};
use crate::clock::LamportTime;
use crate::config::{Config, Profile};
use crate::core::{Completion, Core, Event, Startup};
use crate::identity::{NodeName, RoleName};

/// The wall clock of the simulated world at true time zero, in microseconds since the
/// UNIX epoch (a date in 2023); cores take their clock floor from it.
const WALL_CLOCK_AT_ZERO_MICROS: u64 = 1_700_000_000_000_000;

/// How often [`Sim::run_until`] checks its condition, in simulated time.
const CHECK_EVERY: Duration = Duration::from_millis(10);

/// How to build a simulation.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of everything random: network faults, each core's generator.
    pub seed: u64,
    /// Number of nodes at the start, named `n0`, `n1`, ...
    pub nodes: usize,
    /// The config every node starts from; the simulator sets `name`, `bind` and `join`
    /// (every node joins through the first three nodes).
    pub template: Config,
    /// Network faults from the start.
    pub faults: Faults,
    /// Keep the trace text (its digest is always kept). Turn off for very large runs.
    pub record_trace: bool,
}

impl SimConfig {
    /// `nodes` nodes with the `lan` profile on a healthy network.
    pub fn lan(nodes: usize, seed: u64) -> Self {
        Self::new(Profile::Lan, nodes, seed)
    }

    /// `nodes` nodes with `profile` on a healthy network.
    pub fn new(profile: Profile, nodes: usize, seed: u64) -> Self {
        let name = NodeName::new("template").unwrap_or_else(|_| unreachable!());
        SimConfig {
            seed,
            nodes,
            template: Config::new(name, profile),
            faults: Faults::default(),
            record_trace: true,
        }
    }
}

#[derive(Debug)]
enum What {
    Deliver {
        to: usize,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    Wake {
        node: usize,
        token: u64,
    },
    Resume {
        node: usize,
    },
}

#[derive(Debug)]
struct Pending {
    at: Duration,
    seq: u64,
    what: What,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Debug)]
struct SimNode {
    config: Config,
    core: Option<Core>,
    clock: LocalClock,
    paused: bool,
    /// When the node was last paused and resumed (both equal while it runs or is
    /// paused for the first time).
    last_pause: (Duration, Duration),
    /// Datagrams that arrived while paused, as a socket buffer holds them.
    backlog: VecDeque<(SocketAddr, Vec<u8>)>,
    /// Only the wake-up with this token is current; older ones are stale.
    wake_token: u64,
    wake_at: Option<Duration>,
    starts: u64,
    /// What the node kept on disk when it last stopped.
    disk: Option<crate::core::Durable>,
    left: bool,
    events: Vec<(Duration, Event)>,
    completions: Vec<(Duration, Completion)>,
}

/// A simulated cluster. See the [module docs](super).
#[derive(Debug)]
pub struct Sim {
    seed: u64,
    rng: StdRng,
    epoch: Instant,
    now: Duration,
    template: Config,
    nodes: Vec<SimNode>,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    network: Network,
    record_trace: bool,
    trace: String,
    digest: u64,
    checker: Checker,
    /// Whether delivered datagrams are being recorded.
    tapping: bool,
    /// Datagrams delivered while the tap was on: (time, to, from, bytes).
    tapped: Vec<(Duration, usize, usize, Vec<u8>)>,
    /// When a partition, crash or pause last changed who can answer whom, for the
    /// minority-grant check: votes given just before a change still count.
    network_changed: Duration,
}

/// The address of node `i`; nothing is ever sent on a real network.
fn addr_of(i: usize) -> SocketAddr {
    let port = u16::try_from(10_000 + i).unwrap_or(u16::MAX);
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Sim {
    /// Starts `config.nodes` nodes at simulated time zero.
    ///
    /// # Panics
    /// If `config.template` is invalid, or there are more than 50,000 nodes.
    pub fn new(config: SimConfig) -> Self {
        if let Err(invalid) = config.template.validate() {
            panic!("simulation template: {invalid}");
        }
        let mut sim = Sim {
            seed: config.seed,
            rng: StdRng::seed_from_u64(config.seed),
            epoch: Instant::now(),
            now: Duration::ZERO,
            template: config.template,
            nodes: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            network: Network::new(config.faults),
            record_trace: config.record_trace,
            trace: String::new(),
            digest: 0xcbf2_9ce4_8422_2325,
            checker: Checker::default(),
            tapping: false,
            tapped: Vec::new(),
            network_changed: Duration::ZERO,
        };
        let seeds: Vec<usize> = (0..config.nodes.min(3)).collect();
        for _ in 0..config.nodes {
            sim.add_node(&seeds);
        }
        sim
    }

    /// Adds a node that joins through the nodes in `seeds`; returns its index.
    ///
    /// # Panics
    /// Beyond 50,000 nodes.
    pub fn add_node(&mut self, seeds: &[usize]) -> usize {
        self.add_node_with(seeds, |_| {})
    }

    /// Adds a node whose config `configure` changes from the template (after name,
    /// address and join addresses are set); returns its index.
    ///
    /// # Panics
    /// Beyond 50,000 nodes, or if the changed config is invalid.
    pub fn add_node_with(&mut self, seeds: &[usize], configure: impl FnOnce(&mut Config)) -> usize {
        let i = self.nodes.len();
        assert!(i < 50_000, "the simulator addresses at most 50,000 nodes");
        let mut config = self.template.clone();
        config.name = NodeName::new(format!("n{i}")).unwrap_or_else(|_| unreachable!());
        config.bind = addr_of(i);
        config.join = seeds
            .iter()
            .filter(|&&s| s != i)
            .map(|&s| addr_of(s))
            .collect();
        configure(&mut config);
        self.nodes.push(SimNode {
            config,
            core: None,
            clock: LocalClock::new(1.0),
            paused: false,
            last_pause: (Duration::ZERO, Duration::ZERO),
            backlog: VecDeque::new(),
            wake_token: 0,
            wake_at: None,
            starts: 0,
            disk: None,
            left: false,
            events: Vec::new(),
            completions: Vec::new(),
        });
        self.start(i);
        i
    }

    fn start(&mut self, i: usize) {
        let rng_seed = self.rng.random();
        let wall = WALL_CLOCK_AT_ZERO_MICROS + u64::try_from(self.now.as_micros()).unwrap_or(0);
        let node = &mut self.nodes[i];
        let saved = node.disk.take();
        let clock_floor = saved.as_ref().map_or(wall, |d| d.clock.get().max(wall));
        node.starts += 1;
        let startup = Startup {
            addr: addr_of(i),
            // Leaves room for 2^32 rejoins per start, each of which adds one.
            generation: node.starts << 32,
            rng_seed,
            clock_floor,
        };
        let local = node.clock.local(self.epoch, self.now, None);
        match Core::new(node.config.clone(), startup, local) {
            Ok(mut core) => {
                core.record_published();
                if let Some(saved) = saved {
                    core.remember(local, &saved);
                }
                node.core = Some(core);
            }
            Err(invalid) => panic!("node n{i}: {invalid}"),
        }
        self.log(format_args!("start n{i}"));
        self.after_input(i);
    }

    // ---- faults -------------------------------------------------------------------

    // ---- running ------------------------------------------------------------------

    /// Runs the simulation for `how_long` of simulated time.
    pub fn run_for(&mut self, how_long: Duration) {
        let until = self.now + how_long;
        while self.queue.peek().is_some_and(|Reverse(p)| p.at <= until) {
            self.step();
        }
        self.now = until;
    }

    /// Runs until `done` holds (checked every 10 ms of simulated time) or `limit` has
    /// passed; returns how long it took, or `None` if it never held.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&Sim) -> bool) -> Option<Duration> {
        let start = self.now;
        loop {
            if done(self) {
                return Some(self.now - start);
            }
            if self.now - start >= limit {
                return None;
            }
            self.run_for(CHECK_EVERY.min(limit - (self.now - start)));
        }
    }

    fn step(&mut self) {
        let Some(Reverse(pending)) = self.queue.pop() else {
            return;
        };
        self.now = pending.at;
        let node = match &pending.what {
            What::Deliver { to, .. } => *to,
            What::Wake { node, .. } | What::Resume { node } => *node,
        };
        let _span = self.node_span(node).entered();
        match pending.what {
            What::Deliver { to, from, bytes } => {
                let node = &mut self.nodes[to];
                if node.core.is_none() {
                    return;
                }
                if node.paused {
                    node.backlog.push_back((from, bytes));
                    return;
                }
                let local = self.local_now(to);
                if let Some(core) = self.nodes[to].core.as_mut() {
                    core.handle_datagram(local, from, &bytes);
                }
                if self.tapping {
                    let sender = usize::from(from.port()).saturating_sub(10_000);
                    self.tapped.push((self.now, to, sender, bytes));
                }
                self.after_input(to);
            }
            What::Wake { node: i, token } => {
                let node = &mut self.nodes[i];
                if token != node.wake_token || node.paused {
                    return;
                }
                node.wake_at = None;
                let Some(core) = node.core.as_mut() else {
                    return;
                };
                let deadline = core.poll_timeout();
                let local = node.clock.local(self.epoch, self.now, deadline);
                core.handle_timeout(local);
                self.after_input(i);
            }
            What::Resume { node: i } => {
                let node = &mut self.nodes[i];
                if !node.paused {
                    return;
                }
                node.paused = false;
                node.last_pause.1 = self.now;
                let local = node.clock.local(self.epoch, self.now, None);
                self.log(format_args!("resume n{i}"));
                let node = &mut self.nodes[i];
                if let Some(core) = node.core.as_mut() {
                    for (from, bytes) in node.backlog.drain(..) {
                        core.handle_datagram(local, from, &bytes);
                    }
                    core.handle_timeout(local);
                }
                self.after_input(i);
            }
        }
    }

    fn local_now(&mut self, i: usize) -> Instant {
        self.nodes[i].clock.local(self.epoch, self.now, None)
    }

    fn push(&mut self, at: Duration, what: What) {
        self.seq += 1;
        self.queue.push(Reverse(Pending {
            at,
            seq: self.seq,
            what,
        }));
    }

    /// Sends what node `i` queued, records its events and re-arms its timer.
    fn after_input(&mut self, i: usize) {
        while let Some(transmit) = self.nodes[i].core.as_mut().and_then(Core::poll_transmit) {
            let to = usize::from(transmit.to.port()).checked_sub(10_000);
            let Some(to) = to.filter(|&to| to < self.nodes.len()) else {
                continue;
            };
            let len = transmit.bytes.len();
            let hash = fnv1a(0xcbf2_9ce4_8422_2325, &transmit.bytes) as u32;
            match self.network.route(i, to, &mut self.rng) {
                Fate::Blocked => self.log(format_args!("n{i}>n{to} {len}B {hash:08x} cut")),
                Fate::Lost => self.log(format_args!("n{i}>n{to} {len}B {hash:08x} lost")),
                Fate::Delivered(delays) => {
                    self.log(format_args!("n{i}>n{to} {len}B {hash:08x} +{delays:?}"));
                    for delay in delays {
                        let what = What::Deliver {
                            to,
                            from: addr_of(i),
                            bytes: transmit.bytes.clone(),
                        };
                        self.push(self.now + delay, what);
                    }
                }
            }
        }
        // What was published first: the events below report views of it.
        let published = self.nodes[i]
            .core
            .as_mut()
            .map(Core::take_published)
            .unwrap_or_default();
        for (role, term, version, value) in &published {
            self.checker.published(role, *term, *version, value);
        }
        self.record_holds(i);
        while let Some(event) = self.nodes[i].core.as_mut().and_then(Core::poll_event) {
            self.log(format_args!("n{i} {event:?}"));
            match &event {
                Event::RoleChanged { role, state } => self.checker.view(self.now, i, role, state),
                Event::RoleAcquired { role, .. } => self.check_quorum_reachable(i, role),
                _ => {}
            }
            self.nodes[i].events.push((self.now, event));
        }
        while let Some(done) = self.nodes[i].core.as_mut().and_then(Core::poll_completion) {
            self.log(format_args!("n{i} {done:?}"));
            self.nodes[i].completions.push((self.now, done));
        }
        self.reschedule(i);
    }

    /// Tells the checker what node `i` believes it holds, and until when in true time.
    fn record_holds(&mut self, i: usize) {
        let node = &self.nodes[i];
        let Some(core) = node.core.as_ref() else {
            return;
        };
        let held = core.held_roles();
        for (role, term, until) in &held {
            let until = node.clock.true_time(self.epoch, *until);
            self.checker.holding(self.now, i, role, *term, until);
        }
        let still: Vec<(RoleName, LamportTime)> =
            held.into_iter().map(|(r, t, _)| (r, t)).collect();
        self.checker.release_others(self.now, i, &still);
    }

    /// S3: a node that wins must be able to reach a quorum, unless the network changed
    /// during the election. A candidate frozen since then ran for none of that time: its
    /// election may have started, and its votes been granted, before the change, and it
    /// counts them when it resumes.
    fn check_quorum_reachable(&mut self, i: usize, role: &RoleName) {
        let (paused, resumed) = self.nodes[i].last_pause;
        let frozen_since_change = resumed.saturating_sub(paused.max(self.network_changed));
        let ran_since_change = self
            .now
            .saturating_sub(self.network_changed)
            .saturating_sub(frozen_since_change);
        if ran_since_change < self.template.election_timeout * 2 {
            return;
        }
        let voter = |n: &SimNode| {
            self.template
                .electorate
                .as_ref()
                .is_none_or(|voters| voters.contains(&n.config.name))
        };
        let population = match &self.template.electorate {
            Some(voters) => voters.len(),
            None => self.nodes.iter().filter(|n| !n.left).count(),
        };
        let reachable = (0..self.nodes.len())
            .filter(|&j| {
                let n = &self.nodes[j];
                n.core.is_some()
                    && voter(n)
                    && (j == i || (!self.network.is_cut(i, j) && !self.network.is_cut(j, i)))
            })
            .count();
        let need = self.template.quorum.votes_required(population);
        if reachable < need {
            self.checker
                .minority_grant(self.now, i, role, reachable, need);
        }
    }

    // ---- roles ----------------------------------------------------------------------

    /// A span naming node `i` and the virtual time, so that the core's log lines say
    /// which node wrote them and when.
    fn node_span(&self, i: usize) -> tracing::Span {
        tracing::debug_span!("sim", node = i, t = %format_args!("{:.6}", self.now.as_secs_f64()))
    }

    fn reschedule(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(deadline) = node.core.as_ref().and_then(Core::poll_timeout) else {
            return;
        };
        let at = node.clock.true_time(self.epoch, deadline).max(self.now);
        if node.wake_at == Some(at) {
            return;
        }
        node.wake_at = Some(at);
        node.wake_token += 1;
        let token = node.wake_token;
        self.push(at, What::Wake { node: i, token });
    }

    fn log(&mut self, line: std::fmt::Arguments<'_>) {
        tracing::trace!(target: "polity::sim", t = %format_args!("{:.6}", self.now.as_secs_f64()), "{line}");
        let start = self.trace.len();
        let _ = writeln!(self.trace, "{:>10.6} {line}", self.now.as_secs_f64());
        self.digest = fnv1a(self.digest, &self.trace.as_bytes()[start..]);
        if !self.record_trace {
            self.trace.clear();
        }
    }
}
