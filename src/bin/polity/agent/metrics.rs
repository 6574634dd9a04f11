//! `GET /v1/metrics`: the agent's counters, gauges and histograms in the Prometheus text
//! format. Names follow Prometheus' conventions: counters end in `_total`, durations are
//! in seconds and say so (`_seconds`), and the label values are bounded: reasons, kinds
//! and outcomes from fixed lists, and roles, at most [`MAX_ROLE_SERIES`] of them.
//!
//! The per-role series (`polity_role_*`) cover the roles this node holds first, then
//! the other roles it knows, in name order, up to [`MAX_ROLE_SERIES`];
//! `polity_role_series_omitted` says how many were left out of this scrape.

use std::collections::BTreeSet;
use std::fmt::{Display, Write as _};
use std::time::Instant;

use polity::{HeldRole, Histogram, Member, MemberStatus, RoleName, RoleState, Stats};

use super::heap::Heap;
use super::observed::{Counts, LOSS_REASONS, MEMBERSHIP_KINDS};
use crate::api::status_name;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The most roles the per-role series name in one scrape.
pub const MAX_ROLE_SERIES: usize = 100;

/// What the metrics are made of, read from the node when they are asked for.
pub struct Snapshot<'a> {
    pub now: Instant,
    pub stats: &'a Stats,
    pub population: usize,
    pub members: &'a [Member],
    pub roles: &'a [(RoleName, RoleState)],
    pub held: &'a [HeldRole],
    pub counts: &'a Counts,
    /// The allocator's figures, if it gives them.
    pub heap: Option<Heap>,
}

/// The exposition being written.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                let _ = write!(self.out, "{comma}{label}=\"{}\"", escape(text));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family of one sample without labels.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The samples of one histogram of a family, with `labels`.
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], histogram: &Histogram) {
        let bucket = format!("{name}_bucket");
        for (bound, count) in histogram.cumulative() {
            let le = bound.to_string();
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, count);
        }
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&bucket, &with_le, histogram.count());
        self.sample(&format!("{name}_sum"), labels, histogram.sum_seconds());
        self.sample(&format!("{name}_count"), labels, histogram.count());
    }
}

