//! Role elections, leases, resignations, recalls and queries (DESIGN sections 1 to 5).
//!
//! [`Roles`] holds every role's state on this node in its four capacities: voter
//! ([`voter`]), candidate ([`election`], [`campaign`]), holder ([`holder`]) and observer
//! ([`view`]). It never sends anything itself: each call gets a [`Ctx`] (time, identity,
//! config, membership, clock) and fills an [`Outbox`] that the core carries out.

mod campaign;
mod election;
mod holder;
mod requests;
pub(crate) use requests::RequestKind;
mod view;
mod voter;

pub use view::RoleState;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::IteratorRandom;

use super::Event;
use super::membership::Membership;
use crate::clock::{LamportClock, LamportTime};
use crate::config::Config;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Announcement, Ballot, Body, VoteReply};
use campaign::{Campaign, Waiter, backoff, jitter};
use election::{Election, Tally};
use holder::{Held, Renewals};
use requests::Request;
use voter::{Refusal, Voter};

/// Identifies a request made of the core; its outcome comes back as a [`Completion`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Why a role operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// Another node holds the role; wait for it to go (`campaign`) or recall it.
    #[error("lost: {holder} holds the role with term {term}")]
    Lost {
        /// The holder.
        holder: NodeName,
        /// Its term.
        term: LamportTime,
    },
    /// Too few voters are alive to reach a quorum; bring members back or force-leave
    /// the dead ones.
    #[error("not enough members: have {have}, need {need}")]
    NotEnoughMembers {
        /// Live voters, this node included if it votes.
        have: usize,
        /// Votes required.
        need: usize,
    },
    /// Nobody holds the role, so there is nothing to recall.
    #[error("the role is not held by anyone")]
    RoleUnfilled,
    /// This node does not hold the role, so it cannot resign it.
    #[error("this node does not hold the role")]
    NotHolder,
    /// No quorum answered in time; the network may be partitioned. Try again.
    #[error("timed out waiting for a quorum")]
    TimedOut,
    /// The request was cancelled, or the node left.
    #[error("cancelled")]
    Cancelled,
}

/// Why this node stopped holding a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// It resigned.
    Resigned,
    /// It could not renew with a quorum before its lease ran out.
    LeaseExpired,
    /// A quorum recalled it.
    Recalled,
    /// It learned of a newer holder.
    Superseded,
}

/// The outcome of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// `elect` or `campaign`: the term won, or why not.
    Elect {
        /// The request.
        id: RequestId,
        /// The role.
        role: RoleName,
        /// The term won (the fencing token), or why not.
        result: Result<LamportTime, RoleError>,
    },
    /// `recall`: the term recalled, or why not.
    Recall {
        /// The request.
        id: RequestId,
        /// The term recalled, or why not.
        result: Result<LamportTime, RoleError>,
    },
    /// `query_role`: the state a quorum reported.
    Query {
        /// The request.
        id: RequestId,
        /// The state with the highest term among a quorum's answers, or why none came.
        result: Result<RoleState, RoleError>,
    },
}

/// Timers of the role layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleTimer {
    /// Send the next renewal round.
    Renew,
    /// Holders re-announce what they hold to a few members.
    Reannounce,
    /// Check whether a held role's lease has run out.
    HolderCheck(RoleName),
    /// Check whether the lease this node granted for a role has run out.
    LeaseCheck(RoleName),
    /// Give up an election that has not been decided.
    ElectionTimeout(RoleName, LamportTime),
    /// Try an election again (the token must match the campaign's).
    Retry(RoleName, u64),
    /// Give up a recall or query.
    RequestTimeout(RequestId),
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
            .live()
            .filter(|id| id.name() != self.me.name() && self.is_voter(id.name()))
            .cloned()
            .collect()
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
    voters: BTreeMap<RoleName, Voter>,
    views: BTreeMap<RoleName, view::View>,
    held: BTreeMap<RoleName, Held>,
    elections: BTreeMap<RoleName, Election>,
    campaigns: BTreeMap<RoleName, Campaign>,
    renewals: Renewals,
    requests: BTreeMap<RequestId, Request>,
    lease_checks: BTreeSet<RoleName>,
    next_id: u64,
    /// This node grants nothing before this time (one lease after start).
    quiet_until: Instant,
    renewing: bool,
    rng: StdRng,
}

