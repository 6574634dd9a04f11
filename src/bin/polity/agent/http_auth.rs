//! The token check in front of every route of a TCP listener: a request without the
//! agent's token gets 401 and reaches no handler, so it changes nothing.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

use super::context::ApiError;
use crate::api::ErrorCode;
use crate::token::{self, Token};

/// Passes a request on if it carries `token`; answers 401 otherwise.
pub async fn require_token(
    State(token): State<Arc<Token>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    if token.admits(given) {
        return next.run(request).await;
    }
    tracing::debug!(path = %request.uri().path(), "API request without the right token refused");
    let mut answer = ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthorized,
        format!(
            "this agent's API needs its token: set {} to it, or give --http-token-file FILE \
             (the file the agent was started with)",
            token::ENV
        ),
    )
    .into_response();
    answer.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    answer
}
