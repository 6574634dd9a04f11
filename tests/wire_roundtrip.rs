//! Round trips of every type polity puts on the wire, through the same codecs a node
//! uses: names and identities, Lamport times, polity messages, the envelope, foca's
//! headers and members through `FocaCodec`, and whole SWIM packets laid out as foca
//! lays them out.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use foca::{Codec, Header, Member, Message, State};
use polity::wire::{
    self, Announcement, Body, DECODE_LIMIT, ENVELOPE_LEN, FocaCodec, Kind, PolityMessage, WireError,
};
use polity::{Config, Core, LamportTime, NodeId, NodeName, Startup};
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The bincode configuration of `polity::wire`: standard, with the decode limit.
fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(value, bincode_config()).expect("encodes")
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), bincode::error::DecodeError> {
    bincode::serde::decode_from_slice(bytes, bincode_config())
}

fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

fn id(s: &str, port: u16, generation: u64) -> NodeId {
    NodeId::new(name(s), SocketAddr::from(([10, 0, 0, 1], port)), generation)
}

/// The index of a `foca::Message` variant. The match is exhaustive, so a variant added
/// to foca fails to compile here until the tests below cover it.
fn message_variant(message: &Message<NodeId>) -> usize {
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
const MESSAGE_VARIANTS: usize = 11;

/// Every `foca::Message` variant once.
fn every_message(other: &NodeId, probe_number: u8) -> Vec<Message<NodeId>> {
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

fn state_variant(state: State) -> usize {
    match state {
        State::Alive => 0,
        State::Suspect => 1,
        State::Down => 2,
    }
}
const EVERY_STATE: [State; 3] = [State::Alive, State::Suspect, State::Down];

fn announcement_variant(announcement: &Announcement) -> usize {
    match announcement {
        Announcement::Left { .. } => 0,
        Announcement::ForceLeft { .. } => 1,
    }
}

fn body_variant(body: &Body) -> usize {
    match body {
        Body::Announce(_) => 0,
    }
}

fn kind_variant(kind: Kind) -> usize {
    match kind {
        Kind::Swim => 0,
        Kind::Polity => 1,
    }
}
const EVERY_KIND: [Kind; 2] = [Kind::Swim, Kind::Polity];

/// Encodes `header` with `FocaCodec` into a fresh `Vec`.
fn header_bytes(header: &Header<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_header(header, &mut out)
        .expect("header encodes");
    out
}

/// Encodes `member` with `FocaCodec` into a fresh `Vec`.
fn member_bytes(member: &Member<NodeId>) -> Vec<u8> {
    let mut out = Vec::new();
    FocaCodec::default()
        .encode_member(member, &mut out)
        .expect("member encodes");
    out
}

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
struct ParsedPacket {
    header: Header<NodeId>,
    members: Vec<Member<NodeId>>,
    broadcasts: Vec<Announcement>,
}

fn parse_swim_packet(mut data: &[u8]) -> ParsedPacket {
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

// ---------------------------------------------------------------------------------------
// The same types with plain strings for names, to put invalid names on the wire. Field
// order and types match polity's, so bincode encodes both alike (checked below).
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
struct RawId {
    name: String,
    addr: SocketAddr,
    generation: u64,
}

#[derive(Debug, Clone, Serialize)]
enum RawAnnouncement {
    Left {
        id: RawId,
    },
    ForceLeft {
        name: String,
        generation: u64,
        by: String,
    },
}

#[derive(Debug, Clone, Serialize)]
enum RawBody {
    Announce(RawAnnouncement),
}

#[derive(Debug, Clone, Serialize)]
struct RawMessage {
    from: RawId,
    clock: u64,
    body: RawBody,
}

fn raw_id(id: &NodeId) -> RawId {
    RawId {
        name: id.name().as_str().to_owned(),
        addr: id.addr(),
        generation: id.generation(),
    }
}

fn raw_announcement(announcement: &Announcement) -> RawAnnouncement {
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
    }
}

fn raw_message(message: &PolityMessage) -> RawMessage {
    RawMessage {
        from: raw_id(&message.from),
        clock: message.clock.get(),
        body: match &message.body {
            Body::Announce(a) => RawBody::Announce(raw_announcement(a)),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

fn name_char() -> impl Strategy<Value = char> {
    any::<char>().prop_filter("printable, not whitespace", |c| {
        !c.is_control() && !c.is_whitespace()
    })
}

/// Valid names: ASCII up to the 64-byte limit, or any printable characters (at most 16
/// of at most 4 bytes each, so at most 64 bytes).
fn valid_name_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[!-~]{1,64}",
        prop::collection::vec(name_char(), 1..=16).prop_map(|cs| cs.into_iter().collect()),
    ]
}

fn node_name() -> impl Strategy<Value = NodeName> {
    valid_name_string().prop_map(|s| NodeName::new(s).expect("generated names are valid"))
}

/// Characters a name may not hold: whitespace and control characters.
fn bad_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\0', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{a0}',
            '\u{1680}', '\u{2003}', '\u{2028}', '\u{2029}', '\u{3000}',
        ]),
        (0u8..0x20).prop_map(char::from),
        (0x7fu8..=0x9f).prop_map(char::from),
    ]
}

