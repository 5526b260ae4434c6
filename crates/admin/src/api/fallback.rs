//! What the admin API answers where no endpoint does: JSON error bodies as Keycloak's
//! `KeycloakErrorHandler` writes them (client libraries read the message from the body; an
//! empty one shows as "Unable to determine error message"), and a clear 501 for the parts of
//! Keycloak this server leaves out.

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::AdminError;

/// `404 {"error":"HTTP 404 Not Found"}` for a path no endpoint serves.
pub fn not_found_response() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "HTTP 404 Not Found"})),
    )
        .into_response()
}

/// Gives a JSON body to the router's own 404 and 405 answers (which have none), keeping their
/// headers (`Allow`).
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let message = match status {
        StatusCode::NOT_FOUND => "HTTP 404 Not Found",
        StatusCode::METHOD_NOT_ALLOWED => "HTTP 405 Method Not Allowed",
        _ => return response,
    };
    if response.headers().contains_key(header::CONTENT_TYPE) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = json!({"error": message}).to_string();
    Response::from_parts(parts, Body::from(body))
}

/// An area of Keycloak's admin API this server does not have.
#[derive(Debug, Clone, Copy)]
pub enum Unsupported {
    AuthorizationServices,
    Organizations,
    ClientPolicies,
    FineGrainedPermissions,
    AdminApiV2,
    ClientDescriptionConverter,
}

impl Unsupported {
    fn message(self) -> &'static str {
        match self {
            Unsupported::AuthorizationServices => {
                "Authorization services (clients/{id}/authz, UMA) are not supported by this server"
            }
            Unsupported::Organizations => "Organizations are not supported by this server",
            Unsupported::ClientPolicies => {
                "Client policies and client profiles are not supported by this server"
            }
            Unsupported::FineGrainedPermissions => {
                "Fine-grained admin permissions (management/permissions) are not supported by this server"
            }
            Unsupported::AdminApiV2 => {
                "The admin API v2 (clients v2) is not supported by this server"
            }
            Unsupported::ClientDescriptionConverter => {
                "Converting client descriptions (SAML entity descriptors) is not supported by this server"
            }
        }
    }

    /// The answer: 501 with the message.
    pub fn reply(self) -> Response {
        AdminError::NotImplemented(self.message()).into_response()
    }
}
