//! One election in flight: the ballot, who was asked, and the tally of replies.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::voter::Refusal;
use crate::identity::NodeId;
use crate::quorum::QuorumFunc;
use crate::wire::{Ballot, Tenure};

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
}

impl Election {
    pub(crate) fn new(ballot: Ballot, sent_at: Instant, asked: usize, population: usize) -> Self {
        Election {
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
