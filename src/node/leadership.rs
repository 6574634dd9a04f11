//! [`Leadership`]: this node holds a role, at a term that serves as its fencing token.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot, watch};

use super::control::Control;
use super::error::NodeError;
use crate::clock::LamportTime;
use crate::core::LossReason;
use crate::core::roles::SetRenewed;
use crate::identity::{NodeName, RoleName};
use crate::role_value::RoleValue;

/// Proof that this node holds a role, returned by [`super::NodeHandle::elect`] and
/// [`super::NodeHandle::campaign`].
///
/// - [`Leadership::term`] is the fencing token: every later grant of the role, to any
///   node, carries a higher term. Pass it with every write to a store that must refuse
///   a stale holder, and have the store refuse terms below the highest it has seen.
/// - [`Leadership::lost`] resolves when the node stops holding the role: it resigned,
///   could not renew its lease with a quorum, was recalled or superseded, or the node
///   stopped. The node steps down before any voter may grant the role to another node,
///   so stop acting as the holder as soon as it resolves.
/// - [`Leadership::resign`] gives the role up so a waiting candidate takes over within a
///   few round trips. **Dropping** the last `Leadership` of a tenure does the same,
///   without waiting: the node resigns only if it still holds the role at this term.
///
/// Clones share the tenure: the role is resigned on drop only once every clone is gone,
/// and a `Leadership` for the same role and term handed out by a later `elect` or
/// `campaign` shares it too. A `Leadership` does not keep the node running: when every
/// [`super::NodeHandle`] is dropped the node stops, and `lost()` resolves.
#[derive(Clone)]
pub struct Leadership {
    tenure: Arc<Tenure>,
}

/// Where a tenure stands, as [`Leadership::standing`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Standing {
    /// When this node steps down unless a quorum renews first ([`Leadership::deadline`]).
    pub until: Instant,
    /// Whether the early warning came ([`Leadership::at_risk`]).
    pub at_risk: bool,
}

/// A tenure's [`Standing`] as it changes, from [`Leadership::standing`].
#[derive(Debug, Clone)]
pub struct StandingWatch {
    /// This tenure's own deadline and warning, moved on by the node's task when a
    /// quorum renews this role alone.
    own: watch::Receiver<Standing>,
    /// The node's latest renewal of its whole held set, which moves the deadline of
    /// every role held since its version: one watch for every tenure, so a steady
    /// renewal costs the node's task the same for one role or thousands.
    set: watch::Receiver<SetRenewed>,
    /// The version of the held set that first had this tenure.
    since: u64,
    /// The standing [`StandingWatch::changed`] last reported.
    seen: Standing,
}

impl StandingWatch {
    pub(crate) fn new(
        own: watch::Receiver<Standing>,
        set: watch::Receiver<SetRenewed>,
        since: u64,
    ) -> Self {
        let mut watch = StandingWatch {
            own,
            set,
            since,
            seen: Standing {
                until: Instant::now(),
                at_risk: false,
            },
        };
        watch.seen = watch.get();
        watch
    }

    /// Where the tenure stands now.
    pub fn get(&self) -> Standing {
        let own = *self.own.borrow();
        Standing {
            until: self.set.borrow().deadline(self.since, own.until),
            ..own
        }
    }

    /// Waits until the standing differs from what it was when this last returned (or
    /// when the watch was made): a renewal moved the deadline on, or the early warning
    /// came. Fails with [`NodeError::ShutDown`] once the node stopped. Cancel-safe: a
    /// change is reported by the next call that completes.
    pub async fn changed(&mut self) -> Result<(), NodeError> {
        loop {
            self.own.borrow_and_update();
            self.set.borrow_and_update();
            let now = self.get();
            if now != self.seen {
                self.seen = now;
                return Ok(());
            }
            tokio::select! {
                changed = self.own.changed() => changed,
                changed = self.set.changed() => changed,
            }
            .map_err(|_| NodeError::ShutDown)?;
        }
    }
}

/// One tenure of a role on this node, shared by its [`Leadership`] values.
pub(crate) struct Tenure {
    role: RoleName,
    term: LamportTime,
    /// Set by the node's task when the tenure ends; closed when the task ends.
    lost: watch::Receiver<Option<LossReason>>,
    /// Moved on by the node's task with every renewal a quorum acknowledged.
    standing: StandingWatch,
    control: mpsc::UnboundedSender<Control>,
}

impl Tenure {
    pub(crate) fn new(
        role: RoleName,
        term: LamportTime,
        lost: watch::Receiver<Option<LossReason>>,
        standing: StandingWatch,
        control: mpsc::UnboundedSender<Control>,
    ) -> Self {
        Tenure {
            role,
            term,
            lost,
            standing,
            control,
        }
    }
}

impl Drop for Tenure {
    fn drop(&mut self) {
        if self.lost.borrow().is_some() {
            return;
        }
        // A send error means the node has stopped, and holds nothing any more.
        let _ = self.control.send(Control::Release {
            role: self.role.clone(),
            term: self.term,
        });
    }
}

impl Leadership {
    pub(crate) fn new(tenure: Arc<Tenure>) -> Self {
        Leadership { tenure }
    }

    /// The role held.
    pub fn role(&self) -> &RoleName {
        &self.tenure.role
    }

    /// The term won: the fencing token of this tenure, higher than that of every earlier
    /// grant of the role.
    pub fn term(&self) -> LamportTime {
        self.tenure.term
    }

