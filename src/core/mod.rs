//! The sans-IO protocol core: one node's whole state machine, with no socket, clock or OS
//! randomness inside.
//!
//! Inputs carry the current time: [`Core::handle_datagram`], [`Core::handle_timeout`] and
//! the commands ([`Core::join`], [`Core::leave`], [`Core::elect`], [`Core::rollout_keys`],
//! ...). Outputs are drained from four queues: [`Core::poll_completion`],
//! [`Core::poll_event`], [`Core::poll_transmit`] and [`Core::poll_timeout`], in the order
//! [`Core`] documents. The tokio node and the simulator both drive this same type.

mod announcements;
mod datagram;
mod event;
mod key_rollout;
mod member_tags;
mod membership;
mod replay;
mod role_api;
pub(crate) mod roles;
mod timers;

pub use event::Event;
pub use key_rollout::{KeyAnswer, KeyRollout};
pub use membership::{Member, MemberStatus};
pub use roles::{Completion, HeldRole, LossReason, RequestId, RoleError, RoleState};

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use foca::{AccumulatingRuntime, Foca, OwnedNotification};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IteratorRandom;

use crate::clock::{LamportClock, LamportTime};
use crate::config::{Config, InvalidConfig};
use crate::histogram::Histogram;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{self, Announcement, Body, FocaCodec, Keyring, Kind, Subject};
use announcements::Announcements;
use key_rollout::Rollouts;
use member_tags::MemberTags;
use membership::Membership;
use replay::ReplayGuard;
use roles::{RoleTimer, Roles};
use timers::Timers;

/// How often the core forgets long-down members and looks for roles to forget.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_millis(500);

/// A datagram the core wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub to: SocketAddr,
    /// The whole datagram, envelope included.
    pub bytes: Vec<u8>,
}

/// What a core starts from, beyond its [`Config`]: everything it would otherwise read
/// from the operating system.
#[derive(Debug, Clone, Copy)]
pub struct Startup {
    /// The address this node is reached at.
    pub addr: SocketAddr,
    /// This start's generation; must exceed every earlier start's (the tokio node uses
    /// the wall-clock time in microseconds).
    pub generation: u64,
    /// Seed of the core's random number generator.
    pub rng_seed: u64,
    /// The Lamport clock starts above this (the tokio node passes the wall-clock time in
    /// microseconds), so terms keep growing across restarts.
    pub clock_floor: u64,
}

/// What a node should keep on disk to restart safely: handed back to [`Core::remember`]
/// and in [`Startup::clock_floor`] after a restart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Durable {
    /// The Lamport clock: a restarted node's clock must start above it.
    pub clock: LamportTime,
    /// Every member that counts in the population: forgetting them on a restart would
    /// shrink the population and let a few restarted nodes form a quorum alone.
    pub members: Vec<NodeId>,
    /// The highest term seen for each role, so that views never go back (S5).
    pub roles: Vec<(RoleName, LamportTime)>,
    /// The highest term of the roles this node forgot: announcements of roles it knows
    /// nothing of apply only above it (S5 for forgotten roles).
    #[serde(default)]
    pub forgotten_through: LamportTime,
}

