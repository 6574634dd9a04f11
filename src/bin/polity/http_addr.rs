//! The `--http ADDR` flag: where the agent serves its API, and where the other commands
//! look for it.

use std::net::SocketAddr;

/// Where the API is served and looked for unless `--http` says otherwise.
pub const DEFAULT: &str = "127.0.0.1:7701";

/// The environment variable the client commands read when `--http` is not given.
pub const ENV: &str = "POLITY_HTTP_ADDR";

/// Parses `--http`: an IP address and a port, such as `127.0.0.1:7701` or `[::1]:7701`.
pub fn parse(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| {
        format!(
            "{text:?} is not an address: expected IP:PORT, such as {DEFAULT} (a host name \
             is not accepted; use its IP)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_say_what_is_expected() {
        assert_eq!(parse(DEFAULT), Ok(SocketAddr::from(([127, 0, 0, 1], 7701))));
        assert!(parse("[::1]:0").is_ok());
        for bad in ["localhost:7701", "127.0.0.1", "nonsense", ""] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("expected IP:PORT"), "{bad}: {error}");
        }
    }
}
