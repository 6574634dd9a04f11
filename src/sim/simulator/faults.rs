//! The faults a test injects: crashes and restarts, pauses, leaving, partitions (also
//! one way), loss and reordering, clocks that run fast or slow.

use std::time::Duration;

use super::{Sim, What};
use crate::core::ForceLeaveError;
use crate::sim::network::Faults;

impl Sim {
    /// Crashes node `i`: it stops at once, says nothing, and loses its memory.
    /// What the node kept on disk (the Lamport clock and the electorate it knew) survives,
    /// as a node with a state directory keeps it.
    pub fn crash(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        if let Some(core) = node.core.take() {
            node.disk = Some(core.durable());
        }
        node.paused = false;
        node.backlog.clear();
        node.wake_token += 1;
        node.wake_at = None;
        self.checker.release_others(self.now, i, &[]);
        self.checker.crashed(i);
        self.network_changed = self.now;
        self.log(format_args!("crash n{i}"));
    }

    /// Restarts a crashed node with a fresh core (a new generation, same name and address).
    pub fn restart(&mut self, i: usize) {
        if self.nodes[i].core.is_some() {
            self.crash(i);
        }
        self.start(i);
    }

    /// Freezes node `i` for `how_long`: it handles nothing, and datagrams sent to it wait
    /// in its socket buffer until it resumes, as with SIGSTOP and SIGCONT.
    pub fn pause(&mut self, i: usize, how_long: Duration) {
        if self.nodes[i].core.is_none() {
            return;
        }
        if !self.nodes[i].paused {
            self.nodes[i].paused = true;
            self.nodes[i].last_pause = (self.now, self.now);
        }
        self.network_changed = self.now;
        let at = self.now + how_long;
        self.push(at, What::Resume { node: i });
        self.log(format_args!("pause n{i} for {how_long:?}"));
    }

    /// Node `i` leaves gracefully; it is then gone, as a stopped process is.
    pub fn leave(&mut self, i: usize) {
        let local = self.local_now(i);
        if let Some(core) = self.nodes[i].core.as_mut() {
            core.leave(local);
        }
        self.log(format_args!("leave n{i}"));
        self.after_input(i);
        self.crash(i);
        self.nodes[i].left = true;
    }

    /// Asks node `by` to force-leave node `target`.
    pub fn force_leave(&mut self, by: usize, target: usize) -> Result<(), ForceLeaveError> {
        let name = self.name(target);
        let local = self.local_now(by);
        let result = match self.nodes[by].core.as_mut() {
            Some(core) => core.force_leave(local, &name),
            None => Ok(()),
        };
        self.log(format_args!("force-leave n{target} by n{by}: {result:?}"));
        self.after_input(by);
        result
    }

    /// Cuts the network between the groups `a` and `b`, both ways.
    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        self.network.cut(a, b);
        self.network.cut(b, a);
        self.network_changed = self.now;
        self.log(format_args!("partition {a:?} | {b:?}"));
    }

    /// Cuts the links from every node in `from` to every node in `to`, one way only.
    pub fn cut_one_way(&mut self, from: &[usize], to: &[usize]) {
        self.network.cut(from, to);
        self.network_changed = self.now;
        self.log(format_args!("cut {from:?} -> {to:?}"));
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.network.heal();
        self.network_changed = self.now;
        self.log(format_args!("heal"));
    }

    /// Replaces the network faults.
    pub fn set_faults(&mut self, faults: Faults) {
        self.log(format_args!("faults {faults:?}"));
        self.network.faults = faults;
    }

    /// Makes node `i`'s clock run at `rate` times true time from now on (1.1 = 10% fast).
    ///
    /// # Panics
    /// If `rate` is not within 0.1 to 10.
    pub fn set_clock_rate(&mut self, i: usize, rate: f64) {
        assert!(
            (0.1..=10.0).contains(&rate),
            "clock rate {rate} out of 0.1..=10"
        );
        self.nodes[i].clock.set_rate(self.now, rate);
        self.log(format_args!("rate n{i} {rate}"));
        self.reschedule(i);
    }
}
