//! `GET {relative}/realms/{realm}/account`. With `Accept: application/json` and an access token
//! as a bearer it answers what keycloak-js's `loadUserProfile()` reads, Keycloak's account
//! representation of the token's user (`id`, `username`, `email`, `firstName`, `lastName`,
//! `emailVerified`, `attributes`), with CORS for the token's client's web origins. The token
//! goes through the one access-token validator; without a valid token of this realm the answer
//! is a 401 challenge. Any other request is a browser's: the page saying that the account
//! console is not available.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::error::no_store;
use super::userinfo::bearer_token;
use super::{Audit, Ctx, OAuthError, check, label};

pub(crate) async fn account(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !wants_json(&headers) {
        return match crate::browser::account_page(&state, &path).await {
            Ok(page) => page,
            Err(error) => error.into_response(),
        };
    }
    let mut audit = Audit::new("account", &path, &headers);
    let result = profile(&state, &path, &headers, &mut audit).await;
    audit.finish(result)
}

/// Whether the request asks for JSON (keycloak-js sends `Accept: application/json`).
fn wants_json(headers: &HeaderMap) -> bool {
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

async fn profile(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let ctx = Ctx::load(state, path).await?;
    let realm = ctx.realm_name();
    let Some(token) = bearer_token(headers) else {
        return Err(OAuthError::missing_token(realm));
    };
    let live = check::access_token(&ctx, token)
        .await?
        .map_err(|dead| OAuthError::invalid_token(realm, dead))?;
    audit.client(live.client);
    audit.user = label(&live.user.username);
    let user = &live.user;
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
    Ok(no_store(Json(Value::Object(body)).into_response()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use axum::http::HeaderValue;

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
}
