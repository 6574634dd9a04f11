//! Handing a role to a named node (`transfer`), in the simulator: the named candidate
//! takes the role within a few round trips, a node that does not campaign or cannot be
//! reached is refused with the role kept, and transfers under loss, reordering,
//! duplicates, partitions and crashes never make two holders (the checker).
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Draws, Sim, SimConfig, for_each_seed, sweep_seeds};

#[path = "common/trouble.rs"]
mod trouble;
use polity::{Completion, LamportTime, RoleError, RoleName};
use trouble::{campaign_unless_holding, heal_all, lossy, stir};

const SECOND: Duration = Duration::from_secs(1);
const MS: Duration = Duration::from_millis(1);

/// A converged cluster of `nodes` in which `candidates` campaign for `role`, with one of
/// them holding it.
fn held_by_one(seed: u64, nodes: usize, candidates: &[usize]) -> Result<(Sim, RoleName), String> {
    let mut sim = Sim::new(SimConfig::lan(nodes, seed));
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
    for &node in candidates {
        sim.campaign(node, &role);
    }
    sim.run_until(5 * SECOND, |s| s.holders(&role).len() == 1)
        .ok_or("nobody was elected")?;
    Ok((sim, role))
}

/// The outcome of `node`'s transfer `id`, once it came.
fn transfer_result(
    sim: &Sim,
    node: usize,
    id: polity::RequestId,
) -> Option<Result<LamportTime, RoleError>> {
    match sim.completion(node, id)? {
        Completion::Transfer { result, .. } => Some(result.clone()),
        _ => None,
    }
}

/// A campaign ends once won: every running node that does not hold `role` campaigns
/// for it (again), so that any of them can be handed it.
fn campaign_again(sim: &mut Sim, role: &RoleName) {
    campaign_unless_holding(sim, role, |sim, node| {
        sim.campaign(node, role);
    });
}

#[test]
fn a_transfer_hands_the_role_to_the_named_candidate_within_a_few_round_trips() {
    for_each_seed("transfer_to_a_candidate", 0..50, |seed| {
        let (mut sim, role) = held_by_one(seed, 5, &[0, 1, 2, 3, 4])?;
        for round in 0..4 {
            let (holder, term) = sim.holders(&role)[0];
            // The candidate ranked last for this role is the one a plain resignation
            // would hand the role to least often.
            let target = (holder + 1 + round) % 5;
            let id = sim
                .transfer(holder, &role, target)
                .ok_or("the holder is down")?;
            let started = sim.now();
            sim.run_until(SECOND, |s| transfer_result(s, holder, id).is_some())
                .ok_or("the transfer never completed")?;
            let given_up = transfer_result(&sim, holder, id)
                .ok_or("no outcome")?
                .map_err(|e| format!("round {round}: transfer to n{target} failed: {e}"))?;
            if given_up != term {
                return Err(format!("gave up term {given_up}, held {term}"));
            }
            campaign_again(&mut sim, &role);
            let took = sim
                .run_until(SECOND, |s| {
                    s.holders(&role).first().is_some_and(|&(n, _)| n == target)
                })
                .ok_or_else(|| {
                    format!("n{target} did not take the role: {:?}", sim.holders(&role))
                })?;
            // The offer and its answer, the release, the votes: a handful of round
            // trips of at most 2 ms each on this network.
            let elapsed = sim.now() - started;
            if elapsed > 30 * MS {
                return Err(format!("the handover took {elapsed:?} (took {took:?})"));
            }
            sim.run_for(sim.config(0).lease);
            if sim.holders(&role).first().map(|&(n, _)| n) != Some(target) {
                return Err(format!(
                    "n{target} did not keep the role: {:?}",
                    sim.holders(&role)
                ));
            }
        }
        sim.check()
    });
}

