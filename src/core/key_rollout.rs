//! Cluster-wide keyring changes, as serf's `keys` command makes them: the change is made
//! here, then asked of every live member directly, again and again to those that have
//! not answered, until all have or the time is up. The outcome says who answered what.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{Completion, Core, Event, RequestId, Timer};
use crate::identity::{NodeId, NodeName};
use crate::wire::{Body, Key, KeyOp, KeyringError};

/// What one node answered to a key request: its keys after the change, primary first, or
/// why it refused.
pub type KeyAnswer = Result<Vec<Key>, KeyringError>;

/// The outcome of [`Core::rollout_keys`]: what each node answered, and who did not.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRollout {
    /// The change asked for.
    pub op: KeyOp,
    /// Each node's answer, this node's included.
    pub answers: BTreeMap<NodeName, KeyAnswer>,
    /// Live members that never answered: the request or every answer was lost, or they
    /// cannot open the keys in use. Repeat the command once they are reachable.
    pub missing: BTreeSet<NodeName>,
}

impl KeyRollout {
    /// Whether every node asked answered, and none refused.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.answers.values().all(Result::is_ok)
    }
}

/// A rollout under way.
#[derive(Debug)]
pub(crate) struct Rollout {
    op: KeyOp,
    answers: BTreeMap<NodeName, KeyAnswer>,
    /// Members still to answer.
    waiting: BTreeMap<NodeName, NodeId>,
    deadline: Instant,
}

/// Every rollout under way.
#[derive(Debug, Default)]
pub(crate) struct Rollouts {
    pending: BTreeMap<RequestId, Rollout>,
}

impl Core {
    /// Makes a keyring change (or a listing) on every live member: here first, then by a
    /// request to each of the others, resent to those that have not answered every
    /// `election_timeout`, for at most one lease. The outcome comes back through
    /// [`Core::poll_completion`] as a [`Completion::Keys`]. Anyone holding a cluster key may do this, as with
    /// serf; a node without a keyring refuses every change ([`KeyringError::NotSealed`]).
    pub fn rollout_keys(&mut self, now: Instant, op: KeyOp) -> RequestId {
        let id = self.roles.next_request();
        let mine = self.apply_key_op(&op);
        let waiting: BTreeMap<NodeName, NodeId> = self
            .membership
            .peers()
            .map(|member| (member.name().clone(), member.clone()))
            .collect();
        let rollout = Rollout {
            op,
            answers: BTreeMap::from([(self.id.name().clone(), mine)]),
            waiting,
            // A node that left asks nobody: the rollout ends at once.
            deadline: if self.left {
                now
            } else {
                now + self.config.lease
            },
        };
        self.rollouts.pending.insert(id, rollout);
        self.ask_for_keys(now, id);
        id
    }

    /// Sends the request to every member still to answer, or finishes the rollout.
    pub(super) fn ask_for_keys(&mut self, now: Instant, id: RequestId) {
        let Some(rollout) = self.rollouts.pending.get(&id) else {
            return;
        };
        if rollout.waiting.is_empty() || now >= rollout.deadline {
            self.finish_rollout(id);
            return;
        }
        let op = rollout.op.clone();
        let addrs: Vec<_> = rollout.waiting.values().map(NodeId::addr).collect();
        let resend = (now + self.config.election_timeout).min(rollout.deadline);
        for addr in addrs {
            let request = Body::KeyRequest {
                request: id.0,
                op: op.clone(),
            };
            self.send_message(addr, request);
        }
        self.timers.schedule(resend, Timer::KeyRollout(id));
    }

    /// Handles a key request or reply from `from`.
    pub(super) fn on_key_message(&mut self, from: &NodeId, body: Body) {
        match body {
            Body::KeyRequest { request, op } => {
                let result = self.apply_key_op(&op);
                self.send_message(from.addr(), Body::KeyReply { request, result });
            }
            Body::KeyReply { request, result } => {
                let id = RequestId(request);
                let Some(rollout) = self.rollouts.pending.get_mut(&id) else {
                    return;
                };
                if rollout.waiting.remove(from.name()).is_some() {
                    rollout.answers.insert(from.name().clone(), result);
                }
                if rollout.waiting.is_empty() {
                    self.finish_rollout(id);
                }
            }
            _ => {}
        }
    }

    fn finish_rollout(&mut self, id: RequestId) {
        if let Some(rollout) = self.rollouts.pending.remove(&id) {
            let outcome = KeyRollout {
                op: rollout.op,
                answers: rollout.answers,
                missing: rollout.waiting.into_keys().collect(),
            };
            self.completions.push_back(Completion::Keys {
                id,
                rollout: outcome,
            });
        }
    }

    /// Makes one keyring change here and reports the keys after it.
    fn apply_key_op(&mut self, op: &KeyOp) -> KeyAnswer {
        let Some(keyring) = self.config.keyring.as_mut() else {
            return Err(KeyringError::NotSealed);
        };
        let before = keyring.keys().to_vec();
        match op {
            KeyOp::List => Ok(()),
            KeyOp::Install(key) => keyring.install(key.clone()),
            KeyOp::Use(key) => keyring.use_key(key),
            KeyOp::Remove(key) => keyring.remove(key),
        }?;
        let after = keyring.keys().to_vec();
        if after != before {
            tracing::debug!(keys = after.len(), "keyring changed");
            self.events.push_back(Event::KeyringChanged);
        }
        Ok(after)
    }
}
