//! polity elects named roles among the peers of a gossip cluster.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod core;
pub mod identity;
pub mod node;
pub mod quorum;
#[cfg(feature = "sim")]
pub mod sim;
pub mod wire;

pub use clock::{LamportClock, LamportTime, LamportWindow};
pub use config::{Config, ConfigError, InvalidConfig, Profile};
pub use core::{Core, Event, ForceLeaveError, Member, MemberStatus, Startup, Stats, Transmit};
pub use identity::{InvalidName, NodeId, NodeName};
pub use node::{Node, NodeError, NodeHandle, StartError};
pub use quorum::{Majority, QuorumFunc, QuorumPercentage, SimpleMajority, UnsafeQuorum};
