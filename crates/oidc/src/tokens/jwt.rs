//! Signing our JWTs with a realm key, and checking JWTs we issued.
//!
//! Every token names its key by the RFC 7638 thumbprint (`kid`), the id the JWKS at `certs`
//! publishes; verification finds the key by that id only and insists the header's `alg` is the
//! key's. Every OIDC token carries a `typ` claim (`Bearer`, `ID`, `Refresh`, `Offline`); docker
//! registry tokens have none, so they never verify here even when signed with the same key.

use std::sync::Arc;

use portcullis_core::keys::{Algorithm, SigningKey};
use portcullis_core::model::RealmSnapshot;
use portcullis_web::AppState;
use serde_json::{Map, Value};

use super::TokenError;

pub(crate) const TYP_BEARER: &str = "Bearer";
pub(crate) const TYP_ID: &str = "ID";
pub(crate) const TYP_REFRESH: &str = "Refresh";
pub(crate) const TYP_OFFLINE: &str = "Offline";

/// The realm key for `wanted`, else (the realm lacks that algorithm) its first key, RS256
/// preferred, so a misconfigured client still gets tokens.
pub(crate) fn signing_key(
    snapshot: &RealmSnapshot,
    wanted: Algorithm,
) -> Result<&Arc<SigningKey>, TokenError> {
    if let Some(key) = snapshot.signing_key(wanted) {
        return Ok(key);
    }
    let fallback = snapshot
        .signing_key(Algorithm::Rs256)
        .or_else(|| snapshot.keys.first())
        .ok_or(TokenError::NoKey(wanted))?;
    tracing::warn!(
        realm = %snapshot.realm.name,
        wanted = %wanted,
        using = %fallback.algorithm(),
        "realm has no key for the configured algorithm"
    );
    Ok(fallback)
}

/// Signs `claims` with `{"alg","typ":"JWT","kid"}`.
#[cfg(test)]
pub(crate) fn sign(key: &SigningKey, claims: &Map<String, Value>) -> Result<String, TokenError> {
    sign_json(key, &serde_json::to_vec(claims)?)
}

/// Signs claims already serialised as a JSON object, with `{"alg","typ":"JWT","kid"}`.
pub(crate) fn sign_json(key: &SigningKey, claims: &[u8]) -> Result<String, TokenError> {
    // The kid is base64url and the alg a fixed name, so neither needs JSON escaping.
    let header = format!(
        r#"{{"alg":"{}","typ":"JWT","kid":"{}"}}"#,
        key.algorithm().as_str(),
        key.thumbprint_kid()
    );
    Ok(key.sign_jws(header.as_bytes(), claims)?)
}

