//! What a core shows and what comes out of it, to tell whether a datagram changed anything.

use std::time::Instant;

use polity::core::Stats;
use polity::{Completion, Core, Event, LamportTime, NodeId, RoleName, RoleState, Transmit};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    id: NodeId,
    members: Vec<polity::Member>,
    population: usize,
    clock: LamportTime,
    timeout: Option<Instant>,
    connected: bool,
    roles: Vec<(RoleName, RoleState)>,
    held: Vec<(RoleName, LamportTime, Instant)>,
}

pub(crate) fn observe(core: &Core) -> Observed {
    Observed {
        id: core.id().clone(),
        members: core.members(),
        population: core.population(),
        clock: core.clock(),
        timeout: core.poll_timeout(),
        connected: core.is_connected(),
        roles: core.roles(),
        held: core.held_roles(),
    }
}

/// Everything that came out of the core.
#[derive(Debug, Default)]
pub(crate) struct Output {
    transmits: Vec<Transmit>,
    events: Vec<Event>,
    completions: Vec<Completion>,
}

impl Output {
    pub(crate) fn is_empty(&self) -> bool {
        self.transmits.is_empty() && self.events.is_empty() && self.completions.is_empty()
    }
}

pub(crate) fn drain(core: &mut Core) -> Output {
    Output {
        transmits: std::iter::from_fn(|| core.poll_transmit()).collect(),
        events: std::iter::from_fn(|| core.poll_event()).collect(),
        completions: std::iter::from_fn(|| core.poll_completion()).collect(),
    }
}

pub(crate) fn rejected(stats: &Stats) -> [u64; 4] {
    [
        stats.rejected_oversized,
        stats.rejected_envelope,
        stats.rejected_malformed,
        stats.rejected_by_swim,
    ]
}

/// What a rejected datagram did that it should not have, if anything.
pub(crate) fn rejected_yet(before: &Observed, after: &Observed, output: &Output) -> Option<String> {
    if after == before && output.is_empty() {
        return None;
    }
    let mut what = String::from("yet");
    if after != before {
        what += &format!("\n    state before: {before:?}\n    state after:  {after:?}");
    }
    if !output.transmits.is_empty() {
        what += &format!("\n    sent {} datagram(s)", output.transmits.len());
    }
    if !output.events.is_empty() {
        what += &format!("\n    reported {:?}", output.events);
    }
    if !output.completions.is_empty() {
        what += &format!("\n    completed {:?}", output.completions);
    }
    Some(what)
}
