//! `polity keys list|install|use|remove`: the cluster's keyring, changed on every live
//! member through one agent, as serf's `keys` command does.
//!
//! Rotate a key in three steps, each complete before the next:
//! `polity keys install NEW`, `polity keys use NEW`, `polity keys remove OLD`.

use std::path::PathBuf;
use std::process::ExitCode;

use polity::wire::Key;

use clap::Subcommand;

use super::ClientArgs;
use crate::api::{KeyBody, KeysBody};
use crate::client::Patience;
use crate::client::output::{Answer, answer, print, refused, show, table};
use crate::exit_code;
use crate::keyring_file::{encode_key, fingerprint, parse_key, read_key_file};

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
    /// Print a key's fingerprint, as `keys list` names it, without asking any agent.
    Fingerprint(KeySource),
}

#[derive(clap::Args, Debug)]
struct KeyArgs {
    #[command(flatten)]
    key: KeySource,
    #[command(flatten)]
    client: ClientArgs,
}

/// A key, on the command line or in a file.
#[derive(clap::Args, Debug)]
struct KeySource {
    /// The key, in base64, as `polity keygen` prints it. Prefer --key-file: a key on the
    /// command line shows in `ps` and in shell history.
    #[arg(
        value_name = "KEY",
        required_unless_present = "key_file",
        conflicts_with = "key_file"
    )]
    key: Option<String>,
    /// A file holding the key as `polity keygen` prints it; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
}

impl KeySource {
    /// The key given, read and checked.
    fn key(&self) -> Result<Key, String> {
        match (&self.key, &self.key_file) {
            (_, Some(path)) => read_key_file(path),
            (Some(key), None) => parse_key(key).map_err(|error| format!("the key {error}")),
            (None, None) => Err("give the key, or --key-file FILE".into()),
        }
    }
}

pub fn run(args: KeysArgs) -> ExitCode {
    let (verb, client, key) = match &args.op {
        KeysOp::List(client) => ("list", client, None),
        KeysOp::Install(args) => ("install", &args.client, Some(&args.key)),
        KeysOp::Use(args) => ("use", &args.client, Some(&args.key)),
        KeysOp::Remove(args) => ("remove", &args.client, Some(&args.key)),
        KeysOp::Fingerprint(source) => {
            return match source.key() {
                Ok(key) => {
                    print(&fingerprint(&key));
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("polity: {error}");
                    exit_code::usage()
                }
            };
        }
    };
    let key = match key.map(KeySource::key).transpose() {
        Ok(key) => key,
        Err(error) => {
            eprintln!("polity: {error}");
            return exit_code::usage();
        }
    };
    let agent = match client.client() {
        Ok(agent) => agent,
        Err(code) => return code,
    };
    let reply = match &key {
        None => agent.get("/keys"),
        Some(key) => {
            let body = KeyBody {
                key: encode_key(key),
            };
            let json = serde_json::to_string(&body).unwrap_or_default();
            agent.post_with(&format!("/keys/{verb}"), Patience::Bounded, Some(&json))
        }
    };
    match answer::<KeysBody>(&client.http, reply) {
        Ok(Answer::Done(body, raw)) => {
            show(client.json, &body, &raw, |body| {
                summary(verb, key.as_ref().map(fingerprint).as_deref(), body)
            });
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

/// What a rollout came to, for people: who answered, the keys (by fingerprint), who
/// refused, who is missing. `key` is the fingerprint of the key changed, if any.
fn summary(verb: &str, key: Option<&str>, body: &KeysBody) -> String {
    let done = match verb {
        "list" => "answered",
        "install" => "installed the key",
        "use" => "now seal with the key",
        _ => "removed the key",
    };
    // The agent's counts, not trusted to agree: a refusal is among the answers.
    let ok = body.answered.saturating_sub(body.refused.len());
    let done = match key {
        Some(key) => format!("{done} {key}"),
        None => done.to_owned(),
    };
    let mut lines = vec![format!("{ok} of {} nodes {done}", body.nodes)];
    let counts: Vec<[String; 3]> = body
        .keys
        .iter()
        .map(|count| {
            [
                count.fingerprint.clone(),
                format!("{}/{ok}", count.installed),
                format!("{}/{ok}", count.primary),
            ]
        })
        .collect();
    if !counts.is_empty() {
        let mut rows = vec![vec!["FINGERPRINT", "INSTALLED", "PRIMARY"]];
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
