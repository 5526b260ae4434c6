//! CSRF protection and pending-flow state for browser forms, without server-side storage.
//!
//! A page's form carries a *form token*: a JWS signed with the realm's key that holds what the
//! next step needs (the pending authorization request, for instance), a purpose, an expiry, and
//! a binding to a random nonce kept in an `HttpOnly` cookie (double submit). A post is accepted
//! only when the token verifies, is for this purpose, is unexpired and its binding matches the
//! cookie sent with the post. An attacker can read neither the victim's cookie nor a page
//! rendered for it, so cannot forge a post (login CSRF included); and because realm keys live
//! in the database, any instance can check a token another one issued.
//!
//! Tokens are signed, not encrypted: they only hold what the browser sent or may see.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::keys::{Algorithm, KeyError, SigningKey};
use serde_json::{Value, json};

/// The cookie holding the browser's form nonce.
pub const FORM_COOKIE: &str = "PORTCULLIS_FORM";

/// The `typ` claim of form tokens, which no access, refresh or ID token has.
const TOKEN_TYPE: &str = "Form";

#[derive(Debug, thiserror::Error)]
pub enum CsrfError {
    #[error("the realm has no signing key")]
    NoKey,
    #[error("signing the form token: {0}")]
    Sign(#[from] KeyError),
    #[error("the form token is missing")]
    Missing,
    #[error("the form token is malformed")]
    Malformed,
    /// Not a token of one of the realm's keys (the one JWS verifier said no).
    #[error("the form token does not verify")]
    BadSignature,
    #[error("the form token is not for this realm or step")]
    WrongPurpose,
    #[error("the form cookie is missing")]
    NoCookie,
    #[error("the form token does not match the form cookie")]
    Mismatch,
    /// Authentic and bound to this browser, but too old: the caller may restart the step with
    /// the payload.
    #[error("the form token expired")]
    Expired { payload: Value },
}

/// What a form token says, besides its payload.
#[derive(Debug, Clone, Copy)]
pub struct FormTokenSpec<'a> {
    /// The realm's issuer: tokens of one realm are worthless in another.
    pub issuer: &'a str,
    /// Which form this is for (`login`, `consent`, ...): a token for one step cannot be posted
    /// to another.
    pub purpose: &'a str,
}

/// Signs a form token carrying `payload`, bound to the browser's cookie `nonce`, valid for
/// `lifetime` seconds. ES256 keys are preferred: their signatures are the cheapest.
pub fn sign_form_token(
    keys: &[Arc<SigningKey>],
    spec: FormTokenSpec<'_>,
    nonce: &str,
    now: i64,
    lifetime: i64,
    payload: &Value,
) -> Result<String, CsrfError> {
    let key = keys
        .iter()
        .find(|k| k.algorithm() == Algorithm::Es256)
        .or_else(|| keys.first())
        .ok_or(CsrfError::NoKey)?;
    let header = json!({
        "alg": key.algorithm().as_str(),
        "typ": "JWT",
        "kid": key.thumbprint_kid(),
    });
    let claims = json!({
        "typ": TOKEN_TYPE,
        "iss": spec.issuer,
        "pur": spec.purpose,
        "iat": now,
        "exp": now.saturating_add(lifetime),
        "bnd": binding(nonce),
        "dat": payload,
    });
    Ok(key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())?)
}

/// Checks a posted form token against the browser's cookie nonce and returns its payload.
pub fn verify_form_token(
    keys: &[Arc<SigningKey>],
    spec: FormTokenSpec<'_>,
    token: Option<&str>,
    cookie_nonce: Option<&str>,
    now: i64,
) -> Result<Value, CsrfError> {
    let token = token.filter(|t| !t.is_empty()).ok_or(CsrfError::Missing)?;
    let mut claims = portcullis_core::jws::verify(keys, token).ok_or(CsrfError::BadSignature)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("typ") != Some(TOKEN_TYPE)
        || text("iss") != Some(spec.issuer)
        || text("pur") != Some(spec.purpose)
    {
        return Err(CsrfError::WrongPurpose);
    }
    let nonce = cookie_nonce.ok_or(CsrfError::NoCookie)?;
    let bound = claims
        .get("bnd")
        .and_then(Value::as_str)
        .ok_or(CsrfError::Malformed)?;
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        bound.as_bytes(),
        binding(nonce).as_bytes(),
    )
    .is_err()
    {
        return Err(CsrfError::Mismatch);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(CsrfError::Malformed)?;
    let payload = claims.remove("dat").unwrap_or(Value::Null);
    if now >= exp {
        return Err(CsrfError::Expired { payload });
    }
    Ok(payload)
}

