//! Who a node is: a stable name, the address it answers on, and a generation that
//! grows with every restart so a restarted node wins over its old self.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The longest node name accepted, in bytes. Names travel in every SWIM packet twice,
/// so they are kept short.
pub const MAX_NODE_NAME_LEN: usize = 64;

/// A node's stable, cluster-unique name ("web-1", "10.0.0.7").
///
/// The population of the electorate counts names, not restarts: a node that restarts
/// under the same name counts once. A valid name is 1 to [`MAX_NODE_NAME_LEN`] bytes of
/// printable characters without whitespace.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NodeName(String);

/// Why a node or role name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidName {
    /// The name is empty; pick a non-empty name.
    #[error("name is empty")]
    Empty,
    /// The name is longer than allowed; pick a shorter one.
    #[error("name is {len} bytes long, at most {max} are allowed")]
    TooLong {
        /// Length of the refused name, in bytes.
        len: usize,
        /// The limit, in bytes.
        max: usize,
    },
    /// The name holds a control or whitespace character; use printable characters only.
    #[error("name holds the character {found:?}, which is not printable or is whitespace")]
    BadCharacter {
        /// The first offending character.
        found: char,
    },
}

/// Checks a name against the shared rules: non-empty, at most `max` bytes, and made of
/// printable characters without whitespace.
pub(crate) fn check_name(name: &str, max: usize) -> Result<(), InvalidName> {
    if name.is_empty() {
        return Err(InvalidName::Empty);
    }
    if name.len() > max {
        return Err(InvalidName::TooLong {
            len: name.len(),
            max,
        });
    }
    match name.chars().find(|c| c.is_control() || c.is_whitespace()) {
        Some(found) => Err(InvalidName::BadCharacter { found }),
        None => Ok(()),
    }
}

impl NodeName {
    /// Validates and wraps a name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        check_name(&name, MAX_NODE_NAME_LEN)?;
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NodeName {
    type Error = InvalidName;
    fn try_from(name: String) -> Result<Self, InvalidName> {
        Self::new(name)
    }
}

impl From<NodeName> for String {
    fn from(name: NodeName) -> String {
        name.0
    }
}

impl std::str::FromStr for NodeName {
    type Err = InvalidName;
    fn from_str(name: &str) -> Result<Self, InvalidName> {
        Self::new(name)
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The longest role name accepted, in bytes.
pub const MAX_ROLE_NAME_LEN: usize = 128;

/// The name of a role ("scheduler", "shard-7-primary"): 1 to [`MAX_ROLE_NAME_LEN`] bytes
/// of printable characters without whitespace.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    /// Validates and wraps a role name.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        check_name(&name, MAX_ROLE_NAME_LEN)?;
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoleName {
    type Error = InvalidName;
    fn try_from(name: String) -> Result<Self, InvalidName> {
        Self::new(name)
    }
}

impl From<RoleName> for String {
    fn from(name: RoleName) -> String {
        name.0
    }
}

impl std::str::FromStr for RoleName {
    type Err = InvalidName;
    fn from_str(name: &str) -> Result<Self, InvalidName> {
        Self::new(name)
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A node's identity in the gossip layer: its [`NodeName`], the address it receives
/// datagrams on, and its generation.
///
/// The generation is chosen when the node starts (the tokio node uses the wall-clock time
/// in microseconds) and grows by one each time the node has to rejoin after being declared
/// down, so a newer incarnation of the same node always wins over an older one at the
/// same address.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId {
    name: NodeName,
    addr: SocketAddr,
    generation: u64,
}

impl NodeId {
    /// An identity from its parts.
    ///
    /// An IPv6 address loses its flow label and scope id: they do not cross the wire, so
    /// an identity that kept them would not match itself after a round trip. Link-local
    /// IPv6 addresses are therefore not usable as node addresses; use global or
    /// unique-local ones.
    pub fn new(name: NodeName, mut addr: SocketAddr, generation: u64) -> Self {
        if let SocketAddr::V6(v6) = &mut addr {
            v6.set_flowinfo(0);
            v6.set_scope_id(0);
        }
        Self {
            name,
            addr,
            generation,
        }
    }

    /// The node's stable name.
    pub fn name(&self) -> &NodeName {
        &self.name
    }

    /// The address the node receives datagrams on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The node's generation: larger means a later start or rejoin.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The identity used to address a seed whose name is not known yet: foca accepts an
    /// announce sent to any identity with its own address.
    pub(crate) fn seed(addr: SocketAddr) -> Self {
        Self {
            name: NodeName(String::from("?")),
            addr,
            generation: 0,
        }
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}#{}", self.name, self.addr, self.generation)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.addr)
    }
}

impl foca::Identity for NodeId {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(Self {
            generation: self.generation.saturating_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        (self.generation, &self.name) > (adversary.generation, &adversary.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foca::Identity;

    fn id(name: &str, generation: u64) -> NodeId {
        NodeId::new(
            NodeName::new(name).unwrap(),
            "127.0.0.1:7000".parse().unwrap(),
            generation,
        )
    }

    #[test]
    fn names_are_validated() {
        assert_eq!(NodeName::new(""), Err(InvalidName::Empty));
        assert_eq!(
            NodeName::new("a".repeat(65)),
            Err(InvalidName::TooLong { len: 65, max: 64 })
        );
        assert_eq!(
            NodeName::new("web 1"),
            Err(InvalidName::BadCharacter { found: ' ' })
        );
        assert_eq!(
            NodeName::new("a\u{7}"),
            Err(InvalidName::BadCharacter { found: '\u{7}' })
        );
        assert_eq!(NodeName::new("web-1.dc_2").unwrap().as_str(), "web-1.dc_2");
        assert!(NodeName::new("a".repeat(64)).is_ok());
    }

    #[test]
    fn role_names_are_validated() {
        assert_eq!(RoleName::new(""), Err(InvalidName::Empty));
        assert_eq!(
            RoleName::new("r".repeat(129)),
            Err(InvalidName::TooLong { len: 129, max: 128 })
        );
        assert!(RoleName::new("r".repeat(128)).is_ok());
        assert_eq!(
            RoleName::new("shard\n7"),
            Err(InvalidName::BadCharacter { found: '\n' })
        );
        assert_eq!(
            RoleName::new("shard-7-primary").unwrap().as_str(),
            "shard-7-primary"
        );
    }

    #[test]
    fn a_renewed_identity_wins_over_its_old_self() {
        let old = id("n1", 5);
        let new = old.renew().unwrap();
        assert_eq!(new.generation(), 6);
        assert_eq!(new.name(), old.name());
        assert!(new.win_addr_conflict(&old));
        assert!(!old.win_addr_conflict(&new));
    }

    #[test]
    fn conflicts_between_different_names_are_decided_one_way() {
        let a = id("a", 1);
        let b = id("b", 1);
        assert_ne!(a.win_addr_conflict(&b), b.win_addr_conflict(&a));
    }

    #[test]
    fn decoding_refuses_an_invalid_name() {
        let cfg = bincode::config::standard().with_limit::<256>();
        let bytes = bincode::serde::encode_to_vec(String::from("has space"), cfg).unwrap();
        let decoded: Result<(NodeName, usize), _> = bincode::serde::decode_from_slice(&bytes, cfg);
        assert!(decoded.is_err());
    }
}
