//! polity's own messages: sent directly (envelope kind 1) or, for announcements, also
//! spread by gossip inside SWIM packets as foca custom broadcasts.

use serde::{Deserialize, Serialize};

use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName};

/// A message sent directly from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolityMessage {
    /// The sender, so the receiver can reply and attribute the message.
    pub from: NodeId,
    /// The sender's Lamport clock when it sent the message; the receiver witnesses it.
    pub clock: LamportTime,
    /// What the message says.
    pub body: Body,
}

/// The content of a [`PolityMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// An announcement delivered directly, for speed; it is also gossiped.
    Announce(Announcement),
}

/// News that every member should learn, spread by gossip (foca custom broadcasts).
///
/// Each names its subject and a version, so a newer announcement about the same
/// subject replaces an older one that is still being gossiped ([`AnnouncementKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Announcement {
    /// The node left the cluster on purpose: it no longer counts in the population.
    Left {
        /// The identity that left.
        id: NodeId,
    },
    /// An operator removed a failed node: it no longer counts in the population once it
    /// is down. A node that is alive keeps counting; it rejoins by being alive.
    ForceLeft {
        /// The node removed.
        name: NodeName,
        /// The newest generation of that node the issuer knew; newer ones are unaffected.
        generation: u64,
        /// Who asked.
        by: NodeName,
    },
}

/// What an [`Announcement`] is about and how new it is: the gossip layer keeps only the
/// newest announcement per subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementKey {
    subject: NodeName,
    version: u64,
}

impl Announcement {
    /// The gossip key of this announcement.
    pub fn key(&self) -> AnnouncementKey {
        match self {
            Announcement::Left { id } => AnnouncementKey {
                subject: id.name().clone(),
                version: id.generation(),
            },
            Announcement::ForceLeft {
                name, generation, ..
            } => AnnouncementKey {
                subject: name.clone(),
                version: *generation,
            },
        }
    }
}

impl AnnouncementKey {
    /// The node the announcement is about.
    pub fn subject(&self) -> &NodeName {
        &self.subject
    }

    /// How new it is: a larger version replaces a smaller one.
    pub fn version(&self) -> u64 {
        self.version
    }
}

impl foca::Invalidates for AnnouncementKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.subject == other.subject && self.version >= other.version
    }
}
