//! polity's own messages: sent directly (envelope kind 1) or, for announcements, also
//! spread by gossip inside SWIM packets as foca custom broadcasts.

use serde::{Deserialize, Serialize};

use super::seal::{Key, KeyringError};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::role_value::RoleValue;
use crate::tags::Tags;

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

/// A candidacy: a term and the candidate's name. Ballots are ordered by term, then name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    /// The term asked for; becomes the fencing token if the candidate wins.
    pub term: LamportTime,
    /// Who asks.
    pub candidate: NodeName,
}

/// A holder and the term it holds a role with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenure {
    /// The holder's name.
    pub holder: NodeName,
    /// Its term.
    pub term: LamportTime,
}

/// A voter's answer to a [`Body::VoteRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteReply {
    /// The role voted on.
    pub role: RoleName,
    /// The term asked for.
    pub term: LamportTime,
    /// Whether the vote (and with it the first lease) was granted.
    pub granted: bool,
    /// The voter's population of the electorate.
    pub population: u32,
    /// The highest ballot the voter has promised, after this request.
    pub promised: Option<Ballot>,
    /// The unexpired lease the voter holds for another holder, if any.
    pub holder: Option<Tenure>,
    /// When refused for a reason that passes (a lease running out, the voter's start-up
    /// quiet time): how long until it passes, in milliseconds.
    pub retry_after_ms: u32,
}

/// The content of a [`PolityMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// An announcement delivered directly, for speed; it is also gossiped.
    Announce(Announcement),
    /// A candidate (the sender) asks for a vote for `role` at `term`.
    VoteRequest {
        /// The role.
        role: RoleName,
        /// The term asked for.
        term: LamportTime,
        /// The candidate's priority for the role: a holder of a lower one hands the role
        /// to it once it has asked long enough. 0 is none.
        priority: u32,
    },
    /// The answer to a vote request.
    VoteReply(VoteReply),
    /// A holder (the sender) renews its leases; all roles it holds travel together, in
    /// as many chunks as datagrams need.
    Renew {
        /// Identifies the renewal round, echoed in the reply.
        round: u64,
        /// Which part of the holder's held set this is.
        part: SetPart,
        /// Each role held and its term.
        leases: Vec<(RoleName, LamportTime)>,
    },
    /// The answer to a renewal: the terms acknowledged.
    RenewReply {
        /// The round answered.
        round: u64,
        /// The voter's population of the electorate.
        population: u32,
        /// The terms whose leases were extended.
        acked: Vec<LamportTime>,
        /// The version of the holder's held set the voter keeps whole after this round:
        /// every chunk of it arrived in this round (or [`Body::RenewSet`] named it) and
        /// every lease in it was extended. Counts as acknowledging every role of it.
        whole: Option<u64>,
    },
    /// A holder (the sender) that resigned, or a candidate that lost, gives back the
    /// lease it got for `term`, so the next election need not wait for it to run out.
    Release {
        /// The role.
        role: RoleName,
        /// The term released.
        term: LamportTime,
        /// The candidate the holder names to ask first: the first, in the role's order, of
        /// those that asked it for a vote lately, or the target of a transfer. The others
        /// wait a little longer.
        successor: Option<NodeName>,
        /// The successor is a transfer's target: for an election timeout, voters vote for
        /// nobody else and the other candidates wait.
        transfer: bool,
    },
    /// A candidate (the sender) lost the election at `term` and will never use that
    /// term: voters drop the vote they gave it and forget the promise, if it is still
    /// their latest, so it does not stand in the way of the holder or the next election.
    Withdraw {
        /// The role.
        role: RoleName,
        /// The abandoned term.
        term: LamportTime,
    },
    /// Asks voters to stop renewing the current holder of `role`.
    Recall {
        /// The role.
        role: RoleName,
        /// Identifies the request, echoed in the reply.
        request: u64,
    },
    /// The answer to a recall.
    RecallReply {
        /// The request answered.
        request: u64,
        /// The voter's population of the electorate.
        population: u32,
        /// The lease the voter stopped renewing, or `None` if it held none.
        recalled: Option<Tenure>,
    },
    /// Asks who holds `role`.
    Query {
        /// The role.
        role: RoleName,
        /// Identifies the request, echoed in the reply.
        request: u64,
    },
    /// The answer to a query.
    QueryReply {
        /// The request answered.
        request: u64,
        /// The voter's population of the electorate.
        population: u32,
        /// The voter's unexpired lease, if any.
        lease: Option<Tenure>,
        /// Whether that lease has been recalled.
        recalled: bool,
        /// The newest value the voter knows the holder of that lease published, with its
        /// version.
        value: Option<(u64, RoleValue)>,
    },
    /// Asks the receiver to change or list its keyring (a cluster-wide key rotation).
    KeyRequest {
        /// Identifies the request, echoed in the reply.
        request: u64,
        /// What to do.
        op: KeyOp,
    },
    /// The answer to a key request: the receiver's keys after the change, primary first,
    /// or why it refused.
    KeyReply {
        /// The request answered.
        request: u64,
        /// The keys, or why the change was refused.
        result: Result<Vec<Key>, KeyringError>,
    },
    /// A holder (the sender) renews, by version alone, the whole held set the voter
    /// answered it keeps; the voter renews every lease of it as if listed in a
    /// [`Body::Renew`].
    RenewSet {
        /// Identifies the renewal round, echoed in the reply.
        round: u64,
        /// The version of the held set.
        version: u64,
    },
    /// A renewal round by a holder (the sender) to a voter that keeps its held set at
    /// version `from` whole: what changed since, in chunks (`part` names the new version
    /// and the chunk's place among the changes). The voter renews each role added, and
    /// once every chunk of the round arrived and every one was renewed, keeps the set at
    /// the new version and renews it whole, as [`Body::RenewSet`] would.
    RenewDelta {
        /// Identifies the renewal round, echoed in the reply.
        round: u64,
        /// The version the changes apply to.
        from: u64,
        /// The new version, and where this chunk sits among the changes.
        part: SetPart,
        /// Each role added, with its term, or removed (`None`), since `from`.
        changes: Vec<(RoleName, Option<LamportTime>)>,
    },
    /// A voter (the sender) that knows the holder of `role` at `term` only from its
    /// renewals asks it for the role's announcement, to learn the value it publishes.
    /// A holder of that term answers with a [`Body::Announce`]; anyone else ignores it.
    AskAnnouncement {
        /// The role.
        role: RoleName,
        /// The term the voter renews.
        term: LamportTime,
    },
    /// A holder (the sender) offers to hand `role`, held at `term`, to the receiver.
    TransferOffer {
        /// The role.
        role: RoleName,
        /// The holder's term.
        term: LamportTime,
    },
    /// The answer to a [`Body::TransferOffer`]: whether the receiver campaigns for the
    /// role. Only then does the holder resign in its favour.
    TransferReply {
        /// The role offered.
        role: RoleName,
        /// The term offered.
        term: LamportTime,
        /// Whether this node campaigns for the role (and does not hold it).
        campaigning: bool,
    },
}

