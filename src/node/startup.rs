//! What a node reads from the operating system when it starts: the address it advertises,
//! the wall-clock time for its generation and clock floor, and a random seed.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::StartError;
use crate::clock::LamportTime;
use crate::config::Config;
use crate::core::Startup;

/// The [`Startup`] of a node whose socket is bound to `bound`, and whose Lamport clock
/// stood at `saved_clock` when it last saved its state, if it did.
pub(crate) fn startup(
    config: &Config,
    bound: SocketAddr,
    saved_clock: Option<LamportTime>,
) -> Result<Startup, StartError> {
    let floor = clock_floor(wall_clock_micros(), saved_clock);
    Ok(Startup {
        addr: advertised_addr(config, bound)?,
        generation: floor,
        rng_seed: rand::random::<u64>(),
        clock_floor: floor,
    })
}

/// The floor of a starting node's clock and generation: the wall-clock time in
/// microseconds, or just above the clock it saved before, whichever is higher. The
/// generation is therefore above every earlier one (each was below that start's clock),
/// and terms keep growing even if the wall clock was set back.
pub(crate) fn clock_floor(wall_clock_micros: u64, saved_clock: Option<LamportTime>) -> u64 {
    let after_saved = saved_clock.map_or(0, |saved| saved.get().saturating_add(1));
    wall_clock_micros.max(after_saved)
}

/// The address other members reach this node on: `config.advertise` if set; else the
/// bound address if its IP is specific; else the local IP that routes towards the first
/// join address, with the bound port.
pub(crate) fn advertised_addr(
    config: &Config,
    bound: SocketAddr,
) -> Result<SocketAddr, StartError> {
    if let Some(advertise) = config.advertise {
        return Ok(advertise);
    }
    if !bound.ip().is_unspecified() {
        return Ok(bound);
    }
    let Some(&seed) = config.join.first() else {
        return Err(StartError::NoAdvertiseAddress {
            bind: bound,
            route_error: None,
        });
    };
    match local_ip_towards(seed) {
        Ok(ip) => Ok(SocketAddr::new(ip, bound.port())),
        Err(error) => Err(StartError::NoAdvertiseAddress {
            bind: bound,
            route_error: Some(error),
        }),
    }
}

/// The local IP the operating system would send from to reach `to`. Connecting a UDP
/// socket only picks a route; no packet is sent.
fn local_ip_towards(to: SocketAddr) -> io::Result<IpAddr> {
    let any: IpAddr = match to {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let probe = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    probe.connect(to)?;
    let ip = probe.local_addr()?.ip();
    if ip.is_unspecified() {
        return Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("no local address routes to {to}"),
        ));
    }
    Ok(ip)
}

/// Microseconds since the UNIX epoch by the wall clock; 0 if the clock is set before
/// 1970, `u64::MAX` past the year 586 000.
pub(crate) fn wall_clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeName;

    fn config() -> Config {
        Config::lan(NodeName::new("n").unwrap())
    }

    #[test]
    fn advertise_wins() {
        let mut config = config();
        let advertise: SocketAddr = "192.0.2.7:9000".parse().unwrap();
        config.advertise = Some(advertise);
        let bound = "0.0.0.0:7700".parse().unwrap();
        assert_eq!(advertised_addr(&config, bound).unwrap(), advertise);
    }

    #[test]
    fn a_specific_bind_is_advertised_as_is() {
        let bound = "127.0.0.1:7701".parse().unwrap();
        assert_eq!(advertised_addr(&config(), bound).unwrap(), bound);
    }

    #[test]
    fn a_wildcard_bind_uses_the_route_to_the_first_seed() {
        let mut config = config();
        config.join = vec!["127.0.0.1:7702".parse().unwrap()];
        let bound = "0.0.0.0:7703".parse().unwrap();
        let addr = advertised_addr(&config, bound).unwrap();
        assert_eq!(addr, "127.0.0.1:7703".parse().unwrap());
    }

    #[test]
    fn a_wildcard_bind_without_seeds_is_refused() {
        let bound = "0.0.0.0:7704".parse().unwrap();
        let error = advertised_addr(&config(), bound).unwrap_err();
        assert!(matches!(error, StartError::NoAdvertiseAddress { .. }));
        assert!(error.to_string().contains("set `advertise`"));
    }

    #[test]
    fn the_clock_floor_is_above_the_saved_clock_and_the_wall_clock() {
        assert_eq!(clock_floor(100, None), 100);
        assert_eq!(clock_floor(100, Some(LamportTime(7))), 100);
        assert_eq!(clock_floor(100, Some(LamportTime(100))), 101);
        assert_eq!(clock_floor(100, Some(LamportTime(u64::MAX))), u64::MAX);
    }

    #[test]
    fn the_wall_clock_is_past_2020() {
        assert!(wall_clock_micros() > 1_577_836_800_000_000);
    }
}
