//! `Config::validate`: every profile is valid, every documented rule is enforced and
//! reported on its own, and several broken rules are all reported at once.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use polity::config::DEFAULT_PORT;
use polity::{
    Config, ConfigError, InvalidConfig, Majority, NodeName, Profile, QuorumPercentage,
    SimpleMajority, UnsafeQuorum,
};

const MS: fn(u64) -> Duration = Duration::from_millis;
const EVERY_PROFILE: [Profile; 3] = [Profile::Lan, Profile::Wan, Profile::Fast];

fn lan() -> Config {
    Config::lan(NodeName::new("n1").expect("valid name"))
}

fn errors(config: &Config) -> Vec<ConfigError> {
    match config.validate() {
        Ok(()) => Vec::new(),
        Err(InvalidConfig { errors }) => errors,
    }
}

fn out_of_range(field: &'static str, value: &str, allowed: &'static str) -> ConfigError {
    ConfigError::OutOfRange {
        field,
        value: value.to_owned(),
        allowed,
    }
}

/// Checks that `change` applied to a lan config breaks exactly `expected`.
#[track_caller]
fn breaks(change: impl FnOnce(&mut Config), expected: Vec<ConfigError>) {
    let mut config = lan();
    change(&mut config);
    assert_eq!(errors(&config), expected, "{config:?}");
    if let Err(invalid) = config.validate() {
        let message = invalid.to_string();
        for error in &expected {
            assert!(message.contains(&error.to_string()), "{message}");
        }
    }
}

/// Checks that `change` applied to a lan config keeps it valid.
#[track_caller]
fn keeps_valid(change: impl FnOnce(&mut Config)) {
    let mut config = lan();
    change(&mut config);
    assert_eq!(config.validate(), Ok(()), "{config:?}");
}

#[test]
fn every_profile_is_valid() {
    for profile in EVERY_PROFILE {
        let name = NodeName::new("n1").expect("valid name");
        let config = Config::new(name.clone(), profile);
        assert_eq!(config.validate(), Ok(()), "{profile}");
        assert_eq!(config.name, name);
        assert_eq!(config.bind.port(), DEFAULT_PORT);
        assert_eq!(config.renew_interval, config.lease / 5);
    }
    for config in [
        Config::lan(NodeName::new("a").expect("valid")),
        Config::wan(NodeName::new("b").expect("valid")),
        Config::fast(NodeName::new("c").expect("valid")),
    ] {
        assert_eq!(config.validate(), Ok(()), "{config:?}");
    }
}

#[test]
fn profiles_have_their_documented_timings() {
    let n = || NodeName::new("n1").expect("valid");
    let lan = Config::lan(n());
    assert_eq!(
        (lan.lease, lan.renew_interval, lan.probe_period),
        (MS(1500), MS(300), MS(1000))
    );
    let wan = Config::wan(n());
    assert_eq!(
        (wan.lease, wan.renew_interval, wan.probe_period),
        (MS(10_000), MS(2000), MS(5000))
    );
    let fast = Config::fast(n());
    assert_eq!(
        (fast.lease, fast.renew_interval, fast.probe_period),
        (MS(300), MS(60), MS(500))
    );
}

#[test]
fn probe_period_must_be_within_10ms_and_60s() {
    let allowed = "10ms..=60s";
    breaks(
        |c| {
            c.probe_period = MS(9);
            c.probe_rtt = MS(1);
        },
        vec![out_of_range("probe_period", "9ms", allowed)],
    );
    breaks(
        |c| c.probe_period = MS(60_001),
        vec![out_of_range("probe_period", "60.001s", allowed)],
    );
    keeps_valid(|c| {
        c.probe_period = MS(10);
        c.probe_rtt = MS(1);
    });
    keeps_valid(|c| c.probe_period = MS(60_000));
}

#[test]
fn probe_rtt_must_be_within_1ms_and_30s() {
    let allowed = "1ms..=30s";
    breaks(
        |c| c.probe_rtt = Duration::ZERO,
        vec![out_of_range("probe_rtt", "0ns", allowed)],
    );
    breaks(
        |c| c.probe_rtt = Duration::from_micros(999),
        vec![out_of_range("probe_rtt", "999µs", allowed)],
    );
    breaks(
        |c| {
            c.probe_period = MS(60_000);
            c.probe_rtt = MS(30_001);
        },
        vec![out_of_range("probe_rtt", "30.001s", allowed)],
    );
    keeps_valid(|c| c.probe_rtt = MS(1));
    keeps_valid(|c| {
        c.probe_period = MS(60_000);
        c.probe_rtt = MS(30_000);
    });
}

