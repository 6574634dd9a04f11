//! `polity agent --config FILE`: the agent's flags, read from a TOML file (or JSON, for
//! a file named `*.json`).
//!
//! Every flag of `polity agent` is a key, named as the flag is without its dashes
//! (`cluster-label = "prod"`), and takes what the flag takes; repeatable flags take
//! lists (`join = ["10.0.0.1:7700", "polity.internal:7700"]`), and `--tag` is the table
//! `[tags]`. A flag given on the command line overrides its key, lists included. A key
//! the agent does not know, or a value it cannot take, is an error naming the key, its
//! line and what was expected, and the agent does not start. `--print-config` prints the
//! configuration in effect, as a file that gives it.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use polity::{NodeName, Profile, Tags};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::AgentArgs;
use crate::duration;
use crate::endpoint::Endpoint;
use crate::join::JoinAddr;
use crate::node_args::{LogFormat, QuorumArg};

/// The keys of a config file; each is the flag of the same name.
#[derive(Serialize, Deserialize, Default, Debug)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    name: Option<NodeName>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    bind: Option<SocketAddr>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    advertise: Option<SocketAddr>,
    #[serde(default, with = "text_list", skip_serializing_if = "Option::is_none")]
    join: Option<Vec<JoinAddr>>,
    #[serde(default, with = "interval", skip_serializing_if = "Option::is_none")]
    retry_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_max: Option<u32>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    profile: Option<Profile>,
    #[serde(default, with = "text_list", skip_serializing_if = "Option::is_none")]
    electorate: Option<Vec<NodeName>>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    quorum: Option<QuorumArg>,
    #[serde(default, with = "interval", skip_serializing_if = "Option::is_none")]
    preference_delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyring: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cluster_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    http: Option<Endpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http_token_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http_public: Option<bool>,
    #[serde(default, with = "text", skip_serializing_if = "Option::is_none")]
    metrics_addr: Option<SocketAddr>,
    /// Last: a TOML table follows every plain key.
    #[serde(default, with = "tag_table", skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<(String, String)>>,
}

impl ConfigFile {
    /// Reads and checks `path`: TOML, or JSON if its name ends in `.json`.
    pub fn read(path: &Path) -> Result<ConfigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
        let parsed = if path.extension().is_some_and(|ext| ext == "json") {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            toml::from_str(&text).map_err(|e| e.to_string())
        };
        parsed.map_err(|e| format!("config file {}: {}", path.display(), e.trim_end()))
    }

    /// Sets in `args` every key of the file whose flag `given` says was not on the
    /// command line. `given` takes the flag's argument id (its field name).
    pub fn apply(self, args: &mut AgentArgs, given: impl Fn(&str) -> bool) {
        fn set<T>(field: &mut T, value: Option<T>, id: &str, given: &impl Fn(&str) -> bool) {
            if let Some(value) = value.filter(|_| !given(id)) {
                *field = value;
            }
        }
        let node = &mut args.node;
        set(&mut node.name, self.name.map(Some), "name", &given);
        set(&mut node.bind, self.bind, "bind", &given);
        set(
            &mut node.advertise,
            self.advertise.map(Some),
            "advertise",
            &given,
        );
        set(&mut node.join, self.join, "join", &given);
        set(
            &mut node.retry_interval,
            self.retry_interval,
            "retry_interval",
            &given,
        );
        set(&mut node.retry_max, self.retry_max, "retry_max", &given);
        set(&mut node.profile, self.profile, "profile", &given);
        set(
            &mut node.electorate,
            self.electorate.map(Some),
            "electorate",
            &given,
        );
        set(&mut node.quorum, self.quorum, "quorum", &given);
        let delay = self.preference_delay.map(Some);
        set(
            &mut node.preference_delay,
            delay,
            "preference_delay",
            &given,
        );
        set(
            &mut node.state_dir,
            self.state_dir.map(Some),
            "state_dir",
            &given,
        );
        set(&mut node.keyring, self.keyring.map(Some), "keyring", &given);
        set(
            &mut node.cluster_label,
            self.cluster_label,
            "cluster_label",
            &given,
        );
        set(&mut node.tags, self.tags, "tags", &given);
        set(&mut node.log_format, self.log_format, "log_format", &given);
        set(&mut args.http, self.http, "http", &given);
        let token = self.http_token_file.map(Some);
        set(&mut args.http_token_file, token, "http_token_file", &given);
        set(
            &mut args.http_public,
            self.http_public,
            "http_public",
            &given,
        );
        let metrics = self.metrics_addr.map(Some);
        set(&mut args.metrics_addr, metrics, "metrics_addr", &given);
    }

    /// The configuration `args` give, every key set, as TOML.
    pub fn show(args: &AgentArgs) -> Result<String, String> {
        let node = &args.node;
        let file = ConfigFile {
            name: node.name.clone(),
            bind: Some(node.bind),
            advertise: node.advertise,
            join: Some(node.join.clone()),
            retry_interval: Some(node.retry_interval),
            retry_max: Some(node.retry_max),
            profile: Some(node.profile),
            electorate: node.electorate.clone(),
            quorum: Some(node.quorum.clone()),
            preference_delay: node.preference_delay,
            state_dir: node.state_dir.clone(),
            keyring: node.keyring.clone(),
            cluster_label: Some(node.cluster_label.clone()),
            log_format: Some(node.log_format),
            http: Some(args.http.clone()),
            http_token_file: args.http_token_file.clone(),
            http_public: Some(args.http_public),
            metrics_addr: args.metrics_addr,
            tags: Some(node.tags.clone()),
        };
        toml::to_string(&file).map_err(|e| e.to_string())
    }
}

/// A value written as the text its flag takes.
mod text {
    use super::*;

    pub fn serialize<T: Display, S: Serializer>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.collect_str(value),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

/// A list of values, each written as the text its flag takes.
mod text_list {
    use super::*;

    pub fn serialize<T: Display, S: Serializer>(
        values: &Option<Vec<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let texts: Option<Vec<String>> = values
            .as_ref()
            .map(|values| values.iter().map(ToString::to_string).collect());
        texts.serialize(serializer)
    }

    pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
    where
        T: FromStr,
        T::Err: Display,
        D: Deserializer<'de>,
    {
        let texts = Vec::<String>::deserialize(deserializer)?;
        let values: Result<Vec<T>, _> = texts.iter().map(|text| text.parse()).collect();
        values.map(Some).map_err(serde::de::Error::custom)
    }
}

/// A duration, written as `5s` or `250ms`.
mod interval {
    use super::*;

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.map(duration::show).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(deserializer)?;
        duration::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// The tags, as a table of keys and values; checked as a whole, as `--tag`s are.
mod tag_table {
    use super::*;

    pub fn serialize<S: Serializer>(
        tags: &Option<Vec<(String, String)>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let table: Option<BTreeMap<&str, &str>> = tags
            .as_ref()
            .map(|tags| tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
        table.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<(String, String)>>, D::Error> {
        let table = BTreeMap::<String, String>::deserialize(deserializer)?;
        let tags = Tags::try_from(table).map_err(serde::de::Error::custom)?;
        Ok(Some(BTreeMap::from(tags).into_iter().collect()))
    }
}
