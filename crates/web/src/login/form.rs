//! What a page's form carries to the next step, signed into a form token bound to the browser's
//! form cookie (see [`crate::csrf`]). Any page of any crate may use these: a form's purpose
//! (`login`, `consent`, a crate's own) keeps a token made for one form from being posted to
//! another.

use axum::http::{HeaderMap, HeaderValue};
use portcullis_core::secrets::new_secret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{LoginError, RealmCtx};
use crate::csrf::{
    CsrfError, FORM_COOKIE, FormTokenSpec, sign_form_token, usable_nonce, verify_form_token,
};
use crate::session::read_cookie;

/// The login flow's own form purposes. The login form's token also starts a brokered login.
pub const LOGIN: &str = "login";
pub(crate) const CONSENT: &str = "consent";
pub(crate) const UPDATE_PASSWORD: &str = "update-password";

/// The browser's form nonce: from its cookie, or fresh (and then to be set).
#[derive(Debug, Clone)]
pub struct FormNonce {
    value: String,
    fresh: bool,
}

impl FormNonce {
    /// The nonce of the request's form cookie, or a fresh one. Reusing it lets a user keep
    /// several login tabs open.
    pub fn of(headers: &HeaderMap) -> Self {
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
    pub fn cookie(&self, ctx: &RealmCtx) -> Result<Option<HeaderValue>, LoginError> {
        if !self.fresh {
            return Ok(None);
        }
        ctx.cookies
            .set(FORM_COOKIE, &self.value)
            .map(Some)
            .ok_or(LoginError::Cookie)
    }
}

/// Signs a form token for `purpose` carrying `payload`, bound to `nonce`, usable for the realm's
/// form lifetime.
pub fn seal<T: Serialize>(
    ctx: &RealmCtx,
    purpose: &str,
    nonce: &FormNonce,
    payload: &T,
) -> Result<String, LoginError> {
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
pub enum Checked<T> {
    Valid(T),
    /// Authentic and from this browser, but stale: the step may be restarted with it.
    Expired(T),
    /// Missing, forged, for another form or another browser.
    Invalid(CsrfError),
}

/// Checks a posted form token for `purpose` against the request's form cookie.
pub fn check<T: DeserializeOwned>(
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
        Err(CsrfError::Expired { payload }) => match decode(payload) {
            Ok(value) => Checked::Expired(value),
            Err(e) => Checked::Invalid(e),
        },
        Err(e) => Checked::Invalid(e),
    }
}
