//! A cluster of polity agents on loopback, and the calls the trials make of it.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;
use crate::http::{self, get, post};
use crate::ports::free_ports;
use crate::proc::Proc;
use crate::wait::wait_until;

pub struct PolityAgent {
    pub proc: Proc,
    pub name: String,
    udp: SocketAddr,
    http: SocketAddr,
}

/// What every agent of a cluster is started with, beyond its name and addresses.
#[derive(Default)]
pub struct AgentSetup {
    /// Names the cluster's log folder, after its profile and size.
    pub label: &'static str,
    /// More flags.
    pub flags: Vec<String>,
    /// `RUST_LOG`, instead of the one this program was given.
    pub log_filter: Option<&'static str>,
}

/// The token of every agent's API (their API is on TCP, for this program's client).
const TOKEN: &str = "bench-token-0123456789";

pub struct Polity<'a> {
    bin: &'a Path,
    logs: PathBuf,
    profile: &'a str,
    setup: AgentSetup,
    join: Vec<SocketAddr>,
    pub agents: Vec<PolityAgent>,
    pub client: ureq::Agent,
    pub lease: Duration,
}

impl<'a> Polity<'a> {
    /// Starts `n` agents; every one joins through the first three.
    pub fn start(bin: &'a Path, work: &Path, profile: &'a str, n: usize) -> Result<Self> {
        Self::start_with(bin, work, profile, n, AgentSetup::default())
    }

    /// Starts `n` agents as `setup` says; every one joins through the first three.
    pub fn start_with(
        bin: &'a Path,
        work: &Path,
        profile: &'a str,
        n: usize,
        setup: AgentSetup,
    ) -> Result<Self> {
        let logs = work.join(format!("polity-{profile}-{n}{}", setup.label));
        fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        let ports = free_ports(n)?;
        let join = ports
            .iter()
            .take(3)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect();
        let name = polity::NodeName::new("bench").map_err(|e| e.to_string())?;
        let lease = polity::Config::new(name, profile.parse()?).lease;
        let mut cluster = Polity {
            bin,
            logs,
            profile,
            setup,
            join,
            agents: Vec::new(),
            client: http::client_with_token(TOKEN),
            lease,
        };
        for (i, port) in ports.into_iter().enumerate() {
            let agent = cluster.spawn(&format!("p{i}"), port)?;
            cluster.agents.push(agent);
        }
        cluster.settle()?;
        Ok(cluster)
    }

    fn spawn(&self, name: &str, port: u16) -> Result<PolityAgent> {
        let token_file = self.logs.join("api-token");
        fs::write(&token_file, TOKEN).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(self.bin);
        cmd.args(["agent", "--name", name, "--profile", self.profile])
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--http",
                "127.0.0.1:0",
            ])
            .arg("--http-token-file")
            .arg(&token_file);
        for j in &self.join {
            cmd.args(["--join", &j.to_string()]);
        }
        cmd.args(&self.setup.flags);
        if let Some(filter) = self.setup.log_filter {
            cmd.env("RUST_LOG", filter);
        }
        let proc = Proc::spawn(name, &mut cmd, &self.logs)?;
        let (_, udp) = proc.wait_line(Duration::from_secs(10), |l| l.starts_with("udp: "))?;
        let (_, http) = proc.wait_line(Duration::from_secs(10), |l| l.starts_with("http: "))?;
        let parse = |s: &str| {
            s[s.find(' ').unwrap_or(0) + 1..]
                .trim()
                .parse::<SocketAddr>()
        };
        Ok(PolityAgent {
            proc,
            name: name.to_string(),
            udp: parse(&udp).map_err(|e| format!("{udp}: {e}"))?,
            http: parse(&http).map_err(|e| format!("{http}: {e}"))?,
        })
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("http://{}/v1{path}", self.agents[i].http)
    }

    /// How many members agent `i` sees alive.
    fn alive_seen_by(&self, i: usize) -> usize {
        let Ok((200, body)) = get(&self.client, &self.url(i, "/members")) else {
            return 0;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
            return 0;
        };
        v["members"]
            .as_array()
            .map_or(0, |m| m.iter().filter(|m| m["status"] == "alive").count())
    }

    /// Waits until every agent sees every agent alive, then two leases (the quiet time
    /// after a start, during which a node grants no vote).
    pub fn settle(&self) -> Result<()> {
        let n = self.agents.len();
        wait_until(Duration::from_secs(120), "polity membership", || {
            (0..n).all(|i| self.alive_seen_by(i) == n)
        })?;
        thread::sleep(2 * self.lease);
        Ok(())
    }

    /// Elects `role` on agent `i`, retrying while the cluster is not ready.
    pub fn elect(&self, i: usize, role: &str) -> Result<()> {
        let url = self.url(i, &format!("/roles/{role}/elect"));
        elect_at(&self.client, &url)
    }

    /// `polity elect ROLE --wait` against agent `i`.
    pub fn waiter(&self, i: usize, role: &str, label: &str) -> Result<Proc> {
        let mut cmd = Command::new(self.bin);
        cmd.args([
            "elect",
            role,
            "--wait",
            "--http",
            &self.agents[i].http.to_string(),
        ])
        .env("POLITY_HTTP_TOKEN", TOKEN);
        Proc::spawn(label, &mut cmd, &self.logs)
    }

    pub fn restart(&mut self, i: usize) -> Result<()> {
        let name = self.agents[i].name.clone();
        let agent = self.spawn(&name, self.agents[i].udp.port())?;
        self.agents[i] = agent;
        Ok(())
    }
}

/// Asks for the election at `url` (`.../roles/ROLE/elect`) until it is won, for 30 s.
pub fn elect_at(client: &ureq::Agent, url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = post(client, url, "")?;
        if status == 200 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("{url}: {status} {body}"));
        }
        thread::sleep(Duration::from_millis(100));
    }
}
