//! Elections: one in flight per role, its ballot, who was asked and the tally of the
//! replies, and the flow around it: starting it, counting each reply, deciding it at a
//! quorum or when its time is up, and the win or the loss (withdrawing the ballot,
//! coming back in turn).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::campaign::Waiter;
use super::voter::Refusal;
use super::{Ctx, Event, Held, Outbox, RoleError, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeId, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::{Ballot, Body, Tenure, VoteReply};

/// How an election stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tally {
    /// Still possible either way.
    Pending,
    /// A quorum granted, but voters are yet to answer: one of them could report a larger
    /// population and raise the bar. Wait a little for them.
    Quorum,
    /// A quorum granted, and every voter asked has answered (or time is up): a late
    /// answer could report a larger population and raise the bar.
    Won,
    /// Even if every voter yet to answer granted, there would be no quorum.
    Lost,
}

#[derive(Debug)]
pub(crate) struct Election {
    pub(crate) ballot: Ballot,
    /// Local time the vote requests were sent; the holder's lease counts from here.
    pub(crate) sent_at: Instant,
    asked: usize,
    population: usize,
    /// Voters that granted, by name, with the identity to send a release to.
    pub(crate) granted: BTreeMap<crate::identity::NodeName, NodeId>,
    /// Whether any voter but the candidate itself has answered.
    heard_from_others: bool,
    /// Voters that refused, by name.
    refused: BTreeSet<crate::identity::NodeName>,
    /// A live holder some voter reported.
    pub(crate) rival: Option<Tenure>,
    /// The longest wait a voter asked for before it could grant.
    pub(crate) retry_after: Option<Duration>,
    /// Whether the wait for the voters still to answer after a quorum has begun.
    pub(crate) grace: bool,
    /// The election's span (`role`, `term`, then `outcome`): it closes when the election
    /// is decided, so a log shows one election as one span.
    pub(crate) span: tracing::Span,
    /// The priority the vote requests carry.
    pub(crate) priority: u32,
}

impl Election {
    pub(crate) fn new(ballot: Ballot, sent_at: Instant, asked: usize, population: usize) -> Self {
        Election {
            span: tracing::Span::none(),
            priority: 0,
            ballot,
            sent_at,
            asked,
            population,
            granted: BTreeMap::new(),
            refused: BTreeSet::new(),
            heard_from_others: false,
            rival: None,
            retry_after: None,
            grace: false,
        }
    }

    /// Records one voter's answer and the population it reported.
    pub(crate) fn record(
        &mut self,
        voter: &NodeId,
        answer: Result<(), Refusal>,
        population: usize,
    ) {
        if self.granted.contains_key(voter.name()) {
            return;
        }
        self.heard_from_others |= *voter.name() != self.ballot.candidate;
        self.population = self.population.max(population);
        match answer {
            Ok(()) => {
                self.granted.insert(voter.name().clone(), voter.clone());
            }
            Err(refusal) => {
                self.refused.insert(voter.name().clone());
                let wait = match refusal {
                    Refusal::Busy { retry_after } => Some(retry_after),
                    Refusal::Leased {
                        tenure,
                        retry_after,
                    } => {
                        if self.rival.as_ref().is_none_or(|r| tenure.term > r.term) {
                            self.rival = Some(tenure);
                        }
                        Some(retry_after)
                    }
                    Refusal::Promised => None,
                };
                self.retry_after = self.retry_after.max(wait);
            }
        }
    }

    /// Whether the candidate asked other voters and, by the end of the election, had
    /// heard from none: it cannot hear them (cut off, or deaf while it can still send).
    pub(crate) fn unanswered(&self) -> bool {
        self.asked > 1 && !self.heard_from_others
    }

    /// Takes back `voter`'s refusal before asking it again; false if it had not refused.
    pub(crate) fn ask_again(&mut self, voter: &crate::identity::NodeName) -> bool {
        self.refused.remove(voter)
    }

