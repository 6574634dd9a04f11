//! The value a holder publishes with its role, in the simulator under loss: it comes with
//! the election, every member's view and a quorum's answer show it, each `proclaim`
//! replaces it everywhere without a new term, no view ever goes back to an earlier one
//! (the checker fails on that, and on a value never published), and a member that
//! joins late learns it. Refusals change nothing.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed};
use polity::{Completion, RoleError, RoleName, RoleState, RoleValue};

const SECOND: Duration = Duration::from_secs(1);

fn value(text: &str) -> RoleValue {
    RoleValue::new(text).expect("a short value")
}

/// Whether every running node's view of `role` is `holder` at `term` with `want`.
fn all_show(
    sim: &Sim,
    role: &RoleName,
    holder: usize,
    term: polity::LamportTime,
    want: &RoleValue,
) -> bool {
    let expected = RoleState::Held {
        holder: sim.name(holder),
        term,
        value: want.clone(),
    };
    (0..sim.len())
        .filter(|&i| sim.is_running(i))
        .all(|i| sim.core(i).is_some_and(|c| c.role_state(role) == expected))
}

fn scenario(seed: u64) -> Result<(), String> {
    let mut sim = Sim::new(SimConfig::lan(5, seed));
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    sim.set_faults(Faults {
        loss: 0.05,
        ..Faults::default()
    });
    let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;

    // Won with a value: every view shows it from the win on.
    sim.campaign_with(1, &role, value("10.0.0.2:8080"))
        .ok_or("n1 is down")?;
    sim.run_until(5 * SECOND, |s| s.holders(&role).len() == 1)
        .ok_or("nobody was elected")?;
    let (holder, term) = sim.holders(&role)[0];
    if holder != 1 {
        return Err(format!(
            "n{holder} holds the role, not the only candidate n1"
        ));
    }
    sim.run_until(5 * SECOND, |s| {
        all_show(s, &role, 1, term, &value("10.0.0.2:8080"))
    })
    .ok_or("the value of the election did not reach every member")?;

    // Five proclamations in a row: every member ends on the last, in the same term.
    for n in 1..=5 {
        let version = sim
            .proclaim(1, &role, value(&format!("10.0.0.2:{}", 9000 + n)))
            .ok_or("n1 is down")?
            .map_err(|e| format!("proclaim {n}: {e}"))?;
        if version != n {
            return Err(format!("proclamation {n} got version {version}"));
        }
    }
    let last = value("10.0.0.2:9005");
    sim.run_until(5 * SECOND, |s| all_show(s, &role, 1, term, &last))
        .ok_or("the last value did not reach every member")?;
    // Gossip still carrying older values never moves a view back (nor does the
    // checker find a view that went back on the way).
    sim.run_for(5 * SECOND);
    if !all_show(&sim, &role, 1, term, &last) {
        return Err("a member's view went back to an older value".into());
    }
    if sim.holders(&role) != [(1, term)] {
        return Err(format!("the term changed: {:?}", sim.holders(&role)));
    }

    // A quorum's answer carries the value (asked again if loss made it time out).
    let mut answer = None;
    for _ in 0..5 {
        let id = sim.query_role(3, &role).ok_or("n3 is down")?;
        sim.run_until(2 * SECOND, |s| s.completion(3, id).is_some())
            .ok_or("the query did not finish")?;
        answer = sim.completion(3, id).cloned();
        if !matches!(
            answer,
            Some(Completion::Query {
                result: Err(RoleError::TimedOut),
                ..
            })
        ) {
            break;
        }
    }
    match answer {
        Some(Completion::Query {
            result: Ok(RoleState::Held { value: shown, .. }),
            ..
        }) if shown == last => {}
        other => return Err(format!("the query answered {other:?}")),
    }

    // Refusals change nothing: a node that does not hold the role, and a value longer
    // than the datagram allows.
    match sim.proclaim(2, &role, value("elsewhere")) {
        Some(Err(RoleError::NotHolder)) => {}
        other => return Err(format!("a proclamation by a non-holder gave {other:?}")),
    }
    let max = sim.config(1).max_value_len();
    let too_long = RoleValue::new(vec![b'x'; max + 1]).map_err(|e| e.to_string())?;
    match sim.proclaim(1, &role, too_long) {
        Some(Err(RoleError::ValueTooLarge(_))) => {}
        other => return Err(format!("an oversized value gave {other:?}")),
    }
    sim.run_for(SECOND);
    if !all_show(&sim, &role, 1, term, &last) {
        return Err("a refused proclamation changed a view".into());
    }

    // A member that joins late learns the value from the holder's re-announcements.
    let late = sim.add_node(&[0]);
    sim.run_until(15 * SECOND, |s| {
        s.core(late).is_some_and(|c| {
            c.role_state(&role)
                == RoleState::Held {
                    holder: s.name(1),
                    term,
                    value: last.clone(),
                }
        })
    })
    .ok_or("a member that joined late did not learn the value")?;

    // The next holder's value replaces it with the new term; the old holder's is gone.
    sim.resign(1, &role)
        .ok_or("n1 is down")?
        .map_err(|e| e.to_string())?;
    sim.campaign_with(4, &role, value("10.0.0.5:8080"))
        .ok_or("n4 is down")?;
    sim.run_until(5 * SECOND, |s| s.holders(&role).len() == 1)
        .ok_or("nobody took over")?;
    let (next, next_term) = sim.holders(&role)[0];
    sim.run_until(5 * SECOND, |s| {
        all_show(s, &role, next, next_term, &value("10.0.0.5:8080"))
    })
    .ok_or("the new holder's value did not reach every member")?;
    sim.check()
}

#[test]
fn a_published_value_reaches_everyone_and_never_goes_back() {
    for_each_seed("values", 0..60, scenario);
}
