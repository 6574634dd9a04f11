//! A cluster of serf agents on loopback, and its failover trial.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::Result;
use crate::ports::free_ports;
use crate::proc::{Proc, first_line};
use crate::wait::wait_until;

/// One serf agent: its node name, the port it gossips on and the port of its RPC.
pub struct SerfNode {
    name: String,
    bind: u16,
    rpc: u16,
    pub proc: Proc,
}

pub struct Serf {
    logs: PathBuf,
    pub nodes: Vec<SerfNode>,
}

impl Serf {
    pub fn start(work: &Path, n: usize) -> Result<Self> {
        let logs = work.join(format!("serf-{n}"));
        fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        let mut serf = Serf {
            logs,
            nodes: Vec::new(),
        };
        let free = free_ports(2 * n)?;
        let seeds: Vec<u16> = free.iter().take(3).copied().collect();
        for i in 0..n {
            let (bind, rpc) = (free[i], free[n + i]);
            let name = format!("s{i}");
            let proc = serf.spawn(&name, bind, rpc, &seeds)?;
            serf.nodes.push(SerfNode {
                name,
                bind,
                rpc,
                proc,
            });
        }
        serf.settle()?;
        Ok(serf)
    }

    fn spawn(&self, name: &str, bind: u16, rpc: u16, seeds: &[u16]) -> Result<Proc> {
        let mut cmd = Command::new("serf");
        cmd.args(["agent", "-node", name, "-profile", "lan"])
            .arg(format!("-bind=127.0.0.1:{bind}"))
            .arg(format!("-rpc-addr=127.0.0.1:{rpc}"));
        for s in seeds.iter().filter(|s| **s != bind) {
            cmd.arg(format!("-retry-join=127.0.0.1:{s}"))
                .arg("-retry-interval=1s");
        }
        Proc::spawn(name, &mut cmd, &self.logs)
    }

    fn alive_seen_by(&self, i: usize) -> usize {
        let out = Command::new("serf")
            .args(["members", "-status=alive", "-format=json"])
            .arg(format!("-rpc-addr=127.0.0.1:{}", self.nodes[i].rpc))
            .stderr(Stdio::null())
            .output();
        let Ok(out) = out else { return 0 };
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["members"].as_array().map(Vec::len))
            .unwrap_or(0)
    }

    fn settle(&self) -> Result<()> {
        let n = self.nodes.len();
        wait_until(Duration::from_secs(120), "serf membership", || {
            (0..n).all(|i| self.alive_seen_by(i) == n)
        })
    }
}

/// serf: kill -9 one agent; time until the first other agent logs that it failed.
pub fn serf_failover(work: &Path, trials: usize) -> Result<Vec<Duration>> {
    let mut s = Serf::start(work, 5)?;
    let seeds: Vec<u16> = s.nodes.iter().take(3).map(|n| n.bind).collect();
    let mut samples = Vec::new();
    for trial in 0..trials {
        let victim = trial % 5;
        thread::sleep(Duration::from_secs(1));
        for node in &s.nodes {
            node.proc.drain();
        }
        let killed_at = s.nodes[victim].proc.kill9();
        let wanted = format!("EventMemberFailed: {} ", s.nodes[victim].name);
        let others: Vec<&Proc> = s
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, n)| &n.proc)
            .collect();
        let (_, failed_at, _) =
            first_line(&others, Duration::from_secs(60), |l| l.contains(&wanted))
                .map_err(|e| format!("serf failover trial {trial}: {e}"))?;
        samples.push(failed_at - killed_at);
        let node = &s.nodes[victim];
        let proc = s.spawn(&node.name, node.bind, node.rpc, &seeds)?;
        s.nodes[victim].proc = proc;
        s.settle()?;
    }
    Ok(samples)
}
