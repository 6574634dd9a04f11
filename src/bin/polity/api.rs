//! The JSON the agent's HTTP API speaks: written by the agent, read by the client
//! commands. Every body is one JSON object; `watch` streams one per line.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use polity::wire::Key;
use polity::{KeyRollout, LamportTime, Member, MemberStatus, RoleName, RoleState, RoleValue};
use serde::{Deserialize, Serialize};

/// Where the API lives under the agent's address.
pub const PREFIX: &str = "/v1";

/// A role and a view of it: `GET /v1/roles/{role}`, `GET /v1/roles/{role}/query`, each
/// line of `watch`, and each entry of `GET /v1/roles`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RoleView {
    /// The role's name.
    pub role: String,
    /// `vacant`, `held` or `recalled`.
    pub status: RoleStatus,
    /// The holder (for `recalled`, the holder being recalled); `null` when vacant.
    pub holder: Option<String>,
    /// The holder's term, its fencing token; `null` when vacant.
    pub term: Option<u64>,
    /// The value the holder publishes, as text; left out when it gave none (or when it
    /// is not UTF-8: then `value_base64` has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A value that is not UTF-8 text, in standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
}

/// The status of a role, as in [`RoleState`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RoleStatus {
    /// Nobody holds it.
    Vacant,
    /// Somebody holds it.
    Held,
    /// A quorum stopped renewing it; vacant once the holder's lease runs out.
    Recalled,
}

impl RoleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoleStatus::Vacant => "vacant",
            RoleStatus::Held => "held",
            RoleStatus::Recalled => "recalled",
        }
    }
}

impl RoleView {
    pub fn new(role: &RoleName, state: &RoleState) -> Self {
        let (status, holder, term, value) = match state {
            RoleState::Vacant => (RoleStatus::Vacant, None, None, None),
            RoleState::Held {
                holder,
                term,
                value,
            } => (RoleStatus::Held, Some(holder), Some(*term), Some(value)),
            RoleState::Recalled { holder, term } => {
                (RoleStatus::Recalled, Some(holder), Some(*term), None)
            }
        };
        let value = value.filter(|value| !value.is_empty());
        let text = value.and_then(RoleValue::as_str);
        RoleView {
            role: role.to_string(),
            status,
            holder: holder.map(ToString::to_string),
            term: term.map(LamportTime::get),
            value: text.map(str::to_owned),
            value_base64: value
                .filter(|_| text.is_none())
                .map(|value| BASE64_STANDARD.encode(value.as_bytes())),
        }
    }

    /// `ROLE HOLDER TERM STATUS`, with `-` for what a vacant role does not have, and the
    /// holder's value after them when it published one.
    pub fn line(&self) -> String {
        let holder = self.holder.as_deref().unwrap_or("-");
        let term = self
            .term
            .map_or_else(|| String::from("-"), |term| term.to_string());
        let mut line = format!("{} {holder} {term} {}", self.role, self.status.as_str());
        if let Some(value) = self.value.as_ref().or(self.value_base64.as_ref()) {
            line.push(' ');
            line.push_str(value);
        }
        line
    }
}

/// The body of `POST /v1/roles/{role}/elect` (optional) and `/proclaim`: the value to
/// publish with the role, as text.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct ValueBody {
    pub value: String,
}

/// `POST /v1/roles/{role}/proclaim`: the value published, and its version within the
/// term (0 is the one the role was won with).
#[derive(Serialize, Deserialize, Debug)]
pub struct ProclaimedBody {
    pub role: String,
    pub term: u64,
    pub version: u64,
}

/// `GET /v1/roles`: every role the agent's node has heard of, by name.
#[derive(Serialize, Deserialize, Debug)]
pub struct RolesBody {
    pub roles: Vec<RoleView>,
}

/// One member, as `GET /v1/members` lists it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    pub name: String,
    /// The address it gossips on.
    pub addr: String,
    /// `alive`, `suspect`, `down` or `left`.
    pub status: String,
    /// Its generation: larger for a later start or rejoin.
    pub generation: u64,
    /// Its tags, as it last published them.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl MemberView {
    pub fn new(member: &Member) -> Self {
        MemberView {
            name: member.id.name().to_string(),
            addr: member.id.addr().to_string(),
            status: status_name(member.status).to_owned(),
            generation: member.id.generation(),
            tags: member.tags.clone().into(),
        }
    }
}