    /// Votes needed with the largest population heard of.
    pub(crate) fn need(&self, quorum: &dyn QuorumFunc) -> usize {
        quorum.votes_required(self.population)
    }

    /// How the election stands; `time_up` once the election timeout has passed.
    pub(crate) fn tally(&self, quorum: &dyn QuorumFunc, time_up: bool) -> Tally {
        let need = self.need(quorum);
        let granted = self.granted.len();
        let outstanding = self.asked.saturating_sub(granted + self.refused.len());
        if granted >= need && (outstanding == 0 || time_up) {
            Tally::Won
        } else if granted >= need {
            Tally::Quorum
        } else if granted + outstanding < need || time_up {
            Tally::Lost
        } else {
            Tally::Pending
        }
    }
}

impl Roles {
    /// A voter answers this node's vote request.
    pub(super) fn on_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        reply: VoteReply,
    ) {
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

    /// The election at `term` ran its time: decide it with the answers it has.
    pub(super) fn election_timeout(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        term: LamportTime,
    ) {
        if self
            .elections
            .get(role)
            .is_some_and(|e| e.ballot.term == term)
        {
            self.settle_election(ctx, out, role, true);
        }
    }

    /// Asks `voter` again for its vote at `term`, if the election is still on and the
    /// voter has not granted it.
    pub(super) fn ask_again(
        &mut self,
        out: &mut Outbox,
        role: RoleName,
        term: LamportTime,
        voter: &NodeId,
    ) {
        if let Some(election) = self.elections.get_mut(&role)
            && election.ballot.term == term
            && election.ask_again(voter.name())
        {
            let priority = election.priority;
            out.sends.push((
                voter.addr(),
                Body::VoteRequest {
                    role,
                    term,
                    priority,
                },
            ));
        }
    }

    pub(super) fn try_elect(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
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
        let mut election = Election::new(ballot.clone(), ctx.now, have, population);
        election.span = tracing::info_span!(
            "election",
            node = %ctx.me.name(),
            %role,
            %term,
            outcome = tracing::field::Empty
        );
        election
            .span
            .in_scope(|| tracing::debug!(have, need, "election started"));
        let priority = self.campaigns.get(role).map_or(0, |c| c.priority);
        election.priority = priority;
        for voter in &voters {
            out.sends.push((
                voter.addr(),
                Body::VoteRequest {
                    role: role.clone(),
                    term,
                    priority,
                },
            ));
        }
        if ctx.i_vote() {
            let (answer, _) = self.cast_vote(ctx, out, role, &ballot);
            election.record(ctx.me, answer, population);
        }
        out.timers.push((
            ctx.now + ctx.config.election_timeout,
            RoleTimer::ElectionTimeout(role.clone(), term),
        ));
        self.elections.insert(role.clone(), election);
        self.settle_election(ctx, out, role, false);
    }

    pub(super) fn settle_election(
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

    pub(super) fn won(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
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
        let took = ctx.now.saturating_duration_since(election.sent_at);
        ctx.stats.elections_won.observe(took);
        election.span.record("outcome", "won");
        self.held_version.changed();
        let since = self.held_version.current();
        let (value, priority) = self
            .campaigns
            .get(role)
            .map(|campaign| (campaign.value.clone(), campaign.priority))
            .unwrap_or_default();
        #[cfg(feature = "sim")]
        if let Some(published) = &mut self.published {
            published.push((role.clone(), term, 0, value.clone()));
        }
        let held = Held::new(term, value.clone(), ctx.now, until, since, priority);
        let announcement = held.announcement(role, ctx.me.name());
        self.held.insert(role.clone(), held);
        self.held_floor = Some(self.held_floor.map_or(until, |floor| floor.min(until)));
        self.arm_holder_check(out, until);
        self.arm_risk_check(out, election.sent_at + ctx.config.renew_deadline);
        out.events.push(Event::RoleAcquired {
            role: role.clone(),
            term,
        });
        self.learn(out, role, |v| v.elected(ctx.me.name(), term, 0, &value));
        out.announcements.push(announcement);
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
        let took = ctx.now.saturating_duration_since(election.sent_at);
        ctx.stats.elections_lost.observe(took);
        election.span.record("outcome", "lost");
        let _in_election = election.span.enter();
        tracing::debug!(
            me = %ctx.me.name(), %role, %term, granted = election.granted.len(),
            rival = ?election.rival, retry_after = ?election.retry_after, "election lost"
        );
        // Withdraw the ballot: each vote was also a lease, and a promise, that would
        // stand in the way of the holder's renewals and of the next election.
        for voter in election.granted.values() {
            if voter.name() == ctx.me.name() {
                self.voters
                    .update(out, role, |v| v.withdraw(ctx.me.name(), term));
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LamportTime;
    use crate::identity::NodeName;
    use crate::quorum::Majority;

    fn id(name: &str) -> NodeId {
        NodeId::new(NodeName::new(name).unwrap(), ([127, 0, 0, 1], 1).into(), 1)
    }

    fn election(asked: usize, population: usize) -> Election {
        let ballot = Ballot {
            term: LamportTime(5),
            candidate: NodeName::new("c").unwrap(),
        };
        Election::new(ballot, Instant::now(), asked, population)
    }

    #[test]
    fn a_quorum_of_grants_wins_once_everyone_answered_or_time_is_up() {
        let mut e = election(5, 5);
        e.record(&id("a"), Ok(()), 5);
        e.record(&id("b"), Ok(()), 5);
        e.record(&id("b"), Ok(()), 5);
        assert_eq!(
            e.tally(&Majority, false),
            Tally::Pending,
            "a duplicate counts once"
        );
        e.record(&id("c"), Ok(()), 5);
        assert_eq!(
            e.tally(&Majority, false),
            Tally::Quorum,
            "two voters yet to answer"
        );
        assert_eq!(e.tally(&Majority, true), Tally::Won, "time is up");
        e.record(&id("d"), Err(Refusal::Promised), 5);
        e.record(&id("e"), Ok(()), 5);
        assert_eq!(e.tally(&Majority, false), Tally::Won);
    }

    #[test]
    fn a_late_answer_with_a_larger_population_turns_a_win_into_a_loss() {
        let mut e = election(3, 3);
        e.record(&id("a"), Ok(()), 3);
        e.record(&id("b"), Ok(()), 3);
        assert_eq!(e.tally(&Majority, false), Tally::Quorum);
        // The last voter knows of 7 members: 2 grants are not a majority of 7.
        e.record(&id("c"), Err(Refusal::Promised), 7);
        assert_eq!(e.tally(&Majority, false), Tally::Lost);
    }

    #[test]
    fn the_election_is_lost_as_soon_as_a_quorum_is_out_of_reach() {
        let mut e = election(5, 5);
        e.record(&id("a"), Err(Refusal::Promised), 5);
        e.record(&id("b"), Err(Refusal::Promised), 5);
        assert_eq!(e.tally(&Majority, false), Tally::Pending);
        let tenure = Tenure {
            holder: NodeName::new("h").unwrap(),
            term: LamportTime(4),
        };
        let retry_after = Duration::from_millis(30);
        e.record(
            &id("c"),
            Err(Refusal::Leased {
                tenure,
                retry_after,
            }),
            5,
        );
        assert_eq!(e.tally(&Majority, false), Tally::Lost);
        assert_eq!(e.rival.as_ref().map(|r| r.term), Some(LamportTime(4)));
        assert_eq!(e.retry_after, Some(retry_after));
    }

    #[test]
    fn an_undecided_election_is_lost_when_time_is_up() {
        let mut e = election(5, 5);
        e.record(&id("a"), Ok(()), 5);
        assert_eq!(e.tally(&Majority, true), Tally::Lost);
    }
}
