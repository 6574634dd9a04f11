//! What this node believes about a role, never going back to a lower term (S5), and the
//! announcements (heard directly or by gossip) that move it.

use serde::Serialize;

use super::forget::Unchanged;
use super::{Ctx, Event, LossReason, Outbox, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::wire::Announcement;

/// A role as users see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum RoleState {
    /// Nobody holds it, as far as this node knows.
    Vacant,
    /// `holder` holds it with `term` (its fencing token), and publishes `value`.
    Held {
        /// The holder's name.
        holder: NodeName,
        /// Its term.
        term: LamportTime,
        /// The newest value the holder published that this node knows of; empty if it
        /// gave none. Within a term, values only move to later ones.
        #[serde(skip)]
        value: RoleValue,
    },
    /// A quorum stopped renewing `term`; the role is vacant once the lease runs out.
    Recalled {
        /// The holder being recalled.
        holder: NodeName,
        /// The term recalled.
        term: LamportTime,
    },
}

/// The step within a term, so that later news about the same term wins: a holder
/// known from its renewals, its election with the version of the value published,
/// then a recall, then the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    /// Remembered across a restart: the term is known, not who holds it.
    Seen,
    /// The holder is known from a renewal, not the value it publishes.
    Renewed,
    Elected(u64),
    Recalled,
    Ended,
}

/// One role's view: a state and the (term, step) it was learned at.
#[derive(Debug, Clone)]
pub(crate) struct View {
    state: RoleState,
    version: (LamportTime, Step),
    /// Since when `version` has stayed the same, for forgetting.
    pub(super) unchanged: Unchanged<(LamportTime, Step)>,
}

impl Default for View {
    fn default() -> Self {
        View {
            state: RoleState::Vacant,
            version: (LamportTime::ZERO, Step::Ended),
            unchanged: Unchanged::default(),
        }
    }
}

impl View {
    pub(crate) fn state(&self) -> &RoleState {
        &self.state
    }

    /// The (term, step) this view was learned at.
    pub(super) fn version(&self) -> (LamportTime, Step) {
        self.version
    }

    /// Whether nobody holds the role, as far as this view knows.
    pub(super) fn is_vacant(&self) -> bool {
        self.state == RoleState::Vacant
    }

    /// The highest term this view has seen.
    pub(crate) fn seen_through(&self) -> LamportTime {
        self.version.0
    }

    /// Starts the view at `term` without knowing the holder: older news is ignored.
    pub(crate) fn seen(&mut self, term: LamportTime) {
        if (term, Step::Seen) > self.version {
            self.version = (term, Step::Seen);
        }
    }

    /// Whether the tenure at `term` is known to have ended (resigned, expired).
    pub(crate) fn has_ended(&self, term: LamportTime) -> bool {
        self.version.1 == Step::Ended && self.version.0 >= term
    }

    /// Learns `holder` holds the role at `term` with the `version`th `value` of the
    /// term; true if the view changed.
    pub(crate) fn elected(
        &mut self,
        holder: &NodeName,
        term: LamportTime,
        version: u64,
        value: &RoleValue,
    ) -> bool {
        if (term, Step::Elected(version)) <= self.version {
            return false;
        }
        let state = RoleState::Held {
            holder: holder.clone(),
            term,
            value: value.clone(),
        };
        self.update(state, (term, Step::Elected(version)))
    }

    /// Learns from a renewal that `holder` holds the role at `term`, its value unknown
    /// until its announcement comes; true if the view changed.
    pub(crate) fn renewed(&mut self, holder: &NodeName, term: LamportTime) -> bool {
        let state = RoleState::Held {
            holder: holder.clone(),
            term,
            value: RoleValue::EMPTY,
        };
        self.update(state, (term, Step::Renewed))
    }

    /// The value this view knows for `holder`'s tenure at `term`, with its version.
    pub(crate) fn value_of(
        &self,
        holder: &NodeName,
        term: LamportTime,
    ) -> Option<(u64, RoleValue)> {
        match (&self.state, self.version.1) {
            (
                RoleState::Held {
                    holder: h,
                    term: t,
                    value,
                },
                Step::Elected(version),
            ) if h == holder && *t == term => Some((version, value.clone())),
            _ => None,
        }
    }

    /// Learns `term` was recalled; true if the view changed.
    pub(crate) fn recalled(&mut self, term: LamportTime) -> bool {
        let holder = match &self.state {
            RoleState::Held {
                holder, term: t, ..
            } if *t == term => holder.clone(),
            _ => return false,
        };
        self.update(RoleState::Recalled { holder, term }, (term, Step::Recalled))
    }

    /// Learns the tenure at `term` ended (resigned, expired); true if the view changed.
    pub(crate) fn ended(&mut self, term: LamportTime) -> bool {
        self.update(RoleState::Vacant, (term, Step::Ended))
    }

    fn update(&mut self, state: RoleState, version: (LamportTime, Step)) -> bool {
        if version <= self.version {
            return false;
        }
        self.version = version;
        self.state = state;
        true
    }
}

impl Roles {
    /// Applies `change` to the view of `role` and reports it if it changed.
    pub(super) fn learn(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        change: impl FnOnce(&mut View) -> bool,
    ) {
        let view = self.views.entry(role.clone()).or_default();
        if change(view) {
            out.events.push(Event::RoleChanged {
                role: role.clone(),
                state: view.state().clone(),
            });
        }
    }

