//! What a test may look at in a simulation: time, nodes, their events, members and
//! holders, the outcomes of their requests, the checker's verdict and the trace.

use std::time::Duration;

use super::Sim;
use crate::clock::LamportTime;
use crate::config::Config;
use crate::core::{Completion, Core, Event, KeyRollout, MemberStatus, RequestId};
use crate::identity::{NodeName, RoleName};

impl Sim {
    /// The nodes that believe they hold `role` right now, with their terms.
    pub fn holders(&self, role: &RoleName) -> Vec<(usize, LamportTime)> {
        (0..self.nodes.len())
            .filter_map(|i| {
                let node = &self.nodes[i];
                let core = node.core.as_ref()?;
                core.held_roles()
                    .into_iter()
                    .find(|(r, _, until)| {
                        r == role && node.clock.true_time(self.epoch, *until) > self.now
                    })
                    .map(|(_, term, _)| (i, term))
            })
            .collect()
    }

    /// The outcome of key rollout `id` on node `i`, once it is known.
    pub fn key_rollout(&self, i: usize, id: RequestId) -> Option<&KeyRollout> {
        match self.completion(i, id) {
            Some(Completion::Keys { rollout, .. }) => Some(rollout),
            _ => None,
        }
    }

    /// Every outcome node `i` reported, with the simulated time.
    pub fn completions(&self, i: usize) -> &[(Duration, Completion)] {
        &self.nodes[i].completions
    }

    /// The outcome of request `id` on node `i`, once it is known.
    pub fn completion(&self, i: usize, id: RequestId) -> Option<&Completion> {
        self.nodes[i]
            .completions
            .iter()
            .map(|(_, c)| c)
            .find(|c| c.id() == id)
    }

    /// How many grants of `role` the checker recorded.
    pub fn grants(&self, role: &RoleName) -> usize {
        self.checker.grants(role)
    }

    /// Every safety violation found so far (S1, S2, S3, S5), one line each; empty when
    /// all is well.
    pub fn violations(&self) -> Vec<String> {
        self.checker.verify()
    }

    /// `Ok` if no safety property was violated, else every violation and the seed.
    pub fn check(&self) -> Result<(), String> {
        let violations = self.violations();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations.join("\n"))
        }
    }

    /// The seed this simulation runs with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// Number of nodes, running or not.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the simulation has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node `i`'s name.
    pub fn name(&self, i: usize) -> NodeName {
        self.nodes[i].config.name.clone()
    }

    /// Node `i`'s config.
    pub fn config(&self, i: usize) -> &Config {
        &self.nodes[i].config
    }

    /// Node `i`'s core, unless it is crashed.
    pub fn core(&self, i: usize) -> Option<&Core> {
        self.nodes[i].core.as_ref()
    }

    /// How many roles node `i` keeps voter entries and views for, unless it is crashed:
    /// bounded by the roles in use lately, not by every role ever named.
    pub fn role_entries(&self, i: usize) -> Option<(usize, usize)> {
        self.core(i).map(Core::role_entries)
    }

    /// Whether node `i` runs (neither crashed nor paused).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].core.is_some() && !self.nodes[i].paused
    }

    /// Every event node `i` reported, with the simulated time it happened.
    pub fn events(&self, i: usize) -> &[(Duration, Event)] {
        &self.nodes[i].events
    }

    /// How node `by` sees node `of`, if it knows it.
    pub fn status_seen(&self, by: usize, of: usize) -> Option<MemberStatus> {
        let name = &self.nodes[of].config.name;
        self.core(by)?
            .members()
            .into_iter()
            .find(|m| m.id.name() == name)
            .map(|m| m.status)
    }

    /// Whether every running node sees every running node alive (or suspect).
    pub fn converged(&self) -> bool {
        let running: Vec<usize> = (0..self.len()).filter(|&i| self.is_running(i)).collect();
        running.iter().all(|&by| {
            let Some(core) = self.core(by) else {
                return false;
            };
            let members = core.members();
            running.iter().all(|&of| {
                members.iter().any(|m| {
                    *m.id.name() == self.nodes[of].config.name
                        && matches!(m.status, MemberStatus::Alive | MemberStatus::Suspect)
                })
            })
        })
    }

    /// Whether every running node other than `of` sees `of` with `status`.
    pub fn all_see(&self, of: usize, status: MemberStatus) -> bool {
        (0..self.len())
            .filter(|&by| by != of && self.is_running(by))
            .all(|by| self.status_seen(by, of) == Some(status))
    }

    /// Whether every running node other than `of` sees `of` down.
    pub fn all_see_down(&self, of: usize) -> bool {
        self.all_see(of, MemberStatus::Down)
    }

    /// The trace: one line per datagram sent (with its size, a hash of its bytes and its
    /// fate), per event and per fault. Empty when `record_trace` is off.
    pub fn trace(&self) -> &str {
        &self.trace
    }

    /// A 64-bit digest of the whole trace, kept even when the text is not.
    pub fn trace_digest(&self) -> u64 {
        self.digest
    }
}
