//! The token endpoint: client authentication, grant dispatch, and the token response every
//! grant ends in (Keycloak's `AccessTokenResponse` members).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use portcullis_core::model::{Client, User};
use portcullis_core::resolve::ResolvedUser;
use portcullis_store::RefreshTokenRecord;
use portcullis_web::{AppState, ClientIp};
use serde::Serialize;

use super::error::no_store;
use super::form::{Form, read_body};
use super::service_accounts::ServiceAccounts;
use super::{Audit, Ctx, OAuthError, client_auth, device, grants};
use crate::tokens::TokenError;
use crate::tokens::claims::ClaimContext;
use crate::tokens::mint::{
    self, Grant, PreparedClaims, RefreshClaims, SessionRef, TokenSettings, refresh_expiry,
    sign_access, sign_id, sign_refresh,
};
use crate::tokens::scopes::GrantedScopes;

pub(crate) const GRANT_CODE: &str = "authorization_code";
pub(crate) const GRANT_REFRESH: &str = "refresh_token";
pub(crate) const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub(crate) const GRANT_PASSWORD: &str = "password";
pub(crate) const GRANT_DEVICE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Every grant type the endpoint serves, for discovery.
pub(crate) const GRANT_TYPES: [&str; 5] = [
    GRANT_CODE,
    GRANT_REFRESH,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_PASSWORD,
    GRANT_DEVICE,
];

/// Keycloak's client attribute switching refresh tokens off (default on).
const ATTR_USE_REFRESH_TOKENS: &str = "use.refresh.tokens";

pub(crate) async fn token(
    State(state): State<AppState>,
    Extension(accounts): Extension<Arc<ServiceAccounts>>,
    Path(path): Path<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut audit = Audit::new("token", &path, &headers);
    let request = TokenRequest {
        path: &path,
        ip,
        headers: &headers,
        accounts: &accounts,
    };
    let result = handle(&state, request, body, &mut audit).await;
    audit.finish_grant(&state, ip, result)
}

/// What a token request carries besides its body.
struct TokenRequest<'a> {
    path: &'a HashMap<String, String>,
    ip: Option<IpAddr>,
    headers: &'a HeaderMap,
    accounts: &'a ServiceAccounts,
}

async fn handle(
    state: &AppState,
    request: TokenRequest<'_>,
    body: Body,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let TokenRequest {
        path,
        ip,
        headers,
        accounts,
    } = request;
    let ctx = Ctx::load(state, path).await?;
    let form = Form::parse(&read_body(body).await?)?;
    let grant_type = form.get("grant_type").ok_or(OAuthError::invalid_request(
        "Missing form parameter: grant_type",
    ))?;
    audit.grant = super::label(grant_type);
    let authenticated = client_auth::authenticate_request(&ctx, headers, &form)
        .await
        .inspect_err(|_| {
            if let Some(claimed) = client_auth::claimed_client_id(headers, &form) {
                audit.client = super::label(&claimed);
            }
        })?;
    audit.authenticated(&authenticated);
    let client = authenticated.client;
    match grant_type {
        GRANT_CODE => grants::authorization_code(&ctx, client, &form, audit).await,
        GRANT_REFRESH => grants::refresh(&ctx, client, &form, audit).await,
        GRANT_CLIENT_CREDENTIALS => {
            grants::client_credentials(&ctx, client, &form, accounts, audit).await
        }
        GRANT_PASSWORD => grants::password(&ctx, client, &form, ip, audit).await,
        GRANT_DEVICE => device::device_grant(&ctx, client, &form, audit).await,
        _ => Err(OAuthError::unsupported_grant_type()),
    }
}

/// Whether the client gets refresh tokens at all (`use.refresh.tokens`, default true).
pub(crate) fn refresh_tokens_enabled(client: &Client) -> bool {
    client
        .attributes
        .get(ATTR_USE_REFRESH_TOKENS)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// What to issue at the end of a grant.
pub(crate) struct Issue<'a> {
    pub client: &'a Client,
    pub user: &'a User,
    pub resolved: &'a ResolvedUser,
    pub scopes: GrantedScopes,
    /// The access token's claims when the grant has them at hand (a service account's);
    /// `None`: prepared here.
    pub access_claims: Option<&'a PreparedClaims>,
    pub session: Option<SessionRef<'a>>,
    pub auth_time: Option<i64>,
    pub nonce: Option<&'a str>,
    /// `None`: no refresh token; `Some(offline)`: a refresh token, offline or not.
    pub refresh: Option<bool>,
    /// A refresh grant without rotation: the new refresh token continues this row (same `jti`,
    /// same scope) instead of inserting another, so refreshing writes nothing in the common case.
    pub continues: Option<&'a RefreshTokenRecord>,
    /// Client credentials: no ID token, and a `client_id` claim.
    pub service_account: bool,
}

/// Keycloak's token response.
#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    refresh_expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(rename = "not-before-policy")]
    not_before_policy: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_state: Option<String>,
    scope: String,
}

