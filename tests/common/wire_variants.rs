//! The index of every variant of what travels on the wire (foca's messages, polity's
//! message bodies and announcements), and foca's messages each once, for the wire tests
//! to count what they saw. Every match is exhaustive, so a new variant fails to compile
//! here until the tests cover it.

use foca::Message;
use polity::tags::{MAX_KEY_LEN, MAX_TAGS_LEN};
use polity::wire::{Announcement, Body};
use polity::{MAX_ROLE_VALUE_LEN, NodeId, RoleValue, Tags};

/// Tags of `MAX_TAGS_LEN` bytes in all under the longest key: the most a node may
/// publish, for the `Tags` announcement at its extreme.
pub fn largest_tags() -> Tags {
    let mut tags = Tags::new();
    let key = "k".repeat(MAX_KEY_LEN);
    let value = "v".repeat(MAX_TAGS_LEN - MAX_KEY_LEN);
    tags.insert(key, value).expect("within the limit");
    assert_eq!(tags.len_bytes(), MAX_TAGS_LEN);
    tags
}

/// A value of `MAX_ROLE_VALUE_LEN` bytes: the most a holder may publish with a role.
pub fn largest_value() -> RoleValue {
    RoleValue::new(vec![0xa5; MAX_ROLE_VALUE_LEN]).expect("within the limit")
}

/// The index of a `foca::Message` variant. The match is exhaustive, so a variant added
/// to foca fails to compile here until the tests cover it.
pub fn message_variant(message: &Message<NodeId>) -> usize {
    match message {
        Message::Ping(_) => 0,
        Message::Ack(_) => 1,
        Message::PingReq { .. } => 2,
        Message::IndirectPing { .. } => 3,
        Message::IndirectAck { .. } => 4,
        Message::ForwardedAck { .. } => 5,
        Message::Announce => 6,
        Message::Feed => 7,
        Message::Gossip => 8,
        Message::Broadcast => 9,
        Message::TurnUndead => 10,
    }
}
pub const MESSAGE_VARIANTS: usize = 11;

/// Every `foca::Message` variant once.
pub fn every_message(other: &NodeId, probe_number: u8) -> Vec<Message<NodeId>> {
    let all = vec![
        Message::Ping(probe_number),
        Message::Ack(probe_number),
        Message::PingReq {
            target: other.clone(),
            probe_number,
        },
        Message::IndirectPing {
            origin: other.clone(),
            probe_number,
        },
        Message::IndirectAck {
            target: other.clone(),
            probe_number,
        },
        Message::ForwardedAck {
            origin: other.clone(),
            probe_number,
        },
        Message::Announce,
        Message::Feed,
        Message::Gossip,
        Message::Broadcast,
        Message::TurnUndead,
    ];
    let mut seen: Vec<usize> = all.iter().map(message_variant).collect();
    seen.dedup();
    assert_eq!(seen, (0..MESSAGE_VARIANTS).collect::<Vec<_>>());
    all
}

/// The index of an `Announcement` variant. The match is exhaustive, so a new variant
/// fails to compile here until the tests cover it.
pub fn announcement_variant(announcement: &Announcement) -> usize {
    match announcement {
        Announcement::Left { .. } => 0,
        Announcement::ForceLeft { .. } => 1,
        Announcement::Elected { .. } => 2,
        Announcement::Recalled { .. } => 3,
        Announcement::Resigned { .. } => 4,
        Announcement::Tags { .. } => 5,
    }
}
pub const ANNOUNCEMENT_VARIANTS: usize = 6;

/// The index of a `Body` variant; exhaustive, like `announcement_variant`.
pub fn body_variant(body: &Body) -> usize {
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
        Body::RenewSet { .. } => 13,
        Body::RenewDelta { .. } => 14,
        Body::AskAnnouncement { .. } => 15,
        Body::TransferOffer { .. } => 16,
        Body::TransferReply { .. } => 17,
    }
}
pub const BODY_VARIANTS: usize = 18;
