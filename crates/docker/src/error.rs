//! Errors of the token endpoint and how clients see them.
//!
//! Client errors carry both shapes clients parse: the registry errcode list
//! (`{"errors":[{"code","message","detail"}]}`, which docker and containers/image show to users)
//! and OAuth2's `{"error","error_description"}` (what the POST flow's clients expect). Missing
//! permissions are never an error (reference §5.1), so no variant answers 403.

use axum::Json;
use axum::http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_web::WebError;
use serde_json::json;

use crate::issuers::Refusal;
use crate::scope::{ResourceScope, ScopeError};
use crate::token::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("realm not found")]
    RealmNotFound,
    #[error("client not found")]
    ClientNotFound,
    #[error("the service parameter is required")]
    MissingService,
    #[error("service {0:?} is not an enabled docker-v2 client of this realm")]
    InvalidClient(String),
    #[error(transparent)]
    Scope(#[from] ScopeError),
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Bad Basic credentials (GET, or POST without a grant type).
    #[error("invalid username or password")]
    Unauthorized {
        realm: String,
        detail: Vec<ResourceScope>,
    },
    /// A failed password or refresh-token grant.
    #[error("invalid grant: {reason}")]
    InvalidGrant { realm: String, reason: &'static str },
    /// A token exchange whose subject token is not a live `docker-cli` access token of the
    /// realm: RFC 8693 answers `invalid_grant` with 400 (no Basic challenge: no password helps).
    #[error("invalid grant: {0}")]
    ExchangeRefused(&'static str),
    /// A CI token (a JWT as the password) that is not accepted: 401 on GET and POST alike.
    #[error("CI token refused: {refusal}")]
    CiToken { realm: String, refusal: Refusal },
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    /// The user has a required action pending (a temporary password, ...): it must sign in
    /// with a browser first. Keycloak's answer to grants without one.
    #[error("Account is not fully set up")]
    NotSetUp,
    /// Too many failed logins from the client's address or for the username: nothing was
    /// checked; retry after this many seconds.
    #[error("too many failed logins; try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Web(#[from] WebError),
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl DockerError {
    /// A short label for the request log line.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::RealmNotFound => "realm_not_found",
            Self::ClientNotFound => "client_not_found",
            Self::MissingService => "missing_service",
            Self::InvalidClient(_) => "invalid_client",
            Self::Scope(_) => "invalid_scope",
            Self::InvalidRequest(_) => "invalid_request",
            Self::Unauthorized { .. } => "bad_credentials",
            Self::InvalidGrant { .. } | Self::ExchangeRefused(_) => "invalid_grant",
            Self::CiToken { refusal, .. } => refusal.code(),
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::NotSetUp => "account_not_set_up",
            Self::RateLimited { .. } => "rate_limited",
            Self::Web(_) | Self::Token(_) => "server_error",
        }
    }

    /// (status, errcode, OAuth error) of a client error; None for server errors.
    fn codes(&self) -> Option<(StatusCode, &'static str, &'static str)> {
        Some(match self {
            Self::RealmNotFound | Self::ClientNotFound => {
                (StatusCode::NOT_FOUND, "NOT_FOUND", "not_found")
            }
            Self::MissingService | Self::Scope(_) | Self::InvalidRequest(_) => (
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "invalid_request",
            ),
            Self::InvalidClient(_) => (StatusCode::BAD_REQUEST, "INVALID_CLIENT", "invalid_client"),
            Self::Unauthorized { .. } => {
                (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid_grant")
            }
            Self::InvalidGrant { .. } | Self::CiToken { .. } => {
                (StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid_grant")
            }
            Self::ExchangeRefused(_) => (StatusCode::BAD_REQUEST, "DENIED", "invalid_grant"),
            Self::UnsupportedGrantType(_) => (
                StatusCode::BAD_REQUEST,
                "UNSUPPORTED",
                "unsupported_grant_type",
            ),
            Self::NotSetUp => (StatusCode::BAD_REQUEST, "DENIED", "invalid_grant"),
            Self::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "TOOMANYREQUESTS",
                "temporarily_unavailable",
            ),
            Self::Web(_) | Self::Token(_) => return None,
        })
    }

    /// The realm to name in a `WWW-Authenticate: Basic` challenge, for 401s.
    fn challenge_realm(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { realm, .. }
            | Self::InvalidGrant { realm, .. }
            | Self::CiToken { realm, .. } => Some(realm),
            _ => None,
        }
    }
}

impl IntoResponse for DockerError {
    fn into_response(self) -> Response {
        let Some((status, code, oauth)) = self.codes() else {
            return match self {
                Self::Web(e) => e.into_response(),
                other => server_error(&other),
            };
        };
        let message = self.to_string();
        let detail = match &self {
            Self::Unauthorized { detail, .. } => json!(detail),
            _ => json!([]),
        };
        let body = json!({
            "errors": [{"code": code, "message": message, "detail": detail}],
            "error": oauth,
            "error_description": message,
        });
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Self::RateLimited { retry_after_secs } = &self {
            headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if let Some(realm) = self.challenge_realm() {
            let challenge = format!("Basic realm=\"{}\"", quote(realm));
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// Token signing failures are the server's fault: logged with their cause, answered generically
/// (the same body `WebError` gives).
fn server_error(error: &DockerError) -> Response {
    tracing::error!(error = %error, "docker-v2 token request failed");
    let body = json!({
        "error": "server_error",
        "error_description": "internal error; see the server log",
    });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// Escapes a quoted-string (RFC 9110 §5.6.4).
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}
