//! The login and consent form posts (`login-actions/authenticate`, `login-actions/consent`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_core::resolve::ResolvedUser;
use portcullis_web::csrf::CsrfError;
use portcullis_web::{AppState, Attempt, ClientIp, LoginEvent, Sources, Verification};
use serde::Deserialize;

use super::authorize::{
    LoginView, client_gone, consent_scopes, continue_pending, issue_code, login_page,
    login_page_with, pending_client, proceed, refuse,
};
use super::flow::{self, Checked, ConsentState, FormNonce, Pending};
use super::request::ErrorResponse;
use super::response::Via;
use super::{BrowserError, RealmCtx, device, required, sso};

/// The one message for every failed login: unknown user, wrong password, disabled or locked
/// account. Telling them apart would reveal which accounts exist.
pub(crate) const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// A login refused by the rate limit, before any password was checked (answered with 429).
const TOO_MANY_ATTEMPTS: &str = "Too many failed logins. Please wait a moment and try again.";

const TIMED_OUT: &str = "Your login attempt timed out. Please sign in again.";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginForm {
    flow: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ConsentForm {
    flow: Option<String>,
    decision: Option<String>,
}

/// `POST .../login-actions/authenticate`: checks the credentials, starts the SSO session and
/// continues with consent or the code.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, BrowserError> {
    let ctx = match RealmCtx::load(&state, &path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    let Ok(Form(form)) = form else {
        return Ok(unreadable(&ctx));
    };
    let pending: Pending = match flow::check(&ctx, flow::LOGIN, form.flow.as_deref(), &headers) {
        Checked::Valid(pending) => pending,
        Checked::Expired(pending) => {
            let view = LoginView {
                username: form.username.unwrap_or_default(),
                info: Some(TIMED_OUT),
                ..LoginView::default()
            };
            return login_page(&ctx, &pending, &headers, view, StatusCode::OK);
        }
        Checked::Invalid(e) => return Ok(invalid_form(&ctx, &e)),
    };
    if let Pending::Authorize { request } = &pending
        && pending_client(&ctx, request).is_none()
    {
        return Ok(client_gone(&ctx));
    }
    let username = form.username.unwrap_or_default().trim().to_string();
    let password = form.password.unwrap_or_default();
    let check = if username.is_empty() || password.is_empty() {
        Verification::Refused
    } else {
        ctx.state
            .authenticate(Attempt {
                realm: &ctx.snapshot,
                username: &username,
                secret: &password,
                client: ip,
                user_agent: None,
                sources: Sources::PASSWORD,
            })
            .await?
    };
    let client_id = match &pending {
        Pending::Authorize { request } => Some(request.client_id.clone()),
        Pending::Device { .. } => None,
    };
    let event = |kind, error: Option<&str>| LoginEvent {
        realm: ctx.snapshot.realm.name.clone(),
        kind,
        client_id: client_id.clone(),
        username: (!username.is_empty()).then(|| username.clone()),
        ip_address: ip.map(|ip| ip.to_string()),
        error: error.map(str::to_string),
        ..LoginEvent::default()
    };
    let (error, status) = match check {
        Verification::Verified(verified) => {
            let user = verified.user;
            return signed_in(&ctx, pending, user, &headers, event("LOGIN", None)).await;
        }
        Verification::Refused => (INVALID_CREDENTIALS, StatusCode::OK),
        Verification::RateLimited { retry_after_secs } => {
            tracing::info!(realm = %ctx.snapshot.realm.name, outcome = "rate_limited", retry_after = retry_after_secs, "login refused");
            (TOO_MANY_ATTEMPTS, StatusCode::TOO_MANY_REQUESTS)
        }
    };
    let reason = match status {
        StatusCode::OK => "invalid_user_credentials",
        _ => "too_many_attempts",
    };
    ctx.state.record_event(event("LOGIN_ERROR", Some(reason)));
    if status == StatusCode::OK {
        tracing::info!(realm = %ctx.snapshot.realm.name, outcome = "invalid_credentials", "login failed");
    }
    let view = LoginView {
        username,
        error: Some(error),
        ..LoginView::default()
    };
    let token = form.flow.unwrap_or_default();
    let nonce = FormNonce::of(&headers);
    login_page_with(&ctx, &nonce, &token, view, status)
}

/// The password was right: start the SSO session and go on with what the login was for.
async fn signed_in(
    ctx: &RealmCtx,
    pending: Pending,
    user: Arc<ResolvedUser>,
    headers: &HeaderMap,
    mut event: LoginEvent,
) -> Result<Response, BrowserError> {
    if !user.is_set_up() {
        return required::start(ctx, pending, &user, headers);
    }
    let previous = sso::cookie_session(ctx, headers).await?;
    let (live, cookies) = sso::start(ctx, user, previous.as_ref()).await?;
    tracing::info!(realm = %ctx.snapshot.realm.name, user = %live.user.id, "login succeeded");
    event.user_id = Some(live.user.id.clone());
    event.session_id = Some(live.session.id.clone());
    ctx.state.record_event(event);
    continue_pending(ctx, pending, &live, headers, cookies).await
}

/// `POST .../login-actions/consent`: the user's answer to a consent or device approval page.
pub(crate) async fn consent(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<ConsentForm>, FormRejection>,
) -> Result<Response, BrowserError> {
    let ctx = match RealmCtx::load(&state, &path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    let Ok(Form(form)) = form else {
        return Ok(unreadable(&ctx));
    };
    let consent: ConsentState =
        match flow::check(&ctx, flow::CONSENT, form.flow.as_deref(), &headers) {
            Checked::Valid(consent) => consent,
            Checked::Expired(consent) => return resume(&ctx, consent.pending, &headers).await,
            Checked::Invalid(e) => return Ok(invalid_form(&ctx, &e)),
        };
    let accept = match form.decision.as_deref() {
        Some("accept") => true,
        Some("deny") => false,
        _ => return Ok(unreadable(&ctx)),
    };
    // The page was shown to one session; if the browser has since logged out or in as someone
    // else, start over rather than act for the wrong user.
    let live = sso::current(&ctx, &headers)
        .await?
        .filter(|live| live.session.id == consent.session_id && live.user.id == consent.user_id);
    let Some(live) = live else {
        return resume(&ctx, consent.pending, &headers).await;
    };
    match consent.pending {
        Pending::Authorize { request } => {
            let Some(client) = pending_client(&ctx, &request) else {
                return Ok(client_gone(&ctx));
            };
            if !accept {
                let denied = ErrorResponse {
                    destination: request.destination(),
                    error: "access_denied",
                    description: "The user denied access".into(),
                };
                return Ok(refuse(&ctx, &denied, Via::Post));
            }
            let scopes = consent_scopes(&ctx, client, &request.scope, &live);
            let realm_id = &ctx.snapshot.realm.id;
            ctx.state
                .store()
                .grant_scopes(realm_id, &live.user.id, &client.client_id, &scopes, ctx.now)
                .await?;
            issue_code(&ctx, &request, &live, Via::Post, []).await
        }
        Pending::Device { user_code } => device::decide(&ctx, &user_code, &live, accept).await,
    }
}

/// Starts a pending step again from the top (its page expired, or the session changed).
async fn resume(
    ctx: &RealmCtx,
    pending: Pending,
    headers: &HeaderMap,
) -> Result<Response, BrowserError> {
    match pending {
        Pending::Authorize { request } => proceed(ctx, *request, headers, Via::Post).await,
        Pending::Device { user_code } => device::continue_with_code(ctx, &user_code, headers).await,
    }
}

/// A post without a valid form token for this browser: a forged cross-site post, a form from
/// another browser, or a tampered page. Nothing happens.
pub(crate) fn invalid_form(ctx: &RealmCtx, error: &CsrfError) -> Response {
    ctx.error_page(
        StatusCode::BAD_REQUEST,
        "This form is not valid any more. Please go back to the application and try again.",
        &format!("rejected form post: {error}"),
    )
}

pub(crate) fn unreadable(ctx: &RealmCtx) -> Response {
    ctx.error_page(
        StatusCode::BAD_REQUEST,
        "The form could not be read.",
        "unreadable form post",
    )
}