    /// Resolves when this tenure ends: `Ok` with the reason the node stepped down, or
    /// [`NodeError::ShutDown`] if the node stopped while holding the role (its voters'
    /// leases then run out, and another node may take over after one lease).
    ///
    /// The future owns what it needs: it may be awaited after the `Leadership` is gone,
    /// moved into another task, or created many times; every one resolves.
    pub fn lost(&self) -> impl Future<Output = Result<LossReason, NodeError>> + Send + 'static {
        let mut lost = self.tenure.lost.clone();
        async move {
            let reason = lost.wait_for(Option::is_some).await.ok().and_then(|r| *r);
            reason.ok_or(NodeError::ShutDown)
        }
    }

    /// When this node steps down unless a quorum acknowledges another renewal: the end of
    /// the holder's own lease, which comes before any voter's lease ends. Moves on with
    /// every acknowledged renewal. A careful application checks it before each action
    /// (and passes [`Leadership::term`] to the store, which catches the rest).
    pub fn deadline(&self) -> Instant {
        self.tenure.standing.get().until
    }

    /// The tenure's [`Standing`], as a watch that changes with every acknowledged
    /// renewal and when the role goes at risk.
    pub fn standing(&self) -> StandingWatch {
        self.tenure.standing.clone()
    }

    /// Resolves when no quorum has acknowledged a renewal for
    /// [`crate::Config::renew_deadline`] (client-go's `RenewDeadline`), or when the tenure
    /// ends, whichever comes first: the early warning. Unless a renewal gets through,
    /// the node steps down at [`Leadership::deadline`], `holder_lease - renew_deadline`
    /// later (585 ms with `lan`): stop acting for the role within that time. It fires
    /// at most once per tenure, and a tenure may go on after it if a renewal gets
    /// through after all.
    pub fn at_risk(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut standing = self.tenure.standing.own.clone();
        let lost = self.lost();
        async move {
            tokio::select! {
                _ = standing.wait_for(|s| s.at_risk) => {}
                _ = lost => {}
            }
        }
    }

    /// Whether this tenure has ended, as [`Leadership::lost`] would report at once.
    pub fn is_lost(&self) -> bool {
        self.tenure.lost.borrow().is_some() || self.tenure.lost.has_changed().is_err()
    }

    /// Gives the role up: the node steps down at once, then tells the voters to release
    /// their leases, so that a waiting candidate takes over within a few round trips.
    /// Returns once the node has stepped down: every [`Leadership::lost`] of the tenure
    /// has then resolved with [`LossReason::Resigned`].
    ///
    /// Fails with [`crate::RoleError::NotHolder`] (as [`NodeError::Role`]) if the tenure
    /// had already ended, and with [`NodeError::ShutDown`] if the node has stopped.
    pub async fn resign(self) -> Result<(), NodeError> {
        let (reply, answer) = oneshot::channel();
        self.tenure
            .control
            .send(Control::Resign {
                role: self.tenure.role.clone(),
                term: self.tenure.term,
                reply,
            })
            .map_err(|_| NodeError::ShutDown)?;
        answer.await.map_err(|_| NodeError::ShutDown)??;
        Ok(())
    }

    /// Hands the role to the node named `to`, as [`super::NodeHandle::transfer`] does,
    /// if the node still holds it at this tenure's term. Returns once the node has
    /// stepped down: every [`Leadership::lost`] of the tenure has then resolved with
    /// [`LossReason::Resigned`].
    ///
    /// Fails, keeping the role, with [`crate::RoleError::NotCandidate`],
    /// [`crate::RoleError::Unreachable`] or [`crate::RoleError::NotHolder`] (as
    /// [`NodeError::Role`]), and with [`NodeError::ShutDown`] if the node has stopped.
    pub async fn transfer(&self, to: &NodeName) -> Result<(), NodeError> {
        let (reply, answer) = oneshot::channel();
        self.tenure
            .control
            .send(Control::Transfer {
                role: self.tenure.role.clone(),
                term: self.tenure.term,
                to: to.clone(),
                reply,
            })
            .map_err(|_| NodeError::ShutDown)?;
        answer.await.map_err(|_| NodeError::ShutDown)??;
        Ok(())
    }

    /// Publishes `value` with the role in place of the one before, keeping the term
    /// (etcd's `Proclaim`): every member's view of the role moves to it, directly and by
    /// gossip, and no view goes back to an earlier value of the term. Returns the
    /// value's version within the term (0 is the one the role was won with).
    ///
    /// Fails with [`crate::RoleError::NotHolder`] (as [`NodeError::Role`]) if the tenure
    /// has ended, [`crate::RoleError::ValueTooLarge`] if the value is longer than
    /// [`crate::Config::max_value_len`], and [`NodeError::ShutDown`] if the node has
    /// stopped.
    pub async fn proclaim(&self, value: RoleValue) -> Result<u64, NodeError> {
        let (reply, answer) = oneshot::channel();
        self.tenure
            .control
            .send(Control::Proclaim {
                role: self.tenure.role.clone(),
                term: self.tenure.term,
                value,
                reply,
            })
            .map_err(|_| NodeError::ShutDown)?;
        Ok(answer.await.map_err(|_| NodeError::ShutDown)??)
    }
}

impl fmt::Debug for Leadership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leadership")
            .field("role", &self.tenure.role)
            .field("term", &self.tenure.term)
            .field("lost", &*self.tenure.lost.borrow())
            .finish()
    }
}