/// Counters of what the core has seen, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed to [`Core::handle_datagram`].
    pub datagrams_received: u64,
    /// Datagrams queued for sending.
    pub datagrams_sent: u64,
    /// Dropped: larger than `max_datagram_size`.
    pub rejected_oversized: u64,
    /// Dropped: not sealed with a key of this node's keyring.
    pub rejected_unsealed: u64,
    /// Dropped: a polity message seen before from the same sender (a replay or a
    /// duplicate), or too old to tell.
    pub rejected_replayed: u64,
    /// Dropped: not polity's magic, or an unknown version or kind.
    pub rejected_envelope: u64,
    /// Dropped: the payload did not parse.
    pub rejected_malformed: u64,
    /// Dropped after parsing: sent by this node itself, or an indirect probe that names
    /// this node (a protocol violation).
    pub rejected_by_swim: u64,
    /// Ignored because this node has left.
    pub ignored_after_leave: u64,
    /// Announcements the gossip layer holds until it has spread each often enough: a
    /// gauge, not a counter.
    pub gossip_backlog: u64,
    /// Announcements of roles applied and sent directly but not gossiped further,
    /// because the backlog had reached `Config::max_gossip_backlog`.
    pub gossip_unspread: u64,
    /// Votes this node granted, to other candidates or itself.
    pub votes_granted: u64,
    /// Votes refused because the voter was busy: in its quiet time after start, or its
    /// vote is with another candidate whose election is undecided.
    pub votes_refused_busy: u64,
    /// Votes refused because a holder's lease was in force.
    pub votes_refused_leased: u64,
    /// Votes refused because the voter had promised a higher ballot (or the term was at
    /// or below the floor of a restart or of forgotten roles).
    pub votes_refused_promised: u64,
    /// Renewal rounds of this node as a holder in which some role held had not reached
    /// a quorum by the time the next round was sent (`renew_interval` later).
    pub renewal_rounds_failed: u64,
    /// Time from sending a renewal round to a quorum acknowledging every role in it.
    pub renewal_round_trip: Histogram,
    /// How long each election this node ran as a candidate took, from asking for votes
    /// to winning.
    pub elections_won: Histogram,
    /// Likewise to losing: a quorum out of reach, a rival or holder in the way, or time
    /// up. A campaign's every attempt counts.
    pub elections_lost: Histogram,
}

/// Why [`Core::force_leave`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForceLeaveError {
    /// No member of that name is known; check the name with `members`.
    #[error("no member named {0} is known")]
    UnknownMember(NodeName),
    /// The member is not down: only failed members can be removed. A live node leaves by
    /// itself with `leave`.
    #[error("member {0} is {1:?}, not down: only failed members can be force-left")]
    NotDown(NodeName, MemberStatus),
}

type Swim = Foca<NodeId, FocaCodec, StdRng, Announcements>;

#[derive(Debug)]
enum Timer {
    Swim(foca::Timer<NodeId>),
    Rejoin,
    Reconnect,
    Housekeeping,
    Role(RoleTimer),
    KeyRollout(RequestId),
}

/// One node's protocol state machine. See the [module docs](self).
///
/// # Driving a core
///
/// A driver alternates inputs and draining, as quinn-proto's `Connection` is driven:
///
/// 1. **One input**, with the current time, which must never go back:
///    [`Core::handle_datagram`] for a datagram received, [`Core::handle_timeout`] once the
///    instant [`Core::poll_timeout`] named has come (calling it early is harmless), or a
///    command. A request ([`Core::elect`], [`Core::campaign`], [`Core::recall`],
///    [`Core::query_role`], [`Core::rollout_keys`]) returns a [`RequestId`], unique among
///    every request of this core whatever its kind; [`Core::cancel`] withdraws a role
///    request (a key rollout ends by itself within a lease).
/// 2. **Drain, in this order**, each until it returns `None`:
///    1. [`Core::poll_completion`]: the outcome of a request, as a [`Completion`] naming
///       its id; every request ends in exactly one, cancelled ones included. First,
///       because an `elect` may complete and its role be reported won
///       ([`Event::RoleAcquired`]) in the same step: a driver that hands its caller a
///       handle for the role must have done so before it reads the event, to tell a role
///       somebody waits for from one won for nobody (which it should resign).
///    2. [`Core::poll_event`]: what the application should know, in the order it
///       happened.
///    3. [`Core::poll_transmit`]: the datagrams to send, in order. Sending late is safe
///       (every lease a datagram starts is counted from before it was queued), only slower.
///    4. [`Core::poll_timeout`]: when to call [`Core::handle_timeout`] next. Ask after
///       every input: an input may bring it forward.
/// 3. If what the driver did while draining was itself an input (resigning a role won
///    for nobody, say), drain again.
///
/// The queues keep everything until it is polled; draining late delays but loses
/// nothing. The core also steps down from any role whose lease has run out before it
/// handles an input, so a driver that was paused never acts on a stale belief.
pub struct Core {
    config: Config,
    id: NodeId,
    swim: Swim,
    runtime: AccumulatingRuntime<NodeId>,
    announcements: Announcements,
    membership: Membership,
    replays: ReplayGuard,
    roles: Roles,
    tags: MemberTags,
    rollouts: Rollouts,
    clock: LamportClock,
    timers: Timers<Timer>,
    seeds: Vec<SocketAddr>,
    /// Picks which down member to try to reconnect to.
    rng: StdRng,
    /// Draws the nonces of sealed datagrams; see [`nonce_seed`].
    nonces: StdRng,
    connected: bool,
    /// When this node first reached a member since it started.
    joined_at: Option<Instant>,
    rejoin_pending: bool,
    left: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    completions: VecDeque<Completion>,
    stats: Stats,
    last_reject_log: Option<Instant>,
    buf: Vec<u8>,
}

