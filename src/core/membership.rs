//! The membership table: one entry per node *name*, fed by foca's notifications and by
//! leave announcements, from which the electorate's population is counted.
//!
//! Invariants:
//! - an entry holds the newest generation seen for its name; older identities of the same
//!   name going up or down change nothing, so a restarted node counts once;
//! - the population is the number of entries that are alive or down: members that left
//!   gracefully, were force-left while down, or stayed down longer than
//!   `reap_down_after` are not counted (the last are removed outright);
//! - this node's own entry is always alive.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Event;
use crate::identity::{NodeId, NodeName};
use crate::tags::Tags;

/// How a member is seen from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Answering probes.
    Alive,
    /// Missed a probe; declared down unless it refutes in time. Counts as alive.
    Suspect,
    /// Declared down by the failure detector; still counts in the population until it is
    /// reaped after `reap_down_after`, or force-left.
    Down,
    /// Left the cluster on purpose or was force-left; not counted.
    Left,
}

/// A member as seen from this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its newest known identity.
    pub id: NodeId,
    /// Its status.
    pub status: MemberStatus,
    /// Its tags, as it last published them.
    pub tags: Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Alive,
    Down { since: Instant },
    Left { since: Instant },
}

#[derive(Debug, Clone)]
struct Entry {
    id: NodeId,
    state: State,
    /// The highest generation of this name that announced its own leave: those
    /// identities are gone for good.
    left_through: Option<u64>,
    /// The highest generation of this name force-left by an operator: those identities
    /// stop counting once down, but count while they are seen alive.
    forced_through: Option<u64>,
}

impl Entry {
    fn new(id: &NodeId, state: State) -> Self {
        Entry {
            id: id.clone(),
            state,
            left_through: None,
            forced_through: None,
        }
    }

    fn gone(&self, generation: u64) -> bool {
        self.left_through.max(self.forced_through) >= Some(generation)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Membership {
    me: NodeName,
    entries: BTreeMap<NodeName, Entry>,
}

impl Membership {
    pub(crate) fn new(me: &NodeId) -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(me.name().clone(), Entry::new(me, State::Alive));
        Self {
            me: me.name().clone(),
            entries,
        }
    }

    /// The number of distinct names that count towards quorum, this node included.
    pub(crate) fn population(&self) -> usize {
        self.entries
            .values()
            .filter(|e| matches!(e.state, State::Alive | State::Down { .. }))
            .count()
    }

    /// The identities of the members alive (or suspect), this node excluded.
    pub(crate) fn peers(&self) -> impl Iterator<Item = &NodeId> {
        self.live().filter(|id| *id.name() != self.me)
    }

    /// The identities of the members alive (or suspect), this node included.
    pub(crate) fn live(&self) -> impl Iterator<Item = &NodeId> {
        self.entries
            .values()
            .filter(|e| e.state == State::Alive)
            .map(|e| &e.id)
    }

    /// The addresses of members that are down (not those that left).
    pub(crate) fn down_addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.entries
            .values()
            .filter(|e| matches!(e.state, State::Down { .. }))
            .map(|e| e.id.addr())
    }

    /// Every known member with its status and tags; `suspect` tells which live ones are
    /// suspected, `tags` gives a member's tags.
    pub(crate) fn members(
        &self,
        suspect: impl Fn(&NodeId) -> bool,
        tags: impl Fn(&NodeName) -> Tags,
    ) -> Vec<Member> {
        let status = |e: &Entry| match e.state {
            State::Alive if suspect(&e.id) => MemberStatus::Suspect,
            State::Alive => MemberStatus::Alive,
            State::Down { .. } => MemberStatus::Down,
            State::Left { .. } => MemberStatus::Left,
        };
        self.entries
            .values()
            .map(|e| Member {
                id: e.id.clone(),
                status: status(e),
                tags: tags(e.id.name()),
            })
            .collect()
    }

    /// The newest identity known for `name` and whether it is down (not alive, not left).
    pub(crate) fn lookup(&self, name: &NodeName) -> Option<(&NodeId, MemberStatus)> {
        self.entries.get(name).map(|e| {
            let status = match e.state {
                State::Alive => MemberStatus::Alive,
                State::Down { .. } => MemberStatus::Down,
                State::Left { .. } => MemberStatus::Left,
            };
            (&e.id, status)
        })
    }

