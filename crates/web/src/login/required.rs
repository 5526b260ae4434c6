//! Required actions at login. A user with a pending `UPDATE_PASSWORD` (a temporary password set
//! by an admin or a realm file) who signs in with the right password is shown the
//! update-password page before the login finishes; the new password must pass the realm's
//! policy (and history), replaces the old one, ends every credential issued before, and only
//! then does the SSO session start. Required actions this server cannot perform (verifying an
//! e-mail, enrolling TOTP, ...) stop the login with a page saying so: the account is not fully
//! set up, as the password grant and the docker endpoint answer too.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use portcullis_core::model::UPDATE_PASSWORD;
use portcullis_core::password::PolicySubject;
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::continuation::{Continuations, Pending};
use super::form::{self, Checked, FormNonce};
use super::page::{LoginView, login_page};
use super::sso::{cookie_session, device_of, start_session};
use super::{LoginError, RealmCtx, with_cookies};
use crate::ClientIp;

/// Keycloak's texts for the update-password form.
const MISSING_PASSWORD: &str = "Please specify password.";
const PASSWORDS_DIFFER: &str = "Passwords don't match.";
const SESSION_EXPIRED: &str = "Your login attempt timed out. Please sign in again.";

/// The update-password form's state: what the login is for, and whose password it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UpdatePasswordState {
    pub pending: Pending,
    pub user_id: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct UpdatePasswordForm {
    flow: Option<String>,
    #[serde(rename = "password-new")]
    password_new: Option<String>,
    #[serde(rename = "password-confirm")]
    password_confirm: Option<String>,
}

/// After a right password: the update-password page when that is what is pending, an error
/// page for required actions this server cannot perform.
pub(crate) fn start(
    ctx: &RealmCtx,
    pending: Pending,
    user: &ResolvedUser,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    let unsupported: Vec<&str> = user
        .required_actions
        .iter()
        .map(String::as_str)
        .filter(|a| *a != UPDATE_PASSWORD)
        .collect();
    if !unsupported.is_empty() {
        tracing::info!(realm = %ctx.snapshot.realm.name, user = %user.id, actions = ?unsupported, "login stopped: required actions this server cannot perform");
        return Ok(ctx.error_page(
            StatusCode::FORBIDDEN,
            "Your account is not fully set up. Please contact your administrator.",
            &format!("unsupported required actions {unsupported:?}"),
        ));
    }
    let state = UpdatePasswordState {
        pending,
        user_id: user.id.clone(),
    };
    page(ctx, &state, headers, None, StatusCode::OK)
}

fn page(
    ctx: &RealmCtx,
    state: &UpdatePasswordState,
    headers: &HeaderMap,
    error: Option<(&str, &str)>,
    status: StatusCode,
) -> Result<Response, LoginError> {
    let nonce = FormNonce::of(headers);
    let token = form::seal(ctx, form::UPDATE_PASSWORD, &nonce, state)?;
    let context = json!({
        "action": ctx.action("required-action"),
        "flow": token,
        "error": error.map(|(message, _)| message),
        "error_field": error.map(|(_, field)| field),
    });
    let page = ctx.page(status, "update_password.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// `POST .../login-actions/required-action`: the new password.
pub(crate) async fn update_password(
    Extension(continuations): Extension<Continuations>,
    ctx: RealmCtx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<UpdatePasswordForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let pending: UpdatePasswordState =
        match form::check(&ctx, form::UPDATE_PASSWORD, form.flow.as_deref(), &headers) {
            Checked::Valid(pending) => pending,
            Checked::Expired(pending) => return sign_in_again(&ctx, &pending.pending, &headers),
            Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
        };
    // The form is good only while the user still has to change the password: once changed
    // (or the user was disabled meanwhile), posting it again changes nothing.
    let user = ctx
        .state
        .store()
        .find_user_by_id(&ctx.snapshot.realm.id, &pending.user_id)
        .await?
        .filter(|u| u.enabled && u.required_actions.iter().any(|a| a == UPDATE_PASSWORD));
    let Some(user) = user else {
        return sign_in_again(&ctx, &pending.pending, &headers);
    };
    let new = form.password_new.unwrap_or_default();
    if new.is_empty() {
        let error = Some((MISSING_PASSWORD, "password-new"));
        return page(&ctx, &pending, &headers, error, StatusCode::OK);
    }
    if form.password_confirm.as_deref() != Some(new.as_str()) {
        let error = Some((PASSWORDS_DIFFER, "password-confirm"));
        return page(&ctx, &pending, &headers, error, StatusCode::OK);
    }
    let policy = &ctx.snapshot.realm.password_policy;
    let subject = PolicySubject {
        username: &user.username,
        email: user.email.as_deref(),
    };
    let hashed = ctx
        .state
        .new_password(policy, &new, subject, Some(&user.id))
        .await?;
    let stored = match hashed {
        Ok(stored) => stored,
        Err(violation) => {
            let error = Some((violation.message.as_str(), "password-new"));
            return page(&ctx, &pending, &headers, error, StatusCode::OK);
        }
    };
    let realm_id = &ctx.snapshot.realm.id;
    ctx.state
        .store()
        .change_own_password(realm_id, &user.id, &stored, ctx.now, policy.history_depth())
        .await?;
    ctx.state
        .invalidate_user(&ctx.snapshot.realm.name, &user.id);
    tracing::info!(realm = %ctx.snapshot.realm.name, user = %user.id, "password updated at login");
    let mut user = user;
    user.required_actions.retain(|a| a != UPDATE_PASSWORD);
    user.not_before = ctx.now;
    let resolved = Arc::new(resolve_user(&ctx.snapshot, &user));
    if !resolved.is_set_up() {
        return start(&ctx, pending.pending, &resolved, &headers);
    }
    let continuation = continuations.of(&pending.pending)?;
    let previous = cookie_session(&ctx, &headers).await?;
    let device = device_of(&headers, ip);
    let (live, cookies) = start_session(&ctx, resolved, previous.as_ref(), &device).await?;
    let response = continuation
        .resume(&ctx, &live, pending.pending, &headers)
        .await?;
    Ok(with_cookies(response, cookies))
}

/// The login page again, for a stale or used update-password form.
fn sign_in_again(
    ctx: &RealmCtx,
    pending: &Pending,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    let view = LoginView {
        info: Some(SESSION_EXPIRED.into()),
        ..LoginView::default()
    };
    login_page(ctx, pending, headers, view, StatusCode::OK)
}
