//! Recalls and queries made by this node: asking the voters, who answered and the
//! highest term reported, and the outcome once a quorum answered or time ran out.

use std::collections::BTreeSet;

use super::campaign::Waiter;
use super::{
    Completion, Ctx, LossReason, Outbox, RequestId, RoleError, RoleState, RoleTimer, Roles,
};
use crate::identity::{NodeId, NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::role_value::RoleValue;
use crate::wire::{Announcement, Body, Tenure};

/// What is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// Stop renewing the holder.
    Recall,
    /// Who holds the role.
    Query,
}

/// A voter's answer about a lease it holds: its tenure, whether it is recalled, and the
/// newest value the voter knows its holder published, with that value's version.
#[derive(Debug, Clone)]
pub(crate) struct LeaseAnswer {
    pub(crate) tenure: Tenure,
    pub(crate) recalled: bool,
    pub(crate) value: Option<(u64, RoleValue)>,
}

#[derive(Debug)]
pub(crate) struct Request {
    kind: RequestKind,
    pub(crate) role: RoleName,
    population: usize,
    answered: BTreeSet<NodeName>,
    /// The highest-term live lease reported, with the newest value reported for it.
    best: Option<LeaseAnswer>,
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
        lease: Option<LeaseAnswer>,
    ) {
        if !self.answered.insert(voter.clone()) {
            return;
        }
        self.population = self.population.max(population);
        let Some(answer) = lease else {
            return;
        };
        match &mut self.best {
            Some(best) if best.tenure.term > answer.tenure.term => {}
            Some(best) if best.tenure == answer.tenure => {
                best.recalled |= answer.recalled;
                if answer.value.as_ref().map(|(v, _)| *v) > best.value.as_ref().map(|(v, _)| *v) {
                    best.value = answer.value;
                }
            }
            _ => self.best = Some(answer),
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
                    .map(|best| best.tenure.term)
                    .ok_or(RoleError::RoleUnfilled),
            },
            RequestKind::Query => Completion::Query {
                id,
                result: Ok(match &self.best {
                    None => RoleState::Vacant,
                    Some(best) if best.recalled => RoleState::Recalled {
                        holder: best.tenure.holder.clone(),
                        term: best.tenure.term,
                    },
                    Some(best) => RoleState::Held {
                        holder: best.tenure.holder.clone(),
                        term: best.tenure.term,
                        value: best.value.clone().map(|(_, v)| v).unwrap_or_default(),
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
                    .map(|tenure| LeaseAnswer {
                        tenure,
                        recalled: true,
                        value: None,
                    }),
                RequestKind::Query => self.lease_answer(&role, now),
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
        answer: Option<LeaseAnswer>,
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
