//! Member tags: key/value metadata a node publishes about itself (its API address, its
//! zone, its version), as serf's `-tag`. Set at start ([`crate::Config::tags`]) and
//! changed at run time ([`crate::NodeHandle::set_tags`]); every member learns them by
//! gossip, directly when they change, and directly again when a member comes up.
//!
//! Bounded: keys of 1 to [`MAX_KEY_LEN`] bytes of ASCII letters, digits and `-_./:`,
//! values of printable text, keys and values together at most [`MAX_TAGS_LEN`] bytes, so
//! one node's tags always fit in one datagram. A [`Tags`] that exists is valid: decoding
//! one from the wire checks the same rules.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;

/// The most bytes of keys and values together.
pub const MAX_TAGS_LEN: usize = 512;

/// A node's tags, sorted by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<String, String>",
    into = "BTreeMap<String, String>"
)]
pub struct Tags(BTreeMap<String, String>);

/// Why tags were refused; the message names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TagsError {
    /// A key is empty, too long or has a character outside `A-Z a-z 0-9 - _ . / :`;
    /// rename it.
    #[error("tag key {0:?} is not 1 to {MAX_KEY_LEN} bytes of letters, digits and -_./:")]
    BadKey(String),
    /// A value holds a control character (a newline, a tab); remove it.
    #[error("the value of tag {0:?} holds a control character")]
    BadValue(String),
    /// Keys and values together are too long; shorten or drop some.
    #[error("tags take {len} bytes, more than the {MAX_TAGS_LEN} allowed")]
    TooLong {
        /// Their length.
        len: usize,
    },
    /// A `KEY=VALUE` pair has no `=`; write it as `KEY=VALUE`.
    #[error("tag {0:?} is not KEY=VALUE")]
    NotAPair(String),
}

fn valid_key(key: &str) -> bool {
    (1..=MAX_KEY_LEN).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:".contains(&b))
}

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Tags::default()
    }

    /// Sets `key` to `value`; refused (and nothing changed) if it breaks a rule.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), TagsError> {
        let (key, value) = (key.into(), value.into());
        if !valid_key(&key) {
            return Err(TagsError::BadKey(key));
        }
        if value.chars().any(char::is_control) {
            return Err(TagsError::BadValue(key));
        }
        let old = self.0.get(&key).map_or(0, |v| key.len() + v.len());
        let len = self.len_bytes() - old + key.len() + value.len();
        if len > MAX_TAGS_LEN {
            return Err(TagsError::TooLong { len });
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Removes `key`, returning its value if it had one.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every `(key, value)`, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Keys and values together, in bytes (at most [`MAX_TAGS_LEN`]).
    pub fn len_bytes(&self) -> usize {
        self.0.iter().map(|(k, v)| k.len() + v.len()).sum()
    }

    /// Parses `KEY=VALUE` (the value may be empty or hold `=`).
    pub fn parse_pair(pair: &str) -> Result<(String, String), TagsError> {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| TagsError::NotAPair(pair.to_owned()))?;
        if !valid_key(key) {
            return Err(TagsError::BadKey(key.to_owned()));
        }
        Ok((key.to_owned(), value.to_owned()))
    }
}

impl TryFrom<BTreeMap<String, String>> for Tags {
    type Error = TagsError;

    fn try_from(map: BTreeMap<String, String>) -> Result<Self, TagsError> {
        let mut tags = Tags::new();
        for (key, value) in map {
            tags.insert(key, value)?;
        }
        Ok(tags)
    }
}

impl From<Tags> for BTreeMap<String, String> {
    fn from(tags: Tags) -> Self {
        tags.0
    }
}

impl fmt::Display for Tags {
    /// `k1=v1,k2=v2`, as `polity members` prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value)) in self.iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            write!(f, "{comma}{key}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_break_no_rule_and_a_refused_change_changes_nothing() {
        let mut tags = Tags::new();
        tags.insert("zone", "eu-1").expect("valid");
        tags.insert("api", "10.0.0.1:8080").expect("valid");
        assert_eq!(tags.to_string(), "api=10.0.0.1:8080,zone=eu-1");
        for key in ["", "has space", "é", &"k".repeat(MAX_KEY_LEN + 1)] {
            assert_eq!(
                tags.insert(key, "v"),
                Err(TagsError::BadKey(key.to_owned()))
            );
        }
        assert!(matches!(
            tags.insert("x", "a\nb"),
            Err(TagsError::BadValue(_))
        ));
        let big = "v".repeat(MAX_TAGS_LEN);
        assert!(matches!(
            tags.insert("big", big),
            Err(TagsError::TooLong { .. })
        ));
        // Replacing a value counts the new one, not both.
        tags.insert("zone", "v".repeat(MAX_TAGS_LEN - 30))
            .expect("fits");
        assert_eq!(tags.get("api"), Some("10.0.0.1:8080"));
        assert!(tags.len_bytes() <= MAX_TAGS_LEN);
    }

    #[test]
    fn decoding_checks_the_same_rules() {
        let mut map = BTreeMap::new();
        map.insert("ok".to_owned(), "v".repeat(MAX_TAGS_LEN + 1));
        assert!(Tags::try_from(map).is_err());
        assert_eq!(
            Tags::parse_pair("zone=a=b"),
            Ok(("zone".to_owned(), "a=b".to_owned()))
        );
        assert_eq!(
            Tags::parse_pair("zone"),
            Err(TagsError::NotAPair("zone".to_owned()))
        );
    }
}