/// A nonce is acceptable from a cookie only if it looks like one we made (base64url, at least
/// 128 bits); anything else is replaced with a fresh one.
pub fn usable_nonce(value: Option<&str>) -> Option<&str> {
    value.filter(|v| {
        (22..=128).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// What the token holds instead of the nonce itself: the nonce never appears in a page, so a
/// leaked page (caches, screenshots, logs) does not reveal the cookie.
fn binding(nonce: &str) -> String {
    let mut input = b"portcullis-form-binding:".to_vec();
    input.extend_from_slice(nonce.as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::LazyLock;

    use portcullis_core::keys::KeyMaterial;

    use super::*;

    const NOW: i64 = 1_800_000_000;
    const NONCE: &str = "bm9uY2Utb2YtdGhlLWJyb3dzZXItMTIzNDU2Nzg5MA";
    const SPEC: FormTokenSpec<'static> = FormTokenSpec {
        issuer: "https://id.test/realms/a",
        purpose: "login",
    };

    fn key(alg: Algorithm) -> Arc<SigningKey> {
        let material = KeyMaterial::generate(alg, "test", NOW).unwrap();
        Arc::new(SigningKey::from_material(&material).unwrap())
    }

    static ES: LazyLock<Arc<SigningKey>> = LazyLock::new(|| key(Algorithm::Es256));
    static RS: LazyLock<Arc<SigningKey>> = LazyLock::new(|| key(Algorithm::Rs256));
    static OTHER: LazyLock<Arc<SigningKey>> = LazyLock::new(|| key(Algorithm::Es256));

    fn keys() -> Vec<Arc<SigningKey>> {
        vec![RS.clone(), ES.clone()]
    }

    fn token(spec: FormTokenSpec<'_>, nonce: &str, lifetime: i64) -> String {
        sign_form_token(
            &keys(),
            spec,
            nonce,
            NOW,
            lifetime,
            &json!({"client": "app"}),
        )
        .unwrap()
    }

    #[test]
    fn a_valid_token_returns_its_payload_and_prefers_es256() {
        let t = token(SPEC, NONCE, 60);
        let header = URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], "ES256");
        let payload = verify_form_token(&keys(), SPEC, Some(&t), Some(NONCE), NOW + 59).unwrap();
        assert_eq!(payload, json!({"client": "app"}));
        assert!(!t.contains(NONCE));
    }

    #[test]
    fn rs256_only_realms_work_too() {
        let rs = vec![RS.clone()];
        let t = sign_form_token(&rs, SPEC, NONCE, NOW, 60, &json!(1)).unwrap();
        assert_eq!(
            verify_form_token(&rs, SPEC, Some(&t), Some(NONCE), NOW).unwrap(),
            json!(1)
        );
        assert!(matches!(
            sign_form_token(&[], SPEC, NONCE, NOW, 60, &json!(1)),
            Err(CsrfError::NoKey)
        ));
    }

    #[test]
    fn rejections() {
        let good = token(SPEC, NONCE, 60);
        let other_purpose = token(
            FormTokenSpec {
                purpose: "consent",
                ..SPEC
            },
            NONCE,
            60,
        );
        let other_realm = token(
            FormTokenSpec {
                issuer: "https://id.test/realms/b",
                ..SPEC
            },
            NONCE,
            60,
        );
        let foreign = sign_form_token(
            std::slice::from_ref(&*OTHER),
            SPEC,
            NONCE,
            NOW,
            60,
            &json!({}),
        )
        .unwrap();
        let (head, rest) = good.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();
        let forged_claims = URL_SAFE_NO_PAD.encode(
            json!({"typ": "Form", "iss": SPEC.issuer, "pur": "login", "iat": NOW,
                   "exp": NOW + 9999, "bnd": binding(NONCE), "dat": {"client": "evil"}})
            .to_string(),
        );
        let tampered = format!("{head}.{forged_claims}.{sig}");
        let other_nonce = "b3RoZXItbm9uY2Utb2YtYW5vdGhlci1icm93c2VyMTI";
        type Check = fn(&CsrfError) -> bool;
        /// (name, token, cookie nonce, now, expected error)
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, i64, Check);
        let cases: Vec<Case<'_>> = vec![
            ("missing", None, Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::Missing)
            }),
            ("empty", Some(""), Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::Missing)
            }),
            ("garbage", Some("a.b"), Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::BadSignature)
            }),
            ("tampered", Some(&tampered), Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::BadSignature)
            }),
            ("foreign key", Some(&foreign), Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::BadSignature)
            }),
            (
                "other purpose",
                Some(&other_purpose),
                Some(NONCE),
                NOW,
                |e| matches!(e, CsrfError::WrongPurpose),
            ),
            ("other realm", Some(&other_realm), Some(NONCE), NOW, |e| {
                matches!(e, CsrfError::WrongPurpose)
            }),
            ("no cookie", Some(&good), None, NOW, |e| {
                matches!(e, CsrfError::NoCookie)
            }),
            ("other cookie", Some(&good), Some(other_nonce), NOW, |e| {
                matches!(e, CsrfError::Mismatch)
            }),
            (
                "expired",
                Some(&good),
                Some(NONCE),
                NOW + 60,
                |e| matches!(e, CsrfError::Expired { payload } if payload["client"] == "app"),
            ),
        ];
        for (name, token, nonce, now, check) in cases {
            let err = verify_form_token(&keys(), SPEC, token, nonce, now).unwrap_err();
            assert!(check(&err), "{name}: {err:?}");
        }
    }

    #[test]
    fn usable_nonces() {
        for (value, ok) in [
            (Some(NONCE), true),
            (Some("short"), false),
            (Some("has space in it and is long enough ok"), false),
            (Some("has;semicolon-and-is-long-enough-yes"), false),
            (None, false),
        ] {
            assert_eq!(usable_nonce(value).is_some(), ok, "{value:?}");
        }
    }
}