impl Roles {
    pub(crate) fn new(now: Instant, lease: Duration, rng_seed: u64) -> Self {
        Roles {
            voters: BTreeMap::new(),
            views: BTreeMap::new(),
            held: BTreeMap::new(),
            elections: BTreeMap::new(),
            campaigns: BTreeMap::new(),
            renewals: Renewals::default(),
            requests: BTreeMap::new(),
            lease_checks: BTreeSet::new(),
            next_id: 0,
            quiet_until: now + lease,
            renewing: false,
            rng: StdRng::seed_from_u64(rng_seed),
        }
    }

    fn next_request(&mut self) -> RequestId {
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

    /// The roles this node holds, with their terms and until when (local time).
    pub(crate) fn held(&self) -> impl Iterator<Item = (&RoleName, LamportTime, Instant)> {
        self.held.iter().map(|(r, h)| (r, h.term, h.until))
    }

    /// Starts one election (`elect`) or a campaign for `role`.
    pub(crate) fn want(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: RoleName,
        persist: bool,
    ) -> RequestId {
        let id = self.next_request();
        if let Some(held) = self.held.get(&role) {
            out.completions.push(Completion::Elect {
                id,
                role,
                result: Ok(held.term),
            });
            return id;
        }
        let waiter = if persist {
            Waiter::Campaign { id }
        } else {
            let deadline =
                ctx.now + ctx.config.lease.saturating_mul(2) + ctx.config.election_timeout;
            out.timers.push((deadline, RoleTimer::RequestTimeout(id)));
            Waiter::Elect { id, deadline }
        };
        self.campaigns
            .entry(role.clone())
            .or_default()
            .waiters
            .push(waiter);
        self.try_elect(ctx, out, &role);
        id
    }

    /// Withdraws a request; an `elect` or `campaign` completes with `Cancelled`.
    pub(crate) fn cancel(&mut self, out: &mut Outbox, id: RequestId) {
        let mut emptied = None;
        for (role, campaign) in &mut self.campaigns {
            if let Some(at) = campaign.waiters.iter().position(|w| w.id() == id) {
                campaign.waiters.remove(at);
                out.completions.push(Completion::Elect {
                    id,
                    role: role.clone(),
                    result: Err(RoleError::Cancelled),
                });
                if campaign.waiters.is_empty() {
                    emptied = Some(role.clone());
                }
                break;
            }
        }
        if let Some(role) = emptied {
            self.campaigns.remove(&role);
        }
        if let Some(request) = self.requests.remove(&id) {
            out.completions.push(request.fail(id, RoleError::Cancelled));
        }
    }

    /// Steps down from `role` first, then tells voters to release the lease at once.
    pub(crate) fn resign(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
    ) -> Result<LamportTime, RoleError> {
        let term = self
            .held
            .get(role)
            .map(|h| h.term)
            .ok_or(RoleError::NotHolder)?;
        self.step_down(out, role, LossReason::Resigned);
        for voter in ctx.live_voters() {
            out.sends.push((
                voter.addr(),
                Body::Release {
                    role: role.clone(),
                    term,
                },
            ));
        }
        self.voters
            .entry(role.clone())
            .or_default()
            .release(ctx.me.name(), term);
        out.announcements.push(Announcement::Resigned {
            role: role.clone(),
            holder: ctx.me.name().clone(),
            term,
        });
        Ok(term)
    }

    /// Resigns every role held and cancels every request, before leaving the cluster.
    pub(crate) fn resign_all(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        let held: Vec<RoleName> = self.held.keys().cloned().collect();
        for role in held {
            let _ = self.resign(ctx, out, &role);
        }
        let waiting: Vec<RequestId> = self
            .campaigns
            .values()
            .flat_map(|c| c.waiters.iter().map(Waiter::id))
            .chain(self.requests.keys().copied())
            .collect();
        for id in waiting {
            self.cancel(out, id);
        }
    }

    /// Asks voters to stop renewing `role` (`recall`), or who holds it (`query_role`).
    pub(crate) fn ask(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: RoleName,
        kind: RequestKind,
    ) -> RequestId {
        let id = self.next_request();
        let population = ctx.population();
        let need = ctx.need(population);
        let voters = ctx.live_voters();
        let have = voters.len() + usize::from(ctx.i_vote());
        if have < need {
            let request = Request::new(kind, role, population);
            out.completions
                .push(request.fail(id, RoleError::NotEnoughMembers { have, need }));
            return id;
        }
        let mut request = Request::new(kind, role.clone(), population);
        let body = match kind {
            RequestKind::Recall => Body::Recall {
                role: role.clone(),
                request: id.0,
            },
            RequestKind::Query => Body::Query {
                role: role.clone(),
                request: id.0,
            },
        };
        for voter in voters {
            out.sends.push((voter.addr(), body.clone()));
        }
        if ctx.i_vote() {
            let voter = self.voters.entry(role).or_default();
            let answer = match kind {
                RequestKind::Recall => voter.recall(ctx.now).map(|t| (t, true)),
                RequestKind::Query => voter
                    .live_lease(ctx.now)
                    .map(|l| (l.tenure(), voter.is_recalled(ctx.now))),
            };
            request.record(ctx.me.name(), population, answer);
        }
        out.timers.push((
            ctx.now + ctx.config.election_timeout,
            RoleTimer::RequestTimeout(id),
        ));
        self.requests.insert(id, request);
        self.settle_request(ctx, out, id);
        id
    }

    // ---- elections --------------------------------------------------------------------

    fn try_elect(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        if !self.campaigns.contains_key(role) || self.elections.contains_key(role) {
            return;
        }
        if let Some(held) = self.held.get(role) {
            let term = held.term;
            self.complete_all(out, role, |_| Some(Ok(term)));
            return;
        }
        let population = ctx.population();
        let need = ctx.need(population);
        let voters = ctx.live_voters();
        let have = voters.len() + usize::from(ctx.i_vote());
        if have < need {
            let error = RoleError::NotEnoughMembers { have, need };
            self.complete_all(out, role, |w| {
                matches!(w, Waiter::Elect { .. }).then(|| Err(error.clone()))
            });
            let wait = ctx.config.rejoin_interval;
            self.schedule_retry(ctx, out, role, wait);
            return;
        }
        // Every term this node has seen was witnessed by its clock, so this one is higher.
        let term = ctx.clock.increment();
        let ballot = Ballot {
            term,
            candidate: ctx.me.name().clone(),
        };
        let mut election = Election::new(ballot.clone(), ctx.now, have, population);
        for voter in &voters {
            out.sends.push((
                voter.addr(),
                Body::VoteRequest {
                    role: role.clone(),
                    term,
                },
            ));
        }
        if ctx.i_vote() {
            let answer = self.voters.entry(role.clone()).or_default().vote(
                ctx.now,
                &ballot,
                ctx.config.lease,
                self.quiet_until,
            );
            if answer.is_ok() {
                self.arm_lease_check(out, role);
            }
            election.record(ctx.me, answer, population);
        }
        out.timers.push((
            ctx.now + ctx.config.election_timeout,
            RoleTimer::ElectionTimeout(role.clone(), term),
        ));
        self.elections.insert(role.clone(), election);
        self.settle_election(ctx, out, role);
    }

    fn settle_election(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        let Some(election) = self.elections.get(role) else {
            return;
        };
        match election.tally(ctx.config.quorum.as_ref()) {
            Tally::Pending => {}
            Tally::Won => self.won(ctx, out, role),
            Tally::Lost => self.lost(ctx, out, role),
        }
    }

    fn won(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        let Some(election) = self.elections.remove(role) else {
            return;
        };
        let term = election.ballot.term;
        let until = election.sent_at + ctx.config.holder_lease();
        if until <= ctx.now {
            // Won too late to hold it for any time at all: give it back and try again.
            self.elections.insert(role.clone(), election);
            self.lost(ctx, out, role);
            return;
        }
        self.held.insert(role.clone(), Held { term, until });
        out.timers
            .push((until, RoleTimer::HolderCheck(role.clone())));
        out.events.push(Event::RoleAcquired {
            role: role.clone(),
            term,
        });
        self.learn(out, role, |v| v.elected(ctx.me.name(), term));
        out.announcements.push(Announcement::Elected {
            role: role.clone(),
            holder: ctx.me.name().clone(),
            term,
        });
        self.complete_all(out, role, |_| Some(Ok(term)));
        self.campaigns.remove(role);
        if !self.renewing {
            self.renewing = true;
            out.timers
                .push((ctx.now + ctx.config.renew_interval, RoleTimer::Renew));
            out.timers
                .push((ctx.now + ctx.config.lease, RoleTimer::Reannounce));
        }
    }

    fn lost(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        let Some(election) = self.elections.remove(role) else {
            return;
        };
        let term = election.ballot.term;
        // Give back the votes: each was also a lease that would block the next election.
        for voter in election.granted.values() {
            if voter.name() == ctx.me.name() {
                self.voters
                    .entry(role.clone())
                    .or_default()
                    .release(ctx.me.name(), term);
            } else {
                out.sends.push((
                    voter.addr(),
                    Body::Release {
                        role: role.clone(),
                        term,
                    },
                ));
            }
        }
        if let Some(rival) = &election.rival {
            let error = RoleError::Lost {
                holder: rival.holder.clone(),
                term: rival.term,
            };
            self.complete_all(out, role, |w| {
                matches!(w, Waiter::Elect { .. }).then(|| Err(error.clone()))
            });
        }
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        let timeout = ctx.config.election_timeout;
        let wait = match election.retry_after {
            // A lease running out or a voter's quiet time: come back when it is over.
            Some(wait) => wait + jitter(&mut self.rng, timeout / 4),
            // Split votes or a higher ballot: back off, further each time.
            None => {
                campaign.attempt = campaign.attempt.saturating_add(1);
                backoff(
                    &mut self.rng,
                    campaign.attempt,
                    timeout / 8,
                    ctx.config.lease,
                )
            }
        };
        self.schedule_retry(ctx, out, role, wait);
    }

    fn schedule_retry(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        wait: Duration,
    ) {
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        campaign.token += 1;
        out.timers.push((
            ctx.now + wait,
            RoleTimer::Retry(role.clone(), campaign.token),
        ));
    }

    /// Completes every waiter of `role` for which `outcome` gives a result; drops the
    /// campaign once nobody waits.
    fn complete_all(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        outcome: impl Fn(&Waiter) -> Option<Result<LamportTime, RoleError>>,
    ) {
        let Some(campaign) = self.campaigns.get_mut(role) else {
            return;
        };
        campaign.waiters.retain(|waiter| match outcome(waiter) {
            Some(result) => {
                out.completions.push(Completion::Elect {
                    id: waiter.id(),
                    role: role.clone(),
                    result,
                });
                false
            }
            None => true,
        });
        if campaign.waiters.is_empty() {
            self.campaigns.remove(role);
        }
    }

    // ---- holding ----------------------------------------------------------------------

    fn step_down(&mut self, out: &mut Outbox, role: &RoleName, reason: LossReason) {
        if let Some(held) = self.held.remove(role) {
            out.events.push(Event::RoleLost {
                role: role.clone(),
                term: held.term,
                reason,
            });
            self.learn(out, role, |v| v.ended(held.term));
        }
    }

    /// Steps down from every role whose lease has run out; the core calls this before it
    /// handles any input, so a node that was paused never acts on a stale belief.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Outbox) {
        let expired: Vec<RoleName> = self
            .held
            .iter()
            .filter(|(_, h)| h.until <= now)
            .map(|(r, _)| r.clone())
            .collect();
        for role in expired {
            self.step_down(out, &role, LossReason::LeaseExpired);
        }
    }

