//! Role elections, leases, resignations, recalls and queries (`docs/PROTOCOL.md` sections 1 to 6).
//!
//! [`Roles`] holds every role's state on this node. Each file owns one capability, its
//! state beside the handlers that change it; this file holds the shared types and
//! dispatches each message and timer to its capability:
//!
//! - [`voter`]: the promises and leases this node grants as a voter, and its answers to
//!   vote requests, renewals, releases, withdrawals, recalls and queries;
//! - [`election`]: one election in flight, from the vote requests to the tally, won or
//!   lost;
//! - [`campaign`]: who waits for a role here, and when each tries (again), in an order
//!   every node agrees on;
//! - [`holding`]: the roles held, the renewal rounds that keep them, the early warning,
//!   and stepping down or resigning;
//! - [`session`]: renewing a whole held set by its version, on both sides;
//! - [`requests`]: recalls and queries made by this node;
//! - [`transfer`]: handing a role held to a named node;
//! - [`preference`]: handing a role held to a candidate of a higher priority;
//! - [`forget`]: dropping the state of roles nothing depends on any more;
//! - [`view`]: what this node believes about each role, and the announcements that move
//!   it (S5).
//!
//! It never sends anything itself: each call gets a [`Ctx`] (time, identity, config,
//! membership, clock) and fills an [`Outbox`] that the core carries out.

mod campaign;
mod election;
mod forget;
mod holding;
mod outcome;
mod preference;
mod requests;
mod rounds;
mod session;
mod transfer;
mod view;
mod voter;

pub(crate) use requests::RequestKind;

pub use holding::HeldRole;
pub use outcome::{Completion, LossReason, RequestId, RoleError};
pub use view::RoleState;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::membership::Membership;
use super::{Event, Stats};
use crate::clock::{LamportClock, LamportTime};
use crate::config::Config;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Announcement, Body};
use campaign::Campaign;
use election::Election;
pub(crate) use holding::{Held, SetRenewed};
use requests::{LeaseAnswer, Request};
use rounds::{RenewAnswer, Renewals};
use session::HeldVersion;
use voter::Voters;

/// Timers of the role layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleTimer {
    /// Send the next renewal round.
    Renew,
    /// Send renewal round `id` again to the voters that have not answered it.
    Resend(u64),
    /// Holders re-announce what they hold to a few members.
    Reannounce,
    /// Wake at the earliest end of a role held (one pending for all of them).
    HolderCheck(Instant),
    /// Check whether a held role went `renew_deadline` without a quorum renewing it (one
    /// pending for all of them).
    RiskCheck(Instant),
    /// Check whether the lease this node granted for a role has run out.
    LeaseCheck(RoleName),
    /// Ask the holder of a role at a term, known here only from its renewals, for its
    /// announcement, if the view still does not have it.
    AskAnnouncement(RoleName, NodeId, LamportTime),
    /// A role's view shows a tenure whose lease lapsed here until this instant, unless
    /// its holder is heard from again.
    ShownUntil(RoleName, Instant),
    /// Check whether a holder's held set, kept whole here, was renewed by the instant
    /// it was due (one pending per holder).
    SessionCheck(NodeName, Instant),
    /// Give up an election that has not been decided.
    ElectionTimeout(RoleName, LamportTime),
    /// Ask a voter again for its vote in the election at this term: it refused only for
    /// a lease that has run out since.
    AskAgain(RoleName, LamportTime, NodeId),
    /// Try an election again (the token must match the campaign's).
    Retry(RoleName, u64),
    /// Give up a recall or query.
    RequestTimeout(RequestId),
    /// Offer a transfer's target the role again, or give the transfer up.
    Offer(RequestId),
}

/// What a call asks the core to do.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) sends: Vec<(SocketAddr, Body)>,
    /// Announce to every live member directly, and by gossip.
    pub(crate) announcements: Vec<Announcement>,
    pub(crate) timers: Vec<(Instant, RoleTimer)>,
    pub(crate) events: Vec<Event>,
    pub(crate) completions: Vec<Completion>,
}

