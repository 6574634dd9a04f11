//! polity elects named roles ("scheduler", "compactor") among the peers of a gossip
//! cluster, so that peer-to-peer services can embed it, elect a role, and ask which node
//! holds it.
//!
//! This release provides the membership layer the elections stand on: SWIM gossip and
//! failure detection (the `foca` crate) over UDP, the electorate's population counted by
//! node name, a Lamport clock, quorum functions, and a deterministic simulator.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Event, Node, NodeName};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A first node on loopback, on a free port.
//! let mut config = Config::lan(NodeName::new("web-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! let first = Node::start(config).await?;
//!
//! // A second node joins through the first.
//! let mut config = Config::lan(NodeName::new("web-2")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! config.join = vec![first.local_addr()];
//! let mut events = first.events();
//! let second = Node::start(config).await?;
//!
//! // The first node sees the second come up.
//! let seen = tokio::time::timeout(Duration::from_secs(10), async {
//!     loop {
//!         if let Ok(Event::MemberUp(id)) = events.recv().await {
//!             break id;
//!         }
//!     }
//! })
//! .await?;
//! assert_eq!(seen.name().as_str(), "web-2");
//! assert_eq!(first.population().await?, 2);
//!
//! second.leave().await?; // the others stop counting it at once
//! first.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The protocol lives in [`core::Core`], a sans-IO state machine: time comes in as an
//! argument, randomness from a seeded generator, and outputs are polled. [`Node`] drives
//! it over tokio and a UDP socket; the simulator (feature `sim`) drives many of them in
//! virtual time.
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
pub use core::{
    Completion, Core, Durable, Event, ForceLeaveError, LossReason, Member, MemberStatus, RequestId,
    RoleError, RoleState, Startup, Stats, Transmit,
};
pub use identity::{InvalidName, NodeId, NodeName, RoleName};
pub use node::{Node, NodeError, NodeHandle, StartError};
pub use quorum::{Majority, QuorumFunc, QuorumPercentage, SimpleMajority, UnsafeQuorum};
