//! The command line.

use std::path::PathBuf;

use crate::Result;

pub struct Args {
    pub polity: PathBuf,
    pub work: PathBuf,
    pub trials: usize,
    pub handoffs: usize,
    pub elections: usize,
    /// How long each idle cluster is measured, in seconds: one clock tick of CPU time is
    /// 1/(100 x idle_secs) of a core, 0.008% over the default 120 s.
    pub idle_secs: u64,
    /// Roles elected and resigned one after another by the churn trial.
    pub churn_roles: usize,
    /// Roles held by one agent in the held-roles idle trial.
    pub held_roles: usize,
    /// Roles elected at once on one agent of five in the many-roles trial.
    pub many_roles: usize,
    pub only: Vec<String>,
}

pub fn args() -> Result<Args> {
    let mut a = Args {
        polity: PathBuf::from("target/release/polity"),
        work: std::env::temp_dir().join("polity-bench"),
        trials: 30,
        handoffs: 100,
        elections: 1000,
        idle_secs: 120,
        churn_roles: 20_000,
        held_roles: 3_000,
        many_roles: 10_000,
        only: [
            "failover", "handoff", "election", "idle", "churn", "held", "many",
        ]
        .map(String::from)
        .to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--polity" => a.polity = PathBuf::from(&value),
            "--work" => a.work = PathBuf::from(&value),
            "--trials" => a.trials = number()?,
            "--handoffs" => a.handoffs = number()?,
            "--elections" => a.elections = number()?,
            "--idle-secs" => a.idle_secs = number()? as u64,
            "--churn-roles" => a.churn_roles = number()?,
            "--held-roles" => a.held_roles = number()?,
            "--many-roles" => a.many_roles = number()?,
            "--only" => a.only = value.split(',').map(String::from).collect(),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(a)
}
