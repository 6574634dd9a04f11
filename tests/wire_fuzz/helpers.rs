//! The names and limits the fuzz checks share.

use std::net::SocketAddr;

use polity::{NodeName, RoleName};

pub(crate) const MAX_DATAGRAM: usize = 1400;
/// How many failures are described in full.
pub(crate) const SHOWN_FAILURES: usize = 12;

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn name(s: &str) -> NodeName {
    NodeName::new(s).expect("valid name")
}

pub(crate) fn role(s: &str) -> RoleName {
    RoleName::new(s).expect("valid role name")
}

/// A role name of exactly `len` bytes (at most 128), ending in `tag`.
pub(crate) fn long_role(tag: &str, len: usize) -> RoleName {
    role(&format!("{tag:~>len$}"))
}

pub(crate) fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
