//! The userinfo endpoint (OIDC Core §5.3), GET and POST, with the access token as a Bearer
//! header or (POST) an `access_token` form field (RFC 6750 §2.1, §2.2). Errors are RFC 6750
//! challenges. Claims follow the token's scopes and the client's mappers with
//! `userinfo.token.claim`; `sub` is always there.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;

use super::error::no_store;
use super::form::{Form, read_body};
use super::{Audit, Ctx, OAuthError, check, label};
use crate::tokens::claims::{ClaimContext, userinfo_claims};
use crate::tokens::jwt::claim_str;
use crate::tokens::scopes::from_claim;

pub(crate) async fn userinfo_get(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut audit = Audit::new("userinfo", &path, &headers);
    let result = handle(&state, &path, &headers, None, &mut audit).await;
    audit.finish(result)
}

pub(crate) async fn userinfo_post(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut audit = Audit::new("userinfo", &path, &headers);
    let result = handle(&state, &path, &headers, Some(body), &mut audit).await;
    audit.finish(result)
}

/// The token of `Authorization: Bearer`; `None` without such a header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

async fn handle(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Option<Body>,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let ctx = Ctx::load(state, path).await?;
    let realm = ctx.realm_name();
    let form = match body {
        Some(body) => Form::parse(&read_body(body).await?)?,
        None => Form::default(),
    };
    let token = match (bearer_token(headers), form.get("access_token")) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "More than one method used to send the access token",
            ));
        }
        (Some(token), None) | (None, Some(token)) => token,
        (None, None) => return Err(OAuthError::missing_token(realm)),
    };
    let live = check::access_token(&ctx, token)
        .await?
        .map_err(|dead| OAuthError::invalid_token(realm, dead))?;
    audit.client(live.client);
    audit.user = label(&live.user.username);
    let scopes = from_claim(
        &ctx.snapshot,
        live.client,
        claim_str(&live.claims, "scope").unwrap_or_default(),
    );
    if !scopes.openid() {
        return Err(OAuthError::insufficient_scope(
            realm,
            "The access token lacks the openid scope",
        ));
    }
    let claims_ctx = ClaimContext {
        snapshot: &ctx.snapshot,
        client: live.client,
        user: &live.user,
        resolved: &live.resolved,
        scopes: &scopes,
    };
    let claims = userinfo_claims(&claims_ctx);
    Ok(no_store(Json(claims).into_response()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_header() {
        let rows: &[(Option<&str>, Option<&str>)] = &[
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer  abc "), Some("abc")),
            (Some("Basic abc"), None),
            (Some("Bearer "), None),
            (Some("Bearer"), None),
            (None, None),
        ];
        for (header, expected) in rows {
            let mut headers = HeaderMap::new();
            if let Some(h) = header {
                headers.insert(AUTHORIZATION, HeaderValue::from_str(h).unwrap());
            }
            assert_eq!(bearer_token(&headers), *expected, "{header:?}");
        }
    }
}