/// Signs the tokens of a successful grant, stores the refresh token's row, and answers.
pub(crate) async fn issue(ctx: &Ctx, issue: Issue<'_>) -> Result<Response, OAuthError> {
    let snapshot = &ctx.snapshot;
    let settings = TokenSettings::for_client(&snapshot.realm, issue.client);
    let claims_ctx = ClaimContext {
        snapshot,
        client: issue.client,
        user: issue.user,
        resolved: issue.resolved,
        scopes: &issue.scopes,
    };
    let grant = Grant {
        issuer: &ctx.issuer,
        now: ctx.now,
        session: issue.session,
        auth_time: issue.auth_time,
        nonce: issue.nonce,
        service_account: issue.service_account,
    };
    let prepared;
    let access_claims = match issue.access_claims {
        Some(claims) => claims,
        None => {
            prepared = PreparedClaims::access(&claims_ctx)?;
            &prepared
        }
    };
    let scope = issue.scopes.to_claim();
    let access = sign_access(access_claims, &claims_ctx, &grant, &settings, &scope)?;
    let id_token = if issue.scopes.openid() && !issue.service_account {
        Some(sign_id(&claims_ctx, &grant, &settings, &access.token)?)
    } else {
        None
    };
    let refresh = match issue.refresh {
        Some(offline) => Some(store_refresh(ctx, &issue, &settings, &scope, offline).await?),
        None => None,
    };
    let body = TokenResponse {
        access_token: access.token,
        expires_in: access.exp - ctx.now,
        refresh_expires_in: refresh.as_ref().map_or(0, |(_, exp)| exp - ctx.now),
        refresh_token: refresh.map(|(token, _)| token),
        token_type: "Bearer",
        id_token,
        not_before_policy: 0,
        session_state: issue.session.map(|s| s.id.to_owned()),
        scope,
    };
    Ok(no_store(token_json(&body)?))
}

/// The token response as JSON, in a buffer sized for its tokens: axum's `Json` starts at 128
/// bytes and copies its buffer at every doubling, three times for one ES256 access token.
fn token_json(body: &TokenResponse) -> Result<Response, OAuthError> {
    let tokens = [
        Some(&body.access_token),
        body.refresh_token.as_ref(),
        body.id_token.as_ref(),
    ];
    let size = TOKEN_RESPONSE_MEMBERS_SIZE
        + body.scope.len()
        + tokens.into_iter().flatten().map(String::len).sum::<usize>();
    let mut json = Vec::with_capacity(size);
    serde_json::to_writer(&mut json, body).map_err(TokenError::from)?;
    let content_type = HeaderValue::from_static("application/json");
    Ok(([(CONTENT_TYPE, content_type)], json).into_response())
}

/// Room for the token response's names and numbers besides its tokens and scope.
const TOKEN_RESPONSE_MEMBERS_SIZE: usize = 256;

/// How far past a continued token's expiry its row's expiry is pushed when it must grow.
const ROW_EXPIRY_AHEAD_SECS: i64 = 3_600;

/// Inserts the refresh token's row (or extends the row it continues) and tags the token;
/// returns it with its expiry.
async fn store_refresh(
    ctx: &Ctx,
    issue: &Issue<'_>,
    settings: &TokenSettings,
    scope: &str,
    offline: bool,
) -> Result<(String, i64), OAuthError> {
    let snapshot = &ctx.snapshot;
    let exp = refresh_expiry(
        &snapshot.realm,
        issue.client,
        ctx.now,
        issue.session,
        offline,
    );
    let record = match issue.continues {
        Some(row) => {
            if exp > row.expires_at {
                // The row must outlive every token that names it; extending it well ahead
                // means one write per grant now and then, not one per refresh.
                let until = exp.saturating_add(ROW_EXPIRY_AHEAD_SECS);
                ctx.state
                    .store()
                    .extend_refresh_token(&row.id, until)
                    .await?;
                ctx.state.refresh_token_extended(&row.id, until);
            }
            row.clone()
        }
        None => {
            let record = RefreshTokenRecord {
                id: mint::new_jti(),
                realm_id: snapshot.realm.id.clone(),
                client_id: issue.client.client_id.clone(),
                user_id: issue.user.id.clone(),
                session_id: issue.session.map(|s| s.id.to_owned()),
                scope: scope.to_owned(),
                offline,
                created_at: ctx.now,
                expires_at: exp,
                revoked: false,
                use_count: 0,
            };
            ctx.state.store().insert_refresh_token(&record).await?;
            record
        }
    };
    let claims = RefreshClaims {
        issuer: &ctx.issuer,
        client_id: &issue.client.client_id,
        subject: &issue.user.id,
        session_id: record.session_id.as_deref(),
        // A continued grant keeps its original scope (RFC 6749 §6), whatever a narrowing
        // refresh gave the access token.
        scope: &record.scope,
        jti: &record.id,
        offline,
        now: ctx.now,
        exp,
    };
    Ok((sign_refresh(snapshot, settings, &claims)?, exp))
}