    fn renew(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            self.renewing = false;
            return;
        }
        let leases: Vec<(RoleName, LamportTime)> =
            self.held.iter().map(|(r, h)| (r.clone(), h.term)).collect();
        let population = ctx.population();
        let round = self.renewals.start(ctx.now, &leases, population);
        for chunk in chunks(&leases, ctx.config.max_datagram_size) {
            for voter in ctx.live_voters() {
                out.sends.push((
                    voter.addr(),
                    Body::Renew {
                        round,
                        leases: chunk.to_vec(),
                    },
                ));
            }
        }
        if ctx.i_vote() {
            let mut acked = Vec::new();
            for (role, term) in &leases {
                let voter = self.voters.entry(role.clone()).or_default();
                if voter.renew(
                    ctx.now,
                    ctx.me.name(),
                    *term,
                    ctx.config.lease,
                    self.quiet_until,
                ) {
                    acked.push(*term);
                }
            }
            for (role, _) in &leases {
                self.arm_lease_check(out, role);
            }
            let me = ctx.me.name().clone();
            self.renewed(ctx, round, &me, ctx.population(), &acked);
        }
        // A round sent a holder lease ago can no longer extend anything.
        if let Some(cutoff) = ctx.now.checked_sub(ctx.config.holder_lease()) {
            self.renewals.prune(cutoff);
        }
        out.timers
            .push((ctx.now + ctx.config.renew_interval, RoleTimer::Renew));
    }

    fn renewed(
        &mut self,
        ctx: &Ctx<'_>,
        round: u64,
        voter: &NodeName,
        population: usize,
        acked: &[LamportTime],
    ) {
        let reached =
            self.renewals
                .ack(round, voter, population, acked, ctx.config.quorum.as_ref());
        for (role, term, sent_at) in reached {
            if let Some(held) = self.held.get_mut(&role)
                && held.term == term
            {
                held.until = held.until.max(sent_at + ctx.config.holder_lease());
            }
        }
    }

    fn reannounce(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            return;
        }
        // Anti-entropy: gossip is not guaranteed to reach everyone, so holders tell a few
        // random members again; those that missed it pass it on.
        let targets: Vec<SocketAddr> = ctx
            .membership
            .live()
            .filter(|id| id.name() != ctx.me.name())
            .map(NodeId::addr)
            .sample(&mut self.rng, ctx.config.gossip_fanout);
        for (role, held) in &self.held {
            let announcement = Announcement::Elected {
                role: role.clone(),
                holder: ctx.me.name().clone(),
                term: held.term,
            };
            for addr in &targets {
                out.sends
                    .push((*addr, Body::Announce(announcement.clone())));
            }
        }
        out.timers
            .push((ctx.now + ctx.config.lease, RoleTimer::Reannounce));
    }

    // ---- voting -----------------------------------------------------------------------

    /// Makes sure a check runs when the lease this node granted for `role` ends.
    fn arm_lease_check(&mut self, out: &mut Outbox, role: &RoleName) {
        let until = self
            .voters
            .get(role)
            .and_then(|v| v.lease.as_ref())
            .map(|l| l.until);
        if let Some(until) = until
            && self.lease_checks.insert(role.clone())
        {
            out.timers
                .push((until, RoleTimer::LeaseCheck(role.clone())));
        }
    }

    fn lease_check(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        self.lease_checks.remove(role);
        let Some(voter) = self.voters.get_mut(role) else {
            return;
        };
        match voter.lease.clone() {
            Some(lease) if lease.until > ctx.now => self.arm_lease_check(out, role),
            Some(lease) => {
                voter.lease = None;
                if lease.holder != *ctx.me.name() {
                    self.learn(out, role, |v| v.ended(lease.term));
                }
                // The holder this node vouched for went quiet: a waiting candidate tries,
                // after a random pause so that rivals rarely collide.
                if self.campaigns.contains_key(role) && !self.held.contains_key(role) {
                    let wait = jitter(&mut self.rng, ctx.config.election_timeout / 2);
                    self.schedule_retry(ctx, out, role, wait);
                }
            }
            None => {}
        }
    }

    /// Applies `change` to the view of `role` and reports it if it changed.
    fn learn(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        change: impl FnOnce(&mut view::View) -> bool,
    ) {
        let view = self.views.entry(role.clone()).or_default();
        if change(view) {
            out.events.push(Event::RoleChanged {
                role: role.clone(),
                state: view.state().clone(),
            });
        }
    }

    // ---- messages ---------------------------------------------------------------------

    /// Handles a role message from `from`.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        body: Body,
    ) {
        match body {
            Body::Announce(_) => {}
            Body::VoteRequest { role, term } => {
                if !ctx.i_vote() {
                    return;
                }
                let ballot = Ballot {
                    term,
                    candidate: from.name().clone(),
                };
                let voter = self.voters.entry(role.clone()).or_default();
                let answer = voter.vote(ctx.now, &ballot, ctx.config.lease, self.quiet_until);
                let promised = voter.promised.clone();
                let (holder, retry_after) = match &answer {
                    Ok(()) => (None, Duration::ZERO),
                    Err(Refusal::Quiet { retry_after }) => (None, *retry_after),
                    Err(Refusal::Leased {
                        tenure,
                        retry_after,
                    }) => (Some(tenure.clone()), *retry_after),
                    Err(Refusal::Promised) => (None, Duration::ZERO),
                };
                if answer.is_ok() {
                    self.arm_lease_check(out, &role);
                }
                let reply = VoteReply {
                    role,
                    term,
                    granted: answer.is_ok(),
                    population: ctx.population_u32(),
                    promised,
                    holder,
                    retry_after_ms: u32::try_from(retry_after.as_millis())
                        .unwrap_or(u32::MAX)
                        .max(u32::from(!retry_after.is_zero())),
                };
                out.sends.push((from.addr(), Body::VoteReply(reply)));
            }
            Body::VoteReply(reply) => {
                let Some(election) = self.elections.get_mut(&reply.role) else {
                    return;
                };
                if election.ballot.term != reply.term {
                    return;
                }
                let retry_after = Duration::from_millis(reply.retry_after_ms.into());
                let answer = match (reply.granted, reply.holder) {
                    (true, _) => Ok(()),
                    (false, Some(tenure)) => Err(Refusal::Leased {
                        tenure,
                        retry_after,
                    }),
                    (false, None) if !retry_after.is_zero() => Err(Refusal::Quiet { retry_after }),
                    (false, None) => Err(Refusal::Promised),
                };
                election.record(from, answer, reply.population as usize);
                let role = reply.role;
                self.settle_election(ctx, out, &role);
            }
            Body::Renew { round, leases } => {
                if !ctx.i_vote() {
                    return;
                }
                let mut acked = Vec::new();
                for (role, term) in leases {
                    let voter = self.voters.entry(role.clone()).or_default();
                    if voter.renew(
                        ctx.now,
                        from.name(),
                        term,
                        ctx.config.lease,
                        self.quiet_until,
                    ) {
                        acked.push(term);
                        self.arm_lease_check(out, &role);
                        self.learn(out, &role, |v| v.elected(from.name(), term));
                    }
                }
                out.sends.push((
                    from.addr(),
                    Body::RenewReply {
                        round,
                        population: ctx.population_u32(),
                        acked,
                    },
                ));
            }
            Body::RenewReply {
                round,
                population,
                acked,
            } => {
                self.renewed(ctx, round, from.name(), population as usize, &acked);
            }
            Body::Release { role, term } => {
                if let Some(voter) = self.voters.get_mut(&role) {
                    voter.release(from.name(), term);
                }
            }
            Body::Recall { role, request } => {
                if !ctx.i_vote() {
                    return;
                }
                let recalled = self.voters.entry(role).or_default().recall(ctx.now);
                out.sends.push((
                    from.addr(),
                    Body::RecallReply {
                        request,
                        population: ctx.population_u32(),
                        recalled,
                    },
                ));
            }
            Body::RecallReply {
                request,
                population,
                recalled,
            } => {
                let id = RequestId(request);
                if let Some(r) = self.requests.get_mut(&id) {
                    r.record(
                        from.name(),
                        population as usize,
                        recalled.map(|t| (t, true)),
                    );
                    self.settle_request(ctx, out, id);
                }
            }
            Body::Query { role, request } => {
                if !ctx.i_vote() {
                    return;
                }
                let voter = self.voters.entry(role).or_default();
                let lease = voter.live_lease(ctx.now).map(voter::Lease::tenure);
                let recalled = voter.is_recalled(ctx.now);
                out.sends.push((
                    from.addr(),
                    Body::QueryReply {
                        request,
                        population: ctx.population_u32(),
                        lease,
                        recalled,
                    },
                ));
            }
            Body::QueryReply {
                request,
                population,
                lease,
                recalled,
            } => {
                let id = RequestId(request);
                if let Some(r) = self.requests.get_mut(&id) {
                    r.record(
                        from.name(),
                        population as usize,
                        lease.map(|t| (t, recalled)),
                    );
                    self.settle_request(ctx, out, id);
                }
            }
        }
    }

    fn settle_request(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, id: RequestId) {
        let Some(request) = self.requests.get(&id) else {
            return;
        };
        let Some(completion) = request.outcome(id, ctx.config.quorum.as_ref()) else {
            return;
        };
        let request = self.requests.remove(&id);
        if let (
            Some(request),
            Completion::Recall {
                result: Ok(term), ..
            },
        ) = (request, &completion)
        {
            let role = request.role;
            out.announcements.push(Announcement::Recalled {
                role: role.clone(),
                term: *term,
            });
            self.learn(out, &role, |v| v.recalled(*term));
            if self.held.get(&role).is_some_and(|h| h.term <= *term) {
                self.step_down(out, &role, LossReason::Recalled);
            }
        }
        out.completions.push(completion);
    }

    /// Applies a role announcement heard by gossip or directly.
    pub(crate) fn on_announcement(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        announcement: &Announcement,
    ) {
        match announcement {
            Announcement::Elected { role, holder, term } => {
                ctx.clock.witness(*term);
                self.learn(out, role, |v| v.elected(holder, *term));
                if holder != ctx.me.name() && self.held.get(role).is_some_and(|h| h.term < *term) {
                    self.step_down(out, role, LossReason::Superseded);
                }
            }
            Announcement::Recalled { role, term } => {
                ctx.clock.witness(*term);
                self.learn(out, role, |v| v.recalled(*term));
                if self.held.get(role).is_some_and(|h| h.term <= *term) {
                    self.step_down(out, role, LossReason::Recalled);
                }
            }
            Announcement::Resigned { role, holder, term } => {
                ctx.clock.witness(*term);
                self.learn(out, role, |v| v.ended(*term));
                if let Some(voter) = self.voters.get_mut(role) {
                    voter.release(holder, *term);
                }
                // A handoff: waiting candidates go at once, spread over a few
                // milliseconds so that they rarely split the vote.
                if self.campaigns.contains_key(role) && !self.elections.contains_key(role) {
                    let wait = jitter(&mut self.rng, ctx.config.election_timeout / 30);
                    self.schedule_retry(ctx, out, role, wait);
                }
            }
            Announcement::Left { .. } | Announcement::ForceLeft { .. } => {}
        }
    }

    /// Handles a role timer.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, timer: RoleTimer) {
        match timer {
            RoleTimer::Renew => self.renew(ctx, out),
            RoleTimer::Reannounce => self.reannounce(ctx, out),
            RoleTimer::HolderCheck(role) => {
                if let Some(held) = self.held.get(&role) {
                    if held.until <= ctx.now {
                        self.step_down(out, &role, LossReason::LeaseExpired);
                    } else {
                        out.timers.push((held.until, RoleTimer::HolderCheck(role)));
                    }
                }
            }
            RoleTimer::LeaseCheck(role) => self.lease_check(ctx, out, &role),
            RoleTimer::ElectionTimeout(role, term) => {
                if self
                    .elections
                    .get(&role)
                    .is_some_and(|e| e.ballot.term == term)
                {
                    self.lost(ctx, out, &role);
                }
            }
            RoleTimer::Retry(role, token) => {
                if self.campaigns.get(&role).is_some_and(|c| c.token == token) {
                    self.try_elect(ctx, out, &role);
                }
            }
            RoleTimer::RequestTimeout(id) => {
                if let Some(request) = self.requests.remove(&id) {
                    out.completions.push(request.fail(id, RoleError::TimedOut));
                }
                let elect = self.campaigns.iter().find_map(|(role, c)| {
                    c.waiters
                        .iter()
                        .any(|w| matches!(w, Waiter::Elect { id: i, deadline } if *i == id && *deadline <= ctx.now))
                        .then(|| role.clone())
                });
                if let Some(role) = elect {
                    self.complete_all(out, &role, |w| {
                        (w.id() == id).then_some(Err(RoleError::TimedOut))
                    });
                }
            }
        }
    }
}

