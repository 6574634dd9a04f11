//! Many roles on one holder, in the simulator: thousands elected within seconds, all
//! renewed with none lost, in datagrams that fit, at a steady cost close to that of
//! holding one role (renewal by held-set version).
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed};
use polity::{LamportTime, RoleName};

const SECOND: Duration = Duration::from_secs(1);

fn role(n: usize) -> RoleName {
    RoleName::new(format!("shard-{n:05}")).unwrap_or_else(|e| panic!("shard-{n}: {e}"))
}

/// What one run measured.
struct Steady {
    /// Datagrams the holder sent, and those one voter received, over the window.
    holder_sent: u64,
    voter_received: u64,
}

/// Five nodes; node 0 elects `count` roles at once, then holds them for `window` while
/// the datagrams are counted. Every role must stay held by node 0 at the term it won
/// (the checker makes sure nobody else holds it), no datagram may be refused as
/// oversized or malformed, and the checker must find nothing.
fn hold(seed: u64, count: usize, window: Duration, loss: f64) -> Result<Steady, String> {
    let mut sim = Sim::new(SimConfig::lan(5, seed));
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    sim.set_faults(Faults {
        loss,
        ..Faults::default()
    });
    let roles: Vec<RoleName> = (0..count).map(role).collect();
    let asked_at = sim.now();
    // 250 requests every 100 ms: one voter's replay window (512 message times per
    // sender) would refuse datagrams of one burst reordered deeper than that.
    for batch in roles.chunks(250) {
        for r in batch {
            sim.elect(0, r).ok_or("node 0 is down")?;
        }
        sim.run_for(SECOND / 10);
    }
    let held = |sim: &Sim| -> Vec<(RoleName, LamportTime)> {
        sim.core(0).map_or_else(Vec::new, |c| {
            c.held_roles().into_iter().map(|(r, t, _)| (r, t)).collect()
        })
    };
    let all_held = sim
        .run_until(10 * SECOND, |sim| held(sim).len() == count)
        .map(|_| sim.now() - asked_at)
        .filter(|took| *took <= 10 * SECOND);
    let took = all_held.ok_or_else(|| format!("{count} roles were not all held within 10 s"))?;
    eprintln!("{count} roles held {took:?} after the first request");
    let terms = held(&sim);
    // Settle: every voter gets the whole set once, then only its version, and gossip
    // has carried every `Elected` its `max_transmissions` times (about a minute for
    // 3,000 roles, at `gossip_fanout` packets every `gossip_interval`).
    sim.run_for(90 * SECOND);
    let sent = |sim: &Sim, i| sim.core(i).map_or(0, |c| c.stats().datagrams_sent);
    let received = |sim: &Sim, i| sim.core(i).map_or(0, |c| c.stats().datagrams_received);
    let (sent_before, received_before) = (sent(&sim, 0), received(&sim, 1));
    sim.run_for(window);
    let steady = Steady {
        holder_sent: sent(&sim, 0) - sent_before,
        voter_received: received(&sim, 1) - received_before,
    };
    if held(&sim) != terms {
        return Err("a role held by node 0 was lost or changed term".into());
    }
    for i in 0..5 {
        let stats = sim.core(i).ok_or("a node is down")?.stats();
        if stats.rejected_oversized > 0 || stats.rejected_malformed > 0 {
            return Err(format!("n{i} refused datagrams: {stats:?}"));
        }
    }
    sim.check()?;
    Ok(steady)
}

/// 3,000 roles held by one node cost it, and a voter, at most half as many datagrams
/// again as one role does: a renewal names the held set's version, not every role, and
/// the holder re-announces a few roles each lease, in turn.
// About 4 minutes in release: `cargo test --release --all-features --test sim_many_roles
// -- --ignored`.
#[test]
#[ignore = "minutes long: run in release with --ignored"]
fn renewing_thousands_of_roles_costs_what_renewing_one_does() {
    for_each_seed(
        "renewing_thousands_of_roles_costs_what_renewing_one_does",
        0..2,
        |seed| {
            let window = 30 * SECOND;
            let one = hold(seed, 1, window, 0.0)?;
            let many = hold(seed, 3000, window, 0.0)?;
            eprintln!(
                "over {window:?}: holder sent {} / {}, voter received {} / {} (1 / 3000 roles)",
                one.holder_sent, many.holder_sent, one.voter_received, many.voter_received
            );
            for (what, a, b) in [
                ("holder sent", one.holder_sent, many.holder_sent),
                ("voter received", one.voter_received, many.voter_received),
            ] {
                if b * 2 > a * 3 {
                    return Err(format!("{what} {b} datagrams for 3000 roles, {a} for one"));
                }
            }
            Ok(())
        },
    );
}

/// 300 roles on one holder under 5% loss: voters that miss a chunk or a renewal by
/// version fall back to the list, and no role is lost.
#[test]
fn hundreds_of_roles_are_kept_under_loss() {
    for_each_seed("hundreds_of_roles_are_kept_under_loss", 0..2, |seed| {
        hold(seed, 300, 20 * SECOND, 0.05).map(|_| ())
    });
}