    /// Counts `id` as down from `now`, unless its name is known already: a restarted
    /// node remembers the electorate it had, so it cannot undercount the population.
    pub(crate) fn remember(&mut self, id: &NodeId, now: Instant) {
        if *id.name() != self.me && !self.entries.contains_key(id.name()) {
            let state = State::Down { since: now };
            self.entries
                .insert(id.name().clone(), Entry::new(id, state));
        }
    }

    /// Every member that counts in the population, other than this node.
    pub(crate) fn counted(&self) -> impl Iterator<Item = &NodeId> {
        self.entries
            .values()
            .filter(|e| e.id.name() != &self.me)
            .filter(|e| matches!(e.state, State::Alive | State::Down { .. }))
            .map(|e| &e.id)
    }

    /// foca saw `id` come alive.
    pub(crate) fn up(&mut self, id: &NodeId) -> Option<Event> {
        match self.entries.get_mut(id.name()) {
            None => {
                self.entries
                    .insert(id.name().clone(), Entry::new(id, State::Alive));
            }
            Some(e) if id.generation() < e.id.generation() => return None,
            Some(e) if e.left_through >= Some(id.generation()) => return None,
            Some(e) if e.id == *id && e.state == State::Alive => return None,
            Some(e) => {
                e.id = id.clone();
                e.state = State::Alive;
            }
        }
        Some(Event::MemberUp(id.clone()))
    }

    /// foca declared `id` down.
    pub(crate) fn down(&mut self, id: &NodeId, now: Instant) -> Option<Event> {
        let e = self.entries.get_mut(id.name())?;
        if e.id != *id || e.state != State::Alive || *id.name() == self.me {
            return None;
        }
        if e.gone(id.generation()) {
            e.state = State::Left { since: now };
            Some(Event::MemberLeft(id.clone()))
        } else {
            e.state = State::Down { since: now };
            Some(Event::MemberDown(id.clone()))
        }
    }

    /// foca replaced `old` by `new` at the same address; `new_alive` tells whether foca
    /// sees the new identity alive.
    pub(crate) fn renamed(
        &mut self,
        old: &NodeId,
        new: &NodeId,
        new_alive: bool,
        now: Instant,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        if old.name() != new.name() {
            events.extend(self.down(old, now));
        } else if let Some(e) = self.entries.get_mut(old.name())
            && e.id == *old
        {
            e.id = new.clone();
        }
        if new_alive {
            events.extend(self.up(new));
        }
        events
    }

    /// This node rejoined under a new identity.
    pub(crate) fn renew_me(&mut self, id: &NodeId) {
        if let Some(e) = self.entries.get_mut(id.name()) {
            e.id = id.clone();
            e.state = State::Alive;
        }
    }

    /// `id` announced that it left.
    pub(crate) fn left(&mut self, id: &NodeId, now: Instant) -> Option<Event> {
        if *id.name() == self.me {
            return None;
        }
        let e = self
            .entries
            .entry(id.name().clone())
            .or_insert_with(|| Entry::new(id, State::Left { since: now }));
        e.left_through = e.left_through.max(Some(id.generation()));
        if e.id.generation() > id.generation() || matches!(e.state, State::Left { .. }) {
            return None;
        }
        e.state = State::Left { since: now };
        Some(Event::MemberLeft(e.id.clone()))
    }

    /// An operator removed `name` up to `generation`: it stops counting once it is down.
    pub(crate) fn force_left(
        &mut self,
        name: &NodeName,
        generation: u64,
        now: Instant,
    ) -> Option<Event> {
        if *name == self.me {
            return None;
        }
        let e = self.entries.get_mut(name)?;
        e.forced_through = e.forced_through.max(Some(generation));
        if !matches!(e.state, State::Down { .. }) || e.id.generation() > generation {
            return None;
        }
        e.state = State::Left { since: now };
        Some(Event::MemberLeft(e.id.clone()))
    }