/// What a call needs to know.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    pub(crate) me: &'a NodeId,
    pub(crate) config: &'a Config,
    pub(crate) membership: &'a Membership,
    pub(crate) clock: &'a mut LamportClock,
    /// Whether this node has been part of the cluster for a lease since it started (or
    /// has no join addresses, and so starts a cluster of its own). Before that its
    /// membership may hold little more than itself, and a population that small would
    /// make it a quorum on its own.
    pub(crate) joined: bool,
    /// The counters metrics read: votes cast, renewal rounds.
    pub(crate) stats: &'a mut Stats,
}

impl Ctx<'_> {
    /// The electorate's population: the configured voters, or the membership's.
    fn population(&self) -> usize {
        match &self.config.electorate {
            Some(voters) => voters.len(),
            None => self.membership.population(),
        }
    }

    fn is_voter(&self, name: &NodeName) -> bool {
        self.config
            .electorate
            .as_ref()
            .is_none_or(|voters| voters.contains(name))
    }

    fn i_vote(&self) -> bool {
        self.is_voter(self.me.name())
    }

    /// Live voters other than this node.
    fn live_voters(&self) -> Vec<NodeId> {
        self.membership
            .peers()
            .filter(|id| self.is_voter(id.name()))
            .cloned()
            .collect()
    }

    /// Every voter other than this node that counts in the population, alive or down: a
    /// node that cannot hear the others soon believes them all down, yet may still reach
    /// them.
    fn counted_voters(&self) -> Vec<NodeId> {
        self.membership
            .counted()
            .filter(|id| self.is_voter(id.name()))
            .cloned()
            .collect()
    }

    /// How long a candidate refused for another candidate's undecided vote waits before
    /// asking again: that election is decided within a round trip or two.
    fn undecided(&self) -> Duration {
        self.config.contest_step()
    }

    fn need(&self, population: usize) -> usize {
        self.config.quorum.votes_required(population)
    }

    fn population_u32(&self) -> u32 {
        u32::try_from(self.population()).unwrap_or(u32::MAX)
    }
}

/// Every role's state on this node.
#[derive(Debug)]
pub(crate) struct Roles {
    voters: Voters,
    views: BTreeMap<RoleName, view::View>,
    held: BTreeMap<RoleName, Held>,
    elections: BTreeMap<RoleName, Election>,
    campaigns: BTreeMap<RoleName, Campaign>,
    renewals: Renewals,
    /// The version of the held set, and which voters keep it (as a holder).
    held_version: HeldVersion,
    /// The last role re-announced: the next re-announcement goes on from there.
    reannounced_through: Option<RoleName>,
    /// Every value this node published (role, term, version, value) since the
    /// simulator's checker last took them; kept only once the simulator asks, so that
    /// an agent built with every feature does not keep them all.
    #[cfg(feature = "sim")]
    pub(crate) published: Option<Vec<(RoleName, LamportTime, u64, crate::role_value::RoleValue)>>,
    /// No role held ends before this (a lower bound; `None` only when none is held).
    held_floor: Option<Instant>,
    /// The pending wake-up at the earliest end of a role held, and the pending early
    /// warning check.
    holder_check_at: Option<Instant>,
    risk_check_at: Option<Instant>,
    /// The latest round a quorum acknowledged whole.
    set_renewed: SetRenewed,
    /// Rises whenever a held role's own `until` moves, so that the driver refreshes the
    /// deadlines it hands out only then.
    deadlines_moved: u64,
    requests: BTreeMap<RequestId, Request>,
    transfers: transfer::Transfers,
    /// Held roles some candidate asked for with a higher priority than this node's.
    preferred: std::collections::BTreeSet<RoleName>,
    next_id: u64,
    /// This node grants nothing before this time (one lease after start).
    quiet_until: Instant,
    /// This node grants no vote at or below this term: its clock when it started. Terms
    /// track wall-clock microseconds, so every term granted before a restart is below
    /// it, and a restarted voter, which has forgotten its promises, cannot help a
    /// candidate that never heard of them to a lower term than an earlier grant (S2).
    term_floor: LamportTime,
    /// Announcements about a role this node has no view of apply only above this term:
    /// the highest term of the views it forgot.
    view_floor: LamportTime,
    /// When the next sweep for roles to forget is due.
    next_forget: Option<Instant>,
    renewing: bool,
    rng: StdRng,
}

