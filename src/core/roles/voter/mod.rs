//! Voting: a voter's promises and leases for one role (`docs/PROTOCOL.md` sections 3
//! and 4), and this node's answers as a voter to vote requests, renewals, releases,
//! withdrawals, recalls and queries. The rules' unit tests are in `tests.rs`.
//!
//! Invariants:
//! - `promised` only grows; a vote is granted only to a ballot above it (or equal to it,
//!   for the same candidate asking again);
//! - while a lease for one holder is unexpired, no other candidate gets a vote or a
//!   renewal: this is what makes the holder's own, shorter lease safe;
//! - during its quiet time after start (one lease), the voter grants nothing, since it
//!   has forgotten which leases it granted before it restarted;
//! - a recalled or released term is never renewed again, nor a term older than one
//!   already renewed;
//! - a withdrawal drops the withdrawn ballot's unconfirmed vote but never the promise:
//!   a promise that went back could let a ballot below a term that already won be
//!   granted, and fencing terms would then fall.

use std::time::{Duration, Instant};

mod sessions;
mod table;

pub(crate) use sessions::{ChangesChunk, Chunk};
pub(crate) use table::Voters;

use super::election::Tally;
use super::forget::Unchanged;
use super::requests::LeaseAnswer;
use super::{Ctx, Outbox, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Ballot, Body, Tenure, VoteReply};

/// A lease this voter granted or renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lease {
    pub(crate) holder: NodeName,
    pub(crate) term: LamportTime,
    /// Local time the lease ends.
    pub(crate) until: Instant,
    /// Whether the holder has renewed it, so it is known to have won; a vote not yet
    /// renewed may belong to a candidate that is about to lose.
    pub(crate) confirmed: bool,
}

impl Lease {
    /// Whether this lease, while it runs, lets `holder` at `term` take its place: only
    /// the same holder at the same or a later term. Each of a holder's terms relies on
    /// its own leases, so a lease for a later term is never traded for an earlier one
    /// (a renewal of a term the holder gave up, still on its way, would otherwise
    /// replace the vote for its next election, and the release of the old term would
    /// then drop that vote while the election counts it).
    fn admits(&self, holder: &NodeName, term: LamportTime) -> bool {
        self.holder == *holder && term >= self.term
    }

    pub(crate) fn tenure(&self) -> Tenure {
        Tenure {
            holder: self.holder.clone(),
            term: self.term,
        }
    }
}

/// Why a vote was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Something that passes: the voter's quiet time after start, or a vote for another
    /// candidate whose election is still undecided. Worth asking again after
    /// `retry_after`.
    Busy { retry_after: Duration },
    /// A confirmed holder's lease runs for `retry_after` more.
    Leased {
        tenure: Tenure,
        retry_after: Duration,
    },
    /// The voter promised a higher ballot; only a higher term can win it.
    Promised,
}

/// One voter's state for one role.
#[derive(Debug, Clone, Default)]
pub(crate) struct Voter {
    pub(crate) promised: Option<Ballot>,
    pub(crate) lease: Option<Lease>,
    /// Renewals of this term and below are refused: it was recalled, or its holder gave
    /// it up (a renewal sent before a release can arrive after it).
    pub(crate) closed_through: Option<LamportTime>,
    /// The highest term this voter has renewed: renewals of older terms come from a
    /// holder that was already replaced, and are refused.
    confirmed_through: Option<LamportTime>,
    /// Since when the terms above have stayed the same, for forgetting.
    pub(super) unchanged: Unchanged<VoterVersion>,
    /// A transfer's successor, and until when this entry votes for nobody else. It
    /// only ever refuses votes, so it takes no part in safety.
    pub(super) reserved: Option<(NodeName, Instant)>,
}

/// What a voter entry promises and refuses, by term: it changes whenever the entry does.
pub(super) type VoterVersion = (
    Option<LamportTime>,
    Option<LamportTime>,
    Option<LamportTime>,
);

impl Voter {
    /// The terms this entry promises and refuses.
    pub(super) fn version(&self) -> VoterVersion {
        (
            self.promised.as_ref().map(|p| p.term),
            self.closed_through,
            self.confirmed_through,
        )
    }

