//! The SSO session: a database row per browser login, found through the session cookie.
//!
//! The cookie holds a 256-bit random secret; the row's id is its hash, so the sessions table
//! (and the `sid` in tokens, which is the row id) cannot be turned back into a cookie.

use std::sync::Arc;

use std::net::IpAddr;

use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::resolve::ResolvedUser;
use portcullis_core::secrets::{hash_secret, new_secret};
use portcullis_store::{SessionDevice, UserSession};

use super::{LoginError, RealmCtx};
use crate::csrf::usable_nonce;
use crate::session::{SESSION_COOKIE, read_cookie, session_is_live};

/// A usable session and its (enabled) user.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub session: UserSession,
    pub user: Arc<ResolvedUser>,
}

/// The session the request's cookie names, whatever its state (logout ends even a stale one).
pub async fn cookie_session(
    ctx: &RealmCtx,
    headers: &HeaderMap,
) -> Result<Option<UserSession>, LoginError> {
    let Some(secret) = usable_nonce(read_cookie(headers, SESSION_COOKIE)) else {
        return Ok(None);
    };
    let found = ctx
        .state
        .store()
        .find_user_session(&hash_secret(secret))
        .await?;
    Ok(found.filter(|s| s.realm_id == ctx.snapshot.realm.id))
}

/// The request's session if it is live (not ended, within the realm's idle and maximum
/// lifespans) and its user still exists and is enabled.
pub async fn current_session(
    ctx: &RealmCtx,
    headers: &HeaderMap,
) -> Result<Option<LiveSession>, LoginError> {
    match cookie_session(ctx, headers).await? {
        Some(session) => live_session(ctx, session).await,
        None => Ok(None),
    }
}

/// `session` with its user, if it is live and the user still exists and is enabled.
pub async fn live_session(
    ctx: &RealmCtx,
    session: UserSession,
) -> Result<Option<LiveSession>, LoginError> {
    if !session_is_live(&session, &ctx.snapshot.realm, ctx.now) {
        return Ok(None);
    }
    let user = ctx
        .state
        .resolve_user_by_id(&ctx.snapshot, &session.user_id)
        .await?
        // A session older than the realm's or the user's notBefore (revoked by an admin, logged
        // out by an admin, password reset) is dead even if its row was not ended, as Keycloak's
        // identity cookie is; one whose user has a required action pending must sign in again,
        // so that the action is asked for.
        .filter(|user| {
            let not_before = user.not_before.max(ctx.snapshot.realm.not_before);
            session.created_at >= not_before && user.is_set_up()
        });
    Ok(user.map(|user| LiveSession { session, user }))
}

/// Where a login comes from: the client's address and the browser's user agent, recorded with
/// the session it starts (the account console lists sessions as devices).
pub fn device_of(headers: &HeaderMap, ip: Option<IpAddr>) -> SessionDevice {
    SessionDevice {
        ip_address: ip.map(|ip| ip.to_string()),
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

/// Starts a session for a user who just authenticated from `device`, and returns it with its
/// cookies: the session cookie and keycloak-js's session-status cookie.
///
/// A session the browser already had is ended first: the new login replaces it (another user,
/// or a re-authentication for `prompt=login` or `max_age`, which moves `auth_time`). Ending it
/// also revokes its refresh tokens, so nothing issued under the old login outlives the cookie.
pub async fn start_session(
    ctx: &RealmCtx,
    user: Arc<ResolvedUser>,
    previous: Option<&UserSession>,
    device: &SessionDevice,
) -> Result<(LiveSession, Vec<HeaderValue>), LoginError> {
    let store = ctx.state.store();
    if let Some(previous) = previous.filter(|p| !p.ended) {
        store.end_user_session(&previous.id).await?;
        ctx.state.invalidate_credentials();
    }
    let secret = new_secret();
    let session = UserSession {
        id: hash_secret(&secret),
        realm_id: ctx.snapshot.realm.id.clone(),
        user_id: user.id.clone(),
        auth_time: ctx.now,
        created_at: ctx.now,
        last_seen_at: ctx.now,
        ended: false,
    };
    store.create_user_session_from(&session, device).await?;
    let cookie = ctx
        .cookies
        .set(SESSION_COOKIE, &secret)
        .ok_or(LoginError::Cookie)?;
    let status = ctx
        .cookies
        .set_script_readable(SESSION_STATUS_COOKIE, &session_status(&session.id))
        .ok_or(LoginError::Cookie)?;
    Ok((LiveSession { session, user }, vec![cookie, status]))
}

/// The `Set-Cookie` headers that remove the session cookie and the session-status cookie.
pub fn clear_session_cookies(ctx: &RealmCtx) -> Result<Vec<HeaderValue>, LoginError> {
    [SESSION_COOKIE, SESSION_STATUS_COOKIE]
        .into_iter()
        .map(|name| ctx.cookies.clear(name).ok_or(LoginError::Cookie))
        .collect()
}

/// keycloak-js's session-status cookie, Keycloak's name for it. The session iframe
/// (`login-status-iframe.html`) reads it with script and compares it with the `sid` of the
/// application's tokens, so it is not `HttpOnly`; it holds no secret, only
/// [`session_status`] of the session id (itself a hash of the cookie secret).
pub const SESSION_STATUS_COOKIE: &str = "KEYCLOAK_SESSION";

/// The session-status cookie's value for session `sid`: base64url (unpadded) of SHA-256 of the
/// `sid`, as Keycloak 26.1 and later set it and keycloak-js's iframe computes it.
pub fn session_status(sid: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, sid.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_status_is_keycloaks_hash_of_the_sid() {
        // base64url(SHA-256("")), the value keycloak-js's iframe computes for an empty sid.
        assert_eq!(
            session_status(""),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_ne!(session_status("a"), session_status("b"));
    }
}