    /// Applies a role announcement heard by gossip or directly.
    pub(crate) fn on_announcement(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        announcement: &Announcement,
    ) {
        let (Announcement::Elected { role, term, .. }
        | Announcement::Recalled { role, term }
        | Announcement::Resigned { role, term, .. }) = announcement
        else {
            return;
        };
        ctx.clock.witness(*term);
        if self.below_view_floor(role, *term) && !self.voters.contains(role) {
            // News of a role this node forgot, older than what it forgot.
            return;
        }
        match announcement {
            Announcement::Elected {
                role,
                holder,
                term,
                version,
                value,
            } => {
                self.learn(out, role, |v| v.elected(holder, *term, *version, value));
                if holder != ctx.me.name() && self.held.get(role).is_some_and(|h| h.term < *term) {
                    self.step_down(out, role, LossReason::Superseded);
                }
            }
            Announcement::Recalled { role, term } => {
                self.learn(out, role, |v| v.recalled(*term));
                if self.held.get(role).is_some_and(|h| h.term <= *term) {
                    self.step_down(out, role, LossReason::Recalled);
                }
            }
            Announcement::Resigned { role, holder, term } => {
                self.learn(out, role, |v| v.ended(*term));
                // A voter the holder told directly has opened the contest already, with
                // the successor the holder named first.
                let told =
                    self.voters.contains(role) && !self.voters.release(out, role, holder, *term);
                if !told {
                    self.contest_opens(ctx, out, role, ctx.config.handoff_step(), None);
                }
            }
            Announcement::Left { .. }
            | Announcement::ForceLeft { .. }
            | Announcement::Tags { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_never_goes_back_to_a_lower_term() {
        let a = NodeName::new("a").unwrap();
        let b = NodeName::new("b").unwrap();
        let mut view = View::default();
        assert!(view.elected(&a, LamportTime(10), 0, &RoleValue::EMPTY));
        assert!(view.elected(&b, LamportTime(20), 0, &RoleValue::EMPTY));
        assert!(
            !view.elected(&a, LamportTime(15), 0, &RoleValue::EMPTY),
            "late news of an older term"
        );
        assert!(!view.ended(LamportTime(10)));
        assert_eq!(
            view.state(),
            &RoleState::Held {
                holder: b.clone(),
                term: LamportTime(20),
                value: RoleValue::EMPTY,
            }
        );
        assert!(view.recalled(LamportTime(20)));
        assert!(
            !view.elected(&b, LamportTime(20), 5, &RoleValue::EMPTY),
            "elected is older news than recalled, whatever the value's version"
        );
        assert!(view.ended(LamportTime(20)));
        assert_eq!(view.state(), &RoleState::Vacant);
        assert!(
            !view.elected(&a, LamportTime(20), 0, &RoleValue::EMPTY),
            "still at term 20"
        );
    }

    #[test]
    fn a_remembered_term_keeps_older_news_out_but_lets_its_holder_in() {
        let a = NodeName::new("a").unwrap();
        let mut view = View::default();
        view.seen(LamportTime(20));
        assert_eq!(view.state(), &RoleState::Vacant);
        assert!(!view.elected(&a, LamportTime(19), 0, &RoleValue::EMPTY));
        assert!(view.elected(&a, LamportTime(20), 0, &RoleValue::EMPTY));
        assert_eq!(view.seen_through(), LamportTime(20));
    }

    #[test]
    fn a_recall_of_another_term_changes_nothing() {
        let mut view = View::default();
        assert!(view.elected(
            &NodeName::new("a").unwrap(),
            LamportTime(10),
            0,
            &RoleValue::EMPTY
        ));
        assert!(!view.recalled(LamportTime(9)));
    }

    #[test]
    fn a_value_only_moves_to_a_later_version_of_its_term() {
        let a = NodeName::new("a").unwrap();
        let value = |text: &str| RoleValue::new(text).unwrap();
        let held = |text: &str| RoleState::Held {
            holder: a.clone(),
            term: LamportTime(10),
            value: value(text),
        };
        let mut view = View::default();
        assert!(view.elected(&a, LamportTime(10), 0, &value("first")));
        assert!(view.elected(&a, LamportTime(10), 2, &value("third")));
        assert!(
            !view.elected(&a, LamportTime(10), 1, &value("second")),
            "late news"
        );
        assert!(
            !view.elected(&a, LamportTime(10), 2, &value("third")),
            "the same news"
        );
        assert_eq!(view.state(), &held("third"));
        assert_eq!(
            view.value_of(&a, LamportTime(10)),
            Some((2, value("third")))
        );
        assert_eq!(view.value_of(&a, LamportTime(9)), None);
    }

    #[test]
    fn a_holder_known_from_renewals_takes_the_value_of_its_election() {
        let a = NodeName::new("a").unwrap();
        let mut view = View::default();
        assert!(view.renewed(&a, LamportTime(10)));
        assert_eq!(view.value_of(&a, LamportTime(10)), None, "not known yet");
        let value = RoleValue::new("10.0.0.5:8080").unwrap();
        assert!(view.elected(&a, LamportTime(10), 0, &value));
        assert!(
            !view.renewed(&a, LamportTime(10)),
            "a renewal is older news"
        );
        assert_eq!(view.value_of(&a, LamportTime(10)), Some((0, value)));
    }
}
