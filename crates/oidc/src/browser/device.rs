//! The device verification page (RFC 8628 §3.3): the user types the code their device shows,
//! signs in if needed, and approves or denies the device.

use std::collections::HashMap;

use async_trait::async_trait;
use axum::Form;
use axum::extract::Query;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_store::{DeviceCode, DeviceCodeStatus};
use portcullis_web::login::{
    self, Checked, ConsentView, Continuation, FormNonce, LiveSession, LoginError, LoginView,
    Pending, RealmCtx, current_session, login_page, with_cookies,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::consent::{client_gone, consent_scopes, scope_labels};

/// The code form's purpose (see [`login::seal`]).
const DEVICE_CODE: &str = "device-code";

const INVALID_CODE: &str = "Invalid or expired code. Please check the code on your device.";
const CODE_TIMED_OUT: &str = "The page timed out. Please enter the code again.";

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DeviceForm {
    flow: Option<String>,
    /// Keycloak's field name.
    device_user_code: Option<String>,
    user_code: Option<String>,
}

/// `GET .../device` (under the realm and under the protocol): the code form, prefilled from
/// `user_code` (the `verification_uri_complete` link).
pub(crate) async fn page(
    ctx: RealmCtx,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, LoginError> {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let prefill = query
        .get("user_code")
        .map(|c| display_code(c))
        .unwrap_or_default();
    code_form(&ctx, &headers, &prefill, None, StatusCode::OK)
}

/// `POST .../login-actions/device`: the code the user typed.
pub(crate) async fn submit(
    ctx: RealmCtx,
    headers: HeaderMap,
    form: Result<Form<DeviceForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let typed = form.device_user_code.or(form.user_code).unwrap_or_default();
    match login::check::<()>(&ctx, DEVICE_CODE, form.flow.as_deref(), &headers) {
        Checked::Valid(()) => {}
        Checked::Expired(()) => {
            return code_form(&ctx, &headers, &typed, Some(CODE_TIMED_OUT), StatusCode::OK);
        }
        Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
    }
    continue_with_code(&ctx, &normalise_user_code(&typed), &headers).await
}

/// With a valid code: the approval page if the browser is signed in, else the login page
/// (which comes back to the approval page).
async fn continue_with_code(
    ctx: &RealmCtx,
    user_code: &str,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    if find_pending(ctx, user_code).await?.is_none() {
        let shown = display_code(user_code);
        return code_form(
            ctx,
            headers,
            &shown,
            Some(INVALID_CODE),
            StatusCode::BAD_REQUEST,
        );
    }
    match current_session(ctx, headers).await? {
        Some(live) => approval_page(ctx, user_code, &live, headers).await,
        None => {
            let pending = pending(user_code)?;
            login_page(ctx, &pending, headers, LoginView::default(), StatusCode::OK)
        }
    }
}

/// "Grant access to <client>?" for a device.
async fn approval_page(
    ctx: &RealmCtx,
    user_code: &str,
    live: &LiveSession,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    let Some(device) = find_pending(ctx, user_code).await? else {
        let shown = display_code(user_code);
        return code_form(
            ctx,
            headers,
            &shown,
            Some(INVALID_CODE),
            StatusCode::BAD_REQUEST,
        );
    };
    let Some(client) = ctx.snapshot.client(&device.client_id).filter(|c| c.enabled) else {
        return Ok(client_gone(ctx));
    };
    let view = ConsentView {
        client_id: client.client_id.clone(),
        scopes: scope_labels(&consent_scopes(ctx, client, &device.scope, live)),
        device: true,
    };
    login::consent_page(ctx, pending(user_code)?, live, headers, view)
}

/// What a device's pending login holds: the user code, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DeviceState {
    user_code: String,
}

/// The pending login of a device approval.
fn pending(user_code: &str) -> Result<Pending, LoginError> {
    let state = DeviceState {
        user_code: user_code.to_string(),
    };
    Pending::new(DeviceApproval::KIND, &state)
}

/// Finishes a login for a device: the approval page, then the answer recorded for the device's
/// next poll.
pub struct DeviceApproval;

impl DeviceApproval {
    pub const KIND: &'static str = "oidc-device";
}

#[async_trait]
impl Continuation for DeviceApproval {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    async fn resume(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: DeviceState = pending.state_as()?;
        approval_page(ctx, &state.user_code, live, headers).await
    }

    async fn decide(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        accept: bool,
        _headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: DeviceState = pending.state_as()?;
        decide(ctx, &state.user_code, live, accept).await
    }

    async fn restart(
        &self,
        ctx: &RealmCtx,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: DeviceState = pending.state_as()?;
        continue_with_code(ctx, &state.user_code, headers).await
    }
}

/// Records the user's answer for the device; its next poll gets tokens or `access_denied`.
async fn decide(
    ctx: &RealmCtx,
    user_code: &str,
    live: &LiveSession,
    accept: bool,
) -> Result<Response, LoginError> {
    let Some(device) = find_pending(ctx, user_code).await? else {
        return Ok(ctx.error_page(StatusCode::BAD_REQUEST, INVALID_CODE, "device code gone"));
    };
    let status = if accept {
        DeviceCodeStatus::Approved {
            user_id: live.user.id.clone(),
            session_id: live.session.id.clone(),
            auth_time: live.session.auth_time,
        }
    } else {
        DeviceCodeStatus::Denied
    };
    let store = ctx.state.store();
    store
        .set_device_code_status(&device.device_code_hash, &status)
        .await?;
    tracing::info!(
        realm = %ctx.snapshot.realm.name,
        client = %device.client_id,
        user = %live.user.id,
        approved = accept,
        "device authorization answered"
    );
    if accept {
        store.touch_user_session(&live.session.id, ctx.now).await?;
        Ok(ctx.message(
            StatusCode::OK,
            "Device login successful",
            "Your device is now signed in. You may close this window and return to your device.",
        ))
    } else {
        Ok(ctx.message(
            StatusCode::OK,
            "Access denied",
            "The device was not given access. You may close this window.",
        ))
    }
}

/// The device authorization for a user code, if it still waits for an answer.
async fn find_pending(ctx: &RealmCtx, user_code: &str) -> Result<Option<DeviceCode>, LoginError> {
    if user_code.is_empty() {
        return Ok(None);
    }
    let found = ctx
        .state
        .store()
        .find_device_code_by_user_code(&ctx.snapshot.realm.id, user_code)
        .await?;
    Ok(found.filter(|d| d.status == DeviceCodeStatus::Pending && d.expires_at > ctx.now))
}

/// The code entry form.
fn code_form(
    ctx: &RealmCtx,
    headers: &HeaderMap,
    user_code: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, LoginError> {
    let nonce = FormNonce::of(headers);
    let token = login::seal(ctx, DEVICE_CODE, &nonce, &())?;
    let context = json!({
        "action": ctx.action("device"),
        "flow": token,
        "user_code": user_code,
        "error": error,
    });
    let page = ctx.page(status, "device.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// User codes are compared as stored: upper case, without the dash and spaces people type.
pub(crate) fn normalise_user_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .take(64)
        .collect()
}

/// `ABCDWXYZ` shown as `ABCD-WXYZ`, as devices display it.
fn display_code(input: &str) -> String {
    let code = normalise_user_code(input);
    if code.len() == 8 && code.is_ascii() {
        format!("{}-{}", &code[..4], &code[4..])
    } else {
        code
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn user_code_normalisation() {
        for (typed, normal, shown) in [
            ("BCDF-GHJK", "BCDFGHJK", "BCDF-GHJK"),
            ("bcdf ghjk", "BCDFGHJK", "BCDF-GHJK"),
            (" bcdfghjk\n", "BCDFGHJK", "BCDF-GHJK"),
            ("b-c-d", "BCD", "BCD"),
            ("", "", ""),
        ] {
            assert_eq!(normalise_user_code(typed), normal, "{typed:?}");
            assert_eq!(display_code(typed), shown, "{typed:?}");
        }
        assert_eq!(normalise_user_code(&"x".repeat(1000)).len(), 64);
    }
}