/// Strings `NodeName` refuses: empty, longer than 64 bytes, or holding a bad character.
fn invalid_name_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[!-~]{65,200}",
        // 33 two-byte characters: few characters, but 66 bytes.
        Just("é".repeat(33)),
        (valid_name_string(), bad_char(), 0usize..=64).prop_map(|(s, bad, at)| {
            let mut chars: Vec<char> = s.chars().collect();
            let at = at.min(chars.len());
            chars.insert(at, bad);
            chars.into_iter().collect()
        }),
    ]
}

/// Addresses that serde can carry: IPv4, and IPv6 without flow label or scope id
/// (see `a_scoped_ipv6_node_id_round_trips` for those).
fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv4Addr::from(ip), port))),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::from((Ipv6Addr::from(ip), port))),
    ]
}

fn node_id() -> impl Strategy<Value = NodeId> {
    (node_name(), socket_addr(), any::<u64>())
        .prop_map(|(name, addr, generation)| NodeId::new(name, addr, generation))
}

fn lamport_time() -> impl Strategy<Value = LamportTime> {
    prop_oneof![
        Just(LamportTime::ZERO),
        Just(LamportTime(u64::MAX)),
        any::<u64>().prop_map(LamportTime),
    ]
}

fn announcement() -> impl Strategy<Value = Announcement> {
    prop_oneof![
        node_id().prop_map(|id| Announcement::Left { id }),
        (node_name(), any::<u64>(), node_name()).prop_map(|(name, generation, by)| {
            Announcement::ForceLeft {
                name,
                generation,
                by,
            }
        }),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    announcement().prop_map(Body::Announce)
}

fn polity_message() -> impl Strategy<Value = PolityMessage> {
    (node_id(), lamport_time(), body()).prop_map(|(from, clock, body)| PolityMessage {
        from,
        clock,
        body,
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(EVERY_KIND.to_vec())
}

fn foca_message() -> impl Strategy<Value = Message<NodeId>> {
    prop_oneof![
        any::<u8>().prop_map(Message::Ping),
        any::<u8>().prop_map(Message::Ack),
        (node_id(), any::<u8>()).prop_map(|(target, probe_number)| Message::PingReq {
            target,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(origin, probe_number)| Message::IndirectPing {
            origin,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(target, probe_number)| Message::IndirectAck {
            target,
            probe_number
        }),
        (node_id(), any::<u8>()).prop_map(|(origin, probe_number)| Message::ForwardedAck {
            origin,
            probe_number
        }),
        Just(Message::Announce),
        Just(Message::Feed),
        Just(Message::Gossip),
        Just(Message::Broadcast),
        Just(Message::TurnUndead),
    ]
}

fn header() -> impl Strategy<Value = Header<NodeId>> {
    (node_id(), any::<u16>(), node_id(), foca_message()).prop_map(
        |(src, src_incarnation, dst, message)| Header {
            src,
            src_incarnation,
            dst,
            message,
        },
    )
}

fn foca_state() -> impl Strategy<Value = State> {
    prop::sample::select(EVERY_STATE.to_vec())
}

fn member() -> impl Strategy<Value = Member<NodeId>> {
    (node_id(), any::<u16>(), foca_state())
        .prop_map(|(id, incarnation, state)| Member::new(id, incarnation, state))
}

fn trailing() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..16)
}

// ---------------------------------------------------------------------------------------
// Names, identities, times
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Polity messages and announcements
// ---------------------------------------------------------------------------------------

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
        bad in invalid_name_string(),
        which in 0usize..3,
    ) {
        let mut raw = raw_message(&message);
        match (which, &mut raw.body) {
            (0, _) => raw.from.name = bad,
            (_, RawBody::Announce(RawAnnouncement::Left { id })) => id.name = bad,
            (1, RawBody::Announce(RawAnnouncement::ForceLeft { name, .. })) => *name = bad,
            (_, RawBody::Announce(RawAnnouncement::ForceLeft { by, .. })) => *by = bad,
        }
        let verdict = wire::decode_message(&encode(&raw));
        prop_assert!(matches!(verdict, Err(WireError::Malformed { .. })), "{:?}", verdict);
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

#[test]
fn every_body_and_announcement_variant_round_trips() {
    let a = id("a", 1, 7);
    let announcements = [
        Announcement::Left { id: a.clone() },
        Announcement::ForceLeft {
            name: name("gone"),
            generation: u64::MAX,
            by: name("op"),
        },
    ];
    let variants: Vec<usize> = announcements.iter().map(announcement_variant).collect();
    assert_eq!(variants, [0, 1]);
    for announcement in announcements {
        let message = PolityMessage {
            from: a.clone(),
            clock: LamportTime(u64::MAX),
            body: Body::Announce(announcement.clone()),
        };
        assert_eq!(body_variant(&message.body), 0);
        let bytes = wire::encode_message(&message).expect("encodes");
        assert_eq!(wire::decode_message(&bytes), Ok(message));
        let item = wire::encode_announcement(&announcement).expect("encodes");
        assert_eq!(wire::decode_announcement(&item), Ok(announcement));
    }
}

// ---------------------------------------------------------------------------------------
// The envelope
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn an_envelope_round_trips(
        kind in kind(),
        body in prop::collection::vec(any::<u8>(), 0..300),
        stale in prop::collection::vec(any::<u8>(), 0..10),
    ) {
        // `write_envelope` starts the datagram afresh, whatever the buffer held.
        let mut datagram = stale;
        wire::write_envelope(kind, &mut datagram);
        prop_assert_eq!(datagram.len(), ENVELOPE_LEN);
        prop_assert_eq!(&datagram[..2], &wire::MAGIC[..]);
        prop_assert_eq!(datagram[2], wire::VERSION);
        prop_assert_eq!(usize::from(datagram[3]), kind_variant(kind));
        datagram.extend_from_slice(&body);
        let len = datagram.len();
        prop_assert_eq!(wire::open(&datagram, len), Ok((kind, &body[..])));
        prop_assert_eq!(
            wire::open(&datagram, len - 1),
            Err(WireError::Oversized { len, max: len - 1 })
        );
    }

    #[test]
    fn opening_any_bytes_returns_a_verdict(
        bytes in prop::collection::vec(any::<u8>(), 0..16),
        max_len in 0usize..32,
    ) {
        match wire::open(&bytes, max_len) {
            Ok((kind, body)) => {
                prop_assert!(bytes.len() <= max_len);
                prop_assert_eq!(&bytes[..2], &wire::MAGIC[..]);
                prop_assert_eq!(bytes[2], wire::VERSION);
                prop_assert_eq!(usize::from(bytes[3]), kind_variant(kind));
                prop_assert_eq!(body, &bytes[ENVELOPE_LEN..]);
            }
            Err(WireError::Oversized { len, max }) => {
                prop_assert_eq!((len, max), (bytes.len(), max_len));
                prop_assert!(len > max);
            }
            Err(WireError::TooShort { len }) => prop_assert!(len < ENVELOPE_LEN),
            Err(WireError::BadMagic) => prop_assert_ne!(&bytes[..2], &wire::MAGIC[..]),
            Err(WireError::UnsupportedVersion { version }) => {
                prop_assert_eq!(version, bytes[2]);
                prop_assert_ne!(version, wire::VERSION);
            }
            Err(WireError::UnknownKind { kind }) => {
                prop_assert_eq!(kind, bytes[3]);
                prop_assert!(kind > 1);
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// foca's headers and members through FocaCodec
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn a_foca_header_round_trips(header in header(), tail in trailing()) {
        let mut codec = FocaCodec::default();
        let mut vec = Vec::new();
        codec.encode_header(&header, &mut vec).expect("encodes into a Vec");
        let mut bytes_mut = BytesMut::new();
        codec.encode_header(&header, &mut bytes_mut).expect("encodes into a BytesMut");
        prop_assert_eq!(&bytes_mut[..], &vec[..]);
        prop_assert_eq!(&vec, &encode(&header));

        vec.extend_from_slice(&tail);
        let mut slice = &vec[..];
        let back = codec.decode_header(&mut slice);
        prop_assert_eq!(back.as_ref(), Ok(&header));
        prop_assert_eq!(slice, &tail[..], "the decoder must stop exactly after the header");

        let mut bytes = Bytes::from(vec);
        prop_assert_eq!(codec.decode_header(&mut bytes), Ok(header));
        prop_assert_eq!(&bytes[..], &tail[..]);
    }

    #[test]
    fn a_foca_member_round_trips(member in member(), tail in trailing()) {
        let mut codec = FocaCodec::default();
        let mut vec = Vec::new();
        codec.encode_member(&member, &mut vec).expect("encodes into a Vec");
        let mut bytes_mut = BytesMut::new();
        codec.encode_member(&member, &mut bytes_mut).expect("encodes into a BytesMut");
        prop_assert_eq!(&bytes_mut[..], &vec[..]);
        prop_assert_eq!(&vec, &encode(&member));

        vec.extend_from_slice(&tail);
        let mut slice = &vec[..];
        let back = codec.decode_member(&mut slice).expect("decodes");
        prop_assert_eq!(slice, &tail[..], "the decoder must stop exactly after the member");
        prop_assert_eq!(back.id(), member.id());
        prop_assert_eq!(back.incarnation(), member.incarnation());
        prop_assert_eq!(back.state(), member.state());
        prop_assert_eq!(back, member);
    }

    #[test]
    fn a_header_or_member_with_an_invalid_name_is_refused(
        header in header(),
        bad in invalid_name_string(),
        incarnation in any::<u16>(),
        state in foca_state(),
    ) {
        let mut codec = FocaCodec::default();
        let mut src = raw_id(&header.src);
        src.name = bad;
        let raw = Header {
            src: src.clone(),
            src_incarnation: header.src_incarnation,
            dst: raw_id(&header.dst),
            message: Message::<RawId>::Gossip,
        };
        let bytes = encode(&raw);
        let mut slice = &bytes[..];
        prop_assert!(codec.decode_header(&mut slice).is_err());
        prop_assert_eq!(slice.len(), bytes.len(), "a failed decode consumes nothing");

        let bytes = encode(&Member::new(src, incarnation, state));
        let mut slice = &bytes[..];
        prop_assert!(codec.decode_member(&mut slice).is_err());
        prop_assert_eq!(slice.len(), bytes.len(), "a failed decode consumes nothing");
    }

    #[test]
    fn encoding_into_a_buffer_too_small_fails_and_writes_nothing(
        header in header(),
        member in member(),
        shortfall in any::<prop::sample::Index>(),
    ) {
        let encoded = header_bytes(&header);
        let size = shortfall.index(encoded.len());
        check_no_room(encoded.len(), size, |codec, buf| codec.encode_header(&header, buf))?;
        check_exact_fit(&encoded, |codec, buf| codec.encode_header(&header, buf))?;

        let encoded = member_bytes(&member);
        let size = shortfall.index(encoded.len());
        check_no_room(encoded.len(), size, |codec, buf| codec.encode_member(&member, buf))?;
        check_exact_fit(&encoded, |codec, buf| codec.encode_member(&member, buf))?;

        // foca itself writes into a `Vec` behind `BufMut::limit`.
        let mut limited = Vec::new().limit(size);
        let result = FocaCodec::default().encode_member(&member, &mut limited);
        prop_assert_eq!(
            result,
            Err(WireError::NoRoom { needed: encoded.len(), available: size })
        );
        prop_assert!(limited.into_inner().is_empty());
    }
}

/// Encodes into a slice of `size` bytes (less than `needed`), which must fail without
/// writing to the slice or advancing it.
fn check_no_room(
    needed: usize,
    size: usize,
    mut encode: impl FnMut(&mut FocaCodec, &mut &mut [u8]) -> Result<(), WireError>,
) -> Result<(), TestCaseError> {
    const CANARY: u8 = 0xA5;
    let mut storage = vec![CANARY; size];
    let mut window: &mut [u8] = &mut storage[..];
    let result = encode(&mut FocaCodec::default(), &mut window);
    let left = window.len();
    prop_assert_eq!(
        result,
        Err(WireError::NoRoom {
            needed,
            available: size
        })
    );
    prop_assert_eq!(left, size, "the buffer must not advance");
    prop_assert!(
        storage.iter().all(|&b| b == CANARY),
        "the buffer must not be written"
    );
    Ok(())
}

/// Encodes into a slice of exactly the encoded length, which must succeed and fill it.
fn check_exact_fit(
    expected: &[u8],
    mut encode: impl FnMut(&mut FocaCodec, &mut &mut [u8]) -> Result<(), WireError>,
) -> Result<(), TestCaseError> {
    let mut storage = vec![0; expected.len()];
    let mut window: &mut [u8] = &mut storage[..];
    prop_assert_eq!(encode(&mut FocaCodec::default(), &mut window), Ok(()));
    prop_assert!(window.is_empty());
    prop_assert_eq!(&storage[..], expected);
    Ok(())
}

#[test]
fn every_size_below_the_encoding_is_refused() {
    let (a, b) = (id("a", 1, 1), id("b", 2, u64::MAX));
    for message in every_message(&b, 7) {
        let header = Header {
            src: a.clone(),
            src_incarnation: 3,
            dst: b.clone(),
            message,
        };
        let encoded = header_bytes(&header);
        for size in 0..encoded.len() {
            check_no_room(encoded.len(), size, |codec, buf| {
                codec.encode_header(&header, buf)
            })
            .expect("refused");
        }
        check_exact_fit(&encoded, |codec, buf| codec.encode_header(&header, buf)).expect("fits");
    }
    for state in EVERY_STATE {
        let member = Member::new(b.clone(), u16::MAX, state);
        let encoded = member_bytes(&member);
        for size in 0..encoded.len() {
            check_no_room(encoded.len(), size, |codec, buf| {
                codec.encode_member(&member, buf)
            })
            .expect("refused");
        }
        check_exact_fit(&encoded, |codec, buf| codec.encode_member(&member, buf)).expect("fits");
    }
}

#[test]
fn every_foca_message_and_state_round_trips() {
    let mut codec = FocaCodec::default();
    let (a, b) = (id("a", 1, 1), id("b", 2, u64::MAX));
    for message in every_message(&b, 200) {
        let header = Header {
            src: a.clone(),
            src_incarnation: u16::MAX,
            dst: b.clone(),
            message,
        };
        let bytes = header_bytes(&header);
        let mut slice = &bytes[..];
        assert_eq!(codec.decode_header(&mut slice), Ok(header));
        assert!(slice.is_empty());
    }
    let mut states = Vec::new();
    for state in EVERY_STATE {
        states.push(state_variant(state));
        let member = Member::new(b.clone(), 9, state);
        let bytes = member_bytes(&member);
        let mut slice = &bytes[..];
        assert_eq!(codec.decode_member(&mut slice), Ok(member));
        assert!(slice.is_empty());
    }
    assert_eq!(states, [0, 1, 2]);
}

// ---------------------------------------------------------------------------------------
// Whole SWIM packets
// ---------------------------------------------------------------------------------------

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

/// Runs a few cores against each other in memory and checks every datagram they send:
/// the packets foca itself lays out must pass `check_swim_packet`, polity messages must
/// decode, and no core may reject a datagram sent by another.
#[test]
fn every_datagram_a_cluster_sends_passes_the_checks() {
    let start = Instant::now();
    let addr = |i: u16| SocketAddr::from(([127, 0, 0, 1], 7100 + i));
    let mut cores: Vec<Core> = (0..4u16)
        .map(|i| {
            let mut config = Config::fast(name(&format!("n{i}")));
            config.bind = addr(i);
            if i > 0 {
                config.join = vec![addr(0)];
            }
            let startup = Startup {
                addr: addr(i),
                generation: 1,
                rng_seed: u64::from(i),
                clock_floor: 1_000,
            };
            Core::new(config, startup, start).expect("valid config")
        })
        .collect();

    #[derive(Default)]
    struct Seen {
        swim: usize,
        polity: usize,
        with_members: usize,
        left: usize,
        force_left: usize,
        variants: [bool; MESSAGE_VARIANTS],
    }
    let mut seen = Seen::default();
    let mut cut_off: Option<usize> = None;
    let mut now = start;

    let mut run_until =
        |cores: &mut Vec<Core>, now: &mut Instant, until: Instant, cut: Option<usize>| {
            loop {
                let mut moved = true;
                while moved {
                    moved = false;
                    for from in 0..cores.len() {
                        while let Some(transmit) = cores[from].poll_transmit() {
                            moved = true;
                            let (kind, body) = wire::open(&transmit.bytes, 1400).expect("envelope");
                            match kind {
                                Kind::Swim => {
                                    assert_eq!(
                                        wire::check_swim_packet(body).map(drop),
                                        Ok(()),
                                        "{body:?}"
                                    );
                                    let parsed = parse_swim_packet(body);
                                    seen.swim += 1;
                                    seen.variants[message_variant(&parsed.header.message)] = true;
                                    seen.with_members += usize::from(!parsed.members.is_empty());
                                    for broadcast in &parsed.broadcasts {
                                        match broadcast {
                                            Announcement::Left { .. } => seen.left += 1,
                                            Announcement::ForceLeft { .. } => seen.force_left += 1,
                                        }
                                    }
                                }
                                Kind::Polity => {
                                    wire::decode_message(body).expect("a polity message");
                                    seen.polity += 1;
                                }
                            }
                            let to = (0..cores.len()).find(|&i| addr(i as u16) == transmit.to);
                            if let Some(to) = to
                                && cut != Some(to)
                                && cut != Some(from)
                            {
                                cores[to].handle_datagram(*now, addr(from as u16), &transmit.bytes);
                            }
                        }
                    }
                }
                let next = cores
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| cut != Some(*i))
                    .filter_map(|(_, c)| c.poll_timeout())
                    .min();
                match next {
                    Some(next) if next <= until => {
                        *now = next.max(*now);
                        for core in cores.iter_mut() {
                            core.handle_timeout(*now);
                        }
                    }
                    _ => {
                        *now = until;
                        return;
                    }
                }
            }
        };

    run_until(
        &mut cores,
        &mut now,
        start + Duration::from_secs(5),
        cut_off,
    );
    assert!(cores.iter().all(|c| c.population() == 4), "all four met");
    cores[3].leave(now);
    run_until(
        &mut cores,
        &mut now,
        start + Duration::from_secs(8),
        cut_off,
    );
    cut_off = Some(2);
    run_until(
        &mut cores,
        &mut now,
        start + Duration::from_secs(20),
        cut_off,
    );
    let down = cores[0]
        .members()
        .into_iter()
        .find(|m| m.id.name().as_str() == "n2")
        .expect("n2 known");
    assert_eq!(down.status, polity::MemberStatus::Down);
    cores[0].force_leave(now, &name("n2")).expect("n2 is down");
    run_until(
        &mut cores,
        &mut now,
        start + Duration::from_secs(25),
        cut_off,
    );

    for (i, core) in cores.iter().enumerate() {
        let stats = core.stats();
        assert_eq!(
            (
                stats.rejected_oversized,
                stats.rejected_envelope,
                stats.rejected_malformed
            ),
            (0, 0, 0),
            "core {i} rejected a datagram: {stats:?}"
        );
    }
    assert!(seen.swim > 100, "{} SWIM packets", seen.swim);
    assert!(seen.polity >= 2, "{} polity messages", seen.polity);
    assert!(seen.with_members > 0);
    assert!(seen.left > 0, "a Left announcement was gossiped");
    assert!(seen.force_left > 0, "a ForceLeft announcement was gossiped");
    for variant in [0, 1, 2, 3, 6, 7, 8] {
        // Ping, Ack, PingReq, IndirectPing, Announce, Feed, Gossip
        assert!(
            seen.variants[variant],
            "foca sent no message of variant {variant}"
        );
    }
}
