//! How the client commands reach the agent's HTTP API: plain HTTP/1.1 on the address of
//! `--http`, never through a proxy.

pub mod output;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use polity::RoleName;

use crate::api::PREFIX;

/// How long to wait for the agent to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for any answer but a watch or an `elect --wait`: longer than an
/// election can take with the slowest profile (two leases of 10 s, and a round trip).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest answer read, in bytes.
const MAX_ANSWER_LEN: u64 = 64 * 1024 * 1024;

/// Everything but the characters that need no escaping in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An answer of the agent: its status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why no answer came.
#[derive(Debug)]
pub struct Unanswered(String);

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a request may wait for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Up to two minutes.
    Bounded,
    /// For as long as it takes (`elect --wait`, `watch`).
    Unbounded,
}

/// A client of one agent.
pub struct Client {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .build();
        Client {
            addr,
            agent: config.into(),
        }
    }

    /// `GET` a path under `/v1`.
    pub fn get(&self, path: &str) -> Result<Reply, Unanswered> {
        let request = self
            .agent
            .get(self.url(path))
            .config()
            .timeout_global(Some(ANSWER_TIMEOUT))
            .build();
        let response = request.call().map_err(|error| self.unanswered(&error))?;
        self.read(response)
    }

    /// `POST` to a path under `/v1`, with no body.
    pub fn post(&self, path: &str, patience: Patience) -> Result<Reply, Unanswered> {
        self.post_body(path, patience, None)
    }

    /// `POST` a JSON body to a path under `/v1`.
    pub fn post_json(&self, path: &str, json: &str) -> Result<Reply, Unanswered> {
        self.post_body(path, Patience::Bounded, Some(json))
    }

    fn post_body(
        &self,
        path: &str,
        patience: Patience,
        json: Option<&str>,
    ) -> Result<Reply, Unanswered> {
        let timeout = match patience {
            Patience::Bounded => Some(ANSWER_TIMEOUT),
            Patience::Unbounded => None,
        };
        let request = self
            .agent
            .post(self.url(path))
            .config()
            .timeout_global(timeout)
            .build();
        let response = match json {
            Some(json) => request
                .header("content-type", "application/json")
                .send(json),
            None => request.send_empty(),
        }
        .map_err(|error| self.unanswered(&error))?;
        self.read(response)
    }

    /// `GET` a path that streams lines: the status, and the lines as they come (an error
    /// answer comes whole, as one or more lines).
    pub fn stream(
        &self,
        path: &str,
    ) -> Result<(u16, impl Iterator<Item = Result<String, Unanswered>>), Unanswered> {
        let response = self
            .agent
            .get(self.url(path))
            .call()
            .map_err(|error| self.unanswered(&error))?;
        let status = response.status().as_u16();
        let addr = self.addr;
        let lines = BufReader::new(response.into_body().into_reader())
            .lines()
            .map(move |line| {
                line.map_err(|error| {
                    Unanswered(format!("the agent at {addr} stopped answering: {error}"))
                })
            });
        Ok((status, lines))
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{PREFIX}{path}", self.addr)
    }

    fn read(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<Reply, Unanswered> {
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_LEN)
            .read_to_string()
            .map_err(|error| self.unanswered(&error))?;
        Ok(Reply { status, body })
    }

    /// Explains a failed request; an agent that cannot be reached gets a word on how to
    /// start one.
    fn unanswered(&self, error: &ureq::Error) -> Unanswered {
        let addr = self.addr;
        let unreachable = match error {
            ureq::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::HostUnreachable
                    | std::io::ErrorKind::NetworkUnreachable
            ),
            ureq::Error::ConnectionFailed => true,
            ureq::Error::Timeout(timeout) => {
                return Unanswered(format!(
                    "the agent at {addr} did not answer in time ({timeout}); it may be \
                     overloaded or stuck"
                ));
            }
            _ => false,
        };
        if unreachable {
            Unanswered(format!(
                "cannot reach a polity agent at {addr} ({error}). Is one running there? \
                 Start one with `polity agent --name NAME --bind IP:PORT --join IP:PORT \
                 --http {addr}`, or point to a running one with --http ADDR (or {})",
                crate::http_addr::ENV
            ))
        } else {
            Unanswered(format!("talking to the agent at {addr} failed: {error}"))
        }
    }
}

/// The path of `role`, or of one of its actions, with the name escaped.
pub fn role_path(role: &RoleName, action: Option<&str>) -> String {
    let name = utf8_percent_encode(role.as_str(), SEGMENT);
    match action {
        Some(action) => format!("/roles/{name}/{action}"),
        None => format!("/roles/{name}"),
    }
}

/// The path of a member's action, with the name escaped.
pub fn member_path(name: &str, action: &str) -> String {
    format!("/members/{}/{action}", utf8_percent_encode(name, SEGMENT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_paths() {
        let role = RoleName::new("shard/7?primary#1%").unwrap();
        assert_eq!(
            role_path(&role, Some("elect")),
            "/roles/shard%2F7%3Fprimary%231%25/elect"
        );
        let plain = RoleName::new("scheduler-1.a_b~").unwrap();
        assert_eq!(role_path(&plain, None), "/roles/scheduler-1.a_b~");
        assert_eq!(
            member_path("n/1", "force-leave"),
            "/members/n%2F1/force-leave"
        );
    }
}
