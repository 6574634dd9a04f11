//! What this node believes about a role, never going back to a lower term (S5), and the
//! announcements (heard directly or by gossip) that move it.

use std::time::Instant;

use serde::Serialize;

use super::forget::Unchanged;
use super::{Ctx, Event, LossReason, Outbox, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::wire::{Announcement, Body};

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
    /// The newest tenure known, or `Vacant`.
    state: RoleState,
    version: (LamportTime, Step),
    /// Whether this node's own lease of the tenure at `version`'s term ran out.
    lapse: Lapse,
    /// Since when `version` and the lapse have stayed the same, for forgetting.
    pub(super) unchanged: Unchanged<((LamportTime, Step), bool)>,
}

/// This node's lease of the tenure a view knows, and what the view shows after it.
///
/// A lease that runs out here is no proof that the tenure ended: the holder may go on
/// with the leases of other voters (this one may have been cut off, or have recalled the
/// term). So the view shows the role vacant but keeps the tenure, and fresh news from
/// its holder (a renewal, an announcement) shows it again, for a lease at a time unless
/// this node renews the lease again. Late news can show an ended tenure for at most one
/// lease; news of a later term always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lapse {
    /// No lease of this node ran out (or it was renewed since).
    Live,
    /// The lease ran out: the view shows the role vacant.
    Lapsed,
    /// The lease ran out, but its holder was heard from since: shown until then.
    ShownUntil(Instant),
}

/// What a view shows while the lease of its tenure has lapsed.
static VACANT: RoleState = RoleState::Vacant;

impl Default for View {
    fn default() -> Self {
        View {
            state: RoleState::Vacant,
            version: (LamportTime::ZERO, Step::Ended),
            lapse: Lapse::Live,
            unchanged: Unchanged::default(),
        }
    }
}

impl View {
    /// What this node shows of the role.
    pub(crate) fn state(&self) -> &RoleState {
        match self.lapse {
            Lapse::Lapsed => &VACANT,
            Lapse::Live | Lapse::ShownUntil(_) => &self.state,
        }
    }

    /// What must stay the same for a view to be forgotten: the (term, step) it was
    /// learned at, and whether its lease lapsed here, so that a lapsed tenure is kept
    /// (with its value) for `forget_after` from the lapse.
    pub(super) fn forget_key(&self) -> ((LamportTime, Step), bool) {
        (self.version, self.lapse == Lapse::Lapsed)
    }

    /// Whether nobody holds the role, as far as this view knows.
    pub(super) fn is_vacant(&self) -> bool {
        *self.state() == RoleState::Vacant
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

    /// Learns from a renewal this node granted that `holder` holds the role at `term`,
    /// its value unknown until its announcement comes; true if the view changed. This
    /// node's lease of the tenure is live again, so the view shows it.
    pub(crate) fn renewed(&mut self, holder: &NodeName, term: LamportTime) -> bool {
        let state = RoleState::Held {
            holder: holder.clone(),
            term,
            value: RoleValue::EMPTY,
        };
        let changed = self.update(state, (term, Step::Renewed));
        if self.holds(holder, term) {
            self.lapse = Lapse::Live;
        }
        changed
    }

    /// This node's lease of `holder`'s tenure at `term` ran out: the view shows the
    /// role vacant, but a later renewal or announcement of the tenure shows it again.
    pub(crate) fn lapsed(&mut self, holder: &NodeName, term: LamportTime) {
        if matches!(self.state, RoleState::Recalled { term: t, .. } if t == term) {
            // A quorum stopped renewing it and the lease ran out: it ended.
            self.ended(term);
        } else if self.holds(holder, term) || (term, Step::Seen) == self.version {
            self.lapse = Lapse::Lapsed;
        }
        // A vote this node granted, for a tenure it never saw begin, changes nothing: the
        // view's own tenure (shown or lapsed) is not known to be over, since the vote may
        // have lost, and a newer tenure's news moves the view on anyway.
    }

    /// `holder`, whose tenure at `term` this view knows but whose lease lapsed here, was
    /// heard from: the view shows the tenure until `until`. False if the view knows no
    /// such lapsed tenure.
    pub(crate) fn revive(&mut self, holder: &NodeName, term: LamportTime, until: Instant) -> bool {
        if self.lapse == Lapse::Live || !self.holds(holder, term) {
            return false;
        }
        self.lapse = Lapse::ShownUntil(until);
        true
    }

    /// The time a lapsed tenure was shown until (`at`) came: the view shows the role
    /// vacant again, unless its holder was heard from since.
    pub(crate) fn shown_until_passed(&mut self, at: Instant) {
        if self.lapse == Lapse::ShownUntil(at) {
            self.lapse = Lapse::Lapsed;
        }
    }

    /// Whether the view knows `holder`'s live tenure at `term` from renewals alone, not
    /// the value it publishes.
    pub(crate) fn knows_only_renewals(&self, holder: &NodeName, term: LamportTime) -> bool {
        self.version == (term, Step::Renewed)
            && self.lapse == Lapse::Live
            && self.holds(holder, term)
    }

    /// Whether the view knows `holder`'s tenure at `term` (recalled or not).
    fn holds(&self, holder: &NodeName, term: LamportTime) -> bool {
        matches!(
            &self.state,
            RoleState::Held { holder: h, term: t, .. } | RoleState::Recalled { holder: h, term: t }
                if h == holder && *t == term
        )
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
        if version.0 > self.version.0 || version.1 == Step::Ended {
            // Another tenure, or the end of this one: no lapse of this node matters.
            self.lapse = Lapse::Live;
        }
        self.version = version;
        self.state = state;
        true
    }
}

impl Roles {
    /// Applies `change` to the view of `role` and reports it if what it shows changed.
    pub(super) fn learn<R>(
        &mut self,
        out: &mut Outbox,
        role: &RoleName,
        change: impl FnOnce(&mut View) -> R,
    ) -> R {
        let view = self.views.entry(role.clone()).or_default();
        let shown = view.state().clone();
        let result = change(view);
        if *view.state() != shown {
            out.events.push(Event::RoleChanged {
                role: role.clone(),
                state: view.state().clone(),
            });
        }
        result
    }