impl Roles {
    pub(crate) fn new(
        now: Instant,
        lease: Duration,
        term_floor: LamportTime,
        rng_seed: u64,
    ) -> Self {
        Roles {
            voters: Voters::default(),
            views: BTreeMap::new(),
            held: BTreeMap::new(),
            elections: BTreeMap::new(),
            campaigns: BTreeMap::new(),
            renewals: Renewals::default(),
            held_version: HeldVersion::default(),
            reannounced_through: None,
            #[cfg(feature = "sim")]
            published: None,
            held_floor: None,
            holder_check_at: None,
            risk_check_at: None,
            set_renewed: SetRenewed::default(),
            deadlines_moved: 0,
            requests: BTreeMap::new(),
            transfers: transfer::Transfers::new(),
            preferred: std::collections::BTreeSet::new(),
            next_id: 0,
            quiet_until: now + lease,
            term_floor,
            view_floor: LamportTime::ZERO,
            next_forget: None,
            renewing: false,
            rng: StdRng::seed_from_u64(rng_seed),
        }
    }

    /// A new request id: the one allocator of every request's id, roles and keys alike.
    pub(crate) fn next_request(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    // ---- what users ask ---------------------------------------------------------------

    /// This node's view of `role`.
    pub(crate) fn state(&self, role: &RoleName) -> RoleState {
        self.views
            .get(role)
            .map_or(RoleState::Vacant, |v| v.state().clone())
    }

    /// Every role this node knows of, with its view.
    pub(crate) fn states(&self) -> Vec<(RoleName, RoleState)> {
        self.views
            .iter()
            .map(|(r, v)| (r.clone(), v.state().clone()))
            .collect()
    }

    /// The highest term this node has seen for each role, to keep across a restart.
    pub(crate) fn seen_terms(&self) -> Vec<(RoleName, LamportTime)> {
        self.views
            .iter()
            .map(|(role, view)| (role.clone(), view.seen_through()))
            .collect()
    }

    /// Starts `role`'s view at `term` after a restart, so that it never goes below it.
    pub(crate) fn remember_term(&mut self, role: &RoleName, term: LamportTime) {
        self.views.entry(role.clone()).or_default().seen(term);
    }

    /// The roles this node holds, with their terms and until when (local time).
    pub(crate) fn held(&self) -> impl Iterator<Item = (&RoleName, LamportTime, Instant)> {
        self.held
            .iter()
            .map(|(r, h)| (r, h.term, h.deadline(&self.set_renewed)))
    }

    /// Every role held, as metrics show it; a round counts as missed once it has gone
    /// `wait` without a quorum.
    pub(crate) fn held_details(&self, now: Instant, wait: Duration) -> Vec<HeldRole> {
        self.held
            .iter()
            .map(|(role, held)| HeldRole {
                role: role.clone(),
                term: held.term,
                won_at: held.won_at,
                renewals_missed: self.renewals.missed(held.since, held.term, now, wait),
            })
            .collect()
    }

    /// A number that rises whenever the end of a role held moves.
    pub(crate) fn deadlines_moved(&self) -> u64 {
        self.deadlines_moved
    }

    /// `role` as held here, if it is.
    pub(crate) fn held_entry(&self, role: &RoleName) -> Option<&Held> {
        self.held.get(role)
    }

    /// The latest round a quorum acknowledged whole.
    pub(crate) fn set_renewed(&self) -> &SetRenewed {
        &self.set_renewed
    }

    /// Handles a role message from `from`, by the capacity it reaches this node in.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        body: Body,
    ) {
        match body {
            Body::Announce(_) | Body::KeyRequest { .. } | Body::KeyReply { .. } => {}
            // As a voter (`voter`).
            Body::VoteRequest {
                role,
                term,
                priority,
            } => self.on_vote_request(ctx, out, from, (role, term), priority),
            Body::Renew {
                round,
                part,
                leases,
            } => self.on_renew(ctx, out, from, round, part, leases),
            Body::RenewSet { round, version } => self.on_renew_set(ctx, out, from, round, version),
            Body::RenewDelta {
                round,
                from: base,
                part,
                changes,
            } => self.on_renew_changes(ctx, out, from, (round, base), part, changes),
            Body::Release {
                role,
                term,
                successor,
                transfer,
            } => self.on_release(ctx, out, from, (role, term), successor, transfer),
            Body::TransferOffer { role, term } => self.on_transfer_offer(out, from, role, term),
            Body::Withdraw { role, term } => self.on_withdraw(out, from, &role, term),
            // As a holder (`holding`).
            Body::AskAnnouncement { role, term } => {
                self.on_ask_announcement(ctx, out, from, &role, term);
            }
            Body::Recall { role, request } => self.on_recall(ctx, out, from, role, request),
            Body::Query { role, request } => self.on_query(ctx, out, from, role, request),
            // As a candidate (`election`).
            Body::VoteReply(reply) => self.on_vote_reply(ctx, out, from, reply),
            // As the holder that offered a transfer (`transfer`).
            Body::TransferReply {
                role,
                term,
                campaigning,
            } => self.on_transfer_reply(ctx, out, from, &role, term, campaigning),
            // As a holder (`holding`).
            Body::RenewReply {
                round,
                population,
                acked,
                whole,
            } => {
                let answer = RenewAnswer {
                    population: population as usize,
                    acked: &acked,
                    whole,
                };
                self.renewed(ctx, out, round, from, answer);
            }
            // As the maker of a recall or query (`requests`): the lease the voter
            // reported, and whether it is recalled.
            Body::RecallReply {
                request,
                population,
                recalled,
            } => {
                let answer = recalled.map(|tenure| LeaseAnswer {
                    tenure,
                    recalled: true,
                    value: None,
                });
                self.answered(ctx, out, from, request, population, answer);
            }
            Body::QueryReply {
                request,
                population,
                lease,
                recalled,
                value,
            } => {
                let answer = lease.map(|tenure| LeaseAnswer {
                    tenure,
                    recalled,
                    value,
                });
                self.answered(ctx, out, from, request, population, answer);
            }
        }
    }

