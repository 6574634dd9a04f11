//! The idle trial: resident memory and CPU of settled clusters doing nothing.

use std::path::Path;
use std::thread;
use std::time::Duration;

use crate::Result;
use crate::polity_cluster::{AgentSetup, Polity};
use crate::proc_usage::idle_cost;
use crate::serf::Serf;

fn print_idle(system: &str, n: usize, which: &str, (rss, anon, cpu): (f64, f64, f64), secs: u64) {
    println!("| {system} | {n} | {which} | {rss:.2} MB | {anon:.2} MB | {cpu:.2}% ({secs} s) |");
}

/// The median of each column of `others`.
fn medians(others: &[(f64, f64, f64)]) -> (f64, f64, f64) {
    (
        median(others.iter().map(|c| c.0).collect()),
        median(others.iter().map(|c| c.1).collect()),
        median(others.iter().map(|c| c.2).collect()),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn idle(bin: &Path, work: &Path, n: usize, secs: u64) -> Result<()> {
    let agents = |c: &Polity| -> Vec<i32> { c.agents.iter().map(|a| a.proc.pid()).collect() };
    let c = Polity::start(bin, work, "lan", n)?;
    c.elect(0, "idle")?;
    let groups = [("holder of one role", 0..1), ("median of the others", 1..n)];
    measure_idle("polity lan", &agents(&c), secs, &groups)?;
    drop(c);
    if n > 5 {
        // The same cluster with a fixed electorate of five, as a large deployment would
        // run it (like Consul's servers): the holder renews with four voters, not n - 1.
        let voters: Vec<String> = (0..5).map(|i| format!("p{i}")).collect();
        let setup = AgentSetup {
            label: "-electorate-5",
            flags: vec!["--electorate".to_string(), voters.join(",")],
            ..AgentSetup::default()
        };
        let c = Polity::start_with(bin, work, "lan", n, setup)?;
        c.elect(0, "idle")?;
        let groups = [
            ("holder of one role", 0..1),
            ("median of the other voters", 1..5),
            ("median of the non-voters", 5..n),
        ];
        measure_idle("polity lan, electorate of 5", &agents(&c), secs, &groups)?;
    }
    let s = Serf::start(work, n)?;
    let pids: Vec<i32> = s.nodes.iter().map(|n| n.proc.pid()).collect();
    let groups = [("first agent", 0..1), ("median of the others", 1..n)];
    measure_idle("serf lan", &pids, secs, &groups)
}

/// Lets a settled cluster idle for 10 s, then measures each of `pids` over `secs` and
/// prints, for each group of them, the median of each column.
fn measure_idle(
    system: &str,
    pids: &[i32],
    secs: u64,
    groups: &[(&str, std::ops::Range<usize>)],
) -> Result<()> {
    thread::sleep(Duration::from_secs(10));
    let cost = idle_cost(pids, secs)?;
    for (which, range) in groups {
        let group = cost.get(range.clone()).ok_or("fewer agents than groups")?;
        print_idle(system, pids.len(), which, medians(group), secs);
    }
    Ok(())
}
