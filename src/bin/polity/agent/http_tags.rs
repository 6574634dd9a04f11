//! The agent's own node's tags, as serf's `tags` command changes them:
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/tags` | 200 [`TagsBody`] |
//! | `POST /v1/tags` with [`TagsChange`] | 200 [`TagsBody`]: the tags now, published |
//!
//! 400 `bad_tags` for tags that break a rule (nothing changes then), 400 `bad_request`
//! for a body that is not a [`TagsChange`]. Every member's tags are in `GET /v1/members`.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use super::context::{Agent, ApiError};
use crate::api::{ErrorCode, TagsBody, TagsChange};

type Shared = State<Arc<Agent>>;

/// The routes under `/v1/tags`.
pub fn routes() -> Router<Arc<Agent>> {
    Router::new().route("/", get(show).post(change))
}

async fn show(State(agent): Shared) -> Result<Json<TagsBody>, ApiError> {
    let fail = |error| ApiError::node(&agent, None, error);
    let tags = agent.node.tags().await.map_err(fail)?;
    Ok(Json(TagsBody { tags: tags.into() }))
}

async fn change(
    State(agent): Shared,
    body: Result<Json<TagsChange>, JsonRejection>,
) -> Result<Json<TagsBody>, ApiError> {
    let Json(change) = body.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadRequest,
            format!(
                "the body must be {{\"set\": {{\"KEY\": \"VALUE\"}}, \"delete\": [\"KEY\"]}}: {}",
                rejection.body_text()
            ),
        )
    })?;
    let fail = |error| ApiError::node(&agent, None, error);
    let set = change.set.into_iter().collect();
    let tags = agent
        .node
        .update_tags(set, change.delete)
        .await
        .map_err(fail)?;
    Ok(Json(TagsBody { tags: tags.into() }))
}
