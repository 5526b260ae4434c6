//! Where the login flow hands over to identity brokering (`portcullis-broker`, which serves
//! these URLs): the login page's provider buttons, `kc_idp_hint`, and the account console's
//! request to link a provider to the signed-in user.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::continuation::Pending;
use super::form::{self, FormNonce};
use super::page::ProviderButton;
use super::{LoginError, RealmCtx, with_cookies};
use crate::session::encode_path_segment;

/// The purpose of a form token asking to link a provider to the signed-in user.
pub const LINK_REQUEST: &str = "broker-link-request";

/// What the account console's "Link" form carries: who asked (the link is refused when the
/// browser's session is someone else's by the time it is used) and where to go back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRequest {
    pub user_id: String,
    pub pending: Pending,
}

/// `{relative}/realms/{realm}/broker/{alias}/{action}`.
pub fn broker_path(ctx: &RealmCtx, alias: &str, action: &str) -> String {
    format!(
        "{}/realms/{}/broker/{}/{action}",
        ctx.state.urls().relative_path,
        encode_path_segment(&ctx.snapshot.realm.name),
        encode_path_segment(alias)
    )
}

/// The buttons of the realm's providers for the login whose form token is `token`: each starts
/// the upstream login carrying it (a form token is URL-safe: base64url parts and dots).
pub(crate) fn provider_buttons(ctx: &RealmCtx, token: &str) -> Vec<ProviderButton> {
    ctx.snapshot
        .login_providers()
        .map(|p| ProviderButton {
            alias: p.alias.clone(),
            display_name: p.label().to_string(),
            url: format!("{}?flow={token}", broker_path(ctx, &p.alias, "login")),
        })
        .collect()
}

/// With `kc_idp_hint` naming a provider that may sign users in (hidden from the login page or
/// not), the browser goes straight to it. An unknown or disabled one is ignored, as Keycloak
/// ignores it, and the login page is shown.
pub(crate) fn hinted_provider(
    ctx: &RealmCtx,
    pending: &Pending,
    headers: &HeaderMap,
) -> Result<Option<Response>, LoginError> {
    let Some(alias) = pending.hints.idp_hint.as_deref() else {
        return Ok(None);
    };
    let usable = ctx
        .snapshot
        .identity_provider(alias)
        .is_some_and(|p| p.enabled && !p.link_only);
    if !usable {
        tracing::info!(realm = %ctx.snapshot.realm.name, "kc_idp_hint names no usable identity provider");
        return Ok(None);
    }
    let nonce = FormNonce::of(headers);
    let token = form::seal(ctx, form::LOGIN, &nonce, pending)?;
    let url = format!("{}?flow={token}", broker_path(ctx, alias, "login"));
    let redirect = match HeaderValue::from_str(&url) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => return Ok(None),
    };
    Ok(Some(with_cookies(redirect, nonce.cookie(ctx)?)))
}

/// The account console's "Link" form for the provider `alias`: where it posts and its form
/// token, bound to the browser's form nonce `nonce` (whose cookie the console's page sets).
pub fn link_form(
    ctx: &RealmCtx,
    nonce: &FormNonce,
    alias: &str,
    request: &LinkRequest,
) -> Result<(String, String), LoginError> {
    let token = form::seal(ctx, LINK_REQUEST, nonce, request)?;
    Ok((broker_path(ctx, alias, "link"), token))
}