/// Tags refresh-token `claims` with the derived MAC key of `key` (HS512, as Keycloak does).
pub(crate) fn sign_refresh_mac(
    key: &SigningKey,
    claims: &Map<String, Value>,
) -> Result<String, TokenError> {
    let mac = key.refresh_mac();
    // The kid is `mac-` and base64url, so it needs no JSON escaping.
    let header = format!(r#"{{"alg":"HS512","typ":"JWT","kid":"{}"}}"#, mac.kid());
    let claims = serde_json::to_vec(claims)?;
    Ok(mac.sign_jws(header.as_bytes(), &claims))
}

/// The claims of a JWT this realm issued: a realm key (by `kid`) made the signature with the
/// header's `alg` (or, for refresh tokens, the tag with its derived MAC key), `iss` is the
/// realm's issuer, and `typ` is one of ours. Expiry is not checked.
pub(crate) fn decode_verified(
    snapshot: &RealmSnapshot,
    issuer: &str,
    jwt: &str,
) -> Option<Map<String, Value>> {
    use portcullis_core::jws;
    let (claims, typs): (_, &[&str]) = match jws::verify(&snapshot.keys, jwt) {
        Some(claims) => (claims, &[TYP_BEARER, TYP_ID, TYP_REFRESH, TYP_OFFLINE]),
        // Refresh tokens issued with the derived MAC key; older ones were signed.
        None => (
            jws::verify_refresh(&snapshot.keys, jwt)?,
            &[TYP_REFRESH, TYP_OFFLINE],
        ),
    };
    let ours = claim_str(&claims, "typ").is_some_and(|typ| typs.contains(&typ));
    (ours && claim_str(&claims, "iss") == Some(issuer)).then_some(claims)
}

/// Verifies a JWT we issued (signature with any realm key by `kid`, `iss` = realm issuer, one of
/// our `typ`s); returns its claims. Expiry is NOT checked here (an `id_token_hint` may be
/// expired); callers check `typ` for the kind of token they expect.
pub(crate) fn verify_own_jwt(state: &AppState, realm: &RealmSnapshot, jwt: &str) -> Option<Value> {
    let issuer = state.issuer(&realm.realm.name);
    decode_verified(realm, &issuer, jwt).map(Value::Object)
}

pub(crate) fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

pub(crate) fn claim_i64(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    claims.get(name).and_then(Value::as_i64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use portcullis_core::keys::KeyMaterial;
    use portcullis_core::model::Realm;
    use serde_json::json;

    use super::*;

    pub(crate) fn key(algorithm: Algorithm) -> Arc<SigningKey> {
        let material = KeyMaterial::generate(algorithm, "acme", 1_795_000_000).unwrap();
        Arc::new(SigningKey::from_material(&material).unwrap())
    }

    pub(crate) fn snapshot_with(keys: Vec<Arc<SigningKey>>) -> RealmSnapshot {
        RealmSnapshot {
            realm: Realm {
                id: "realm-1".into(),
                name: "acme".into(),
                ..Realm::default()
            },
            roles: vec![],
            groups: vec![],
            clients: vec![],
            client_scopes: Vec::new(),
            keys,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    const ISS: &str = "http://id.test/auth/realms/acme";

    /// The signature checks themselves are the one JWS verifier's (`portcullis_core::jws`);
    /// here: our header, and the claims an OIDC token must carry.
    #[test]
    fn sign_and_verify_round_trip_and_claim_rejections() {
        let rsa = key(Algorithm::Rs256);
        let ec = key(Algorithm::Es256);
        let stranger = key(Algorithm::Rs256);
        let snapshot = snapshot_with(vec![rsa.clone(), ec.clone()]);
        let good = claims(json!({"iss": ISS, "typ": "Bearer", "sub": "u"}));
        for k in [&rsa, &ec] {
            let jwt = sign(k, &good).unwrap();
            assert_eq!(decode_verified(&snapshot, ISS, &jwt), Some(good.clone()));
            let header = portcullis_core::jws::unverified_claims(&format!(
                "x.{}",
                jwt.split('.').next().unwrap()
            ))
            .unwrap();
            assert_eq!(
                Value::Object(header),
                json!({"alg": k.algorithm().as_str(), "typ": "JWT", "kid": k.thumbprint_kid()})
            );
        }
        let rows: &[(&str, String)] = &[
            ("foreign key", sign(&stranger, &good).unwrap()),
            (
                "wrong issuer",
                sign(&rsa, &claims(json!({"iss": "http://x", "typ": "Bearer"}))).unwrap(),
            ),
            (
                "no typ (docker token)",
                sign(&rsa, &claims(json!({"iss": ISS, "sub": "u"}))).unwrap(),
            ),
            (
                "unknown typ",
                sign(&rsa, &claims(json!({"iss": ISS, "typ": "Logout"}))).unwrap(),
            ),
            ("garbage", "a.b.c".into()),
        ];
        for (what, jwt) in rows {
            assert_eq!(decode_verified(&snapshot, ISS, jwt), None, "{what}");
        }
    }

    #[test]
    fn key_choice_falls_back() {
        let rsa = key(Algorithm::Rs256);
        let only_rsa = snapshot_with(vec![rsa.clone()]);
        let chosen = signing_key(&only_rsa, Algorithm::Es256).unwrap();
        assert_eq!(chosen.algorithm(), Algorithm::Rs256);
        assert!(signing_key(&snapshot_with(vec![]), Algorithm::Rs256).is_err());
    }
}