/// Splits `leases` into groups that each fit in one datagram of `max_datagram` bytes.
fn chunks(
    leases: &[(RoleName, LamportTime)],
    max_datagram: usize,
) -> Vec<&[(RoleName, LamportTime)]> {
    // Envelope, sealing, sender identity and framing take well under 200 bytes; each
    // lease takes its name, a length and a term of at most 10 bytes each.
    let budget = max_datagram.saturating_sub(200).max(1);
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, (role, _)) in leases.iter().enumerate() {
        let size = role.as_str().len() + 12;
        if used + size > budget && i > start {
            groups.push(&leases[start..i]);
            start = i;
            used = 0;
        }
        used += size;
    }
    if start < leases.len() {
        groups.push(&leases[start..]);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_fit_in_datagrams() {
        let leases: Vec<(RoleName, LamportTime)> = (0..100)
            .map(|i| (RoleName::new(format!("{i:0>100}")).unwrap(), LamportTime(i)))
            .collect();
        let groups = chunks(&leases, 1400);
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), 100);
        assert!(
            groups.iter().all(|g| g.len() * 112 <= 1200),
            "{:?}",
            groups.iter().map(|g| g.len()).collect::<Vec<_>>()
        );
        let short: Vec<(RoleName, LamportTime)> = (0..50)
            .map(|i| (RoleName::new(format!("r{i}")).unwrap(), LamportTime(i)))
            .collect();
        assert_eq!(
            chunks(&short, 1400).len(),
            1,
            "50 short names fit in one datagram"
        );
    }
}
