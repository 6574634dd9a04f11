//! The safety checker: every interval during which a node believed it held a role, in
//! true (simulated) time, and every view a node reported.
//!
//! It fails on two nodes believing they hold one role at the same instant (S1), on a grant
//! whose term is not above every earlier grant of the role (S2), on a node's view going
//! back to a lower term or, within a term, to an earlier value of the holder's, or
//! showing a value the holder never published (S5), and on a grant to a node that could
//! not have heard from a quorum (S3).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::clock::LamportTime;
use crate::core::RoleState;
use crate::identity::RoleName;
use crate::role_value::RoleValue;

/// One node's belief that it held a role.
#[derive(Debug, Clone)]
struct Hold {
    node: usize,
    term: LamportTime,
    start: Duration,
    /// When the belief ended, or would end if nothing else happens: the holder's lease
    /// end in true time, or the moment it stepped down or crashed, if earlier.
    end: Duration,
    open: bool,
}

/// Records holds and views; [`Checker::verify`] reports every violation.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    holds: BTreeMap<RoleName, Vec<Hold>>,
    views: BTreeMap<(usize, RoleName), LamportTime>,
    /// Every value each tenure published, with its version: tests publish each value
    /// once per tenure, so the value names its version.
    published: BTreeMap<(RoleName, LamportTime), BTreeMap<RoleValue, u64>>,
    /// The version of the value each node's view of each tenure last showed.
    seen_values: BTreeMap<(usize, RoleName, LamportTime), u64>,
    /// The views that showed the role vacant since they last showed a value: a view
    /// may have been forgotten meanwhile, and one made again from a renewal shows the
    /// holder with no value (unknown, not an earlier one) until the announcement comes.
    blank: BTreeSet<(usize, RoleName)>,
    violations: Vec<String>,
}

impl Checker {
    /// Node `node` holds `role` at `term` now, believing so until `until` (true time).
    pub(crate) fn holding(
        &mut self,
        now: Duration,
        node: usize,
        role: &RoleName,
        term: LamportTime,
        until: Duration,
    ) {
        let holds = self.holds.entry(role.clone()).or_default();
        match holds
            .iter_mut()
            .find(|h| h.open && h.node == node && h.term == term)
        {
            Some(hold) => hold.end = hold.end.max(until),
            None => holds.push(Hold {
                node,
                term,
                start: now,
                end: until,
                open: true,
            }),
        }
    }

    /// Node `node` no longer holds `role` (stepped down, crashed) as of `now`. Nodes
    /// that are not listed by `still_held` are closed.
    pub(crate) fn release_others(
        &mut self,
        now: Duration,
        node: usize,
        still_held: &[(RoleName, LamportTime)],
    ) {
        for (role, holds) in &mut self.holds {
            for hold in holds.iter_mut().filter(|h| h.open && h.node == node) {
                if !still_held.iter().any(|(r, t)| r == role && *t == hold.term) {
                    hold.open = false;
                    hold.end = hold.end.min(now);
                }
            }
        }
    }

    /// The holder of `role` at `term` publishes `value`, its `version`th of the term.
    pub(crate) fn published(
        &mut self,
        role: &RoleName,
        term: LamportTime,
        version: u64,
        value: &RoleValue,
    ) {
        let values = self.published.entry((role.clone(), term)).or_default();
        if let Some(&known) = values.get(value)
            && known != version
        {
            self.violations.push(format!(
                "test error: {role} at term {term} published {value:?} as versions {known} \
                 and {version}; publish each value once per tenure"
            ));
        }
        values.entry(value.clone()).or_insert(version);
    }

    /// A node reported a view; it must never go to a lower term, nor within a term to an
    /// earlier value, nor show a value the holder did not publish.
    pub(crate) fn view(&mut self, now: Duration, node: usize, role: &RoleName, state: &RoleState) {
        match state {
            RoleState::Held { term, value, .. } => self.value_seen(now, node, role, *term, value),
            RoleState::Vacant => {
                self.blank.insert((node, role.clone()));
            }
            RoleState::Recalled { .. } => {}
        }
        let term = match state {
            RoleState::Held { term, .. } | RoleState::Recalled { term, .. } => *term,
            RoleState::Vacant => return,
        };
        let last = self.views.entry((node, role.clone())).or_default();
        if term < *last {
            self.violations.push(format!(
                "S5 at {now:?}: n{node}'s view of {role} went from term {last} to {term}"
            ));
        }
        *last = (*last).max(term);
    }

    /// Node `node` crashed: it restarts with no views, so values it saw before bind
    /// nothing (terms do: they are kept across restarts).
    pub(crate) fn crashed(&mut self, node: usize) {
        self.seen_values.retain(|(n, _, _), _| *n != node);
    }

    /// S5 for values: node `node`'s view of `role` at `term` shows `value`.
    fn value_seen(
        &mut self,
        now: Duration,
        node: usize,
        role: &RoleName,
        term: LamportTime,
        value: &RoleValue,
    ) {
        let version = self
            .published
            .get(&(role.clone(), term))
            .and_then(|values| values.get(value))
            .copied();
        let last = self.seen_values.get(&(node, role.clone(), term)).copied();
        match (version, last) {
            // A holder known from its renewals before its value: shown without one.
            (None, None) if value.is_empty() => {}
            (None, Some(_)) if value.is_empty() && self.blank.contains(&(node, role.clone())) => {}
            (None, _) => self.violations.push(format!(
                "S5 at {now:?}: n{node}'s view of {role} at term {term} shows {value:?}, \
                 which its holder did not publish"
            )),
            (Some(version), Some(last)) if version < last => self.violations.push(format!(
                "S5 at {now:?}: n{node}'s view of {role} at term {term} went back from value \
                 version {last} to {version} ({value:?})"
            )),
            (Some(version), _) => {
                self.blank.remove(&(node, role.clone()));
                self.seen_values.insert((node, role.clone(), term), version);
            }
        }
    }

