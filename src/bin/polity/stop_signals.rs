//! Stopping on request: SIGINT (Ctrl-C) or SIGTERM, for `agent` and `campaign`.
//!
//! The handlers are installed when [`StopSignals::new`] is called, not when it is first
//! awaited: made before the process tells anyone it runs (the addresses on standard
//! output, systemd's `READY=1`), no SIGTERM can come before them and kill the process
//! without a graceful leave.

use std::io;

use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};

/// SIGINT and SIGTERM, caught.
pub struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers; needs a tokio runtime.
    pub fn new() -> io::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next SIGINT or SIGTERM. Cancel-safe.
    pub async fn recv(&mut self) -> Signal {
        tokio::select! {
            Some(()) = self.interrupt.recv() => Signal::SIGINT,
            Some(()) = self.terminate.recv() => Signal::SIGTERM,
            // Both streams end only with the runtime; no signal will come.
            else => std::future::pending().await,
        }
    }
}

/// The exit status of a process that stops because of `signal`, as a shell reports
/// one killed by it: 128 + its number.
pub fn exit_status(signal: Signal) -> u8 {
    u8::try_from(128 + signal as i32).unwrap_or(1)
}
