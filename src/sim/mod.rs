//! A deterministic simulator of many [`Core`](crate::Core)s on one virtual network
//! (feature `sim`).
//!
//! Time is virtual: nothing sleeps, and a minute of cluster life takes milliseconds.
//! Every node has its own clock rate (drift); the network loses, delays, duplicates and
//! reorders datagrams and can be cut, also one way; nodes can crash, restart and pause.
//! All randomness flows from one seed, so a seed replays exactly, down to the byte of the
//! [trace](Sim::trace). [`for_each_seed`] runs a scenario over many seeds and names the
//! first failing one.
//!
//! ```
//! use std::time::Duration;
//! use polity::sim::{Sim, SimConfig};
//!
//! let mut sim = Sim::new(SimConfig::lan(5, 42));
//! let took = sim.run_until(Duration::from_secs(30), |sim| sim.converged());
//! assert!(took.is_some(), "5 nodes should converge");
//! sim.crash(4);
//! let bound = sim.config(0).failure_detection_bound(5);
//! assert!(sim.run_until(bound, |sim| sim.all_see_down(4)).is_some());
//! ```

mod checker;
mod clock;
mod draws;
mod network;
mod seeds;
mod simulator;

pub use draws::Draws;
pub use network::Faults;
pub use seeds::{for_each_seed, sweep_seeds};
pub use simulator::{Sim, SimConfig};