/// How a member's status is written in the API and the metrics.
pub fn status_name(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Alive => "alive",
        MemberStatus::Suspect => "suspect",
        MemberStatus::Down => "down",
        MemberStatus::Left => "left",
    }
}

/// `GET /v1/members`: the members the agent's node knows, itself included, by name, and
/// the population it counts.
#[derive(Serialize, Deserialize, Debug)]
pub struct MembersBody {
    pub population: usize,
    pub members: Vec<MemberView>,
}

/// `POST /v1/tags`: tags to delete, then tags to set, on the agent's own node.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct TagsChange {
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

/// `GET /v1/tags` and `POST /v1/tags`: the agent's own node's tags.
#[derive(Serialize, Deserialize, Debug)]
pub struct TagsBody {
    pub tags: BTreeMap<String, String>,
}

/// `POST /v1/roles/{role}/elect`, `.../resign` and `.../recall`: the term won, given up
/// or recalled, and the node that holds or held it (for `recall`, `null` if the agent's
/// node had not heard who).
#[derive(Serialize, Deserialize, Debug)]
pub struct TermBody {
    pub role: String,
    pub term: u64,
    pub holder: Option<String>,
}

/// `GET /v1/health`.
#[derive(Serialize, Deserialize, Debug)]
pub struct HealthBody {
    /// Always `ok`: an agent that cannot answer does not answer.
    pub status: String,
    /// The agent's node name.
    pub name: String,
    /// The address it gossips on.
    pub addr: String,
    /// Its current generation.
    pub generation: u64,
    /// Whether it has reached at least one other member (a node with no join addresses
    /// founds its own cluster and is never joined until someone joins it).
    pub joined: bool,
    /// The population it counts.
    pub population: usize,
}

/// `POST /v1/members/{name}/force-leave`.
#[derive(Serialize, Deserialize, Debug)]
pub struct ForceLeftBody {
    pub name: String,
}

/// The body of `POST /v1/keys/install`, `.../use` and `.../remove`.
#[derive(Serialize, Deserialize, Debug)]
pub struct KeyBody {
    /// The key: 32 bytes in standard base64, as `polity keygen` prints it.
    pub key: String,
}

/// `GET /v1/keys` and `POST /v1/keys/{install,use,remove}`: what each live member
/// answered, as serf's `keys` command reports it.
#[derive(Serialize, Deserialize, Debug, Default)]
pub struct KeysBody {
    /// Nodes asked: the agent's own and every member it knew alive.
    pub nodes: usize,
    /// Nodes whose answer came.
    pub answered: usize,
    /// Every key some node reported after the change, with how many nodes have it
    /// installed and how many seal with it.
    pub keys: Vec<KeyCount>,
    /// Nodes that refused the change, and why.
    pub refused: Vec<NodeRefusal>,
    /// Nodes asked that did not answer.
    pub missing: Vec<String>,
}

/// One key and how many nodes have it.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct KeyCount {
    /// The key's fingerprint (see `keyring_file::fingerprint`): never the key.
    pub fingerprint: String,
    /// Nodes that have it installed.
    pub installed: usize,
    /// Nodes that seal with it.
    pub primary: usize,
}

/// A node that refused a keyring change.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct NodeRefusal {
    pub node: String,
    pub error: String,
}

impl KeysBody {
    /// The summary of a rollout, each key named by `name` (its fingerprint).
    pub fn new(rollout: &KeyRollout, name: impl Fn(&Key) -> String) -> Self {
        let mut body = KeysBody {
            nodes: rollout.answers.len() + rollout.missing.len(),
            answered: rollout.answers.len(),
            missing: rollout.missing.iter().map(ToString::to_string).collect(),
            ..KeysBody::default()
        };
        for (node, answer) in &rollout.answers {
            match answer {
                Ok(keys) => {
                    for (at, key) in keys.iter().enumerate() {
                        let fingerprint = name(key);
                        let found = body
                            .keys
                            .iter_mut()
                            .position(|c| c.fingerprint == fingerprint);
                        let count = match found {
                            Some(at) => &mut body.keys[at],
                            None => {
                                body.keys.push(KeyCount {
                                    fingerprint,
                                    installed: 0,
                                    primary: 0,
                                });
                                body.keys.last_mut().expect("just pushed")
                            }
                        };
                        count.installed += 1;
                        count.primary += usize::from(at == 0);
                    }
                }
                Err(error) => body.refused.push(NodeRefusal {
                    node: node.to_string(),
                    error: error.to_string(),
                }),
            }
        }
        body
    }

