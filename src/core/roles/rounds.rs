//! Renewal rounds, on a holder: the held set each round renews, which voters answered
//! it and how, and when a role (or the whole set) reached a quorum of acknowledgements.
//!
//! Invariants:
//! - a round renews one [`HeldList`], the held set at one version, shared with every
//!   other round of that version: opening a round copies no role;
//! - a voter's `whole` answer acknowledges every role of the round's list, and only when
//!   it names the round's own version; a list answer acknowledges the terms it names;
//! - each role reaches a quorum at most once per round, counting every voter once
//!   whichever way it answered; once voters answering whole are a quorum on their own,
//!   the round reports the whole set confirmed, in one step.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::clock::LamportTime;
use crate::identity::{NodeName, RoleName};
use crate::quorum::QuorumFunc;
use crate::wire::DECODE_LIMIT;

/// The held set at one version, as renewal rounds send it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct HeldList {
    pub(crate) version: u64,
    /// Each role held and its term, by role.
    pub(crate) leases: Vec<(RoleName, LamportTime)>,
    /// Each term's place in `leases`.
    by_term: BTreeMap<LamportTime, usize>,
}

impl HeldList {
    pub(crate) fn new(version: u64, leases: Vec<(RoleName, LamportTime)>) -> Self {
        let by_term = leases
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (*t, i))
            .collect();
        HeldList {
            version,
            leases,
            by_term,
        }
    }

    fn role_of(&self, term: LamportTime) -> Option<&RoleName> {
        self.by_term.get(&term).map(|&i| &self.leases[i].0)
    }
}

#[derive(Debug)]
struct Round {
    id: u64,
    sent_at: Instant,
    population: usize,
    list: Arc<HeldList>,
    /// The voters that answered with the whole set, and whether they made a quorum.
    whole: BTreeSet<NodeName>,
    all_confirmed: bool,
    /// The voters that acknowledged each term by list, and the terms that reached a
    /// quorum one by one.
    acks: BTreeMap<LamportTime, BTreeSet<NodeName>>,
    confirmed: BTreeSet<LamportTime>,
    /// The voters the round was sent to, those of them asked by version alone, and
    /// those that answered it.
    asked: BTreeSet<NodeName>,
    by_version: BTreeSet<NodeName>,
    answered: BTreeSet<NodeName>,
}

impl Round {
    /// How many voters acknowledged `term`, by list or whole.
    fn count(&self, term: LamportTime) -> usize {
        let listed = self.acks.get(&term);
        let extra = self
            .whole
            .iter()
            .filter(|v| listed.is_none_or(|l| !l.contains(*v)))
            .count();
        listed.map_or(0, BTreeSet::len) + extra
    }

    /// Reports each term acknowledged by list that a quorum of `need` now backs.
    fn reach(&mut self, terms: Vec<LamportTime>, need: usize, acked: &mut Acked) {
        for term in terms {
            if self.count(term) >= need
                && self.confirmed.insert(term)
                && let Some(role) = self.list.role_of(term)
            {
                acked.reached.push((role.clone(), term, self.sent_at));
            }
        }
    }
}

/// A voter's answer to a renewal round ([`crate::wire::Body::RenewReply`]).
#[derive(Debug)]
pub(crate) struct RenewAnswer<'a> {
    pub(crate) population: usize,
    pub(crate) acked: &'a [LamportTime],
    pub(crate) whole: Option<u64>,
}

/// What an answer did to its round.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Acked {
    /// Each role that reached a quorum in the round just now, with its term and the
    /// round's send time.
    pub(crate) reached: Vec<(RoleName, LamportTime, Instant)>,
    /// Every role of the set at this version reached a quorum in a round sent then.
    pub(crate) all: Option<(u64, Instant)>,
    /// The voter was asked by version and no longer keeps that set whole.
    pub(crate) set_lost: bool,
}

/// Renewal rounds still young enough to matter.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    rounds: VecDeque<Round>,
    next_id: u64,
}

