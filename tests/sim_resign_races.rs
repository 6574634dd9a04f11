//! A holder that resigns and at once campaigns again, while its last renewals, its
//! release and its new vote requests overtake one another on the network: the
//! schedules in which the randomised sweep once found two holders.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::RoleName;
use polity::sim::{Draws, Faults, Sim, SimConfig, for_each_seed, sweep_seeds};

const MS: Duration = Duration::from_millis(1);

/// A renewal of the term a holder just resigned, delayed past the holder's vote request
/// for its next term, must not replace the vote that request won: the resignation that
/// follows would then drop the vote while the new election counts it, and a rival
/// could win with the same voter (two holders, 15 to 120 ms at once before the fix).
#[test]
fn a_holder_resigning_and_campaigning_again_under_reordering_makes_one_holder() {
    for_each_seed("resign_and_campaign_again", sweep_seeds(300), |seed| {
        let mut config = SimConfig::lan(5, seed);
        config.record_trace = false;
        let mut sim = Sim::new(config);
        sim.run_until(10 * Duration::from_secs(1), Sim::converged)
            .ok_or("membership did not converge")?;
        sim.run_for(sim.config(0).lease);
        let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
        for node in 0..5 {
            sim.campaign(node, &role);
        }
        sim.run_until(Duration::from_secs(2), |sim| sim.holders(&role).len() == 1)
            .ok_or("nobody won")?;
        // Reordering within 30 ms, duplicates, no loss: every message arrives, in any
        // order.
        sim.set_faults(Faults {
            duplicate: 0.1,
            max_delay: 30 * MS,
            ..Faults::default()
        });
        let renew = sim.config(0).renew_interval;
        let mut draws = Draws::new(seed);
        for _ in 0..10 {
            let pick = draws.next_u64();
            // Resign at a random point of the renewal interval, so that some rounds
            // are still on their way.
            sim.run_for(renew.mul_f64((pick % 1000) as f64 / 1000.0));
            if let Some(&(holder, _)) = sim.holders(&role).first() {
                let _ = sim.resign(holder, &role);
                sim.campaign(holder, &role);
            }
            for node in 0..5 {
                sim.campaign(node, &role);
            }
            sim.run_for(Duration::from_millis(400 + pick % 400));
        }
        sim.set_faults(Faults::default());
        sim.run_until(Duration::from_secs(10), |sim| sim.holders(&role).len() == 1)
            .ok_or_else(|| format!("not settled: {:?}", sim.holders(&role)))?;
        sim.check()
    });
}
