//! How the client commands reach the agent's HTTP API: plain HTTP/1.1 on the Unix socket
//! or TCP address of `--http`, never through a proxy, with the token (if any) in an
//! `Authorization` header.

pub mod output;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, header};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use polity::RoleName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::runtime::Runtime;

use crate::api::PREFIX;
use crate::endpoint::{self, Endpoint};
use crate::token::Token;

/// How long to wait for the agent to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for any answer but a watch or an `elect --wait`: longer than an
/// election can take with the slowest profile (two leases of 10 s, and a round trip).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest answer read, in bytes.
const MAX_ANSWER_LEN: usize = 64 * 1024 * 1024;

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
    endpoint: Endpoint,
    token: Option<Token>,
}

/// Either kind of connection to the agent.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for S {}

impl Client {
    pub fn new(endpoint: Endpoint, token: Option<Token>) -> Self {
        Client { endpoint, token }
    }

    /// `GET` a path under `/v1`.
    pub fn get(&self, path: &str) -> Result<Reply, Unanswered> {
        self.call(Method::GET, path, Patience::Bounded, None)
    }

    /// `POST` to a path under `/v1`, with no body.
    pub fn post(&self, path: &str, patience: Patience) -> Result<Reply, Unanswered> {
        self.call(Method::POST, path, patience, None)
    }

    /// `POST` to a path under `/v1`, with a JSON body if `json` is given.
    pub fn post_with(
        &self,
        path: &str,
        patience: Patience,
        json: Option<&str>,
    ) -> Result<Reply, Unanswered> {
        self.call(Method::POST, path, patience, json)
    }

    fn call(
        &self,
        method: Method,
        path: &str,
        patience: Patience,
        json: Option<&str>,
    ) -> Result<Reply, Unanswered> {
        let runtime = runtime()?;
        runtime.block_on(async {
            let exchange = async {
                let response = self.send(method, path, json).await?;
                let status = response.status().as_u16();
                let body = Limited::new(response.into_body(), MAX_ANSWER_LEN)
                    .collect()
                    .await
                    .map_err(|error| self.failed(&*error))?
                    .to_bytes();
                Ok(Reply {
                    status,
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
            };
            match patience {
                Patience::Unbounded => exchange.await,
                Patience::Bounded => tokio::time::timeout(ANSWER_TIMEOUT, exchange)
                    .await
                    .unwrap_or_else(|_| {
                        Err(Unanswered(format!(
                            "the agent at {} did not answer in {ANSWER_TIMEOUT:?}; it may \
                             be overloaded or stuck",
                            self.endpoint
                        )))
                    }),
            }
        })
    }

    /// `GET` a path that streams lines: the status, and the lines as they come (an error
    /// answer comes whole, as one or more lines).
    pub fn stream(
        &self,
        path: &str,
    ) -> Result<(u16, impl Iterator<Item = Result<String, Unanswered>>), Unanswered> {
        let runtime = runtime()?;
        let response = runtime.block_on(self.send(Method::GET, path, None))?;
        let status = response.status().as_u16();
        let lines = Lines {
            runtime,
            body: response.into_body(),
            pending: Vec::new(),
            endpoint: self.endpoint.clone(),
            done: false,
        };
        Ok((status, lines))
    }

    /// Connects, sends one request and reads the head of its answer.
    async fn send(
        &self,
        method: Method,
        path: &str,
        json: Option<&str>,
    ) -> Result<Response<Incoming>, Unanswered> {
        let connect = async {
            Ok::<Box<dyn Stream>, std::io::Error>(match &self.endpoint {
                Endpoint::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
                Endpoint::Tcp(addr) => Box::new(tokio::net::TcpStream::connect(addr).await?),
            })
        };
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => return Err(self.unreachable(&error)),
            Err(_) => {
                return Err(Unanswered(format!(
                    "the agent at {} did not accept a connection in {CONNECT_TIMEOUT:?}",
                    self.endpoint
                )));
            }
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| self.failed(&error))?;
        tokio::spawn(connection);
        let host = match &self.endpoint {
            Endpoint::Tcp(addr) => addr.to_string(),
            Endpoint::Unix(_) => String::from("localhost"),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{PREFIX}{path}"))
            .header(header::HOST, host);
        if let Some(token) = &self.token {
            request = request.header(header::AUTHORIZATION, token.header());
        }
        if json.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = Full::new(Bytes::from(json.unwrap_or_default().to_owned()));
        let request = request.body(body).map_err(|error| self.failed(&error))?;
        sender
            .send_request(request)
            .await
            .map_err(|error| self.failed(&error))
    }

    fn failed(&self, error: &dyn std::fmt::Display) -> Unanswered {
        Unanswered(format!(
            "talking to the agent at {} failed: {error}",
            self.endpoint
        ))
    }

    /// Explains a connection that failed, with a word on how to start an agent or reach
    /// one.
    fn unreachable(&self, error: &std::io::Error) -> Unanswered {
        let at = &self.endpoint;
        let hint = format!(
            "Start one with `polity agent --name NAME --bind IP:PORT --join IP:PORT`, or \
             point to a running one with --http ADDR (or {})",
            endpoint::ENV
        );
        Unanswered(match error.kind() {
            std::io::ErrorKind::PermissionDenied => format!(
                "cannot reach the polity agent at {at} ({error}): its socket belongs to \
                 another user; run the command as the agent's user"
            ),
            _ => format!(
                "cannot reach a polity agent at {at} ({error}). Is one running there? {hint}"
            ),
        })
    }
}

/// A runtime for one command's requests: the client commands are synchronous.
fn runtime() -> Result<Runtime, Unanswered> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Unanswered(format!("cannot start the HTTP client: {error}")))
}

/// The lines of a streamed answer, read as they come.
struct Lines {
    runtime: Runtime,
    body: Incoming,
    pending: Vec<u8>,
    endpoint: Endpoint,
    done: bool,
}

impl Iterator for Lines {
    type Item = Result<String, Unanswered>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line[..end]);
                return Some(Ok(line.trim_end_matches('\r').to_owned()));
            }
            if self.done {
                if self.pending.is_empty() {
                    return None;
                }
                let rest = std::mem::take(&mut self.pending);
                return Some(Ok(String::from_utf8_lossy(&rest).into_owned()));
            }
            match self.runtime.block_on(self.body.frame()) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if self.pending.len() + data.len() > MAX_ANSWER_LEN {
                            self.done = true;
                            self.pending.clear();
                            return Some(Err(Unanswered(format!(
                                "the agent at {} sent a line longer than {MAX_ANSWER_LEN} bytes",
                                self.endpoint
                            ))));
                        }
                        self.pending.extend_from_slice(&data);
                    }
                }
                Some(Err(error)) => {
                    self.done = true;
                    self.pending.clear();
                    return Some(Err(Unanswered(format!(
                        "the agent at {} stopped answering: {error}",
                        self.endpoint
                    ))));
                }
                None => self.done = true,
            }
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

/// A value for a query string, escaped.
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
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
