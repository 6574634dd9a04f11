//! The node task's side of role operations: it starts the core's requests, routes each
//! [`Completion`] to whoever waits for it, ends tenures when the core reports a loss,
//! publishes role views to watchers, and resigns roles that nobody holds a
//! [`Leadership`] for.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::command::RoleCommand;
use super::control::Control;
use super::leadership::{Leadership, Standing, StandingWatch, Tenure};
use super::role_watch::RoleWatches;
use crate::clock::LamportTime;
use crate::core::roles::SetRenewed;
use crate::core::{
    Completion, Core, Event, KeyRollout, LossReason, RequestId, RoleError, RoleState,
};
use crate::identity::RoleName;
use crate::wire::KeyOp;

/// Who waits for a request's outcome.
#[derive(Debug)]
enum Pending {
    Elect(oneshot::Sender<Result<Leadership, RoleError>>),
    Recall(oneshot::Sender<Result<LamportTime, RoleError>>),
    Query(oneshot::Sender<Result<RoleState, RoleError>>),
    Transfer(ResignReply),
    Keys(oneshot::Sender<KeyRollout>),
}

impl Pending {
    /// Whether nobody can receive the outcome any more.
    fn is_abandoned(&self) -> bool {
        match self {
            Pending::Elect(reply) => reply.is_closed(),
            Pending::Recall(reply) => reply.is_closed(),
            Pending::Query(reply) => reply.is_closed(),
            Pending::Transfer(reply) => reply.is_closed(),
            Pending::Keys(reply) => reply.is_closed(),
        }
    }
}

/// A tenure of this node: how to tell its [`Leadership`] values that it ended, and
/// whether any of them is still alive.
#[derive(Debug)]
struct Slot {
    lost: watch::Sender<Option<LossReason>>,
    /// Its own deadline, and the version of the held set that first had it.
    standing: watch::Sender<Standing>,
    since: u64,
    leader: Weak<Tenure>,
}

/// A (role, term) this node may hold that nobody may want any more.
type Orphan = (RoleName, LamportTime);

type ResignReply = oneshot::Sender<Result<LamportTime, RoleError>>;

/// Everything the node's task keeps for role operations.
#[derive(Debug)]
pub(crate) struct RoleDesk {
    pending: HashMap<RequestId, Pending>,
    tenures: HashMap<(RoleName, LamportTime), Slot>,
    /// Outcomes of resignations, sent once the losses they caused are reported.
    resigned: Vec<(ResignReply, Result<LamportTime, RoleError>)>,
    watches: Arc<RoleWatches>,
    control: mpsc::UnboundedSender<Control>,
    /// [`Core::deadlines_moved`] when the tenures' own deadlines were last refreshed.
    deadlines_seen: u64,
    /// [`Core::set_renewed`], for every tenure at once.
    set_renewed: watch::Sender<SetRenewed>,
}

impl RoleDesk {
    pub(crate) fn new(watches: Arc<RoleWatches>, control: mpsc::UnboundedSender<Control>) -> Self {
        RoleDesk {
            pending: HashMap::new(),
            tenures: HashMap::new(),
            resigned: Vec::new(),
            watches,
            control,
            deadlines_seen: 0,
            set_renewed: watch::channel(SetRenewed::default()).0,
        }
    }

    /// Carries out one role command. Outcomes of requests come later, through
    /// [`RoleDesk::route`].
    pub(crate) fn command(&mut self, core: &mut Core, command: RoleCommand) {
        let now = Instant::now();
        match command {
            RoleCommand::Elect {
                role,
                campaign,
                value,
                priority,
                reply,
            } => {
                // The caller gave up before the request started: do not start it.
                if reply.is_closed() {
                    return;
                }
                let id = if campaign {
                    core.campaign_with_priority(now, role, value, priority)
                } else {
                    core.elect_with(now, role, value)
                };
                self.pending.insert(id, Pending::Elect(reply));
            }
            RoleCommand::Recall { role, reply } => {
                if !reply.is_closed() {
                    let id = core.recall(now, role);
                    self.pending.insert(id, Pending::Recall(reply));
                }
            }
            RoleCommand::Query { role, reply } => {
                if !reply.is_closed() {
                    let id = core.query_role(now, role);
                    self.pending.insert(id, Pending::Query(reply));
                }
            }
            RoleCommand::Resign { role, term, reply } => {
                let result = match term {
                    Some(term) if !holds(core, &role, term) => Err(RoleError::NotHolder),
                    _ => core.resign(now, &role),
                };
                self.resigned.push((reply, result));
            }
            RoleCommand::Transfer {
                role,
                term,
                to,
                reply,
            } => match term {
                Some(term) if !holds(core, &role, term) => {
                    self.resigned.push((reply, Err(RoleError::NotHolder)));
                }
                _ => {
                    let id = core.transfer(now, role, &to);
                    self.pending.insert(id, Pending::Transfer(reply));
                }
            },
            RoleCommand::State(role, reply) => {
                let _ = reply.send(core.role_state(&role));
            }
            RoleCommand::List(reply) => {
                let _ = reply.send(core.roles());
            }
        }
    }

