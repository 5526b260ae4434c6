//! Discovery: OIDC's `{issuer}/.well-known/openid-configuration` and RFC 8414's
//! `{relative}/.well-known/oauth-authorization-server/realms/{realm}`, the same document. Only
//! what exists is advertised; `request_uri_parameter_supported` is stated as false because
//! OIDC Discovery's default for it is true.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;
use serde_json::{Value, json};

use super::Ctx;
use super::token::GRANT_TYPES;
use crate::tokens::scopes::SUPPORTED as SCOPES_SUPPORTED;

/// Claims tokens and userinfo may carry.
const CLAIMS_SUPPORTED: [&str; 20] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "jti",
    "azp",
    "sid",
    "nonce",
    "acr",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "email",
    "email_verified",
    "phone_number",
    "address",
];

const CLIENT_AUTH_METHODS: [&str; 2] = ["client_secret_basic", "client_secret_post"];

pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    respond(&state, &path).await
}

pub(crate) async fn authorization_server_metadata(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    respond(&state, &path).await
}

async fn respond(state: &AppState, path: &HashMap<String, String>) -> Response {
    match Ctx::load(state, path).await {
        Ok(ctx) => {
            let mut response = Json(document(&ctx.issuer)).into_response();
            let headers = response.headers_mut();
            // Browser applications read discovery cross-origin; it holds nothing private.
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The discovery document of the realm with this issuer.
pub(crate) fn document(issuer: &str) -> Value {
    let endpoint = |name: &str| format!("{issuer}/protocol/openid-connect/{name}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "introspection_endpoint": endpoint("token/introspect"),
        "token_introspection_endpoint": endpoint("token/introspect"),
        "userinfo_endpoint": endpoint("userinfo"),
        "end_session_endpoint": endpoint("logout"),
        "jwks_uri": endpoint("certs"),
        "check_session_iframe": endpoint("login-status-iframe.html"),
        "revocation_endpoint": endpoint("revoke"),
        "device_authorization_endpoint": endpoint("auth/device"),
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "scopes_supported": SCOPES_SUPPORTED,
        "claims_supported": CLAIMS_SUPPORTED,
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": ["0", "1"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn document_shape() {
        let issuer = "http://id.test/auth/realms/acme";
        let doc = document(issuer);
        assert_eq!(doc["issuer"], issuer);
        for key in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
            "device_authorization_endpoint",
            "check_session_iframe",
        ] {
            let url = doc[key].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{issuer}/protocol/openid-connect/")),
                "{key}"
            );
        }
        let algs = doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap();
        assert!(algs.contains(&json!("RS256")) && !algs.contains(&json!("none")));
        assert!(
            doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("openid"))
        );
        assert_eq!(doc["request_uri_parameter_supported"], false);
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("urn:ietf:params:oauth:grant-type:device_code"))
        );
    }
}
