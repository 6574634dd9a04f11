//! Faults that hold `campaign` up without touching CMD: `campaign` alone frozen, and a
//! host with more busy processes than cores.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};

use super::netns::checker::uptime_now;
use super::{Cluster, GUARD, LEASE_CS, Measure, command_of, held_within};

impl Cluster<'_> {
    /// SIGSTOP of the holder's `campaign` alone for two leases, while CMD (in the
    /// watchdog's process group) keeps running: the watchdog must kill CMD at the
    /// holder's deadline, before another node's CMD starts. Then SIGCONT.
    pub(super) fn freeze_campaign_alone(&mut self) {
        let fault = "SIGSTOP of the holder's campaign alone for 2 leases";
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let campaign = self.nodes[holder.host].pid();
        let group = command_of(campaign).expect("the holder's CMD is running");
        let began = Instant::now();
        let injected = uptime_now();
        kill(campaign, Signal::SIGSTOP).expect("campaign can be stopped");
        self.journal.push((
            injected,
            format!(
                "SIGSTOP {}'s campaign alone (term {})",
                holder.node, holder.term
            ),
        ));
        let successor = self.successor(&holder, injected, GUARD);
        // CMD is gone while campaign is still stopped: nothing but the watchdog killed it.
        let gone = !super::group_alive(group);
        let hold = Duration::from_millis(2 * LEASE_CS * 10);
        std::thread::sleep(hold.saturating_sub(began.elapsed()));
        let resumed = uptime_now();
        kill(campaign, Signal::SIGCONT).expect("campaign can be resumed");
        self.journal
            .push((resumed, format!("SIGCONT {}'s campaign", holder.node)));
        assert!(
            gone,
            "{}'s CMD outlived its deadline while campaign was stopped",
            holder.node
        );
        self.measures.push(Measure {
            fault: fault.to_owned(),
            holder: holder.node,
            injected,
            successor,
            bound: Some(super::FAILOVER_BOUND_CS),
            detail: "CMD killed by the watchdog while campaign was stopped".into(),
        });
        self.settled_holder(&format!("SIGCONT ({fault})"));
    }

    /// Three busy processes per core for 30 s: the role must not move, and nothing may
    /// overlap.
    pub(super) fn overload_cpu(&mut self) {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let fault = format!("{} busy processes on {cores} cores for 30 s", 3 * cores);
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let injected = uptime_now();
        let mut burners: Vec<Child> = (0..3 * cores)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", "while :; do :; done"])
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("a busy loop starts")
            })
            .collect();
        self.journal.push((injected, fault.clone()));
        std::thread::sleep(Duration::from_secs(30));
        for burner in &mut burners {
            let _ = burner.kill();
            let _ = burner.wait();
        }
        let ended = uptime_now();
        self.journal.push((ended, format!("ended the {fault}")));
        let timeline = self.timeline();
        let during: Vec<_> = timeline.started_within(injected, ended).collect();
        let held = held_within(&timeline, injected, ended);
        assert!(
            during.is_empty(),
            "the role moved under CPU overload alone: {} new term(s)",
            during.len()
        );
        self.measures.push(Measure {
            fault,
            holder: holder.node,
            injected,
            successor: None,
            bound: None,
            detail: format!(
                "no new term; the role held {:.1}% of the time",
                100.0 * held as f64 / (ended - injected).max(1) as f64
            ),
        });
        self.settled_holder("the CPU overload");
    }
}
