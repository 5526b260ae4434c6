//! Token revocation (RFC 7009), as Keycloak's revocation endpoint does it. The client
//! authenticates (public clients by `client_id`) and may revoke only tokens issued to it.
//!
//! - An access token is remembered by its `jti` until its `exp`: from then on userinfo answers
//!   401 `invalid_token` and introspection `{"active": false}`, as for an expired token.
//! - A refresh or offline token ends its client session, as Keycloak removes the client session:
//!   the token, every other refresh token the same client holds in the same SSO session
//!   (offline ones too when an offline token is revoked), and the access tokens the client got
//!   in that session so far stop working. Other clients' tokens in that session live on.
//! - A token issued to another client (`azp`): 400 `invalid_request` "Unmatching clients". We
//!   follow Keycloak here rather than answering 200 and doing nothing; RFC 7009 §2.1 also says
//!   the request is refused. (Keycloak's error code is `invalid_request`, not
//!   `unauthorized_client`.)
//! - Invalid, unknown, expired and already revoked tokens get 200 with nothing done, so the
//!   answer tells nothing. ID tokens are not revocable: `unsupported_token_type`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::model::Client;
use portcullis_store::RefreshRevocation;
use portcullis_web::AppState;
use serde_json::{Map, Value};

use super::error::no_store;
use super::form::{Form, read_body};
use super::{Audit, Ctx, OAuthError, check, client_auth};
use crate::tokens::jwt::{
    TYP_BEARER, TYP_ID, TYP_OFFLINE, TYP_REFRESH, claim_i64, claim_str, decode_verified,
};
use crate::tokens::mint::TokenSettings;

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut audit = Audit::new("revoke", &path, &headers);
    let result = handle(&state, &path, &headers, body, &mut audit).await;
    audit.finish(result)
}

async fn handle(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let ctx = Ctx::load(state, path).await?;
    let form = Form::parse(&read_body(body).await?)?;
    let authenticated = client_auth::authenticate_request(&ctx, headers, &form).await?;
    audit.authenticated(&authenticated);
    let client = authenticated.client;
    let token = form
        .get("token")
        .ok_or(OAuthError::invalid_request("Missing parameter: token"))?;
    let ok = || Ok(no_store(StatusCode::OK.into_response()));
    let Some(claims) = decode_verified(&ctx.snapshot, &ctx.issuer, token) else {
        return ok();
    };
    let typ = claim_str(&claims, "typ");
    if typ == Some(TYP_ID) {
        return Err(OAuthError::unsupported_token_type(
            "ID tokens cannot be revoked",
        ));
    }
    let Some(azp) = claim_str(&claims, "azp") else {
        return ok();
    };
    if azp != client.client_id {
        return Err(OAuthError::invalid_request("Unmatching clients"));
    }
    match typ {
        Some(TYP_BEARER) => revoke_access(&ctx, &claims).await?,
        Some(TYP_REFRESH) => revoke_refresh(&ctx, client, &claims, false).await?,
        Some(TYP_OFFLINE) => revoke_refresh(&ctx, client, &claims, true).await?,
        _ => {}
    }
    ok()
}

/// Remembers an unexpired access token's `jti` until its `exp`. The user and session are not
/// checked: a token that is dead for now (a disabled user) must not come back later.
async fn revoke_access(ctx: &Ctx, claims: &Map<String, Value>) -> Result<(), OAuthError> {
    if check::expired(claims, ctx.now) {
        return Ok(());
    }
    let (Some(jti), Some(exp)) = (claim_str(claims, "jti"), claim_i64(claims, "exp")) else {
        return Ok(());
    };
    ctx.state
        .store()
        .revoke_access_token(&ctx.snapshot.realm.id, jti, ctx.now, exp)
        .await?;
    Ok(())
}

/// Ends the client session of an unexpired, unrevoked refresh token. An already revoked one
/// does nothing, so presenting an old token again cannot end a newer client session. `client`
/// is the token's (`azp`, which its row matches).
async fn revoke_refresh(
    ctx: &Ctx,
    client: &Client,
    claims: &Map<String, Value>,
    offline: bool,
) -> Result<(), OAuthError> {
    let Ok(record) = check::refresh_record(ctx, claims, offline).await? else {
        return Ok(());
    };
    // The longest an access token the client got in the session can live.
    let lifespan = TokenSettings::for_client(&ctx.snapshot.realm, client).access_lifespan;
    let revocation = RefreshRevocation {
        token: &record,
        client_pk: &client.id,
        now: ctx.now,
        access_expires_at: ctx.now.saturating_add(lifespan),
    };
    ctx.state.store().revoke_refresh_grant(&revocation).await?;
    ctx.state.invalidate_credentials();
    Ok(())
}
