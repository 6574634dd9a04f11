//! `polity query ROLE`: ask a quorum who holds a role.

use std::process::ExitCode;

use crate::api::{RoleStatus, RoleView};
use crate::client;
use crate::client::output::{Answer, answer, refused, show};
use crate::exit_code;

use super::RoleArgs;

/// Runs `polity query`; exit 3 if the role is vacant or recalled.
pub fn run(args: RoleArgs) -> ExitCode {
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let path = client::role_path(&args.role, Some("query"));
    let json = args.client.json;
    match answer::<RoleView>(&args.client.http, client.get(&path)) {
        Ok(Answer::Done(view, raw)) => {
            show(json, &view, &raw, RoleView::line);
            if view.status == RoleStatus::Held {
                ExitCode::SUCCESS
            } else {
                exit_code::no()
            }
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[]),
        Err(code) => code,
    }
}
