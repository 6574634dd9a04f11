//! Member tags in the core: this node's own, and the newest heard of every member.
//!
//! Invariants: a member's tags change only to a newer `(generation, version)` (the
//! broadcast handler lets only news through); this node sends its tags directly to
//! every live member when they change, to each member that comes up, back to each
//! identity it hears from for the first time, and to one random live member every
//! `rejoin_interval` (anti-entropy, as serf's push-pull), and gossips changes, so a
//! member that joins late learns everyone's even if a datagram is lost; tags of a
//! member are dropped when the member is reaped, so memory follows the membership.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use rand::seq::IteratorRandom;

use super::Core;
use crate::identity::{NodeId, NodeName};
use crate::tags::{Tags, TagsError};
use crate::wire::{Announcement, Body, Subject};

/// Every member's tags, this node's own included.
#[derive(Debug, Default)]
pub(super) struct MemberTags {
    /// Each member's tags and the generation of the identity that published them.
    by_name: BTreeMap<NodeName, (u64, Tags)>,
    /// Counts the changes of this node's own tags, from 1 for those it started with.
    own_version: u64,
}

impl MemberTags {
    /// Starts with this node's own tags.
    pub(super) fn new(me: &NodeId, tags: Tags) -> Self {
        let mut by_name = BTreeMap::new();
        by_name.insert(me.name().clone(), (me.generation(), tags));
        MemberTags {
            by_name,
            own_version: 1,
        }
    }

    /// `name`'s tags (none if it published none).
    pub(super) fn of(&self, name: &NodeName) -> Tags {
        self.by_name
            .get(name)
            .map(|(_, tags)| tags.clone())
            .unwrap_or_default()
    }
}

impl Core {
    /// This node's own tags.
    pub fn tags(&self) -> Tags {
        self.tags.of(self.id.name())
    }

    /// Replaces this node's tags and tells every member: directly to the live ones, and
    /// by gossip.
    pub fn set_tags(&mut self, now: Instant, tags: Tags) {
        self.tags.own_version += 1;
        self.tags
            .by_name
            .insert(self.id.name().clone(), (self.id.generation(), tags));
        let live: Vec<SocketAddr> = self.membership.peers().map(NodeId::addr).collect();
        for to in live {
            self.send_tags(to);
        }
        let announcement = self.own_tags();
        self.broadcast(now, &announcement);
    }

    /// Deletes the keys of `delete` from this node's tags (all of them with `clear`),
    /// sets each pair of `set`, then publishes the result as [`Core::set_tags`] does and
    /// returns it. Tags that would break a rule are refused, and nothing changes.
    pub fn update_tags(
        &mut self,
        now: Instant,
        clear: bool,
        set: Vec<(String, String)>,
        delete: &[String],
    ) -> Result<Tags, TagsError> {
        let mut tags = if clear { Tags::new() } else { self.tags() };
        for key in delete {
            tags.remove(key);
        }
        for (key, value) in set {
            tags.insert(key, value)?;
        }
        self.set_tags(now, tags.clone());
        Ok(tags)
    }

    /// This node's tags as an announcement.
    fn own_tags(&self) -> Announcement {
        Announcement::Tags {
            id: self.id.clone(),
            version: self.tags.own_version,
            tags: self.tags(),
        }
    }

    /// Sends this node's tags to `to`, as to a member that just came up; nothing if
    /// this node never had any (no entry reads as none).
    pub(super) fn send_tags(&mut self, to: SocketAddr) {
        if self.tags.own_version == 1 && self.tags().is_empty() {
            return;
        }
        let announcement = self.own_tags();
        self.send_message(to, Body::Announce(announcement));
    }

    /// Applies news of a member's tags; the first heard of an identity gets this node's
    /// own back, so that two members that just met exchange tags from either side.
    pub(super) fn on_tags(&mut self, id: &NodeId, tags: &Tags) {
        if id.name() == self.id.name() {
            return;
        }
        let first = self
            .tags
            .by_name
            .insert(id.name().clone(), (id.generation(), tags.clone()))
            .is_none_or(|(generation, _)| generation < id.generation());
        if first {
            self.send_tags(id.addr());
        }
    }

    /// Anti-entropy: sends this node's tags to one random live member.
    pub(super) fn resend_tags(&mut self) {
        let to = self
            .membership
            .peers()
            .map(NodeId::addr)
            .choose(&mut self.rng);
        if let Some(to) = to {
            self.send_tags(to);
        }
    }

    /// Drops what is known of a reaped member's tags.
    pub(super) fn forget_tags(&mut self, name: &NodeName) {
        self.tags.by_name.remove(name);
        self.announcements.forget(&Subject::Tags(name.clone()));
    }
}
