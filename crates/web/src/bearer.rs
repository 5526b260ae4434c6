//! The one access-token validator. Every bearer check (userinfo, introspection, the admin API,
//! the consoles) goes through [`validate_access_token`], so a token that any of the ways of
//! ending it has ended is refused everywhere at once:
//!
//! - the signature, by a key of the issuing realm, through the one JWS verifier
//!   ([`portcullis_core::jws`]);
//! - `iss` is that realm's issuer, byte for byte, and the realm is enabled;
//! - `typ` is `Bearer` (not an ID, refresh or form token);
//! - `exp` has not come and `nbf`, if any, has;
//! - the client it was issued to (`azp`) exists, is enabled and speaks OpenID Connect;
//! - it was not revoked (RFC 7009, by `jti`, or with its client session);
//! - its user exists and is enabled, and the token is not older than the realm's, the client's
//!   or the user's `notBefore` ([`not_before::is_stale`]; admin logout, password reset,
//!   disabling, an admin's revocation of every token of the realm or client);
//! - the SSO session it belongs to (`sid`), if any, is alive and not older than `notBefore`.
//!
//! Every check reads the revocation list and the user, so a change made on any instance counts
//! on the next request. The session row may come from the state's epoch cache
//! ([`AppState::user_session`]): every way of ending a session moves the cache epoch on every
//! instance, so that counts at once too.

use std::sync::Arc;

use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::{jws, not_before};
use portcullis_store::UserSession;
use serde_json::{Map, Value};

use crate::{AppState, WebError};

/// The `typ` of access tokens.
pub const TYP_BEARER: &str = "Bearer";
/// The only protocol whose clients get access tokens we validate here.
const OPENID_CONNECT: &str = "openid-connect";

/// Why a token is refused, in Keycloak's words (shown in `error_description`s and logs).
pub type Invalid = &'static str;

pub const VERIFICATION_FAILED: Invalid = "Token verification failed";
pub const NOT_ACTIVE: Invalid = "Token is not active";
pub const STALE: Invalid = "Stale token";
pub const SESSION_NOT_ACTIVE: Invalid = "Session not active";
pub const USER_GONE: Invalid = "User not found or disabled";
pub const CLIENT_GONE: Invalid = "Client not found or disabled";
const NOT_AN_ACCESS_TOKEN: Invalid = "Not an access token";
const FOREIGN_ISSUER: Invalid = "Invalid token issuer";

/// A verified, live access token.
#[derive(Debug, Clone)]
pub struct ValidAccess {
    pub claims: Map<String, Value>,
    /// The realm that issued it.
    pub realm: Arc<RealmSnapshot>,
    /// The `clientId` it was issued to (`azp`).
    pub client_id: String,
    pub user: User,
    /// The SSO session it belongs to, when it names one.
    pub session: Option<UserSession>,
}

impl ValidAccess {
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// Validates an access token that `realm` must have issued.
pub async fn validate_access_token(
    state: &AppState,
    realm: &Arc<RealmSnapshot>,
    token: &str,
) -> Result<Result<ValidAccess, Invalid>, WebError> {
    let Some(claims) = jws::verify(&realm.keys, token) else {
        return Ok(Err(VERIFICATION_FAILED));
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_i64);
    if text("iss") != Some(state.issuer(&realm.realm.name).as_str()) || !realm.realm.enabled {
        return Ok(Err(FOREIGN_ISSUER));
    }
    if text("typ") != Some(TYP_BEARER) {
        return Ok(Err(NOT_AN_ACCESS_TOKEN));
    }
    let now = state.now();
    if number("exp").is_none_or(|exp| exp <= now) || number("nbf").is_some_and(|nbf| nbf > now) {
        return Ok(Err(NOT_ACTIVE));
    }
    let client = text("azp")
        .and_then(|azp| realm.client(azp))
        .filter(|c| c.enabled && c.protocol == OPENID_CONNECT);
    let Some(client) = client else {
        return Ok(Err(CLIENT_GONE));
    };
    let (Some(sub), Some(jti)) = (text("sub"), text("jti")) else {
        return Ok(Err(VERIFICATION_FAILED));
    };
    // Every token we sign has `iat`; without one it counts as older than anything.
    let issued_at = number("iat").unwrap_or(i64::MIN);
    let sid = text("sid");
    let client_session = sid.map(|sid| (sid, client.id.as_str()));
    let store = state.store();
    if store
        .is_access_token_revoked(jti, client_session, issued_at)
        .await?
    {
        return Ok(Err(NOT_ACTIVE));
    }
    let user = store.find_user_by_id(&realm.realm.id, sub).await?;
    let Some(user) = user.filter(|u| u.enabled) else {
        return Ok(Err(USER_GONE));
    };
    if not_before::is_stale(&realm.realm, Some(client), Some(&user), issued_at) {
        return Ok(Err(STALE));
    }
    let session = match sid {
        None => None,
        Some(sid) => match live_session(state, realm, &user, sid).await? {
            Some(session) => Some(session),
            None => return Ok(Err(SESSION_NOT_ACTIVE)),
        },
    };
    let client_id = client.client_id.clone();
    Ok(Ok(ValidAccess {
        claims,
        realm: realm.clone(),
        client_id,
        user,
        session,
    }))
}

/// Validates an access token of whichever of our realms its `iss` names (the admin API takes
/// tokens of any realm; the realm's own keys then decide).
pub async fn validate_access_token_of_any_realm(
    state: &AppState,
    token: &str,
) -> Result<Result<ValidAccess, Invalid>, WebError> {
    let Some(name) = jws::unverified_claims(token)
        .as_ref()
        .and_then(|claims| claims.get("iss")?.as_str().map(str::to_string))
        .and_then(|iss| issuer_realm(state, &iss))
    else {
        return Ok(Err(FOREIGN_ISSUER));
    };
    let Some(realm) = state.realm(&name).await? else {
        return Ok(Err(FOREIGN_ISSUER));
    };
    validate_access_token(state, &realm, token).await
}

/// The user's SSO session `id`, if it belongs to the user and realm, is alive now and is not
/// older than the user's `notBefore`.
pub async fn live_session(
    state: &AppState,
    realm: &RealmSnapshot,
    user: &User,
    id: &str,
) -> Result<Option<UserSession>, WebError> {
    let now = state.now();
    let live = |s: &UserSession| {
        s.user_id == user.id
            && s.realm_id == realm.realm.id
            && !user.revoked_before(s.created_at)
            && realm
                .realm
                .session_alive(s.ended, s.created_at, s.last_seen_at, now)
    };
    Ok(state.user_session(id, live).await?.filter(live))
}

/// The realm an issuer URL names, if it is one of ours.
fn issuer_realm(state: &AppState, iss: &str) -> Option<String> {
    // `issuer("")` is `{base}{relative}/realms/`.
    let prefix = state.issuer("");
    let name = iss.strip_prefix(&prefix)?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}