impl Core {
    /// A new core; it joins `config.join` at once. Fails if the config is invalid.
    pub fn new(config: Config, startup: Startup, now: Instant) -> Result<Self, InvalidConfig> {
        config.validate()?;
        let id = NodeId::new(config.name.clone(), startup.addr, startup.generation);
        let announcements = Announcements::default();
        let swim = Foca::with_custom_broadcast(
            id.clone(),
            config.foca_config(),
            StdRng::seed_from_u64(startup.rng_seed),
            FocaCodec::default(),
            announcements.clone(),
        );
        let mut timers = Timers::new();
        timers.schedule(now + HOUSEKEEPING_INTERVAL, Timer::Housekeeping);
        timers.schedule(now + config.rejoin_interval, Timer::Reconnect);
        let mut core = Core {
            membership: Membership::new(&id),
            replays: ReplayGuard::default(),
            // A stream of its own, so role timing does not shift foca's choices.
            roles: Roles::new(
                now,
                config.lease,
                LamportTime(startup.clock_floor),
                startup.rng_seed ^ 0x726f_6c65_7321,
            ),
            tags: MemberTags::new(&id, config.tags.clone()),
            rollouts: Rollouts::default(),
            clock: LamportClock::starting_above(startup.clock_floor),
            seeds: Vec::new(),
            rng: StdRng::seed_from_u64(startup.rng_seed ^ 0x7265_636f_6e6e),
            nonces: StdRng::from_seed(nonce_seed(&startup, &id)),
            connected: false,
            joined_at: None,
            rejoin_pending: false,
            left: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            completions: VecDeque::new(),
            stats: Stats::default(),
            last_reject_log: None,
            buf: Vec::new(),
            runtime: AccumulatingRuntime::new(),
            announcements,
            timers,
            swim,
            id,
            config,
        };
        let seeds = core.config.join.clone();
        core.join(now, &seeds);
        Ok(core)
    }

    /// This node's current identity (its generation grows if it had to rejoin).
    pub fn id(&self) -> &NodeId {
        &self.id
    }

    /// The config this core runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every known member, this node included, by name.
    pub fn members(&self) -> Vec<Member> {
        let suspects: Vec<&NodeId> = self
            .swim
            .iter_membership_state()
            .filter(|m| m.state() == foca::State::Suspect)
            .map(|m| m.id())
            .collect();
        self.membership
            .members(|id| suspects.contains(&id), |name| self.tags.of(name))
    }

    /// The electorate's population as this node counts it: distinct names alive or down,
    /// this node included, not counting members that left, were force-left or reaped.
    pub fn population(&self) -> usize {
        self.membership.population()
    }

