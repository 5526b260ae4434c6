//! What a login is for ([`Pending`]) and what finishes it ([`Continuation`]).

use std::sync::Arc;

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::resolve::ResolvedUser;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::page::{LoginView, login_page};
use super::sso::{LiveSession, cookie_session, current_session, device_of, start_session};
use super::{LoginError, RealmCtx, required, with_cookies};
use crate::LoginEvent;
use portcullis_store::SessionDevice;

/// What the user is signing in for, protocol-neutral: the kind of the [`Continuation`] that
/// finishes it, that continuation's own state, and hints for the pages. It travels signed in
/// the forms' tokens (see [`super::seal`]), so it holds only what the browser may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The [`Continuation::kind`] that finishes this login.
    pub kind: String,
    /// The continuation's state (an authorization request, a device's user code, a page).
    pub state: Value,
    #[serde(default)]
    pub hints: LoginHints,
}

impl Pending {
    /// A pending login of `kind` with `state`.
    pub fn new<T: Serialize>(kind: &str, state: &T) -> Result<Self, LoginError> {
        Ok(Self {
            kind: kind.to_string(),
            state: serde_json::to_value(state)?,
            hints: LoginHints::default(),
        })
    }

    #[must_use]
    pub fn with_hints(mut self, hints: LoginHints) -> Self {
        self.hints = hints;
        self
    }

    /// The state, read back as the continuation's type.
    pub fn state_as<T: DeserializeOwned>(&self) -> Result<T, LoginError> {
        Ok(serde_json::from_value(self.state.clone())?)
    }
}

/// What the login pages may know about a pending login, whatever its kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginHints {
    /// The client the login is for (login events; the consent page shows its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The username to prefill (OIDC's `login_hint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// The identity provider to go to straight away (Keycloak's `kc_idp_hint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
    /// Ask for the credentials even when the browser has a live session.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_login: bool,
}

/// Finishes what a login was for, once the user is signed in: consent and the code for an OIDC
/// authorization request, the approval page for a device, the page the account console was
/// asked for. One value per kind, registered by the binary in [`Continuations`].
#[async_trait]
pub trait Continuation: Send + Sync + 'static {
    /// The [`Pending::kind`] this continuation finishes; unique among the registered ones.
    fn kind(&self) -> &'static str;

    /// Checked before a posted password is: `Some(page)` stops the login, because what it was
    /// for is gone (a client disabled meanwhile).
    fn check(&self, _ctx: &RealmCtx, _pending: &Pending) -> Option<Response> {
        None
    }

    /// The user is signed in (just now, or with the live session `live`): finish. The login
    /// flow adds the session's cookies to the response.
    async fn resume(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError>;

    /// The user's answer on a consent page this continuation showed (see
    /// [`super::consent_page`]), for the session that saw it.
    async fn decide(
        &self,
        ctx: &RealmCtx,
        _live: &LiveSession,
        _pending: Pending,
        _accept: bool,
        _headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        Ok(ctx.error_page(
            StatusCode::BAD_REQUEST,
            "This form is not valid any more. Please go back to the application and try again.",
            "a consent answer for a login that asks for no consent",
        ))
    }

    /// Starts over from the top: the consent page expired, or the browser's session changed
    /// since it was shown. By default, the login page.
    async fn restart(
        &self,
        ctx: &RealmCtx,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let view = LoginView {
            username: pending.hints.login_hint.clone().unwrap_or_default(),
            ..LoginView::default()
        };
        login_page(ctx, &pending, headers, view, StatusCode::OK)
    }
}

/// The registered continuations, shared by the login flow's handlers through an axum
/// `Extension` (the binary adds it, as it lists the protocols).
#[derive(Clone, Default)]
pub struct Continuations(Arc<Vec<Box<dyn Continuation>>>);

impl Continuations {
    pub fn new(continuations: Vec<Box<dyn Continuation>>) -> Self {
        Self(Arc::new(continuations))
    }

    pub fn find(&self, kind: &str) -> Option<&dyn Continuation> {
        self.0.iter().map(Box::as_ref).find(|c| c.kind() == kind)
    }

    /// The continuation of `pending`; an error (a server set up wrong) when none is registered.
    pub fn of(&self, pending: &Pending) -> Result<&dyn Continuation, LoginError> {
        self.find(&pending.kind)
            .ok_or_else(|| LoginError::UnknownKind(pending.kind.clone()))
    }
}

impl std::fmt::Debug for Continuations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|c| c.kind()))
            .finish()
    }
}

/// Starts a login for `pending`: resumes at once when the browser has a live session and the
/// hints do not force a re-authentication, otherwise shows the login page.
pub async fn begin(
    ctx: &RealmCtx,
    continuations: &Continuations,
    headers: &HeaderMap,
    pending: Pending,
) -> Result<Response, LoginError> {
    let continuation = continuations.of(&pending)?;
    if let Some(page) = continuation.check(ctx, &pending) {
        return Ok(page);
    }
    if !pending.hints.force_login
        && let Some(live) = current_session(ctx, headers).await?
    {
        return continuation.resume(ctx, &live, pending, headers).await;
    }
    let view = LoginView {
        username: pending.hints.login_hint.clone().unwrap_or_default(),
        ..LoginView::default()
    };
    login_page(ctx, &pending, headers, view, StatusCode::OK)
}

/// Finishes the login of a user who just authenticated (with a password here, or elsewhere: an
/// identity provider): the required actions, then the SSO session (replacing the browser's
/// previous one), then the continuation. `event` is recorded (`LOGIN`, with the user and the
/// session filled in) once the session started.
pub async fn finish_authenticated(
    ctx: &RealmCtx,
    continuations: &Continuations,
    headers: &HeaderMap,
    user: Arc<ResolvedUser>,
    pending: Pending,
    mut event: LoginEvent,
) -> Result<Response, LoginError> {
    let continuation = continuations.of(&pending)?;
    if !user.is_set_up() {
        return required::start(ctx, pending, &user, headers);
    }
    let previous = cookie_session(ctx, headers).await?;
    let device = SessionDevice {
        ip_address: event.ip_address.clone(),
        ..device_of(headers, None)
    };
    let (live, cookies) = start_session(ctx, user, previous.as_ref(), &device).await?;
    tracing::info!(realm = %ctx.snapshot.realm.name, user = %live.user.id, "login succeeded");
    event.user_id = Some(live.user.id.clone());
    event.session_id = Some(live.session.id.clone());
    ctx.state.record_event(event);
    let response = continuation.resume(ctx, &live, pending, headers).await?;
    Ok(with_cookies(response, cookies))
}
