//! `polity force-leave NAME`: remove a member that is down from the population.

use std::process::ExitCode;

use polity::NodeName;

use crate::api::ForceLeftBody;
use crate::client::output::{Answer, answer, refused, show};
use crate::client::{self, Patience};

use super::ClientArgs;

#[derive(clap::Args, Debug)]
pub struct ForceLeaveArgs {
    /// The member to remove: it must be down.
    #[arg(value_name = "NAME")]
    pub name: NodeName,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `polity force-leave`.
pub fn run(args: ForceLeaveArgs) -> ExitCode {
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let path = client::member_path(args.name.as_str(), "force-leave");
    let json = args.client.json;
    match answer::<ForceLeftBody>(&args.client.http, client.post(&path, Patience::Bounded)) {
        Ok(Answer::Done(done, raw)) => {
            show(json, &done, &raw, |done| {
                format!("force-left {}", done.name)
            });
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[]),
        Err(code) => code,
    }
}
