//! Who is signed in: the browser's live SSO session of the realm, and starting the realm's
//! login for a browser without one.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::model::RealmSnapshot;
use portcullis_core::resolve::ResolvedUser;
use portcullis_core::secrets::hash_secret;
use portcullis_store::UserSession;
use portcullis_web::csrf::usable_nonce;
use portcullis_web::session::{SESSION_COOKIE, read_cookie, session_is_live};
use portcullis_web::{AppState, WebError, templates};

/// Why the signed-in user could not be found.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Web(#[from] WebError),
    #[error("storage: {0}")]
    Store(#[from] portcullis_store::StoreError),
}

/// A live SSO session and its (enabled, set-up) user.
pub struct LiveSession {
    pub session: UserSession,
    pub user: Arc<ResolvedUser>,
}

/// The browser's SSO session in the realm, if it is live and its user still exists, is
/// enabled, set up and not signed out since.
pub async fn current(
    state: &AppState,
    snapshot: &RealmSnapshot,
    headers: &HeaderMap,
) -> Result<Option<LiveSession>, SignInError> {
    let Some(secret) = usable_nonce(read_cookie(headers, SESSION_COOKIE)) else {
        return Ok(None);
    };
    let session = state
        .store()
        .find_user_session(&hash_secret(secret))
        .await?
        .filter(|s| s.realm_id == snapshot.realm.id)
        .filter(|s| session_is_live(s, &snapshot.realm, state.now()));
    let Some(session) = session else {
        return Ok(None);
    };
    let user = state
        .resolve_user_by_id(snapshot, &session.user_id)
        .await?
        .filter(|user| session.created_at >= user.not_before && user.is_set_up());
    Ok(user.map(|user| LiveSession { session, user }))
}

/// A browser without a session: the realm's login, coming back to `page`.
pub async fn begin(
    _state: &AppState,
    snapshot: &RealmSnapshot,
    _headers: &HeaderMap,
    _page: &str,
) -> Result<Response, SignInError> {
    let realm = &snapshot.realm;
    Ok(templates::error_page(
        StatusCode::UNAUTHORIZED,
        Some(realm.display_name.as_deref().unwrap_or(&realm.name)),
        "Sign in",
        "Sign in to an application of this realm first, then come back.",
        "account console without a session",
    ))
}
