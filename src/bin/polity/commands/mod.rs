//! The client commands, one file each: every one makes one request to an agent's HTTP
//! API and prints the answer as text or, with `--json`, as the JSON the agent sent
//! (`completions` and `man` ask no agent). Exit
//! codes are in [`crate::exit_code`].

pub mod completions;
pub mod elect;
pub mod force_leave;
pub mod keygen;
pub mod keys;
pub mod members;
pub mod proclaim;
pub mod query;
pub mod recall;
pub mod resign;
pub mod roles;
pub mod tags;
pub mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use polity::RoleName;

use crate::api::{ErrorCode, TermBody};
use crate::client::output::{Answer, answer, refused, show};
use crate::client::{self, Client, Patience};
use crate::endpoint::{self, Endpoint};
use crate::exit_code;
use crate::token::{self, Token};

/// How to reach the agent, and how to print its answer.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// Where the agent's API is: unix:PATH for its socket (the default), or IP:PORT.
    #[arg(
        long,
        value_name = "ADDR",
        env = endpoint::ENV,
        default_value_t = Endpoint::default(),
        value_parser = endpoint::parse
    )]
    pub http: Endpoint,
    /// A file holding the token of an agent that serves its API over TCP. Without it,
    /// the token is read from POLITY_HTTP_TOKEN.
    #[arg(long, value_name = "FILE", env = token::FILE_ENV)]
    pub http_token_file: Option<PathBuf>,
    /// Print the agent's JSON answer instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ClientArgs {
    /// A client of the agent, or the exit code for a token that cannot be read.
    pub fn client(&self) -> Result<Client, ExitCode> {
        match Token::for_client(self.http_token_file.as_deref()) {
            Ok(token) => Ok(Client::new(self.http.clone(), token)),
            Err(error) => {
                eprintln!("polity: {error}");
                Err(exit_code::usage())
            }
        }
    }
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

/// A request body as JSON. The bodies are plain structs of strings, which always
/// serialise.
pub fn json_of(body: &impl serde::Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// `resign` or `recall` (`action`, with a query string such as `?to=NODE` or none):
/// prints the term given up or recalled; exit 3 for the error codes in `no`.
pub fn term_command(args: RoleArgs, action: &str, query: &str, no: &[ErrorCode]) -> ExitCode {
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let path = client::role_path(&args.role, Some(action)) + query;
    let json = args.client.json;
    match answer::<TermBody>(&args.client.http, client.post(&path, Patience::Bounded)) {
        Ok(Answer::Done(done, raw)) => {
            show(json, &done, &raw, |done| done.term.to_string());
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, no),
        Err(code) => code,
    }
}