    /// Whether this node currently knows at least one live member.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// What to keep across a restart; see [`Durable`].
    pub fn durable(&self) -> Durable {
        Durable {
            clock: self.clock.time(),
            members: self.membership.counted().cloned().collect(),
            roles: self.roles.seen_terms(),
            forgotten_through: self.roles.view_floor(),
        }
    }

    /// Takes back what [`Core::durable`] returned before a restart: the members count as
    /// down until they are heard from or reaped, and role views start at the terms seen.
    /// Call right after [`Core::new`], whose clock floor should exceed `durable.clock`.
    pub fn remember(&mut self, now: Instant, durable: &Durable) {
        for id in &durable.members {
            self.membership.remember(id, now);
        }
        for (role, term) in &durable.roles {
            self.roles.remember_term(role, *term);
        }
        self.roles.remember_view_floor(durable.forgotten_through);
    }

    /// The Lamport clock's current time.
    pub fn clock(&self) -> LamportTime {
        self.clock.time()
    }

    /// The keys this node seals and opens datagrams with, if it has any.
    pub fn keyring(&self) -> Option<&Keyring> {
        self.config.keyring.as_ref()
    }

    /// The keys this node seals and opens datagrams with, to change here alone. Change
    /// them in this order on every node: install a new key, make it primary, remove the
    /// old one; [`Core::rollout_keys`] does each step on every node.
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.config.keyring.as_mut()
    }

    /// Counters for metrics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Announces this node to `seeds` now, and again every `rejoin_interval` for as long
    /// as it knows no live member. Seeds are remembered for later rejoins.
    pub fn join(&mut self, now: Instant, seeds: &[SocketAddr]) {
        for &seed in seeds {
            if seed != self.id.addr() && !self.seeds.contains(&seed) {
                self.seeds.push(seed);
            }
        }
        self.announce_to_seeds(now);
    }

    /// Leaves the cluster gracefully: tells the members that this node is gone, so it
    /// stops counting in their population, and then ignores all further input. Drain
    /// [`Core::poll_transmit`] afterwards to send the goodbyes.
    pub fn leave(&mut self, now: Instant) {
        if self.left {
            return;
        }
        // Step down first: voters release the leases and waiting candidates take over.
        self.with_roles(now, Roles::resign_all);
        let goodbye = Announcement::Left {
            id: self.id.clone(),
        };
        let live: Vec<NodeId> = self.swim.iter_members().map(|m| m.id().clone()).collect();
        for member in &live {
            self.send_message(member.addr(), Body::Announce(goodbye.clone()));
        }
        self.broadcast(now, &goodbye);
        // Set first: leaving makes foca report this node defunct, which is expected now.
        self.left = true;
        if let Err(error) = self.swim.leave_cluster(&mut self.runtime) {
            tracing::debug!(%error, "swim refused to leave");
        }
        self.drain(now);
    }

    /// Removes a failed member from the population on every node, as serf's
    /// `force-leave` does. Refused for unknown members and for members not down.
    pub fn force_leave(&mut self, now: Instant, name: &NodeName) -> Result<(), ForceLeaveError> {
        let (id, status) = self
            .membership
            .lookup(name)
            .ok_or_else(|| ForceLeaveError::UnknownMember(name.clone()))?;
        if status != MemberStatus::Down {
            return Err(ForceLeaveError::NotDown(name.clone(), status));
        }
        let removal = Announcement::ForceLeft {
            name: name.clone(),
            generation: id.generation(),
            by: self.id.name().clone(),
        };
        let live: Vec<SocketAddr> = self.swim.iter_members().map(|m| m.id().addr()).collect();
        for addr in live {
            self.send_message(addr, Body::Announce(removal.clone()));
        }
        self.broadcast(now, &removal);
        self.drain(now);
        Ok(())
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.left {
            return;
        }
        self.expire_roles(now);
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Role(timer) => self.with_roles(now, |roles, ctx, out| {
                    roles.on_timer(ctx, out, timer);
                }),
                Timer::Swim(timer) => {
                    if let Err(error) = self.swim.handle_timer(timer, &mut self.runtime) {
                        tracing::debug!(%error, "swim timer failed");
                    }
                }
                Timer::KeyRollout(id) => self.ask_for_keys(now, id),
                Timer::Rejoin => {
                    self.rejoin_pending = false;
                    if !self.connected {
                        self.announce_to_seeds(now);
                    }
                }
                Timer::Reconnect => {
                    self.reconnect();
                    self.resend_tags();
                    self.timers
                        .schedule(now + self.config.rejoin_interval, Timer::Reconnect);
                }
                Timer::Housekeeping => {
                    let reaped = self.membership.reap(now, self.config.reap_down_after);
                    for event in reaped {
                        if let Event::MemberReaped(name) = &event {
                            self.announcements.forget(&Subject::Member(name.clone()));
                            self.forget_tags(name);
                            self.replays.forget(name);
                        }
                        self.events.push_back(event);
                    }
                    let forgotten = self.roles.forget(now, self.config.forget_after());
                    for role in forgotten.views {
                        self.announcements.forget(&Subject::Role(role));
                    }
                    self.timers
                        .schedule(now + HOUSEKEEPING_INTERVAL, Timer::Housekeeping);
                }
            }
            self.drain(now);
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the user.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Core::handle_timeout`] must next be called; `None` once the node has left.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.left {
            None
        } else {
            self.timers.next_deadline()
        }
    }

    fn announce_to_seeds(&mut self, now: Instant) {
        if self.seeds.is_empty() {
            return;
        }
        for seed in self.seeds.clone() {
            if let Err(error) = self.swim.announce(NodeId::seed(seed), &mut self.runtime) {
                tracing::debug!(%error, %seed, "announce failed");
            }
        }
        if !self.rejoin_pending {
            self.rejoin_pending = true;
            self.timers
                .schedule(now + self.config.rejoin_interval, Timer::Rejoin);
        }
        self.drain(now);
    }

    /// Announces this node to one random member that is down, as serf reconnects to
    /// failed members: after a partition heals, each side learns the other is back
    /// within a few `rejoin_interval`s instead of waiting for gossip that cannot cross.
    fn reconnect(&mut self) {
        let Some(addr) = self.membership.down_addrs().choose(&mut self.rng) else {
            return;
        };
        if let Err(error) = self.swim.announce(NodeId::seed(addr), &mut self.runtime) {
            tracing::debug!(%error, %addr, "reconnect announce failed");
        }
    }

    /// Hands an announcement to the gossip layer, which applies it here (through the
    /// broadcast handler) if it is news and spreads it.
    fn broadcast(&mut self, now: Instant, announcement: &Announcement) {
        self.buf.clear();
        match wire::encode_into(announcement, &mut self.buf) {
            Ok(()) => {
                if let Err(error) = self.swim.add_broadcast(&self.buf) {
                    tracing::debug!(%error, "broadcast refused");
                }
            }
            Err(error) => tracing::error!(%error, "cannot encode an announcement"),
        }
        self.drain(now);
    }

    /// Moves everything foca queued (packets, timers, notifications) and every announcement
    /// the handler received into the core's own queues and state.
    fn drain(&mut self, now: Instant) {
        loop {
            if let Some((to, data)) = self.runtime.to_send() {
                let mut bytes = Vec::with_capacity(wire::ENVELOPE_LEN + data.len());
                wire::write_envelope(Kind::Swim, &mut bytes);
                bytes.extend_from_slice(&data);
                self.push_transmit(to.addr(), bytes);
            } else if let Some((after, timer)) = self.runtime.to_schedule() {
                self.timers.schedule(now + after, Timer::Swim(timer));
            } else if let Some(notification) = self.runtime.to_notify() {
                self.notified(now, notification);
            } else if let Some(announcement) = self.announcements.next() {
                self.apply(now, announcement);
            } else {
                break;
            }
        }
        let backlog = self.swim.custom_broadcast_backlog();
        self.announcements
            .set_backlog_full(backlog >= self.config.max_gossip_backlog);
        self.stats.gossip_backlog = backlog as u64;
        self.stats.gossip_unspread = self.announcements.unspread();
    }

    /// Sends a member that comes up the announcement of every role this node holds with
    /// a value: it learns who holds them from the renewals it votes on, but their values
    /// only from announcements, which gossip spread before it was there.
    fn send_values(&mut self, to: SocketAddr) {
        for announcement in self.roles.valued_announcements(self.id.name()) {
            self.send_message(to, Body::Announce(announcement));
        }
    }

    fn notified(&mut self, now: Instant, notification: OwnedNotification<NodeId>) {
        let events = match notification {
            OwnedNotification::MemberUp(id) => {
                self.send_tags(id.addr());
                self.send_values(id.addr());
                self.membership.up(&id).into_iter().collect()
            }
            OwnedNotification::MemberDown(id) => {
                self.membership.down(&id, now).into_iter().collect()
            }
            OwnedNotification::Rename(old, new) => {
                let alive = self.swim.iter_members().any(|m| *m.id() == new);
                if alive {
                    self.send_tags(new.addr());
                    self.send_values(new.addr());
                }
                self.membership.renamed(&old, &new, alive, now)
            }
            OwnedNotification::Active => {
                self.connected = true;
                self.joined_at.get_or_insert(now);
                vec![Event::Joined]
            }
            OwnedNotification::Idle => {
                self.connected = false;
                self.announce_to_seeds(now);
                vec![Event::Isolated]
            }
            OwnedNotification::Rejoin(id) => {
                self.membership.renew_me(&id);
                self.id = id.clone();
                vec![Event::Rejoined(id)]
            }
            OwnedNotification::Defunct => {
                if !self.left {
                    tracing::warn!("declared down by the cluster and unable to rejoin");
                }
                Vec::new()
            }
        };
        self.events.extend(events);
    }

    fn apply(&mut self, now: Instant, announcement: Announcement) {
        let event = match &announcement {
            Announcement::Left { id } => self.membership.left(id, now),
            Announcement::ForceLeft {
                name, generation, ..
            } => self.membership.force_left(name, *generation, now),
            Announcement::Tags { id, tags, .. } => {
                self.on_tags(id, tags);
                None
            }
            Announcement::Elected { .. }
            | Announcement::Recalled { .. }
            | Announcement::Resigned { .. } => {
                self.with_roles(now, |roles, ctx, out| {
                    roles.on_announcement(ctx, out, &announcement);
                });
                None
            }
        };
        self.events.extend(event);
    }
}

/// The seed of the nonce generator. A nonce must never repeat under a key, across every
/// node and every start: the seed holds the random seed, the generation (which grows with
/// every start of a name) and hashes of the name and address, so two starts share a
/// nonce stream only if all four agree.
fn nonce_seed(startup: &Startup, id: &NodeId) -> [u8; 32] {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let hash = |value: &dyn Fn(&mut DefaultHasher)| {
        let mut hasher = DefaultHasher::new();
        value(&mut hasher);
        hasher.finish()
    };
    let mut seed = [0; 32];
    seed[..8].copy_from_slice(&startup.rng_seed.to_le_bytes());
    seed[8..16].copy_from_slice(&startup.generation.to_le_bytes());
    seed[16..24].copy_from_slice(&hash(&|h| id.name().as_str().hash(h)).to_le_bytes());
    seed[24..].copy_from_slice(&hash(&|h| startup.addr.hash(h)).to_le_bytes());
    seed
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("id", &self.id)
            .field("connected", &self.connected)
            .field("left", &self.left)
            .field("population", &self.population())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}
