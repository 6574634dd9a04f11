//! Resident memory and CPU of running processes, read from `/proc`.

use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::Result;

/// A field of `/proc/PID/status` in KiB: `VmRSS` (resident, code pages of the binary
/// and shared libraries included) or `RssAnon` (resident memory of the process's own).
fn status_kib(pid: i32, field: &str) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {field} for {pid}"))
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = &stat[stat.rfind(')').ok_or("bad stat")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file; `after` starts at field 3.
    let utime: u64 = fields
        .get(11)
        .and_then(|v| v.parse().ok())
        .ok_or("bad utime")?;
    let stime: u64 = fields
        .get(12)
        .and_then(|v| v.parse().ok())
        .ok_or("bad stime")?;
    Ok(utime + stime)
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Resident memory, anonymous resident memory (both MB) and CPU (% of one core over
/// `secs`) of each pid, measured together.
pub fn idle_cost(pids: &[i32], secs: u64) -> Result<Vec<(f64, f64, f64)>> {
    let before: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect::<Result<_>>()?;
    let started = Instant::now();
    thread::sleep(Duration::from_secs(secs));
    let after: Vec<u64> = pids.iter().map(|p| cpu_ticks(*p)).collect::<Result<_>>()?;
    let elapsed = started.elapsed().as_secs_f64();
    let tck = ticks_per_second();
    pids.iter()
        .zip(before.iter().zip(after))
        .map(|(p, (b, a))| {
            let cpu = (a - b) as f64 / tck / elapsed * 100.0;
            let mb = |field| Ok::<_, String>(status_kib(*p, field)? as f64 * 1024.0 / 1e6);
            Ok((mb("VmRSS")?, mb("RssAnon")?, cpu))
        })
        .collect()
}
