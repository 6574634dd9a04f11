//! The flags that describe a node, shared by `polity agent` and `polity campaign`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use polity::{
    Config, Majority, NodeName, Profile, QuorumFunc, QuorumPercentage, SimpleMajority, Tags,
};

use crate::duration;
use crate::join::{JoinAddr, Retry};
use crate::keyring_file;

/// Why a node without `--name` cannot start.
const NO_NAME: &str = "a node needs a name: give --name NAME (or `name` in the config file)";

/// How the agent writes its logs.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--quorum`: `majority`, `simple-majority`, or `percent:P:MIN` (P in percent).
#[derive(Clone, Debug)]
pub struct QuorumArg {
    /// As given, to show it again.
    text: String,
    /// The function.
    pub func: Arc<dyn QuorumFunc>,
}

impl fmt::Display for QuorumArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for QuorumArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let func: Arc<dyn QuorumFunc> = match s {
            "majority" => Arc::new(Majority),
            "simple-majority" => Arc::new(SimpleMajority),
            _ => {
                let bad = || {
                    format!(
                        "{s:?} is not a quorum: expected majority, simple-majority or \
                         percent:P:MIN (P a percentage from 0 to 100, MIN a whole number)"
                    )
                };
                let rest = s.strip_prefix("percent:").ok_or_else(bad)?;
                let (percent, min) = rest.split_once(':').ok_or_else(bad)?;
                let percent: f64 = percent.parse().map_err(|_| bad())?;
                let min: usize = min.parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&percent) {
                    return Err(bad());
                }
                Arc::new(QuorumPercentage::new(percent / 100.0, min))
            }
        };
        Ok(QuorumArg {
            text: s.to_owned(),
            func,
        })
    }
}

/// The flags of a node.
#[derive(clap::Args, Clone, Debug)]
pub struct NodeArgs {
    /// This node's name, unique in the cluster (1 to 64 printable bytes, no spaces).
    /// Required.
    #[arg(long)]
    pub name: Option<NodeName>,
    /// UDP address to bind; port 0 picks a free port.
    #[arg(long, default_value = "0.0.0.0:7700")]
    pub bind: SocketAddr,
    /// Address others reach this node on, if not the bound one (NAT, wildcard bind).
    #[arg(long)]
    pub advertise: Option<SocketAddr>,
    /// Address of a member to join through, as IP:PORT, [IPv6]:PORT or HOST:PORT (every
    /// address the name resolves to); repeat for more. Give every node the same list: a
    /// node with none founds a cluster of its own.
    #[arg(long, value_name = "ADDR")]
    pub join: Vec<JoinAddr>,
    /// Until a member answers, resolve and announce to the --join addresses again this
    /// often (ms or s).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration::parse)]
    pub retry_interval: Duration,
    /// Give up and exit after this many attempts to join without an answer; 0 for no
    /// limit.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry_max: u32,
    /// Timing profile: lan (lease 1.5 s), wan (lease 10 s) or fast (lease 300 ms).
    #[arg(long, default_value = "lan")]
    pub profile: Profile,
    /// A fixed electorate: only these nodes vote (comma-separated names). Without it,
    /// every member votes.
    #[arg(long, value_delimiter = ',')]
    pub electorate: Option<Vec<NodeName>>,
    /// How long a candidate of a higher priority (`campaign --priority`, `elect --wait
    /// --priority`) must wait for a role without a pause before a holder of this node
    /// hands it over (ms or s). Default two leases (3 s with lan); from the election
    /// timeout (a fifth of a lease) to 1 h.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub preference_delay: Option<Duration>,
    /// Votes needed: majority, simple-majority (50% + 1, at least 3) or percent:P:MIN.
    #[arg(long, default_value = "majority")]
    pub quorum: QuorumArg,
    /// Directory where the node keeps what it must remember across restarts (its clock
    /// and the members it counts) in `state.json`; made if missing. An unreadable file
    /// stops the start: remove it to start afresh.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// A keyring file: a JSON list of base64 keys (make one with `polity keygen`), the
    /// first of them primary. Every datagram is then sealed, and datagrams not sealed with
    /// one of these keys are dropped unread. Every node needs the same keyring. The agent
    /// writes the file anew whenever `polity keys` changes its keys.
    #[arg(long)]
    pub keyring: Option<PathBuf>,
    /// A name for the cluster, bound into every seal (at most 64 bytes).
    #[arg(long, default_value = "")]
    pub cluster_label: String,
    /// A tag this node publishes, as KEY=VALUE; repeat for more (at most 512 bytes in
    /// all). Members see them in `polity members`; change them with `polity tags`.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<(String, String)>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A `KEY=VALUE` tag flag.
pub fn parse_tag(pair: &str) -> Result<(String, String), String> {
    Tags::parse_pair(pair).map_err(|e| e.to_string())
}

impl NodeArgs {
    /// The node's config with its keyring, or exit 2 after saying what is wrong with it.
    pub fn config_or_exit(&self) -> Result<Config, std::process::ExitCode> {
        let usage = |error: String| {
            eprintln!("polity: {error}");
            crate::exit_code::usage()
        };
        let mut config = self.config().map_err(usage)?;
        if let Some(path) = &self.keyring {
            config.keyring = Some(keyring_file::read(path).map_err(usage)?);
        }
        Ok(config)
    }

    /// How to retry joining.
    pub fn retry(&self) -> Retry {
        Retry {
            interval: self.retry_interval,
            max: self.retry_max,
        }
    }

    /// The node's config, checked, with no join address yet: those are resolved when
    /// the node starts ([`crate::join`]).
    pub fn config(&self) -> Result<Config, String> {
        let mut config = Config::new(self.name.clone().ok_or(NO_NAME)?, self.profile);
        config.bind = self.bind;
        config.advertise = self.advertise;
        config.electorate = self
            .electorate
            .as_ref()
            .map(|names| names.iter().cloned().collect());
        config.quorum = self.quorum.func.clone();
        if let Some(delay) = self.preference_delay {
            config.preference_delay = delay;
        }
        config.cluster_label = self.cluster_label.clone();
        for (key, value) in &self.tags {
            config.tags.insert(key, value).map_err(|e| e.to_string())?;
        }
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_flags_parse_or_say_why_not() {
        assert_eq!(
            QuorumArg::from_str("majority").map(|q| q.func.votes_required(5)),
            Ok(3)
        );
        assert_eq!(
            QuorumArg::from_str("simple-majority").map(|q| q.func.votes_required(1)),
            Ok(3)
        );
        assert_eq!(
            QuorumArg::from_str("percent:75:2").map(|q| q.func.votes_required(4)),
            Ok(4)
        );
        for bad in [
            "most",
            "percent:",
            "percent:x:1",
            "percent:50",
            "percent:150:1",
            "percent:50:-1",
        ] {
            let error = QuorumArg::from_str(bad).err().unwrap_or_default();
            assert!(error.contains("is not a quorum"), "{bad}: {error}");
        }
    }
}
