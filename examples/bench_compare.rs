//! Side-by-side measurements of polity, serf and etcd as real processes on loopback.
//! `bench/run.sh` builds and runs this; see BENCHMARKS.md for what each figure means.
//!
//! `bench_compare --polity PATH --work DIR [--trials 30] [--handoffs 100]
//!  [--elections 1000] [--idle-secs 30] [--only failover,handoff,election,idle]`
//!
//! Every time is taken the same way for every system: the instant just before this
//! program sends the signal or request that starts the trial, to the instant a reader
//! thread reads the line of output (or the HTTP answer) that ends it.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

type Result<T> = std::result::Result<T, String>;

// ---- processes ----------------------------------------------------------------------

/// A line of output and when it was read.
type Line = (Instant, String);

/// A child process whose stdout and stderr are read by threads that timestamp each line
/// and copy it to a log file. Killed when dropped.
struct Proc {
    label: String,
    child: Child,
    lines: Receiver<Line>,
    dead: bool,
}

impl Proc {
    fn spawn(label: &str, cmd: &mut Command, logs: &Path) -> Result<Proc> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{label}: cannot start {cmd:?}: {e}"))?;
        let (tx, rx) = channel();
        let log = logs.join(format!("{label}.log"));
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        let err = child.stderr.take().ok_or("no stderr")?;
        read_lines(out, tx.clone(), log.try_clone().map_err(|e| e.to_string())?);
        read_lines(err, tx, log);
        Ok(Proc {
            label: label.to_string(),
            child,
            lines: rx,
            dead: false,
        })
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends SIGKILL; returns the instant just before.
    fn kill9(&mut self) -> Instant {
        let at = Instant::now();
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.dead = true;
        at
    }

    /// Sends `signal`; returns the instant just before.
    fn signal(&self, signal: Signal) -> Instant {
        let at = Instant::now();
        let _ = kill(Pid::from_raw(self.pid()), signal);
        at
    }

    /// The next line that satisfies `pred`, within `timeout`.
    fn wait_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<Line> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if pred(&line) => return Ok((at, line)),
                Ok(_) => {}
                Err(_) => return Err(format!("{}: no expected line in {timeout:?}", self.label)),
            }
        }
    }

    /// Drops buffered lines.
    fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.dead {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read_lines(stream: impl Read + Send + 'static, tx: Sender<Line>, mut log: File) {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let at = Instant::now();
            let _ = writeln!(log, "{line}");
            let _ = tx.send((at, line));
        }
    });
}

