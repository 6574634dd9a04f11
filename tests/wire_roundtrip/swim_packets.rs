//! Whole SWIM packets, laid out and read back as foca lays them out.

use bytes::BufMut;
use foca::{Codec, Header, Member, Message, State};
use polity::NodeId;
use polity::wire::{self, Announcement, FocaCodec, WireError};
use proptest::prelude::*;

use crate::helpers::{header_bytes, id, member_bytes};
use crate::polity_messages::every_announcement;
use crate::strategies::{announcement, header, member};

/// Whether foca writes a member count and member updates after a header of this message.
fn needs_piggyback(message: &Message<NodeId>) -> bool {
    !matches!(
        message,
        Message::Announce | Message::TurnUndead | Message::Broadcast
    )
}

/// Whether foca appends custom broadcasts after a header of this message.
fn allows_custom_broadcasts(message: &Message<NodeId>) -> bool {
    !matches!(message, Message::Announce | Message::TurnUndead)
}

/// A SWIM packet laid out as foca 2 writes it, and the offsets where a truncated packet
/// is still well formed.
struct Packet {
    bytes: Vec<u8>,
    /// Lengths at which the packet may be cut and still parse: after the header (no
    /// member count at all), after the members, and after each custom broadcast.
    clean_cuts: Vec<usize>,
}

fn swim_packet(
    header: &Header<NodeId>,
    members: &[Member<NodeId>],
    broadcasts: &[Announcement],
) -> Packet {
    let mut bytes = header_bytes(header);
    let mut clean_cuts = vec![bytes.len()];
    if needs_piggyback(&header.message) {
        let count = u16::try_from(members.len()).expect("few members");
        bytes.put_u16(count);
        for member in members {
            bytes.extend_from_slice(&member_bytes(member));
        }
        clean_cuts.push(bytes.len());
    }
    if allows_custom_broadcasts(&header.message) {
        for broadcast in broadcasts {
            let item = wire::encode_announcement(broadcast).expect("announcement encodes");
            bytes.put_u16(u16::try_from(item.len()).expect("short item"));
            bytes.extend_from_slice(&item);
            clean_cuts.push(bytes.len());
        }
    }
    Packet { bytes, clean_cuts }
}

/// What a SWIM packet holds, read back the way foca reads it.
#[derive(Debug, PartialEq)]
pub(crate) struct ParsedPacket {
    pub(crate) header: Header<NodeId>,
    pub(crate) members: Vec<Member<NodeId>>,
    pub(crate) broadcasts: Vec<Announcement>,
}

pub(crate) fn parse_swim_packet(mut data: &[u8]) -> ParsedPacket {
    use bytes::Buf;
    let mut codec = FocaCodec::default();
    let header = codec.decode_header(&mut data).expect("header decodes");
    let mut members = Vec::new();
    if data.len() >= 2 && header.message != Message::Broadcast {
        let count = data.get_u16();
        for _ in 0..count {
            members.push(codec.decode_member(&mut data).expect("member decodes"));
        }
    }
    let mut broadcasts = Vec::new();
    while data.len() > 2 {
        let len = usize::from(data.get_u16());
        broadcasts.push(wire::decode_announcement(&data[..len]).expect("broadcast decodes"));
        data.advance(len);
    }
    assert!(data.is_empty(), "{} bytes left over", data.len());
    ParsedPacket {
        header,
        members,
        broadcasts,
    }
}

#[test]
fn every_announcement_travels_in_a_swim_packet() {
    let header = Header {
        src: id("a", 1, 1),
        src_incarnation: 0,
        dst: id("b", 2, 1),
        message: Message::Gossip,
    };
    let members = [Member::new(id("c", 3, 1), 0, State::Alive)];
    let broadcasts = every_announcement();
    let packet = swim_packet(&header, &members, &broadcasts);
    assert_eq!(wire::check_swim_packet(&packet.bytes).map(drop), Ok(()));
    assert_eq!(
        parse_swim_packet(&packet.bytes),
        ParsedPacket {
            header,
            members: members.to_vec(),
            broadcasts,
        }
    );
}

proptest! {
    #[test]
    fn a_whole_swim_packet_passes_the_check(
        header in header(),
        members in prop::collection::vec(member(), 0..6),
        broadcasts in prop::collection::vec(announcement(), 0..4),
        extra in any::<u8>(),
    ) {
        let packet = swim_packet(&header, &members, &broadcasts);
        prop_assert_eq!(wire::check_swim_packet(&packet.bytes).map(drop), Ok(()));

        let parsed = parse_swim_packet(&packet.bytes);
        let expected = ParsedPacket {
            header: header.clone(),
            members: if needs_piggyback(&header.message) { members } else { Vec::new() },
            broadcasts: if allows_custom_broadcasts(&header.message) {
                broadcasts
            } else {
                Vec::new()
            },
        };
        prop_assert_eq!(parsed, expected);

        // One stray byte more is refused, whatever the packet ends with.
        let mut longer = packet.bytes.clone();
        longer.push(extra);
        prop_assert!(wire::check_swim_packet(&longer).is_err());

        // A cut is refused unless it falls between whole items.
        for cut in 0..packet.bytes.len() {
            let verdict = wire::check_swim_packet(&packet.bytes[..cut]).map(drop);
            if packet.clean_cuts.contains(&cut) {
                prop_assert_eq!(verdict, Ok(()), "cut at {}", cut);
            } else {
                prop_assert!(verdict.is_err(), "cut at {} accepted", cut);
            }
        }
    }

    #[test]
    fn a_packet_with_a_bad_broadcast_is_refused(
        header in header(),
        members in prop::collection::vec(member(), 0..3),
        broadcasts in prop::collection::vec(announcement(), 1..3),
        garbage in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        prop_assume!(allows_custom_broadcasts(&header.message));
        prop_assume!(wire::decode_announcement(&garbage).is_err());
        let mut packet = swim_packet(&header, &members, &broadcasts).bytes;
        packet.put_u16(u16::try_from(garbage.len()).expect("short"));
        packet.extend_from_slice(&garbage);
        prop_assert!(wire::check_swim_packet(&packet).is_err());
    }
}

#[test]
fn a_packet_claiming_more_members_than_it_holds_is_refused() {
    let header = Header {
        src: id("a", 1, 1),
        src_incarnation: 0,
        dst: id("b", 2, 1),
        message: Message::Gossip,
    };
    let member = Member::new(id("c", 3, 1), 0, State::Alive);
    for count in [2, 0xFFFF] {
        let mut packet = header_bytes(&header);
        packet.put_u16(count);
        packet.extend_from_slice(&member_bytes(&member));
        assert!(matches!(
            wire::check_swim_packet(&packet),
            Err(WireError::Malformed { .. })
        ));
    }
}
