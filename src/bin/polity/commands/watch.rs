//! `polity watch ROLE`: follow the agent's view of a role, one line per change.

use std::process::ExitCode;

use crate::api::RoleView;
use crate::client::output::{Answer, answer, fail, print, refused};
use crate::client::{self, Reply, Unanswered};

use super::RoleArgs;

/// Runs `polity watch` until interrupted or the agent ends the watch.
pub fn run(args: RoleArgs) -> ExitCode {
    let addr = &args.client.http;
    let client = match args.client.client() {
        Ok(client) => client,
        Err(code) => return code,
    };
    let path = client::role_path(&args.role, Some("watch"));
    let (status, lines) = match client.stream(&path) {
        Ok(stream) => stream,
        Err(error) => return fail(&error),
    };
    if status != 200 {
        let body: Result<Vec<String>, Unanswered> = lines.collect();
        let reply = body.map(|lines| Reply {
            status,
            body: lines.join("\n"),
        });
        return match answer::<RoleView>(addr, reply) {
            Ok(Answer::Refused(error, raw)) => refused(args.client.json, &error, &raw, &[]),
            Ok(Answer::Done(..)) => fail(&format!("unexpected answer from the agent at {addr}")),
            Err(code) => code,
        };
    }
    for line in lines {
        let line = match line {
            Ok(line) => line,
            Err(error) => return fail(&error),
        };
        let text = if args.client.json {
            line
        } else {
            match serde_json::from_str::<RoleView>(&line) {
                Ok(view) => view.line(),
                Err(_) => {
                    return fail(&format!("unexpected line from the agent at {addr}: {line}"));
                }
            }
        };
        if !print(&text) {
            return ExitCode::SUCCESS;
        }
    }
    fail(&format!(
        "the agent at {addr} ended the watch: it is leaving the cluster or has stopped"
    ))
}
