//! The agent's keyring routes, rolled out to every live member as serf's `keys` does:
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/keys` | 200 [`KeysBody`]: every node's keys |
//! | `POST /v1/keys/install` with [`KeyBody`] | 200 [`KeysBody`] |
//! | `POST /v1/keys/use` with [`KeyBody`] | 200 [`KeysBody`] |
//! | `POST /v1/keys/remove` with [`KeyBody`] | 200 [`KeysBody`] |
//!
//! A rollout that some nodes refused or missed still answers 200: the body says which.
//! 400 for a key that is not 32 bytes in base64 or a body that is not a [`KeyBody`],
//! 409 when the agent's node does not seal.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use polity::wire::{Key, KeyOp};

use super::context::{Agent, ApiError};
use crate::api::{ErrorCode, KeyBody, KeysBody};
use crate::keyring_file::{fingerprint, parse_key};

type Shared = State<Arc<Agent>>;
type Body = Result<Json<KeyBody>, JsonRejection>;

/// The routes under `/v1/keys`.
pub fn routes() -> Router<Arc<Agent>> {
    Router::new()
        .route("/", get(list))
        .route("/install", post(install))
        .route("/use", post(use_key))
        .route("/remove", post(remove))
}

async fn list(State(agent): Shared) -> Result<Json<KeysBody>, ApiError> {
    rollout(&agent, KeyOp::List).await
}

async fn install(State(agent): Shared, body: Body) -> Result<Json<KeysBody>, ApiError> {
    rollout(&agent, KeyOp::Install(key(body)?)).await
}

async fn use_key(State(agent): Shared, body: Body) -> Result<Json<KeysBody>, ApiError> {
    rollout(&agent, KeyOp::Use(key(body)?)).await
}

async fn remove(State(agent): Shared, body: Body) -> Result<Json<KeysBody>, ApiError> {
    rollout(&agent, KeyOp::Remove(key(body)?)).await
}

/// The key in the request's body, checked.
fn key(body: Body) -> Result<Key, ApiError> {
    let Json(KeyBody { key }) = body.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "the body must be {{\"key\": \"BASE64\"}}: {}",
                rejection.body_text()
            ),
        )
    })?;
    parse_key(&key).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadKey,
            format!("the key {error}"),
        )
    })
}

async fn rollout(agent: &Agent, op: KeyOp) -> Result<Json<KeysBody>, ApiError> {
    let fail = |error| ApiError::node(agent, None, error);
    if agent.node.keys().await.map_err(fail)?.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotSealed,
            "this agent's node does not seal datagrams, so it has no keys: start every agent \
             with --keyring FILE to seal the cluster's traffic",
        ));
    }
    let rollout = agent.node.rollout_keys(op).await.map_err(fail)?;
    Ok(Json(KeysBody::new(&rollout, fingerprint)))
}
