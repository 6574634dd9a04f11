//! Role elections, leases, resignations, recalls and queries (DESIGN sections 1 to 5).
//!
//! [`Roles`] holds every role's state on this node in its four capacities: voter
//! ([`voter`]), candidate ([`election`], [`campaign`]), holder ([`holder`], [`renewing`]) and observer
//! ([`view`]). It never sends anything itself: each call gets a [`Ctx`] (time, identity,
//! config, membership, clock) and fills an [`Outbox`] that the core carries out.

mod campaign;
mod election;
mod holder;
mod inbound;
mod outcome;
mod renewing;
mod requests;
pub(crate) use requests::RequestKind;
mod view;
mod voter;

pub use outcome::{Completion, LossReason, RequestId, RoleError};
pub use view::RoleState;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::Event;
use super::membership::{MemberStatus, Membership};
use crate::clock::{LamportClock, LamportTime};
use crate::config::Config;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Announcement, Ballot, Body};
use campaign::{Campaign, Waiter, rank_key};
use election::{Election, Tally};
use holder::{Held, Renewals};
use requests::Request;
use voter::Voter;

/// Timers of the role layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleTimer {
    /// Send the next renewal round.
    Renew,
    /// Send renewal round `id` again to the voters that have not answered it.
    Resend(u64),
    /// Holders re-announce what they hold to a few members.
    Reannounce,
    /// Check whether a held role's lease has run out.
    HolderCheck(RoleName),
    /// Check whether a held role went `renew_deadline` without a quorum renewing it.
    RiskCheck(RoleName),
    /// Check whether the lease this node granted for a role has run out.
    LeaseCheck(RoleName),
    /// Give up an election that has not been decided.
    ElectionTimeout(RoleName, LamportTime),
    /// Ask a voter again for its vote in the election at this term: it refused only for
    /// a lease that has run out since.
    AskAgain(RoleName, LamportTime, NodeId),
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
    /// Whether this node has been part of the cluster for a lease since it started (or
    /// has no join addresses, and so starts a cluster of its own). Before that its
    /// membership may hold little more than itself, and a population that small would
    /// make it a quorum on its own.
    pub(crate) joined: bool,
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
    /// This node grants no vote at or below this term: its clock when it started. Terms
    /// track wall-clock microseconds, so every term granted before a restart is below
    /// it, and a restarted voter, which has forgotten its promises, cannot help a
    /// candidate that never heard of them to a lower term than an earlier grant (S2).
    term_floor: LamportTime,
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
            term_floor,
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
        self.give_up(ctx, out, role, term, LossReason::Resigned);
        Ok(term)
    }

    /// Steps down from `role`, then tells the voters to release the lease (all of them, also
    /// those it believes down) and everyone that the term is over, so that the next
    /// election need not wait for the voters' leases to run out. Voters release only the
    /// lease of this holder at this term, and then open the contest.
    ///
    /// The release names a successor: the first, in the role's order, of the live
    /// candidates that asked this node for a vote in the last two leases. It asks at once
    /// instead of waiting its turn. Its release is sent last, so that on one network path
    /// every other voter has its release before the successor's vote request.
    fn give_up(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        term: LamportTime,
        reason: LossReason,
    ) {
        let since = ctx
            .now
            .checked_sub(ctx.config.successor_window())
            .unwrap_or(ctx.now);
        let successor = self.held.get(role).and_then(|held| {
            held.successor(
                since,
                |name| {
                    ctx.membership
                        .lookup(name)
                        .is_some_and(|(_, status)| status == MemberStatus::Alive)
                },
                |name| rank_key(role, name),
            )
        });
        self.step_down(out, role, reason);
        let mut voters = ctx.counted_voters();
        voters.sort_by_key(|voter| successor.as_ref() == Some(voter.name()));
        for voter in voters {
            out.sends.push((
                voter.addr(),
                Body::Release {
                    role: role.clone(),
                    term,
                    successor: successor.clone(),
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
        if !ctx.joined || have < need {
            let request = Request::new(kind, role, population);
            let error = if ctx.joined {
                RoleError::NotEnoughMembers { have, need }
            } else {
                RoleError::NotJoined
            };
            out.completions.push(request.fail(id, error));
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
        // This node's vote is with another candidate whose election is undecided: standing
        // now would split the vote (its own vote included), so wait for that election.
        if self
            .voters
            .get(role)
            .and_then(|voter| voter.live_lease(ctx.now))
            .is_some_and(|l| !l.confirmed && l.holder != *ctx.me.name())
        {
            let wait = ctx.undecided();
            self.schedule_retry(ctx, out, role, wait);
            return;
        }
        let population = ctx.population();
        let need = ctx.need(population);
        let voters = ctx.live_voters();
        let have = voters.len() + usize::from(ctx.i_vote());
        if !ctx.joined || have < need {
            let error = if ctx.joined {
                RoleError::NotEnoughMembers { have, need }
            } else {
                RoleError::NotJoined
            };
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
        tracing::debug!(me = %ctx.me.name(), %role, %term, have, need, "election started");
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
                ctx.undecided(),
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
        self.settle_election(ctx, out, role, false);
    }

    fn settle_election(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        time_up: bool,
    ) {
        let Some(election) = self.elections.get(role) else {
            return;
        };
        match election.tally(ctx.config.quorum.as_ref(), time_up) {
            Tally::Pending => {}
            Tally::Quorum => {
                // Wait for the others as long again as the quorum took (at least 1 ms):
                // enough for the living on a healthy network, without waiting the whole
                // election timeout for a voter that has crashed.
                if let Some(election) = self.elections.get_mut(role)
                    && !election.grace
                {
                    election.grace = true;
                    let took = ctx.now.saturating_duration_since(election.sent_at);
                    let at = ctx.now + took.max(Duration::from_millis(1));
                    let term = election.ballot.term;
                    out.timers
                        .push((at, RoleTimer::ElectionTimeout(role.clone(), term)));
                }
            }
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
        self.held.insert(role.clone(), Held::new(term, until));
        out.timers
            .push((until, RoleTimer::HolderCheck(role.clone())));
        out.timers.push((
            election.sent_at + ctx.config.renew_deadline,
            RoleTimer::RiskCheck(role.clone()),
        ));
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

    pub(super) fn lost(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        let Some(election) = self.elections.remove(role) else {
            return;
        };
        let term = election.ballot.term;
        tracing::debug!(
            me = %ctx.me.name(), %role, %term, granted = election.granted.len(),
            rival = ?election.rival, retry_after = ?election.retry_after, "election lost"
        );
        // Withdraw the ballot: each vote was also a lease, and a promise, that would
        // stand in the way of the holder's renewals and of the next election.
        for voter in election.granted.values() {
            if voter.name() == ctx.me.name() {
                self.voters
                    .entry(role.clone())
                    .or_default()
                    .withdraw(ctx.me.name(), term);
            } else {
                out.sends.push((
                    voter.addr(),
                    Body::Withdraw {
                        role: role.clone(),
                        term,
                    },
                ));
            }
        }
        // A voter that has not yet heard of a resignation this node already knows of
        // reports the old lease: that obstacle is about to go away.
        let rival = election
            .rival
            .clone()
            .filter(|r| !self.views.get(role).is_some_and(|v| v.has_ended(r.term)));
        let retry_after = match (&election.rival, &rival) {
            (Some(_), None) => Some(ctx.undecided()),
            _ => election.retry_after,
        };
        if let Some(rival) = &rival {
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
        // Come back when what stood in the way is over (a lease running out, a voter's
        // quiet time, a rival's undecided election), plus a backoff that grows with each
        // loss, so that rivals drift apart instead of colliding again.
        // Losing to a live holder is no contest between candidates: it does not count.
        // Against rivals, come back in turn (rank order), with turns that widen with each
        // loss, so that one candidate asks while the others wait and then vote for it.
        if rival.is_none() {
            campaign.attempt = campaign.attempt.saturating_add(1);
        }
        let widen = 1u32 << campaign.attempt.min(3);
        let step = ctx.config.retry_step().saturating_mul(widen);
        let mut wait = retry_after.unwrap_or_default() + self.turn(ctx, role, step);
        // The election ran its time and no other voter answered: this node cannot hear
        // them, though they may hear it. Asking again at once would only tie up their
        // votes while candidates that can hear them elect, so it stands aside for a lease.
        if election.unanswered() && ctx.now >= election.sent_at + ctx.config.election_timeout {
            wait = wait.max(ctx.config.lease);
        }
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
                // The holder this node vouched for went quiet: waiting candidates try in
                // turn, 30 ms apart with lan, so that rivals rarely collide.
                self.contest_opens(ctx, out, role, ctx.config.contest_step(), None);
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
}