/// The first line, among `procs`, that satisfies `pred`: (index, instant, line).
fn first_line(
    procs: &[&Proc],
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Result<(usize, Instant, String)> {
    let deadline = Instant::now() + timeout;
    let mut best: Option<(usize, Instant, String)> = None;
    loop {
        for (i, p) in procs.iter().enumerate() {
            while let Ok((at, line)) = p.lines.try_recv() {
                if pred(&line) && best.as_ref().is_none_or(|(_, b, _)| at < *b) {
                    best = Some((i, at, line));
                }
            }
        }
        if let Some(found) = best {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            return Err(format!("no expected line in {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// `n` distinct ports free for both UDP and TCP (serf listens on both; polity's agents
/// take UDP, etcd TCP). Every socket stays open until all are found, so no port is
/// handed out twice.
fn free_ports(n: usize) -> Result<Vec<u16>> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut tries = 0;
    while ports.len() < n {
        tries += 1;
        if tries > 100 * n + 100 {
            return Err("not enough ports free for both UDP and TCP".into());
        }
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            held.push((udp, tcp));
            ports.push(port);
        }
    }
    Ok(ports)
}

fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

// ---- HTTP ---------------------------------------------------------------------------

fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<(u16, String)> {
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body);
    status_and_body(&format!("POST {url}"), response)
}

fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, String)> {
    status_and_body(&format!("GET {url}"), agent.get(url).call())
}

/// The status and body of the answer to `request`.
fn status_and_body(
    request: &str,
    response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String)> {
    let mut response = response.map_err(|e| format!("{request}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{request}: {e}"))?;
    Ok((status, body))
}

// ---- statistics ---------------------------------------------------------------------

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Prints one result row, markdown: what, system, samples, p50, p99, max.
fn report(what: &str, system: &str, mut samples: Vec<Duration>) {
    samples.sort();
    if samples.is_empty() {
        println!("| {what} | {system} | 0 | - | - | - |");
        return;
    }
    println!(
        "| {what} | {system} | {} | {} | {} | {} |",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    );
}

// ---- polity -------------------------------------------------------------------------

struct PolityAgent {
    proc: Proc,
    name: String,
    udp: SocketAddr,
    http: SocketAddr,
}

struct Polity<'a> {
    bin: &'a Path,
    logs: PathBuf,
    profile: &'a str,
    /// More flags for every agent.
    extra: Vec<String>,
    join: Vec<SocketAddr>,
    agents: Vec<PolityAgent>,
    client: ureq::Agent,
    lease: Duration,
}

impl<'a> Polity<'a> {
    /// Starts `n` agents; every one joins through the first three.
    fn start(bin: &'a Path, work: &Path, profile: &'a str, n: usize) -> Result<Self> {
        Self::start_with(bin, work, profile, n, "", Vec::new())
    }

    /// Starts `n` agents with the flags `extra` each; `label` names their log folder.
    fn start_with(
        bin: &'a Path,
        work: &Path,
        profile: &'a str,
        n: usize,
        label: &str,
        extra: Vec<String>,
    ) -> Result<Self> {
        let logs = work.join(format!("polity-{profile}-{n}{label}"));
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
            extra,
            join,
            agents: Vec::new(),
            client: http(),
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
        let mut cmd = Command::new(self.bin);
        cmd.args(["agent", "--name", name, "--profile", self.profile])
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--http",
                "127.0.0.1:0",
            ]);
        for j in &self.join {
            cmd.args(["--join", &j.to_string()]);
        }
        cmd.args(&self.extra);
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

    fn url(&self, i: usize, path: &str) -> String {
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
    fn settle(&self) -> Result<()> {
        let n = self.agents.len();
        wait_until(Duration::from_secs(120), "polity membership", || {
            (0..n).all(|i| self.alive_seen_by(i) == n)
        })?;
        thread::sleep(2 * self.lease);
        Ok(())
    }

    /// Elects `role` on agent `i`, retrying while the cluster is not ready.
    fn elect(&self, i: usize, role: &str) -> Result<()> {
        let url = self.url(i, &format!("/roles/{role}/elect"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = post(&self.client, &url, "")?;
            if status == 200 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "elect {role} on {}: {status} {body}",
                    self.agents[i].name
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `polity elect ROLE --wait` against agent `i`.
    fn waiter(&self, i: usize, role: &str, label: &str) -> Result<Proc> {
        let mut cmd = Command::new(self.bin);
        cmd.args([
            "elect",
            role,
            "--wait",
            "--http",
            &self.agents[i].http.to_string(),
        ]);
        Proc::spawn(label, &mut cmd, &self.logs)
    }

    fn restart(&mut self, i: usize) -> Result<()> {
        let name = self.agents[i].name.clone();
        let agent = self.spawn(&name, self.agents[i].udp.port())?;
        self.agents[i] = agent;
        Ok(())
    }
}

/// Failover: kill -9 the holder while the other four wait with `polity elect --wait`;
/// time until the first of them prints the term it won.
fn polity_failover(bin: &Path, work: &Path, profile: &str, trials: usize) -> Result<Vec<Duration>> {
    let mut c = Polity::start(bin, work, profile, 5)?;
    let role = "failover";
    c.elect(0, role)?;
    let mut holder = 0;
    let mut waiters: HashMap<usize, Proc> = HashMap::new();
    for i in 1..5 {
        waiters.insert(i, c.waiter(i, role, &format!("wait-{i}-0"))?);
    }
    let mut samples = Vec::new();
    for trial in 0..trials {
        thread::sleep(c.lease + Duration::from_millis(500));
        let killed_at = c.agents[holder].proc.kill9();
        let order: Vec<usize> = waiters.keys().copied().collect();
        let procs: Vec<&Proc> = order.iter().map(|i| &waiters[i]).collect();
        let (w, won_at, _) = first_line(&procs, Duration::from_secs(60), |l| {
            l.trim().parse::<u64>().is_ok()
        })
        .map_err(|e| format!("polity {profile} failover trial {trial}: {e}"))?;
        samples.push(won_at - killed_at);
        let winner = order[w];
        waiters.remove(&winner);
        c.restart(holder)?;
        c.settle()?;
        waiters.insert(
            holder,
            c.waiter(holder, role, &format!("wait-{holder}-{}", trial + 1))?,
        );
        holder = winner;
    }
    Ok(samples)
}

/// Handoff: the holder resigns through the API while a second agent waits with
/// `polity elect --wait`; time until the waiter prints the term it won.
fn polity_handoff(bin: &Path, work: &Path, trials: usize) -> Result<Vec<Duration>> {
    let c = Polity::start(bin, work, "lan", 5)?;
    let role = "handoff";
    c.elect(0, role)?;
    let mut holder = 0;
    let mut samples = Vec::new();
    for trial in 0..trials {
        let next = (holder + 1) % 5;
        let waiter = c.waiter(next, role, &format!("handoff-{trial}"))?;
        thread::sleep(Duration::from_millis(500));
        let resigned_at = Instant::now();
        let (status, body) = post(
            &c.client,
            &c.url(holder, &format!("/roles/{role}/resign")),
            "",
        )?;
        if status != 200 {
            return Err(format!("resign: {status} {body}"));
        }
        let (won_at, _) = waiter
            .wait_line(Duration::from_secs(30), |l| l.trim().parse::<u64>().is_ok())
            .map_err(|e| format!("polity handoff trial {trial}: {e}"))?;
        samples.push(won_at - resigned_at);
        holder = next;
    }
    Ok(samples)
}

/// Uncontended election latency: `POST /v1/roles/ROLE/elect` on one agent, a new role
/// each time, resigned afterwards (not timed).
fn polity_elections(bin: &Path, work: &Path, n: usize) -> Result<Vec<Duration>> {
    let c = Polity::start(bin, work, "lan", 5)?;
    c.elect(0, "warm-up")?;
    let mut samples = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        let (status, body) = post(&c.client, &c.url(0, &format!("/roles/e-{i}/elect")), "")?;
        let took = started.elapsed();
        if status != 200 {
            return Err(format!("election {i}: {status} {body}"));
        }
        samples.push(took);
        post(&c.client, &c.url(0, &format!("/roles/e-{i}/resign")), "")?;
    }
    Ok(samples)
}

// ---- serf ---------------------------------------------------------------------------

struct Serf {
    logs: PathBuf,
    nodes: Vec<(String, u16, u16, Proc)>,
}

impl Serf {
    fn start(work: &Path, n: usize) -> Result<Self> {
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
            serf.nodes.push((name, bind, rpc, proc));
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
            .arg(format!("-rpc-addr=127.0.0.1:{}", self.nodes[i].2))
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
fn serf_failover(work: &Path, trials: usize) -> Result<Vec<Duration>> {
    let mut s = Serf::start(work, 5)?;
    let seeds: Vec<u16> = s.nodes.iter().take(3).map(|n| n.1).collect();
    let mut samples = Vec::new();
    for trial in 0..trials {
        let victim = trial % 5;
        thread::sleep(Duration::from_secs(1));
        for node in &s.nodes {
            node.3.drain();
        }
        let killed_at = s.nodes[victim].3.kill9();
        let name = s.nodes[victim].0.clone();
        let wanted = format!("EventMemberFailed: {name} ");
        let others: Vec<&Proc> = s
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, n)| &n.3)
            .collect();
        let (_, failed_at, _) =
            first_line(&others, Duration::from_secs(60), |l| l.contains(&wanted))
                .map_err(|e| format!("serf failover trial {trial}: {e}"))?;
        samples.push(failed_at - killed_at);
        let (_, bind, rpc, _) = s.nodes[victim];
        let proc = s.spawn(&name, bind, rpc, &seeds)?;
        s.nodes[victim].3 = proc;
        s.settle()?;
    }
    Ok(samples)
}

// ---- etcd ---------------------------------------------------------------------------

struct Etcd {
    logs: PathBuf,
    clients: Vec<String>,
    _members: Vec<Proc>,
}

impl Etcd {
    fn start(work: &Path, n: usize) -> Result<Self> {
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
    fn elect(&self, i: usize, name: &str, proposal: &str, label: &str) -> Result<Proc> {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!(
                "--endpoints={}",
                self.clients[i % self.clients.len()]
            ))
            .args(["elect", name, proposal]);
        Proc::spawn(label, &mut cmd, &self.logs)
    }
}

/// etcd: `etcdctl elect` holders killed with -9 while a second `etcdctl elect` waits for
/// each; time until the waiter prints that it is elected. The trials run at once, each
/// on its own election name, since each takes the session's TTL (60 s).
fn etcd_failover(etcd: &Etcd, trials: usize) -> Result<Vec<Duration>> {
    let mut holders = Vec::new();
    for k in 0..trials {
        let h = etcd.elect(
            k,
            &format!("failover-{k}"),
            &format!("holder-{k}"),
            &format!("fo-holder-{k}"),
        )?;
        h.wait_line(Duration::from_secs(30), |l| {
            l.contains(&format!("failover-{k}/"))
        })?;
        holders.push(h);
    }
    let mut waiters = Vec::new();
    for k in 0..trials {
        waiters.push(etcd.elect(
            k + 1,
            &format!("failover-{k}"),
            &format!("waiter-{k}"),
            &format!("fo-waiter-{k}"),
        )?);
    }
    thread::sleep(Duration::from_secs(3));
    let killed: Vec<Instant> = holders.iter_mut().map(Proc::kill9).collect();
    let mut samples = Vec::new();
    for (k, w) in waiters.iter().enumerate() {
        let (at, _) = w
            .wait_line(Duration::from_secs(180), |l| {
                l.contains(&format!("failover-{k}/"))
            })
            .map_err(|e| format!("etcd failover {k}: {e}"))?;
        samples.push(at - killed[k]);
    }
    Ok(samples)
}

/// etcd handoff: SIGINT to the `etcdctl elect` holding the election (it resigns and
/// exits) while a second one waits; time until the waiter prints that it is elected.
fn etcd_handoff(etcd: &Etcd, trials: usize) -> Result<Vec<Duration>> {
    let name = "handoff";
    let mut holder = etcd.elect(0, name, "p-0", "handoff-0")?;
    holder.wait_line(Duration::from_secs(30), |l| l.starts_with("handoff/"))?;
    let mut samples = Vec::new();
    for trial in 0..trials {
        let waiter = etcd.elect(
            trial + 1,
            name,
            &format!("p-{}", trial + 1),
            &format!("handoff-{}", trial + 1),
        )?;
        thread::sleep(Duration::from_millis(500));
        let resigned_at = holder.signal(Signal::SIGINT);
        let (won_at, _) = waiter
            .wait_line(Duration::from_secs(30), |l| l.starts_with("handoff/"))
            .map_err(|e| format!("etcd handoff trial {trial}: {e}"))?;
        samples.push(won_at - resigned_at);
        let _ = holder.child.wait();
        holder.dead = true;
        holder = waiter;
    }
    Ok(samples)
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// etcd election latency through its JSON gateway, as for polity's API: one session
/// lease (60 s TTL, as etcdctl's), then `POST /v3/election/campaign` for a new name
/// each time, resigned afterwards (not timed).
fn etcd_elections(etcd: &Etcd, n: usize) -> Result<Vec<Duration>> {
    let client = http();
    let base = &etcd.clients[0];
    let (status, body) = post(&client, &format!("{base}/v3/lease/grant"), r#"{"TTL":60}"#)?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
    let lease = v["ID"]
        .as_str()
        .ok_or(format!("lease grant: {status} {body}"))?
        .to_string();
    let mut samples = Vec::new();
    for i in 0..n {
        let req = format!(
            r#"{{"name":"{}","lease":"{lease}","value":"{}"}}"#,
            b64(&format!("e-{i}")),
            b64("bench")
        );
        let started = Instant::now();
        let (status, body) = post(&client, &format!("{base}/v3/election/campaign"), &req)?;
        let took = started.elapsed();
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
        if status != 200 || v["leader"].is_null() {
            return Err(format!("etcd election {i}: {status} {body}"));
        }
        samples.push(took);
        let resign = serde_json::json!({ "leader": v["leader"] }).to_string();
        post(&client, &format!("{base}/v3/election/resign"), &resign)?;
    }
    Ok(samples)
}

// ---- idle cost ------------------------------------------------------------------------

/// A field of `/proc/PID/status` in KiB: `VmRSS` (resident, code pages of the binary
/// and shared libraries included) or `RssAnon` (resident memory of the process's own).
fn status_kib(pid: i32, field: &str) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {field} for {pid}"))
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file; `after` starts at field 3.
    let utime: u64 = fields
        .get(11)
        .and_then(|v| v.parse().ok())
        .ok_or("bad utime")?;
    let stime: u64 = fields
        .get(12)
        .and_then(|v| v.parse().ok())
        .ok_or("bad stime")?;
    Ok(utime + stime)
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Resident memory, anonymous resident memory (both MB) and CPU (% of one core over
/// `secs`) of each pid, measured together.
fn idle_cost(pids: &[i32], secs: u64) -> Result<Vec<(f64, f64, f64)>> {
    let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect::<Result<_>>()?;
    let started = Instant::now();
    thread::sleep(Duration::from_secs(secs));
    let after: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect::<Result<_>>()?;
    let elapsed = started.elapsed().as_secs_f64();
    let tck = ticks_per_second();
    pids.iter()
        .zip(before.iter().zip(after))
        .map(|(p, (b, a))| {
            let cpu = (a - b) as f64 / tck / elapsed * 100.0;
            let mb = |field| Ok::<_, String>(status_kib(*p, field)? as f64 * 1024.0 / 1e6);
            Ok((mb("VmRSS")?, mb("RssAnon")?, cpu))
        })
        .collect()
}

fn print_idle(system: &str, n: usize, which: &str, (rss, anon, cpu): (f64, f64, f64), secs: u64) {
    println!("| {system} | {n} | {which} | {rss:.2} MB | {anon:.2} MB | {cpu:.2}% ({secs} s) |");
}

/// The median of each column of `others`.
fn medians(others: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    (
        median(others.iter().map(|c| c.0).collect()),
        median(others.iter().map(|c| c.1).collect()),
        median(others.iter().map(|c| c.2).collect()),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn idle(bin: &Path, work: &Path, n: usize, secs: u64) -> Result<()> {
    let agents = |c: &Polity| -> Vec<i32> { c.agents.iter().map(|a| a.proc.pid()).collect() };
    let c = Polity::start(bin, work, "lan", n)?;
    c.elect(0, "idle")?;
    let groups = [("holder of one role", 0..1), ("median of the others", 1..n)];
    measure_idle("polity lan", &agents(&c), secs, &groups)?;
    drop(c);
    if n > 5 {
        // The same cluster with a fixed electorate of five, as a large deployment would
        // run it (like Consul's servers): the holder renews with four voters, not n - 1.
        let voters: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
        let extra = vec!["--electorate".to_string(), voters.join(",")];
        let c = Polity::start_with(bin, work, "lan", n, "-electorate-5", extra)?;
        c.elect(0, "idle")?;
        let groups = [
            ("holder of one role", 0..1),
            ("median of the other voters", 1..5),
            ("median of the non-voters", 5..n),
        ];
        measure_idle("polity lan, electorate of 5", &agents(&c), secs, &groups)?;
    }
    let s = Serf::start(work, n)?;
    let pids: Vec<i32> = s.nodes.iter().map(|n| n.3.pid()).collect();
    let groups = [("first agent", 0..1), ("median of the others", 1..n)];
    measure_idle("serf lan", &pids, secs, &groups)
}

/// Lets a settled cluster idle for 10 s, then measures each of `pids` over `secs` and
/// prints, for each group of them, the median of each column.
fn measure_idle(
    system: &str,
    pids: &[i32],
    secs: u64,
    groups: &[(&str, std::ops::Range<usize>)],
) -> Result<()> {
    thread::sleep(Duration::from_secs(10));
    let cost = idle_cost(pids, secs)?;
    for (which, range) in groups {
        let group = cost.get(range.clone()).ok_or("fewer agents than groups")?;
        print_idle(system, pids.len(), which, medians(group), secs);
    }
    Ok(())
}

// ---- main ---------------------------------------------------------------------------

struct Args {
    polity: PathBuf,
    work: PathBuf,
    trials: usize,
    handoffs: usize,
    elections: usize,
    idle_secs: u64,
    only: Vec<String>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        polity: PathBuf::from("target/release/polity"),
        work: std::env::temp_dir().join("polity-bench"),
        trials: 30,
        handoffs: 100,
        elections: 1000,
        idle_secs: 30,
        only: ["failover", "handoff", "election", "idle"]
            .map(String::from)
            .to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--polity" => a.polity = PathBuf::from(&value),
            "--work" => a.work = PathBuf::from(&value),
            "--trials" => a.trials = number()?,
            "--handoffs" => a.handoffs = number()?,
            "--elections" => a.elections = number()?,
            "--idle-secs" => a.idle_secs = number()? as u64,
            "--only" => a.only = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}

fn run(a: &Args) -> Result<()> {
    fs::create_dir_all(&a.work).map_err(|e| e.to_string())?;
    let wants = |what: &str| a.only.iter().any(|o| o == what);
    let needs_etcd = wants("failover") || wants("handoff") || wants("election");
    let etcd = if needs_etcd {
        Some(Etcd::start(&a.work, 5)?)
    } else {
        None
    };
    let bin = a.polity.as_path();
    let header =
        "| measure | system | samples | p50 | p99 | max |\n| --- | --- | --- | --- | --- | --- |";
    if wants("failover") {
        println!("\n## failover after kill -9 of the holder, 5 processes\n\n{header}");
        report(
            "failover",
            "polity lan",
            polity_failover(bin, &a.work, "lan", a.trials)?,
        );
        report(
            "failover",
            "polity fast",
            polity_failover(bin, &a.work, "fast", a.trials)?,
        );
        report(
            "marked failed",
            "serf lan",
            serf_failover(&a.work, a.trials)?,
        );
        if let Some(etcd) = &etcd {
            report(
                "failover",
                "etcdctl elect (60 s session)",
                etcd_failover(etcd, a.trials)?,
            );
        }
    }
    if wants("handoff") {
        println!("\n## handoff: the holder resigns, a waiting candidate takes over\n\n{header}");
        report(
            "handoff",
            "polity lan",
            polity_handoff(bin, &a.work, a.handoffs)?,
        );
        if let Some(etcd) = &etcd {
            report("handoff", "etcdctl elect", etcd_handoff(etcd, a.handoffs)?);
        }
    }
    if wants("election") {
        println!("\n## uncontended election latency, 5 processes\n\n{header}");
        report(
            "election",
            "polity lan, HTTP API",
            polity_elections(bin, &a.work, a.elections)?,
        );
        if let Some(etcd) = &etcd {
            report(
                "election",
                "etcd, JSON gateway",
                etcd_elections(etcd, a.elections)?,
            );
        }
    }
    drop(etcd);
    if wants("idle") {
        println!(
            "\n## resident memory and idle CPU of one agent\n\n| system | nodes | agent | VmRSS | RssAnon | CPU of one core |\n| --- | --- | --- | --- | --- | --- |"
        );
        idle(bin, &a.work, 5, a.idle_secs)?;
        idle(bin, &a.work, 50, a.idle_secs)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_compare: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_compare: {e}");
            ExitCode::FAILURE
        }
    }
}
