//! The client commands, one file each: every one makes one request to an agent's HTTP
//! API and prints the answer as text or, with `--json`, as the JSON the agent sent. Exit
//! codes are in [`crate::exit_code`].

pub mod elect;
pub mod force_leave;
pub mod keygen;
pub mod keys;
pub mod members;
pub mod query;
pub mod recall;
pub mod resign;
pub mod roles;
pub mod watch;

use std::net::SocketAddr;
use std::process::ExitCode;

use polity::RoleName;

use crate::api::{ErrorCode, TermBody};
use crate::client::output::{Answer, answer, refused, show};
use crate::client::{self, Client, Patience};
use crate::http_addr;

/// How to reach the agent, and how to print its answer.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// Address of the agent's HTTP API.
    #[arg(
        long,
        value_name = "ADDR",
        env = http_addr::ENV,
        default_value = http_addr::DEFAULT,
        value_parser = http_addr::parse
    )]
    pub http: SocketAddr,
    /// Print the agent's JSON answer instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A role, and how to reach the agent.
#[derive(clap::Args, Debug)]
pub struct RoleArgs {
    /// The role: 1 to 128 printable bytes, no whitespace.
    #[arg(value_name = "ROLE")]
    pub role: RoleName,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `resign` or `recall`: prints the term given up or recalled.
pub fn term_command(args: RoleArgs, action: &str, no: ErrorCode) -> ExitCode {
    let client = Client::new(args.client.http);
    let path = client::role_path(&args.role, Some(action));
    let json = args.client.json;
    match answer::<TermBody>(args.client.http, client.post(&path, Patience::Bounded)) {
        Ok(Answer::Done(done, raw)) => {
            show(json, &done, &raw, |done| done.term.to_string());
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[no]),
        Err(code) => code,
    }
}
