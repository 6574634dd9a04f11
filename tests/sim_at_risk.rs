//! The early warning (`Event::RoleAtRisk`, `Leadership::at_risk`): a holder that cannot
//! renew warns `renew_deadline` after the last acknowledged round, before it steps down,
//! and a holder that renews, even over a lossy network, never warns.
#![cfg(feature = "sim")]

use std::time::Duration;

use polity::sim::{Faults, Sim, SimConfig, for_each_seed, sweep_seeds};
use polity::{Event, LossReason, RoleName};

const MS: Duration = Duration::from_millis(1);
const SECOND: Duration = Duration::from_secs(1);

fn ready(seed: u64) -> Result<(Sim, RoleName, usize), String> {
    let mut config = SimConfig::lan(5, seed);
    config.record_trace = false;
    let mut sim = Sim::new(config);
    sim.run_until(10 * SECOND, Sim::converged)
        .ok_or("membership did not converge")?;
    sim.run_for(sim.config(0).lease);
    let role = RoleName::new("scheduler").map_err(|e| e.to_string())?;
    for node in 0..5 {
        sim.campaign(node, &role);
    }
    sim.run_until(2 * SECOND, |sim| sim.holders(&role).len() == 1)
        .ok_or("nobody won")?;
    let holder = sim.holders(&role)[0].0;
    Ok((sim, role, holder))
}

/// When `node` warned of `role`, and when it lost it, in simulated time.
fn warning_and_loss(
    sim: &Sim,
    node: usize,
    role: &RoleName,
) -> (Option<Duration>, Option<Duration>) {
    let events = sim.events(node);
    let at = |want: &dyn Fn(&Event) -> bool| events.iter().find(|(_, e)| want(e)).map(|(t, _)| *t);
    (
        at(&|e| matches!(e, Event::RoleAtRisk { role: r, .. } if r == role)),
        at(
            &|e| matches!(e, Event::RoleLost { role: r, reason: LossReason::LeaseExpired, .. } if r == role),
        ),
    )
}

#[test]
fn a_cut_off_holder_warns_before_it_steps_down_with_the_stop_window_left() {
    for_each_seed("at_risk_before_loss", sweep_seeds(200), |seed| {
        let (mut sim, role, holder) = ready(seed)?;
        // Cut the holder off at a random point of its renewal interval.
        let renew = sim.config(holder).renew_interval;
        sim.run_for(renew.mul_f64((seed % 997) as f64 / 997.0));
        let others: Vec<usize> = (0..5).filter(|&n| n != holder).collect();
        let cut_at = sim.now();
        sim.partition(&[holder], &others);
        sim.run_for(3 * SECOND);
        let (warned, lost) = warning_and_loss(&sim, holder, &role);
        let (warned, lost) = warned
            .zip(lost)
            .ok_or_else(|| format!("warning {warned:?}, loss {lost:?}"))?;
        let config = sim.config(holder);
        // The window between the two is holder_lease - renew_deadline, measured on the
        // holder's clock (the simulator's clocks run at rate 1 here).
        let window = config.holder_lease() - config.renew_deadline;
        let measured = lost.saturating_sub(warned);
        if measured.abs_diff(window) > MS {
            return Err(format!(
                "warned {warned:?}, lost {lost:?}: {measured:?}, not {window:?}"
            ));
        }
        // The warning comes at most renew_deadline after the cut (the last acknowledged
        // round went out before it).
        if warned > cut_at + config.renew_deadline || warned <= cut_at {
            return Err(format!("cut at {cut_at:?}, warned at {warned:?}"));
        }
        sim.check()
    });
}

#[test]
fn a_holder_renewing_over_ten_percent_loss_never_warns_and_keeps_the_role() {
    for_each_seed("no_warning_under_loss", sweep_seeds(100), |seed| {
        let (mut sim, role, holder) = ready(seed)?;
        sim.set_faults(Faults {
            loss: 0.1,
            ..Faults::default()
        });
        sim.run_for(30 * SECOND);
        let (warned, lost) = warning_and_loss(&sim, holder, &role);
        if warned.is_some() || lost.is_some() || sim.grants(&role) != 1 {
            return Err(format!(
                "warned {warned:?}, lost {lost:?}, {} grants",
                sim.grants(&role)
            ));
        }
        sim.check()
    });
}

/// A holder paused past its warning and its deadline hears both when it resumes, the
/// warning first: no lease expires unwarned, so an application that stops on `at_risk`
/// alone is never left acting.
#[test]
fn a_holder_paused_past_its_deadline_is_warned_with_the_loss() {
    for_each_seed("paused_warned_with_loss", sweep_seeds(100), |seed| {
        let (mut sim, role, holder) = ready(seed)?;
        let lease = sim.config(holder).lease;
        sim.pause(holder, 2 * lease);
        sim.run_for(3 * lease);
        let (warned, lost) = warning_and_loss(&sim, holder, &role);
        match (warned, lost) {
            (Some(w), Some(l)) if w <= l => sim.check(),
            other => Err(format!("warning and loss: {other:?}")),
        }
    });
}
