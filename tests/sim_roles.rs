//! Role elections in the simulator, every scenario asserting the checker's verdict
//! (S1 one holder, S2 rising terms, S3 quorum, S5 monotonic views) over many seeds.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Sim, SimConfig, for_each_seed};
use polity::{Completion, NodeName, RoleName, RoleState};

const SECOND: Duration = Duration::from_secs(1);

fn role(name: &str) -> RoleName {
    RoleName::new(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A converged cluster past every node's quiet time after start.
fn ready(config: SimConfig) -> Result<Sim, String> {
    let mut sim = Sim::new(config);
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    let quiet = sim.config(0).lease;
    sim.run_for(quiet);
    Ok(sim)
}

fn one_holder(sim: &Sim, r: &RoleName) -> Option<usize> {
    match sim.holders(r).as_slice() {
        [(node, _)] => Some(*node),
        _ => None,
    }
}

#[test]
fn five_nodes_elect_one_scheduler_and_agree_on_it() {
    for_each_seed("five_nodes_elect_one_scheduler", 0..50, |seed| {
        let mut sim = ready(SimConfig::lan(5, seed))?;
        let r = role("scheduler");
        let id = sim.elect(2, &r).ok_or("n2 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(2, id).is_some())
            .ok_or("the election did not finish within 1 s")?;
        let term = match sim.completion(2, id) {
            Some(Completion::Elect {
                result: Ok(term), ..
            }) => *term,
            other => return Err(format!("election failed: {other:?}")),
        };
        if one_holder(&sim, &r) != Some(2) {
            return Err(format!("holders {:?}", sim.holders(&r)));
        }
        // Every node learns the holder.
        let expected = RoleState::Held {
            holder: NodeName::new("n2").map_err(|e| e.to_string())?,
            term,
        };
        sim.run_until(SECOND, |sim| {
            (0..5).all(|i| sim.core(i).is_some_and(|c| c.role_state(&r) == expected))
        })
        .ok_or("views did not agree within 1 s")?;
        // A second candidate loses to the holder, by name.
        let id = sim.elect(4, &r).ok_or("n4 is down")?;
        sim.run_until(SECOND, |sim| sim.completion(4, id).is_some())
            .ok_or("the second election did not finish")?;
        match sim.completion(4, id) {
            Some(Completion::Elect {
                result: Err(polity::RoleError::Lost { holder, term: t }),
                ..
            }) if holder.as_str() == "n2" && *t == term => {}
            other => return Err(format!("second candidate: {other:?}")),
        }
        sim.run_for(10 * SECOND);
        if one_holder(&sim, &r) != Some(2) {
            return Err(format!("the role moved: {:?}", sim.holders(&r)));
        }
        sim.check()
    });
}
