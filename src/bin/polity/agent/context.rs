//! What every handler of the agent's API reaches (the node, the roles the agent holds,
//! what it observed) and how a handler fails: an [`ApiError`], a status and an
//! [`ErrorBody`].

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use polity::{ForceLeaveError, NodeError, NodeHandle, RoleError, RoleName};

use super::holdings::Holdings;
use super::observed::Observed;
use crate::api::{ErrorBody, ErrorCode};

/// What every handler reaches.
#[derive(Debug)]
pub struct Agent {
    pub node: NodeHandle,
    pub holdings: Arc<Holdings>,
    pub observed: Arc<Observed>,
}

/// An error answer: a status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                code,
                holder: None,
                term: None,
            },
        }
    }

    /// A failed request to the node about `role`, explained.
    pub fn node(agent: &Agent, role: Option<&RoleName>, error: NodeError) -> Self {
        let me = agent.node.id();
        let me = me.name();
        let role = role.map_or_else(|| String::from("the role"), ToString::to_string);
        let role_error = match error {
            NodeError::Role(error) => error,
            NodeError::ShutDown => {
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::ShutDown,
                    format!("the agent's node {me} has stopped; restart the agent"),
                );
            }
            NodeError::ForceLeave(ForceLeaveError::UnknownMember(name)) => {
                return ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::UnknownMember,
                    format!("no member named {name} is known; `polity members` lists them"),
                );
            }
            NodeError::ForceLeave(ForceLeaveError::NotDown(name, status)) => {
                let status = crate::api::status_name(status);
                let advice = if status == "left" {
                    "it has already left"
                } else {
                    "only members that are down can be force-left; a live node leaves by \
                     itself when its agent is stopped"
                };
                return ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorCode::NotDown,
                    format!("member {name} is {status}, not down: {advice}"),
                );
            }
            NodeError::InvalidName(error) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidName,
                    format!("invalid name: {error}"),
                );
            }
            NodeError::Tags(error) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadTags,
                    format!("{error}; nothing changed"),
                );
            }
            other => return ApiError::internal(&other),
        };
        match role_error {
            RoleError::Lost { holder, term } => {
                let mut error = ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorCode::Lost,
                    format!(
                        "lost: {holder} holds {role} with term {term}; `polity elect --wait` \
                         waits until it is free, `polity recall` asks the cluster to vacate it"
                    ),
                );
                error.body.holder = Some(holder.to_string());
                error.body.term = Some(term.get());
                error
            }
            RoleError::NotHolder => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::NotHolder,
                format!("this agent's node {me} does not hold {role}"),
            ),
            RoleError::RoleUnfilled => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::RoleUnfilled,
                format!("nobody holds {role}: there is nothing to recall"),
            ),
            RoleError::NotEnoughMembers { have, need } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotEnoughMembers,
                format!(
                    "not enough members for a quorum: have {have} live voters, need {need}; \
                     start the missing agents, or force-leave members that are gone for good \
                     (`polity force-leave NAME`)"
                ),
            ),
            RoleError::NotJoined => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotJoined,
                format!(
                    "{me} has not been part of the cluster for a lease yet; try again in a \
                     moment, and check that its --join addresses reach a running agent"
                ),
            ),
            RoleError::TimedOut => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                ErrorCode::TimedOut,
                "no quorum answered in time; the network may be partitioned or voters may \
                 have just started. Try again",
            ),
            RoleError::Cancelled => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Cancelled,
                "the request was cancelled: the agent is leaving the cluster",
            ),
            RoleError::NotCandidate { node } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::NotCandidate,
                format!(
                    "{node} does not campaign for {role}, so {me} keeps it; start                      `polity campaign {role}` (or `elect --wait`) on {node} first"
                ),
            ),
            RoleError::Unreachable { node } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unreachable,
                format!(
                    "{node} is not a live member or did not answer, so {me} keeps {role};                      check `polity members` and that {node} runs"
                ),
            ),
            RoleError::ValueTooLarge(too_large) => ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorCode::ValueTooLarge,
                format!(
                    "{too_large}; shorten it (every node's max_datagram_size less 480 bytes, \
                     at most 1 KiB); nothing changed"
                ),
            ),
            other => ApiError::internal(&other),
        }
    }

    /// An error the API has no better answer for: 500, with the error's own message.
    fn internal(error: &dyn std::fmt::Display) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            error.to_string(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