#[test]
fn probe_rtt_must_be_shorter_than_probe_period() {
    breaks(
        |c| c.probe_rtt = c.probe_period,
        vec![ConfigError::ProbeRttNotBelowPeriod {
            rtt: MS(1000),
            period: MS(1000),
        }],
    );
    breaks(
        |c| {
            c.probe_period = MS(100);
            c.probe_rtt = MS(200);
        },
        vec![ConfigError::ProbeRttNotBelowPeriod {
            rtt: MS(200),
            period: MS(100),
        }],
    );
    keeps_valid(|c| c.probe_rtt = c.probe_period - Duration::from_nanos(1));
}

#[test]
fn suspect_to_down_after_must_be_within_10ms_and_10min() {
    let allowed = "10ms..=10min";
    breaks(
        |c| c.suspect_to_down_after = MS(9),
        vec![out_of_range("suspect_to_down_after", "9ms", allowed)],
    );
    breaks(
        |c| c.suspect_to_down_after = MS(600_001),
        vec![out_of_range("suspect_to_down_after", "600.001s", allowed)],
    );
    keeps_valid(|c| c.suspect_to_down_after = MS(10));
    keeps_valid(|c| c.suspect_to_down_after = MS(600_000));
}

#[test]
fn gossip_interval_must_be_within_10ms_and_60s() {
    let allowed = "10ms..=60s";
    breaks(
        |c| c.gossip_interval = MS(9),
        vec![out_of_range("gossip_interval", "9ms", allowed)],
    );
    breaks(
        |c| c.gossip_interval = MS(60_001),
        vec![out_of_range("gossip_interval", "60.001s", allowed)],
    );
    keeps_valid(|c| c.gossip_interval = MS(10));
    keeps_valid(|c| c.gossip_interval = MS(60_000));
}

#[test]
fn gossip_fanout_must_be_within_1_and_16() {
    let allowed = "1..=16";
    breaks(
        |c| c.gossip_fanout = 0,
        vec![out_of_range("gossip_fanout", "0", allowed)],
    );
    breaks(
        |c| c.gossip_fanout = 17,
        vec![out_of_range("gossip_fanout", "17", allowed)],
    );
    keeps_valid(|c| c.gossip_fanout = 1);
    keeps_valid(|c| c.gossip_fanout = 16);
}

#[test]
fn max_transmissions_must_be_within_1_and_64() {
    let allowed = "1..=64";
    breaks(
        |c| c.max_transmissions = 0,
        vec![out_of_range("max_transmissions", "0", allowed)],
    );
    breaks(
        |c| c.max_transmissions = 65,
        vec![out_of_range("max_transmissions", "65", allowed)],
    );
    breaks(
        |c| c.max_transmissions = u8::MAX,
        vec![out_of_range("max_transmissions", "255", allowed)],
    );
    keeps_valid(|c| c.max_transmissions = 1);
    keeps_valid(|c| c.max_transmissions = 64);
}

#[test]
fn rejoin_interval_must_be_within_10ms_and_10min() {
    let allowed = "10ms..=10min";
    breaks(
        |c| c.rejoin_interval = MS(9),
        vec![out_of_range("rejoin_interval", "9ms", allowed)],
    );
    breaks(
        |c| c.rejoin_interval = MS(600_001),
        vec![out_of_range("rejoin_interval", "600.001s", allowed)],
    );
    keeps_valid(|c| c.rejoin_interval = MS(10));
    keeps_valid(|c| c.rejoin_interval = MS(600_000));
}

#[test]
fn reap_down_after_must_be_within_1s_and_30_days() {
    let allowed = "1s..=30days";
    let days_30 = Duration::from_secs(30 * 24 * 60 * 60);
    breaks(
        |c| c.reap_down_after = MS(999),
        vec![out_of_range("reap_down_after", "999ms", allowed)],
    );
    breaks(
        |c| c.reap_down_after = days_30 + MS(1),
        vec![out_of_range("reap_down_after", "2592000.001s", allowed)],
    );
    keeps_valid(|c| c.reap_down_after = MS(1000));
    keeps_valid(|c| c.reap_down_after = days_30);
}

