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
//! | `POST /v1/roles/{role}/elect[?wait=true]`, optional body [`ValueBody`] | 200 [`TermBody`]; 409 lost (holder, term) |
//! | `POST /v1/roles/{role}/proclaim` with [`ValueBody`] | 200 [`ProclaimedBody`]; 409 the node does not hold it |
//! | `POST /v1/roles/{role}/resign` | 200 [`TermBody`]; 409 the node does not hold it |
//! | `POST /v1/roles/{role}/recall` | 200 [`TermBody`]; 409 nobody holds it |
//! | `GET /v1/metrics` | 200, Prometheus text |
//! | `/v1/keys...` | the keyring: see [`super::http_keys`] |
//! | `/v1/tags` | this node's tags: see [`super::http_tags`] |
//!
//! Every error is an [`ErrorBody`]: 400 for a bad name, 503 when too few members are
//! alive, the node has not been in the cluster for a lease yet, or it is leaving, and
//! 504 when no quorum answered in time. With a token (a TCP listener), every route
//! answers 401 to a request that does not carry it ([`super::http_auth`]).
//!
//! No answer carries key material: keys are named by their fingerprint.

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
use polity::{MemberStatus, NodeError, NodeName, RoleError, RoleName, RoleState, RoleValue};
use serde::Deserialize;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::WatchStream;

use super::context::{Agent, ApiError};
use super::metrics::{self, Snapshot};
use super::observed::ElectionOutcome;
use crate::api::{
    ErrorCode, ForceLeftBody, HealthBody, MemberView, MembersBody, ProclaimedBody, RoleView,
    RolesBody, TermBody, ValueBody,
};
use crate::token::Token;

type Shared = State<Arc<Agent>>;

/// The API's routes, under `/v1`; with `token`, only for requests that carry it.
pub fn router(agent: Arc<Agent>, token: Option<Token>) -> Router {
    let roles = Router::new()
        .route("/", get(roles))
        .route("/{role}", get(role))
        .route("/{role}/query", get(query))
        .route("/{role}/watch", get(watch))
        .route("/{role}/elect", post(elect))
        .route("/{role}/proclaim", post(proclaim))
        .route("/{role}/resign", post(resign))
        .route("/{role}/recall", post(recall));
    let v1 = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/members", get(members))
        .route("/members/{name}/force-leave", post(force_leave))
        .nest("/roles", roles)
        .nest("/keys", super::http_keys::routes())
        .nest("/tags", super::http_tags::routes());
    let router = Router::new()
        .nest(crate::api::PREFIX, v1)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(agent);
    match token {
        Some(token) => router.layer(axum::middleware::from_fn_with_state(
            Arc::new(token),
            super::http_auth::require_token,
        )),
        None => router,
    }
}

/// The read-only routes of `--metrics-addr`: health and metrics, under `/v1` and, for
/// Prometheus' default path, `/metrics`.
pub fn monitoring_router(agent: Arc<Agent>) -> Router {
    let v1 = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics));
    Router::new()
        .nest(crate::api::PREFIX, v1)
        .route("/metrics", get(metrics))
        .fallback(not_monitored)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(agent)
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
    /// With `wait`: the campaign's priority (`NodeHandle::campaign_with_priority`).
    #[serde(default)]
    priority: u32,
}

/// The value in a request's body: `{"value": "TEXT"}`; none for an empty body when
/// `optional`.
fn value_body(
    agent: &Agent,
    role: &RoleName,
    body: &Bytes,
    optional: bool,
) -> Result<RoleValue, ApiError> {
    if optional && body.is_empty() {
        return Ok(RoleValue::EMPTY);
    }
    let ValueBody { value } = serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("the body must be {{\"value\": \"TEXT\"}}: {error}"),
        )
    })?;
    RoleValue::new(value)
        .map_err(|too_large| ApiError::node(agent, Some(role), NodeError::Role(too_large.into())))
}

async fn elect(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<ElectParams>, QueryRejection>,
    body: Bytes,
) -> Answer<TermBody> {
    let role = role_name(path)?;
    let value = value_body(&agent, &role, &body, true)?;
    let Query(params) = params.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "{}; the parameters are wait=true or wait=false, and priority=N",
                rejection.body_text()
            ),
        )
    })?;
    if params.priority > 0 && !params.wait {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            "priority=N needs wait=true: a priority matters only to a node that waits",
        ));
    }
    let won = if params.wait {
        let (node, role) = (&agent.node, role.clone());
        node.campaign_with_priority(role, value, params.priority)
            .await
    } else {
        agent.node.elect_with(role.clone(), value).await
    };
    match won {
        Ok(leadership) => {
            agent.observed.election(ElectionOutcome::Won);
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
            agent.observed.election(outcome);
            Err(ApiError::node(&agent, Some(&role), error))
        }
    }
}

async fn proclaim(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Answer<ProclaimedBody> {
    let role = role_name(path)?;
    let value = value_body(&agent, &role, &body, false)?;
    let fail = |error| ApiError::node(&agent, Some(&role), error);
    let leadership = agent
        .holdings
        .get(&role)
        .ok_or_else(|| fail(NodeError::Role(RoleError::NotHolder)))?;
    let version = leadership.proclaim(value).await.map_err(fail)?;
    let term = leadership.term();
    tracing::info!(%role, %term, version, "value published through the API");
    Ok(Json(ProclaimedBody {
        role: role.to_string(),
        term: term.get(),
        version,
    }))
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ResignParams {
    /// Hand the role to this node instead of to whoever asks first.
    to: Option<String>,
}

async fn resign(
    State(agent): Shared,
    path: Result<Path<String>, PathRejection>,
    params: Result<Query<ResignParams>, QueryRejection>,
) -> Answer<TermBody> {
    let role = role_name(path)?;
    let Query(params) = params.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!("{}; the only parameter is to=NODE", rejection.body_text()),
        )
    })?;
    let fail = |error| ApiError::node(&agent, Some(&role), error);
    let term = match params.to {
        None => agent.node.resign(&role).await.map_err(fail)?,
        Some(to) => {
            let to = NodeName::new(to.as_str()).map_err(|error| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::InvalidName,
                    format!("invalid member name {to:?}: {error}"),
                )
            })?;
            let term = agent.node.transfer(&role, &to).await.map_err(fail)?;
            tracing::info!(%role, %term, %to, "handed over through the API");
            term
        }
    };
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
        Ok(
            RoleState::Held {
                holder, term: at, ..
            }
            | RoleState::Recalled { holder, term: at },
        ) if at == term => Some(holder.to_string()),
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
    let held = node.held_roles().await.map_err(fail)?;
    let text = metrics::render(&Snapshot {
        now: std::time::Instant::now(),
        stats: &stats,
        population,
        members: &members,
        roles: &roles,
        held: &held,
        counts: &agent.observed.counts(),
        heap: super::heap::Heap::read(),
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

async fn not_monitored() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        "this listener serves only GET /v1/health, /v1/metrics and /metrics; the rest of \
         the API is on the agent's --http",
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
