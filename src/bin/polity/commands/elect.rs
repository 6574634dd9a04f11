//! `polity elect ROLE [--wait] [--value TEXT]`: one election with the agent's node as
//! candidate.

use std::process::ExitCode;

use crate::api::{ErrorCode, TermBody, ValueBody};
use crate::client::output::{Answer, answer, refused, show};
use crate::client::{self, Patience};

use super::RoleArgs;

/// `polity elect`'s flags.
#[derive(clap::Args, Debug)]
pub struct ElectArgs {
    #[command(flatten)]
    pub role: RoleArgs,
    /// Instead of one election, wait until the agent's node holds the role (retrying
    /// while another node holds it), however long that takes.
    #[arg(long)]
    pub wait: bool,
    /// A value to publish with the role once won, such as the address to send its work
    /// to: every member's `query`, `watch` and `roles` show it after the holder. At
    /// most 920 bytes with the default datagram size; change it with `polity proclaim`.
    #[arg(long, value_name = "TEXT")]
    pub value: Option<String>,
    /// With --wait, prefer this node (client-go's preferredHolder): a holder of a lower
    /// priority hands the role over once this node has waited for it for two leases
    /// without a pause. Equal priorities never move a role; 0 is none.
    #[arg(long, value_name = "N", requires = "wait")]
    pub priority: Option<u32>,
}

/// Runs `polity elect`.
pub fn run(args: ElectArgs) -> ExitCode {
    let ElectArgs {
        role,
        wait,
        value,
        priority,
    } = args;
    let client = match role.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let mut path = client::role_path(&role.role, Some("elect"));
    let patience = if wait {
        path.push_str("?wait=true");
        if let Some(priority) = priority {
            path.push_str(&format!("&priority={priority}"));
        }
        Patience::Unbounded
    } else {
        Patience::Bounded
    };
    let body = value.map(|value| super::json_of(&ValueBody { value }));
    let json = role.client.json;
    let request = client.post_with(&path, patience, body.as_deref());
    match answer::<TermBody>(&role.client.http, request) {
        Ok(Answer::Done(won, raw)) => {
            show(json, &won, &raw, |won| won.term.to_string());
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[ErrorCode::Lost]),
        Err(code) => code,
    }
}