    /// Starts a keyring rollout; its outcome comes back through [`RoleDesk::route`].
    pub(crate) fn rollout_keys(
        &mut self,
        core: &mut Core,
        op: KeyOp,
        reply: oneshot::Sender<KeyRollout>,
    ) {
        let id = core.rollout_keys(Instant::now(), op);
        self.pending.insert(id, Pending::Keys(reply));
    }

    /// Handles a message from a tenure or a `Drop`.
    pub(crate) fn control(&mut self, core: &mut Core, control: Control) {
        let now = Instant::now();
        match control {
            Control::Abandoned => {
                let abandoned: Vec<RequestId> = self
                    .pending
                    .iter()
                    .filter(|(_, pending)| pending.is_abandoned())
                    .map(|(id, _)| *id)
                    .collect();
                for id in abandoned {
                    self.pending.remove(&id);
                    // An election already under way may still win; the orphan check
                    // on `RoleAcquired` then resigns the role.
                    core.cancel(now, id);
                }
            }
            Control::Release { role, term } => {
                self.resign_orphans(core, vec![(role, term)]);
            }
            Control::Resign { role, term, reply } => {
                let term = Some(term);
                self.command(core, RoleCommand::Resign { role, term, reply });
            }
            Control::Transfer {
                role,
                term,
                to,
                reply,
            } => {
                let term = Some(term);
                self.command(
                    core,
                    RoleCommand::Transfer {
                        role,
                        term,
                        to,
                        reply,
                    },
                );
            }
            Control::Proclaim {
                role,
                term,
                value,
                reply,
            } => {
                let result = if holds(core, &role, term) {
                    core.proclaim(now, &role, value)
                } else {
                    Err(RoleError::NotHolder)
                };
                let _ = reply.send(result);
            }
        }
    }

    /// Routes every completion and role event the core has queued, publishing each
    /// event on `publish`; then resigns every role won or held that nobody holds a
    /// [`Leadership`] for. Returns whether it resigned any, in which case the core has
    /// queued more to send and report.
    pub(crate) fn route(&mut self, core: &mut Core, mut publish: impl FnMut(Event)) -> bool {
        let mut orphans = Vec::new();
        // Completions first: a `Leadership` handed out here is what the orphan check of
        // a `RoleAcquired` in the same batch looks for.
        while let Some(completion) = core.poll_completion() {
            self.complete(core, completion, &mut orphans);
        }
        while let Some(event) = core.poll_event() {
            self.observe(&event, &mut orphans);
            publish(event);
        }
        // A renewal of the whole held set moves every tenure's deadline on in one step; a
        // role renewed alone moves its own, looked up only when one moved.
        let set = core.set_renewed();
        self.set_renewed.send_if_modified(|seen| {
            let moved = seen != set;
            if moved {
                seen.clone_from(set);
            }
            moved
        });
        let moved = core.deadlines_moved();
        if moved != self.deadlines_seen {
            self.deadlines_seen = moved;
            for ((role, term), slot) in &self.tenures {
                if let Some(held) = core.held_at(role).filter(|h| h.term == *term) {
                    slot.standing.send_if_modified(|standing| {
                        let moved = standing.until != held.until;
                        standing.until = held.until;
                        moved
                    });
                }
            }
        }
        // The caller of `resign` or `transfer` hears back once its `lost()` futures have
        // resolved.
        for (reply, result) in self.resigned.drain(..) {
            let _ = reply.send(result);
        }
        self.resign_orphans(core, orphans)
    }

    /// The node's task is ending: every waiting request fails with `ShutDown`, every
    /// `lost()` resolves, and every watch receiver is closed.
    pub(crate) fn close(&mut self) {
        self.pending.clear();
        self.resigned.clear();
        self.tenures.clear();
        self.watches.close();
    }

