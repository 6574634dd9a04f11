//! `GET /v1/metrics`: the agent's counters and gauges in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use polity::{Event, LossReason, Member, MemberStatus, NodeName, RoleState, Stats};

use super::heap::Heap;
use crate::api::status_name;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const LOSS_REASONS: [(LossReason, &str); 4] = [
    (LossReason::Resigned, "resigned"),
    (LossReason::LeaseExpired, "lease_expired"),
    (LossReason::Recalled, "recalled"),
    (LossReason::Superseded, "superseded"),
];

/// What the agent counts itself: elections asked of its API, and the roles its node
/// gained and lost (whoever asked).
#[derive(Debug, Default)]
pub struct Counters {
    elections_won: AtomicU64,
    elections_lost: AtomicU64,
    elections_failed: AtomicU64,
    roles_acquired: AtomicU64,
    roles_lost: [AtomicU64; 4],
}

/// How an election asked of the API ended.
#[derive(Debug, Clone, Copy)]
pub enum ElectionOutcome {
    /// The agent's node holds the role.
    Won,
    /// Another node holds it.
    Lost,
    /// No answer: too few members, not joined yet, timed out, cancelled.
    Failed,
}

impl Counters {
    pub fn election(&self, outcome: ElectionOutcome) {
        let counter = match outcome {
            ElectionOutcome::Won => &self.elections_won,
            ElectionOutcome::Lost => &self.elections_lost,
            ElectionOutcome::Failed => &self.elections_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts the role events of the agent's node.
    pub fn event(&self, event: &Event) {
        match event {
            Event::RoleAcquired { .. } => {
                self.roles_acquired.fetch_add(1, Ordering::Relaxed);
            }
            Event::RoleLost { reason, .. } => {
                if let Some(at) = LOSS_REASONS.iter().position(|(r, _)| r == reason)
                    && let Some(counter) = self.roles_lost.get(at)
                {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
    }
}

/// What the metrics are made of, read from the node when they are asked for.
pub struct Snapshot<'a> {
    pub me: &'a NodeName,
    pub stats: &'a Stats,
    pub population: usize,
    pub members: &'a [Member],
    pub roles: &'a [(polity::RoleName, RoleState)],
    pub counters: &'a Counters,
    /// The allocator's figures, if it gives them.
    pub heap: Option<Heap>,
}

/// The Prometheus text exposition of `snapshot`.
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut out = String::new();
    let stats = snapshot.stats;
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "polity_datagrams_received_total",
        "counter",
        "UDP datagrams received.",
        &[("", stats.datagrams_received)],
    );
    metric(
        "polity_datagrams_sent_total",
        "counter",
        "UDP datagrams sent.",
        &[("", stats.datagrams_sent)],
    );
    metric(
        "polity_datagrams_rejected_total",
        "counter",
        "Datagrams dropped, by reason: oversized, unsealed (not sealed with a key of the \
         keyring and the cluster label, or not sealed at all), replayed (a polity message \
         seen before), envelope (not polity's, or an unknown version or kind), malformed \
         (did not parse), swim (refused by the gossip layer), after_leave (arrived after \
         this node left).",
        &[
            ("{reason=\"oversized\"}", stats.rejected_oversized),
            ("{reason=\"unsealed\"}", stats.rejected_unsealed),
            ("{reason=\"replayed\"}", stats.rejected_replayed),
            ("{reason=\"envelope\"}", stats.rejected_envelope),
            ("{reason=\"malformed\"}", stats.rejected_malformed),
            ("{reason=\"swim\"}", stats.rejected_by_swim),
            ("{reason=\"after_leave\"}", stats.ignored_after_leave),
        ],
    );
    metric(
        "polity_population",
        "gauge",
        "The electorate's population as this node counts it: names alive or down.",
        &[("", snapshot.population as u64)],
    );
    let statuses = [
        MemberStatus::Alive,
        MemberStatus::Suspect,
        MemberStatus::Down,
        MemberStatus::Left,
    ];
    let labels: Vec<String> = statuses
        .iter()
        .map(|status| format!("{{status=\"{}\"}}", status_name(*status)))
        .collect();
    let counts: Vec<(&str, u64)> = statuses
        .iter()
        .zip(&labels)
        .map(|(status, label)| {
            let count = snapshot
                .members
                .iter()
                .filter(|member| member.status == *status)
                .count();
            (label.as_str(), count as u64)
        })
        .collect();
    metric(
        "polity_members",
        "gauge",
        "Members known to this node, itself included, by status.",
        &counts,
    );
    let held = snapshot
        .roles
        .iter()
        .filter(
            |(_, state)| matches!(state, RoleState::Held { holder, .. } if holder == snapshot.me),
        )
        .count();
    metric(
        "polity_roles_held",
        "gauge",
        "Roles this node holds.",
        &[("", held as u64)],
    );
    metric(
        "polity_roles_known",
        "gauge",
        "Roles this node has heard of.",
        &[("", snapshot.roles.len() as u64)],
    );
    let counters = snapshot.counters;
    let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
    metric(
        "polity_roles_acquired_total",
        "counter",
        "Roles this node came to hold.",
        &[("", load(&counters.roles_acquired))],
    );
    let lost_labels: Vec<String> = LOSS_REASONS
        .iter()
        .map(|(_, name)| format!("{{reason=\"{name}\"}}"))
        .collect();
    let lost: Vec<(&str, u64)> = lost_labels
        .iter()
        .zip(&counters.roles_lost)
        .map(|(label, counter)| (label.as_str(), load(counter)))
        .collect();
    metric(
        "polity_roles_lost_total",
        "counter",
        "Roles this node stopped holding, by reason.",
        &lost,
    );
    metric(
        "polity_api_elections_total",
        "counter",
        "Elections asked of this agent's API, by outcome: won, lost (another node holds \
         the role) or failed (no answer: too few members, not joined, timed out).",
        &[
            ("{outcome=\"won\"}", load(&counters.elections_won)),
            ("{outcome=\"lost\"}", load(&counters.elections_lost)),
            ("{outcome=\"failed\"}", load(&counters.elections_failed)),
        ],
    );
    metric(
        "polity_gossip_backlog",
        "gauge",
        "Announcements the gossip layer still holds to spread.",
        &[("", stats.gossip_backlog)],
    );
    metric(
        "polity_gossip_unspread_total",
        "counter",
        "Role announcements applied and sent directly but not gossiped further, because \
         the gossip backlog was full (max_gossip_backlog).",
        &[("", stats.gossip_unspread)],
    );
    if let Some(heap) = snapshot.heap {
        metric(
            "polity_heap_allocated_bytes",
            "gauge",
            "Bytes in the agent's live allocations.",
            &[("", heap.allocated)],
        );
        metric(
            "polity_heap_resident_bytes",
            "gauge",
            "Bytes of physical memory the agent's allocator holds: live allocations, its \
             own metadata, and freed pages not yet given back.",
            &[("", heap.resident)],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use polity::{LamportTime, NodeId, RoleName};

    #[test]
    fn every_metric_has_help_type_and_samples() {
        let me = NodeName::new("a").unwrap();
        let member = Member {
            id: NodeId::new(me.clone(), "127.0.0.1:7700".parse().unwrap(), 1),
            status: MemberStatus::Alive,
            tags: polity::Tags::new(),
        };
        let roles = vec![(
            RoleName::new("scheduler").unwrap(),
            RoleState::Held {
                holder: me.clone(),
                term: LamportTime(9),
                value: polity::RoleValue::EMPTY,
            },
        )];
        let counters = Counters::default();
        counters.election(ElectionOutcome::Won);
        counters.event(&Event::RoleLost {
            role: RoleName::new("scheduler").unwrap(),
            term: LamportTime(9),
            reason: LossReason::Recalled,
        });
        let mut stats = Stats::default();
        stats.datagrams_received = 5;
        let text = render(&Snapshot {
            me: &me,
            stats: &stats,
            population: 1,
            members: std::slice::from_ref(&member),
            roles: &roles,
            counters: &counters,
            heap: Some(Heap {
                allocated: 2048,
                resident: 4096,
            }),
        });
        for line in [
            "polity_datagrams_received_total 5",
            "polity_datagrams_rejected_total{reason=\"malformed\"} 0",
            "polity_population 1",
            "polity_members{status=\"alive\"} 1",
            "polity_members{status=\"down\"} 0",
            "polity_roles_held 1",
            "polity_roles_lost_total{reason=\"recalled\"} 1",
            "polity_api_elections_total{outcome=\"won\"} 1",
            "# TYPE polity_population gauge",
            "polity_heap_allocated_bytes 2048",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
