//! Errors shared by every handler. Protocol crates render their own wire shapes; what reaches
//! here is a server-side failure, answered with a generic body and logged with its cause.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("password hashing pool: {0}")]
    Pool(String),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "request failed");
        let body = serde_json::json!({
            "error": "server_error",
            "error_description": "internal error; see the server log",
        });
        (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
    }
}