    /// Fresh news from `holder` of its tenure of `role` at `term`: if this node's lease
    /// of it lapsed, the view shows the tenure again for a lease.
    pub(super) fn heard_from_holder(
        &mut self,
        ctx: &Ctx<'_>,
        out: &mut Outbox,
        role: &RoleName,
        holder: &NodeName,
        term: LamportTime,
    ) {
        if !self.views.contains_key(role) {
            // Nothing lapsed here; and a refused renewal leaves nothing behind.
            return;
        }
        let until = ctx.now + ctx.config.lease;
        if self.learn(out, role, |v| v.revive(holder, term, until)) {
            out.timers
                .push((until, RoleTimer::ShownUntil(role.clone(), until)));
        }
    }

    /// Asks `holder` for its announcement of `role` at `term` if this node's view knows
    /// the tenure only from renewals, and asks again a lease later until it does. Loss
    /// cannot keep a value away for long this way: renewals alone never carry it.
    pub(super) fn ask_announcement(
        &mut self,
        ctx: &Ctx<'_>,
        out: &mut Outbox,
        role: RoleName,
        holder: NodeId,
        term: LamportTime,
    ) {
        let wanted = self
            .views
            .get(&role)
            .is_some_and(|v| v.knows_only_renewals(holder.name(), term));
        if !wanted {
            return;
        }
        out.sends.push((
            holder.addr(),
            Body::AskAnnouncement {
                role: role.clone(),
                term,
            },
        ));
        out.timers.push((
            ctx.now + ctx.config.lease,
            RoleTimer::AskAnnouncement(role, holder, term),
        ));
    }