    /// Whether every node asked answered and none refused.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.refused.is_empty()
    }
}

/// Every error: a message for people and a code for programs, with the holder and term
/// when an election was lost.
#[derive(Serialize, Deserialize, Debug)]
pub struct ErrorBody {
    pub error: String,
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub term: Option<u64>,
}

/// What went wrong, for programs.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a role or member name that is not valid.
    InvalidName,
    /// 409: another node holds the role (`holder` and `term` say which).
    Lost,
    /// 409: the agent's node does not hold the role it was asked to resign.
    NotHolder,
    /// 409: nobody holds the role it was asked to recall.
    RoleUnfilled,
    /// 503: too few voters are alive for a quorum.
    NotEnoughMembers,
    /// 503: the agent's node has not been in the cluster for a lease yet.
    NotJoined,
    /// 504: no quorum answered in time.
    TimedOut,
    /// 503: the request was cancelled because the agent is leaving.
    Cancelled,
    /// 503: the agent's node has stopped.
    ShutDown,
    /// 404: no member of that name is known.
    UnknownMember,
    /// 409: the member is not down, so it cannot be force-left.
    NotDown,
    /// 404: no such route.
    NotFound,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 400: a malformed request (a bad query string or body).
    BadRequest,
    /// 400: a key that is not 32 bytes in base64.
    BadKey,
    /// 500: an error this agent has no better name for; the message says what it is.
    Internal,
    /// 409: the agent's node does not seal datagrams (it was started without a keyring).
    NotSealed,
    /// 401: the request did not carry the agent's token.
    Unauthorized,
    /// 400: tags that break a rule (a bad key, a control character, too long).
    BadTags,
    /// 400: a value longer than the cluster allows (`max` in the message).
    ValueTooLarge,
    /// 409: the node a transfer named does not campaign for the role; it stays held.
    NotCandidate,
    /// 503: the node a transfer named is not a live member or did not answer; the role
    /// stays held.
    Unreachable,
    /// A code this client does not know.
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use polity::NodeName;

    #[test]
    fn role_lines_show_a_dash_for_what_a_vacant_role_lacks() {
        let role = RoleName::new("scheduler").unwrap();
        let vacant = RoleView::new(&role, &RoleState::Vacant);
        assert_eq!(vacant.line(), "scheduler - - vacant");
        let held = |value: &[u8]| RoleState::Held {
            holder: NodeName::new("node-2").unwrap(),
            term: LamportTime(1_795_435_524_470_288),
            value: RoleValue::new(value).unwrap(),
        };
        assert_eq!(
            RoleView::new(&role, &held(b"")).line(),
            "scheduler node-2 1795435524470288 held"
        );
        assert_eq!(
            RoleView::new(&role, &held(b"10.0.0.5:8080")).line(),
            "scheduler node-2 1795435524470288 held 10.0.0.5:8080"
        );
        let binary = RoleView::new(&role, &held(&[0xff, 0]));
        assert_eq!(binary.value, None);
        assert_eq!(binary.value_base64.as_deref(), Some("/wA="));
    }

    #[test]
    fn views_and_errors_read_back_what_was_written() {
        let role = RoleName::new("r").unwrap();
        let view = RoleView::new(&role, &RoleState::Vacant);
        let text = serde_json::to_string(&view).unwrap();
        assert_eq!(
            text,
            r#"{"role":"r","status":"vacant","holder":null,"term":null}"#
        );
        assert_eq!(serde_json::from_str::<RoleView>(&text).unwrap(), view);
        let error: ErrorBody =
            serde_json::from_str(r#"{"error":"x","code":"from_the_future"}"#).unwrap();
        assert_eq!(error.code, ErrorCode::Other);
    }
}
