//! The account console at `{relative}/realms/{realm}/account/` (its first page is served with
//! the account REST basics, at the same path): server-rendered pages (the
//! login theme's layout) where a signed-in user manages their own account. Every page needs
//! the browser's live SSO session of the realm ([`signin`]); without one, the realm's login
//! starts and comes back to the page asked for.
//!
//! The pages are a thin adapter: every read and change is a self-service operation of
//! [`portcullis_admin::self_service`], which acts only on the signed-in user. Every form
//! carries a CSRF token bound to the browser (the login flow's form cookie) and to the SSO
//! session it was rendered for; a post without a valid one changes nothing.

mod access;
mod app_passwords;
mod format;
mod page;
mod profile;
mod security;
pub(crate) mod signin;

use axum::Router;
use axum::routing::{get, post};
use portcullis_web::AppState;

pub(crate) use page::Console;
pub(crate) use profile::show as profile_page;

/// The console's routes under `{relative}/realms/{realm}/account`.
pub fn routes(relative: &str) -> Router<AppState> {
    let base = format!("{relative}/realms/{{realm}}/account");
    let r = |path: &str| format!("{base}{path}");
    Router::new()
        .route(&r("/profile"), post(profile::save))
        .route(
            &r("/password"),
            get(security::password).post(security::change_password),
        )
        .route(&r("/linked"), get(security::linked))
        .route(&r("/linked/unlink"), post(security::unlink))
        .route(&r("/sessions"), get(security::sessions))
        .route(&r("/sessions/end"), post(security::end_session))
        .route(
            &r("/sessions/end-others"),
            post(security::end_other_sessions),
        )
        .route(&r("/docker-logins"), get(security::docker_logins))
        .route(
            &r("/docker-logins/revoke"),
            post(security::revoke_docker_login),
        )
        .route(
            &r("/app-passwords"),
            get(app_passwords::show).post(app_passwords::create),
        )
        .route(&r("/app-passwords/revoke"), post(app_passwords::revoke))
        .route(&r("/registry-access"), get(access::show))
        .route(&r("/sign-out"), post(security::sign_out))
}
