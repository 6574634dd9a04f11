//! `campaign --check CMD`: holding tied to the health of the service, as Consul's session
//! health checks are.
//!
//! The check is a shell command (`sh -c CMD`, with `POLITY_ROLE` in its environment) run
//! every `--check-interval`; exit status 0 passes, anything else fails, and so does a
//! check still running after one interval (it is killed). The service is healthy from
//! the first check that passes until `--check-failures` checks in a row fail. `campaign`
//! seeks the role only while healthy: a node that has not passed a check yet never
//! campaigns, so it never wins. Once unhealthy it stops CMD (SIGTERM, then SIGKILL after
//! the stop window), resigns the role, and campaigns again only after a check passes.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A health check as given on the command line.
#[derive(Debug, Clone)]
pub struct Check {
    /// The shell command.
    pub command: String,
    /// How often it runs, and how long one run may take.
    pub interval: Duration,
    /// How many failures in a row make the service unhealthy.
    pub failures: u32,
    /// Given to the check as `POLITY_ROLE`.
    pub role: String,
}

/// The health of the service, as its check last found it. The check stops when this is
/// dropped.
pub struct Health {
    healthy: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Health {
    /// Starts running `check`; unhealthy until a run passes.
    pub fn start(check: Check) -> Health {
        let (tx, healthy) = watch::channel(false);
        let task = tokio::spawn(run(check, tx));
        Health { healthy, task }
    }

    /// Resolves once the service is healthy (at once if it is).
    pub async fn passing(&mut self) {
        self.until(true).await;
    }

    /// Resolves once the service is unhealthy (at once if it is).
    pub async fn failing(&mut self) {
        self.until(false).await;
    }

    async fn until(&mut self, healthy: bool) {
        if self.healthy.wait_for(|h| *h == healthy).await.is_err() {
            // The check task never ends by itself; should it, never resolve.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Health {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Resolves once `health` is healthy; at once without a check.
pub async fn passing(health: &mut Option<Health>) {
    if let Some(health) = health {
        health.passing().await;
    }
}

/// Resolves once `health` is unhealthy; never without a check.
pub async fn failing(health: &mut Option<Health>) {
    match health {
        Some(health) => health.failing().await,
        None => std::future::pending().await,
    }
}

async fn run(check: Check, healthy: watch::Sender<bool>) {
    let mut failed_in_a_row = 0u32;
    let mut ticks = tokio::time::interval(check.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match run_once(&check).await {
            Ok(()) => {
                failed_in_a_row = 0;
                if !*healthy.borrow() {
                    tracing::info!(check = %check.command, "the health check passes");
                }
                healthy.send_replace(true);
            }
            Err(why) => {
                failed_in_a_row = failed_in_a_row.saturating_add(1);
                tracing::warn!(
                    check = %check.command, %why, failed_in_a_row, "the health check failed"
                );
                if failed_in_a_row >= check.failures && *healthy.borrow() {
                    tracing::warn!(check = %check.command, "the service is unhealthy");
                    healthy.send_replace(false);
                }
            }
        }
    }
}

/// Runs the check once: `Ok` if it exited 0 within one interval, or why not.
async fn run_once(check: &Check) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&check.command)
        .env("POLITY_ROLE", &check.role)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run sh: {error}"))?;
    match tokio::time::timeout(check.interval, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(status.to_string()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("still running after {:?}; killed", check.interval)),
    }
}
