//! Settings of a node: who it is, where it listens, the gossip timings and the role
//! lease timings, with three profiles (`lan`, `wan`, `fast`) and one [`Config::validate`].

mod timing;

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::{NonZeroU8, NonZeroUsize};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::identity::NodeName;
use crate::quorum::{Majority, QuorumFunc, UnsafeQuorum, check_quorum};
use crate::tags::Tags;
use crate::wire::{ENVELOPE_LEN, Keyring, MAX_UDP_PAYLOAD, SEAL_OVERHEAD};

/// The UDP port a node binds when none is given.
pub const DEFAULT_PORT: u16 = 7700;

/// A named set of timings; every field can still be changed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A data-centre LAN (the default): role lease 1.5 s, renewal every 300 ms, SWIM probes
    /// every second; a crashed holder is replaced in about 1.5 s.
    #[default]
    Lan,
    /// Links across regions: role lease 10 s, renewal every 2 s, SWIM probes every 5 s.
    Wan,
    /// A quiet, low-latency LAN: role lease 300 ms, renewal every 60 ms, SWIM probes every
    /// 500 ms. Fails over fastest, but a pause of a holder longer than the lease moves roles.
    Fast,
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "lan" => Ok(Profile::Lan),
            "wan" => Ok(Profile::Wan),
            "fast" => Ok(Profile::Fast),
            other => Err(format!(
                "unknown profile {other:?}: expected lan, wan or fast"
            )),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Lan => "lan",
            Profile::Wan => "wan",
            Profile::Fast => "fast",
        })
    }
}