#[test]
fn max_datagram_size_must_be_within_576_and_65507() {
    let allowed = "576..=65507";
    breaks(
        |c| c.max_datagram_size = 575,
        vec![out_of_range("max_datagram_size", "575", allowed)],
    );
    breaks(
        |c| c.max_datagram_size = 65_508,
        vec![out_of_range("max_datagram_size", "65508", allowed)],
    );
    breaks(
        |c| c.max_datagram_size = 0,
        vec![out_of_range("max_datagram_size", "0", allowed)],
    );
    keeps_valid(|c| c.max_datagram_size = 576);
    keeps_valid(|c| c.max_datagram_size = 65_507);
}

#[test]
fn lease_must_be_within_50ms_and_1h() {
    let allowed = "50ms..=1h";
    breaks(
        |c| {
            c.lease = MS(49);
            c.renew_interval = MS(10);
            c.election_timeout = MS(10);
        },
        vec![out_of_range("lease", "49ms", allowed)],
    );
    breaks(
        |c| c.lease = MS(3_600_001),
        vec![out_of_range("lease", "3600.001s", allowed)],
    );
    keeps_valid(|c| {
        c.lease = MS(50);
        c.renew_interval = MS(10);
        c.renew_deadline = MS(25);
        c.election_timeout = MS(10);
    });
    keeps_valid(|c| c.lease = MS(3_600_000));
}

#[test]
fn renew_interval_must_be_within_1ms_and_1h() {
    let allowed = "1ms..=1h";
    breaks(
        |c| c.renew_interval = Duration::ZERO,
        vec![out_of_range("renew_interval", "0ns", allowed)],
    );
    breaks(
        |c| c.renew_interval = Duration::from_micros(999),
        vec![out_of_range("renew_interval", "999µs", allowed)],
    );
    // Above an hour, the renewal is also too slow for any lease allowed (at most 1 h),
    // so this bound is never broken alone.
    breaks(
        |c| {
            c.lease = MS(3_600_000);
            c.renew_interval = MS(3_600_001);
        },
        vec![
            out_of_range("renew_interval", "3600.001s", allowed),
            ConfigError::RenewTooSlow {
                renew_interval: MS(3_600_001),
                holder_lease: MS(3_204_000),
            },
        ],
    );
    keeps_valid(|c| c.renew_interval = MS(1));
}

#[test]
fn renewal_must_fit_twice_in_the_holder_lease() {
    // lan: lease 1.5 s, max_drift 0.1 and a 1% margin, so the holder's own lease is
    // 1.335 s.
    let holder_lease = lan().holder_lease();
    assert_eq!(holder_lease, MS(1335));
    breaks(
        |c| c.renew_interval = MS(668),
        vec![ConfigError::RenewTooSlow {
            renew_interval: MS(668),
            holder_lease,
        }],
    );
    keeps_valid(|c| c.renew_interval = MS(667));
    // A larger drift shortens the holder's lease: at 0.4 it is 885 ms.
    breaks(
        |c| {
            c.max_drift = 0.4;
            c.renew_interval = MS(443);
        },
        vec![ConfigError::RenewTooSlow {
            renew_interval: MS(443),
            holder_lease: MS(885),
        }],
    );
    keeps_valid(|c| {
        c.max_drift = 0.4;
        c.renew_interval = MS(442);
    });
}

#[test]
fn renew_deadline_must_be_within_renew_interval_and_the_holder_lease() {
    // lan: renew_interval 300 ms, holder's lease 1.335 s, default deadline 750 ms.
    assert_eq!(lan().renew_deadline, MS(750));
    let out_of_range = |renew_deadline| ConfigError::RenewDeadlineOutOfRange {
        renew_deadline,
        renew_interval: MS(300),
        holder_lease: MS(1335),
    };
    breaks(|c| c.renew_deadline = MS(299), vec![out_of_range(MS(299))]);
    breaks(
        |c| c.renew_deadline = MS(1335),
        vec![out_of_range(MS(1335))],
    );
    keeps_valid(|c| c.renew_deadline = MS(300));
    keeps_valid(|c| c.renew_deadline = MS(1334));
    let message = out_of_range(MS(299)).to_string();
    assert!(message.contains("renew_deadline (299ms)"), "{message}");
    assert!(message.contains("holder's lease (1.335s)"), "{message}");
}

