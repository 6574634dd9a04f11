//! Candidates in a minority lose election after election and withdraw their ballots,
//! the withdrawals crossing the next vote requests; then a node whose clock fell behind
//! campaigns. Terms must still rise (S2): a term granted later is above every term
//! granted before, whatever was withdrawn in between.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::RoleName;
use polity::sim::{Draws, Sim, SimConfig, for_each_seed, sweep_seeds};

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);

/// A voter that voted, in turn, for two losing candidates (one of them itself) and then
/// got their withdrawals out of order once went back to no promise at all, and granted
/// a ballot below the term the last holder had won (a fencing token going backwards).
#[test]
fn withdrawals_crossing_in_a_minority_never_let_a_lower_term_win_later() {
    for_each_seed("crossing_withdrawals", sweep_seeds(200), |seed| {
        let mut config = SimConfig::lan(5, seed);
        config.record_trace = false;
        let mut sim = Sim::new(config);
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("membership did not converge")?;
        // n0 and n1 are cut off from the start: their clocks see none of the terms that
        // follow.
        sim.partition(&[0, 1], &[2, 3, 4]);
        sim.run_for(sim.config(0).lease);
        let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
        // The role moves a few times (elections, no campaigns left running), so its
        // term is well above n1's clock.
        for next in [2, 3, 4, 2, 3, 4] {
            if let Some(&(holder, _)) = sim.holders(&role).first() {
                let _ = sim.resign(holder, &role);
            }
            sim.elect(next, &role);
            sim.run_until(2 * SECOND, |sim| sim.holders(&role).len() == 1)
                .ok_or("nobody won")?;
        }
        // The holder resigns and a partition leaves n2 and n4 without a quorum. n2's vote
        // request reaches n4, then n2 freezes in the middle of its election; once that
        // vote has run out n4 runs (and loses) an election of its own, and only then
        // does n2 resume, lose, and withdraw.
        if let Some(&(holder, _)) = sim.holders(&role).first() {
            let _ = sim.resign(holder, &role);
        }
        sim.partition(&[3], &[2, 4]);
        let mut draws = Draws::new(seed);
        let mut draw = |n: u64| draws.below(n);
        let lease = sim.config(0).lease;
        for _ in 0..3 {
            sim.elect(2, &role);
            sim.run_for(MS * draw(300) as u32);
            let freeze = lease + MS * (300 + draw(400) as u32);
            sim.pause(2, freeze);
            sim.run_for(lease + MS * (10 + draw(50) as u32));
            sim.elect(4, &role);
            sim.run_for(freeze);
        }
        sim.run_for(lease);
        // Everything heals and n1, whose clock is far behind, asks first: n0 and n1
        // grant its ballot, and no third voter may.
        sim.heal();
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("membership did not converge after healing")?;
        sim.elect(1, &role);
        sim.run_for(SECOND);
        for node in 0..5 {
            sim.campaign(node, &role);
        }
        sim.run_until(20 * SECOND, |sim| {
            sim.converged() && sim.holders(&role).len() == 1
        })
        .ok_or_else(|| format!("not settled: {:?}", sim.holders(&role)))?;
        sim.check()
    });
}
