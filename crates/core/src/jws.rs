//! The one JWS verifier: every JWT we issued (access, refresh and ID tokens, form tokens) is
//! checked here before any of its claims is believed. A token verifies when it is a compact
//! JWS of three parts, its header names one of the given keys by `kid` (the RFC 7638
//! thumbprint the JWKS publishes) with that key's `alg`, the signature checks, and the header
//! and payload are JSON objects. What the claims must say is the caller's to check. Refresh
//! tokens are tagged with a MAC instead (HS512, as Keycloak's are) and verify only through
//! [`verify_refresh`].

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::keys::{RefreshMac, SigningKey};

/// Longer tokens are refused unread: ours are a few kilobytes at most.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// The claims of a token one of `keys` signed; `None` for anything else (refresh tokens'
/// HS512 tags included: see [`verify_refresh`]).
pub fn verify(keys: &[Arc<SigningKey>], token: &str) -> Option<Map<String, Value>> {
    verify_as(keys, token, Tag::Signature)
}

/// The claims of a token carrying the HS512 tag of one of `keys`' derived refresh-token MAC
/// keys ([`RefreshMac`]); `None` for anything else, signed tokens included. Kept apart from
/// [`verify`] so that no validator of access tokens, ID tokens or form tokens can ever accept
/// a MAC-tagged token.
pub fn verify_refresh(keys: &[Arc<SigningKey>], token: &str) -> Option<Map<String, Value>> {
    verify_as(keys, token, Tag::RefreshMac)
}

#[derive(Clone, Copy)]
enum Tag {
    Signature,
    RefreshMac,
}

fn verify_as(keys: &[Arc<SigningKey>], token: &str, tag: Tag) -> Option<Map<String, Value>> {
    if token.len() > MAX_JWS_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = decode_object(header)?;
    let kid = header.get("kid")?.as_str()?;
    let alg = header.get("alg")?.as_str()?;
    let verified = match tag {
        Tag::Signature => {
            let key = keys.iter().find(|k| k.thumbprint_kid() == kid)?;
            key.algorithm().as_str() == alg && key.verify_jws(token)
        }
        Tag::RefreshMac => {
            let mac = keys
                .iter()
                .map(|k| k.refresh_mac())
                .find(|mac| mac.kid() == kid)?;
            alg == RefreshMac::ALGORITHM && mac.verify_jws(token)
        }
    };
    if !verified {
        return None;
    }
    decode_object(payload)
}

