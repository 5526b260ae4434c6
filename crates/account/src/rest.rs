//! Keycloak's account REST basics: `GET {relative}/realms/{realm}/account` with
//! `Accept: application/json` and an access token as a bearer answers what keycloak-js's
//! `loadUserProfile()` reads, Keycloak's account representation of the token's user (`id`,
//! `username`, `email`, `firstName`, `lastName`, `emailVerified`, `attributes`), with CORS for
//! the token's client's web origins.
//!
//! The token goes through the one access-token validator, and must be meant for the account,
//! as Keycloak requires: its audience includes the `account` client, or its user holds the
//! `account` client's `view-profile` (or `manage-account`) role. Without a valid token of this
//! realm the answer is a 401 challenge; a valid token meant for something else gets 403.

use axum::Json;
use axum::http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::resolve::resolve_user;
use portcullis_store::admin::ACCOUNT_CLIENT;
use portcullis_web::{AppState, bearer, cors};
use serde_json::{Map, Value, json};

/// The `account` client roles that let a token read the profile (Keycloak's
/// `AccountRoles.VIEW_PROFILE`, or `MANAGE_ACCOUNT`).
const PROFILE_ROLES: [&str; 2] = ["view-profile", "manage-account"];

/// Whether the request asks for JSON (keycloak-js sends `Accept: application/json`).
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// `GET .../account` for JSON: the profile of the token's user.
pub async fn profile(state: &AppState, realm: &str, headers: &HeaderMap) -> Response {
    let origin = cors::request_origin(headers);
    let (response, client, outcome) = match answer(state, realm, headers).await {
        Ok((body, client)) => (no_store(Json(body).into_response()), client, "ok"),
        Err((error, client)) => {
            let outcome = error.outcome();
            (error.into_response(), client, outcome)
        }
    };
    tracing::info!(
        endpoint = "account",
        realm = %label(realm),
        client_id = ?client.as_ref().map(|c| label(&c.0)),
        status = response.status().as_u16(),
        outcome,
        "account request"
    );
    match client {
        Some((_, allowed)) => cors::allow(response, origin.as_deref(), &allowed),
        None => response,
    }
}

/// The client a token was issued to, and the origins it allows.
type TokenClient = (String, Vec<String>);

async fn answer(
    state: &AppState,
    realm: &str,
    headers: &HeaderMap,
) -> Result<(Value, Option<TokenClient>), (RestError, Option<TokenClient>)> {
    let snapshot = match state.realm(realm).await {
        Ok(Some(s)) if s.realm.enabled => s,
        Ok(_) => return Err((RestError::RealmNotFound, None)),
        Err(e) => return Err((RestError::Server(e.to_string()), None)),
    };
    let name = snapshot.realm.name.clone();
    let Some(token) = bearer_token(headers) else {
        return Err((RestError::MissingToken(name), None));
    };
    let valid = match bearer::validate_access_token(state, &snapshot, token).await {
        Ok(Ok(valid)) => valid,
        Ok(Err(why)) => return Err((RestError::InvalidToken(name, why), None)),
        Err(e) => return Err((RestError::Server(e.to_string()), None)),
    };
    let client = snapshot
        .client(&valid.client_id)
        .map(|c| (c.client_id.clone(), cors::allowed_origins(c)));
    let roles = resolve_user(&snapshot, &valid.user);
    let holds_role = PROFILE_ROLES
        .iter()
        .any(|r| roles.has_role(&format!("{ACCOUNT_CLIENT}.{r}")));
    if !has_audience(&valid.claims, ACCOUNT_CLIENT) && !holds_role {
        return Err((RestError::NotForAccount(name), client));
    }
    let user = &valid.user;
    let mut body = Map::new();
    body.insert("id".into(), json!(user.id));
    body.insert("username".into(), json!(user.username));
    let optional = [
        ("firstName", &user.first_name),
        ("lastName", &user.last_name),
        ("email", &user.email),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            body.insert(name.into(), json!(value));
        }
    }
    body.insert("emailVerified".into(), json!(user.email_verified));
    body.insert("attributes".into(), json!(user.attributes));
    Ok((Value::Object(body), client))
}

/// Whether the token's `aud` (a string or an array) names `audience`.
fn has_audience(claims: &Map<String, Value>, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

/// The bearer token of an `Authorization` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Client-chosen labels are cut for the log.
fn label(value: &str) -> String {
    value.chars().take(64).collect()
}

/// Why the profile is not given, as RFC 6750 says it.
#[derive(Debug)]
enum RestError {
    RealmNotFound,
    /// No token: a bare challenge (RFC 6750 §3.1).
    MissingToken(String),
    InvalidToken(String, bearer::Invalid),
    /// A valid token meant for something other than the account.
    NotForAccount(String),
    Server(String),
}

impl RestError {
    fn outcome(&self) -> &'static str {
        match self {
            RestError::RealmNotFound => "realm_not_found",
            RestError::MissingToken(_) => "invalid_request",
            RestError::InvalidToken(..) => "invalid_token",
            RestError::NotForAccount(_) => "insufficient_scope",
            RestError::Server(_) => "server_error",
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let (status, body, challenge) = match self {
            RestError::RealmNotFound => (
                StatusCode::NOT_FOUND,
                json!({"error": "Realm does not exist"}),
                None,
            ),
            RestError::MissingToken(realm) => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_request", "error_description": "Missing bearer token"}),
                Some(format!("Bearer realm=\"{}\"", quote(&realm))),
            ),
            RestError::InvalidToken(realm, why) => (
                StatusCode::UNAUTHORIZED,
                json!({"error": "invalid_token", "error_description": why}),
                Some(format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\"",
                    quote(&realm)
                )),
            ),
            RestError::NotForAccount(realm) => (
                StatusCode::FORBIDDEN,
                json!({"error": "insufficient_scope",
                       "error_description": "The token is not meant for the account"}),
                Some(format!(
                    "Bearer realm=\"{}\", error=\"insufficient_scope\"",
                    quote(&realm)
                )),
            ),
            RestError::Server(cause) => {
                tracing::error!(error = %cause, "account request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "server_error",
                           "error_description": "internal error; see the server log"}),
                    None,
                )
            }
        };
        let mut response = no_store((status, Json(body)).into_response());
        if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Escapes a quoted-string (RFC 9110 §5.6.4).
fn quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `Cache-Control: no-store` and `Pragma: no-cache`: a profile is no cache's business.
fn no_store(mut response: Response) -> Response {
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
    fn json_is_asked_for_by_accept() {
        let rows = [
            (Some("application/json"), true),
            (Some("text/html, application/json;q=0.9"), true),
            (Some("Application/JSON"), true),
            (Some("text/html,application/xhtml+xml"), false),
            (Some("*/*"), false),
            (None, false),
        ];
        for (accept, expected) in rows {
            let mut headers = HeaderMap::new();
            if let Some(a) = accept {
                headers.insert(ACCEPT, HeaderValue::from_static(a));
            }
            assert_eq!(wants_json(&headers), expected, "{accept:?}");
        }
    }

    #[test]
    fn audiences_as_string_or_array() {
        let claims = |aud: Value| {
            let mut map = Map::new();
            map.insert("aud".into(), aud);
            map
        };
        assert!(has_audience(&claims(json!("account")), "account"));
        assert!(has_audience(&claims(json!(["api", "account"])), "account"));
        assert!(!has_audience(&claims(json!("api")), "account"));
        assert!(!has_audience(&claims(json!(["accounts"])), "account"));
        assert!(!has_audience(&Map::new(), "account"));
    }
}
