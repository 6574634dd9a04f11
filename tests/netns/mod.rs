//! Hosts as Linux network namespaces: each host is a namespace with one interface,
//! `eth0`, whose veth peer is a port of a bridge in a namespace of its own, so nothing is
//! added to the machine's own network. Faults are iptables rules in the hosts'
//! namespaces; they vanish with the namespaces.
//!
//! Every name starts with `pty<pid>-` (the test process's id): `pty<pid>-br` for the
//! bridge, `pty<pid>-h0`, `pty<pid>-h1`, ... for the hosts. Concurrent runs never share a
//! name, and the namespaces of a run whose process is gone are deleted by the next run.

pub mod checker;

use std::net::Ipv4Addr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The hosts' addresses are `10.77.0.1`, `10.77.0.2`, ... in this /24, which exists only
/// on the bridge of one run.
const SUBNET: [u8; 3] = [10, 77, 0];

/// Why the fault tests cannot run here, if they cannot.
pub fn missing_prerequisite() -> Option<String> {
    match std::fs::metadata("/proc/self") {
        Ok(meta) if meta.uid() == 0 => {}
        Ok(_) => return Some("not running as root".into()),
        Err(error) => return Some(format!("cannot tell the user id: {error}")),
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            return Some(format!(
                "`ip netns list` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Err(error) => return Some(format!("`ip` (iproute2) cannot be run: {error}")),
    }
    if iptables_candidates().is_empty() {
        return Some("iptables is not installed".into());
    }
    None
}

/// The iptables programs found, the default one first.
fn iptables_candidates() -> Vec<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    // Often missing from a user's PATH, which is where iptables lives.
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    ["iptables", "iptables-legacy"]
        .iter()
        .filter_map(|name| dirs.iter().map(|dir| dir.join(name)).find(|p| p.is_file()))
        .collect()
}

/// Runs `command`, panicking with its standard error if it fails.
fn run(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {shown}: {error}"));
    assert!(
        output.status.success(),
        "{shown} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    output
}

/// `ip ARGS...`.
fn ip(args: &[&str]) -> Output {
    run(Command::new("ip").args(args))
}

/// The namespaces of one run. Dropping it kills every process left in them and deletes
/// them, which removes their interfaces, the bridge and every iptables rule.
pub struct Network {
    prefix: String,
    hosts: Vec<String>,
    /// Every namespace made so far, in the order made, to delete on drop.
    made: Vec<String>,
    iptables: PathBuf,
}

impl Network {
    /// Makes a bridge namespace and `hosts` host namespaces joined to it.
    pub fn create(hosts: usize) -> Self {
        assert!(hosts < 250, "the subnet has room for 249 hosts");
        let prefix = format!("pty{}", std::process::id());
        delete_leftovers(&prefix);
        let mut network = Network {
            hosts: (0..hosts).map(|i| format!("{prefix}-h{i}")).collect(),
            prefix,
            made: Vec::new(),
            iptables: PathBuf::new(),
        };
        let bridge = format!("{}-br", network.prefix);
        network.add_namespace(&bridge);
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        for i in 0..hosts {
            let host = network.hosts[i].clone();
            let port = format!("v{i}");
            let addr = format!("{}/24", network.addr(i));
            network.add_namespace(&host);
            ip(&[
                "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &host,
            ]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            ip(&["-n", &host, "addr", "add", &addr, "dev", "eth0"]);
            ip(&["-n", &host, "link", "set", "eth0", "up"]);
            ip(&["-n", &host, "link", "set", "lo", "up"]);
        }
        network.iptables = network.working_iptables();
        network
    }

    fn add_namespace(&mut self, name: &str) {
        ip(&["netns", "add", name]);
        self.made.push(name.to_owned());
    }

    /// The first iptables that can add and remove a `statistic` rule in a host's
    /// namespace: the default one, else `iptables-legacy` (the nf_tables backend needs
    /// kernel support that some kernels lack).
    fn working_iptables(&self) -> PathBuf {
        let mut failures = String::new();
        for candidate in iptables_candidates() {
            let attempt = |op: &str| {
                self.command(0, &candidate)
                    .args(["-w", op])
                    .args(random_drop_rule("0.5"))
                    .output()
            };
            match attempt("-A") {
                Ok(added) if added.status.success() => {
                    let removed = attempt("-D");
                    assert!(
                        removed.as_ref().is_ok_and(|r| r.status.success()),
                        "{} added a probe rule but cannot remove it: {removed:?}",
                        candidate.display()
                    );
                    return candidate;
                }
                Ok(added) => failures.push_str(&format!(
                    "\n{}: {}",
                    candidate.display(),
                    String::from_utf8_lossy(&added.stderr).trim()
                )),
                Err(error) => {
                    failures.push_str(&format!("\n{}: {error}", candidate.display()));
                }
            }
        }
        panic!("no iptables works in a network namespace:{failures}");
    }

    /// The namespaces' common prefix, `pty<pid>`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Host `i`'s address.
    pub fn addr(&self, i: usize) -> Ipv4Addr {
        let [a, b, c] = SUBNET;
        Ipv4Addr::new(a, b, c, u8::try_from(i + 1).expect("fewer than 250 hosts"))
    }

    /// `program` to be run in host `i`'s namespace (`ip netns exec`, which executes it
    /// in place: the child's process id is the program's).
    pub fn command(&self, i: usize, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.hosts[i]]).arg(program);
        command
    }

    /// `iptables -w ARGS...` in host `i`'s namespace.
    fn iptables(&self, i: usize, args: &[&str]) {
        run(self.command(i, &self.iptables).arg("-w").args(args));
    }

    /// Host `i` drops every datagram that comes from `sources`.
    pub fn drop_from(&self, i: usize, sources: &[Ipv4Addr]) {
        for source in sources {
            let source = source.to_string();
            self.iptables(i, &["-A", "INPUT", "-s", &source, "-j", "DROP"]);
        }
    }

    /// Host `i` drops each datagram it receives with `probability`.
    pub fn drop_randomly(&self, i: usize, probability: f64) {
        let probability = probability.to_string();
        self.iptables(i, &[&["-A"], &random_drop_rule(&probability)[..]].concat());
    }

    /// Removes every rule of every host: the network is whole again.
    pub fn heal(&self) {
        for i in 0..self.hosts.len() {
            self.iptables(i, &["-F", "INPUT"]);
        }
    }
}

/// The rule, after `-A` or `-D`, by which a host drops each datagram it receives with
/// `probability`.
fn random_drop_rule(probability: &str) -> [&str; 9] {
    [
        "INPUT",
        "-m",
        "statistic",
        "--mode",
        "random",
        "--probability",
        probability,
        "-j",
        "DROP",
    ]
}

impl Drop for Network {
    fn drop(&mut self) {
        for namespace in self.made.iter().rev() {
            kill_and_delete(namespace);
        }
    }
}

/// Kills every process in `namespace`, then deletes it. Errors are ignored: this runs
/// while cleaning up, perhaps after a failure.
fn kill_and_delete(namespace: &str) {
    if let Ok(output) = Command::new("ip")
        .args(["netns", "pids", namespace])
        .output()
    {
        for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "delete", namespace])
        .output();
}

/// Deletes the namespaces of earlier runs whose process is gone (`pty<pid>-br`,
/// `pty<pid>-h<i>`), and any of this process's own prefix; names that merely look
/// alike, and those of live runs, are left alone.
fn delete_leftovers(own_prefix: &str) {
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some((pid, suffix)) = name
            .strip_prefix("pty")
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        let ours = suffix == "br"
            || suffix
                .strip_prefix('h')
                .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        if !ours || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let gone = !Path::new("/proc").join(pid).exists();
        if gone || name.starts_with(&format!("{own_prefix}-")) {
            kill_and_delete(name);
        }
    }
}