/// Everything a node needs to run. Build one with [`Config::new`] (or [`Config::lan`],
/// [`Config::wan`], [`Config::fast`]), change fields, and check it with
/// [`Config::validate`]; nodes refuse to start on an invalid config.
///
/// Ranges in the field docs are inclusive unless they say otherwise.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// This node's name, unique in the cluster. No default.
    pub name: NodeName,
    /// Address the UDP socket binds. Port 0 picks a free port. Default `0.0.0.0:7700`.
    pub bind: SocketAddr,
    /// Address other nodes reach this one on, when it differs from `bind` (NAT, or a
    /// wildcard bind). Default: none, meaning the bound address; with a wildcard bind the
    /// node uses the local address that routes towards its first join address.
    pub advertise: Option<SocketAddr>,
    /// Addresses of existing members to join through; any one that answers is enough.
    /// The node re-announces to them whenever it knows no live member. Default: none.
    pub join: Vec<SocketAddr>,

    /// SWIM: how often a random member is probed. Default 1 s (lan), 5 s (wan), 500 ms
    /// (fast). Range 10 ms to 60 s, and more than `probe_rtt`.
    pub probe_period: Duration,
    /// SWIM: how long to wait for a direct probe reply before asking others to probe.
    /// Default 500 ms (lan), 3 s (wan), 100 ms (fast). Range 1 ms to 30 s, below `probe_period`.
    pub probe_rtt: Duration,
    /// SWIM: how long a suspected member has to refute before it is declared down.
    /// Default 4 s (lan), 30 s (wan), 2 s (fast). Range 10 ms to 10 min.
    pub suspect_to_down_after: Duration,
    /// SWIM: how often membership updates are gossiped. Default 200 ms (lan), 500 ms (wan),
    /// 100 ms (fast). Range 10 ms to 60 s.
    pub gossip_interval: Duration,
    /// SWIM: members chosen per gossip round. Default 3 (lan, fast), 4 (wan). Range 1 to 16.
    pub gossip_fanout: usize,
    /// SWIM: how many times each update is piggybacked before it is dropped. Default 8 (lan,
    /// fast), 10 (wan). Range 1 to 64.
    pub max_transmissions: u8,
    /// Gossip: how many announcements the gossip layer may hold to spread before it
    /// stops queueing news of roles, as serf's `max_queue_depth`. Past it, role
    /// announcements are still applied and still sent straight to every live member,
    /// only not gossiped further; news of members is always gossiped. This bounds the
    /// memory a burst of role churn can take (a few hundred bytes per announcement).
    /// Default 1024. Range 16 to 1,048,576.
    pub max_gossip_backlog: usize,
    /// How often a node that knows no live member re-announces to its `join` addresses.
    /// Default 1 s (lan), 5 s (wan), 500 ms (fast). Range 10 ms to 10 min.
    pub rejoin_interval: Duration,
    /// How long a member that is down stays in the electorate's population before it is
    /// forgotten (serf's reconnect timeout). Counting down members is what keeps a
    /// partitioned minority from electing; a partition longer than this can break that
    /// guarantee under the dynamic electorate. Default 24 h. Range 1 s to 30 days.
    pub reap_down_after: Duration,
    /// Largest datagram sent or accepted, in bytes, including envelope and sealing.
    /// Default 1400 (below a 1500-byte Ethernet MTU). Range 576 to 65507.
    pub max_datagram_size: usize,

    /// Roles: how long a voter's grant lasts after it last heard from the holder.
    /// Default 1.5 s (lan), 10 s (wan), 300 ms (fast). Range 50 ms to 1 h.
    pub lease: Duration,
    /// Roles: how often a holder renews its lease with the electorate. Default `lease / 5`.
    /// Range 1 ms up to half of the holder's own lease ([`Config::holder_lease`]),
    /// so that at least two renewals are tried before the holder must step down.
    pub renew_interval: Duration,
    /// Roles: how long a holder goes without a quorum acknowledging a renewal before it
    /// warns that the role is at risk ([`crate::Event::RoleAtRisk`],
    /// `Leadership::at_risk`), counted from when it sent the last acknowledged round, as
    /// client-go's `RenewDeadline`. The holder's own lease ends
    /// `holder_lease - renew_deadline` later: that is the time an application has to
    /// stop acting for the role. Default `lease / 2` (750 ms with `lan`, leaving 585 ms).
    /// Range `renew_interval` up to (excluding) [`Config::holder_lease`].
    pub renew_deadline: Duration,
    /// Roles: the largest difference in clock *rate* between any two nodes, as a
    /// fraction (0.1 = 10%). The holder shortens its own lease by this much. Default 0.1.
    /// Range 0.0 to 0.5 (exclusive).
    pub max_drift: f64,
    /// Roles: how long a candidate waits for a quorum of votes, and a recall or query for
    /// a quorum of answers, before giving up the round. Default `lease / 5`. Range 1 ms
    /// to `lease`.
    pub election_timeout: Duration,
    /// Roles: how long a candidate of a higher priority than the holder's
    /// ([`crate::NodeHandle::campaign_with_priority`]) must have asked for the role,
    /// without a pause of more than two leases, before the holder hands it over, so that
    /// a flapping node does not bounce the role. Only matters once a priority is given.
    /// Default `2 * lease` (3 s with `lan`). Range `election_timeout` to 1 h.
    pub preference_delay: Duration,
    /// Roles: how many votes a population needs. Must require more than half of every
    /// population. Default [`Majority`].
    pub quorum: Arc<dyn QuorumFunc>,
    /// Security: the keys every datagram is sealed with (XChaCha20-Poly1305); datagrams
    /// not sealed with one of them are dropped unread. Default: none, nothing sealed.
    /// Every node of a cluster needs the same keyring.
    pub keyring: Option<Keyring>,
    /// Security: a name for the cluster, bound into every seal, so that clusters sharing
    /// a key still cannot read each other. Default empty. At most 64 bytes.
    pub cluster_label: String,
    /// Roles: the voters. `None` (the default) is the dynamic electorate: every member
    /// votes, and the population is every name alive or down, not counting members that
    /// left, were force-left or were reaped. `Some(names)` is a fixed electorate, like
    /// Raft's configuration or Consul's servers: only these nodes vote and the
    /// population is their number, whatever the churn; other nodes may still hold roles.
    /// Must not be empty.
    pub electorate: Option<BTreeSet<NodeName>>,
    /// This node's tags at start ([`Tags`]: at most 512 bytes), published to every
    /// member; change them at run time with `NodeHandle::set_tags`. Default none.
    pub tags: Tags,
}

