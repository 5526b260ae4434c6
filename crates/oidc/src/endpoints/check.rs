//! Is this token still good? Access tokens are checked by the one validator
//! ([`portcullis_web::bearer`]); refresh and offline tokens here, for the refresh grant and
//! introspection: we signed them for this realm, they have not expired, their row exists and is
//! not revoked, their client and user still exist and are enabled, they are not older than the
//! realm's, the client's or the user's `notBefore` ([`not_before::is_stale`]), and the SSO
//! session they belong to (if online) is alive.

use std::sync::Arc;

use portcullis_core::model::{Client, User};
use portcullis_core::not_before;
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_store::{RefreshTokenRecord, UserSession};
use portcullis_web::{LiveUser, bearer};
use serde_json::{Map, Value};

use super::{Ctx, OAuthError};
use crate::tokens::jwt::{TYP_OFFLINE, TYP_REFRESH, claim_i64, claim_str, decode_verified};

/// A verified, live access token.
#[derive(Debug)]
pub(crate) struct LiveAccess<'s> {
    pub claims: Map<String, Value>,
    pub client: &'s Client,
    pub user: User,
    pub resolved: ResolvedUser,
}

/// A verified, live refresh token.
#[derive(Debug)]
pub(crate) struct LiveRefresh<'s> {
    pub claims: Map<String, Value>,
    pub record: RefreshTokenRecord,
    pub client: &'s Client,
    /// The user with their effective roles, from the state's short-lived cache.
    pub account: Arc<LiveUser>,
    /// The SSO session the grant started in, when there was one and it still exists (offline
    /// tokens outlive it; it then only tells the original `auth_time`).
    pub session: Option<UserSession>,
}

/// Why a token is not good, in Keycloak's words (the refresh grant reports them).
pub(crate) type Dead = &'static str;

pub(crate) const INVALID_REFRESH: Dead = "Invalid refresh token";
pub(crate) const NOT_ACTIVE: Dead = bearer::NOT_ACTIVE;
pub(crate) const SESSION_NOT_ACTIVE: Dead = bearer::SESSION_NOT_ACTIVE;
const USER_GONE: Dead = bearer::USER_GONE;
const CLIENT_GONE: Dead = bearer::CLIENT_GONE;

/// Verifies an access token (`typ` Bearer) with the one validator.
pub(crate) async fn access_token<'s>(
    ctx: &'s Ctx,
    token: &str,
) -> Result<Result<LiveAccess<'s>, Dead>, OAuthError> {
    let valid = match bearer::validate_access_token(&ctx.state, &ctx.snapshot, token).await? {
        Ok(valid) => valid,
        Err(dead) => return Ok(Err(dead)),
    };
    let Some(client) = live_client(ctx, &valid.client_id) else {
        return Ok(Err(CLIENT_GONE));
    };
    let resolved = resolve_user(&ctx.snapshot, &valid.user);
    Ok(Ok(LiveAccess {
        claims: valid.claims,
        client,
        user: valid.user,
        resolved,
    }))
}

/// Verifies a refresh token (`typ` Refresh or Offline) and its row.
pub(crate) async fn refresh_token<'s>(
    ctx: &'s Ctx,
    token: &str,
) -> Result<Result<LiveRefresh<'s>, Dead>, OAuthError> {
    let Some(claims) = decode_verified(&ctx.snapshot, &ctx.issuer, token) else {
        return Ok(Err(INVALID_REFRESH));
    };
    let offline = match claim_str(&claims, "typ") {
        Some(TYP_REFRESH) => false,
        Some(TYP_OFFLINE) => true,
        _ => return Ok(Err(INVALID_REFRESH)),
    };
    let record = match refresh_record(ctx, &claims, offline).await? {
        Ok(record) => record,
        Err(dead) => return Ok(Err(dead)),
    };
    let Some(client) = live_client(ctx, &record.client_id) else {
        return Ok(Err(CLIENT_GONE));
    };
    let Some(account) = ctx.state.user_by_id(&ctx.snapshot, &record.user_id).await? else {
        return Ok(Err(USER_GONE));
    };
    let user = &account.user;
    let issued_at = claim_i64(&claims, "iat").unwrap_or(i64::MIN);
    if not_before::is_stale(&ctx.snapshot.realm, Some(client), Some(user), issued_at) {
        return Ok(Err(bearer::STALE));
    }
    let session = match &record.session_id {
        None => None,
        Some(sid) if offline => ctx.state.user_session(sid, |_| true).await?,
        Some(sid) => match live_session(ctx, sid, user).await? {
            Some(session) => Some(session),
            None => return Ok(Err(SESSION_NOT_ACTIVE)),
        },
    };
    Ok(Ok(LiveRefresh {
        claims,
        record,
        client,
        account,
        session,
    }))
}

/// The row of a verified refresh token (`typ` Refresh, or Offline when `offline`), if the
/// token and its row agree and neither has expired nor been revoked. Whether its client, user
/// and session still live is the caller's to check.
pub(crate) async fn refresh_record(
    ctx: &Ctx,
    claims: &Map<String, Value>,
    offline: bool,
) -> Result<Result<RefreshTokenRecord, Dead>, OAuthError> {
    if expired(claims, ctx.now) {
        return Ok(Err(NOT_ACTIVE));
    }
    let (Some(jti), Some(sub), Some(azp)) = (
        claim_str(claims, "jti"),
        claim_str(claims, "sub"),
        claim_str(claims, "azp"),
    ) else {
        return Ok(Err(INVALID_REFRESH));
    };
    let consistent = |record: &RefreshTokenRecord| {
        record.realm_id == ctx.snapshot.realm.id
            && record.user_id == sub
            && record.client_id == azp
            && record.offline == offline
    };
    let active = |record: &RefreshTokenRecord| !record.revoked && record.expires_at > ctx.now;
    let record = ctx
        .state
        .refresh_token_row(jti, |r| consistent(r) && active(r))
        .await?;
    let Some(record) = record.filter(consistent) else {
        return Ok(Err(INVALID_REFRESH));
    };
    if !active(&record) {
        return Ok(Err(NOT_ACTIVE));
    }
    Ok(Ok(record))
}

/// A token without a numeric `exp`, or whose `exp` has come, is expired.
pub(crate) fn expired(claims: &Map<String, Value>, now: i64) -> bool {
    claim_i64(claims, "exp").is_none_or(|exp| exp <= now)
}

/// An enabled openid-connect client of the realm.
pub(crate) fn live_client<'s>(ctx: &'s Ctx, client_id: &str) -> Option<&'s Client> {
    ctx.snapshot
        .client(client_id)
        .filter(|c| c.enabled && c.protocol == "openid-connect")
}

/// The enabled user with this id.
pub(crate) async fn live_user(ctx: &Ctx, user_id: &str) -> Result<Option<User>, OAuthError> {
    let user = ctx
        .state
        .store()
        .find_user_by_id(&ctx.snapshot.realm.id, user_id)
        .await?;
    Ok(user.filter(|u| u.enabled))
}

/// The session, if it exists, belongs to the user and realm, is alive now and is not older
/// than the user's `notBefore`.
pub(crate) async fn live_session(
    ctx: &Ctx,
    session_id: &str,
    user: &User,
) -> Result<Option<UserSession>, OAuthError> {
    Ok(bearer::live_session(&ctx.state, &ctx.snapshot, user, session_id).await?)
}
