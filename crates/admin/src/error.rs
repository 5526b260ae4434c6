//! The admin API's errors, and the one place they become responses in Keycloak's two shapes:
//! `{"errorMessage"}` (`ErrorResponse`: conflicts and validation) and `{"error",
//! "error_description"?}` (`KeycloakErrorHandler`: everything else).

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_store::StoreError;
use portcullis_web::WebError;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No bearer token, or one that does not verify: 401.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// A valid caller without the right: 403.
    #[error("forbidden")]
    Forbidden,
    /// 404 `{"error": message}`.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409 `{"errorMessage": message}`.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 400 `{"errorMessage": message}`.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 400 `{"error": message}`: what Keycloak's `BadRequestException(message)` answers.
    #[error("rejected: {0}")]
    Rejected(&'static str),
    /// 400 `{"errorMessage", "field", "params"}`: Keycloak's user-profile validation.
    #[error("invalid field {field}: {message}")]
    InvalidField {
        field: &'static str,
        message: &'static str,
        params: Vec<String>,
    },
    /// 400: Keycloak's user-profile validation errors, one as `{"field", "errorMessage",
    /// "params"}`, several as `{"errors": [...]}` (with the first one's `errorMessage`).
    #[error("user profile validation failed")]
    Profile(Vec<FieldError>),
    /// 400 `{"error", "error_description"}`.
    #[error("{error}: {description}")]
    InvalidRequest {
        error: &'static str,
        description: String,
    },
    /// A Keycloak feature this server does not have: 501 with a message saying so (in both
    /// of Keycloak's error fields, so every client library shows it).
    #[error("not implemented: {0}")]
    NotImplemented(&'static str),
    /// 500 `{"errorMessage": message}`: something outside this server failed (an e-mail that
    /// could not be sent), with a message the admin can act on.
    #[error("failed: {0}")]
    Failed(String),
    /// The body is larger than the admin API reads: 413.
    #[error("request body too large")]
    TooLarge,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Web(#[from] WebError),
    #[error("internal: {0}")]
    Internal(String),
}

/// One failed user-profile validation: the attribute, Keycloak's message key and its
/// parameters (the attribute name first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    pub params: Vec<String>,
}

impl FieldError {
    pub fn new(field: &str, message: &str, params: Vec<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.to_string(),
            params,
        }
    }

    fn body(&self) -> Value {
        json!({"field": self.field, "errorMessage": self.message, "params": self.params})
    }
}

impl AdminError {
    /// Keycloak's answer to a body that is not JSON or does not fit the representation.
    pub fn unparsable() -> Self {
        AdminError::InvalidRequest {
            error: "invalid_request",
            description: "Cannot parse the JSON".into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        AdminError::NotFound(what.to_string())
    }

    fn status_and_body(&self) -> (StatusCode, Value) {
        match self {
            AdminError::Unauthorized(_) => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "HTTP 401 Unauthorized"}),
            ),
            AdminError::Forbidden => (
                StatusCode::FORBIDDEN,
                json!({"error": "HTTP 403 Forbidden"}),
            ),
            AdminError::NotFound(m) => (StatusCode::NOT_FOUND, json!({"error": m})),
            AdminError::Conflict(m) => (StatusCode::CONFLICT, json!({"errorMessage": m})),
            AdminError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"errorMessage": m})),
            AdminError::Rejected(m) => (StatusCode::BAD_REQUEST, json!({"error": m})),
            AdminError::InvalidField {
                field,
                message,
                params,
            } => (
                StatusCode::BAD_REQUEST,
                json!({"field": field, "errorMessage": message, "params": params}),
            ),
            AdminError::Profile(errors) => {
                let body = match errors.as_slice() {
                    [one] => one.body(),
                    _ => json!({
                        "errorMessage": errors.first().map(|e| e.message.as_str()),
                        "errors": errors.iter().map(FieldError::body).collect::<Vec<_>>(),
                    }),
                };
                (StatusCode::BAD_REQUEST, body)
            }
            AdminError::InvalidRequest { error, description } => (
                StatusCode::BAD_REQUEST,
                json!({"error": error, "error_description": description}),
            ),
            AdminError::NotImplemented(m) => (
                StatusCode::NOT_IMPLEMENTED,
                json!({"error": m, "errorMessage": m}),
            ),
            AdminError::Failed(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"errorMessage": m}),
            ),
            AdminError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "invalid_request", "error_description": "Request body too large"}),
            ),
            AdminError::Store(e) | AdminError::Web(WebError::Store(e)) => store_status(e),
            AdminError::Web(WebError::Pool(_)) | AdminError::Internal(_) => server_error(),
        }
    }
}

/// Store errors a request can cause (a name taken by a concurrent request, a dangling
/// reference in an import) are the caller's; everything else is the server's.
fn store_status(e: &StoreError) -> (StatusCode, Value) {
    use portcullis_store::admin::SqlErr;
    match e {
        StoreError::NotFound(m) => (StatusCode::NOT_FOUND, json!({"error": m})),
        StoreError::Conflict(what) => {
            tracing::info!(conflict = %what, "admin request conflicts with stored data");
            conflict_detected()
        }
        StoreError::Invalid(m) => (StatusCode::BAD_REQUEST, json!({"errorMessage": m})),
        StoreError::Db(db) => match db.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(what)) => {
                tracing::info!(conflict = %what, "admin request conflicts with stored data");
                conflict_detected()
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => (
                StatusCode::BAD_REQUEST,
                json!({"errorMessage": "A referenced resource does not exist"}),
            ),
            _ => server_error(),
        },
        StoreError::Key(_) | StoreError::Password(_) | StoreError::Notices(_) => server_error(),
    }
}

fn conflict_detected() -> (StatusCode, Value) {
    (
        StatusCode::CONFLICT,
        json!({"errorMessage": "Conflict detected. See logs for details"}),
    )
}

fn server_error() -> (StatusCode, Value) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        json!({"error": "unknown_error",
               "error_description": "For more on this error consult the server log."}),
    )
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::error!(error = %self, "admin request failed");
        } else {
            tracing::debug!(error = %self, %status, "admin request refused");
        }
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_keycloak_shapes() {
        let rows: Vec<(AdminError, u16, Value)> = vec![
            (
                AdminError::Conflict("User exists with same username".into()),
                409,
                json!({"errorMessage": "User exists with same username"}),
            ),
            (
                AdminError::not_found("User not found"),
                404,
                json!({"error": "User not found"}),
            ),
            (
                AdminError::unparsable(),
                400,
                json!({"error": "invalid_request", "error_description": "Cannot parse the JSON"}),
            ),
            (
                AdminError::Store(StoreError::Invalid("x refers to y".into())),
                400,
                json!({"errorMessage": "x refers to y"}),
            ),
            (
                AdminError::Store(StoreError::Conflict("id taken".into())),
                409,
                json!({"errorMessage": "Conflict detected. See logs for details"}),
            ),
            (
                AdminError::Internal("boom".into()),
                500,
                json!({"error": "unknown_error",
                       "error_description": "For more on this error consult the server log."}),
            ),
            (
                AdminError::Forbidden,
                403,
                json!({"error": "HTTP 403 Forbidden"}),
            ),
        ];
        for (error, status, body) in rows {
            let (got_status, got_body) = error.status_and_body();
            assert_eq!(got_status.as_u16(), status, "{error}");
            assert_eq!(got_body, body, "{error}");
        }
    }
}