#[test]
fn a_transfer_to_a_node_that_does_not_campaign_or_cannot_answer_keeps_the_role() {
    for_each_seed("transfer_refused", 0..30, |seed| {
        // n4 runs but does not campaign.
        let (mut sim, role) = held_by_one(seed, 5, &[0, 1, 2, 3])?;
        let (holder, term) = sim.holders(&role)[0];
        let id = sim.transfer(holder, &role, 4).ok_or("the holder is down")?;
        sim.run_until(SECOND, |s| transfer_result(s, holder, id).is_some())
            .ok_or("the refused transfer never completed")?;
        match transfer_result(&sim, holder, id) {
            Some(Err(RoleError::NotCandidate { node })) if node == sim.name(4) => {}
            other => return Err(format!("a transfer to a non-candidate gave {other:?}")),
        }
        // The holder itself is no candidate of its own role.
        let id = sim
            .transfer(holder, &role, holder)
            .ok_or("the holder is down")?;
        if !matches!(
            transfer_result(&sim, holder, id),
            Some(Err(RoleError::NotCandidate { .. }))
        ) {
            return Err("a transfer to the holder itself was not refused at once".into());
        }
        // A candidate that crashed a moment ago is still shown alive, and never answers.
        let crashed = (holder + 1) % 4;
        sim.crash(crashed);
        let id = sim
            .transfer(holder, &role, crashed)
            .ok_or("the holder is down")?;
        sim.run_until(SECOND, |s| transfer_result(s, holder, id).is_some())
            .ok_or("the unanswered transfer never completed")?;
        match transfer_result(&sim, holder, id) {
            Some(Err(RoleError::Unreachable { node })) if node == sim.name(crashed) => {}
            other => return Err(format!("a transfer to a crashed node gave {other:?}")),
        }
        // Once it is known to be down, it is refused at once.
        sim.run_until(10 * SECOND, |s| s.all_see_down(crashed))
            .ok_or("the crash was not noticed")?;
        let id = sim
            .transfer(holder, &role, crashed)
            .ok_or("the holder is down")?;
        if !matches!(
            transfer_result(&sim, holder, id),
            Some(Err(RoleError::Unreachable { .. }))
        ) {
            return Err("a transfer to a member shown down was not refused at once".into());
        }
        // A node that holds nothing cannot hand anything over.
        let other = (0..4)
            .find(|&n| n != holder && n != crashed)
            .ok_or("no other node")?;
        let id = sim
            .transfer(other, &role, holder)
            .ok_or("the node is down")?;
        if transfer_result(&sim, other, id) != Some(Err(RoleError::NotHolder)) {
            return Err("a transfer by a node that does not hold the role was not refused".into());
        }
        // Through all of it the holder kept its term.
        if sim.holders(&role) != [(holder, term)] {
            return Err(format!("the role moved: {:?}", sim.holders(&role)));
        }
        sim.check()
    });
}

/// Transfers to random nodes, at random points of the renewal interval, while datagrams
/// are lost, delayed, reordered and duplicated, a minority is cut off now and then, and
/// a node crashes and restarts: the checker finds at most one holder at any instant, and
/// once the network heals a last transfer still hands the role over.
#[test]
fn transfers_under_faults_never_make_two_holders() {
    for_each_seed("transfers_under_faults", sweep_seeds(300), |seed| {
        let (mut sim, role) = held_by_one(seed, 5, &[0, 1, 2, 3, 4])?;
        let renew = sim.config(0).renew_interval;
        let mut draws = Draws::new(seed);
        sim.set_faults(lossy());
        for step in 0..12 {
            sim.run_for(renew.mul_f64(draws.below(1000) as f64 / 1000.0));
            stir(&mut sim, &mut draws, 6, step % 4 == 2);
            let holders = sim.holders(&role);
            for &(holder, _) in &holders {
                let target = draws.node(&sim);
                let _ = sim.transfer(holder, &role, target);
            }
            campaign_again(&mut sim, &role);
            sim.run_for(MS * 100 + draws.millis(399));
        }
        heal_all(&mut sim);
        campaign_again(&mut sim, &role);
        // Transfers still waiting for an answer end within an election timeout.
        sim.run_for(2 * sim.config(0).election_timeout);
        sim.run_until(20 * SECOND, |s| {
            s.holders(&role).len() == 1 && s.converged()
        })
        .ok_or_else(|| format!("not settled: {:?}", sim.holders(&role)))?;
        campaign_again(&mut sim, &role);
        sim.run_for(sim.config(0).lease);
        let (holder, _) = sim.holders(&role)[0];
        let target = (holder + 1 + draws.below(4) as usize) % 5;
        // A node restarted late may be news to the holder still: it is then refused as
        // unreachable, with the role kept, and asked again.
        let mut outcome = None;
        for _ in 0..10 {
            let id = sim
                .transfer(holder, &role, target)
                .ok_or("the holder is down")?;
            sim.run_until(SECOND, |s| transfer_result(s, holder, id).is_some())
                .ok_or("the transfer never completed")?;
            outcome = transfer_result(&sim, holder, id);
            match &outcome {
                Some(Err(RoleError::Unreachable { .. })) => sim.run_for(sim.config(0).lease),
                _ => break,
            }
        }
        sim.run_until(SECOND, |s| {
            s.holders(&role).first().is_some_and(|&(n, _)| n == target)
        })
        .ok_or_else(|| {
            format!(
                "after healing, a transfer to n{target} gave {outcome:?} and left {:?}",
                sim.holders(&role)
            )
        })?;
        sim.check()
    });
}
