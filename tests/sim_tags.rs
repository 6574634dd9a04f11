//! Member tags in the simulator: set at start and at run time, they reach every member,
//! a member that joins later and one that restarts, under loss, and a newer change is
//! never replaced by an older one.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed};
use polity::{NodeName, Tags};

const SECOND: Duration = Duration::from_secs(1);

fn tags(pairs: &[(&str, &str)]) -> Tags {
    let mut tags = Tags::new();
    for (k, v) in pairs {
        tags.insert(*k, *v)
            .unwrap_or_else(|e| panic!("{k}={v}: {e}"));
    }
    tags
}

/// The tags node `by` knows of the member named `of`, if it knows the member.
fn seen(sim: &Sim, by: usize, of: &NodeName) -> Option<Tags> {
    let core = sim.core(by)?;
    core.members()
        .into_iter()
        .find(|m| m.id.name() == of)
        .map(|m| m.tags)
}

fn all_see(sim: &Sim, of: usize, want: &Tags) -> bool {
    let name = sim.name(of);
    (0..sim.len())
        .filter(|&i| sim.is_running(i))
        .all(|i| seen(sim, i, &name).as_ref() == Some(want))
}

fn scenario(seed: u64) -> Result<(), String> {
    let mut config = SimConfig::lan(5, seed);
    config.template.tags = tags(&[("zone", "a")]);
    let mut sim = Sim::new(config);
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.set_faults(Faults {
        loss: 0.05,
        ..Faults::default()
    });
    let start = tags(&[("zone", "a")]);
    sim.run_until(5 * SECOND, |s| (0..5).all(|i| all_see(s, i, &start)))
        .ok_or("the tags set at start did not reach every member")?;

    // Changes at run time, one after another: every member ends on the last.
    for n in 0..5 {
        let value = format!("v{n}");
        sim.set_tags(0, tags(&[("zone", "b"), ("api", &value)]));
    }
    let last = tags(&[("zone", "b"), ("api", "v4")]);
    sim.run_until(5 * SECOND, |s| all_see(s, 0, &last))
        .ok_or("a change of tags did not reach every member")?;
    // Gossip still carrying older versions never moves anyone back.
    sim.run_for(10 * SECOND);
    if !all_see(&sim, 0, &last) {
        return Err("a member went back to older tags".into());
    }

    // A member that joins late learns everyone's tags, and they learn its own.
    let late = sim.add_node_with(&[1], |c| c.tags = tags(&[("zone", "late")]));
    let mine = tags(&[("zone", "late")]);
    sim.run_until(10 * SECOND, |s| {
        all_see(s, late, &mine) && all_see(s, 0, &last) && all_see(s, 1, &start)
    })
    .ok_or("a member that joined late did not learn every member's tags")?;

    // A member that restarts publishes the tags it starts with, over its older ones.
    sim.set_tags(2, tags(&[("zone", "before-restart")]));
    sim.run_for(2 * SECOND);
    sim.crash(2);
    sim.run_for(SECOND);
    sim.restart(2);
    sim.run_until(20 * SECOND, |s| all_see(s, 2, &start))
        .ok_or("a restarted member's tags did not replace its older ones")?;
    sim.check()
}

#[test]
fn tags_reach_every_member_in_order_under_loss() {
    for_each_seed(
        "tags_reach_every_member_in_order_under_loss",
        0..100,
        scenario,
    );
}
