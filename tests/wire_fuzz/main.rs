//! Feeds random and mutated datagrams to the wire decoders and to a running core.
//!
//! Every decoder must return a value or an error, never panic. The core must never
//! panic, must reject exactly what the decoders reject, and a datagram it counts as
//! rejected must change nothing it shows: members, population, clock, next timeout,
//! its view of every role and the roles it holds, and no datagram, event or request
//! outcome may come out of it. (An accepted datagram may change all of these: a valid
//! vote request makes the target promise, a valid reply completes its request.)
//!
//! The target holds a role, has granted a lease for another, and has an election, a
//! query and a recall waiting for answers when each run starts, and the corpus holds
//! every polity message and announcement, so mutations reach the role layer in every
//! one of these states.
//!
//! Deterministic: the seed is fixed unless `POLITY_FUZZ_SEED` is set (decimal or `0x`
//! hex) and the number of datagrams is 100,000 unless `POLITY_FUZZ_CASES` is set. A
//! failure names the seed and the case, so it can be replayed.

mod corpus;
mod datagrams;
mod decoders;
mod fuzz_run;
mod helpers;
mod mutators;
mod observation;
mod rejected_datagrams;
mod target;

#[path = "../common/wire_variants.rs"]
mod wire_variants;
