//! Renewal rounds, on a holder: the held set each round renews, which voters answered
//! it and how, and when a role (or the whole set) reached a quorum of acknowledgements.
//!
//! Invariants:
//! - a round renews one [`HeldList`], the held set at one version, shared with every
//!   other round of that version: opening a round copies no role;
//! - a voter's `whole` answer names the version of the held set it keeps, renewed by
//!   this round: that acknowledges every role held since that version or earlier, and
//!   only those (a voter asked by changes may keep the older set they apply to); a list
//!   answer acknowledges the terms it names;
//! - each role reaches a quorum at most once per round, counting every voter once
//!   whichever way it answered; once voters answering whole at version `v` or later are
//!   a quorum, the round reports every role held since `v` or earlier confirmed, in one
//!   step.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

    /// What changed from `base` to this set: each role added or held at a new term,
    /// and each role no longer held (`None`), by role.
    pub(crate) fn changes_since(&self, base: &HeldList) -> Vec<(RoleName, Option<LamportTime>)> {
        let (mut old, mut new) = (base.leases.iter().peekable(), self.leases.iter().peekable());
        let mut changes = Vec::new();
        loop {
            match (old.peek(), new.peek()) {
                (Some((r0, t0)), Some((r1, t1))) if r0 == r1 => {
                    if t0 != t1 {
                        changes.push((r1.clone(), Some(*t1)));
                    }
                    old.next();
                    new.next();
                }
                (Some((r0, _)), Some((r1, _))) if r0 < r1 => {
                    changes.push((r0.clone(), None));
                    old.next();
                }
                (_, Some((r1, t1))) => {
                    changes.push((r1.clone(), Some(*t1)));
                    new.next();
                }
                (Some((r0, _)), None) => {
                    changes.push((r0.clone(), None));
                    old.next();
                }
                (None, None) => return changes,
            }
        }
    }
}

#[derive(Debug)]
struct Round {
    id: u64,
    sent_at: Instant,
    population: usize,
    list: Arc<HeldList>,
    /// The version each voter answered it keeps whole, and the highest version a quorum
    /// of them keeps (every role held since then or earlier is confirmed).
    whole: BTreeMap<NodeName, u64>,
    confirmed_through: Option<u64>,
    /// The voters that acknowledged each term by list, and the terms that reached a
    /// quorum one by one.
    acks: BTreeMap<LamportTime, BTreeSet<NodeName>>,
    confirmed: BTreeSet<LamportTime>,
    /// Whether every role of the round reached a quorum in it.
    completed: bool,
    /// The round's span, closed once it completes or is pruned (`outcome` says which).
    span: tracing::Span,
    /// The voters the round was sent to, those of them asked by version alone or by
    /// the changes since a version they keep, and those that answered it.
    asked: BTreeSet<NodeName>,
    by_version: BTreeSet<NodeName>,
    by_changes: BTreeMap<NodeName, u64>,
    answered: BTreeSet<NodeName>,
}

/// How a round reached each voter it was sent to: by version, by the changes since the
/// version each keeps, or by list.
#[derive(Debug, Default)]
pub(crate) struct Asked {
    pub(crate) by_version: BTreeSet<NodeName>,
    pub(crate) by_changes: BTreeMap<NodeName, u64>,
    pub(crate) by_list: BTreeSet<NodeName>,
}

impl Round {
    /// Whether `voter` keeps the round's own set whole.
    fn keeps_all(&self, voter: &NodeName) -> bool {
        self.whole.get(voter) == Some(&self.list.version)
    }

    /// How many voters acknowledged `term`, by list or keeping the round's set whole.
    fn count(&self, term: LamportTime) -> usize {
        let listed = self.acks.get(&term);
        let extra = self
            .whole
            .iter()
            .filter(|(v, kept)| {
                **kept == self.list.version && listed.is_none_or(|l| !l.contains(*v))
            })
            .count();
        listed.map_or(0, BTreeSet::len) + extra
    }

