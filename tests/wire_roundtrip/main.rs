//! Round trips of every type polity puts on the wire, through the same codecs a node
//! uses: node and role names, identities, Lamport times, ballots, tenures and vote
//! replies, polity messages and announcements (with their gossip keys), the envelope,
//! foca's headers and members through `FocaCodec`, and whole SWIM packets laid out as
//! foca lays them out.

mod cluster_traffic;
mod envelope;
mod foca_codec;
mod gossip_keys;
mod helpers;
mod names_and_identities;
mod polity_messages;
mod raw_types;
mod strategies;
mod swim_packets;

#[path = "../common/wire_variants.rs"]
mod wire_variants;
