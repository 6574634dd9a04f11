// Trouble for the simulator's fault sweeps of transfers and preferences, included with
// `#[path]`: lossy links, one node cut off or crashed at a time, and healing it all.

use std::time::Duration;

use polity::RoleName;
use polity::sim::{Draws, Faults, Sim};

/// Loss and duplicates of 5% each, and delays of up to 20 ms that reorder datagrams.
pub fn lossy() -> Faults {
    Faults {
        loss: 0.05,
        duplicate: 0.05,
        max_delay: Duration::from_millis(20),
        ..Faults::default()
    }
}

/// One step of trouble drawn from `kinds` kinds: the first cuts one node off from the
/// others, the second heals every cut, the third (only if `may_crash`) crashes a running
/// node or restarts a crashed one; the others do nothing.
pub fn stir(sim: &mut Sim, draws: &mut Draws, kinds: u64, may_crash: bool) {
    match draws.below(kinds) {
        0 => {
            let cut = draws.node(sim);
            let rest: Vec<usize> = (0..sim.len()).filter(|&n| n != cut).collect();
            sim.partition(&[cut], &rest);
        }
        1 => sim.heal(),
        2 if may_crash => {
            let node = draws.node(sim);
            if sim.is_running(node) {
                sim.crash(node);
            } else {
                sim.restart(node);
            }
        }
        _ => {}
    }
}

/// Heals every cut, ends the faults and restarts every crashed node.
pub fn heal_all(sim: &mut Sim) {
    sim.heal();
    sim.set_faults(Faults::default());
    for node in 0..sim.len() {
        if !sim.is_running(node) {
            sim.restart(node);
        }
    }
}

/// A campaign ends once won: calls `campaign` for every running node that does not hold
/// `role`, so that it waits for the role (again).
pub fn campaign_unless_holding(
    sim: &mut Sim,
    role: &RoleName,
    mut campaign: impl FnMut(&mut Sim, usize),
) {
    for node in 0..sim.len() {
        let holds = |core: &polity::Core| core.held_roles().iter().any(|(r, ..)| r == role);
        if sim.core(node).is_some_and(|core| !holds(core)) {
            campaign(sim, node);
        }
    }
}