/// One broken rule of a [`Config`]; the message names the field, the value and the rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field is outside its documented range; set it within `allowed`.
    #[error("{field} = {value} is out of range: allowed {allowed}")]
    OutOfRange {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
    /// `probe_rtt` must be shorter than `probe_period`; lower the first or raise the second.
    #[error("probe_rtt ({rtt:?}) must be shorter than probe_period ({period:?})")]
    ProbeRttNotBelowPeriod {
        /// The probe round-trip time.
        rtt: Duration,
        /// The probe period.
        period: Duration,
    },
    /// The holder could not try two renewals within its own lease; renew more often or
    /// lengthen the lease.
    #[error(
        "renew_interval ({renew_interval:?}) must be at most half of the holder's lease \
         (lease * (1 - max_drift) - 1% = {holder_lease:?})"
    )]
    RenewTooSlow {
        /// The renewal interval.
        renew_interval: Duration,
        /// The holder's lease, [`Config::holder_lease`].
        holder_lease: Duration,
    },
    /// The warning would come before a renewal could be tried, or not before the holder's
    /// own lease ends; set `renew_deadline` between the two.
    #[error(
        "renew_deadline ({renew_deadline:?}) must be at least renew_interval \
         ({renew_interval:?}) and below the holder's lease ({holder_lease:?})"
    )]
    RenewDeadlineOutOfRange {
        /// The renewal deadline.
        renew_deadline: Duration,
        /// The renewal interval.
        renew_interval: Duration,
        /// The holder's lease, [`Config::holder_lease`].
        holder_lease: Duration,
    },
    /// The quorum function allows two disjoint quorums; use [`Majority`] or a function
    /// that returns more than half of every population.
    #[error(transparent)]
    UnsafeQuorum(#[from] UnsafeQuorum),
}

/// A config that broke one or more rules; holds every broken rule, not only the first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid config: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidConfig {
    /// Each broken rule.
    pub errors: Vec<ConfigError>,
}

