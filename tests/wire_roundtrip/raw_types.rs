//! The wire types with plain strings for names, to put invalid names on the wire.

use std::net::SocketAddr;

use polity::NodeId;
use polity::wire::{
    Announcement, Ballot, Body, Key, KeyOp, KeyringError, PolityMessage, Tenure, VoteReply,
};
use serde::Serialize;

// Field order and types match polity's, so bincode encodes both alike (checked by the
// round trips).

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RawId {
    pub(crate) name: String,
    pub(crate) addr: SocketAddr,
    pub(crate) generation: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) enum RawAnnouncement {
    Left {
        id: RawId,
    },
    ForceLeft {
        name: String,
        generation: u64,
        by: String,
    },
    Elected {
        role: String,
        holder: String,
        term: u64,
        version: u64,
        value: Vec<u8>,
    },
    Recalled {
        role: String,
        term: u64,
    },
    Resigned {
        role: String,
        holder: String,
        term: u64,
    },
    Tags {
        id: RawId,
        version: u64,
        tags: std::collections::BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RawBallot {
    pub(crate) term: u64,
    pub(crate) candidate: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RawTenure {
    pub(crate) holder: String,
    pub(crate) term: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RawVoteReply {
    pub(crate) role: String,
    term: u64,
    granted: bool,
    population: u32,
    pub(crate) promised: Option<RawBallot>,
    pub(crate) holder: Option<RawTenure>,
    retry_after_ms: u32,
}

#[derive(Debug, Clone, Serialize)]
enum RawBody {
    Announce(RawAnnouncement),
    VoteRequest {
        role: String,
        term: u64,
        priority: u32,
    },
    VoteReply(RawVoteReply),
    Renew {
        round: u64,
        part: (u64, u32, u32),
        leases: Vec<(String, u64)>,
    },
    RenewReply {
        round: u64,
        population: u32,
        acked: Vec<u64>,
        whole: Option<u64>,
    },
    Release {
        role: String,
        term: u64,
        successor: Option<String>,
        transfer: bool,
    },
    Withdraw {
        role: String,
        term: u64,
    },
    Recall {
        role: String,
        request: u64,
    },
    RecallReply {
        request: u64,
        population: u32,
        recalled: Option<RawTenure>,
    },
    Query {
        role: String,
        request: u64,
    },
    QueryReply {
        request: u64,
        population: u32,
        lease: Option<RawTenure>,
        recalled: bool,
        value: Option<(u64, Vec<u8>)>,
    },
    // Key messages hold no names, so they are mirrored with the crate's own types.
    KeyRequest {
        request: u64,
        op: KeyOp,
    },
    KeyReply {
        request: u64,
        result: Result<Vec<Key>, KeyringError>,
    },
    RenewSet {
        round: u64,
        version: u64,
    },
    RenewDelta {
        round: u64,
        from: u64,
        part: (u64, u32, u32),
        changes: Vec<(String, Option<u64>)>,
    },
    AskAnnouncement {
        role: String,
        term: u64,
    },
    TransferOffer {
        role: String,
        term: u64,
    },
    TransferReply {
        role: String,
        term: u64,
        campaigning: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RawMessage {
    pub(crate) from: RawId,
    clock: u64,
    body: RawBody,
}

pub(crate) fn raw_id(id: &NodeId) -> RawId {
    RawId {
        name: id.name().as_str().to_owned(),
        addr: id.addr(),
        generation: id.generation(),
    }
}

pub(crate) fn raw_ballot(ballot: &Ballot) -> RawBallot {
    RawBallot {
        term: ballot.term.get(),
        candidate: ballot.candidate.as_str().to_owned(),
    }
}

pub(crate) fn raw_tenure(tenure: &Tenure) -> RawTenure {
    RawTenure {
        holder: tenure.holder.as_str().to_owned(),
        term: tenure.term.get(),
    }
}

pub(crate) fn raw_vote_reply(reply: &VoteReply) -> RawVoteReply {
    RawVoteReply {
        role: reply.role.as_str().to_owned(),
        term: reply.term.get(),
        granted: reply.granted,
        population: reply.population,
        promised: reply.promised.as_ref().map(raw_ballot),
        holder: reply.holder.as_ref().map(raw_tenure),
        retry_after_ms: reply.retry_after_ms,
    }
}

pub(crate) fn raw_announcement(announcement: &Announcement) -> RawAnnouncement {
    match announcement {
        Announcement::Left { id } => RawAnnouncement::Left { id: raw_id(id) },
        Announcement::ForceLeft {
            name,
            generation,
            by,
        } => RawAnnouncement::ForceLeft {
            name: name.as_str().to_owned(),
            generation: *generation,
            by: by.as_str().to_owned(),
        },
        Announcement::Elected {
            role,
            holder,
            term,
            version,
            value,
        } => RawAnnouncement::Elected {
            role: role.as_str().to_owned(),
            holder: holder.as_str().to_owned(),
            term: term.get(),
            version: *version,
            value: value.as_bytes().to_vec(),
        },
        Announcement::Recalled { role, term } => RawAnnouncement::Recalled {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Announcement::Resigned { role, holder, term } => RawAnnouncement::Resigned {
            role: role.as_str().to_owned(),
            holder: holder.as_str().to_owned(),
            term: term.get(),
        },
        Announcement::Tags { id, version, tags } => RawAnnouncement::Tags {
            id: raw_id(id),
            version: *version,
            tags: tags.clone().into(),
        },
    }
}

fn raw_body(body: &Body) -> RawBody {
    match body {
        Body::Announce(a) => RawBody::Announce(raw_announcement(a)),
        Body::VoteRequest {
            role,
            term,
            priority,
        } => RawBody::VoteRequest {
            role: role.as_str().to_owned(),
            term: term.get(),
            priority: *priority,
        },
        Body::VoteReply(reply) => RawBody::VoteReply(raw_vote_reply(reply)),
        Body::Renew {
            round,
            part,
            leases,
        } => RawBody::Renew {
            round: *round,
            part: (part.version, part.chunk, part.chunks),
            leases: leases
                .iter()
                .map(|(role, term)| (role.as_str().to_owned(), term.get()))
                .collect(),
        },
        Body::RenewReply {
            round,
            population,
            acked,
            whole,
        } => RawBody::RenewReply {
            round: *round,
            population: *population,
            acked: acked.iter().map(|t| t.get()).collect(),
            whole: *whole,
        },
        Body::Release {
            role,
            term,
            successor,
            transfer,
        } => RawBody::Release {
            role: role.as_str().to_owned(),
            term: term.get(),
            successor: successor.as_ref().map(|n| n.as_str().to_owned()),
            transfer: *transfer,
        },
        Body::Withdraw { role, term } => RawBody::Withdraw {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Body::Recall { role, request } => RawBody::Recall {
            role: role.as_str().to_owned(),
            request: *request,
        },
        Body::RecallReply {
            request,
            population,
            recalled,
        } => RawBody::RecallReply {
            request: *request,
            population: *population,
            recalled: recalled.as_ref().map(raw_tenure),
        },
        Body::Query { role, request } => RawBody::Query {
            role: role.as_str().to_owned(),
            request: *request,
        },
        Body::QueryReply {
            request,
            population,
            lease,
            recalled,
            value,
        } => RawBody::QueryReply {
            request: *request,
            population: *population,
            lease: lease.as_ref().map(raw_tenure),
            recalled: *recalled,
            value: value
                .as_ref()
                .map(|(v, value)| (*v, value.as_bytes().to_vec())),
        },
        Body::KeyRequest { request, op } => RawBody::KeyRequest {
            request: *request,
            op: op.clone(),
        },
        Body::KeyReply { request, result } => RawBody::KeyReply {
            request: *request,
            result: result.clone(),
        },
        Body::RenewSet { round, version } => RawBody::RenewSet {
            round: *round,
            version: *version,
        },
        Body::RenewDelta {
            round,
            from,
            part,
            changes,
        } => RawBody::RenewDelta {
            round: *round,
            from: *from,
            part: (part.version, part.chunk, part.chunks),
            changes: changes
                .iter()
                .map(|(role, term)| (role.as_str().to_owned(), term.map(|t| t.get())))
                .collect(),
        },
        Body::AskAnnouncement { role, term } => RawBody::AskAnnouncement {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Body::TransferOffer { role, term } => RawBody::TransferOffer {
            role: role.as_str().to_owned(),
            term: term.get(),
        },
        Body::TransferReply {
            role,
            term,
            campaigning,
        } => RawBody::TransferReply {
            role: role.as_str().to_owned(),
            term: term.get(),
            campaigning: *campaigning,
        },
    }
}

pub(crate) fn raw_message(message: &PolityMessage) -> RawMessage {
    RawMessage {
        from: raw_id(&message.from),
        clock: message.clock.get(),
        body: raw_body(&message.body),
    }
}

/// Which rules a name field on the wire follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameField {
    Node,
    Role,
}

/// Every name field of an announcement, in order, for forging invalid names.
pub(crate) fn announcement_names(
    announcement: &mut RawAnnouncement,
) -> Vec<(NameField, &mut String)> {
    use NameField::{Node, Role};
    match announcement {
        RawAnnouncement::Left { id } => vec![(Node, &mut id.name)],
        RawAnnouncement::ForceLeft { name, by, .. } => vec![(Node, name), (Node, by)],
        RawAnnouncement::Elected { role, holder, .. }
        | RawAnnouncement::Resigned { role, holder, .. } => vec![(Role, role), (Node, holder)],
        RawAnnouncement::Recalled { role, .. } => vec![(Role, role)],
        RawAnnouncement::Tags { id, .. } => vec![(Node, &mut id.name)],
    }
}

/// Every name field of a message, the sender's first.
pub(crate) fn message_names(message: &mut RawMessage) -> Vec<(NameField, &mut String)> {
    use NameField::{Node, Role};
    let mut names = vec![(Node, &mut message.from.name)];
    match &mut message.body {
        RawBody::Announce(announcement) => names.extend(announcement_names(announcement)),
        RawBody::Release {
            role, successor, ..
        } => {
            names.push((Role, role));
            if let Some(successor) = successor {
                names.push((Node, successor));
            }
        }
        RawBody::VoteRequest { role, .. }
        | RawBody::Withdraw { role, .. }
        | RawBody::AskAnnouncement { role, .. }
        | RawBody::TransferOffer { role, .. }
        | RawBody::TransferReply { role, .. }
        | RawBody::Recall { role, .. }
        | RawBody::Query { role, .. } => names.push((Role, role)),
        RawBody::VoteReply(reply) => {
            names.push((Role, &mut reply.role));
            if let Some(ballot) = &mut reply.promised {
                names.push((Node, &mut ballot.candidate));
            }
            if let Some(tenure) = &mut reply.holder {
                names.push((Node, &mut tenure.holder));
            }
        }
        RawBody::Renew { leases, .. } => {
            names.extend(leases.iter_mut().map(|(role, _)| (Role, role)));
        }
        RawBody::RenewDelta { changes, .. } => {
            names.extend(changes.iter_mut().map(|(role, _)| (Role, role)));
        }
        RawBody::RenewReply { .. } => {}
        RawBody::RecallReply {
            recalled: tenure, ..
        }
        | RawBody::QueryReply { lease: tenure, .. } => {
            if let Some(tenure) = tenure {
                names.push((Node, &mut tenure.holder));
            }
        }
        RawBody::KeyRequest { .. } | RawBody::KeyReply { .. } | RawBody::RenewSet { .. } => {}
    }
    names
}
