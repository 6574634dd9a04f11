//! Valid datagrams, with the offsets of the fields worth corrupting.

use bytes::BufMut;
use foca::{Codec, Header, Member, Message};
use polity::NodeId;
use polity::wire::{self, Announcement, Body, FocaCodec, Kind, PolityMessage};

use crate::wire_variants::{announcement_variant, body_variant};

#[derive(Debug, Clone)]
pub(crate) struct Valid {
    pub(crate) bytes: Vec<u8>,
    /// Offsets of bincode varints (string lengths, enum tags, integers).
    pub(crate) varints: Vec<usize>,
    /// Offsets of big-endian `u16` counts and lengths (member count, broadcast lengths).
    pub(crate) u16s: Vec<usize>,
}

fn bincode_len<T: serde::Serialize>(value: &T) -> usize {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .expect("encodes")
        .len()
}

/// Offsets of the fields of a value being encoded, for the mutations that target them.
struct Fields {
    at: usize,
    offsets: Vec<usize>,
}

impl Fields {
    fn new() -> Self {
        Fields {
            at: 0,
            offsets: Vec::new(),
        }
    }

    fn field<T: serde::Serialize>(&mut self, value: &T) -> &mut Self {
        self.offsets.push(self.at);
        self.at += bincode_len(value);
        self
    }

    /// A sequence: its length, then each element through `each`.
    fn seq<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.field(&(items.len() as u64));
        for item in items {
            each(self, item);
        }
        self
    }

    /// An announcement: its variant tag, then every field.
    fn announcement(&mut self, announcement: &Announcement) -> &mut Self {
        self.field(&(announcement_variant(announcement) as u32));
        match announcement {
            Announcement::Left { id } => self.field(id),
            Announcement::ForceLeft {
                name,
                generation,
                by,
            } => self.field(name).field(generation).field(by),
            Announcement::Elected {
                role,
                holder,
                term,
                version,
                value,
            } => self
                .field(role)
                .field(holder)
                .field(term)
                .field(version)
                .field(value),
            Announcement::Resigned { role, holder, term } => {
                self.field(role).field(holder).field(term)
            }
            Announcement::Recalled { role, term } => self.field(role).field(term),
            Announcement::Tags { id, version, tags } => self.field(id).field(version).field(tags),
        }
    }

    /// A message body: its variant tag, then every field (inside vote replies, leases
    /// and announcements too).
    fn body(&mut self, body: &Body) -> &mut Self {
        self.field(&(body_variant(body) as u32));
        match body {
            Body::Announce(announcement) => self.announcement(announcement),
            Body::VoteRequest {
                role,
                term,
                priority,
            } => self.field(role).field(term).field(priority),
            Body::Withdraw { role, term }
            | Body::AskAnnouncement { role, term }
            | Body::TransferOffer { role, term } => self.field(role).field(term),
            Body::TransferReply {
                role,
                term,
                campaigning,
            } => self.field(role).field(term).field(campaigning),
            Body::Release {
                role,
                term,
                successor,
                transfer,
            } => self
                .field(role)
                .field(term)
                .field(successor)
                .field(transfer),
            Body::VoteReply(reply) => self
                .field(&reply.role)
                .field(&reply.term)
                .field(&reply.granted)
                .field(&reply.population)
                .field(&reply.promised)
                .field(&reply.holder)
                .field(&reply.retry_after_ms),
            Body::Renew {
                round,
                part,
                leases,
            } => self
                .field(round)
                .field(&part.version)
                .field(&part.chunk)
                .field(&part.chunks)
                .seq(leases, |f, (role, term)| {
                    f.field(role).field(term);
                }),
            Body::RenewReply {
                round,
                population,
                acked,
                whole,
            } => self
                .field(round)
                .field(population)
                .seq(acked, |f, term| {
                    f.field(term);
                })
                .field(whole),
            Body::RenewSet { round, version } => self.field(round).field(version),
            Body::RenewDelta {
                round,
                from,
                part,
                changes,
            } => self
                .field(round)
                .field(from)
                .field(&part.version)
                .field(&part.chunk)
                .field(&part.chunks)
                .seq(changes, |f, (role, term)| {
                    f.field(role).field(term);
                }),
            Body::Recall { role, request } | Body::Query { role, request } => {
                self.field(role).field(request)
            }
            Body::RecallReply {
                request,
                population,
                recalled,
            } => self.field(request).field(population).field(recalled),
            Body::QueryReply {
                request,
                population,
                lease,
                recalled,
                value,
            } => self
                .field(request)
                .field(population)
                .field(lease)
                .field(recalled)
                .field(value),
            Body::KeyRequest { request, op } => self.field(request).field(op),
            Body::KeyReply { request, result } => self.field(request).field(result),
        }
    }

    /// The offsets, shifted to where the value starts, after checking that the fields
    /// add up to the whole encoding.
    fn at(&self, start: usize, encoded_len: usize) -> impl Iterator<Item = usize> + '_ {
        assert_eq!(self.at, encoded_len, "the fields make up the whole value");
        self.offsets.iter().map(move |o| start + o)
    }
}

pub(crate) fn swim_datagram(
    header: &Header<NodeId>,
    members: &[Member<NodeId>],
    broadcasts: &[Announcement],
) -> Valid {
    let mut codec = FocaCodec::default();
    let mut bytes = Vec::new();
    wire::write_envelope(Kind::Swim, &mut bytes);
    let start = bytes.len();
    codec.encode_header(header, &mut bytes).expect("encodes");
    let dst_at = start + bincode_len(&header.src) + bincode_len(&header.src_incarnation);
    let message_at = dst_at + bincode_len(&header.dst);
    let mut varints = vec![start, dst_at, message_at];
    let mut u16s = Vec::new();
    let piggyback = !matches!(
        header.message,
        Message::Announce | Message::TurnUndead | Message::Broadcast
    );
    if piggyback {
        u16s.push(bytes.len());
        bytes.put_u16(u16::try_from(members.len()).expect("few"));
        for member in members {
            varints.push(bytes.len());
            codec.encode_member(member, &mut bytes).expect("encodes");
        }
    }
    if !matches!(header.message, Message::Announce | Message::TurnUndead) {
        for broadcast in broadcasts {
            let item = wire::encode_announcement(broadcast).expect("encodes");
            u16s.push(bytes.len());
            bytes.put_u16(u16::try_from(item.len()).expect("short"));
            let mut fields = Fields::new();
            fields.announcement(broadcast);
            varints.extend(fields.at(bytes.len(), item.len()));
            bytes.extend_from_slice(&item);
        }
    }
    assert!(wire::check_swim_packet(&bytes[start..]).is_ok());
    Valid {
        bytes,
        varints,
        u16s,
    }
}

pub(crate) fn polity_datagram(message: &PolityMessage) -> Valid {
    let mut bytes = Vec::new();
    wire::write_envelope(Kind::Polity, &mut bytes);
    let start = bytes.len();
    bytes.extend_from_slice(&wire::encode_message(message).expect("encodes"));
    let clock_at = start + bincode_len(&message.from);
    let body_at = clock_at + bincode_len(&message.clock);
    assert_eq!(wire::decode_message(&bytes[start..]).as_ref(), Ok(message));
    let mut fields = Fields::new();
    fields.body(&message.body);
    let mut varints = vec![start, clock_at];
    varints.extend(fields.at(body_at, bytes.len() - body_at));
    Valid {
        bytes,
        varints,
        u16s: Vec::new(),
    }
}