#[test]
fn election_timeout_must_be_within_1ms_and_the_lease() {
    let allowed = "1ms..=lease";
    breaks(
        |c| c.election_timeout = Duration::ZERO,
        vec![out_of_range("election_timeout", "0ns", allowed)],
    );
    breaks(
        |c| c.election_timeout = MS(1501),
        vec![out_of_range("election_timeout", "1.501s", allowed)],
    );
    keeps_valid(|c| c.election_timeout = MS(1));
    keeps_valid(|c| c.election_timeout = MS(1500));
}

#[test]
fn a_fixed_electorate_must_not_be_empty() {
    breaks(
        |c| c.electorate = Some(Default::default()),
        vec![out_of_range(
            "electorate",
            "{}",
            "at least one voter, or None for the dynamic electorate",
        )],
    );
    keeps_valid(|c| c.electorate = Some([NodeName::new("n1").unwrap()].into()));
}

#[test]
fn max_drift_must_be_at_least_0_and_below_one_half() {
    let allowed = "0.0..0.5";
    breaks(
        |c| c.max_drift = -0.1,
        vec![out_of_range("max_drift", "-0.1", allowed)],
    );
    breaks(
        |c| c.max_drift = 0.5,
        vec![out_of_range("max_drift", "0.5", allowed)],
    );
    breaks(
        |c| c.max_drift = f64::INFINITY,
        vec![out_of_range("max_drift", "inf", allowed)],
    );
    keeps_valid(|c| c.max_drift = 0.0);
    keeps_valid(|c| {
        c.max_drift = 0.49;
        c.renew_deadline = MS(700);
    });
}

/// `validate` must report a NaN drift like any other bad value. It computes the
/// holder's lease as `lease.mul_f64(1.0 - max_drift.clamp(0.0, 0.5))`, and `clamp`
/// passes NaN through, so `Duration::mul_f64` is handed NaN.
#[test]
fn a_nan_max_drift_is_reported_not_a_panic() {
    let result = std::panic::catch_unwind(|| {
        let mut config = lan();
        config.max_drift = f64::NAN;
        errors(&config)
    });
    let errors = result.expect("validate panicked on max_drift = NaN");
    assert_eq!(errors, vec![out_of_range("max_drift", "NaN", "0.0..0.5")]);
}

/// The same computation overflows for a lease near `Duration::MAX` with no drift:
/// `Duration::MAX.as_secs_f64()` rounds up to 2^64 seconds, which `Duration` cannot hold.
#[test]
fn an_enormous_lease_is_reported_not_a_panic() {
    let result = std::panic::catch_unwind(|| {
        let mut config = lan();
        config.lease = Duration::MAX;
        config.max_drift = 0.0;
        errors(&config)
    });
    let errors = result.expect("validate panicked on lease = Duration::MAX");
    assert_eq!(
        errors,
        vec![out_of_range(
            "lease",
            &format!("{:?}", Duration::MAX),
            "50ms..=1h"
        )]
    );
}

#[test]
fn an_unsafe_quorum_names_the_first_bad_population() {
    let cases: Vec<(Arc<dyn polity::QuorumFunc>, UnsafeQuorum)> = vec![
        (
            Arc::new((|n| n / 2) as fn(usize) -> usize),
            UnsafeQuorum {
                population: 1,
                required: 0,
            },
        ),
        (
            Arc::new(QuorumPercentage::new(0.3, 1)),
            UnsafeQuorum {
                population: 2,
                required: 1,
            },
        ),
        (
            // Safe up to 9 members, then it asks for only 5 of 10.
            Arc::new((|n: usize| if n < 10 { n / 2 + 1 } else { n / 2 }) as fn(usize) -> usize),
            UnsafeQuorum {
                population: 10,
                required: 5,
            },
        ),
    ];
    for (quorum, expected) in cases {
        let mut config = lan();
        config.quorum = quorum;
        assert_eq!(
            errors(&config),
            vec![ConfigError::UnsafeQuorum(expected.clone())]
        );
        let message = config.validate().expect_err("unsafe").to_string();
        assert!(
            message.contains(&format!("population of {}", expected.population)),
            "{message}"
        );
    }
    for quorum in [
        Arc::new(Majority) as Arc<dyn polity::QuorumFunc>,
        Arc::new(SimpleMajority),
        Arc::new(QuorumPercentage::new(0.75, 1)),
        Arc::new((|n| n + 1) as fn(usize) -> usize),
    ] {
        let mut config = lan();
        config.quorum = quorum;
        assert_eq!(config.validate(), Ok(()));
    }
}

