//! Token introspection (RFC 7662) for authenticated confidential clients. An active access or
//! refresh token is answered with its claims plus `active`, `client_id`, `username` and
//! `token_type`; anything else (expired, revoked, ended session, disabled user, an ID token, a
//! docker registry token, another realm's token, garbage) with `{"active": false}` only.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::error::no_store;
use super::form::{Form, read_body};
use super::{Audit, Ctx, OAuthError, check, client_auth};
use crate::tokens::claims::ClaimContext;
use crate::tokens::jwt::{TYP_BEARER, claim_str};
use crate::tokens::mappers::adjust_for_introspection;
use crate::tokens::scopes::from_claim;

pub(crate) async fn introspect(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut audit = Audit::new("introspect", &path, &headers);
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
    if authenticated.client.public_client {
        return Err(OAuthError::invalid_client(
            "Public clients may not introspect tokens",
            None,
        ));
    }
    let token = form
        .get("token")
        .ok_or(OAuthError::invalid_request("Missing parameter: token"))?;
    let answer = match introspect_token(&ctx, token).await? {
        Some(claims) => Value::Object(claims),
        None => json!({ "active": false }),
    };
    Ok(no_store(Json(answer).into_response()))
}

/// The introspection answer for an active token; `None` when it is not active. Which kind it is
/// comes from its `typ`, so `token_type_hint` is not needed.
async fn introspect_token(
    ctx: &Ctx,
    token: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let kind = crate::tokens::jwt::decode_verified(&ctx.snapshot, &ctx.issuer, token)
        .and_then(|claims| claim_str(&claims, "typ").map(str::to_owned));
    match kind.as_deref() {
        Some(TYP_BEARER) => {
            let Ok(live) = check::access_token(ctx, token).await? else {
                return Ok(None);
            };
            let mut claims = live.claims;
            let scopes = from_claim(
                &ctx.snapshot,
                live.client,
                claim_str(&claims, "scope").unwrap_or_default(),
            );
            let claims_ctx = ClaimContext {
                snapshot: &ctx.snapshot,
                client: live.client,
                user: &live.user,
                resolved: &live.resolved,
                scopes: &scopes,
            };
            adjust_for_introspection(&claims_ctx, &mut claims);
            Ok(Some(active(
                claims,
                &live.client.client_id,
                &live.user.username,
            )))
        }
        Some(_) => {
            let Ok(live) = check::refresh_token(ctx, token).await? else {
                return Ok(None);
            };
            Ok(Some(active(
                live.claims,
                &live.client.client_id,
                &live.account.user.username,
            )))
        }
        None => Ok(None),
    }
}

/// Adds RFC 7662's members to a live token's claims.
fn active(mut claims: Map<String, Value>, client_id: &str, username: &str) -> Map<String, Value> {
    let token_type = claims.get("typ").cloned().unwrap_or(Value::Null);
    claims.insert("active".into(), json!(true));
    claims.insert("client_id".into(), json!(client_id));
    claims.insert("username".into(), json!(username));
    claims.insert("token_type".into(), token_type);
    claims
}
