//! `polity proclaim ROLE VALUE`: publish a new value with a role the agent's node holds,
//! keeping the term (etcd's `Proclaim`).

use std::process::ExitCode;

use crate::api::{ErrorCode, ProclaimedBody, ValueBody};
use crate::client::output::{Answer, answer, refused, show};
use crate::client::{self, Patience};

use super::RoleArgs;

/// `polity proclaim`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ProclaimArgs {
    #[command(flatten)]
    pub role: RoleArgs,
    /// The value, as text; an empty one clears it.
    #[arg(value_name = "VALUE")]
    pub value: String,
}

/// Runs `polity proclaim`: prints the value's version within the term; exit 3 if the
/// agent's node does not hold the role.
pub fn run(args: ProclaimArgs) -> ExitCode {
    let ProclaimArgs { role, value } = args;
    let client = match role.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let path = client::role_path(&role.role, Some("proclaim"));
    let body = super::json_of(&ValueBody { value });
    let json = role.client.json;
    let request = client.post_with(&path, Patience::Bounded, Some(&body));
    match answer::<ProclaimedBody>(&role.client.http, request) {
        Ok(Answer::Done(done, raw)) => {
            show(json, &done, &raw, |done| done.version.to_string());
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[ErrorCode::NotHolder]),
        Err(code) => code,
    }
}
