//! The login page.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use super::continuation::Pending;
use super::form::{self, FormNonce};
use super::{LoginError, RealmCtx, with_cookies};

/// What the login form shows besides its fields.
#[derive(Debug, Default)]
pub struct LoginView {
    pub username: String,
    pub error: Option<String>,
    pub info: Option<String>,
}

/// A button on the login page that signs in elsewhere (an identity provider).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderButton {
    pub alias: String,
    pub display_name: String,
    /// Where the button goes, carrying the pending login.
    pub url: String,
}

/// The login page for a pending login, with a fresh form token; or, when the login names an
/// identity provider to use (`kc_idp_hint`), the way there.
pub fn login_page(
    ctx: &RealmCtx,
    pending: &Pending,
    headers: &HeaderMap,
    view: LoginView,
    status: StatusCode,
) -> Result<Response, LoginError> {
    if let Some(redirect) = super::broker::hinted_provider(ctx, pending, headers)? {
        return Ok(redirect);
    }
    let nonce = FormNonce::of(headers);
    let token = form::seal(ctx, form::LOGIN, &nonce, pending)?;
    let client_id = pending.hints.client_id.as_deref();
    login_page_with(ctx, &nonce, &token, client_id, view, status)
}

/// The login page with a given form token (a failed attempt re-uses the posted one).
pub(crate) fn login_page_with(
    ctx: &RealmCtx,
    nonce: &FormNonce,
    token: &str,
    client_id: Option<&str>,
    view: LoginView,
    status: StatusCode,
) -> Result<Response, LoginError> {
    let context = json!({
        "action": ctx.action_url("authenticate", token, client_id),
        "flow": token,
        "username": view.username,
        "error": view.error,
        "info": view.info,
        "providers": super::broker::provider_buttons(ctx, token),
    });
    let page = ctx.page(status, "login.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}