    /// Forgets members that have been down or gone for `after` or longer.
    pub(crate) fn reap(&mut self, now: Instant, after: Duration) -> Vec<Event> {
        let expired = |e: &Entry| match e.state {
            State::Down { since } | State::Left { since } => {
                now.saturating_duration_since(since) >= after
            }
            State::Alive => false,
        };
        let gone: Vec<NodeName> = self
            .entries
            .iter()
            .filter(|(_, e)| expired(e))
            .map(|(name, _)| name.clone())
            .collect();
        gone.into_iter()
            .map(|name| {
                self.entries.remove(&name);
                Event::MemberReaped(name)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, port: u16, generation: u64) -> NodeId {
        NodeId::new(
            NodeName::new(name).unwrap(),
            ([127, 0, 0, 1], port).into(),
            generation,
        )
    }

    fn table() -> (Membership, Instant) {
        (Membership::new(&id("me", 1, 1)), Instant::now())
    }

    #[test]
    fn a_restarted_node_counts_once() {
        let (mut m, now) = table();
        let old = id("a", 2, 1);
        let new = id("a", 3, 2);
        assert_eq!(m.up(&old), Some(Event::MemberUp(old.clone())));
        assert_eq!(m.up(&new), Some(Event::MemberUp(new.clone())));
        assert_eq!(m.population(), 2);
        // The old incarnation going down is old news.
        assert_eq!(m.down(&old, now), None);
        assert_eq!(m.population(), 2);
        assert_eq!(m.lookup(new.name()).unwrap().1, MemberStatus::Alive);
    }

    #[test]
    fn down_members_count_until_reaped() {
        let (mut m, now) = table();
        let a = id("a", 2, 1);
        m.up(&a);
        assert_eq!(m.down(&a, now), Some(Event::MemberDown(a.clone())));
        assert_eq!(m.population(), 2);
        let after = Duration::from_secs(60);
        assert!(m.reap(now + Duration::from_secs(59), after).is_empty());
        assert_eq!(
            m.reap(now + after, after),
            vec![Event::MemberReaped(a.name().clone())]
        );
        assert_eq!(m.population(), 1);
    }

    #[test]
    fn a_graceful_leave_stops_counting_at_once_whatever_the_order() {
        let (mut m, now) = table();
        let a = id("a", 2, 1);
        m.up(&a);
        assert_eq!(m.left(&a, now), Some(Event::MemberLeft(a.clone())));
        assert_eq!(m.population(), 1);
        assert_eq!(m.down(&a, now), None);
        assert_eq!(m.population(), 1);

        // The announcement may come before foca ever saw the node.
        let b = id("b", 3, 1);
        assert_eq!(m.left(&b, now), None);
        assert_eq!(
            m.up(&b),
            None,
            "a late alive report of the identity that left"
        );
        assert_eq!(m.population(), 1);
    }

    #[test]
    fn force_leave_removes_only_down_members_and_old_generations() {
        let (mut m, now) = table();
        let a = id("a", 2, 1);
        m.up(&a);
        // Alive: keeps counting, but is excluded as soon as it goes down.
        assert_eq!(m.force_left(a.name(), 1, now), None);
        assert_eq!(m.population(), 2);
        assert_eq!(m.down(&a, now), Some(Event::MemberLeft(a.clone())));
        assert_eq!(m.population(), 1);
        // A newer generation comes back and counts again.
        let a2 = id("a", 2, 2);
        assert_eq!(m.up(&a2), Some(Event::MemberUp(a2.clone())));
        assert_eq!(m.population(), 2);
        assert_eq!(m.down(&a2, now), Some(Event::MemberDown(a2.clone())));
        assert_eq!(m.force_left(a2.name(), 2, now), Some(Event::MemberLeft(a2)));
        assert_eq!(m.population(), 1);
    }

    #[test]
    fn this_node_never_leaves_its_own_table() {
        let (mut m, now) = table();
        let me = id("me", 1, 1);
        assert_eq!(m.left(&me, now), None);
        assert_eq!(m.force_left(me.name(), 9, now), None);
        assert_eq!(m.down(&me, now), None);
        assert!(
            m.reap(now + Duration::from_secs(1 << 30), Duration::ZERO)
                .is_empty()
        );
        assert_eq!(m.population(), 1);
    }

    #[test]
    fn an_address_taken_over_by_another_name_marks_the_old_one_down() {
        let (mut m, now) = table();
        let a = id("a", 2, 1);
        let b = id("b", 2, 5);
        m.up(&a);
        let events = m.renamed(&a, &b, true, now);
        assert_eq!(
            events,
            vec![Event::MemberDown(a.clone()), Event::MemberUp(b.clone())]
        );
        assert_eq!(m.population(), 3);
    }
}