    /// The highest version that `need` voters keep whole, this one or a later one each.
    fn kept_by_quorum(&self, need: usize) -> Option<u64> {
        let mut kept: Vec<u64> = self.whole.values().copied().collect();
        kept.sort_unstable_by(|a, b| b.cmp(a));
        kept.get(need.checked_sub(1)?).copied()
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

    /// Records `voter`'s answer to this round ([`Renewals::ack`]).
    fn ack(
        &mut self,
        voter: &NodeName,
        answer: &RenewAnswer<'_>,
        quorum: &dyn QuorumFunc,
    ) -> Acked {
        self.population = self.population.max(answer.population);
        self.answered.insert(voter.clone());
        let version = self.list.version;
        // The set the voter renewed whole for this round: this one, or, asked by the
        // changes to an older one it keeps, that one.
        let base = self.by_changes.get(voter).copied();
        let kept = answer
            .whole
            .filter(|kept| *kept == version || Some(*kept) == base);
        // Asked by version or by changes, a voter that renewed no set lost it.
        let set_lost = kept.is_none() && (base.is_some() || self.by_version.contains(voter));
        let mut acked = Acked {
            set_lost,
            ..Acked::default()
        };
        let need = quorum.votes_required(self.population);
        if self.confirmed_through == Some(version) {
            return acked;
        }
        let mut terms = Vec::new();
        if let Some(kept) = kept {
            let newly_whole = kept == version && !self.keeps_all(voter);
            let entry = self.whole.entry(voter.clone()).or_insert(kept);
            *entry = (*entry).max(kept);
            if let Some(through) = self.kept_by_quorum(need)
                && self.confirmed_through < Some(through)
            {
                self.confirmed_through = Some(through);
                acked.all = Some((through, self.sent_at));
                if through == version {
                    return acked;
                }
            }
            if newly_whole {
                // Roles others acknowledged by list may reach a quorum with this voter.
                terms.extend(self.acks.keys().copied());
            }
        }
        for term in answer.acked {
            if self.list.role_of(*term).is_some() {
                self.acks.entry(*term).or_default().insert(voter.clone());
                terms.push(*term);
            }
        }
        self.reach(terms, need, &mut acked);
        acked
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
    /// Every role of the round has now reached a quorum in it, which was sent then.
    pub(crate) completed: Option<Instant>,
}

/// Renewal rounds still young enough to matter.
#[derive(Debug, Default)]
pub(crate) struct Renewals {
    rounds: VecDeque<Round>,
    next_id: u64,
}

impl Renewals {
    /// Opens a round for `list` sent at `now` to the voters `asked`; returns its id.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        list: Arc<HeldList>,
        population: usize,
        asked: Asked,
        span: tracing::Span,
    ) -> u64 {
        let Asked {
            by_version,
            by_changes,
            by_list,
        } = asked;
        let mut asked = by_list;
        asked.extend(by_version.iter().cloned());
        asked.extend(by_changes.keys().cloned());
        self.next_id += 1;
        self.rounds.push_back(Round {
            id: self.next_id,
            sent_at: now,
            population,
            list,
            whole: BTreeMap::new(),
            confirmed_through: None,
            acks: BTreeMap::new(),
            confirmed: BTreeSet::new(),
            completed: false,
            span,
            asked,
            by_version,
            by_changes,
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

    /// The voters round `id` should be sent again, a third of an interval on, the way
    /// they were first (none once it is pruned): those that have not answered, and
    /// those asked by changes that do not keep the new set whole yet (a chunk was lost).
    pub(crate) fn to_resend(&self, id: u64) -> Asked {
        let Some(round) = self.round(id) else {
            return Asked::default();
        };
        let silent = |v: &&NodeName| !round.answered.contains(*v);
        Asked {
            by_version: round.by_version.iter().filter(silent).cloned().collect(),
            by_changes: round
                .by_changes
                .iter()
                .filter(|(v, _)| !round.keeps_all(v))
                .map(|(v, base)| (v.clone(), *base))
                .collect(),
            by_list: round
                .asked
                .iter()
                .filter(|v| !round.by_version.contains(*v) && !round.by_changes.contains_key(*v))
                .filter(silent)
                .cloned()
                .collect(),
        }
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
        let mut acked = round.ack(voter, answer, quorum);
        if !round.completed
            && (round.confirmed_through == Some(round.list.version)
                || round.confirmed.len() == round.list.leases.len())
        {
            round.completed = true;
            acked.completed = Some(round.sent_at);
            round.span.record("outcome", "confirmed");
            round.span = tracing::Span::none();
        }
        acked
    }

    /// How many rounds were sent since the last in which `role`, held at `term` since
    /// set version `since`, reached a quorum, not counting the latest if it is still
    /// under way: all of them if none did while they are kept (a holder lease).
    pub(crate) fn missed(
        &self,
        since: u64,
        term: LamportTime,
        now: Instant,
        wait: Duration,
    ) -> u32 {
        let confirmed = |r: &Round| {
            r.confirmed_through.is_some_and(|v| v >= since) || r.confirmed.contains(&term)
        };
        let missed = self
            .rounds
            .iter()
            .rev()
            .filter(|r| r.sent_at + wait <= now)
            .take_while(|r| !confirmed(r))
            .count();
        u32::try_from(missed).unwrap_or(u32::MAX)
    }

    /// Whether the latest round is still short of a quorum for some role: asked when
    /// the next is sent, it says the round failed.
    pub(crate) fn latest_incomplete(&self) -> bool {
        self.rounds.back().is_some_and(|r| !r.completed)
    }

    /// Forgets rounds sent before `cutoff`: their acknowledgements could no longer
    /// extend anything.
    pub(crate) fn prune(&mut self, cutoff: Instant) {
        while self.rounds.front().is_some_and(|r| r.sent_at < cutoff) {
            if let Some(round) = self.rounds.pop_front()
                && !round.completed
            {
                round.span.record("outcome", "failed");
            }
        }
    }
}

/// Splits `items` (leases, or changes to a held set) into groups that each fit in one
/// datagram of `max_datagram` bytes.
pub(crate) fn chunks<T>(items: &[(RoleName, T)], max_datagram: usize) -> Vec<&[(RoleName, T)]> {
    // Envelope, sealing, sender identity and framing take well under 200 bytes. Each
    // item takes its name, a length and a term: at most 11 bytes each on the wire, but
    // the receiver's decoder budgets 8 for each in memory, and refuses a message whose
    // budget passes DECODE_LIMIT, so count 16 and stay under that limit too.
    let budget = max_datagram.min(DECODE_LIMIT).saturating_sub(200).max(1);
    let mut groups = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, (role, _)) in items.iter().enumerate() {
        let size = role.as_str().len() + 16;
        if used + size > budget && i > start {
            groups.push(&items[start..i]);
            start = i;
            used = 0;
        }
        used += size;
    }
    if start < items.len() {
        groups.push(&items[start..]);
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
        let asked = Asked {
            by_list: BTreeSet::from([a.clone(), b.clone()]),
            ..Asked::default()
        };
        let list = Arc::new(HeldList::new(1, vec![(role.clone(), term)]));
        let id = r.start(t0, Arc::clone(&list), 3, asked, tracing::Span::none());
        let silent = |r: &Renewals| r.to_resend(id).by_list.into_iter().collect::<Vec<_>>();
        assert_eq!(silent(&r), vec![a.clone(), b.clone()]);
        assert_eq!(r.list_of(id), Some(list));
        assert!(r.ack(id, &a, &acks(&[term]), &Majority).reached.is_empty());
        assert!(
            r.ack(id, &a, &acks(&[term]), &Majority).reached.is_empty(),
            "duplicates count once"
        );
        assert_eq!(silent(&r), vec![b.clone()]);
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
        assert!(silent(&r).is_empty(), "pruned");
    }

    #[test]
    fn a_whole_set_acknowledges_every_role_of_its_own_version_only() {
        let t0 = Instant::now();
        let name = |n: &str| NodeName::new(n).unwrap();
        let leases: Vec<(RoleName, LamportTime)> = (1..=3)
            .map(|i| (RoleName::new(format!("r{i}")).unwrap(), LamportTime(i)))
            .collect();
        let mut r = Renewals::default();
        let asked = Asked {
            by_version: BTreeSet::from([name("a")]),
            by_list: BTreeSet::from([name("b")]),
            ..Asked::default()
        };
        let list = Arc::new(HeldList::new(5, leases.clone()));
        let id = r.start(t0, list, 3, asked, tracing::Span::none());
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
    fn voters_asked_by_changes_are_asked_again_until_they_keep_the_new_set() {
        let t0 = Instant::now();
        let name = |n: &str| NodeName::new(n).unwrap();
        let mut r = Renewals::default();
        let asked = Asked {
            by_version: BTreeSet::from([name("v")]),
            by_changes: BTreeMap::from([(name("c"), 1), (name("d"), 1), (name("e"), 1)]),
            by_list: BTreeSet::from([name("l")]),
        };
        let leases = vec![(RoleName::new("r").unwrap(), LamportTime(1))];
        let id = r.start(
            t0,
            Arc::new(HeldList::new(2, leases)),
            5,
            asked,
            tracing::Span::none(),
        );
        let c = r.ack(id, &name("c"), &whole(1), &Majority);
        assert!(
            !c.set_lost,
            "keeping the set the changes apply to loses nothing"
        );
        assert!(r.ack(id, &name("e"), &acks(&[]), &Majority).set_lost);
        r.ack(id, &name("d"), &whole(2), &Majority);
        let again = r.to_resend(id);
        assert_eq!(again.by_version, BTreeSet::from([name("v")]));
        assert_eq!(
            again.by_changes,
            BTreeMap::from([(name("c"), 1), (name("e"), 1)]),
            "c and e do not keep version 2; d does"
        );
        assert_eq!(again.by_list, BTreeSet::from([name("l")]));
    }

    #[test]
    fn a_quorum_keeping_an_older_set_confirms_the_roles_held_since_then() {
        let t0 = Instant::now();
        let name = |n: &str| NodeName::new(n).unwrap();
        let mut r = Renewals::default();
        let leases = vec![(RoleName::new("r").unwrap(), LamportTime(1))];
        let asked = Asked {
            by_changes: BTreeMap::from([(name("a"), 2), (name("c"), 2)]),
            ..Asked::default()
        };
        let id = r.start(
            t0,
            Arc::new(HeldList::new(3, leases)),
            3,
            asked,
            tracing::Span::none(),
        );
        assert_eq!(r.ack(id, &name("a"), &whole(2), &Majority).all, None);
        assert_eq!(
            r.ack(id, &name("b"), &whole(3), &Majority).all,
            Some((2, t0))
        );
        assert_eq!(
            r.ack(id, &name("a"), &whole(3), &Majority).all,
            Some((3, t0)),
            "a caught up: the whole set"
        );
        assert_eq!(
            r.ack(id, &name("c"), &whole(1), &Majority).all,
            None,
            "a version the voter was not asked about counts for nothing"
        );
    }

    #[test]
    fn the_changes_between_two_sets_name_each_role_added_moved_or_gone() {
        let set = |version, leases: &[(&str, u64)]| {
            HeldList::new(
                version,
                leases
                    .iter()
                    .map(|(r, t)| (RoleName::new(*r).unwrap(), LamportTime(*t)))
                    .collect(),
            )
        };
        let base = set(1, &[("a", 1), ("b", 2), ("d", 4)]);
        let now = set(4, &[("b", 2), ("c", 3), ("d", 5), ("e", 6)]);
        let role = |r: &str| RoleName::new(r).unwrap();
        assert_eq!(
            now.changes_since(&base),
            vec![
                (role("a"), None),
                (role("c"), Some(LamportTime(3))),
                (role("d"), Some(LamportTime(5))),
                (role("e"), Some(LamportTime(6))),
            ]
        );
        assert!(now.changes_since(&now).is_empty());
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