#[test]
fn every_broken_rule_is_reported_at_once() {
    let mut config = lan();
    config.probe_period = MS(5);
    config.probe_rtt = MS(50);
    config.suspect_to_down_after = MS(1);
    config.gossip_interval = MS(120_000);
    config.gossip_fanout = 0;
    config.max_transmissions = 100;
    config.rejoin_interval = Duration::ZERO;
    config.reap_down_after = MS(10);
    config.max_datagram_size = 100;
    config.lease = MS(10);
    config.renew_interval = Duration::ZERO;
    config.max_drift = 0.7;
    config.quorum = Arc::new((|_| 1) as fn(usize) -> usize);
    let expected = vec![
        out_of_range("probe_period", "5ms", "10ms..=60s"),
        out_of_range("suspect_to_down_after", "1ms", "10ms..=10min"),
        out_of_range("gossip_interval", "120s", "10ms..=60s"),
        out_of_range("rejoin_interval", "0ns", "10ms..=10min"),
        out_of_range("reap_down_after", "10ms", "1s..=30days"),
        out_of_range("lease", "10ms", "50ms..=1h"),
        out_of_range("renew_interval", "0ns", "1ms..=1h"),
        out_of_range("gossip_fanout", "0", "1..=16"),
        out_of_range("max_transmissions", "100", "1..=64"),
        out_of_range("max_datagram_size", "100", "576..=65507"),
        out_of_range("max_drift", "0.7", "0.0..0.5"),
        ConfigError::ProbeRttNotBelowPeriod {
            rtt: MS(50),
            period: MS(5),
        },
        out_of_range("election_timeout", "300ms", "1ms..=lease"),
        ConfigError::UnsafeQuorum(UnsafeQuorum {
            population: 2,
            required: 1,
        }),
    ];
    let invalid = config.validate().expect_err("many rules broken");
    assert_eq!(invalid.errors, expected);
    let message = invalid.to_string();
    assert!(message.starts_with("invalid config: "), "{message}");
    for error in &expected {
        assert!(message.contains(&error.to_string()), "{message}");
    }
    assert_eq!(
        message.matches("; ").count(),
        expected.len() - 1,
        "{message}"
    );
}

#[test]
fn two_broken_rules_are_both_reported() {
    breaks(
        |c| {
            c.gossip_fanout = 17;
            c.probe_rtt = MS(2000);
        },
        vec![
            out_of_range("gossip_fanout", "17", "1..=16"),
            ConfigError::ProbeRttNotBelowPeriod {
                rtt: MS(2000),
                period: MS(1000),
            },
        ],
    );
}

#[test]
fn error_messages_name_the_field_the_value_and_the_rule() {
    let message = out_of_range("gossip_fanout", "17", "1..=16").to_string();
    assert_eq!(
        message,
        "gossip_fanout = 17 is out of range: allowed 1..=16"
    );
    let message = ConfigError::ProbeRttNotBelowPeriod {
        rtt: MS(2000),
        period: MS(1000),
    }
    .to_string();
    assert!(message.contains("probe_rtt (2s)"), "{message}");
    assert!(message.contains("probe_period (1s)"), "{message}");
    let message = ConfigError::RenewTooSlow {
        renew_interval: MS(700),
        holder_lease: MS(1350),
    }
    .to_string();
    assert!(message.contains("renew_interval (700ms)"), "{message}");
    assert!(message.contains("1.35s"), "{message}");
}

#[test]
fn profile_names_parse() {
    for profile in EVERY_PROFILE {
        let text = profile.to_string();
        assert_eq!(Profile::from_str(&text), Ok(profile));
    }
    assert_eq!("lan".parse::<Profile>(), Ok(Profile::Lan));
    assert_eq!("wan".parse::<Profile>(), Ok(Profile::Wan));
    assert_eq!("fast".parse::<Profile>(), Ok(Profile::Fast));
    assert_eq!(Profile::default(), Profile::Lan);
}

#[test]
fn unknown_profile_names_are_refused_naming_the_value() {
    for bad in [
        "", "LAN", "Lan", " lan", "lan ", "slow", "wan2", "fastest", "☃",
    ] {
        let error = Profile::from_str(bad).expect_err(bad);
        assert!(error.contains(&format!("{bad:?}")), "{error}");
        assert!(error.contains("lan, wan or fast"), "{error}");
    }
}
