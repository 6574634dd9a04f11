//! Polling for a condition that some other process brings about.

use std::thread;
use std::time::{Duration, Instant};

use crate::Result;

/// Asks `done` every 50 ms until it is true; fails after `timeout`, naming `what`.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
