//! A cluster of etcd members on loopback, and `etcdctl elect` against it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Result;
use crate::http::{self, get};
use crate::ports::free_ports;
use crate::proc::Proc;
use crate::wait::wait_until;

pub struct Etcd {
    logs: PathBuf,
    pub clients: Vec<String>,
    /// Reads the members' metrics.
    client: ureq::Agent,
    _members: Vec<Proc>,
}

impl Etcd {
    pub fn start(work: &Path, n: usize) -> Result<Self> {
        let logs = work.join("etcd");
        fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        // A new cluster each run: members refuse a data directory of another cluster.
        let _ = fs::remove_dir_all(work.join("etcd-data"));
        let free = free_ports(2 * n)?;
        let ports: Vec<(u16, u16)> = (0..n).map(|i| (free[i], free[n + i])).collect();
        let initial = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("e{i}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::new();
        for (i, (client, peer)) in ports.iter().enumerate() {
            let name = format!("e{i}");
            let data = work.join(format!("etcd-data/{name}"));
            let mut cmd = Command::new("etcd");
            cmd.args(["--name", &name])
                .arg(format!("--data-dir={}", data.display()))
                .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
                .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
                .arg(format!(
                    "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
                ))
                .arg(format!("--initial-cluster={initial}"))
                .args([
                    "--initial-cluster-state=new",
                    "--initial-cluster-token=bench",
                ]);
            members.push(Proc::spawn(&name, &mut cmd, &logs)?);
        }
        let clients: Vec<String> = ports
            .iter()
            .map(|(c, _)| format!("http://127.0.0.1:{c}"))
            .collect();
        let etcd = Etcd {
            logs,
            clients,
            client: http::client(),
            _members: members,
        };
        wait_until(Duration::from_secs(60), "etcd health", || {
            Command::new("etcdctl")
                .env("ETCDCTL_API", "3")
                .arg(format!("--endpoints={}", etcd.clients.join(",")))
                .args(["endpoint", "health"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })?;
        Ok(etcd)
    }

    /// `etcdctl elect NAME PROPOSAL` against member `i`, with its default session.
    pub fn elect(&self, i: usize, name: &str, proposal: &str, label: &str) -> Result<Proc> {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!(
                "--endpoints={}",
                self.clients[i % self.clients.len()]
            ))
            .args(["elect", name, proposal]);
        Proc::spawn(label, &mut cmd, &self.logs)
    }

    /// How many watches member `i` serves, from its metrics. `etcdctl elect` (the
    /// `concurrency` package's `Campaign`) watches the key ahead of its own in line
    /// while it waits, and cancels the watch once that key is gone.
    pub fn watchers(&self, i: usize) -> Result<u64> {
        let url = format!("{}/metrics", self.clients[i % self.clients.len()]);
        let (status, body) = get(&self.client, &url)?;
        body.lines()
            .find_map(|l| l.strip_prefix("etcd_debugging_mvcc_watcher_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
            .ok_or_else(|| format!("GET {url}: {status}, no etcd_debugging_mvcc_watcher_total"))
    }
}
