//! The agent's JSON HTTP API: routes, and how each answer and error is written.
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/health` | 200 [`HealthBody`]; 503 once the node has stopped |
//! | `GET /v1/members` | 200 [`MembersBody`] |
//! | `POST /v1/members/{name}/force-leave` | 200; 404 unknown member; 409 not down |
//! | `GET /v1/roles` | 200 [`RolesBody`]: the node's own view of every role |
//! | `GET /v1/roles/{role}` | 200 [`RoleView`]: the node's own view, no messages |
//! | `GET /v1/roles/{role}/query` | 200 [`RoleView`] once a quorum answered |
//! | `GET /v1/roles/{role}/watch` | 200, one [`RoleView`] per line: now, then each change |
//! | `POST /v1/roles/{role}/elect[?wait=true]` | 200 [`TermBody`]; 409 lost (holder, term) |
//! | `POST /v1/roles/{role}/resign` | 200 [`TermBody`]; 409 the node does not hold it |
//! | `POST /v1/roles/{role}/recall` | 200 [`TermBody`]; 409 nobody holds it |
//! | `GET /v1/metrics` | 200, Prometheus text |
//! | `/v1/keys...` | the keyring: see [`crate::http_keys`] |
//!
//! Every error is an [`ErrorBody`]: 400 for a bad name, 503 when too few members are
//! alive, the node has not been in the cluster for a lease yet, or it is leaving, and
//! 504 when no quorum answered in time.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use polity::{
    ForceLeaveError, MemberStatus, NodeError, NodeHandle, NodeName, RoleError, RoleName, RoleState,
};
use serde::Deserialize;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::WatchStream;

use crate::api::{
    ErrorBody, ErrorCode, ForceLeftBody, HealthBody, MemberView, MembersBody, RoleView, RolesBody,
    TermBody,
};
use crate::holdings::Holdings;
use crate::metrics::{self, Counters, ElectionOutcome, Snapshot};

/// What every handler reaches.
#[derive(Debug)]
pub struct Agent {
    pub node: NodeHandle,
    pub holdings: Arc<Holdings>,
    pub counters: Arc<Counters>,
}

type Shared = State<Arc<Agent>>;

/// The API's routes, under `/v1`.
pub fn router(agent: Arc<Agent>) -> Router {
    let roles = Router::new()
        .route("/", get(roles))
        .route("/{role}", get(role))
        .route("/{role}/query", get(query))
        .route("/{role}/watch", get(watch))
        .route("/{role}/elect", post(elect))
        .route("/{role}/resign", post(resign))
        .route("/{role}/recall", post(recall));
    let v1 = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/members", get(members))
        .route("/members/{name}/force-leave", post(force_leave))
        .nest("/roles", roles)
        .nest("/keys", crate::http_keys::routes());
    Router::new()
        .nest(crate::api::PREFIX, v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(agent)
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
                format!("this agent's node {me} does not hold {role}, so it cannot resign it"),
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
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type Answer<T> = Result<Json<T>, ApiError>;

/// The role named in the path, checked.
fn role_name(path: Result<Path<String>, PathRejection>) -> Result<RoleName, ApiError> {
    let Path(name) = path.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidName,
            format!("invalid role name: {}", rejection.body_text()),
        )
    })?;
    RoleName::new(name.as_str()).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidName,
            format!("invalid role name {name:?}: {error}"),
        )
    })
}

async fn health(State(agent): Shared) -> Answer<HealthBody> {
    let node = &agent.node;
    let fail = |error| ApiError::node(&agent, None, error);
    let id = node.current_id().await.map_err(fail)?;
    let members = node.members().await.map_err(fail)?;
    let population = node.population().await.map_err(fail)?;
    let joined = members.iter().any(|member| {
        member.id.name() != id.name()
            && matches!(member.status, MemberStatus::Alive | MemberStatus::Suspect)
    });
    Ok(Json(HealthBody {
        status: String::from("ok"),
        name: id.name().to_string(),
        addr: id.addr().to_string(),
        generation: id.generation(),
        joined,
        population,
    }))
}

async fn members(State(agent): Shared) -> Answer<MembersBody> {
    let fail = |error| ApiError::node(&agent, None, error);
    let members = agent.node.members().await.map_err(fail)?;
    let population = agent.node.population().await.map_err(fail)?;
    Ok(Json(MembersBody {
        population,
        members: members.iter().map(MemberView::new).collect(),
    }))
}

async fn force_leave(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Answer<ForceLeftBody> {
    let name = path.map(|Path(name)| name).unwrap_or_default();
    let name = NodeName::new(name.as_str()).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidName,
            format!("invalid member name {name:?}: {error}"),
        )
    })?;
    agent
        .node
        .force_leave(name.clone())
        .await
        .map_err(|error| ApiError::node(&agent, None, error))?;
    tracing::info!(member = %name, "force-left through the API");
    Ok(Json(ForceLeftBody {
        name: name.to_string(),
    }))
}

async fn roles(State(agent): Shared) -> Answer<RolesBody> {
    let mut roles = agent
        .node
        .roles()
        .await
        .map_err(|error| ApiError::node(&agent, None, error))?;
    roles.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(Json(RolesBody {
        roles: roles
            .iter()
            .map(|(role, state)| RoleView::new(role, state))
            .collect(),
    }))
}

async fn role(State(agent): Shared, path: Result<Path<String>, PathRejection>) -> Answer<RoleView> {
    let role = role_name(path)?;
    let state = agent
        .node
        .holder(&role)
        .await
        .map_err(|error| ApiError::node(&agent, Some(&role), error))?;
    Ok(Json(RoleView::new(&role, &state)))
}

async fn query(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Answer<RoleView> {
    let role = role_name(path)?;
    let state = agent
        .node
        .query_role(role.clone())
        .await
        .map_err(|error| ApiError::node(&agent, Some(&role), error))?;
    Ok(Json(RoleView::new(&role, &state)))
}

/// One JSON object per line: the node's view of the role now, then after each change,
/// until the client goes away or the node stops.
async fn watch(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let role = role_name(path)?;
    // A stopped node would hand out a closed receiver: say so instead.
    agent
        .node
        .current_id()
        .await
        .map_err(|error| ApiError::node(&agent, Some(&role), error))?;
    let views = WatchStream::new(agent.node.watch(role.clone())).map(move |state| {
        let mut line = serde_json::to_vec(&RoleView::new(&role, &state)).unwrap_or_default();
        line.push(b'\n');
        Ok::<_, Infallible>(Bytes::from(line))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(views),
    )
        .into_response())
}

#[derive(Deserialize, Debug)]
struct ElectParams {
    /// Wait until the agent's node holds the role, instead of one election.
    #[serde(default)]
    wait: bool,
}

async fn elect(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<ElectParams>, QueryRejection>,
) -> Answer<TermBody> {
    let role = role_name(path)?;
    let Query(params) = params.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "{}; the only parameter is wait=true or wait=false",
                rejection.body_text()
            ),
        )
    })?;
    let won = if params.wait {
        agent.node.campaign(role.clone()).await
    } else {
        agent.node.elect(role.clone()).await
    };
    match won {
        Ok(leadership) => {
            agent.counters.election(ElectionOutcome::Won);
            let term = leadership.term();
            agent.holdings.keep(leadership);
            tracing::info!(%role, %term, "elected through the API");
            Ok(Json(TermBody {
                role: role.to_string(),
                term: term.get(),
                holder: Some(agent.node.id().name().to_string()),
            }))
        }
        Err(error) => {
            let outcome = match error {
                NodeError::Role(RoleError::Lost { .. }) => ElectionOutcome::Lost,
                _ => ElectionOutcome::Failed,
            };
            agent.counters.election(outcome);
            Err(ApiError::node(&agent, Some(&role), error))
        }
    }
}

async fn resign(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Answer<TermBody> {
    let role = role_name(path)?;
    let term = agent
        .node
        .resign(&role)
        .await
        .map_err(|error| ApiError::node(&agent, Some(&role), error))?;
    tracing::info!(%role, %term, "resigned through the API");
    Ok(Json(TermBody {
        role: role.to_string(),
        term: term.get(),
        holder: Some(agent.node.id().name().to_string()),
    }))
}

async fn recall(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Answer<TermBody> {
    let role = role_name(path)?;
    let term = agent
        .node
        .recall(role.clone())
        .await
        .map_err(|error| ApiError::node(&agent, Some(&role), error))?;
    // Who was recalled, as far as this node knows.
    let holder = match agent.node.holder(&role).await {
        Ok(RoleState::Held { holder, term: at } | RoleState::Recalled { holder, term: at })
            if at == term =>
        {
            Some(holder.to_string())
        }
        _ => None,
    };
    tracing::info!(%role, %term, "recalled through the API");
    Ok(Json(TermBody {
        role: role.to_string(),
        term: term.get(),
        holder,
    }))
}

async fn metrics(State(agent): Shared) -> Result<Response, ApiError> {
    let node = &agent.node;
    let fail = |error| ApiError::node(&agent, None, error);
    let stats = node.stats().await.map_err(fail)?;
    let members = node.members().await.map_err(fail)?;
    let population = node.population().await.map_err(fail)?;
    let roles = node.roles().await.map_err(fail)?;
    let id = node.id();
    let text = metrics::render(&Snapshot {
        me: id.name(),
        stats: &stats,
        population,
        members: &members,
        roles: &roles,
        counters: &agent.counters,
    });
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "no such route; the API lives under /v1: health, members, roles, roles/ROLE, \
         roles/ROLE/{query,watch,elect,resign,recall}, members/NAME/force-leave, metrics",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this route does not take that method: elect, resign, recall and force-leave are \
         POST, everything else is GET",
    )
}