/// Where the leases of a [`Body::Renew`] sit in the holder's held set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPart {
    /// The version of the holder's held set: it rises whenever the set of (role, term)
    /// held changes.
    pub version: u64,
    /// Which chunk of the set this is, from 0.
    pub chunk: u32,
    /// How many chunks the set comes in, in this round.
    pub chunks: u32,
}

/// A change to every node's keyring, or a listing of them, as serf's `keys` command does.
/// Rotate a key in three steps, each on the whole cluster: install the new key, use it,
/// remove the old one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyOp {
    /// Change nothing; report the keys.
    List,
    /// Add a key that opens datagrams (it seals only once used).
    Install(Key),
    /// Make an installed key the primary, which seals.
    Use(Key),
    /// Remove a key that is not the primary; removing a key not installed does nothing.
    Remove(Key),
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
    /// `holder` holds `role` with `term`, and publishes `value` with it: the
    /// `version`th value of the term, from 0 at the win (each `proclaim` adds one).
    Elected {
        /// The role.
        role: RoleName,
        /// The winner.
        holder: NodeName,
        /// Its term (fencing token).
        term: LamportTime,
        /// Counts the values published in this term: 0 for the one it was won with.
        version: u64,
        /// The value.
        value: RoleValue,
    },
    /// A quorum stopped renewing `role` at `term`; it is vacated when the lease ends.
    Recalled {
        /// The role.
        role: RoleName,
        /// The term recalled.
        term: LamportTime,
    },
    /// `holder` gave `role` up at `term`.
    Resigned {
        /// The role.
        role: RoleName,
        /// The holder that resigned.
        holder: NodeName,
        /// Its term.
        term: LamportTime,
    },
    /// `id`'s tags, the `version`th set by that identity (newer generations win, then
    /// higher versions).
    Tags {
        /// The member the tags are of.
        id: NodeId,
        /// Counts the changes within `id`'s generation, from 1.
        version: u64,
        /// The tags.
        tags: Tags,
    },
}

/// What an announcement is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A member, by name.
    Member(NodeName),
    /// A role, by name.
    Role(RoleName),
    /// A member's tags, by the member's name.
    Tags(NodeName),
}

/// The step of a role's gossip key for a recall; one more is a resignation, and every
/// value's version of an election is below it.
pub(crate) const RECALLED_STEP: u64 = u64::MAX - 1;

/// What an [`Announcement`] is about and how new it is: the gossip layer keeps only the
/// newest announcement per subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementKey {
    subject: Subject,
    version: (u64, u64),
}

impl Announcement {
    /// The gossip key of this announcement. For roles the version is the term, then the
    /// step within it: the value's version while elected (below `RECALLED_STEP`), then
    /// recalled, then resigned, so later news wins.
    pub fn key(&self) -> AnnouncementKey {
        let (subject, version) = match self {
            Announcement::Left { id } => (Subject::Member(id.name().clone()), (id.generation(), 0)),
            Announcement::ForceLeft {
                name, generation, ..
            } => (Subject::Member(name.clone()), (*generation, 0)),
            Announcement::Elected {
                role,
                term,
                version,
                ..
            } => (
                Subject::Role(role.clone()),
                (term.0, (*version).min(RECALLED_STEP - 1)),
            ),
            Announcement::Recalled { role, term } => {
                (Subject::Role(role.clone()), (term.0, RECALLED_STEP))
            }
            Announcement::Resigned { role, term, .. } => {
                (Subject::Role(role.clone()), (term.0, RECALLED_STEP + 1))
            }
            Announcement::Tags { id, version, .. } => (
                Subject::Tags(id.name().clone()),
                (id.generation(), *version),
            ),
        };
        AnnouncementKey { subject, version }
    }
}

impl AnnouncementKey {
    /// What the announcement is about.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// How new it is: a larger version replaces a smaller one.
    pub fn version(&self) -> (u64, u64) {
        self.version
    }
}

impl foca::Invalidates for AnnouncementKey {
    fn invalidates(&self, other: &Self) -> bool {
        self.subject == other.subject && self.version >= other.version
    }
}
