//! Token revocation (RFC 7009). The client authenticates (public clients by `client_id`).
//! A refresh token of the calling client is revoked in the database, which also makes it
//! inactive at introspection. Invalid, unknown, foreign and already revoked tokens get 200 all
//! the same, so the answer tells nothing. Access tokens are self-contained and not recorded, so
//! revoking one is accepted and changes nothing (they expire within minutes; ending the session
//! ends them). ID tokens are not revocable: `unsupported_token_type`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;

use super::error::no_store;
use super::form::{Form, read_body};
use super::{Audit, Ctx, OAuthError, client_auth};
use crate::tokens::jwt::{TYP_ID, TYP_OFFLINE, TYP_REFRESH, claim_str, decode_verified};

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
    let authenticated = client_auth::authenticate(&ctx.snapshot, headers, &form)?;
    audit.authenticated(&authenticated);
    let client = authenticated.client;
    let token = form
        .get("token")
        .ok_or(OAuthError::invalid_request("Missing parameter: token"))?;
    let ok = || Ok(no_store(StatusCode::OK.into_response()));
    let Some(claims) = decode_verified(&ctx.snapshot, &ctx.issuer, token) else {
        return ok();
    };
    let (Some(typ), Some(jti)) = (claim_str(&claims, "typ"), claim_str(&claims, "jti")) else {
        return ok();
    };
    match typ {
        TYP_REFRESH | TYP_OFFLINE => {
            let store = ctx.state.store();
            if let Some(record) = store.find_refresh_token(jti).await?
                && record.realm_id == ctx.snapshot.realm.id
                && record.client_id == client.client_id
            {
                store.revoke_refresh_token(&record.id).await?;
            }
            ok()
        }
        TYP_ID => Err(OAuthError::unsupported_token_type(
            "ID tokens cannot be revoked",
        )),
        _ => ok(),
    }
}
