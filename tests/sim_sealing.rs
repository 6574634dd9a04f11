//! Sealed clusters in the simulator: without the cluster key a node can neither join,
//! vote nor hold a role, and the keys can be rotated while the cluster runs.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed};
use polity::wire::{Key, KeyOp, Keyring};
use polity::{MemberStatus, RoleName};

const SECOND: Duration = Duration::from_secs(1);

fn key(n: u8) -> Key {
    Key::new([n; 32])
}

fn sealed(nodes: usize, seed: u64) -> SimConfig {
    let mut config = SimConfig::lan(nodes, seed);
    config.template.keyring = Keyring::new(vec![key(1)]).ok();
    config.template.cluster_label = "prod".to_owned();
    config
}

fn scheduler() -> RoleName {
    RoleName::new("scheduler").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_sealed_cluster_converges_and_elects() {
    for_each_seed("a_sealed_cluster_converges", 0..20, |seed| {
        let mut sim = Sim::new(sealed(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("no convergence")?;
        let r = scheduler();
        for node in 0..5 {
            sim.campaign(node, &r);
        }
        sim.run_until(5 * SECOND, |sim| sim.holders(&r).len() == 1)
            .ok_or("nobody won")?;
        sim.check()
    });
}

#[test]
fn a_node_with_the_wrong_key_or_no_key_cannot_join_vote_or_hold() {
    for_each_seed("a_node_without_the_key", 0..20, |seed| {
        let mut sim = Sim::new(sealed(3, seed));
        let r = scheduler();
        let wrong = sim.add_node_with(&[0, 1], |c| c.keyring = Keyring::new(vec![key(2)]).ok());
        let bare = sim.add_node_with(&[0, 1], |c| c.keyring = None);
        let label = sim.add_node_with(&[0, 1], |c| c.cluster_label = "test".to_owned());
        for node in 0..sim.len() {
            sim.campaign(node, &r);
        }
        sim.run_for(20 * SECOND);
        for outsider in [wrong, bare, label] {
            for member in 0..3 {
                if sim.status_seen(member, outsider).is_some() {
                    return Err(format!("n{member} knows outsider n{outsider}"));
                }
            }
            let population = sim.core(outsider).map(|c| c.population());
            if population != Some(1) {
                return Err(format!("outsider n{outsider} counts {population:?}"));
            }
        }
        // The members elected among themselves, and no outsider holds the role.
        match sim.holders(&r).as_slice() {
            [(holder, _)] if *holder < 3 => {}
            other => return Err(format!("holders {other:?}")),
        }
        let refused: u64 = (0..3)
            .filter_map(|i| sim.core(i).map(|c| c.stats().rejected_unsealed))
            .sum();
        if refused == 0 {
            return Err("the members never refused an unsealed datagram".into());
        }
        (0..3)
            .all(|i| (0..3).all(|j| sim.status_seen(i, j) == Some(MemberStatus::Alive)))
            .then_some(())
            .ok_or("the members lost sight of each other")?;
        sim.check()
    });
}

#[test]
fn keys_rotate_across_a_running_cluster_without_moving_a_role() {
    for_each_seed("keys_rotate", 0..20, |seed| {
        let mut sim = Sim::new(sealed(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("no convergence")?;
        let r = scheduler();
        for node in 0..5 {
            sim.campaign(node, &r);
        }
        sim.run_until(5 * SECOND, |sim| sim.holders(&r).len() == 1)
            .ok_or("nobody won")?;
        // Through a lossy network, as an operator does it with `polity keys`: install
        // everywhere, use everywhere, remove everywhere, each step from some node and
        // repeated until every node answered.
        sim.set_faults(Faults {
            loss: 0.1,
            ..Faults::default()
        });
        let steps = [
            KeyOp::Install(key(2)),
            KeyOp::Use(key(2)),
            KeyOp::Remove(key(1)),
        ];
        for (step, op) in steps.into_iter().enumerate() {
            let from = (seed as usize + step) % 5;
            let mut attempts = 0;
            loop {
                attempts += 1;
                let id = sim
                    .rollout_keys(from, op.clone())
                    .ok_or("the node is down")?;
                sim.run_until(5 * SECOND, |sim| sim.key_rollout(from, id).is_some())
                    .ok_or("a rollout never finished")?;
                let rollout = sim.key_rollout(from, id).ok_or("no outcome")?;
                if rollout.is_complete() {
                    break;
                }
                if attempts == 3 {
                    return Err(format!("{op:?} incomplete after 3 attempts: {rollout:?}"));
                }
            }
        }
        for node in 0..5 {
            let keys = sim.core(node).and_then(|c| c.keyring()).map(Keyring::keys);
            if keys != Some(&[key(2)][..]) {
                return Err(format!("n{node} ended with {keys:?}"));
            }
        }
        sim.set_faults(Faults::default());
        sim.run_for(10 * SECOND);
        if sim.grants(&r) != 1 || sim.holders(&r).len() != 1 || !sim.converged() {
            return Err(format!(
                "the rotation disturbed the cluster: {} grants",
                sim.grants(&r)
            ));
        }
        sim.check()
    });
}

#[test]
fn replayed_votes_and_renewals_change_nothing() {
    use polity::wire::{Body, Kind, decode_message, open};
    for_each_seed("replayed_votes_and_renewals", 0..10, |seed| {
        let mut sim = Sim::new(sealed(5, seed));
        sim.run_until(10 * SECOND, Sim::converged)
            .ok_or("no convergence")?;
        let r = scheduler();
        sim.tap(true);
        for node in 0..5 {
            sim.campaign(node, &r);
        }
        sim.run_until(5 * SECOND, |sim| sim.holders(&r).len() == 1)
            .ok_or("nobody won")?;
        sim.run_for(2 * SECOND);
        sim.tap(false);
        let holders = sim.holders(&r);
        let keyring = Keyring::new(vec![key(1)]).map_err(|e| e.to_string())?;
        // Every vote request, vote reply, renewal and renewal reply the eavesdropper saw.
        let replays: Vec<(usize, usize, Vec<u8>)> = sim
            .tapped()
            .iter()
            .filter(|(_, _, _, bytes)| {
                let Ok(plain) = keyring.open(bytes, b"prod") else {
                    return false;
                };
                let Ok((Kind::Polity, body)) = open(&plain, 1400) else {
                    return false;
                };
                decode_message(body).is_ok_and(|m| {
                    matches!(
                        m.body,
                        Body::VoteRequest { .. }
                            | Body::VoteReply(_)
                            | Body::Renew { .. }
                            | Body::RenewReply { .. }
                    )
                })
            })
            .map(|(_, to, from, bytes)| (*to, *from, bytes.clone()))
            .collect();
        if replays.len() < 20 {
            return Err(format!("only {} votes and renewals tapped", replays.len()));
        }
        let refused_before: u64 = (0..5)
            .filter_map(|i| sim.core(i).map(|c| c.stats().rejected_replayed))
            .sum();
        for (to, from, bytes) in &replays {
            sim.inject(*to, *from, bytes);
        }
        let refused: u64 = (0..5)
            .filter_map(|i| sim.core(i).map(|c| c.stats().rejected_replayed))
            .sum::<u64>()
            - refused_before;
        if refused != replays.len() as u64 {
            return Err(format!("{refused} of {} replays refused", replays.len()));
        }
        sim.run_for(5 * SECOND);
        if sim.holders(&r) != holders || sim.grants(&r) != 1 {
            return Err(format!("replays moved the role: {:?}", sim.holders(&r)));
        }
        sim.check()
    });
}
