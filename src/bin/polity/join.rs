//! `--join`, `--retry-interval` and `--retry-max`: joining a cluster through addresses
//! or DNS names, as serf's and Consul's `retry_join` do.
//!
//! A join address is `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT`. A host name is resolved to
//! every address it has (A and AAAA records), and resolved again on every attempt, so a
//! name whose addresses change (a Kubernetes headless service, a round-robin record)
//! finds the members it names now. The node announces itself to all of them; any one
//! that answers is enough. Only addresses of the bound socket's family are used: bind an
//! IPv6 address (`--bind [::]:7700`) to join over IPv6.
//!
//! The node starts only once at least one address is known: a node given join addresses
//! must not act as the founder of a cluster of its own (it would count a population of
//! one, and could elect itself while the cluster it means to join has a holder). Until
//! a live member answers, the agent resolves and announces again every
//! `--retry-interval`, logging each attempt; after `--retry-max` attempts (0: no limit)
//! it gives up and exits. A node whose list names only itself waits until another
//! member joins it, and answers no role request until then.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use polity::{Config, MemberStatus, NodeHandle};

use crate::stop_signals::{self, StopSignals};

/// A `--join` address: an IP address or a host name, and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinAddr {
    /// An IP address and port, used as it is.
    Ip(SocketAddr),
    /// A host name and port, resolved on every attempt.
    Name {
        /// The host name.
        host: String,
        /// The port.
        port: u16,
    },
}

