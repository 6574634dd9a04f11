//! polity elects named roles ("scheduler", "compactor") among the peers of a gossip
//! cluster, so that peer-to-peer services can embed it, elect a role, and ask which node
//! holds it.
//!
//! Nodes find one another with SWIM gossip and failure detection (the `foca` crate) over
//! UDP. A role is granted by a quorum of the electorate as a lease that its holder renews;
//! every grant carries a term higher than all before it, a fencing token. When the holder
//! crashes, a waiting candidate takes over within about one lease; when it resigns, within
//! a few round trips. A [`NodeHandle`] campaigns for, elects, resigns, recalls, queries
//! and watches roles; [`Leadership`] is what holding one looks like, and what publishes
//! the value that says where the holder is.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Node, NodeName, RoleName};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A one-node cluster on loopback, its own quorum once its quiet time after start
//! // (one lease: 300 ms with the `fast` profile) has passed.
//! let mut config = Config::fast(NodeName::new("worker-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! let node = Node::start(config).await?;
//!
//! // Wait until this node holds the role (bounded, so that the example cannot hang).
//! let role = RoleName::new("scheduler")?;
//! let leadership = tokio::time::timeout(Duration::from_secs(10), node.campaign(role)).await??;
//!
//! // The term is the fencing token: every later grant of the role has a higher one. Send
//! // it with each write, and have the store refuse a term below the highest it has seen,
//! // so that a holder replaced without knowing it cannot overwrite its successor.
//! let token = leadership.term();
//! let work = async {
//!     // store.put("plan", plan, token).await?;
//!     tokio::time::sleep(Duration::from_millis(20)).await;
//! };
//!
//! // Stop working the moment the role is lost; the node steps down before any other
//! // node can be granted it.
//! tokio::select! {
//!     () = work => leadership.resign().await?, // done: hand the role over at once
//!     reason = leadership.lost() => eprintln!("lost the role at term {token}: {reason:?}"),
//! }
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Stopping before the loss.** [`Leadership::at_risk`] is the early warning: it
//! resolves when no quorum has acknowledged a renewal for [`Config::renew_deadline`]
//! (default half the lease), as client-go's `RenewDeadline` does for a Kubernetes lease.
//! Unless a renewal then gets through, the node steps down at [`Leadership::deadline`],
//! `holder_lease - renew_deadline` later (585 ms with `lan`): that is the time the
//! application has to stop acting for the role. `lost()` is the last word; `at_risk()`
//! gives the time to act on it.
//!
//! **Where to send work.** The holder publishes a [`RoleValue`] with the role, as etcd's
//! `Campaign(value)` and `Proclaim`: every member's [`RoleState::Held`] carries it, and
//! [`Leadership::proclaim`] replaces it without a new term. Views only move to later
//! values of a term, never back.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Node, NodeName, RoleName, RoleState, RoleValue};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::fast(NodeName::new("worker-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! let node = Node::start(config).await?;
//! let role = RoleName::new("scheduler")?;
//!
//! let value = RoleValue::new("10.0.0.7:8080")?;
//! let campaign = node.campaign_with(role.clone(), value);
//! let leadership = tokio::time::timeout(Duration::from_secs(10), campaign).await??;
//! // It moved to another port: tell everyone, keeping the term.
//! let version = leadership.proclaim(RoleValue::new("10.0.0.7:9090")?).await?;
//! assert_eq!(version, 1);
//!
//! // Any member, asked where the scheduler is:
//! if let RoleState::Held { holder, value, .. } = node.holder(&role).await? {
//!     assert_eq!((holder.as_str(), value.as_str()), ("worker-1", Some("10.0.0.7:9090")));
//! }
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Each node also publishes [`Tags`], small key/value metadata (its API address, its
//! zone) that every member sees in [`NodeHandle::members`], as serf's tags. With the
//! holder's name from [`NodeHandle::holder`], its tags say where to reach it:
//!
//! ```
//! use polity::{Config, Node, NodeName, Tags};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::fast(NodeName::new("worker-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! config.tags.insert("api", "10.0.0.7:8080")?; // at start
//! let node = Node::start(config).await?;
//!
//! // At run time: published to every member directly and by gossip.
//! node.update_tags(vec![("zone".into(), "eu-1".into())], vec![]).await?;
//! let me = node.members().await?.into_iter().find(|m| m.id.name() == node.id().name());
//! assert_eq!(me.map(|m| m.tags.to_string()).as_deref(), Some("api=10.0.0.7:8080,zone=eu-1"));
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Semaphores and health.** [`NodeHandle::campaign_any`] campaigns for several roles
//! and holds the first won: with the slots `lock/1` to `lock/N`, at most N nodes work at
//! once, as with `consul lock -n N`. [`NodeHandle::campaign_while_healthy`] campaigns
//! only while a health check passes, as Consul's session checks: a node whose check
//! fails never wins, and the caller stops and resigns when it fails while holding.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Node, NodeName, RoleName, RoleValue};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = Config::fast(NodeName::new("worker-1")?);
//! config.bind = "127.0.0.1:0".parse()?;
//! let node = Node::start(config).await?;
//!
//! // One of two slots.
//! let slots = [RoleName::new("lock/1")?, RoleName::new("lock/2")?];
//! let slot = node.campaign_any(slots, RoleValue::EMPTY);
//! let slot = tokio::time::timeout(Duration::from_secs(10), slot).await??;
//! assert!(slot.role().as_str().starts_with("lock/"));
//! slot.resign().await?;
//!
//! // Only while healthy: the sender is the health check's.
//! let (health, healthy) = tokio::sync::watch::channel(true);
//! let role = RoleName::new("compactor")?;
//! let held = node.campaign_while_healthy(role, RoleValue::EMPTY, healthy.clone());
//! let held = tokio::time::timeout(Duration::from_secs(10), held).await??;
//! health.send_replace(false); // the check failed:
//! let mut healthy = healthy;
//! healthy.wait_for(|ok| !ok).await?; // stop the work, then
//! held.resign().await?; // hand the role on
//! node.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Handing a role over.** [`Leadership::transfer`] (or [`NodeHandle::transfer`]) gives
//! the role to a named node, as raft's leadership transfer does, for maintenance of the
//! holder: only once that node answers that it campaigns for the role, and then every
//! voter keeps its vote for it for an election timeout. A node that does not campaign
//! ([`RoleError::NotCandidate`]) or does not answer ([`RoleError::Unreachable`]) is
//! refused, and the role stays held.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Node, NodeName, RoleError, RoleName, NodeError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let start = |name: &str, join: Vec<std::net::SocketAddr>| {
//!     let mut config = Config::fast(NodeName::new(name).expect("a valid name"));
//!     config.bind = "127.0.0.1:0".parse().expect("an address");
//!     config.join = join;
//!     Node::start(config)
//! };
//! let a = start("a", vec![]).await?;
//! let b = start("b", vec![a.local_addr()]).await?;
//! let role = RoleName::new("scheduler")?;
//! let held = tokio::time::timeout(Duration::from_secs(10), a.campaign(role.clone())).await??;
//!
//! let waiting = tokio::spawn({
//!     let (b, role) = (b.clone(), role.clone());
//!     async move { b.campaign(role).await }
//! });
//! // Refused, with the role kept, until b campaigns.
//! while let Err(NodeError::Role(RoleError::NotCandidate { .. })) =
//!     held.transfer(b.id().name()).await
//! {
//!     tokio::time::sleep(Duration::from_millis(20)).await;
//! }
//! let b_holds = tokio::time::timeout(Duration::from_secs(10), waiting).await???;
//! assert!(b_holds.term() > held.term());
//! # a.shutdown().await;
//! # b.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! **Preferring a node.** [`NodeHandle::campaign_with_priority`] does the same on its
//! own, as client-go's `preferredHolder`: a holder of a lower priority hands the role to
//! a candidate that has waited for [`Config::preference_delay`] without a pause.
//!
//! ```
//! use std::time::Duration;
//! use polity::{Config, Node, NodeName, RoleName, RoleValue};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let start = |name: &str, join: Vec<std::net::SocketAddr>| {
//!     let mut config = Config::fast(NodeName::new(name).expect("a valid name"));
//!     config.bind = "127.0.0.1:0".parse().expect("an address");
//!     config.join = join;
//!     Node::start(config)
//! };
//! let small = start("small", vec![]).await?;
//! let big = start("big", vec![small.local_addr()]).await?;
//! let role = RoleName::new("scheduler")?;
//! let first = tokio::time::timeout(Duration::from_secs(10), small.campaign(role.clone())).await??;
//!
//! // The big box prefers itself: the small one hands the role over once it has waited.
//! let preferred = big.campaign_with_priority(role.clone(), RoleValue::EMPTY, 10);
//! let second = tokio::time::timeout(Duration::from_secs(10), preferred).await??;
//! assert!(second.term() > first.term());
//! assert!(first.is_lost());
//! # small.shutdown().await;
//! # big.shutdown().await;
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
pub mod histogram;
pub mod identity;
pub mod node;
pub mod quorum;
pub mod role_value;
#[cfg(feature = "sim")]
pub mod sim;
pub mod tags;
pub mod wire;

pub use clock::{LamportClock, LamportTime, LamportWindow};
pub use config::{Config, ConfigError, InvalidConfig, Profile};
pub use core::{
    Completion, Core, Durable, Event, ForceLeaveError, HeldRole, KeyAnswer, KeyRollout, LossReason,
    Member, MemberStatus, RequestId, RoleError, RoleState, Startup, Stats, Transmit,
};
pub use histogram::Histogram;
pub use identity::{InvalidName, NodeId, NodeName, RoleName};
pub use node::{Leadership, Node, NodeError, NodeHandle, Standing, StandingWatch, StartError};
pub use quorum::{Majority, QuorumFunc, QuorumPercentage, SimpleMajority, UnsafeQuorum};
pub use role_value::{MAX_ROLE_VALUE_LEN, RoleValue, ValueTooLarge};
pub use tags::{Tags, TagsError};
