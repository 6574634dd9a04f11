//! `polity resign ROLE [--to NODE]`: give up a role the agent's node holds, or hand it
//! to a named node.

use std::process::ExitCode;

use polity::NodeName;

use crate::api::ErrorCode;
use crate::client;

use super::{RoleArgs, term_command};

/// `polity resign`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ResignArgs {
    #[command(flatten)]
    pub role: RoleArgs,
    /// Hand the role to this node (raft's leadership transfer): it must be a live member
    /// that campaigns for the role; otherwise the role stays held here and the exit is
    /// 3 (not a candidate) or 1 (not reachable). Every voter then votes for NODE alone
    /// for an election timeout.
    #[arg(long, value_name = "NODE")]
    pub to: Option<NodeName>,
}

/// Runs `polity resign`: prints the term given up; exit 3 if the agent's node does not
/// hold the role, or if `--to` names a node that does not campaign for it.
pub fn run(args: ResignArgs) -> ExitCode {
    let query = args
        .to
        .map(|to| format!("?to={}", client::query_value(to.as_str())))
        .unwrap_or_default();
    let no = [ErrorCode::NotHolder, ErrorCode::NotCandidate];
    term_command(args.role, "resign", &query, &no)
}
