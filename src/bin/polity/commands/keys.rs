//! `polity keys list|install|use|remove`: the cluster's keyring, changed on every live
//! member through one agent, as serf's `keys` command does.
//!
//! Rotate a key in three steps, each complete before the next:
//! `polity keys install NEW`, `polity keys use NEW`, `polity keys remove OLD`.

use std::process::ExitCode;

use clap::Subcommand;

use super::ClientArgs;
use crate::api::{KeyBody, KeysBody};
use crate::client::Client;
use crate::client::output::{Answer, answer, refused, show, table};
use crate::exit_code;
use crate::keyring_file::parse_key;

#[derive(clap::Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    op: KeysOp,
}

#[derive(Subcommand, Debug)]
enum KeysOp {
    /// Every key in the cluster, with how many nodes have it installed and seal with it.
    List(ClientArgs),
    /// Add a key on every node; it opens datagrams at once, and seals once used.
    Install(KeyArgs),
    /// Make an installed key the one every node seals with.
    Use(KeyArgs),
    /// Remove a key that no node seals with any more.
    Remove(KeyArgs),
}

#[derive(clap::Args, Debug)]
struct KeyArgs {
    /// The key, in base64, as `polity keygen` prints it.
    #[arg(value_name = "KEY")]
    key: String,
    #[command(flatten)]
    client: ClientArgs,
}

pub fn run(args: KeysArgs) -> ExitCode {
    let (verb, client, key) = match &args.op {
        KeysOp::List(client) => ("list", client, None),
        KeysOp::Install(args) => ("install", &args.client, Some(&args.key)),
        KeysOp::Use(args) => ("use", &args.client, Some(&args.key)),
        KeysOp::Remove(args) => ("remove", &args.client, Some(&args.key)),
    };
    let agent = Client::new(client.http);
    let reply = match key {
        None => agent.get("/keys"),
        Some(key) => {
            if let Err(error) = parse_key(key) {
                eprintln!("polity: the key {error}");
                return exit_code::usage();
            }
            let body = KeyBody { key: key.clone() };
            let json = serde_json::to_string(&body).unwrap_or_default();
            agent.post_json(&format!("/keys/{verb}"), &json)
        }
    };
    match answer::<KeysBody>(client.http, reply) {
        Ok(Answer::Done(body, raw)) => {
            show(client.json, &body, &raw, |body| summary(verb, body));
            if body.is_complete() {
                ExitCode::SUCCESS
            } else {
                if !client.json {
                    eprintln!(
                        "polity: not every node {}; run the command again once they are \
                         reachable, before the next step of a rotation",
                        if verb == "list" {
                            "answered"
                        } else {
                            "made the change"
                        }
                    );
                }
                exit_code::failure()
            }
        }
        Ok(Answer::Refused(error, raw)) => refused(client.json, &error, &raw, &[]),
        Err(code) => code,
    }
}

/// What a rollout came to, for people: who answered, the keys, who refused, who is
/// missing.
fn summary(verb: &str, body: &KeysBody) -> String {
    let done = match verb {
        "list" => "answered",
        "install" => "installed the key",
        "use" => "now seal with the key",
        _ => "removed the key",
    };
    // The agent's counts, not trusted to agree: a refusal is among the answers.
    let ok = body.answered.saturating_sub(body.refused.len());
    let mut lines = vec![format!("{ok} of {} nodes {done}", body.nodes)];
    let counts: Vec<[String; 3]> = body
        .keys
        .iter()
        .map(|count| {
            [
                count.key.clone(),
                format!("{}/{ok}", count.installed),
                format!("{}/{ok}", count.primary),
            ]
        })
        .collect();
    if !counts.is_empty() {
        let mut rows = vec![vec!["KEY", "INSTALLED", "PRIMARY"]];
        rows.extend(
            counts
                .iter()
                .map(|row| row.iter().map(String::as_str).collect()),
        );
        lines.push(table(&rows));
    }
    for refusal in &body.refused {
        lines.push(format!("{} refused: {}", refusal.node, refusal.error));
    }
    if !body.missing.is_empty() {
        lines.push(format!("no answer from: {}", body.missing.join(", ")));
    }
    lines.join("\n")
}
