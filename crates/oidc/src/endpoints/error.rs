//! Errors of the endpoints applications call, rendered in RFC 6749 §5.2 shape
//! (`{"error","error_description"}`) with the status and challenge each one calls for, and
//! `Cache-Control: no-store` like every token response. Descriptions are fixed texts (never
//! echoed input), so they always stay within RFC 6749's character set.

use std::borrow::Cow;

use axum::Json;
use axum::http::header::{CACHE_CONTROL, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_store::StoreError;
use portcullis_web::WebError;
use serde_json::json;

use crate::tokens::TokenError;

/// The challenge a 401 or 403 carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="<realm>"`: the client authenticated with HTTP Basic and failed.
    Basic(String),
    /// `Bearer realm="<realm>"[, error="..."]`: a resource request (userinfo) failed.
    Bearer {
        realm: String,
        error: Option<&'static str>,
    },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum OAuthError {
    /// An OAuth2 protocol error, the client's doing.
    #[error("{error}: {description}")]
    Protocol {
        status: StatusCode,
        error: &'static str,
        description: Cow<'static, str>,
        challenge: Option<Challenge>,
    },
    #[error("realm not found")]
    RealmNotFound,
    /// Too many failed logins from the client's address or for the username: 429 with
    /// `Retry-After`, so the client waits instead of being told its password is wrong.
    #[error("too many failed logins")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Web(#[from] WebError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("token: {0}")]
    Token(#[from] TokenError),
}

impl OAuthError {
    fn protocol(status: StatusCode, error: &'static str, description: &'static str) -> Self {
        Self::Protocol {
            status,
            error,
            description: Cow::Borrowed(description),
            challenge: None,
        }
    }

    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub(crate) fn unauthorized_client(description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub(crate) fn unsupported_grant_type() -> Self {
        Self::protocol(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Unsupported grant_type",
        )
    }

    pub(crate) fn invalid_scope(description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub(crate) fn unsupported_token_type(description: &'static str) -> Self {
        Self::protocol(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            description,
        )
    }

    /// RFC 8628 §3.5 polling answers: `authorization_pending`, `slow_down`, `access_denied`,
    /// `expired_token`, all 400.
    pub(crate) fn device(error: &'static str, description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, error, description)
    }

    /// 401 `invalid_client`, challenging with Basic when the client tried Basic.
    pub(crate) fn invalid_client(description: &'static str, basic_realm: Option<&str>) -> Self {
        Self::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: Cow::Borrowed(description),
            challenge: basic_realm.map(|r| Challenge::Basic(r.to_owned())),
        }
    }

    /// 400 `invalid_client`: Keycloak's answer when a client authenticated in a way its
    /// `clientAuthenticatorType` does not take (no client assertion from a `client-jwt` client).
    pub(crate) fn invalid_client_method(description: &'static str) -> Self {
        Self::protocol(StatusCode::BAD_REQUEST, "invalid_client", description)
    }

    /// Keycloak answers bad resource-owner credentials with 401 `invalid_grant`.
    pub(crate) fn invalid_user_credentials() -> Self {
        Self::protocol(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Invalid user credentials",
        )
    }

    /// Keycloak's answer to a grant without a browser while the user has a required action
    /// pending (a temporary password, ...): 400 `invalid_grant`.
    pub(crate) fn account_not_set_up() -> Self {
        Self::invalid_grant("Account is not fully set up")
    }

    /// RFC 6750 §3.1 `invalid_token` (401) for a bearer token that does not verify.
    pub(crate) fn invalid_token(realm: &str, description: &'static str) -> Self {
        Self::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description: Cow::Borrowed(description),
            challenge: Some(Challenge::Bearer {
                realm: realm.to_owned(),
                error: Some("invalid_token"),
            }),
        }
    }

    /// RFC 6750 §3.1: a request without a token gets a bare challenge (and a JSON body).
    pub(crate) fn missing_token(realm: &str) -> Self {
        Self::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_request",
            description: Cow::Borrowed("Missing bearer token"),
            challenge: Some(Challenge::Bearer {
                realm: realm.to_owned(),
                error: None,
            }),
        }
    }

    /// RFC 6750 §3.1 `insufficient_scope` (403).
    pub(crate) fn insufficient_scope(realm: &str, description: &'static str) -> Self {
        Self::Protocol {
            status: StatusCode::FORBIDDEN,
            error: "insufficient_scope",
            description: Cow::Borrowed(description),
            challenge: Some(Challenge::Bearer {
                realm: realm.to_owned(),
                error: Some("insufficient_scope"),
            }),
        }
    }

    /// The request body exceeds the limit.
    pub(crate) fn too_large() -> Self {
        Self::protocol(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "Request too large",
        )
    }

    /// What the log line says happened: the OAuth error code, or `server_error`.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Self::Protocol { error, .. } => error,
            Self::RealmNotFound => "realm_not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::Web(_) | Self::Store(_) | Self::Token(_) => "server_error",
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if let Self::RateLimited { retry_after_secs } = self {
            let body = json!({
                "error": "temporarily_unavailable",
                "error_description": "Too many failed logins; try again later",
            });
            let mut response =
                no_store((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response());
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            return response;
        }
        let (status, body, challenge) = match self {
            Self::Protocol {
                status,
                error,
                description,
                challenge,
            } => (
                status,
                json!({ "error": error, "error_description": description }),
                challenge,
            ),
            Self::RealmNotFound | Self::RateLimited { .. } => (
                StatusCode::NOT_FOUND,
                json!({ "error": "Realm does not exist" }),
                None,
            ),
            server @ (Self::Web(_) | Self::Store(_) | Self::Token(_)) => {
                tracing::error!(error = %server, "openid-connect request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({
                        "error": "server_error",
                        "error_description": "internal error; see the server log",
                    }),
                    None,
                )
            }
        };
        let mut response = no_store((status, Json(body)).into_response());
        if let Some(value) = challenge.and_then(|c| challenge_header(&c)) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

fn challenge_header(challenge: &Challenge) -> Option<HeaderValue> {
    let text = match challenge {
        Challenge::Basic(realm) => format!("Basic realm=\"{}\"", quote(realm)),
        Challenge::Bearer { realm, error: None } => format!("Bearer realm=\"{}\"", quote(realm)),
        Challenge::Bearer {
            realm,
            error: Some(error),
        } => format!("Bearer realm=\"{}\", error=\"{error}\"", quote(realm)),
    };
    HeaderValue::from_str(&text).ok()
}

/// Escapes a quoted-string (RFC 9110 §5.6.4).
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn responses_have_status_body_challenge_and_no_store() {
        // (error, status, error code, challenge header)
        let rows: Vec<(OAuthError, u16, &str, Option<&str>)> = vec![
            (
                OAuthError::invalid_request("x"),
                400,
                "invalid_request",
                None,
            ),
            (OAuthError::invalid_grant("x"), 400, "invalid_grant", None),
            (
                OAuthError::unsupported_grant_type(),
                400,
                "unsupported_grant_type",
                None,
            ),
            (OAuthError::invalid_scope("x"), 400, "invalid_scope", None),
            (
                OAuthError::invalid_client("x", Some("a\"b")),
                401,
                "invalid_client",
                Some("Basic realm=\"a\\\"b\""),
            ),
            (
                OAuthError::invalid_client("x", None),
                401,
                "invalid_client",
                None,
            ),
            (
                OAuthError::invalid_user_credentials(),
                401,
                "invalid_grant",
                None,
            ),
            (
                OAuthError::invalid_token("acme", "x"),
                401,
                "invalid_token",
                Some("Bearer realm=\"acme\", error=\"invalid_token\""),
            ),
            (
                OAuthError::missing_token("acme"),
                401,
                "invalid_request",
                Some("Bearer realm=\"acme\""),
            ),
            (
                OAuthError::insufficient_scope("acme", "x"),
                403,
                "insufficient_scope",
                Some("Bearer realm=\"acme\", error=\"insufficient_scope\""),
            ),
            (OAuthError::device("slow_down", "x"), 400, "slow_down", None),
            (OAuthError::too_large(), 413, "invalid_request", None),
            (
                OAuthError::Store(StoreError::Invalid("boom".into())),
                500,
                "server_error",
                None,
            ),
        ];
        for (error, status, code, challenge) in rows {
            assert_eq!(error.outcome(), code);
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status, "{code}");
            let headers = response.headers();
            assert_eq!(headers[CACHE_CONTROL], "no-store");
            assert_eq!(headers[PRAGMA], "no-cache");
            assert_eq!(
                headers.get(WWW_AUTHENTICATE).map(|v| v.to_str().unwrap()),
                challenge,
                "{code}"
            );
        }
    }
}