impl Renewals {
    /// Opens a round for `list` sent at `now` to `asked`, of which `by_version` by
    /// version alone; returns its id.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        list: Arc<HeldList>,
        population: usize,
        asked: BTreeSet<NodeName>,
        by_version: BTreeSet<NodeName>,
    ) -> u64 {
        self.next_id += 1;
        self.rounds.push_back(Round {
            id: self.next_id,
            sent_at: now,
            population,
            list,
            whole: BTreeSet::new(),
            all_confirmed: false,
            acks: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            asked,
            by_version,
            answered: BTreeSet::new(),
        });
        self.next_id
    }

    fn round(&self, id: u64) -> Option<&Round> {
        self.rounds.iter().find(|r| r.id == id)
    }

    /// The held set round `id` renews, so that every chunk index of a resend names the
    /// same leases.
    pub(crate) fn list_of(&self, id: u64) -> Option<Arc<HeldList>> {
        self.round(id).map(|r| Arc::clone(&r.list))
    }

    /// Whether `voter` was asked round `id` by version alone.
    pub(crate) fn asked_by_version(&self, id: u64, voter: &NodeName) -> bool {
        self.round(id).is_some_and(|r| r.by_version.contains(voter))
    }

    /// The voters round `id` was sent to that have not answered it (none once the round
    /// is pruned).
    pub(crate) fn unanswered(&self, id: u64) -> Vec<NodeName> {
        self.round(id).map_or_else(Vec::new, |round| {
            round.asked.difference(&round.answered).cloned().collect()
        })
    }

    /// Records `voter`'s answer to round `id`: the terms it acknowledged, or every term
    /// of the round if it keeps the round's set whole.
    pub(crate) fn ack(
        &mut self,
        id: u64,
        voter: &NodeName,
        answer: &RenewAnswer<'_>,
        quorum: &dyn QuorumFunc,
    ) -> Acked {
        let Some(round) = self.rounds.iter_mut().find(|r| r.id == id) else {
            return Acked::default();
        };
        round.population = round.population.max(answer.population);
        round.answered.insert(voter.clone());
        let whole = answer.whole == Some(round.list.version);
        let mut acked = Acked {
            set_lost: round.by_version.contains(voter) && !whole,
            ..Acked::default()
        };
        let need = quorum.votes_required(round.population);
        if round.all_confirmed {
            return acked;
        }
        if whole {
            round.whole.insert(voter.clone());
            if round.whole.len() >= need {
                round.all_confirmed = true;
                acked.all = Some((round.list.version, round.sent_at));
                return acked;
            }
            // Roles others acknowledged by list may reach a quorum with this voter.
            let listed = round.acks.keys().copied().collect();
            round.reach(listed, need, &mut acked);
        } else {
            let mut terms = Vec::new();
            for term in answer.acked {
                if round.list.role_of(*term).is_some() {
                    round.acks.entry(*term).or_default().insert(voter.clone());
                    terms.push(*term);
                }
            }
            round.reach(terms, need, &mut acked);
        }
        acked
    }

    /// Forgets rounds sent before `cutoff`: their acknowledgements could no longer
    /// extend anything.
    pub(crate) fn prune(&mut self, cutoff: Instant) {
        while self.rounds.front().is_some_and(|r| r.sent_at < cutoff) {
            self.rounds.pop_front();
        }
    }
}

