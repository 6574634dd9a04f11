//! Side-by-side measurements of polity, serf and etcd as real processes on loopback.
//! `bench/run.sh` builds and runs this; see BENCHMARKS.md for what each figure means.
//!
//! `bench_compare --polity PATH --work DIR [--trials 30] [--handoffs 100]
//!  [--elections 1000] [--idle-secs 120] [--churn-roles 20000] [--held-roles 3000]
//!  [--many-roles 10000] [--only failover,handoff,election,idle,churn,held,many]`
//!
//! Every time is taken the same way for every system: the instant just before this
//! program sends the signal or request that starts the trial, to the instant a reader
//! thread reads the line of output (or the HTTP answer) that ends it.

mod args;
mod etcd_cluster;
mod etcd_trials;
mod http;
mod idle;
mod latency_table;
mod polity_cluster;
mod polity_trials;
mod ports;
mod proc;
mod proc_usage;
mod role_costs;
mod serf;
mod wait;

use std::fs;
use std::process::ExitCode;

use args::{Args, args};
use etcd_cluster::Etcd;
use etcd_trials::{etcd_elections, etcd_failover, etcd_handoff};
use idle::idle;
use latency_table::report;
use polity_trials::{polity_elections, polity_failover, polity_handoff};
use role_costs::{held_idle, many_held, role_churn};
use serf::serf_failover;

type Result<T> = std::result::Result<T, String>;

fn run(a: &Args) -> Result<()> {
    fs::create_dir_all(&a.work).map_err(|e| e.to_string())?;
    let wants = |what: &str| a.only.iter().any(|o| o == what);
    let needs_etcd = wants("failover") || wants("handoff") || wants("election");
    let etcd = if needs_etcd {
        Some(Etcd::start(&a.work, 5)?)
    } else {
        None
    };
    let bin = a.polity.as_path();
    let header =
        "| measure | system | samples | p50 | p99 | max |\n| --- | --- | --- | --- | --- | --- |";
    if wants("failover") {
        println!("\n## failover after kill -9 of the holder, 5 processes\n\n{header}");
        report(
            "failover",
            "polity lan",
            polity_failover(bin, &a.work, "lan", a.trials)?,
        );
        report(
            "failover",
            "polity fast",
            polity_failover(bin, &a.work, "fast", a.trials)?,
        );
        report(
            "marked failed",
            "serf lan",
            serf_failover(&a.work, a.trials)?,
        );
        if let Some(etcd) = &etcd {
            report(
                "failover",
                "etcdctl elect (60 s session)",
                etcd_failover(etcd, a.trials)?,
            );
        }
    }
    if wants("handoff") {
        println!("\n## handoff: the holder resigns, a waiting candidate takes over\n\n{header}");
        report(
            "handoff",
            "polity lan",
            polity_handoff(bin, &a.work, a.handoffs)?,
        );
        if let Some(etcd) = &etcd {
            report("handoff", "etcdctl elect", etcd_handoff(etcd, a.handoffs)?);
        }
    }
    if wants("election") {
        println!("\n## uncontended election latency, 5 processes\n\n{header}");
        report(
            "election",
            "polity lan, HTTP API",
            polity_elections(bin, &a.work, a.elections)?,
        );
        if let Some(etcd) = &etcd {
            report(
                "election",
                "etcd, JSON gateway",
                etcd_elections(etcd, a.elections)?,
            );
        }
    }
    drop(etcd);
    if wants("idle") {
        println!(
            "\n## resident memory and idle CPU of one agent\n\n| system | nodes | agent | VmRSS | RssAnon | CPU of one core |\n| --- | --- | --- | --- | --- | --- |"
        );
        idle(bin, &a.work, 5, a.idle_secs)?;
        idle(bin, &a.work, 50, a.idle_secs)?;
    }
    if wants("churn") {
        role_churn(bin, &a.work, a.churn_roles)?;
    }
    if wants("held") {
        held_idle(bin, &a.work, a.held_roles, a.idle_secs)?;
    }
    if wants("many") {
        many_held(bin, &a.work, a.many_roles)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_compare: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_compare: {e}");
            ExitCode::FAILURE
        }
    }
}
