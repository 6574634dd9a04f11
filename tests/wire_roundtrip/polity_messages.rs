//! Polity messages and announcements, every variant and at their limits.

use polity::identity::{MAX_NODE_NAME_LEN, MAX_ROLE_NAME_LEN};
use polity::wire::{
    self, Announcement, Ballot, Body, KEY_LEN, Key, KeyOp, MAX_KEYS, PolityMessage, SetPart,
    Tenure, VoteReply, WireError,
};
use polity::{LamportTime, RoleName};
use proptest::prelude::*;

use crate::helpers::{encode, header_bytes, id, name, role};
use crate::raw_types::{
    NameField, RawAnnouncement, announcement_names, message_names, raw_announcement, raw_message,
};
use crate::strategies::{
    announcement, invalid_name_string, invalid_role_string, lamport_time, polity_message,
};
use crate::wire_variants::{
    ANNOUNCEMENT_VARIANTS, BODY_VARIANTS, announcement_variant, body_variant, largest_tags,
    largest_value,
};

proptest! {
    #[test]
    fn a_polity_message_round_trips(message in polity_message()) {
        let bytes = wire::encode_message(&message).expect("encodes");
        // The mirror types used to forge invalid names encode alike.
        prop_assert_eq!(&bytes, &encode(&raw_message(&message)));
        prop_assert_eq!(wire::decode_message(&bytes), Ok(message));
    }

    #[test]
    fn a_polity_message_with_extra_or_missing_bytes_is_refused(
        message in polity_message(),
        extra in prop::collection::vec(any::<u8>(), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = wire::encode_message(&message).expect("encodes");
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(
            wire::decode_message(&longer),
            Err(WireError::TrailingBytes { extra: extra.len() })
        );
        let cut = cut.index(bytes.len());
        let verdict = wire::decode_message(&bytes[..cut]);
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    #[test]
    fn a_polity_message_with_an_invalid_name_is_refused(
        message in polity_message(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut raw = raw_message(&message);
        let mut names = message_names(&mut raw);
        let (field, slot) = names.swap_remove(which.index(names.len()));
        *slot = match field {
            NameField::Node => bad_node,
            NameField::Role => bad_role,
        };
        let verdict = wire::decode_message(&encode(&raw));
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    #[test]
    fn an_announcement_with_an_invalid_name_is_refused(
        announcement in announcement(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in any::<prop::sample::Index>(),
    ) {
        let mut raw = raw_announcement(&announcement);
        prop_assert_eq!(
            &encode(&raw),
            &wire::encode_announcement(&announcement).expect("encodes")
        );
        let mut names = announcement_names(&mut raw);
        let (field, slot) = names.swap_remove(which.index(names.len()));
        *slot = match field {
            NameField::Node => bad_node,
            NameField::Role => bad_role,
        };
        let verdict = wire::decode_announcement(&encode(&raw));
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
    }

    /// Role names may be twice as long as node names: a name of 65 to 128 bytes is
    /// accepted where a role is named and refused where a node is.
    #[test]
    fn a_long_name_is_a_role_name_but_not_a_node_name(
        message in polity_message(),
        long in "[!-~]{65,128}",
        term in lamport_time(),
    ) {
        let message = PolityMessage {
            body: Body::Release {
                role: RoleName::new(long.clone()).expect("valid"),
                term,
                successor: None,
                transfer: false,
            },
            ..message
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        prop_assert_eq!(wire::decode_message(&bytes), Ok(message.clone()));
        let mut raw = raw_message(&message);
        raw.from.name = long.clone();
        prop_assert!(wire::decode_message(&encode(&raw)).is_err());
        let elected = RawAnnouncement::Elected {
            role: long.clone(),
            holder: long,
            term: term.get(),
            version: 0,
            value: Vec::new(),
        };
        prop_assert!(wire::decode_announcement(&encode(&elected)).is_err());
        // A value one byte past the limit is refused as well.
        let too_long = RawAnnouncement::Elected {
            role: "r".into(),
            holder: "n".into(),
            term: term.get(),
            version: 1,
            value: vec![0; polity::MAX_ROLE_VALUE_LEN + 1],
        };
        prop_assert!(wire::decode_announcement(&encode(&too_long)).is_err());
    }

    #[test]
    fn an_announcement_round_trips_with_its_key(announcement in announcement()) {
        let item = wire::encode_announcement(&announcement).expect("encodes");
        let back = wire::decode_announcement(&item).expect("decodes");
        prop_assert_eq!(back.key(), announcement.key());
        prop_assert_eq!(&back, &announcement);
        // The same bytes as the announcement inside a message body.
        let inside = encode(&Body::Announce(announcement));
        prop_assert_eq!(&inside[1..], &item[..]);
    }
}

/// Every announcement variant once, with names at their length limits.
pub(crate) fn every_announcement() -> Vec<Announcement> {
    let longest_role = role(&"r".repeat(MAX_ROLE_NAME_LEN));
    let longest_node = name(&"n".repeat(MAX_NODE_NAME_LEN));
    let all = vec![
        Announcement::Left { id: id("a", 1, 7) },
        Announcement::ForceLeft {
            name: name("gone"),
            generation: u64::MAX,
            by: name("op"),
        },
        Announcement::Elected {
            role: longest_role.clone(),
            holder: longest_node.clone(),
            term: LamportTime(u64::MAX),
            version: u64::MAX,
            value: largest_value(),
        },
        Announcement::Recalled {
            role: role("scheduler"),
            term: LamportTime::ZERO,
        },
        Announcement::Resigned {
            role: longest_role,
            holder: longest_node,
            term: LamportTime(1 << 40),
        },
        Announcement::Tags {
            id: id(&"n".repeat(MAX_NODE_NAME_LEN), 1, u64::MAX),
            version: u64::MAX,
            tags: largest_tags(),
        },
    ];
    let variants: Vec<usize> = all.iter().map(announcement_variant).collect();
    assert_eq!(variants, (0..ANNOUNCEMENT_VARIANTS).collect::<Vec<_>>());
    all
}

/// Every body variant once, several with extreme values: many leases, long names, the
/// largest integers.
fn every_body() -> Vec<Body> {
    let longest_role = role(&"r".repeat(MAX_ROLE_NAME_LEN));
    let longest_node = name(&"n".repeat(MAX_NODE_NAME_LEN));
    let tenure = Tenure {
        holder: longest_node.clone(),
        term: LamportTime(u64::MAX),
    };
    let all = vec![
        Body::Announce(Announcement::Left { id: id("a", 1, 7) }),
        Body::VoteRequest {
            role: longest_role.clone(),
            term: LamportTime(u64::MAX),
            priority: u32::MAX,
        },
        Body::VoteReply(VoteReply {
            role: longest_role.clone(),
            term: LamportTime(u64::MAX),
            granted: false,
            population: u32::MAX,
            promised: Some(Ballot {
                term: LamportTime(u64::MAX),
                candidate: longest_node.clone(),
            }),
            holder: Some(tenure.clone()),
            retry_after_ms: u32::MAX,
        }),
        Body::Renew {
            round: u64::MAX,
            part: SetPart {
                version: u64::MAX,
                chunk: u32::MAX,
                chunks: u32::MAX,
            },
            leases: (0..100u64)
                .map(|i| (role(&format!("{i:r>128}")), LamportTime(u64::MAX - i)))
                .collect(),
        },
        Body::RenewReply {
            round: u64::MAX,
            population: u32::MAX,
            acked: (0..100u64).map(|i| LamportTime(u64::MAX - i)).collect(),
            whole: Some(u64::MAX),
        },
        Body::Release {
            role: role("scheduler"),
            term: LamportTime(1),
            successor: Some(longest_node.clone()),
            transfer: true,
        },
        Body::Withdraw {
            role: role(&"w".repeat(MAX_ROLE_NAME_LEN)),
            term: LamportTime(u64::MAX),
        },
        Body::Recall {
            role: longest_role.clone(),
            request: u64::MAX,
        },
        Body::RecallReply {
            request: u64::MAX,
            population: u32::MAX,
            recalled: Some(tenure.clone()),
        },
        Body::Query {
            role: longest_role,
            request: 0,
        },
        Body::QueryReply {
            request: u64::MAX,
            population: 0,
            lease: Some(tenure),
            recalled: true,
            value: Some((u64::MAX, largest_value())),
        },
        Body::KeyRequest {
            request: 1,
            op: KeyOp::Install(Key::new([9; KEY_LEN])),
        },
        Body::KeyReply {
            request: u64::MAX,
            result: Ok(vec![Key::new([9; KEY_LEN]); MAX_KEYS]),
        },
        Body::RenewSet {
            round: u64::MAX,
            version: u64::MAX,
        },
        Body::RenewDelta {
            round: u64::MAX,
            from: u64::MAX,
            part: SetPart {
                version: u64::MAX,
                chunk: u32::MAX,
                chunks: u32::MAX,
            },
            changes: vec![
                (
                    RoleName::new("r".repeat(MAX_ROLE_NAME_LEN)).unwrap(),
                    Some(LamportTime(u64::MAX)),
                ),
                (RoleName::new("gone").unwrap(), None),
            ],
        },
        Body::AskAnnouncement {
            role: role(&"a".repeat(MAX_ROLE_NAME_LEN)),
            term: LamportTime(u64::MAX),
        },
        Body::TransferOffer {
            role: role(&"t".repeat(MAX_ROLE_NAME_LEN)),
            term: LamportTime(u64::MAX),
        },
        Body::TransferReply {
            role: role(&"t".repeat(MAX_ROLE_NAME_LEN)),
            term: LamportTime(u64::MAX),
            campaigning: true,
        },
    ];
    let variants: Vec<usize> = all.iter().map(body_variant).collect();
    assert_eq!(variants, (0..BODY_VARIANTS).collect::<Vec<_>>());
    all
}

#[test]
fn every_body_and_announcement_variant_round_trips() {
    let a = id("a", 1, 7);
    let bodies = every_body()
        .into_iter()
        .chain(every_announcement().into_iter().map(Body::Announce));
    for body in bodies {
        let message = PolityMessage {
            from: a.clone(),
            clock: LamportTime(u64::MAX),
            body,
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        assert_eq!(bytes, encode(&raw_message(&message)));
        assert_eq!(wire::decode_message(&bytes).as_ref(), Ok(&message));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            wire::decode_message(&longer),
            Err(WireError::TrailingBytes { extra: 1 })
        );
        for cut in 0..bytes.len() {
            assert!(
                wire::decode_message(&bytes[..cut]).is_err(),
                "{message:?} cut at {cut}"
            );
        }
    }
    for announcement in every_announcement() {
        let item = wire::encode_announcement(&announcement).expect("encodes");
        assert_eq!(item, encode(&raw_announcement(&announcement)));
        assert_eq!(wire::decode_announcement(&item).as_ref(), Ok(&announcement));
        assert_eq!(
            wire::decode_announcement(&item).map(|a| a.key()),
            Ok(announcement.key())
        );
    }
}

/// A holder renews all its roles in one message (split to fit a datagram when sent):
/// many leases with the longest names round trip.
#[test]
fn a_renewal_of_many_long_roles_round_trips() {
    let leases: Vec<(RoleName, LamportTime)> = (0..400u64)
        .map(|i| (role(&format!("{i:~>128}")), LamportTime(i << 50)))
        .collect();
    for take in [0, 1, 9, 10, 11, 100, 400] {
        let message = PolityMessage {
            from: id("holder", 9, u64::MAX),
            clock: LamportTime(u64::MAX),
            body: Body::Renew {
                round: u64::MAX - take as u64,
                part: SetPart {
                    version: take as u64,
                    chunk: 0,
                    chunks: 1,
                },
                leases: leases[..take].to_vec(),
            },
        };
        let bytes = wire::encode_message(&message).expect("encodes");
        assert_eq!(wire::decode_message(&bytes), Ok(message), "{take} leases");
    }
}

/// `Config::max_value_len` keeps an announcement of the largest value within one
/// datagram whatever the names: sent directly, and gossiped behind a foca header naming
/// two members of the longest names at IPv6 addresses, sealed.
#[test]
fn the_largest_value_fits_one_datagram_with_the_longest_names() {
    use polity::wire::{ENVELOPE_LEN, SEAL_OVERHEAD};
    use polity::{Config, NodeId, Profile, RoleValue};
    use std::net::{Ipv6Addr, SocketAddr};

    let longest = name(&"n".repeat(MAX_NODE_NAME_LEN));
    let far = SocketAddr::from((Ipv6Addr::new(0xfd00, 1, 2, 3, 4, 5, 6, 7), u16::MAX));
    let member = NodeId::new(longest.clone(), far, u64::MAX);
    for max in [576, 1000, 1400, 1504, 9000, wire::MAX_UDP_PAYLOAD] {
        let mut config = Config::new(name("n"), Profile::Lan);
        config.max_datagram_size = max;
        let len = config.max_value_len();
        assert!(len <= polity::MAX_ROLE_VALUE_LEN);
        let announcement = Announcement::Elected {
            role: role(&"r".repeat(MAX_ROLE_NAME_LEN)),
            holder: longest.clone(),
            term: LamportTime(u64::MAX),
            version: u64::MAX,
            value: RoleValue::new(vec![0xff; len]).expect("within the limit"),
        };
        let direct = PolityMessage {
            from: member.clone(),
            clock: LamportTime(u64::MAX),
            body: Body::Announce(announcement.clone()),
        };
        let direct =
            ENVELOPE_LEN + SEAL_OVERHEAD + wire::encode_message(&direct).expect("encodes").len();
        assert!(direct <= max, "{max}: a direct announcement takes {direct}");
        let header = foca::Header {
            src: member.clone(),
            src_incarnation: u16::MAX,
            dst: member.clone(),
            message: foca::Message::Gossip,
        };
        let item = wire::encode_announcement(&announcement)
            .expect("encodes")
            .len();
        let gossip = ENVELOPE_LEN + SEAL_OVERHEAD + header_bytes(&header).len() + 2 + item;
        assert!(
            gossip <= max,
            "{max}: a gossiped announcement takes {gossip}"
        );
    }
    // With the default datagram size, 920 bytes.
    let config = Config::new(name("n"), Profile::Lan);
    assert_eq!(config.max_value_len(), 920);
}