    fn complete(&mut self, core: &Core, completion: Completion, orphans: &mut Vec<Orphan>) {
        match completion {
            Completion::Elect { id, role, result } => match (self.pending.remove(&id), result) {
                (Some(Pending::Elect(reply)), Ok(term)) => {
                    let (until, since) = core
                        .held_at(&role)
                        .filter(|h| h.term == term)
                        .map_or_else(|| (Instant::now(), u64::MAX), |h| (h.until, h.since));
                    let leadership = self.leadership(role.clone(), term, until, since);
                    if let Err(unwanted) = reply.send(Ok(leadership)) {
                        // Nobody waits any more: give the role up at once.
                        drop(unwanted);
                        orphans.push((role, term));
                    }
                }
                (Some(Pending::Elect(reply)), Err(error)) => {
                    let _ = reply.send(Err(error));
                }
                (_, Ok(term)) => orphans.push((role, term)),
                (_, Err(_)) => {}
            },
            Completion::Recall { id, result } => {
                if let Some(Pending::Recall(reply)) = self.pending.remove(&id) {
                    let _ = reply.send(result);
                }
            }
            Completion::Query { id, result } => {
                if let Some(Pending::Query(reply)) = self.pending.remove(&id) {
                    let _ = reply.send(result);
                }
            }
            Completion::Transfer { id, result } => {
                // Answered with the resignations, once the loss it caused is reported.
                if let Some(Pending::Transfer(reply)) = self.pending.remove(&id) {
                    self.resigned.push((reply, result));
                }
            }
            Completion::Keys { id, rollout } => {
                if let Some(Pending::Keys(reply)) = self.pending.remove(&id) {
                    let _ = reply.send(rollout);
                }
            }
        }
    }

    fn observe(&mut self, event: &Event, orphans: &mut Vec<Orphan>) {
        match event {
            Event::RoleAcquired { role, term } => {
                // Won by an election whose callers all gave up.
                orphans.push((role.clone(), *term));
            }
            Event::RoleAtRisk { role, term, .. } => {
                if let Some(slot) = self.tenures.get(&(role.clone(), *term)) {
                    slot.standing
                        .send_modify(|standing| standing.at_risk = true);
                }
            }
            Event::RoleLost { role, term, reason } => {
                if let Some(slot) = self.tenures.remove(&(role.clone(), *term)) {
                    slot.lost.send_replace(Some(*reason));
                }
            }
            Event::RoleChanged { role, state } => self.watches.publish(role, state),
            _ => {}
        }
    }

    /// A `Leadership` of `role` at `term`, sharing the tenure of any that is still alive.
    fn leadership(
        &mut self,
        role: RoleName,
        term: LamportTime,
        until: Instant,
        since: u64,
    ) -> Leadership {
        let slot = self
            .tenures
            .entry((role.clone(), term))
            .or_insert_with(|| Slot {
                lost: watch::channel(None).0,
                standing: watch::channel(Standing {
                    until,
                    at_risk: false,
                })
                .0,
                since,
                leader: Weak::new(),
            });
        if let Some(tenure) = slot.leader.upgrade() {
            return Leadership::new(tenure);
        }
        let tenure = Arc::new(Tenure::new(
            role,
            term,
            slot.lost.subscribe(),
            StandingWatch::new(
                slot.standing.subscribe(),
                self.set_renewed.subscribe(),
                slot.since,
            ),
            self.control.clone(),
        ));
        slot.leader = Arc::downgrade(&tenure);
        Leadership::new(tenure)
    }

    /// Resigns each role held at the given term that no live `Leadership` stands for.
    fn resign_orphans(&mut self, core: &mut Core, orphans: Vec<Orphan>) -> bool {
        let mut resigned = false;
        for (role, term) in orphans {
            let led = self
                .tenures
                .get(&(role.clone(), term))
                .is_some_and(|slot| slot.leader.strong_count() > 0);
            if !led && holds(core, &role, term) {
                tracing::debug!(%role, %term, "nobody wants the role any more; resigning");
                resigned |= core.resign(Instant::now(), &role).is_ok();
            }
        }
        resigned
    }
}

/// Whether `core` holds `role` at exactly `term`.
fn holds(core: &Core, role: &RoleName, term: LamportTime) -> bool {
    core.held_at(role).is_some_and(|held| held.term == term)
}
