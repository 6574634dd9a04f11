//! Node and role names, identities, Lamport times, ballots, tenures and vote replies.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

use polity::identity::{MAX_NODE_NAME_LEN, MAX_ROLE_NAME_LEN};
use polity::wire::{Ballot, Body, Tenure, VoteReply};
use polity::{LamportTime, NodeId, NodeName, RoleName};
use proptest::prelude::*;

use crate::helpers::{decode, encode, name};
use crate::raw_types::{RawBallot, RawId, RawTenure, raw_ballot, raw_tenure, raw_vote_reply};
use crate::strategies::{
    ballot, invalid_name_string, invalid_role_string, lamport_time, node_id, node_name, role_name,
    socket_addr, tenure, trailing, vote_reply,
};

proptest! {
    #[test]
    fn a_node_name_round_trips(name in node_name()) {
        let bytes = encode(&name);
        // On the wire a name is a plain string.
        prop_assert_eq!(&bytes, &encode(&name.as_str().to_owned()));
        let (back, used): (NodeName, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(&back, &name);
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.as_str().parse::<NodeName>(), Ok(name));
    }

    #[test]
    fn an_invalid_node_name_is_refused_on_decode(bad in invalid_name_string()) {
        prop_assert!(NodeName::new(bad.clone()).is_err());
        let bytes = encode(&bad);
        prop_assert!(decode::<NodeName>(&bytes).is_err());
    }

    #[test]
    fn a_node_id_round_trips(id in node_id()) {
        let bytes = encode(&id);
        let (back, used): (NodeId, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.name(), id.name());
        prop_assert_eq!(back.addr(), id.addr());
        prop_assert_eq!(back.generation(), id.generation());
        prop_assert_eq!(back, id);
    }

    #[test]
    fn a_node_id_with_an_invalid_name_is_refused(
        bad in invalid_name_string(),
        addr in socket_addr(),
        generation in any::<u64>(),
    ) {
        let raw = RawId { name: bad, addr, generation };
        prop_assert!(decode::<NodeId>(&encode(&raw)).is_err());
    }

    #[test]
    fn a_lamport_time_round_trips_as_a_bare_integer(time in lamport_time()) {
        let bytes = encode(&time);
        prop_assert_eq!(&bytes, &encode(&time.get()));
        let (back, used): (LamportTime, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(back, time);
        prop_assert_eq!(used, bytes.len());
    }

    #[test]
    fn a_role_name_round_trips(role in role_name()) {
        let bytes = encode(&role);
        // On the wire a role name is a plain string, like a node name.
        prop_assert_eq!(&bytes, &encode(&role.as_str().to_owned()));
        let (back, used): (RoleName, usize) = decode(&bytes).expect("decodes");
        prop_assert_eq!(&back, &role);
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.as_str().parse::<RoleName>(), Ok(role.clone()));
        // The same bytes read as a node name only if short enough for one.
        prop_assert_eq!(
            decode::<NodeName>(&bytes).is_ok(),
            role.as_str().len() <= MAX_NODE_NAME_LEN
        );
    }

    #[test]
    fn an_invalid_role_name_is_refused_on_decode(bad in invalid_role_string()) {
        prop_assert!(RoleName::new(bad.clone()).is_err());
        prop_assert!(bad.parse::<RoleName>().is_err());
        let bytes = encode(&bad);
        prop_assert!(decode::<RoleName>(&bytes).is_err());
        prop_assert!(decode::<NodeName>(&bytes).is_err());
    }

    #[test]
    fn a_ballot_round_trips_and_orders_by_term_then_candidate(a in ballot(), b in ballot()) {
        for ballot in [&a, &b] {
            let bytes = encode(ballot);
            prop_assert_eq!(&bytes, &encode(&raw_ballot(ballot)));
            let (back, used): (Ballot, usize) = decode(&bytes).expect("decodes");
            prop_assert_eq!(&back, ballot);
            prop_assert_eq!(used, bytes.len());
        }
        let by_fields = (a.term, a.candidate.as_str()).cmp(&(b.term, b.candidate.as_str()));
        prop_assert_eq!(a.cmp(&b), by_fields);
    }

    #[test]
    fn a_ballot_or_tenure_with_an_invalid_name_is_refused(
        ballot in ballot(),
        tenure in tenure(),
        bad in invalid_name_string(),
    ) {
        let mut raw = raw_ballot(&ballot);
        raw.candidate = bad.clone();
        prop_assert!(decode::<Ballot>(&encode(&raw)).is_err());
        let mut raw = raw_tenure(&tenure);
        raw.holder = bad;
        prop_assert!(decode::<Tenure>(&encode(&raw)).is_err());
    }

    #[test]
    fn a_tenure_round_trips(tenure in tenure(), tail in trailing()) {
        let bytes = encode(&tenure);
        prop_assert_eq!(&bytes, &encode(&raw_tenure(&tenure)));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&tail);
        let (back, used): (Tenure, usize) = decode(&longer).expect("decodes");
        prop_assert_eq!(back, tenure);
        prop_assert_eq!(used, bytes.len());
    }

    #[test]
    fn a_vote_reply_round_trips(reply in vote_reply(), tail in trailing()) {
        let bytes = encode(&reply);
        prop_assert_eq!(&bytes, &encode(&raw_vote_reply(&reply)));
        let mut longer = bytes.clone();
        longer.extend_from_slice(&tail);
        let (back, used): (VoteReply, usize) = decode(&longer).expect("decodes");
        prop_assert_eq!(&back, &reply);
        prop_assert_eq!(used, bytes.len());
        // The same bytes as the reply inside a message body, after the variant tag.
        let inside = encode(&Body::VoteReply(reply));
        prop_assert_eq!(&inside[1..], &bytes[..]);
    }

    #[test]
    fn a_vote_reply_with_an_invalid_name_is_refused(
        reply in vote_reply(),
        bad_node in invalid_name_string(),
        bad_role in invalid_role_string(),
        which in 0usize..3,
    ) {
        let mut raw = raw_vote_reply(&reply);
        match which {
            0 => raw.role = bad_role,
            1 => {
                raw.promised.get_or_insert(RawBallot { term: 1, candidate: String::new() })
                    .candidate = bad_node;
            }
            _ => {
                raw.holder.get_or_insert(RawTenure { holder: String::new(), term: 1 }).holder =
                    bad_node;
            }
        }
        prop_assert!(decode::<VoteReply>(&encode(&raw)).is_err());
    }
}