    /// The highest term this entry promised, closed or renewed: a voter that forgets it
    /// grants no vote at or below it.
    pub(super) fn highest_term(&self) -> LamportTime {
        let (promised, closed, confirmed) = self.version();
        let lease = self.lease.as_ref().map(|l| l.term);
        [promised, closed, confirmed, lease]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(LamportTime::ZERO)
    }

    /// The lease, if it has not run out at `now`.
    pub(crate) fn live_lease(&self, now: Instant) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.until > now)
    }

    fn admits(&self, ballot: &Ballot) -> bool {
        match &self.promised {
            None => true,
            Some(p) => ballot.term > p.term || ballot == p,
        }
    }

    /// Answers a vote request; a granted vote is also the first lease. `undecided` is
    /// how long a candidate asking while another's vote is unconfirmed should wait.
    pub(crate) fn vote(
        &mut self,
        now: Instant,
        ballot: &Ballot,
        lease: Duration,
        quiet_until: Instant,
        undecided: Duration,
    ) -> Result<(), Refusal> {
        if now < quiet_until {
            return Err(Refusal::Busy {
                retry_after: quiet_until - now,
            });
        }
        if let Some((successor, until)) = &self.reserved
            && now < *until
            && *successor != ballot.candidate
        {
            return Err(Refusal::Busy {
                retry_after: *until - now,
            });
        }
        if let Some(l) = self.live_lease(now)
            && !l.admits(&ballot.candidate, ballot.term)
        {
            let remaining = l.until - now;
            return Err(if l.confirmed {
                Refusal::Leased {
                    tenure: l.tenure(),
                    retry_after: remaining,
                }
            } else {
                Refusal::Busy {
                    retry_after: remaining.min(undecided),
                }
            });
        }
        if !self.admits(ballot) {
            return Err(Refusal::Promised);
        }
        self.promised = Some(ballot.clone());
        self.lease = Some(Lease {
            holder: ballot.candidate.clone(),
            term: ballot.term,
            until: now + lease,
            confirmed: false,
        });
        Ok(())
    }

    /// Answers a renewal from `holder` at `term`; true if the lease was extended. A voter
    /// holding no other holder's lease acknowledges, which is how newcomers join a lease,
    /// unless the term was recalled or released, or is older than one it renewed.
    pub(crate) fn renew(
        &mut self,
        now: Instant,
        holder: &NodeName,
        term: LamportTime,
        lease: Duration,
    ) -> bool {
        let ballot = Ballot {
            term,
            candidate: holder.clone(),
        };
        let other_lease = self
            .live_lease(now)
            .is_some_and(|l| !l.admits(holder, term));
        // No quiet time here: a holder renews only while a quorum of live leases backs
        // it, and that quorum refuses any rival's election, so a voter that forgot what
        // it granted before a restart cannot help two holders by acknowledging. This is
        // how newcomers join a running lease without making the holder lose its quorum.
        if other_lease
            || self.confirmed_through.is_some_and(|c| term < c)
            || self.closed_through.is_some_and(|r| term <= r)
        {
            return false;
        }
        if !self.admits(&ballot) {
            // A higher promise whose vote was never confirmed (its withdrawal may have
            // been lost) does not stand in the way of a renewal: a renewal grants nothing
            // new, and a newer holder would have a confirmed lease here, refused above.
            // The promise itself stays, so no lower vote is granted later.
        } else {
            self.promised = Some(ballot);
        }
        self.confirmed_through = self.confirmed_through.max(Some(term));
        self.lease = Some(Lease {
            holder: holder.clone(),
            term,
            until: now + lease,
            confirmed: true,
        });
        true
    }

    /// `holder` gave up `term`: renewals of it (and of anything older) are refused from
    /// now on, also those still on their way, and its lease is dropped if it is the one
    /// held. Returns whether it was.
    pub(crate) fn release(&mut self, holder: &NodeName, term: LamportTime) -> bool {
        self.closed_through = self.closed_through.max(Some(term));
        let matches = self
            .lease
            .as_ref()
            .is_some_and(|l| l.holder == *holder && l.term == term);
        if matches {
            self.lease = None;
        }
        matches
    }

    /// The candidate of `term` lost and abandons it: drops its vote, which no renewal
    /// ever confirmed, so that it stands in nobody's way. The promise stays: only
    /// ballots above it are granted from now on, so terms keep rising.
    pub(crate) fn withdraw(&mut self, candidate: &NodeName, term: LamportTime) {
        if self
            .lease
            .as_ref()
            .is_some_and(|l| l.holder == *candidate && l.term == term && !l.confirmed)
        {
            self.lease = None;
        }
    }

    /// Stops renewing everything promised so far; returns the live lease it affects.
    /// The lease itself runs to its end, since its holder may not hear of the recall.
    pub(crate) fn recall(&mut self, now: Instant) -> Option<Tenure> {
        let highest = self.promised.as_ref().map(|p| p.term);
        self.closed_through = self.closed_through.max(highest);
        self.live_lease(now).map(Lease::tenure)
    }

    /// Whether a renewal of `holder` at `term` would extend this entry's lease as it is:
    /// the lease is that one, and nothing since closed or passed its term.
    pub(super) fn renews(&self, holder: &NodeName, term: LamportTime) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| l.holder == *holder && l.term == term)
            && self.closed_through.is_none_or(|c| c < term)
            && self.confirmed_through.is_none_or(|c| c <= term)
    }

    /// A quorum recalled `term`: renewals of it (and of anything older) are refused from
    /// now on, as if this voter had answered the recall. A voter that never promised the
    /// term would otherwise acknowledge its renewals as a newcomer and keep a recalled
    /// holder in office. The lease itself runs to its end.
    pub(crate) fn close_through(&mut self, term: LamportTime) {
        self.closed_through = self.closed_through.max(Some(term));
    }

    /// Whether the live lease has been recalled.
    pub(crate) fn is_recalled(&self, now: Instant) -> bool {
        self.live_lease(now)
            .is_some_and(|l| self.closed_through.is_some_and(|r| l.term <= r))
    }
}

