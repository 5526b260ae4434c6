//! The login form post (`login-actions/authenticate`).

use axum::extract::Query;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;

use super::continuation::{Continuations, Pending, finish_authenticated};
use super::form::{self, Checked, FormNonce};
use super::page::{LoginView, login_page, login_page_with};
use super::{LoginError, RealmCtx};
use crate::{Attempt, ClientIp, LoginEvent, Sources, Verification};

/// The one message for every failed login: unknown user, wrong password, disabled or locked
/// account. Telling them apart would reveal which accounts exist.
pub const INVALID_CREDENTIALS: &str = "Invalid username or password.";

/// A login refused by the rate limit, before any password was checked (answered with 429).
const TOO_MANY_ATTEMPTS: &str = "Too many failed logins. Please wait a moment and try again.";

const TIMED_OUT: &str = "Your login attempt timed out. Please sign in again.";

/// The form's state as the form's URL carries it (Keycloak's `session_code`), for posts that
/// leave out the hidden field.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ActionQuery {
    session_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LoginForm {
    flow: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// `POST .../login-actions/authenticate`: checks the credentials, starts the SSO session and
/// continues with what the login is for.
pub(crate) async fn authenticate(
    Extension(continuations): Extension<Continuations>,
    ctx: RealmCtx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    query: Result<Query<ActionQuery>, QueryRejection>,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(mut form)) = form else {
        return Ok(ctx.unreadable());
    };
    // The hidden field and the URL carry the same token; either will do. It is bound to the
    // browser's form cookie either way, which is what stops cross-site posts.
    if form.flow.as_deref().is_none_or(str::is_empty) {
        form.flow = query.ok().and_then(|Query(q)| q.session_code);
    }
    let pending: Pending = match form::check(&ctx, form::LOGIN, form.flow.as_deref(), &headers) {
        Checked::Valid(pending) => pending,
        Checked::Expired(pending) => {
            let view = LoginView {
                username: form.username.unwrap_or_default(),
                info: Some(TIMED_OUT.into()),
                ..LoginView::default()
            };
            return login_page(&ctx, &pending, &headers, view, StatusCode::OK);
        }
        Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
    };
    if let Some(page) = continuations.of(&pending)?.check(&ctx, &pending) {
        return Ok(page);
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
    let client_id = pending.hints.client_id.clone();
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
            let event = event("LOGIN", None);
            return finish_authenticated(&ctx, &continuations, &headers, user, pending, event)
                .await;
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
        error: Some(error.into()),
        ..LoginView::default()
    };
    let token = form.flow.unwrap_or_default();
    let nonce = FormNonce::of(&headers);
    let client_id = pending.hints.client_id.as_deref();
    login_page_with(&ctx, &nonce, &token, client_id, view, status)
}