/// A label value as the text format writes it.
fn escape(text: &str) -> String {
    text.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Prometheus text exposition of `snapshot`.
pub fn render(snapshot: &Snapshot<'_>) -> String {
    let mut x = Exposition::default();
    let stats = snapshot.stats;
    traffic(&mut x, stats);
    membership(&mut x, snapshot);
    roles(&mut x, snapshot);
    elections(&mut x, snapshot);
    x.single(
        "polity_gossip_backlog",
        "gauge",
        "Announcements the gossip layer still holds to spread.",
        stats.gossip_backlog,
    );
    x.single(
        "polity_gossip_unspread_total",
        "counter",
        "Role announcements applied and sent directly but not gossiped further, because \
         the gossip backlog was full (max_gossip_backlog).",
        stats.gossip_unspread,
    );
    if let Some(heap) = snapshot.heap {
        x.single(
            "polity_heap_allocated_bytes",
            "gauge",
            "Bytes in the agent's live allocations.",
            heap.allocated,
        );
        x.single(
            "polity_heap_resident_bytes",
            "gauge",
            "Bytes of physical memory the agent's allocator holds: live allocations, its \
             own metadata, and freed pages not yet given back.",
            heap.resident,
        );
    }
    x.out
}

fn traffic(x: &mut Exposition, stats: &Stats) {
    x.single(
        "polity_datagrams_received_total",
        "counter",
        "UDP datagrams received.",
        stats.datagrams_received,
    );
    x.single(
        "polity_datagrams_sent_total",
        "counter",
        "UDP datagrams sent.",
        stats.datagrams_sent,
    );
    let name = "polity_datagrams_rejected_total";
    x.family(
        name,
        "counter",
        "Datagrams dropped, by reason: oversized, unsealed (not sealed with a key of the \
         keyring and the cluster label, or not sealed at all), replayed (a polity message \
         seen before), envelope (not polity's, or an unknown version or kind), malformed \
         (did not parse), swim (refused by the gossip layer), after_leave (arrived after \
         this node left).",
    );
    for (reason, count) in [
        ("oversized", stats.rejected_oversized),
        ("unsealed", stats.rejected_unsealed),
        ("replayed", stats.rejected_replayed),
        ("envelope", stats.rejected_envelope),
        ("malformed", stats.rejected_malformed),
        ("swim", stats.rejected_by_swim),
        ("after_leave", stats.ignored_after_leave),
    ] {
        x.sample(name, &[("reason", reason)], count);
    }
}

fn membership(x: &mut Exposition, snapshot: &Snapshot<'_>) {
    x.single(
        "polity_population",
        "gauge",
        "The electorate's population as this node counts it: names alive or down.",
        snapshot.population,
    );
    let name = "polity_members";
    x.family(
        name,
        "gauge",
        "Members known to this node, itself included, by status.",
    );
    for status in [
        MemberStatus::Alive,
        MemberStatus::Suspect,
        MemberStatus::Down,
        MemberStatus::Left,
    ] {
        let count = snapshot
            .members
            .iter()
            .filter(|member| member.status == status)
            .count();
        x.sample(name, &[("status", status_name(status))], count);
    }
    let name = "polity_membership_changes_total";
    x.family(
        name,
        "counter",
        "Membership changes this node saw, by kind: up (joined or came back), down \
         (declared failed), left, reaped (forgotten after reap_down_after), rejoined \
         (this node, declared down, came back under a new generation).",
    );
    for (kind, count) in MEMBERSHIP_KINDS.iter().zip(snapshot.counts.membership) {
        x.sample(name, &[("kind", kind)], count);
    }
}

fn roles(x: &mut Exposition, snapshot: &Snapshot<'_>) {
    let counts = snapshot.counts;
    x.single(
        "polity_roles_held",
        "gauge",
        "Roles this node holds.",
        snapshot.held.len(),
    );
    x.single(
        "polity_roles_known",
        "gauge",
        "Roles this node has heard of.",
        snapshot.roles.len(),
    );
    x.single(
        "polity_roles_acquired_total",
        "counter",
        "Roles this node came to hold.",
        counts.roles_acquired,
    );
    let name = "polity_roles_lost_total";
    x.family(
        name,
        "counter",
        "Roles this node stopped holding (step-downs), by reason: resigned, lease_expired \
         (no quorum renewed it in time), recalled, superseded (a later term was seen).",
    );
    for ((_, reason), count) in LOSS_REASONS.iter().zip(counts.roles_lost) {
        x.sample(name, &[("reason", reason)], count);
    }
    x.single(
        "polity_role_at_risk_total",
        "counter",
        "Early warnings: a role this node holds went renew_deadline without a quorum \
         renewing it (once per tenure).",
        counts.at_risk,
    );
    x.single(
        "polity_renewal_rounds_failed_total",
        "counter",
        "Renewal rounds of this node as a holder in which some role had not reached a \
         quorum by the time the next round was sent (renew_interval later).",
        snapshot.stats.renewal_rounds_failed,
    );
    per_role(x, snapshot);
}

/// The per-role series: the roles held first, then the others known, up to the cap.
fn per_role(x: &mut Exposition, snapshot: &Snapshot<'_>) {
    let held = &snapshot.held[..snapshot.held.len().min(MAX_ROLE_SERIES)];
    let mine: BTreeSet<&RoleName> = snapshot.held.iter().map(|h| &h.role).collect();
    let others: Vec<&(RoleName, RoleState)> = snapshot
        .roles
        .iter()
        .filter(|(role, _)| !mine.contains(role))
        .take(MAX_ROLE_SERIES - held.len())
        .collect();
    let known = snapshot.held.len().max(snapshot.roles.len());
    let omitted = known.saturating_sub(held.len() + others.len());

    let name = "polity_role_held";
    x.family(
        name,
        "gauge",
        "1 if this node holds the role, else 0 (another holds it, or it is vacant).",
    );
    for h in held {
        x.sample(name, &[("role", h.role.as_str())], 1);
    }
    for (role, _) in &others {
        x.sample(name, &[("role", role.as_str())], 0);
    }
    let name = "polity_role_term";
    x.family(
        name,
        "gauge",
        "The role's term (its fencing token) as this node sees it; none while vacant.",
    );
    for h in held {
        x.sample(name, &[("role", h.role.as_str())], h.term.get());
    }
    for (role, state) in &others {
        if let RoleState::Held { term, .. } = state {
            x.sample(name, &[("role", role.as_str())], term.get());
        }
    }
    let name = "polity_role_held_seconds";
    x.family(
        name,
        "gauge",
        "How long this node has held the role, in seconds.",
    );
    for h in held {
        let held_for = snapshot.now.saturating_duration_since(h.won_at);
        x.sample(name, &[("role", h.role.as_str())], held_for.as_secs_f64());
    }
    let name = "polity_role_renewals_missed";
    x.family(
        name,
        "gauge",
        "Renewal rounds in a row, up to now, in which no quorum acknowledged the role \
         this node holds; at renew_deadline it is at risk.",
    );
    for h in held {
        x.sample(name, &[("role", h.role.as_str())], h.renewals_missed);
    }
    x.single(
        "polity_role_series_omitted",
        "gauge",
        "Roles this scrape's polity_role_* series leave out: past the cap of 100 roles, \
         those held come first.",
        omitted,
    );
}

fn elections(x: &mut Exposition, snapshot: &Snapshot<'_>) {
    let (stats, counts) = (snapshot.stats, snapshot.counts);
    let name = "polity_api_elections_total";
    x.family(
        name,
        "counter",
        "Elections asked of this agent's API, by outcome: won, lost (another node holds \
         the role) or failed (no answer: too few members, not joined, timed out).",
    );
    for (outcome, count) in ["won", "lost", "failed"].iter().zip(counts.elections) {
        x.sample(name, &[("outcome", outcome)], count);
    }
    let name = "polity_election_duration_seconds";
    x.family(
        name,
        "histogram",
        "Elections this node ran as a candidate, from asking for votes to the outcome: \
         won or lost (every attempt of a campaign counts).",
    );
    x.histogram(name, &[("outcome", "won")], &stats.elections_won);
    x.histogram(name, &[("outcome", "lost")], &stats.elections_lost);
    let name = "polity_votes_granted_total";
    x.single(
        name,
        "counter",
        "Votes this node granted, to other candidates or itself.",
        stats.votes_granted,
    );
    let name = "polity_votes_refused_total";
    x.family(
        name,
        "counter",
        "Votes this node refused, by reason: busy (quiet after start, or its vote is with \
         an undecided rival), leased (a holder's lease is in force), promised (it \
         promised a higher ballot).",
    );
    for (reason, count) in [
        ("busy", stats.votes_refused_busy),
        ("leased", stats.votes_refused_leased),
        ("promised", stats.votes_refused_promised),
    ] {
        x.sample(name, &[("reason", reason)], count);
    }
    let name = "polity_renewal_round_trip_seconds";
    x.family(
        name,
        "histogram",
        "Renewal rounds of this node as a holder, from sending to a quorum acknowledging \
         every role in the round.",
    );
    x.histogram(name, &[], &stats.renewal_round_trip);
    let name = "polity_failover_seconds";
    x.family(
        name,
        "histogram",
        "From the first sign here that a role's holder was lost (the holder declared \
         down or left, or the role shown vacant) to this node seeing the next holder.",
    );
    x.histogram(name, &[], &counts.failover);
    let name = "polity_handoff_seconds";
    x.family(
        name,
        "histogram",
        "From this node resigning a role to it seeing the next holder.",
    );
    x.histogram(name, &[], &counts.handoff);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::observed::Observed;
    use polity::{Event, LamportTime, LossReason, NodeId, NodeName};
    use std::time::Duration;

    #[test]
    fn every_family_has_help_type_and_samples() {
        let me = NodeName::new("a").unwrap();
        let member = Member {
            id: NodeId::new(me.clone(), "127.0.0.1:7700".parse().unwrap(), 1),
            status: MemberStatus::Alive,
            tags: polity::Tags::new(),
        };
        let scheduler = RoleName::new("scheduler").unwrap();
        let roles = vec![
            (
                scheduler.clone(),
                RoleState::Held {
                    holder: me.clone(),
                    term: LamportTime(9),
                    value: polity::RoleValue::EMPTY,
                },
            ),
            (RoleName::new("compactor").unwrap(), RoleState::Vacant),
        ];
        let now = Instant::now();
        let held = vec![polity::HeldRole {
            role: scheduler.clone(),
            term: LamportTime(9),
            won_at: now - Duration::from_secs(3),
            renewals_missed: 2,
        }];
        let observed = Observed::default();
        observed.election(super::super::observed::ElectionOutcome::Won);
        observed.event(
            &Event::RoleLost {
                role: scheduler,
                term: LamportTime(9),
                reason: LossReason::Recalled,
            },
            now,
        );
        let mut stats = Stats::default();
        stats.datagrams_received = 5;
        stats.renewal_round_trip.observe(Duration::from_millis(2));
        let text = render(&Snapshot {
            now,
            stats: &stats,
            population: 1,
            members: std::slice::from_ref(&member),
            roles: &roles,
            held: &held,
            counts: &observed.counts(),
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
            "polity_role_held{role=\"scheduler\"} 1",
            "polity_role_held{role=\"compactor\"} 0",
            "polity_role_term{role=\"scheduler\"} 9",
            "polity_role_held_seconds{role=\"scheduler\"} 3",
            "polity_role_renewals_missed{role=\"scheduler\"} 2",
            "polity_role_series_omitted 0",
            "polity_renewal_round_trip_seconds_bucket{le=\"0.0025\"} 1",
            "polity_renewal_round_trip_seconds_bucket{le=\"+Inf\"} 1",
            "polity_renewal_round_trip_seconds_count 1",
            "polity_election_duration_seconds_count{outcome=\"won\"} 0",
            "# TYPE polity_failover_seconds histogram",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
