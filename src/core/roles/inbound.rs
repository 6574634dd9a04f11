//! What reaches the role layer from outside: messages from other nodes, announcements
//! heard by gossip, and its own timers.

use std::time::Duration;

use super::campaign::Waiter;
use super::election::Tally;
use super::voter::{self, Refusal};
use super::{Completion, Ctx, Event, LossReason, Outbox, RequestId, RoleError, RoleTimer, Roles};
use crate::identity::NodeId;
use crate::wire::{Announcement, Ballot, Body, Tenure, VoteReply};

impl Roles {
    /// Handles a role message from `from`.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        body: Body,
    ) {
        match body {
            Body::Announce(_) | Body::KeyRequest { .. } | Body::KeyReply { .. } => {}
            Body::VoteRequest { role, term } => {
                if !ctx.i_vote() {
                    return;
                }
                let ballot = Ballot {
                    term,
                    candidate: from.name().clone(),
                };
                // Ballot tie-break: a candidate asked to vote for a higher ballot gives
                // its own undecided election up and votes for the higher one, so that
                // concurrent candidates converge on one instead of splitting the vote.
                // Only a candidate may do this with its own vote, and only while it has no
                // quorum: it knows it has not won.
                let quorum = ctx.config.quorum.as_ref();
                if self.elections.get(&role).is_some_and(|mine| {
                    mine.ballot < ballot && mine.tally(quorum, false) == Tally::Pending
                }) {
                    self.lost(ctx, out, &role);
                }
                let voter = self.voters.entry(role.clone()).or_default();
                let answer = if term <= self.term_floor {
                    Err(Refusal::Promised)
                } else {
                    voter.vote(
                        ctx.now,
                        &ballot,
                        ctx.config.lease,
                        self.quiet_until,
                        ctx.undecided(),
                    )
                };
                let promised = voter.promised.clone();
                let (holder, retry_after) = match &answer {
                    Ok(()) => (None, Duration::ZERO),
                    Err(Refusal::Busy { retry_after }) => (None, *retry_after),
                    Err(Refusal::Leased {
                        tenure,
                        retry_after,
                    }) => (Some(tenure.clone()), *retry_after),
                    Err(Refusal::Promised) => (None, Duration::ZERO),
                };
                if answer.is_ok() {
                    self.arm_lease_check(out, &role);
                } else if let Some(held) = self.held.get_mut(&role) {
                    held.candidate_asked(from.name(), ctx.now);
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
                let Some(election) = self
                    .elections
                    .get_mut(&reply.role)
                    .filter(|e| e.ballot.term == reply.term)
                else {
                    // A vote that came after its election was decided: unless it won,
                    // give it back, or the voter's promise would stand in the way.
                    let won = self
                        .held
                        .get(&reply.role)
                        .is_some_and(|h| h.term == reply.term);
                    if reply.granted && !won {
                        let (role, term) = (reply.role, reply.term);
                        out.sends.push((from.addr(), Body::Withdraw { role, term }));
                    }
                    return;
                };
                let retry_after = Duration::from_millis(reply.retry_after_ms.into());
                // A lease this node knows was given up: the voter has yet to hear the
                // release, so it stands for no rival.
                let stale = reply.holder.as_ref().is_some_and(|tenure| {
                    self.views
                        .get(&reply.role)
                        .is_some_and(|view| view.has_ended(tenure.term))
                });
                let answer = match (reply.granted, reply.holder) {
                    (true, _) => Ok(()),
                    (false, Some(_)) if stale => Err(Refusal::Busy {
                        retry_after: ctx.config.handoff_step(),
                    }),
                    (false, Some(tenure)) => Err(Refusal::Leased {
                        tenure,
                        retry_after,
                    }),
                    (false, None) if !retry_after.is_zero() => Err(Refusal::Busy { retry_after }),
                    (false, None) => Err(Refusal::Promised),
                };
                // A voter that still held another holder's lease for a moment (leases
                // granted a few milliseconds apart run out a few milliseconds apart) is
                // asked again once that lease is over, within this election, instead of
                // losing the election and splitting the vote in the next. One that has
                // yet to hear a release is asked again a handoff step later, for the
                // first tenth of the election only: the release may have been lost.
                let (after, within) = if stale {
                    (ctx.config.handoff_step(), ctx.config.contest_step())
                } else {
                    (
                        retry_after + Duration::from_millis(1),
                        ctx.config.election_timeout,
                    )
                };
                let ask_again = (stale || matches!(answer, Err(Refusal::Leased { .. })))
                    && ctx.now + after < election.sent_at + within;
                election.record(from, answer, reply.population as usize);
                let role = reply.role;
                if ask_again {
                    let at = ctx.now + after;
                    let timer = RoleTimer::AskAgain(role.clone(), reply.term, from.clone());
                    out.timers.push((at, timer));
                }
                self.settle_election(ctx, out, &role, false);
            }
            Body::Renew { round, leases } => {
                if !ctx.i_vote() {
                    return;
                }
                let mut acked = Vec::new();
                for (role, term) in leases {
                    let voter = self.voters.entry(role.clone()).or_default();
                    if voter.renew(ctx.now, from.name(), term, ctx.config.lease) {
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
            Body::Release {
                role,
                term,
                successor,
            } => {
                let voter = self.voters.entry(role.clone()).or_default();
                let news = voter.closed_through < Some(term);
                voter.release(from.name(), term);
                if news {
                    self.learn(out, &role, |v| v.ended(term));
                }
                // The holder gave the role up, or named this node its successor: a
                // handoff.
                if news || successor.as_ref() == Some(ctx.me.name()) {
                    let step = ctx.config.handoff_step();
                    self.contest_opens(ctx, out, &role, step, successor.as_ref());
                }
            }
            Body::Withdraw { role, term } => {
                if let Some(voter) = self.voters.get_mut(&role) {
                    voter.withdraw(from.name(), term);
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
                let answer = recalled.map(|t| (t, true));
                self.answered(ctx, out, from, request, population, answer);
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
                let answer = lease.map(|t| (t, recalled));
                self.answered(ctx, out, from, request, population, answer);
            }
        }
    }

    /// Records a voter's answer to a recall or query: the live lease it reported, if any,
    /// and whether that lease is recalled.
    fn answered(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        request: u64,
        population: u32,
        answer: Option<(Tenure, bool)>,
    ) {
        let id = RequestId(request);
        if let Some(r) = self.requests.get_mut(&id) {
            r.record(from.name(), population as usize, answer);
            self.settle_request(ctx, out, id);
        }
    }

    pub(super) fn settle_request(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, id: RequestId) {
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
                // A voter the holder told directly has opened the contest already, with
                // the successor the holder named first.
                let told = self.voters.get_mut(role).is_some_and(|voter| {
                    let told = voter.closed_through >= Some(*term);
                    voter.release(holder, *term);
                    told
                });
                if !told {
                    self.contest_opens(ctx, out, role, ctx.config.handoff_step(), None);
                }
            }
            Announcement::Left { .. } | Announcement::ForceLeft { .. } => {}
        }
    }

    /// Handles a role timer.
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, timer: RoleTimer) {
        match timer {
            RoleTimer::Renew => self.renew(ctx, out),
            RoleTimer::Resend(round) => self.resend(ctx, out, round),
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
            RoleTimer::RiskCheck(role) => {
                if let Some(held) = self.held.get_mut(&role)
                    && !held.at_risk
                {
                    // `until` is `sent_at + holder_lease` of the last acknowledged round.
                    let risk_at =
                        held.until - ctx.config.holder_lease() + ctx.config.renew_deadline;
                    if risk_at <= ctx.now {
                        held.at_risk = true;
                        out.events.push(Event::RoleAtRisk {
                            role,
                            term: held.term,
                            until: held.until,
                        });
                    } else {
                        out.timers.push((risk_at, RoleTimer::RiskCheck(role)));
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
                    self.settle_election(ctx, out, &role, true);
                }
            }
            RoleTimer::AskAgain(role, term, voter) => {
                if let Some(election) = self.elections.get_mut(&role)
                    && election.ballot.term == term
                    && election.ask_again(voter.name())
                {
                    out.sends
                        .push((voter.addr(), Body::VoteRequest { role, term }));
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
