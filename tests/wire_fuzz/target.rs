//! The target: core "a", which has joined core "b" and elected roles with it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use polity::{Config, Core, RoleName, RoleState, Startup};

use crate::helpers::{local, name, role};

pub(crate) const A_PORT: u16 = 7001;
pub(crate) const B_PORT: u16 = 7002;

/// The role "a" holds, the one "b" holds, and the ones "a" has asked about and is still
/// waiting for answers on.
pub(crate) const HELD_BY_A: &str = "held-by-a";
pub(crate) const HELD_BY_B: &str = "held-by-b";
pub(crate) const PENDING: &str = "pending-election";

fn core(node: &str, port: u16, join: Vec<SocketAddr>, seed: u64, now: Instant) -> Core {
    let mut config = Config::lan(name(node));
    config.bind = local(port);
    config.join = join;
    let startup = Startup {
        addr: local(port),
        generation: 1,
        rng_seed: seed,
        clock_floor: 1_000,
    };
    Core::new(config, startup, now).expect("valid config")
}

/// Delivers what "a" and "b" send each other at `now` until both are quiet (or, with
/// `withhold`, delivers what "a" sends and keeps what "b" answers). Returns every
/// datagram "b" sent to "a".
fn settle(a: &mut Core, b: &mut Core, now: Instant, withhold: bool) -> Vec<Vec<u8>> {
    let mut from_b = Vec::new();
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            moved = true;
            b.handle_datagram(now, local(A_PORT), &t.bytes);
        }
        while let Some(t) = b.poll_transmit() {
            if !withhold {
                moved = true;
                a.handle_datagram(now, local(B_PORT), &t.bytes);
            }
            from_b.push(t.bytes);
        }
        if !moved {
            return from_b;
        }
    }
}

/// Runs both cores' timers up to `until`, delivering everything in between.
fn run_pair(a: &mut Core, b: &mut Core, now: &mut Instant, until: Instant) -> Vec<Vec<u8>> {
    let mut from_b = Vec::new();
    loop {
        from_b.extend(settle(a, b, *now, false));
        match [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        {
            Some(next) if next <= until => {
                *now = next.max(*now);
                a.handle_timeout(*now);
                b.handle_timeout(*now);
            }
            _ => {
                *now = until;
                return from_b;
            }
        }
    }
}

/// The target with "b", every datagram "b" sent it (answers it never received
/// included), and the time the target has reached.
pub(crate) struct Target {
    pub(crate) a: Core,
    pub(crate) b: Core,
    pub(crate) from_b: Vec<Vec<u8>>,
    pub(crate) now: Instant,
}

/// Builds the target from scratch, the same way every time: "a" announces itself to
/// "b", "b" answers with a feed, and "a" has one live member. Once past their quiet
/// time "a" and "b" each win a role; then "a" starts an election, a query and a recall
/// whose answers "b" gives but "a" never gets.
pub(crate) fn joined_target(base: Instant) -> Target {
    let mut a = core("a", A_PORT, vec![local(B_PORT)], 11, base);
    let mut b = core("b", B_PORT, Vec::new(), 22, base);
    let mut from_b = settle(&mut a, &mut b, base, false);
    assert!(a.is_connected(), "the target joined");
    assert_eq!(a.population(), 2);

    let mut now = base;
    let quiet = a.config().lease + Duration::from_millis(100);
    from_b.extend(run_pair(&mut a, &mut b, &mut now, base + quiet));
    a.elect(now, role(HELD_BY_A));
    from_b.extend(settle(&mut a, &mut b, now, false));
    b.elect(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, false));
    a.elect(now, role(PENDING));
    from_b.extend(settle(&mut a, &mut b, now, true));
    a.query_role(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, true));
    a.recall(now, role(HELD_BY_B));
    from_b.extend(settle(&mut a, &mut b, now, true));

    while a.poll_event().is_some() {}
    while a.poll_completion().is_some() {}
    let held: Vec<RoleName> = a.held_roles().into_iter().map(|(r, ..)| r).collect();
    assert_eq!(held, [role(HELD_BY_A)], "the target won its role");
    assert!(
        matches!(a.role_state(&role(HELD_BY_B)), RoleState::Held { holder, .. } if holder == name("b")),
        "the target knows who holds the other role"
    );
    Target { a, b, from_b, now }
}