    /// Handles a role timer, by the capacity that set it.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, timer: RoleTimer) {
        match timer {
            RoleTimer::Renew => {
                self.renew(ctx, out);
                self.prefer(ctx, out);
            }
            RoleTimer::Resend(round) => self.resend(ctx, out, round),
            RoleTimer::Reannounce => self.reannounce(ctx, out),
            RoleTimer::HolderCheck(at) => self.holder_check(ctx, out, at),
            RoleTimer::RiskCheck(at) => self.risk_check(ctx, out, at),
            RoleTimer::LeaseCheck(role) => self.lease_check(ctx, out, &role),
            RoleTimer::AskAnnouncement(role, holder, term) => {
                self.ask_announcement(ctx, out, role, holder, term);
            }
            RoleTimer::ShownUntil(role, at) => self.shown_until_passed(out, &role, at),
            RoleTimer::SessionCheck(holder, at) => {
                self.voters.session_check(out, ctx.now, &holder, at);
            }
            RoleTimer::ElectionTimeout(role, term) => {
                self.election_timeout(ctx, out, &role, term);
            }
            RoleTimer::AskAgain(role, term, voter) => self.ask_again(out, role, term, &voter),
            RoleTimer::Retry(role, token) => self.retry(ctx, out, &role, token),
            RoleTimer::RequestTimeout(id) => self.request_timeout(ctx, out, id),
            RoleTimer::Offer(id) => self.offer(ctx, out, id),
        }
    }
}

#[cfg(test)]
mod tests;
