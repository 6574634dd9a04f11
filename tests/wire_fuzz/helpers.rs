//! The names, variant indices and limits the fuzz checks share.

use std::net::SocketAddr;

use polity::wire::{Announcement, Body};
use polity::{NodeName, RoleName};

pub(crate) const MAX_DATAGRAM: usize = 1400;
/// How many failures are described in full.
pub(crate) const SHOWN_FAILURES: usize = 12;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

pub(crate) fn role(s: &str) -> RoleName {
    RoleName::new(s).expect("valid role name")
}

/// A role name of exactly `len` bytes (at most 128), ending in `tag`.
pub(crate) fn long_role(tag: &str, len: usize) -> RoleName {
    role(&format!("{tag:~>len$}"))
}

/// The index of a `Body` variant. The match is exhaustive, so a new variant fails to
/// compile here until the corpus holds it.
pub(crate) fn body_variant(body: &Body) -> usize {
    match body {
        Body::Announce(_) => 0,
        Body::VoteRequest { .. } => 1,
        Body::VoteReply(_) => 2,
        Body::Renew { .. } => 3,
        Body::RenewReply { .. } => 4,
        Body::Release { .. } => 5,
        Body::Withdraw { .. } => 6,
        Body::Recall { .. } => 7,
        Body::RecallReply { .. } => 8,
        Body::Query { .. } => 9,
        Body::QueryReply { .. } => 10,
        Body::KeyRequest { .. } => 11,
        Body::KeyReply { .. } => 12,
    }
}
pub(crate) const BODY_VARIANTS: usize = 13;

/// The index of an `Announcement` variant; exhaustive, like `body_variant`.
pub(crate) fn announcement_variant(announcement: &Announcement) -> usize {
    match announcement {
        Announcement::Left { .. } => 0,
        Announcement::ForceLeft { .. } => 1,
        Announcement::Elected { .. } => 2,
        Announcement::Recalled { .. } => 3,
        Announcement::Resigned { .. } => 4,
    }
}
pub(crate) const ANNOUNCEMENT_VARIANTS: usize = 5;

pub(crate) fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
