//! Recalls and queries in flight: who answered, and what the highest term reported is.

use std::collections::BTreeSet;

use super::{Completion, RequestId, RoleError, RoleState};
use crate::identity::{NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::Tenure;

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
