//! The faults that cut the holder off or kill it: SIGKILL and restart, SIGSTOP of the
//! whole holder, a partition with the holder in the minority, a one-way partition, loss.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};

use super::netns::checker::{Ending, Pause, uptime_now};
use super::{
    Cluster, FAILOVER_BOUND_CS, GUARD, HOSTS, LEASE_CS, Measure, Resume, command_of, held_within,
    signalled,
};

impl Cluster<'_> {
    /// SIGKILL of the holder's `campaign` (its CMD dies of the parent-death signal), the
    /// failover, and a restart of the killed node.
    pub(super) fn crash_holder(&mut self, fault: &str) {
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let pid = self.nodes[holder.host].pid();
        let injected = uptime_now();
        kill(pid, Signal::SIGKILL).expect("the holder's campaign can be killed");
        self.done.kills.push((holder.node.clone(), injected));
        self.journal.push((
            injected,
            format!("SIGKILL {} (term {})", holder.node, holder.term),
        ));
        if let Some(mut child) = self.nodes[holder.host].child.take() {
            let _ = child.wait();
        }
        let successor = self.successor(&holder, injected, GUARD);
        self.spawn(holder.host);
        self.wait_joined(holder.host);
        self.note(format!("{} rejoined", holder.node));
        self.measures.push(Measure {
            fault: fault.to_owned(),
            holder: holder.node,
            injected,
            successor,
            bound: Some(FAILOVER_BOUND_CS),
            detail: "killed node restarted and rejoined".into(),
        });
        self.settled_holder(&format!("the restart after {fault}"));
    }

    /// SIGSTOP of the holder's `campaign` and CMD's process group for two leases, the
    /// failover, then SIGCONT.
    pub(super) fn pause_holder(&mut self, resume: Resume) {
        let fault = match resume {
            Resume::CampaignFirst => "SIGSTOP of the holder for 2 leases; campaign resumed first",
            Resume::Together => "SIGSTOP of the holder for 2 leases; resumed together",
        };
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let campaign = self.nodes[holder.host].pid();
        let cmd = command_of(campaign).expect("the holder's CMD is running");
        let began = Instant::now();
        let injected = uptime_now();
        kill(campaign, Signal::SIGSTOP).expect("campaign can be stopped");
        killpg(cmd, Signal::SIGSTOP).expect("CMD's process group can be stopped");
        let stopped_at = uptime_now();
        self.journal.push((
            injected,
            format!("SIGSTOP {} (term {})", holder.node, holder.term),
        ));
        let successor = self.successor(&holder, injected, GUARD);
        let hold = Duration::from_millis(2 * LEASE_CS * 10);
        std::thread::sleep(hold.saturating_sub(began.elapsed()));
        let detail;
        let resumed_at = match resume {
            Resume::Together => {
                let resumed_at = uptime_now();
                kill(campaign, Signal::SIGCONT).expect("campaign can be resumed");
                killpg(cmd, Signal::SIGCONT).expect("CMD's process group can be resumed");
                self.journal
                    .push((resumed_at, format!("SIGCONT {} and its CMD", holder.node)));
                detail = String::new();
                resumed_at
            }
            Resume::CampaignFirst => {
                let campaign_resumed = uptime_now();
                kill(campaign, Signal::SIGCONT).expect("campaign can be resumed");
                self.journal.push((
                    campaign_resumed,
                    format!("SIGCONT {}'s campaign", holder.node),
                ));
                let deadline = Instant::now() + GUARD;
                let in_time = loop {
                    if signalled(cmd) {
                        break true;
                    }
                    if Instant::now() >= deadline {
                        break false;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                let resumed_at = uptime_now();
                let _ = killpg(cmd, Signal::SIGCONT);
                self.journal
                    .push((resumed_at, format!("SIGCONT {}'s CMD", holder.node)));
                assert!(
                    in_time,
                    "waited {GUARD:?} for {}'s campaign to signal its CMD after resuming",
                    holder.node
                );
                detail = format!(
                    "campaign signalled its CMD {} ms after resuming",
                    (resumed_at - campaign_resumed) * 10
                );
                resumed_at
            }
        };
        self.done.pauses.push(Pause {
            node: holder.node.clone(),
            stopped_at,
            resumed_at,
            together: resume == Resume::Together,
        });
        let what = format!("{}'s CMD to stop after resuming", holder.node);
        let ended = self.wait_for(&what, |timeline| {
            let run = timeline
                .runs
                .iter()
                .find(|run| run.node == holder.node && run.term == holder.term)?;
            (run.ending != Ending::Running).then(|| {
                let ticks: usize = run.ticks_after_resume.iter().map(|(_, n)| n).sum();
                (run.end.saturating_sub(resumed_at), ticks)
            })
        });
        let detail = format!(
            "{detail}{}old CMD ended {} ms after its resume, {} tick(s) after it",
            if detail.is_empty() { "" } else { "; " },
            ended.0 * 10,
            ended.1
        );
        self.measures.push(Measure {
            fault: fault.to_owned(),
            holder: holder.node,
            injected,
            successor,
            bound: Some(FAILOVER_BOUND_CS),
            detail,
        });
        self.settled_holder(&format!("SIGCONT ({fault})"));
    }

    /// A partition into 3 and 2 hosts, the holder and the next host the minority, for
    /// four leases; then healed.
    pub(super) fn partition_holder_in_minority(&mut self) {
        let fault = "partition 3 : 2, the holder among the 2";
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let minority = [holder.host, (holder.host + 1) % HOSTS];
        let majority: Vec<usize> = (0..HOSTS).filter(|i| !minority.contains(i)).collect();
        let addrs = |hosts: &[usize]| hosts.iter().map(|&i| self.network.addr(i)).collect();
        let (minority_addrs, majority_addrs): (Vec<_>, Vec<_>) =
            (addrs(&minority), addrs(&majority));
        let began = Instant::now();
        let injected = uptime_now();
        for &i in &minority {
            self.network.drop_from(i, &majority_addrs);
        }
        for &i in &majority {
            self.network.drop_from(i, &minority_addrs);
        }
        self.journal.push((
            injected,
            format!(
                "partition {minority:?} | {majority:?} (holder {})",
                holder.node
            ),
        ));
        let successor = self.successor(&holder, injected, GUARD);
        let window = Duration::from_millis(4 * LEASE_CS * 10);
        let healed = self.hold_then_heal(began, window, "healed the partition".into());
        let minority_names: Vec<String> = minority
            .iter()
            .map(|i| self.nodes[*i].name.clone())
            .collect();
        let elected_in_minority: Vec<String> = self
            .timeline()
            .started_within(injected, healed)
            .filter(|run| minority_names.contains(&run.node))
            .map(|run| format!("{} term {} at {}", run.node, run.term, run.start))
            .collect();
        assert!(
            elected_in_minority.is_empty(),
            "the minority elected: {elected_in_minority:?}"
        );
        self.measures.push(Measure {
            fault: fault.into(),
            holder: holder.node,
            injected,
            successor,
            bound: Some(FAILOVER_BOUND_CS),
            detail: format!("held {} s; no start in the minority", window.as_secs()),
        });
        self.settled_holder(&format!("healing the {fault}"));
    }

    /// The holder hears nothing for eight leases while its datagrams still arrive;
    /// then healed.
    pub(super) fn deafen_holder(&mut self) {
        let fault = "one-way partition: the holder receives nothing";
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let others: Vec<_> = (0..HOSTS)
            .filter(|&i| i != holder.host)
            .map(|i| self.network.addr(i))
            .collect();
        let began = Instant::now();
        let injected = uptime_now();
        self.network.drop_from(holder.host, &others);
        self.journal
            .push((injected, format!("{} hears nothing", holder.node)));
        let window = Duration::from_millis(8 * LEASE_CS * 10);
        let successor = self.successor(&holder, injected, window.saturating_sub(began.elapsed()));
        let healed = self.hold_then_heal(began, window, "healed the one-way partition".into());
        let successor = successor.or_else(|| self.successor(&holder, injected, GUARD));
        let detail = match &successor {
            Some((_, start)) if *start < healed => format!("held {} s", window.as_secs()),
            _ => format!("held {} s; no new holder until healed", window.as_secs()),
        };
        self.measures.push(Measure {
            fault: fault.into(),
            holder: holder.node,
            injected,
            successor,
            bound: None,
            detail,
        });
        self.settled_holder(&format!("healing the {fault}"));
    }

    /// Every host drops each datagram it receives with `probability`, for ten leases;
    /// then healed.
    pub(super) fn lose_datagrams(&mut self, probability: f64) {
        let fault = format!("{:.0}% loss on every host", probability * 100.0);
        let holder = self.settled_holder(&format!("the fault before: {fault}"));
        let began = Instant::now();
        let injected = uptime_now();
        for i in 0..HOSTS {
            self.network.drop_randomly(i, probability);
        }
        self.journal.push((injected, fault.clone()));
        let window = Duration::from_millis(10 * LEASE_CS * 10);
        let healed = self.hold_then_heal(began, window, format!("healed the {fault}"));
        let timeline = self.timeline();
        let during: Vec<_> = timeline.started_within(injected, healed).collect();
        let held = held_within(&timeline, injected, healed);
        let successor = during.first().map(|run| (run.node.clone(), run.start));
        self.measures.push(Measure {
            fault: fault.clone(),
            holder: holder.node,
            injected,
            successor,
            bound: None,
            detail: format!(
                "held {} s: {} new term(s), the role held {:.1}% of the time",
                window.as_secs(),
                during.len(),
                100.0 * held as f64 / (healed - injected) as f64
            ),
        });
        self.settled_holder(&format!("healing the {fault}"));
    }

    /// Sleeps out the fault's `window`, counted from `began`, then removes every rule and
    /// journals `what` at the time read right before; returns that time.
    pub(super) fn hold_then_heal(&mut self, began: Instant, window: Duration, what: String) -> u64 {
        std::thread::sleep(window.saturating_sub(began.elapsed()));
        let healed = uptime_now();
        self.network.heal();
        self.journal.push((healed, what));
        healed
    }
}