/// Splits `leases` into groups that each fit in one datagram of `max_datagram` bytes.
pub(crate) fn chunks(
    leases: &[(RoleName, LamportTime)],
    max_datagram: usize,
) -> Vec<&[(RoleName, LamportTime)]> {
    // Envelope, sealing, sender identity and framing take well under 200 bytes. Each
    // lease takes its name, a length and a term: at most 10 bytes each on the wire, but
    // the receiver's decoder budgets 8 for each in memory, and refuses a message whose
    // budget passes DECODE_LIMIT, so count 16 and stay under that limit too.
    let budget = max_datagram.min(DECODE_LIMIT).saturating_sub(200).max(1);
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, (role, _)) in leases.iter().enumerate() {
        let size = role.as_str().len() + 16;
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
    use crate::quorum::Majority;

    fn acks(acked: &[LamportTime]) -> RenewAnswer<'_> {
        RenewAnswer {
            population: 3,
            acked,
            whole: None,
        }
    }

    fn whole(version: u64) -> RenewAnswer<'static> {
        RenewAnswer {
            population: 3,
            acked: &[],
            whole: Some(version),
        }
    }

    #[test]
    fn a_role_is_confirmed_once_per_round_when_a_quorum_acks() {
        let t0 = Instant::now();
        let role = RoleName::new("r").unwrap();
        let term = LamportTime(7);
        let mut r = Renewals::default();
        let a = NodeName::new("a").unwrap();
        let b = NodeName::new("b").unwrap();
        let asked = BTreeSet::from([a.clone(), b.clone()]);
        let list = Arc::new(HeldList::new(1, vec![(role.clone(), term)]));
        let id = r.start(t0, Arc::clone(&list), 3, asked, BTreeSet::new());
        assert_eq!(r.unanswered(id), vec![a.clone(), b.clone()]);
        assert_eq!(r.list_of(id), Some(list));
        assert!(r.ack(id, &a, &acks(&[term]), &Majority).reached.is_empty());
        assert!(
            r.ack(id, &a, &acks(&[term]), &Majority).reached.is_empty(),
            "duplicates count once"
        );
        assert_eq!(r.unanswered(id), vec![b.clone()]);
        assert_eq!(
            r.ack(id, &b, &acks(&[term]), &Majority).reached,
            vec![(role, term, t0)]
        );
        let c = NodeName::new("c").unwrap();
        assert!(
            r.ack(id, &c, &acks(&[term]), &Majority).reached.is_empty(),
            "already confirmed"
        );
        assert!(
            r.ack(id, &c, &acks(&[LamportTime(8)]), &Majority)
                .reached
                .is_empty(),
            "unknown term"
        );
        r.prune(t0 + std::time::Duration::from_secs(1));
        assert!(
            r.ack(id, &c, &acks(&[term]), &Majority).reached.is_empty(),
            "pruned"
        );
        assert!(r.unanswered(id).is_empty(), "pruned");
    }

    #[test]
    fn a_whole_set_acknowledges_every_role_of_its_own_version_only() {
        let t0 = Instant::now();
        let name = |n: &str| NodeName::new(n).unwrap();
        let leases: Vec<(RoleName, LamportTime)> = (1..=3)
            .map(|i| (RoleName::new(format!("r{i}")).unwrap(), LamportTime(i)))
            .collect();
        let mut r = Renewals::default();
        let asked = BTreeSet::from([name("a"), name("b")]);
        let list = Arc::new(HeldList::new(5, leases.clone()));
        let id = r.start(t0, list, 3, asked, BTreeSet::from([name("a")]));
        let me = r.ack(id, &name("me"), &acks(&[LamportTime(1)]), &Majority);
        assert!(me.reached.is_empty() && me.all.is_none() && !me.set_lost);
        let a = r.ack(id, &name("a"), &whole(4), &Majority);
        assert!(
            a.reached.is_empty() && a.all.is_none(),
            "a set of another version acks nothing"
        );
        assert!(a.set_lost, "asked by version, answered without that set");
        let b = r.ack(id, &name("b"), &whole(5), &Majority);
        assert_eq!(b.reached, vec![(leases[0].0.clone(), LamportTime(1), t0)]);
        assert!(b.all.is_none(), "one whole answer is no quorum");
        assert!(!b.set_lost, "b was sent the list");
        let more = r.ack(
            id,
            &name("me"),
            &acks(&[LamportTime(2), LamportTime(3)]),
            &Majority,
        );
        assert_eq!(more.reached.len(), 2, "with b's whole set, a quorum each");
        assert_eq!(
            r.ack(id, &name("me"), &whole(5), &Majority).all,
            Some((5, t0)),
            "counted once each, two whole answers are a quorum of three"
        );
        assert_eq!(
            r.ack(id, &name("a"), &whole(5), &Majority),
            Acked::default(),
            "confirmed once"
        );
    }

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