/// The claims of a token *without* checking anything: only to learn which realm's keys to
/// verify it with (its `iss`). Never trust what it returns.
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_JWS_LEN {
        return None;
    }
    decode_object(token.split('.').nth(1)?)
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::{Algorithm, KeyMaterial};

    fn key(algorithm: Algorithm) -> Arc<SigningKey> {
        let material = KeyMaterial::generate(algorithm, "acme", 1_795_000_000).unwrap();
        Arc::new(SigningKey::from_material(&material).unwrap())
    }

    fn sign(key: &SigningKey, claims: &Value) -> String {
        let header =
            json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.thumbprint_kid()});
        key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    }

    #[test]
    fn verifies_only_our_signatures() {
        let rsa = key(Algorithm::Rs256);
        let ec = key(Algorithm::Es256);
        let stranger = key(Algorithm::Rs256);
        let keys = vec![rsa.clone(), ec.clone()];
        let claims = json!({"sub": "u", "typ": "Bearer"});
        for k in [&rsa, &ec] {
            assert_eq!(
                verify(&keys, &sign(k, &claims)).map(Value::Object),
                Some(claims.clone())
            );
        }
        let good = sign(&rsa, &claims);
        let mut parts: Vec<&str> = good.split('.').collect();
        let evil = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","typ":"Bearer"}"#);
        parts[1] = &evil;
        let tampered = parts.join(".");
        // A header naming the EC key with the RSA algorithm.
        let confused = {
            let header = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#,
                ec.thumbprint_kid()
            ));
            let jwt = sign(&ec, &claims);
            format!("{header}.{}", jwt.split_once('.').unwrap().1)
        };
        let none_alg = {
            let header = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"alg":"none","kid":"{}"}}"#,
                rsa.thumbprint_kid()
            ));
            format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
        };
        let rows: &[(&str, String)] = &[
            ("foreign key", sign(&stranger, &claims)),
            ("tampered payload", tampered),
            ("algorithm confusion", confused),
            ("alg none", none_alg),
            ("empty", String::new()),
            ("garbage", "a.b.c".into()),
            ("two parts", "a.b".into()),
            ("four parts", format!("{good}.x")),
            ("oversized", "a".repeat(MAX_JWS_LEN + 1)),
            ("array payload", sign(&rsa, &json!([1, 2]))),
        ];
        for (what, token) in rows {
            assert_eq!(verify(&keys, token), None, "{what}");
        }
        assert_eq!(
            unverified_claims(&sign(&stranger, &claims)).map(Value::Object),
            Some(claims)
        );
    }

    fn mac(key: &SigningKey, claims: &Value) -> String {
        let mac = key.refresh_mac();
        let header = json!({"alg": "HS512", "typ": "JWT", "kid": mac.kid()});
        mac.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    #[test]
    fn refresh_macs_verify_only_as_refresh_tokens_and_only_with_their_key() {
        let rsa = key(Algorithm::Rs256);
        let ec = key(Algorithm::Es256);
        let keys = vec![rsa.clone(), ec.clone()];
        let claims = json!({"sub": "u", "typ": "Refresh"});
        for k in [&rsa, &ec] {
            let token = mac(k, &claims);
            assert_eq!(
                verify_refresh(&keys, &token).map(Value::Object),
                Some(claims.clone())
            );
            assert_eq!(verify(&keys, &token), None, "a MAC is never a signature");
        }
        assert_ne!(rsa.refresh_mac().kid(), ec.refresh_mac().kid());
        let signed = sign(&rsa, &claims);
        let good = mac(&rsa, &claims);
        let tampered = {
            let mut parts: Vec<&str> = good.split('.').collect();
            let evil = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","typ":"Refresh"}"#);
            parts[1] = &evil;
            parts.join(".")
        };
        // The MAC key's kid with another algorithm, and a signing key's kid with HS512.
        let relabelled = |header: String| {
            let header = URL_SAFE_NO_PAD.encode(header);
            format!("{header}.{}", good.split_once('.').unwrap().1)
        };
        let rows: &[(&str, String)] = &[
            ("signed token", signed),
            ("another key's MAC", mac(&key(Algorithm::Rs256), &claims)),
            ("tampered payload", tampered),
            (
                "HS256 label",
                relabelled(format!(
                    r#"{{"alg":"HS256","kid":"{}"}}"#,
                    rsa.refresh_mac().kid()
                )),
            ),
            (
                "signing kid",
                relabelled(format!(
                    r#"{{"alg":"HS512","kid":"{}"}}"#,
                    rsa.thumbprint_kid()
                )),
            ),
            ("garbage", "a.b.c".into()),
        ];
        for (what, token) in rows {
            assert_eq!(verify_refresh(&keys, token), None, "{what}");
        }
        // The same key material derives the same MAC key (every instance agrees).
        let material = KeyMaterial::generate(Algorithm::Es256, "acme", 1_795_000_000).unwrap();
        let (a, b) = (
            SigningKey::from_material(&material).unwrap(),
            SigningKey::from_material(&material).unwrap(),
        );
        assert_eq!(a.refresh_mac().kid(), b.refresh_mac().kid());
        assert_eq!(
            verify_refresh(&[Arc::new(b)], &mac(&a, &claims)).map(Value::Object),
            Some(claims)
        );
    }
}
