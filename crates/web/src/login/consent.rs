//! The consent page ("Grant access to ...?") and its post (`login-actions/consent`). What the
//! answer does is the continuation's: a grant and a code for OIDC, an approval for a device.

use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::continuation::{Continuations, Pending};
use super::form::{self, Checked, FormNonce};
use super::sso::{LiveSession, current_session};
use super::{LoginError, RealmCtx, with_cookies};

/// The consent form's state: what is pending, for which signed-in session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ConsentState {
    pending: Pending,
    /// The session row id (the hash of the cookie secret).
    session_id: String,
    user_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConsentForm {
    flow: Option<String>,
    decision: Option<String>,
}

/// What a consent page asks.
#[derive(Debug, Clone, Default)]
pub struct ConsentView {
    /// The client asking; the page shows its name.
    pub client_id: String,
    /// What the client asks for, as the user reads it.
    pub scopes: Vec<String>,
    /// For a device: the page warns to approve only a device of one's own.
    pub device: bool,
}

/// The consent form for `pending`, for the session `live`; the answer goes to the pending
/// login's [`super::Continuation::decide`].
pub fn consent_page(
    ctx: &RealmCtx,
    pending: Pending,
    live: &LiveSession,
    headers: &HeaderMap,
    view: ConsentView,
) -> Result<Response, LoginError> {
    let client_id = view.client_id;
    let client_name = ctx
        .snapshot
        .client(&client_id)
        .and_then(|c| c.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or(client_id);
    let state = ConsentState {
        pending,
        session_id: live.session.id.clone(),
        user_id: live.user.id.clone(),
    };
    let nonce = FormNonce::of(headers);
    let token = form::seal(ctx, form::CONSENT, &nonce, &state)?;
    let context = json!({
        "action": ctx.action("consent"),
        "flow": token,
        "client_name": client_name,
        "username": live.user.username,
        "scopes": view.scopes,
        "device": view.device,
    });
    let page = ctx.page(StatusCode::OK, "consent.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// `POST .../login-actions/consent`: the user's answer to a consent or device approval page.
pub(crate) async fn consent(
    Extension(continuations): Extension<Continuations>,
    ctx: RealmCtx,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let consent: ConsentState =
        match form::check(&ctx, form::CONSENT, form.flow.as_deref(), &headers) {
            Checked::Valid(consent) => consent,
            Checked::Expired(consent) => {
                let continuation = continuations.of(&consent.pending)?;
                return continuation.restart(&ctx, consent.pending, &headers).await;
            }
            Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
        };
    let accept = match form.decision.as_deref() {
        Some("accept") => true,
        Some("deny") => false,
        _ => return Ok(ctx.unreadable()),
    };
    let continuation = continuations.of(&consent.pending)?;
    // The page was shown to one session; if the browser has since logged out or in as someone
    // else, start over rather than act for the wrong user.
    let live = current_session(&ctx, &headers)
        .await?
        .filter(|live| live.session.id == consent.session_id && live.user.id == consent.user_id);
    let Some(live) = live else {
        return continuation.restart(&ctx, consent.pending, &headers).await;
    };
    continuation
        .decide(&ctx, &live, consent.pending, accept, &headers)
        .await
}
