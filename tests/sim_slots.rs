//! Semaphores (`campaign --slots N`, `NodeHandle::campaign_any`) in the simulator: the
//! slots are the roles `lock/1` to `lock/N`; every node seeks them all and keeps the
//! first it wins, withdrawing from the others and resigning one won at the same moment,
//! as the node layer does. Under loss, reordering, cuts and crashes the checker finds
//! at most one holder per slot at any instant (so never more than N at once), and once
//! the network heals every slot is held, by N different nodes.
#![cfg(feature = "sim")]

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::time::Duration;

use polity::sim::{Draws, Sim, SimConfig, for_each_seed, sweep_seeds};
use polity::{RequestId, RoleName};

// Not every sweep uses every helper.
#[allow(dead_code)]
#[path = "common/trouble.rs"]
mod trouble;
use trouble::{heal_all, lossy, stir};

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// The slots `node` holds.
fn held_slots(sim: &Sim, node: usize, slots: &[RoleName]) -> Vec<RoleName> {
    sim.core(node).map_or_else(Vec::new, |core| {
        core.held_roles()
            .into_iter()
            .map(|(role, ..)| role)
            .filter(|role| slots.contains(role))
            .collect()
    })
}

/// What each node's semaphore loop does between two steps: a node that holds no slot
/// seeks every slot it does not seek yet; one that holds slots keeps the first, resigns
/// the others and withdraws its other campaigns.
fn tend(sim: &mut Sim, slots: &[RoleName], seeking: &mut BTreeMap<(usize, usize), RequestId>) {
    for node in 0..sim.len() {
        if !sim.is_running(node) {
            seeking.retain(|&(n, _), _| n != node);
            continue;
        }
        let held = held_slots(sim, node, slots);
        match held.split_first() {
            None => {
                for (index, slot) in slots.iter().enumerate() {
                    if let Entry::Vacant(entry) = seeking.entry((node, index))
                        && let Some(id) = sim.campaign(node, slot)
                    {
                        entry.insert(id);
                    }
                }
            }
            Some((_, extra)) => {
                for slot in extra {
                    let _ = sim.resign(node, slot);
                }
                let ids: Vec<RequestId> = seeking
                    .iter()
                    .filter(|&(&(n, _), _)| n == node)
                    .map(|(_, id)| *id)
                    .collect();
                for id in ids {
                    sim.cancel(node, id);
                }
                seeking.retain(|&(n, _), _| n != node);
            }
        }
    }
}

#[test]
fn slots_under_faults_hold_one_node_each_and_are_all_filled_once_healed() {
    for_each_seed("slots_under_faults", sweep_seeds(200), |seed| {
        let mut sim = Sim::new(SimConfig::lan(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("membership did not converge")?;
        sim.run_for(sim.config(0).lease);
        let slots: Vec<RoleName> = (1..=2)
            .map(|n| RoleName::new(format!("lock/{n}")).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let mut seeking = BTreeMap::new();
        let mut draws = Draws::new(seed);
        tend(&mut sim, &slots, &mut seeking);
        sim.set_faults(lossy());
        for step in 0..10 {
            sim.run_for(MS * 100 + draws.millis(700));
            stir(&mut sim, &mut draws, 5, step % 3 == 1);
            tend(&mut sim, &slots, &mut seeking);
            // A holder gives its slot back now and then, for a waiting node to take.
            if draws.chance(30) {
                let slot = &slots[draws.below(slots.len() as u64) as usize];
                if let Some(&(holder, _)) = sim.holders(slot).first() {
                    let _ = sim.resign(holder, slot);
                }
            }
        }
        heal_all(&mut sim);
        let filled = |sim: &Sim| {
            let mut holders: Vec<usize> = slots
                .iter()
                .filter_map(|slot| match sim.holders(slot)[..] {
                    [(node, _)] => Some(node),
                    _ => None,
                })
                .collect();
            holders.sort_unstable();
            holders.dedup();
            holders.len() == slots.len()
        };
        let mut settled = false;
        for _ in 0..40 {
            tend(&mut sim, &slots, &mut seeking);
            sim.run_for(MS * 250);
            if filled(&sim) {
                settled = true;
                break;
            }
        }
        if !settled {
            let holders: Vec<_> = slots.iter().map(|slot| sim.holders(slot)).collect();
            return Err(format!(
                "the slots were not filled by distinct nodes: {holders:?}"
            ));
        }
        sim.check()
    });
}
