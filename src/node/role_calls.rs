//! [`NodeHandle`]'s role operations (`docs/PROTOCOL.md` section 5).

use tokio::sync::{mpsc, oneshot, watch};

use super::command::{Command, RoleCommand};
use super::control::Control;
use super::error::NodeError;
use super::handle::NodeHandle;
use super::leadership::Leadership;
use crate::clock::LamportTime;
use crate::core::{RoleError, RoleState};
use crate::identity::{NodeName, RoleName};
use crate::role_value::RoleValue;

/// Role operations. Role names are [`RoleName`]s, checked when they are made:
/// [`RoleName::new`] refuses an empty name, one longer than 128 bytes, or one holding
/// whitespace or control characters, and its error converts into
/// [`NodeError::InvalidName`], so both can be `?`-ed in one function.
///
/// Requests that wait for other nodes ([`NodeHandle::elect`], [`NodeHandle::campaign`],
/// [`NodeHandle::recall`], [`NodeHandle::query_role`]) are cancelled when their future is
/// dropped before it completes, for instance by `tokio::time::timeout` or the losing
/// branch of `tokio::select!`. A role won by a campaign that nobody waits for any more is
/// resigned at once.
impl NodeHandle {
    /// Runs one election with this node as candidate (Go polity's `RunElection`). If the
    /// role is vacant and a quorum votes, returns the [`Leadership`]; if this node
    /// already holds the role, returns a `Leadership` sharing the current tenure.
    ///
    /// Fails with [`NodeError::Role`] holding [`RoleError::Lost`] when another node holds
    /// the role (named, with its term), [`RoleError::NotEnoughMembers`] when too few
    /// voters are alive, or [`RoleError::TimedOut`] when obstacles did not clear within
    /// about two leases. A node refuses to vote during its first lease after it starts,
    /// and starts no role request before it has been part of the cluster for a lease, so
    /// an election just after the cluster started may fail: use
    /// [`NodeHandle::campaign`] to wait instead.
    pub async fn elect(&self, role: RoleName) -> Result<Leadership, NodeError> {
        self.elect_with(role, RoleValue::EMPTY).await
    }

    /// [`NodeHandle::elect`], publishing `value` with the role (etcd's
    /// `Campaign(value)`): every member's [`RoleState::Held`] carries it from the win
    /// on, and [`Leadership::proclaim`] changes it. If this node holds the role already,
    /// the value replaces the one published. An empty value gives none, and keeps what
    /// an earlier request gave. Fails with [`RoleError::ValueTooLarge`] if
    /// it is longer than [`crate::Config::max_value_len`].
    pub async fn elect_with(
        &self,
        role: RoleName,
        value: RoleValue,
    ) -> Result<Leadership, NodeError> {
        self.run_for(role, false, value, 0).await
    }

    /// Waits until this node holds `role`: elects when the role is vacant, waits for the
    /// holder's lease to end otherwise (a crashed holder's within one lease, a resigning
    /// one's within a few round trips), and retries with backoff. Returns the
    /// [`Leadership`].
    ///
    /// Waits for as long as it takes; wrap it in `tokio::time::timeout` to bound it.
    /// Dropping the future withdraws the candidacy. Fails with [`RoleError::Cancelled`]
    /// (as [`NodeError::Role`]) if the node leaves, and [`NodeError::ShutDown`] if it
    /// stops, while waiting.
    pub async fn campaign(&self, role: RoleName) -> Result<Leadership, NodeError> {
        self.campaign_with(role, RoleValue::EMPTY).await
    }

    /// [`NodeHandle::campaign`], publishing `value` with the role once won, as
    /// [`NodeHandle::elect_with`] does.
    pub async fn campaign_with(
        &self,
        role: RoleName,
        value: RoleValue,
    ) -> Result<Leadership, NodeError> {
        self.run_for(role, true, value, 0).await
    }

    /// [`NodeHandle::campaign_with`], preferring this node by `priority` (client-go's
    /// `preferredHolder`, etcd's election priorities): a holder whose own priority for
    /// the role is lower (0 unless it campaigned with one) hands the role to this node,
    /// by a transfer, once this node has asked for it without a pause for
    /// [`crate::Config::preference_delay`] (3 s with `lan`), so that a flapping node
    /// does not bounce the role. Equal priorities never move a role; 0 is none. The
    /// holder sees the priority in the vote requests it answers, so with a fixed
    /// electorate only a holder that votes hands over.
    pub async fn campaign_with_priority(
        &self,
        role: RoleName,
        value: RoleValue,
        priority: u32,
    ) -> Result<Leadership, NodeError> {
        self.run_for(role, true, value, priority).await
    }

    /// One election (`campaign: false`) or a campaign, publishing `value` once won.
    async fn run_for(
        &self,
        role: RoleName,
        campaign: bool,
        value: RoleValue,
        priority: u32,
    ) -> Result<Leadership, NodeError> {
        self.request(|reply| RoleCommand::Elect {
            role,
            campaign,
            value,
            priority,
            reply,
        })
        .await
    }