    /// A grant happened while the holder could reach too few nodes.
    pub(crate) fn minority_grant(
        &mut self,
        now: Duration,
        node: usize,
        role: &RoleName,
        reachable: usize,
        need: usize,
    ) {
        self.violations.push(format!(
            "S3 at {now:?}: n{node} won {role} while it could reach {reachable} nodes, {need} needed"
        ));
    }

    /// How many holds of `role` were recorded.
    pub(crate) fn grants(&self, role: &RoleName) -> usize {
        self.holds.get(role).map_or(0, Vec::len)
    }

    /// Every violation found so far.
    pub(crate) fn verify(&self) -> Vec<String> {
        let mut violations = self.violations.clone();
        for (role, holds) in &self.holds {
            let mut by_start: Vec<&Hold> = holds.iter().collect();
            by_start.sort_by_key(|h| (h.start, h.node));
            for (i, a) in by_start.iter().enumerate() {
                for b in &by_start[i + 1..] {
                    if b.start >= a.end {
                        continue;
                    }
                    if a.node != b.node {
                        violations.push(format!(
                            "S1: {role} held by n{} (term {}, {:?}..{:?}) and n{} (term {}, {:?}..{:?}) at once",
                            a.node, a.term, a.start, a.end, b.node, b.term, b.start, b.end
                        ));
                    }
                }
                if let Some(next) = by_start.get(i + 1)
                    && next.term <= a.term
                    && (next.node, next.term) != (a.node, a.term)
                {
                    violations.push(format!(
                        "S2: {role} granted to n{} with term {} at {:?} after n{} had term {}",
                        next.node, next.term, next.start, a.node, a.term
                    ));
                }
            }
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> RoleName {
        RoleName::new("r").unwrap()
    }

    #[test]
    fn overlapping_holds_and_falling_terms_are_caught() {
        let s = Duration::from_secs;
        let mut c = Checker::default();
        c.holding(s(0), 0, &role(), LamportTime(10), s(2));
        c.holding(s(1), 1, &role(), LamportTime(11), s(3));
        assert!(c.verify().iter().any(|v| v.starts_with("S1")));

        let mut c = Checker::default();
        c.holding(s(0), 0, &role(), LamportTime(10), s(2));
        c.release_others(s(1), 0, &[]);
        c.holding(s(1), 1, &role(), LamportTime(9), s(3));
        let v = c.verify();
        assert!(v.iter().all(|v| !v.starts_with("S1")), "{v:?}");
        assert!(v.iter().any(|v| v.starts_with("S2")), "{v:?}");

        let mut c = Checker::default();
        c.holding(s(0), 0, &role(), LamportTime(10), s(2));
        c.holding(s(1), 0, &role(), LamportTime(10), s(4));
        c.holding(s(4), 1, &role(), LamportTime(12), s(6));
        assert_eq!(c.verify(), Vec::<String>::new());
    }

    #[test]
    fn views_going_back_are_caught() {
        let mut c = Checker::default();
        let held = |term, value: &str| RoleState::Held {
            holder: crate::identity::NodeName::new("a").unwrap(),
            term: LamportTime(term),
            value: RoleValue::new(value).unwrap(),
        };
        c.view(Duration::ZERO, 0, &role(), &held(5, ""));
        c.view(Duration::ZERO, 0, &role(), &RoleState::Vacant);
        c.view(Duration::ZERO, 0, &role(), &held(4, ""));
        assert_eq!(c.verify().len(), 1);
    }

    #[test]
    fn values_going_back_or_made_up_are_caught() {
        let term = LamportTime(5);
        let value = |text: &str| RoleValue::new(text).unwrap();
        let held = |text: &str| RoleState::Held {
            holder: crate::identity::NodeName::new("a").unwrap(),
            term,
            value: value(text),
        };
        let mut c = Checker::default();
        c.published(&role(), term, 0, &value("x"));
        c.published(&role(), term, 1, &value("y"));
        // Unknown (a renewal came first), then in order: fine.
        for text in ["", "x", "y"] {
            c.view(Duration::ZERO, 0, &role(), &held(text));
        }
        assert_eq!(c.verify(), Vec::<String>::new());
        c.view(Duration::ZERO, 0, &role(), &held("x"));
        c.view(Duration::ZERO, 1, &role(), &held("z"));
        c.view(Duration::ZERO, 2, &role(), &held("y"));
        c.view(Duration::ZERO, 2, &role(), &held(""));
        let v = c.verify();
        assert_eq!(v.len(), 3, "{v:?}");
        assert!(
            v[0].contains("went back from value version 1 to 0"),
            "{v:?}"
        );
        assert!(v[1].contains("did not publish"), "{v:?}");
        assert!(v[2].contains("did not publish"), "{v:?}");
    }
}
