//! How a client command reads the agent's answer and prints it: text, or with `--json`
//! the JSON as the agent sent it; and the exit code that goes with it.

use std::io::Write;
use std::process::ExitCode;

use serde::de::DeserializeOwned;

use super::{Reply, Unanswered};
use crate::api::{ErrorBody, ErrorCode};
use crate::endpoint::Endpoint;
use crate::exit_code;

/// What the agent answered, read.
pub enum Answer<T> {
    /// A 2xx answer.
    Done(T, String),
    /// An error answer.
    Refused(ErrorBody, String),
}

/// Reads an answer, or says why there is none and gives the exit code.
pub fn answer<T: DeserializeOwned>(
    addr: &Endpoint,
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
pub fn print(line: &str) -> bool {
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
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
