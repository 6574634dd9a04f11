//! `polity resign ROLE`: give up a role the agent's node holds.

use std::process::ExitCode;

use crate::api::ErrorCode;

use super::{RoleArgs, term_command};

/// Runs `polity resign`; exit 3 if the node does not hold the role.
pub fn run(args: RoleArgs) -> ExitCode {
    term_command(args, "resign", ErrorCode::NotHolder)
}