#[test]
fn name_limits_are_exact_on_the_wire() {
    for ok in [
        "a",
        &"a".repeat(64),
        &"é".repeat(32),
        &"𝄞".repeat(16),
        "web-1.dc_2",
    ] {
        let (back, _): (NodeName, usize) = decode(&encode(&ok.to_owned())).expect(ok);
        assert_eq!(back.as_str(), ok);
    }
    for bad in [
        "",
        &"a".repeat(65),
        &"é".repeat(33),
        "a b",
        "a\u{0}",
        "\u{a0}",
    ] {
        assert!(
            decode::<NodeName>(&encode(&bad.to_owned())).is_err(),
            "{bad:?}"
        );
    }
}

#[test]
fn role_name_limits_are_exact_on_the_wire() {
    assert_eq!(MAX_ROLE_NAME_LEN, 128);
    for ok in [
        "r",
        &"r".repeat(65),
        &"r".repeat(128),
        &"é".repeat(64),
        &"𝄞".repeat(32),
        "shard-7-primary",
    ] {
        let (back, _): (RoleName, usize) = decode(&encode(&ok.to_owned())).expect(ok);
        assert_eq!(back.as_str(), ok);
    }
    for bad in [
        "",
        &"r".repeat(129),
        &"é".repeat(65),
        &"𝄞".repeat(33),
        // 127 bytes and a two-byte character: 129 bytes.
        &format!("{}é", "r".repeat(127)),
        "shard 7",
        "shard\n7",
        "a\u{0}",
        "\u{a0}",
        "\u{2028}",
    ] {
        assert!(
            decode::<RoleName>(&encode(&bad.to_owned())).is_err(),
            "{bad:?}"
        );
    }
}

/// A link-local IPv6 address needs its scope id to be reachable, and a node's identity
/// must come back from the wire equal to itself: foca only accepts packets whose
/// destination equals its own identity. serde writes only the IP and port of a
/// `SocketAddrV6`, dropping the flow label and the scope id.
#[test]
fn a_scoped_ipv6_node_id_round_trips() {
    let addr = SocketAddrV6::new(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), 7700, 0, 2);
    let id = NodeId::new(name("n1"), SocketAddr::V6(addr), 1);
    let (back, _): (NodeId, usize) = decode(&encode(&id)).expect("decodes");
    assert_eq!(back.addr(), id.addr(), "the scope id is lost on the wire");
    assert_eq!(back, id);
}
