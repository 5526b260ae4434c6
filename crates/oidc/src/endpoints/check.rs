//! Is this token still good? Shared by userinfo, introspection and the refresh grant. A token
//! is good when we signed it for this realm, it has not expired, its client and user still
//! exist and are enabled, and the SSO session it belongs to (if any) is alive; refresh tokens
//! also need their database row, not revoked, and access tokens must not have been revoked
//! (by `jti`, or with their client session).

use portcullis_core::model::{Client, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_store::{RefreshTokenRecord, UserSession};
use serde_json::{Map, Value};

use super::{Ctx, OAuthError};
use crate::tokens::jwt::{
    TYP_BEARER, TYP_OFFLINE, TYP_REFRESH, claim_i64, claim_str, decode_verified,
};
use crate::tokens::mint::session_alive;

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
    pub user: User,
    pub resolved: ResolvedUser,
    /// The SSO session the grant started in, when there was one and it still exists (offline
    /// tokens outlive it; it then only tells the original `auth_time`).
    pub session: Option<UserSession>,
}

/// Why a token is not good, in Keycloak's words (the refresh grant reports them).
pub(crate) type Dead = &'static str;

pub(crate) const INVALID_REFRESH: Dead = "Invalid refresh token";
pub(crate) const NOT_ACTIVE: Dead = "Token is not active";
pub(crate) const SESSION_NOT_ACTIVE: Dead = "Session not active";
const USER_GONE: Dead = "User not found or disabled";
const CLIENT_GONE: Dead = "Client not found or disabled";

/// Verifies an access token (`typ` Bearer).
pub(crate) async fn access_token<'s>(
    ctx: &'s Ctx,
    token: &str,
) -> Result<Result<LiveAccess<'s>, Dead>, OAuthError> {
    let Some(claims) = decode_verified(&ctx.snapshot, &ctx.issuer, token) else {
        return Ok(Err("Token verification failed"));
    };
    if claim_str(&claims, "typ") != Some(TYP_BEARER) {
        return Ok(Err("Not an access token"));
    }
    if expired(&claims, ctx.now) {
        return Ok(Err(NOT_ACTIVE));
    }
    let Some(client) = claim_str(&claims, "azp").and_then(|azp| live_client(ctx, azp)) else {
        return Ok(Err(CLIENT_GONE));
    };
    let Some(sub) = claim_str(&claims, "sub") else {
        return Ok(Err("Token verification failed"));
    };
    if revoked(ctx, &claims, client).await? {
        return Ok(Err(NOT_ACTIVE));
    }
    let Some(user) = live_user(ctx, sub).await? else {
        return Ok(Err(USER_GONE));
    };
    if let Some(sid) = claim_str(&claims, "sid")
        && live_session(ctx, sid, &user.id).await?.is_none()
    {
        return Ok(Err(SESSION_NOT_ACTIVE));
    }
    let resolved = resolve_user(&ctx.snapshot, &user);
    Ok(Ok(LiveAccess {
        claims,
        client,
        user,
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
    let Some(user) = live_user(ctx, &record.user_id).await? else {
        return Ok(Err(USER_GONE));
    };
    let session = match &record.session_id {
        None => None,
        Some(sid) if offline => ctx.state.store().find_user_session(sid).await?,
        Some(sid) => match live_session(ctx, sid, &user.id).await? {
            Some(session) => Some(session),
            None => return Ok(Err(SESSION_NOT_ACTIVE)),
        },
    };
    let resolved = resolve_user(&ctx.snapshot, &user);
    Ok(Ok(LiveRefresh {
        claims,
        record,
        client,
        user,
        resolved,
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
    let Some(record) = ctx.state.store().find_refresh_token(jti).await? else {
        return Ok(Err(INVALID_REFRESH));
    };
    let consistent = record.realm_id == ctx.snapshot.realm.id
        && record.user_id == sub
        && record.client_id == azp
        && record.offline == offline;
    if !consistent {
        return Ok(Err(INVALID_REFRESH));
    }
    if record.revoked || record.expires_at <= ctx.now {
        return Ok(Err(NOT_ACTIVE));
    }
    Ok(Ok(record))
}

/// Whether an access token was revoked at the revocation endpoint: itself, or its client
/// session (a refresh token of the same client and session was revoked). One indexed lookup;
/// a token without a `jti` cannot be looked up, so it is not accepted.
async fn revoked(
    ctx: &Ctx,
    claims: &Map<String, Value>,
    client: &Client,
) -> Result<bool, OAuthError> {
    let Some(jti) = claim_str(claims, "jti") else {
        return Ok(true);
    };
    let client_session = claim_str(claims, "sid").map(|sid| (sid, client.id.as_str()));
    // Every token we sign has `iat`; without one, any revocation of its client session counts.
    let issued_at = claim_i64(claims, "iat").unwrap_or(i64::MIN);
    Ok(ctx
        .state
        .store()
        .is_access_token_revoked(jti, client_session, issued_at)
        .await?)
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

/// The session, if it exists, belongs to the user and realm, and is alive now.
pub(crate) async fn live_session(
    ctx: &Ctx,
    session_id: &str,
    user_id: &str,
) -> Result<Option<UserSession>, OAuthError> {
    let session = ctx.state.store().find_user_session(session_id).await?;
    Ok(session.filter(|s| {
        s.user_id == user_id
            && s.realm_id == ctx.snapshot.realm.id
            && session_alive(
                &ctx.snapshot.realm,
                s.ended,
                s.created_at,
                s.last_seen_at,
                ctx.now,
            )
    }))
}
