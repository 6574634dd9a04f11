//! `polity roles`: the roles the agent knows of, as it sees them.

use std::process::ExitCode;

use crate::api::RolesBody;
use crate::client::output::{Answer, answer, print, refused};

use super::ClientArgs;

/// Runs `polity roles`.
pub fn run(args: ClientArgs) -> ExitCode {
    let client = match args.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    match answer::<RolesBody>(&args.http, client.get("/roles")) {
        Ok(Answer::Done(roles, raw)) => {
            if args.json {
                print(raw.trim());
            } else {
                for role in &roles.roles {
                    print(&role.line());
                }
            }
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(args.json, &error, &raw, &[]),
        Err(code) => code,
    }
}
