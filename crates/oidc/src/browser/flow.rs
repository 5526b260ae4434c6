//! What a page's form carries to the next step, signed into a form token bound to the browser's
//! form cookie (see [`portcullis_web::csrf`]).

use axum::http::{HeaderMap, HeaderValue};
use portcullis_web::csrf::{
    self, CsrfError, FORM_COOKIE, FormTokenSpec, sign_form_token, usable_nonce, verify_form_token,
};
use portcullis_web::session::read_cookie;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::request::AuthRequest;
use super::{BrowserError, RealmCtx};
use crate::tokens::new_secret;

/// Form purposes: a token made for one form is refused by every other.
pub(crate) const LOGIN: &str = "login";
pub(crate) const CONSENT: &str = "consent";
pub(crate) const LOGOUT: &str = "logout";
pub(crate) const DEVICE_CODE: &str = "device-code";
pub(crate) const UPDATE_PASSWORD: &str = "update-password";

/// What the user is signing in for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Pending {
    /// An authorization request, validated.
    Authorize { request: Box<AuthRequest> },
    /// Approving a device by its (normalised) user code.
    Device { user_code: String },
}

/// The consent form's state: what is pending, for which signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConsentState {
    pub pending: Pending,
    /// The session row id (the hash of the cookie secret).
    pub session_id: String,
    pub user_id: String,
}

/// The logout confirmation's state: where to go afterwards, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogoutState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// The browser's form nonce: from its cookie, or fresh (and then to be set).
#[derive(Debug, Clone)]
pub(crate) struct FormNonce {
    value: String,
    fresh: bool,
}

impl FormNonce {
    /// The nonce of the request's form cookie, or a fresh one. Reusing it lets a user keep
    /// several login tabs open.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match usable_nonce(read_cookie(headers, FORM_COOKIE)) {
            Some(value) => Self {
                value: value.to_string(),
                fresh: false,
            },
            None => Self {
                value: new_secret(),
                fresh: true,
            },
        }
    }

    /// The `Set-Cookie` header a page must carry when the nonce is fresh.
    pub(crate) fn cookie(&self, ctx: &RealmCtx) -> Result<Option<HeaderValue>, BrowserError> {
        if !self.fresh {
            return Ok(None);
        }
        ctx.cookies
            .set(FORM_COOKIE, &self.value)
            .map(Some)
            .ok_or(BrowserError::Cookie)
    }
}

/// Signs a form token for `purpose` carrying `payload`.
pub(crate) fn sign<T: Serialize>(
    ctx: &RealmCtx,
    purpose: &str,
    nonce: &FormNonce,
    payload: &T,
) -> Result<String, BrowserError> {
    let spec = FormTokenSpec {
        issuer: &ctx.issuer,
        purpose,
    };
    let payload = serde_json::to_value(payload)?;
    Ok(sign_form_token(
        &ctx.snapshot.keys,
        spec,
        &nonce.value,
        ctx.now,
        ctx.form_lifetime(),
        &payload,
    )?)
}

/// A posted form token, checked.
#[derive(Debug)]
pub(crate) enum Checked<T> {
    Valid(T),
    /// Authentic and from this browser, but stale: the step may be restarted with it.
    Expired(T),
    /// Missing, forged, for another form or another browser.
    Invalid(CsrfError),
}

/// Checks a posted form token for `purpose` against the request's form cookie.
pub(crate) fn check<T: DeserializeOwned>(
    ctx: &RealmCtx,
    purpose: &str,
    token: Option<&str>,
    headers: &HeaderMap,
) -> Checked<T> {
    let spec = FormTokenSpec {
        issuer: &ctx.issuer,
        purpose,
    };
    let nonce = read_cookie(headers, FORM_COOKIE);
    let decode = |payload| serde_json::from_value::<T>(payload).map_err(|_| CsrfError::Malformed);
    match verify_form_token(&ctx.snapshot.keys, spec, token, nonce, ctx.now) {
        Ok(payload) => match decode(payload) {
            Ok(value) => Checked::Valid(value),
            Err(e) => Checked::Invalid(e),
        },
        Err(csrf::CsrfError::Expired { payload }) => match decode(payload) {
            Ok(value) => Checked::Expired(value),
            Err(e) => Checked::Invalid(e),
        },
        Err(e) => Checked::Invalid(e),
    }
}