impl Roles {
    /// A candidate asks for this node's vote for a role at a term, with its priority.
    pub(super) fn on_vote_request(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        (role, term): (RoleName, LamportTime),
        priority: u32,
    ) {
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
        if self
            .elections
            .get(&role)
            .is_some_and(|mine| mine.ballot < ballot && mine.tally(quorum, false) == Tally::Pending)
        {
            self.lost(ctx, out, &role);
        }
        let (answer, promised) = self.cast_vote(ctx, out, &role, &ballot);
        let (holder, retry_after) = match &answer {
            Ok(()) => (None, Duration::ZERO),
            Err(Refusal::Busy { retry_after }) => (None, *retry_after),
            Err(Refusal::Leased {
                tenure,
                retry_after,
            }) => (Some(tenure.clone()), *retry_after),
            Err(Refusal::Promised) => (None, Duration::ZERO),
        };
        if answer.is_err() {
            self.candidate_asked(ctx, &role, from.name(), priority);
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

    /// This node's vote on `role` for `ballot`, under every rule (no vote at or below the
    /// term floor), with the promise it keeps afterwards.
    pub(super) fn cast_vote(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        ballot: &Ballot,
    ) -> (Result<(), Refusal>, Option<Ballot>) {
        let (term_floor, quiet_until) = (self.term_floor, self.quiet_until);
        let cast = self.voters.update(out, role, |voter| {
            let answer = if ballot.term <= term_floor {
                Err(Refusal::Promised)
            } else {
                voter.vote(
                    ctx.now,
                    ballot,
                    ctx.config.lease,
                    quiet_until,
                    ctx.undecided(),
                )
            };
            (answer, voter.promised.clone())
        });
        let stats = &mut *ctx.stats;
        let counter = match &cast.0 {
            Ok(()) => &mut stats.votes_granted,
            Err(Refusal::Busy { .. }) => &mut stats.votes_refused_busy,
            Err(Refusal::Leased { .. }) => &mut stats.votes_refused_leased,
            Err(Refusal::Promised) => &mut stats.votes_refused_promised,
        };
        *counter += 1;
        cast
    }

    /// A holder renews its leases.
    /// Renews each of `leases` for `from` that the rules allow; returns the terms renewed.
    pub(super) fn renew_leases(
        &mut self,
        ctx: &Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        leases: &[(RoleName, LamportTime)],
    ) -> Vec<LamportTime> {
        let mut acked = Vec::new();
        for (role, term) in leases {
            let renewed = self.voters.update(out, role, |voter| {
                voter.renew(ctx.now, from.name(), *term, ctx.config.lease)
            });
            if renewed {
                acked.push(*term);
                let first = self.learn(out, role, |v| v.renewed(from.name(), *term));
                if first {
                    self.ask_announcement(ctx, out, role.clone(), from.clone(), *term);
                }
            } else {
                // Refused here, but the holder still renews: it may hold with others.
                self.heard_from_holder(ctx, out, role, from.name(), *term);
            }
        }
        acked
    }

    /// A holder gave its role up (the role and term released), perhaps naming a
    /// successor, the target of a transfer if `transfer`.
    pub(super) fn on_release(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        (role, term): (RoleName, LamportTime),
        successor: Option<NodeName>,
        transfer: bool,
    ) {
        let until = ctx.now + ctx.config.election_timeout;
        let reserve = successor.as_ref().filter(|_| transfer).map(|s| (s, until));
        let news = self.voters.release(out, &role, from.name(), term, reserve);
        if news {
            self.learn(out, &role, |v| v.ended(term));
        }
        // A transfer to another node: an undecided election of this node's (started on
        // hearing of the resignation first) gives way, votes and all, as it would to a
        // higher ballot.
        let quorum = ctx.config.quorum.as_ref();
        if reserve.is_some_and(|(to, _)| to != ctx.me.name())
            && self
                .elections
                .get(&role)
                .is_some_and(|mine| mine.tally(quorum, false) == Tally::Pending)
        {
            self.lost(ctx, out, &role);
        }
        // The holder gave the role up, or named this node its successor: a
        // handoff.
        if news || successor.as_ref() == Some(ctx.me.name()) || transfer {
            let step = ctx.config.handoff_step();
            self.contest_opens(ctx, out, &role, step, successor.as_ref(), transfer);
        }
    }

    /// A candidate that lost gives its ballot back.
    pub(super) fn on_withdraw(
        &mut self,
        out: &mut Outbox,
        from: &NodeId,
        role: &RoleName,
        term: LamportTime,
    ) {
        if self.voters.contains(role) {
            self.voters
                .update(out, role, |voter| voter.withdraw(from.name(), term));
        }
    }

    /// A node asks this voter to stop renewing a role's holder.
    pub(super) fn on_recall(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        role: RoleName,
        request: u64,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let recalled = self
            .voters
            .update(out, &role, |voter| voter.recall(ctx.now));
        out.sends.push((
            from.addr(),
            Body::RecallReply {
                request,
                population: ctx.population_u32(),
                recalled,
            },
        ));
    }

    /// A node asks this voter which lease of a role it holds.
    pub(super) fn on_query(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        role: RoleName,
        request: u64,
    ) {
        if !ctx.i_vote() {
            return;
        }
        // Asking about a role leaves nothing behind here.
        let answer = self.lease_answer(&role, ctx.now);
        out.sends.push((
            from.addr(),
            Body::QueryReply {
                request,
                population: ctx.population_u32(),
                recalled: answer.as_ref().is_some_and(|a| a.recalled),
                value: answer.as_ref().and_then(|a| a.value.clone()),
                lease: answer.map(|a| a.tenure),
            },
        ));
    }

    /// What this voter answers a query about `role` with: its live lease, whether it is
    /// recalled, and the value this node knows the lease's holder published.
    pub(super) fn lease_answer(&mut self, role: &RoleName, now: Instant) -> Option<LeaseAnswer> {
        let voter = self.voters.get(role)?;
        let tenure = voter.live_lease(now)?.tenure();
        let value = self
            .views
            .get(role)
            .and_then(|view| view.value_of(&tenure.holder, tenure.term));
        Some(LeaseAnswer {
            recalled: voter.is_recalled(now),
            tenure,
            value,
        })
    }

    /// The check of the lease this node granted for `role` came due.
    pub(super) fn lease_check(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox, role: &RoleName) {
        let Some(lease) = self.voters.lease_check(out, ctx.now, role) else {
            return;
        };
        // While this node holds the role, no other candidate's vote here won (S1).
        if lease.holder != *ctx.me.name() && !self.held.contains_key(role) {
            self.learn(out, role, |v| v.lapsed(&lease.holder, lease.term));
        }
        // The holder this node vouched for went quiet: waiting candidates try in turn,
        // 30 ms apart with lan, so that rivals rarely collide.
        self.contest_opens(ctx, out, role, ctx.config.contest_step(), None, false);
    }
}

#[cfg(test)]
mod tests;