    /// A lapsed tenure of `role` was shown until `at`, which came.
    pub(super) fn shown_until_passed(&mut self, out: &mut Outbox, role: &RoleName, at: Instant) {
        if self.views.contains_key(role) {
            self.learn(out, role, |v| v.shown_until_passed(at));
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
                self.heard_from_holder(ctx, out, role, holder, *term);
                if holder != ctx.me.name() && self.held.get(role).is_some_and(|h| h.term < *term) {
                    self.step_down(out, role, LossReason::Superseded);
                }
            }
            Announcement::Recalled { role, term } => {
                self.learn(out, role, |v| v.recalled(*term));
                self.voters.update(out, role, |v| v.close_through(*term));
                if self.held.get(role).is_some_and(|h| h.term <= *term) {
                    self.step_down(out, role, LossReason::Recalled);
                }
            }
            Announcement::Resigned { role, holder, term } => {
                self.learn(out, role, |v| v.ended(*term));
                // A voter the holder told directly has opened the contest already, with
                // the successor the holder named first.
                let told = self.voters.contains(role)
                    && !self.voters.release(out, role, holder, *term, None);
                if !told {
                    self.contest_opens(ctx, out, role, ctx.config.handoff_step(), None, false);
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
    use std::time::Duration;

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

    #[test]
    fn a_lapsed_lease_hides_the_tenure_until_its_holder_is_heard_from() {
        let a = NodeName::new("a").unwrap();
        let value = RoleValue::new("10.0.0.5:8080").unwrap();
        let held = RoleState::Held {
            holder: a.clone(),
            term: LamportTime(10),
            value: value.clone(),
        };
        let now = Instant::now();
        let mut view = View::default();
        assert!(view.elected(&a, LamportTime(10), 0, &value));
        view.lapsed(&a, LamportTime(10));
        assert_eq!(view.state(), &RoleState::Vacant);
        assert!(
            !view.has_ended(LamportTime(10)),
            "a lapse is no proof of an end"
        );
        assert!(!view.revive(&a, LamportTime(9), now), "another tenure");
        let until = now + Duration::from_secs(1);
        assert!(view.revive(&a, LamportTime(10), until));
        assert_eq!(view.state(), &held, "its holder renews it still");
        view.shown_until_passed(now);
        assert_eq!(view.state(), &held, "heard from since");
        view.shown_until_passed(until);
        assert_eq!(
            view.state(),
            &RoleState::Vacant,
            "not heard from for a lease"
        );
        assert!(
            !view.renewed(&a, LamportTime(10)),
            "older news than the election"
        );
        assert_eq!(view.state(), &held, "renewed here again: live");
        view.shown_until_passed(until);
        assert_eq!(
            view.state(),
            &held,
            "a live lease is not shown until anything"
        );
    }

    #[test]
    fn a_lapsed_vote_for_an_unknown_tenure_does_not_hide_an_older_one() {
        let (a, b) = (NodeName::new("a").unwrap(), NodeName::new("b").unwrap());
        let mut view = View::default();
        assert!(view.elected(&a, LamportTime(10), 0, &RoleValue::EMPTY));
        view.lapsed(&b, LamportTime(20));
        assert!(
            matches!(view.state(), RoleState::Held { holder, .. } if *holder == a),
            "a's tenure is not known to be over"
        );
        // a's lease ran out here, then the vote for b: a may still hold with other
        // voters, so its news still counts.
        view.lapsed(&a, LamportTime(10));
        view.lapsed(&b, LamportTime(20));
        assert_eq!(view.state(), &RoleState::Vacant);
        assert!(view.elected(&a, LamportTime(10), 1, &RoleValue::EMPTY));
        assert_eq!(
            view.state(),
            &RoleState::Vacant,
            "hidden until a is heard from"
        );
        assert!(
            !view.renewed(&a, LamportTime(10)),
            "older news than the value"
        );
        assert!(
            matches!(view.state(), RoleState::Held { holder, .. } if *holder == a),
            "renewed here again: live"
        );
        // News of a later term wins.
        assert!(view.elected(&b, LamportTime(20), 0, &RoleValue::EMPTY));
        assert!(matches!(view.state(), RoleState::Held { holder, .. } if *holder == b));
        assert!(!view.elected(&a, LamportTime(10), 2, &RoleValue::EMPTY));
    }

    #[test]
    fn a_recalled_tenure_whose_lease_lapsed_has_ended() {
        let a = NodeName::new("a").unwrap();
        let mut view = View::default();
        assert!(view.elected(&a, LamportTime(10), 0, &RoleValue::EMPTY));
        assert!(view.recalled(LamportTime(10)));
        view.lapsed(&a, LamportTime(10));
        assert!(view.has_ended(LamportTime(10)));
        assert!(!view.revive(&a, LamportTime(10), Instant::now()));
    }

    #[test]
    fn only_a_live_tenure_known_from_renewals_wants_its_announcement() {
        let a = NodeName::new("a").unwrap();
        let mut view = View::default();
        assert!(view.renewed(&a, LamportTime(10)));
        assert!(view.knows_only_renewals(&a, LamportTime(10)));
        assert!(!view.knows_only_renewals(&a, LamportTime(9)));
        view.lapsed(&a, LamportTime(10));
        assert!(!view.knows_only_renewals(&a, LamportTime(10)), "lapsed");
        assert!(view.elected(&a, LamportTime(10), 0, &RoleValue::EMPTY));
        assert!(!view.knows_only_renewals(&a, LamportTime(10)), "announced");
    }
}