    /// Gives `role` up, whatever the term: the node steps down at once (every
    /// [`Leadership::lost`] of it resolves with `Resigned`), then tells the voters to
    /// release their leases so that a waiting candidate takes over within a few round
    /// trips. Returns the term given up, once the node has stepped down; fails with
    /// [`RoleError::NotHolder`] (as [`NodeError::Role`]) if this node does not hold the
    /// role.
    ///
    /// [`Leadership::resign`] does the same for one tenure only.
    pub async fn resign(&self, role: &RoleName) -> Result<LamportTime, NodeError> {
        let role = role.clone();
        let result = self
            .ask(|reply| {
                Command::Role(RoleCommand::Resign {
                    role,
                    term: None,
                    reply,
                })
            })
            .await?;
        Ok(result?)
    }

    /// Hands `role`, which this node holds, to the node named `to` (raft's
    /// `LeadershipTransferToServer`, Consul's leadership transfer): asks `to` whether it
    /// campaigns for the role and, once it says so, steps down in its favour. Every
    /// voter then votes for `to` alone for an election timeout, and the other candidates
    /// wait as long, so `to` holds the role within a few round trips unless it fails
    /// meanwhile. Returns the term given up, once the node has stepped down (every
    /// [`Leadership::lost`] of it has resolved with `Resigned`); watch the role to see
    /// `to` take it.
    ///
    /// Fails, keeping the role, with [`RoleError::NotCandidate`] (`to` does not campaign
    /// for the role, or is this node), [`RoleError::Unreachable`] (`to` is not a live
    /// member, or did not answer within an election timeout) or
    /// [`RoleError::NotHolder`] (as [`NodeError::Role`]).
    ///
    /// [`Leadership::transfer`] does the same for one tenure only.
    pub async fn transfer(&self, role: &RoleName, to: &NodeName) -> Result<LamportTime, NodeError> {
        let (role, to) = (role.clone(), to.clone());
        let result = self
            .ask(|reply| {
                Command::Role(RoleCommand::Transfer {
                    role,
                    term: None,
                    to,
                    reply,
                })
            })
            .await?;
        Ok(result?)
    }

    /// Asks a quorum of voters to stop renewing the holder of `role` (Go polity's
    /// `RunRecallElection`), and returns the term recalled. The holder steps down when
    /// it hears of the recall or when its lease runs out without renewal; a new grant
    /// waits for the recalled lease to run out.
    ///
    /// Fails with [`RoleError::RoleUnfilled`] (as [`NodeError::Role`]) when nobody holds
    /// the role, [`RoleError::NotEnoughMembers`] or [`RoleError::TimedOut`].
    pub async fn recall(&self, role: RoleName) -> Result<LamportTime, NodeError> {
        self.request(|reply| RoleCommand::Recall { role, reply })
            .await
    }

    /// Asks the cluster who holds `role` (Go polity's `QueryRole`): returns the state
    /// with the highest term once a quorum of voters has answered. Fails with
    /// [`RoleError::NotEnoughMembers`] or [`RoleError::TimedOut`] (as
    /// [`NodeError::Role`]). [`NodeHandle::holder`] answers at once from this node's view.
    pub async fn query_role(&self, role: RoleName) -> Result<RoleState, NodeError> {
        self.request(|reply| RoleCommand::Query { role, reply })
            .await
    }

    /// This node's own view of `role`, without asking anyone: fast, and possibly stale
    /// by a round of gossip. A role never heard of is [`RoleState::Vacant`].
    pub async fn holder(&self, role: &RoleName) -> Result<RoleState, NodeError> {
        let role = role.clone();
        self.ask(|reply| Command::Role(RoleCommand::State(role, reply)))
            .await
    }

    /// Every role this node has heard of, with its view of each, by name.
    pub async fn roles(&self) -> Result<Vec<(RoleName, RoleState)>, NodeError> {
        self.ask(|reply| Command::Role(RoleCommand::List(reply)))
            .await
    }

    /// Follows this node's view of `role`: the receiver holds the current state at once
    /// ([`watch::Receiver::borrow`]), and [`watch::Receiver::changed`] (or
    /// [`watch::Receiver::wait_for`]) wakes on each change.
    ///
    /// Views only move forward (to a higher term, or from held to recalled to vacant
    /// within a term), so the states read come in term order. A receiver holds only the
    /// latest state: one that reads less often than the role changes skips the states
    /// in between, never the last one. Once the node has stopped, `changed()` fails.
    pub fn watch(&self, role: RoleName) -> watch::Receiver<RoleState> {
        self.watches.subscribe(role)
    }

    /// Sends a role request and waits for its outcome; if this future is dropped first,
    /// the node's task cancels the request.
    async fn request<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, RoleError>>) -> RoleCommand,
    ) -> Result<T, NodeError> {
        let (reply, answer) = oneshot::channel();
        let mut waiting = Waiting {
            answer,
            control: self.control.clone(),
            done: false,
        };
        if self
            .commands
            .send(Command::Role(command(reply)))
            .await
            .is_err()
        {
            waiting.done = true;
            return Err(NodeError::ShutDown);
        }
        let outcome = (&mut waiting.answer).await;
        waiting.done = true;
        Ok(outcome.map_err(|_| NodeError::ShutDown)??)
    }
}

/// The receiving end of a role request. Dropped before the outcome arrived, it closes
/// the channel and tells the node's task, which cancels the request.
struct Waiting<T> {
    answer: oneshot::Receiver<T>,
    control: mpsc::UnboundedSender<Control>,
    done: bool,
}

impl<T> Drop for Waiting<T> {
    fn drop(&mut self) {
        if !self.done {
            // Closed first, so the task finds the request abandoned when it looks.
            self.answer.close();
            let _ = self.control.send(Control::Abandoned);
        }
    }
}
