//! `polity recall ROLE`: ask a quorum to vacate a role, whoever holds it.

use std::process::ExitCode;

use crate::api::ErrorCode;

use super::{RoleArgs, term_command};

/// Runs `polity recall`; exit 3 if nobody holds the role.
pub fn run(args: RoleArgs) -> ExitCode {
    term_command(args, "recall", "", &[ErrorCode::RoleUnfilled])
}
