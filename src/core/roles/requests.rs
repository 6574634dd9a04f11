//! Recalls and queries made by this node: asking the voters, who answered and the
//! highest term reported, and the outcome once a quorum answered or time ran out.

use std::collections::BTreeSet;

use super::campaign::Waiter;
use super::{
    Completion, Ctx, LossReason, Outbox, RequestId, RoleError, RoleState, RoleTimer, Roles,
};
use crate::identity::{NodeId, NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::{Announcement, Body, Tenure};

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// Stop renewing the holder.
    Recall,
    /// Who holds the role.
    Query,
}

#[derive(Debug)]
pub(crate) struct Request {
    kind: RequestKind,
    pub(crate) role: RoleName,
    population: usize,
    answered: BTreeSet<NodeName>,
    /// The highest-term live lease reported, and whether it was recalled.
    best: Option<(Tenure, bool)>,
}

impl Request {
    pub(crate) fn new(kind: RequestKind, role: RoleName, population: usize) -> Self {
        Request {
            kind,
            role,
            population,
            answered: BTreeSet::new(),
            best: None,
        }
    }

    pub(crate) fn record(
        &mut self,
        voter: &NodeName,
        population: usize,
        lease: Option<(Tenure, bool)>,
    ) {
        if !self.answered.insert(voter.clone()) {
            return;
        }
        self.population = self.population.max(population);
        if let Some((tenure, recalled)) = lease
            && self.best.as_ref().is_none_or(|(b, _)| tenure.term > b.term)
        {
            self.best = Some((tenure, recalled));
        }
    }

    /// The outcome once a quorum has answered.
    pub(crate) fn outcome(&self, id: RequestId, quorum: &dyn QuorumFunc) -> Option<Completion> {
        if self.answered.len() < quorum.votes_required(self.population) {
            return None;
        }
        Some(match self.kind {
            RequestKind::Recall => Completion::Recall {
                id,
                result: self
                    .best
                    .as_ref()
                    .map(|(t, _)| t.term)
                    .ok_or(RoleError::RoleUnfilled),
            },
            RequestKind::Query => Completion::Query {
                id,
                result: Ok(match &self.best {
                    None => RoleState::Vacant,
                    Some((t, false)) => RoleState::Held {
                        holder: t.holder.clone(),
                        term: t.term,
                    },
                    Some((t, true)) => RoleState::Recalled {
                        holder: t.holder.clone(),
                        term: t.term,
                    },
                }),
            },
        })
    }

    pub(crate) fn fail(&self, id: RequestId, error: RoleError) -> Completion {
        match self.kind {
            RequestKind::Recall => Completion::Recall {
                id,
                result: Err(error),
            },
            RequestKind::Query => Completion::Query {
                id,
                result: Err(error),
            },
        }
    }
}

impl Roles {
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
            let now = ctx.now;
            let answer = match kind {
                RequestKind::Recall => self
                    .voters
                    .update(out, &role, |voter| voter.recall(now))
                    .map(|t| (t, true)),
                RequestKind::Query => self.voters.get(&role).and_then(|voter| {
                    voter
                        .live_lease(now)
                        .map(|l| (l.tenure(), voter.is_recalled(now)))
                }),
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

    /// Records a voter's answer to a recall or query: the live lease it reported, if any,
    /// and whether that lease is recalled.
    pub(super) fn answered(
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

    /// A recall, a query or an `elect` ran out of time.
    pub(super) fn request_timeout(&mut self, ctx: &Ctx<'_>, out: &mut Outbox, id: RequestId) {
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