impl FromStr for JoinAddr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        if let Ok(addr) = text.parse() {
            return Ok(JoinAddr::Ip(addr));
        }
        let bad = |why: &str| {
            format!(
                "{text:?} is not a join address ({why}): expected IP:PORT, [IPv6]:PORT or \
                 HOST:PORT, as 10.0.0.1:7700, [fd00::1]:7700 or polity.example.net:7700"
            )
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not 0 to 65535"))?;
        let is_name = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !is_name {
            return Err(bad("not an IP address or a host name"));
        }
        Ok(JoinAddr::Name {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for JoinAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinAddr::Ip(addr) => write!(f, "{addr}"),
            JoinAddr::Name { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// How often, and how many times, to try to join.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Between attempts.
    pub interval: Duration,
    /// Attempts before giving up; 0 for no limit.
    pub max: u32,
}

impl Retry {
    /// Whether attempt number `attempt` (from 1) may be made.
    fn allows(self, attempt: u32) -> bool {
        self.max == 0 || attempt <= self.max
    }

    fn of(self, attempt: u32) -> String {
        if self.max == 0 {
            format!("attempt {attempt}")
        } else {
            format!("attempt {attempt} of {}", self.max)
        }
    }
}

/// Resolves `targets` to the addresses of `bind`'s family, logging what each gave.
async fn resolve(targets: &[JoinAddr], bind: SocketAddr) -> Vec<SocketAddr> {
    let mut found = Vec::new();
    for target in targets {
        let resolved: io::Result<Vec<SocketAddr>> = match target {
            JoinAddr::Ip(addr) => Ok(vec![*addr]),
            JoinAddr::Name { host, port } => tokio::net::lookup_host((host.as_str(), *port))
                .await
                .map(Iterator::collect),
        };
        match resolved {
            Ok(addrs) => {
                let (usable, other): (Vec<_>, Vec<_>) = addrs
                    .into_iter()
                    .partition(|addr| addr.is_ipv4() == bind.is_ipv4());
                if usable.is_empty() {
                    tracing::warn!(
                        join = %target,
                        ?other,
                        %bind,
                        "no address of the bound socket's family"
                    );
                } else if let JoinAddr::Name { .. } = target {
                    tracing::info!(join = %target, addrs = ?usable, "resolved");
                }
                for addr in usable {
                    if !found.contains(&addr) {
                        found.push(addr);
                    }
                }
            }
            Err(error) => tracing::warn!(join = %target, %error, "cannot resolve"),
        }
    }
    found
}

/// Resolves the join addresses into `config.join` before the node starts, trying
/// every `retry.interval` until at least one address is known. Returns the attempts
/// made, or why the node cannot start.
pub async fn resolve_first(
    config: &mut Config,
    targets: &[JoinAddr],
    retry: Retry,
) -> Result<u32, String> {
    if targets.is_empty() {
        return Ok(0);
    }
    let mut attempt = 1;
    loop {
        config.join = resolve(targets, config.bind).await;
        if !config.join.is_empty() {
            return Ok(attempt);
        }
        if !retry.allows(attempt + 1) {
            return Err(gave_up(targets, attempt));
        }
        tracing::warn!(
            attempt = %retry.of(attempt),
            retry_in = ?retry.interval,
            "no join address resolved yet; the node starts once one does"
        );
        tokio::time::sleep(retry.interval).await;
        attempt += 1;
    }
}

/// [`resolve_first`], given up on SIGINT or SIGTERM: the attempts made, or the exit code
/// (1 after saying why no address resolved, 128 + N for signal N).
pub async fn resolve_or_stop(
    config: &mut Config,
    targets: &[JoinAddr],
    retry: Retry,
    stop: &mut StopSignals,
) -> Result<u32, ExitCode> {
    tokio::select! {
        resolved = resolve_first(config, targets, retry) => resolved.map_err(|error| {
            eprintln!("polity: {error}");
            crate::exit_code::failure()
        }),
        signal = stop.recv() => Err(ExitCode::from(stop_signals::exit_status(signal))),
    }
}

/// Resolves `targets` again and announces to them every `retry.interval` until a live
/// member is known, continuing the count from `attempts` made before the start. Returns
/// once joined, or why it gave up.
pub async fn keep_joining(
    node: NodeHandle,
    targets: Vec<JoinAddr>,
    retry: Retry,
    mut attempts: u32,
) -> Result<(), String> {
    if targets.is_empty() {
        return Ok(());
    }
    let name = node.id().name().clone();
    loop {
        tokio::time::sleep(retry.interval).await;
        let members = node.members().await.map_err(|e| e.to_string())?;
        let joined = members
            .iter()
            .any(|m| m.status == MemberStatus::Alive && m.id.name() != &name);
        if joined {
            return Ok(());
        }
        attempts += 1;
        if !retry.allows(attempts) {
            return Err(gave_up(&targets, attempts - 1));
        }
        let addrs = resolve(&targets, node.local_addr()).await;
        tracing::info!(
            attempt = %retry.of(attempts),
            ?addrs,
            "no member answered yet; announcing again"
        );
        node.join(addrs).await.map_err(|e| e.to_string())?;
    }
}

fn gave_up(targets: &[JoinAddr], attempts: u32) -> String {
    let list: Vec<String> = targets.iter().map(ToString::to_string).collect();
    format!(
        "no member answered at {} after {attempts} attempts (--retry-max); check the \
         addresses, the cluster's keyring and label, and that UDP reaches them",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_addresses_parse_or_say_why_not() {
        assert_eq!(
            "10.0.0.1:7700".parse(),
            Ok(JoinAddr::Ip("10.0.0.1:7700".parse().unwrap()))
        );
        assert_eq!(
            "[::1]:7700".parse(),
            Ok(JoinAddr::Ip("[::1]:7700".parse().unwrap()))
        );
        assert_eq!(
            "polity-0.polity.svc:7700".parse(),
            Ok(JoinAddr::Name {
                host: "polity-0.polity.svc".into(),
                port: 7700
            })
        );
        for bad in [
            "host",
            "host:",
            "host:99999",
            ":7700",
            "a b:1",
            "[::1:7700",
            "::1",
        ] {
            let error = bad.parse::<JoinAddr>().err().unwrap_or_default();
            assert!(error.contains("is not a join address"), "{bad}: {error}");
        }
        let shown: JoinAddr = "localhost:1".parse().unwrap();
        assert_eq!(shown.to_string(), "localhost:1");
    }
}
