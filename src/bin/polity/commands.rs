//! The client commands: `elect`, `resign`, `recall`, `query`, `watch`, `members`,
//! `roles` and `force-leave`, each one request to an agent's HTTP API, printed as text
//! or, with `--json`, as the JSON the agent answered. Exit codes are in
//! [`crate::exit_code`].

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use polity::{NodeName, RoleName};
use serde::de::DeserializeOwned;

use crate::api::{
    ErrorBody, ErrorCode, ForceLeftBody, MembersBody, RoleStatus, RoleView, RolesBody, TermBody,
};
use crate::client::{self, Client, Patience, Reply, Unanswered};
use crate::exit_code;
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

#[derive(clap::Args, Debug)]
pub struct RoleArgs {
    /// The role: 1 to 128 printable bytes, no whitespace.
    #[arg(value_name = "ROLE")]
    pub role: RoleName,
    #[command(flatten)]
    pub client: ClientArgs,
}

#[derive(clap::Args, Debug)]
pub struct ElectArgs {
    #[command(flatten)]
    pub role: RoleArgs,
    /// Instead of one election, wait until the agent's node holds the role (retrying
    /// while another node holds it), however long that takes.
    #[arg(long)]
    pub wait: bool,
}

#[derive(clap::Args, Debug)]
pub struct ForceLeaveArgs {
    /// The member to remove: it must be down.
    #[arg(value_name = "NAME")]
    pub name: NodeName,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// What the agent answered, read.
pub enum Answer<T> {
    /// A 2xx answer.
    Done(T, String),
    /// An error answer.
    Refused(ErrorBody, String),
}

/// Reads an answer, or says why there is none and gives the exit code.
pub fn answer<T: DeserializeOwned>(
    addr: SocketAddr,
    reply: Result<Reply, Unanswered>,
) -> Result<Answer<T>, ExitCode> {
    let reply = reply.map_err(|error| fail(&error))?;
    let unexpected = || {
        fail(&format!(
            "unexpected answer from the agent at {addr} (HTTP {}): {}",
            reply.status,
            reply.body.trim()
        ))
    };
    if (200..300).contains(&reply.status) {
        let body = serde_json::from_str(&reply.body).map_err(|_| unexpected())?;
        Ok(Answer::Done(body, reply.body))
    } else {
        let body = serde_json::from_str(&reply.body).map_err(|_| unexpected())?;
        Ok(Answer::Refused(body, reply.body))
    }
}

/// Prints `message` as the reason for failing, and gives the failure exit code.
pub fn fail(message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("polity: {message}");
    exit_code::failure()
}

/// Prints one line to standard output; false if it is closed (a reader went away).
fn print(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// Prints an answer: the JSON as it came with `--json`, else the text `show` makes.
pub fn show<T>(json: bool, body: &T, raw: &str, text: impl FnOnce(&T) -> String) {
    let text = if json {
        raw.trim().to_owned()
    } else {
        text(body)
    };
    print(&text);
}

/// Prints a refusal: the JSON as it came on standard output with `--json`, else the
/// message on standard error. Gives `NO` for the codes in `no`, `FAILURE` otherwise.
pub fn refused(json: bool, error: &ErrorBody, raw: &str, no: &[ErrorCode]) -> ExitCode {
    if json {
        print(raw.trim());
    } else {
        eprintln!("polity: {}", error.error);
    }
    if no.contains(&error.code) {
        exit_code::no()
    } else {
        exit_code::failure()
    }
}

pub fn elect(args: ElectArgs) -> ExitCode {
    let ElectArgs { role, wait } = args;
    let client = Client::new(role.client.http);
    let mut path = client::role_path(&role.role, Some("elect"));
    let patience = if wait {
        path.push_str("?wait=true");
        Patience::Unbounded
    } else {
        Patience::Bounded
    };
    let json = role.client.json;
    match answer::<TermBody>(role.client.http, client.post(&path, patience)) {
        Ok(Answer::Done(won, raw)) => {
            show(json, &won, &raw, |won| won.term.to_string());
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(json, &error, &raw, &[ErrorCode::Lost]),
        Err(code) => code,
    }
}

pub fn resign(args: RoleArgs) -> ExitCode {
    term_command(args, "resign", ErrorCode::NotHolder)
}

pub fn recall(args: RoleArgs) -> ExitCode {
    term_command(args, "recall", ErrorCode::RoleUnfilled)
}

/// `resign` or `recall`: prints the term given up or recalled.
fn term_command(args: RoleArgs, action: &str, no: ErrorCode) -> ExitCode {
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

pub fn query(args: RoleArgs) -> ExitCode {
    let client = Client::new(args.client.http);
    let path = client::role_path(&args.role, Some("query"));
    let json = args.client.json;
    match answer::<RoleView>(args.client.http, client.get(&path)) {
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

pub fn watch(args: RoleArgs) -> ExitCode {
    let addr = args.client.http;
    let client = Client::new(addr);
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

pub fn members(args: ClientArgs) -> ExitCode {
    let client = Client::new(args.http);
    match answer::<MembersBody>(args.http, client.get("/members")) {
        Ok(Answer::Done(members, raw)) => {
            show(args.json, &members, &raw, members_table);
            ExitCode::SUCCESS
        }
        Ok(Answer::Refused(error, raw)) => refused(args.json, &error, &raw, &[]),
        Err(code) => code,
    }
}

/// `NAME ADDR STATUS`, aligned, with a header.
fn members_table(body: &MembersBody) -> String {
    let rows: Vec<Vec<&str>> = std::iter::once(vec!["NAME", "ADDR", "STATUS"])
        .chain(
            body.members
                .iter()
                .map(|m| vec![m.name.as_str(), m.addr.as_str(), m.status.as_str()]),
        )
        .collect();
    table(&rows)
}

/// Rows in columns two spaces apart, each as wide as its widest cell; the last column
/// is not padded.
pub fn table(rows: &[Vec<&str>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let last = row.len().saturating_sub(1);
            row.iter()
                .enumerate()
                .map(|(at, cell)| {
                    if at == last {
                        (*cell).to_owned()
                    } else {
                        format!("{cell:<width$}  ", width = widths[at])
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn roles(args: ClientArgs) -> ExitCode {
    let client = Client::new(args.http);
    match answer::<RolesBody>(args.http, client.get("/roles")) {
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

pub fn force_leave(args: ForceLeaveArgs) -> ExitCode {
    let client = Client::new(args.client.http);
    let path = client::member_path(args.name.as_str(), "force-leave");
    let json = args.client.json;
    match answer::<ForceLeftBody>(args.client.http, client.post(&path, Patience::Bounded)) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::MemberView;

    #[test]
    fn the_members_table_is_aligned_under_a_header() {
        let member = |name: &str, addr: &str, status: &str| MemberView {
            name: name.to_owned(),
            addr: addr.to_owned(),
            status: status.to_owned(),
            generation: 1,
        };
        let body = MembersBody {
            population: 2,
            members: vec![
                member("a", "127.0.0.1:7700", "alive"),
                member("node-22", "127.0.0.1:17710", "down"),
            ],
        };
        assert_eq!(
            members_table(&body),
            "NAME     ADDR             STATUS\n\
             a        127.0.0.1:7700   alive\n\
             node-22  127.0.0.1:17710  down"
        );
    }
}
