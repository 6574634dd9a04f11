//! The value a role's holder publishes with it, as etcd's `Campaign(value)` and
//! `Proclaim`: where to reach it (an address, a URL), a shard map, a version. Given
//! when campaigning ([`crate::NodeHandle::elect_with`]), changed while holding the role
//! without losing the term ([`crate::Leadership::proclaim`]), and shown with the holder
//! by every view, query and watch ([`crate::RoleState::Held`]).
//!
//! Bounded: at most [`MAX_ROLE_VALUE_LEN`] bytes, and at most
//! [`crate::Config::max_value_len`] for a node's own datagram size, so that the
//! announcement carrying it fits one datagram whatever the names in it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The most bytes a value may have with any configuration.
pub const MAX_ROLE_VALUE_LEN: usize = 1024;

/// How many bytes of `max_datagram_size` the rest of an announcement of a value may
/// take at most: the envelope, the seal, a gossip header naming two members of the
/// longest names, and the announcement's role and holder names and numbers.
pub(crate) const VALUE_HEADROOM: usize = 480;

/// The value published with a role; empty unless the holder gave one.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<u8>", into = "Vec<u8>")]
pub struct RoleValue(Vec<u8>);

/// A value longer than allowed; shorten it, or raise `max_datagram_size` on every node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the value takes {len} bytes, more than the {max} allowed")]
pub struct ValueTooLarge {
    /// Its length.
    pub len: usize,
    /// The most allowed.
    pub max: usize,
}

impl RoleValue {
    /// No value.
    pub const EMPTY: RoleValue = RoleValue(Vec::new());

    /// `bytes` as a value, if at most [`MAX_ROLE_VALUE_LEN`] long.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ValueTooLarge> {
        let value = RoleValue(bytes.into());
        value.within(MAX_ROLE_VALUE_LEN)?;
        Ok(value)
    }

    /// `Ok` if the value is at most `max` bytes long.
    pub(crate) fn within(&self, max: usize) -> Result<(), ValueTooLarge> {
        if self.0.len() > max {
            return Err(ValueTooLarge {
                len: self.0.len(),
                max,
            });
        }
        Ok(())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as text, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Vec<u8>> for RoleValue {
    type Error = ValueTooLarge;

    fn try_from(bytes: Vec<u8>) -> Result<Self, ValueTooLarge> {
        RoleValue::new(bytes)
    }
}

impl From<RoleValue> for Vec<u8> {
    fn from(value: RoleValue) -> Self {
        value.0
    }
}

impl fmt::Debug for RoleValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(text) => write!(f, "{text:?}"),
            None => write!(f, "{} bytes", self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_bounded() {
        assert!(RoleValue::new(vec![0; MAX_ROLE_VALUE_LEN]).is_ok());
        assert_eq!(
            RoleValue::new(vec![0; MAX_ROLE_VALUE_LEN + 1]),
            Err(ValueTooLarge {
                len: MAX_ROLE_VALUE_LEN + 1,
                max: MAX_ROLE_VALUE_LEN
            })
        );
        let value = RoleValue::new("10.0.0.5:8080").unwrap();
        assert_eq!(value.as_str(), Some("10.0.0.5:8080"));
        assert_eq!(format!("{value:?}"), "\"10.0.0.5:8080\"");
        assert_eq!(
            format!("{:?}", RoleValue::new(vec![0xff]).unwrap()),
            "1 bytes"
        );
    }
}
