//! The exit codes of every `polity` command.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done; for `query`, the role is held |
//! | 1 | failed: the agent cannot be reached, too few members, no quorum in time, ... |
//! | 2 | refused before doing anything: a bad flag, address or name |
//! | 3 | the answer is no: `elect` lost to another holder, `query` found the role vacant or recalled, `recall` found nobody to recall, `resign` found the role not held by the agent's node |

use std::process::ExitCode;

/// Something failed; the message says what.
pub const FAILURE: u8 = 1;
/// A bad flag, address or name: nothing was done.
pub const USAGE: u8 = 2;
/// The request was answered, and the answer is no.
pub const NO: u8 = 3;

pub fn failure() -> ExitCode {
    ExitCode::from(FAILURE)
}

pub fn usage() -> ExitCode {
    ExitCode::from(USAGE)
}

pub fn no() -> ExitCode {
    ExitCode::from(NO)
}

/// A single-threaded tokio runtime, or the exit code to stop with (after saying why).
///
/// One thread only: `campaign` relies on it, since CMD's parent-death signal follows the
/// thread that started CMD, which must live as long as the process.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("polity: cannot start the async runtime: {error}");
            failure()
        })
}
