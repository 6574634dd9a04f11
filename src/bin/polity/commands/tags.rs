//! `polity tags [--set KEY=VALUE]... [--delete KEY]...`: show or change the agent's own
//! node's tags, as `serf tags -set -delete`; every member sees them in `polity members`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::api::{TagsBody, TagsChange};
use crate::client::Patience;
use crate::client::output::{Answer, answer, refused, show};
use crate::node_args::parse_tag;

use super::ClientArgs;

#[derive(clap::Args, Debug)]
pub struct TagsArgs {
    /// A tag to set, as KEY=VALUE; repeat for more.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub set: Vec<(String, String)>,
    /// A tag to delete; repeat for more. Deletions come before the tags set.
    #[arg(long, value_name = "KEY")]
    pub delete: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Runs `polity tags`: with neither flag, prints the tags; else changes them and
/// prints the result, one `KEY=VALUE` per line.
pub fn run(args: TagsArgs) -> ExitCode {
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let request = if args.set.is_empty() && args.delete.is_empty() {
        client.get("/tags")
    } else {
        let change = TagsChange {
            set: args.set.into_iter().collect(),
            delete: args.delete,
        };
        match serde_json::to_string(&change) {
            Ok(json) => client.post_with("/tags", Patience::Bounded, Some(&json)),
            Err(error) => {
                eprintln!("polity: cannot write the request: {error}");
                return crate::exit_code::usage();
            }
        }
    };
    let json = args.client.json;
    match answer::<TagsBody>(&args.client.http, request) {
        Ok(Answer::Done(body, raw)) => {
            show(json, &body, &raw, |body| lines(&body.tags));
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[]),
        Err(code) => code,
    }
}

fn lines(tags: &BTreeMap<String, String>) -> String {
    let lines: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    lines.join("\n")
}