impl Config {
    /// The settings of `profile` for a node called `name`.
    pub fn new(name: NodeName, profile: Profile) -> Self {
        let ms = Duration::from_millis;
        let (probe_period, probe_rtt, suspect, gossip, fanout, max_tx, rejoin, lease) =
            match profile {
                Profile::Lan => (
                    ms(1000),
                    ms(500),
                    ms(4000),
                    ms(200),
                    3,
                    8,
                    ms(1000),
                    ms(1500),
                ),
                Profile::Wan => (
                    ms(5000),
                    ms(3000),
                    ms(30_000),
                    ms(500),
                    4,
                    10,
                    ms(5000),
                    ms(10_000),
                ),
                Profile::Fast => (ms(500), ms(100), ms(2000), ms(100), 3, 8, ms(500), ms(300)),
            };
        Config {
            name,
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, DEFAULT_PORT)),
            advertise: None,
            join: Vec::new(),
            probe_period,
            probe_rtt,
            suspect_to_down_after: suspect,
            gossip_interval: gossip,
            gossip_fanout: fanout,
            max_transmissions: max_tx,
            max_gossip_backlog: 1024,
            rejoin_interval: rejoin,
            reap_down_after: Duration::from_secs(24 * 60 * 60),
            max_datagram_size: 1400,
            lease,
            renew_interval: lease / 5,
            renew_deadline: lease / 2,
            max_drift: 0.1,
            election_timeout: lease / 5,
            preference_delay: lease * 2,
            quorum: Arc::new(Majority),
            keyring: None,
            cluster_label: String::new(),
            electorate: None,
            tags: Tags::default(),
        }
    }

    /// The longest value a holder may publish with a role ([`crate::RoleValue`]), in
    /// bytes: `max_datagram_size` less 480 (920 with the default 1,400), and never more
    /// than [`crate::MAX_ROLE_VALUE_LEN`] (1 KiB), so that the announcement carrying it
    /// fits one datagram whatever the names in it. Every node should have the same.
    pub fn max_value_len(&self) -> usize {
        self.max_datagram_size
            .saturating_sub(crate::role_value::VALUE_HEADROOM)
            .min(crate::role_value::MAX_ROLE_VALUE_LEN)
    }

    /// The `lan` profile ([`Profile::Lan`]).
    pub fn lan(name: NodeName) -> Self {
        Self::new(name, Profile::Lan)
    }

    /// The `wan` profile ([`Profile::Wan`]).
    pub fn wan(name: NodeName) -> Self {
        Self::new(name, Profile::Wan)
    }

    /// The `fast` profile ([`Profile::Fast`]).
    pub fn fast(name: NodeName) -> Self {
        Self::new(name, Profile::Fast)
    }

    /// The lease a holder may count on, measured from when it sent the request that won
    /// or renewed it: `lease * (1 - max_drift)`, less 1% of `lease` as a margin for the
    /// time between reading the clock and acting. Voters' leases always outlast it.
    pub fn holder_lease(&self) -> Duration {
        // Out-of-range drifts (NaN included) are reported by `validate`; here they only
        // must not panic, so they count as the largest allowed.
        let drift = if self.max_drift.is_nan() {
            0.5
        } else {
            self.max_drift.clamp(0.0, 0.5)
        };
        Duration::try_from_secs_f64(self.lease.as_secs_f64() * (0.99 - drift))
            .unwrap_or(self.lease / 2)
    }

    /// How long, with no packet loss, every live member takes at most to declare a
    /// crashed member of a cluster of `members` nodes down: one probe period per member
    /// (each member is probed in turn), then the suspicion time, then a few gossip rounds
    /// to spread the news.
    pub fn failure_detection_bound(&self, members: usize) -> Duration {
        let members = u32::try_from(members).unwrap_or(u32::MAX);
        self.probe_period.saturating_mul(members.max(1))
            + self.suspect_to_down_after
            + self.gossip_interval.saturating_mul(10)
    }

    /// Checks every rule and returns all that are broken.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let mut errors = Vec::new();
        let ms = Duration::from_millis;
        let mut duration = |field, value: Duration, min: Duration, max: Duration, allowed| {
            if value < min || value > max {
                errors.push(ConfigError::OutOfRange {
                    field,
                    value: format!("{value:?}"),
                    allowed,
                });
            }
        };
        duration(
            "probe_period",
            self.probe_period,
            ms(10),
            ms(60_000),
            "10ms..=60s",
        );
        duration("probe_rtt", self.probe_rtt, ms(1), ms(30_000), "1ms..=30s");
        let (suspect, gossip, rejoin) = (
            self.suspect_to_down_after,
            self.gossip_interval,
            self.rejoin_interval,
        );
        duration(
            "suspect_to_down_after",
            suspect,
            ms(10),
            ms(600_000),
            "10ms..=10min",
        );
        duration("gossip_interval", gossip, ms(10), ms(60_000), "10ms..=60s");
        duration(
            "rejoin_interval",
            rejoin,
            ms(10),
            ms(600_000),
            "10ms..=10min",
        );
        let days_30 = Duration::from_secs(30 * 24 * 60 * 60);
        duration(
            "reap_down_after",
            self.reap_down_after,
            ms(1000),
            days_30,
            "1s..=30days",
        );
        duration("lease", self.lease, ms(50), ms(3_600_000), "50ms..=1h");
        duration(
            "renew_interval",
            self.renew_interval,
            ms(1),
            ms(3_600_000),
            "1ms..=1h",
        );

        let mut count = |field, value: usize, min: usize, max: usize, allowed| {
            if value < min || value > max {
                errors.push(ConfigError::OutOfRange {
                    field,
                    value: value.to_string(),
                    allowed,
                });
            }
        };
        count("gossip_fanout", self.gossip_fanout, 1, 16, "1..=16");
        count(
            "max_transmissions",
            self.max_transmissions.into(),
            1,
            64,
            "1..=64",
        );
        count(
            "max_gossip_backlog",
            self.max_gossip_backlog,
            16,
            1 << 20,
            "16..=1048576",
        );
        count(
            "max_datagram_size",
            self.max_datagram_size,
            576,
            MAX_UDP_PAYLOAD,
            "576..=65507",
        );

        if !(0.0..0.5).contains(&self.max_drift) {
            errors.push(ConfigError::OutOfRange {
                field: "max_drift",
                value: self.max_drift.to_string(),
                allowed: "0.0..0.5",
            });
        }
        if self.probe_rtt >= self.probe_period {
            errors.push(ConfigError::ProbeRttNotBelowPeriod {
                rtt: self.probe_rtt,
                period: self.probe_period,
            });
        }
        if self.renew_interval.saturating_mul(2) > self.holder_lease() {
            errors.push(ConfigError::RenewTooSlow {
                renew_interval: self.renew_interval,
                holder_lease: self.holder_lease(),
            });
        }
        // The deadline sits between the renewal interval and the holder's lease, so it is
        // judged only once both of those are valid: one broken lease is one error.
        let renewal_valid = !errors.iter().any(|error| {
            matches!(
                error,
                ConfigError::RenewTooSlow { .. }
                    | ConfigError::OutOfRange {
                        field: "lease" | "renew_interval" | "max_drift",
                        ..
                    }
            )
        });
        if renewal_valid
            && (self.renew_deadline < self.renew_interval
                || self.renew_deadline >= self.holder_lease())
        {
            errors.push(ConfigError::RenewDeadlineOutOfRange {
                renew_deadline: self.renew_deadline,
                renew_interval: self.renew_interval,
                holder_lease: self.holder_lease(),
            });
        }
        if self.election_timeout.is_zero() || self.election_timeout > self.lease {
            errors.push(ConfigError::OutOfRange {
                field: "election_timeout",
                value: format!("{:?}", self.election_timeout),
                allowed: "1ms..=lease",
            });
        }
        if self.preference_delay < self.election_timeout
            || self.preference_delay > Duration::from_secs(3600)
        {
            errors.push(ConfigError::OutOfRange {
                field: "preference_delay",
                value: format!("{:?}", self.preference_delay),
                allowed: "election_timeout..=1h",
            });
        }
        if self.cluster_label.len() > 64 {
            errors.push(ConfigError::OutOfRange {
                field: "cluster_label",
                value: format!("{} bytes", self.cluster_label.len()),
                allowed: "at most 64 bytes",
            });
        }
        if self.electorate.as_ref().is_some_and(BTreeSet::is_empty) {
            errors.push(ConfigError::OutOfRange {
                field: "electorate",
                value: "{}".to_owned(),
                allowed: "at least one voter, or None for the dynamic electorate",
            });
        }
        if let Err(unsafe_quorum) = check_quorum(self.quorum.as_ref()) {
            errors.push(unsafe_quorum.into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(InvalidConfig { errors })
        }
    }

    /// The foca settings these timings translate to. Call on a validated config.
    pub(crate) fn foca_config(&self) -> foca::Config {
        let one = NonZeroUsize::MIN;
        let periodic = |frequency, num_members| {
            Some(foca::PeriodicParams {
                frequency,
                num_members,
            })
        };
        let packet = self
            .max_datagram_size
            .saturating_sub(ENVELOPE_LEN + SEAL_OVERHEAD);
        foca::Config {
            probe_period: self.probe_period,
            probe_rtt: self.probe_rtt,
            num_indirect_probes: NonZeroUsize::new(3).unwrap_or(one),
            max_transmissions: NonZeroU8::new(self.max_transmissions).unwrap_or(NonZeroU8::MIN),
            suspect_to_down_after: self.suspect_to_down_after,
            // Down members are kept far longer than polity counts them, so a node that
            // comes back under an old identity is recognised as down, not as new.
            remove_down_after: Some(self.reap_down_after.saturating_mul(2)),
            max_packet_size: NonZeroUsize::new(packet).unwrap_or(one),
            notify_down_members: true,
            periodic_announce: periodic(self.probe_period.saturating_mul(30), one),
            periodic_announce_to_down_members: periodic(
                self.probe_period.saturating_mul(15),
                NonZeroUsize::new(2).unwrap_or(one),
            ),
            periodic_gossip: periodic(
                self.gossip_interval,
                NonZeroUsize::new(self.gossip_fanout).unwrap_or(one),
            ),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("name", &self.name)
            .field("bind", &self.bind)
            .field("advertise", &self.advertise)
            .field("join", &self.join)
            .field("probe_period", &self.probe_period)
            .field("probe_rtt", &self.probe_rtt)
            .field("suspect_to_down_after", &self.suspect_to_down_after)
            .field("gossip_interval", &self.gossip_interval)
            .field("gossip_fanout", &self.gossip_fanout)
            .field("max_transmissions", &self.max_transmissions)
            .field("max_gossip_backlog", &self.max_gossip_backlog)
            .field("rejoin_interval", &self.rejoin_interval)
            .field("reap_down_after", &self.reap_down_after)
            .field("max_datagram_size", &self.max_datagram_size)
            .field("lease", &self.lease)
            .field("renew_interval", &self.renew_interval)
            .field("renew_deadline", &self.renew_deadline)
            .field("max_drift", &self.max_drift)
            .field("election_timeout", &self.election_timeout)
            .field("preference_delay", &self.preference_delay)
            .field("quorum", &self.quorum)
            .field("electorate", &self.electorate)
            .field("keyring", &self.keyring)
            .field("cluster_label", &self.cluster_label)
            .field("tags", &self.tags)
            .finish()
    }
}
