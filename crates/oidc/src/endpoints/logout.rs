//! Logout with a refresh token, the back-channel form of the `logout` endpoint that Keycloak
//! keeps (python-keycloak's `logout(refresh_token)`, confidential clients' server-side logout):
//! `POST .../protocol/openid-connect/logout` with client authentication and `refresh_token`.
//!
//! As in Keycloak: the client authenticates; the token must be a refresh or offline token this
//! realm issued to that client (400 `invalid_grant` otherwise), and expired ones are accepted
//! (logging out must not fail because the token timed out). A refresh token ends its whole SSO
//! session (every client's tokens in it); an offline token ends its offline session. The
//! answer is 204, also when the session had already ended.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;

use super::error::no_store;
use super::form::Form;
use super::{Audit, Ctx, OAuthError, client_auth};
use crate::tokens::jwt::{TYP_OFFLINE, TYP_REFRESH, claim_str, decode_verified};

const INVALID_REFRESH: &str = "Invalid refresh token";

/// Answers a `logout` POST that carries `refresh_token`.
pub(crate) async fn with_refresh_token(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Response {
    let mut audit = Audit::new("logout", path, headers);
    let result = handle(state, path, headers, pairs, &mut audit).await;
    audit.finish(result)
}

async fn handle(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let ctx = Ctx::load(state, path).await?;
    let form = Form::from_pairs(pairs)?;
    let authenticated = client_auth::authenticate_request(&ctx, headers, &form).await?;
    audit.authenticated(&authenticated);
    let client = authenticated.client;
    let token = form.get_raw("refresh_token").unwrap_or_default();
    let claims = decode_verified(&ctx.snapshot, &ctx.issuer, token)
        .ok_or(OAuthError::invalid_grant(INVALID_REFRESH))?;
    let offline = match claim_str(&claims, "typ") {
        Some(TYP_REFRESH) => false,
        Some(TYP_OFFLINE) => true,
        _ => return Err(OAuthError::invalid_grant(INVALID_REFRESH)),
    };
    if claim_str(&claims, "azp") != Some(client.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "Invalid refresh token. Token client and authorized client don't match",
        ));
    }
    let store = state.store();
    let realm_id = &ctx.snapshot.realm.id;
    let session = claim_str(&claims, "sid").or(claim_str(&claims, "jti"));
    match (session, offline) {
        (Some(sid), false) => store.end_user_session(sid).await?,
        (Some(sid), true) => {
            store.revoke_offline_session(realm_id, sid).await?;
        }
        (None, _) => return Err(OAuthError::invalid_grant(INVALID_REFRESH)),
    }
    if let Some(user) = claim_str(&claims, "sub") {
        state.invalidate_user(ctx.realm_name(), user);
    }
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}
