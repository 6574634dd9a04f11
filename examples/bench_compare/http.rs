//! The HTTP client for polity's API and etcd's JSON gateway.

use std::time::Duration;

use crate::Result;

/// A client that hands back every status as an answer, not as an error, and ignores any
/// proxy of the environment (every server is on loopback).
pub fn client() -> ureq::Agent {
    config().build().into()
}

/// [`client`], sending `token` with every request as polity's TCP API asks.
pub fn client_with_token(token: &str) -> ureq::Agent {
    let header = format!("Bearer {token}");
    config()
        .middleware(
            move |mut request: ureq::http::Request<ureq::SendBody>,
                  next: ureq::middleware::MiddlewareNext| {
                if let Ok(value) = header.parse() {
                    request.headers_mut().insert("authorization", value);
                }
                next.handle(request)
            },
        )
        .build()
        .into()
}

fn config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
}

pub fn post(agent: &ureq::Agent, url: &str, body: &str) -> Result<(u16, String)> {
    let response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body);
    status_and_body(&format!("POST {url}"), response)
}

pub fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, String)> {
    status_and_body(&format!("GET {url}"), agent.get(url).call())
}

/// The status and body of the answer to `request`.
fn status_and_body(
    request: &str,
    response: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(u16, String)> {
    let mut response = response.map_err(|e| format!("{request}: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("{request}: {e}"))?;
    Ok((status, body))
}
