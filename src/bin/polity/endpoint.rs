//! The `--http` flag: where the agent serves its API, and where the other commands look
//! for it. Either a Unix domain socket (the default: only the agent's user can connect)
//! or a TCP address (which then needs a token, see [`crate::token`]).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The environment variable the client commands read when `--http` is not given.
pub const ENV: &str = "POLITY_HTTP_ADDR";

/// Where the API is served or looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix domain socket at this path.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

impl Default for Endpoint {
    /// The default socket: `$XDG_RUNTIME_DIR/polity/agent.sock` where that variable is
    /// set (a login session's own directory), else `/run/polity/agent.sock` for root (a
    /// service), else `/tmp/polity-UID/agent.sock`.
    fn default() -> Self {
        let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|dir| !dir.is_empty()) {
            Some(runtime) => PathBuf::from(runtime).join("polity"),
            None => {
                let uid = nix::unistd::Uid::effective();
                if uid.is_root() {
                    PathBuf::from("/run/polity")
                } else {
                    PathBuf::from(format!("/tmp/polity-{uid}"))
                }
            }
        };
        Endpoint::Unix(dir.join("agent.sock"))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse(text)
    }
}

/// Parses `--http`: `unix:PATH` (or a path with a `/` in it) for a Unix socket, or an IP
/// address and a port, such as `127.0.0.1:7701` or `[::1]:7701`, for TCP.
pub fn parse(text: &str) -> Result<Endpoint, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("unix: needs a path, such as unix:/run/polity/agent.sock".into());
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    if let Ok(addr) = text.parse() {
        return Ok(Endpoint::Tcp(addr));
    }
    if text.contains('/') {
        return Ok(Endpoint::Unix(PathBuf::from(text)));
    }
    Err(format!(
        "{text:?} is not an address: expected unix:PATH for a Unix socket, or IP:PORT \
         such as 127.0.0.1:7701 (a host name is not accepted; use its IP)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_or_say_what_is_expected() {
        assert_eq!(
            parse("127.0.0.1:7701"),
            Ok(Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 7701))))
        );
        assert!(matches!(parse("[::1]:0"), Ok(Endpoint::Tcp(_))));
        assert_eq!(
            parse("unix:/run/p.sock"),
            Ok(Endpoint::Unix("/run/p.sock".into()))
        );
        assert_eq!(parse("./p.sock"), Ok(Endpoint::Unix("./p.sock".into())));
        for bad in ["localhost:7701", "127.0.0.1", "nonsense", "", "unix:"] {
            let error = parse(bad).unwrap_err();
            assert!(
                error.contains("expected") || error.contains("needs"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn an_endpoint_reads_back_as_it_is_written() {
        for endpoint in [
            Endpoint::default(),
            Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 1))),
        ] {
            assert_eq!(parse(&endpoint.to_string()), Ok(endpoint));
        }
    }
}
