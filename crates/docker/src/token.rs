//! Registry tokens: per-client settings, the JWS header, the claims, and refresh-token material.
//!
//! The shape follows what registry 2.8 and 3.x verify (reference §2, §5): `aud` a JSON string,
//! integer times, `access` never null, a libtrust `kid` (or an RFC 7638 thumbprint), an optional
//! `x5c` so registry 3 verifies against the same PEM bundle, and `nbf` a little in the past.

use std::sync::Arc;

use portcullis_core::keys::{Algorithm, KeyError, SigningKey};
use portcullis_core::model::{Client, Realm, RealmSnapshot};
use portcullis_core::secrets::{hash_secret, new_secret, random_token};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::scope::ResourceScope;

/// Keycloak's client attribute for the token signature algorithm.
pub const ATTR_ALGORITHM: &str = "access.token.signed.response.alg";
/// Keycloak's client attribute for the access-token lifespan, in seconds.
pub const ATTR_LIFESPAN: &str = "access.token.lifespan";
/// `libtrust` (default, registry 2.8) or `thumbprint` (RFC 7638, registry 3 bundles).
pub const ATTR_KID_FORMAT: &str = "docker.token.kid.format";
/// `false` leaves `x5c` out of the header.
pub const ATTR_X5C: &str = "docker.token.x5c";
/// Lifespan of refresh ("identity") tokens, in seconds.
pub const ATTR_REFRESH_LIFESPAN: &str = "docker.refresh-token.lifespan";
/// How many live docker logins (refresh tokens) a user keeps per registry; the oldest is
/// revoked when a new one would exceed it.
pub const ATTR_MAX_LOGINS: &str = "docker.refresh-token.max-per-user";

/// Keycloak's default access-token lifespan.
pub const DEFAULT_LIFESPAN: i64 = 300;
/// Clients raise anything shorter to 60 s anyway (docker `minimumTokenLifetimeSeconds`).
pub const MIN_LIFESPAN: i64 = 60;
/// 30 days: after `docker login` the refresh token is the only credential docker keeps.
pub const DEFAULT_REFRESH_LIFESPAN: i64 = 30 * 86_400;
/// Docker logins kept per user and registry: room for a person's machines and a few CI hosts
/// sharing an account, without letting repeated `docker login`s pile up 30-day tokens.
pub const DEFAULT_MAX_LOGINS: u64 = 20;
/// `nbf` is backdated so a registry whose clock lags ours still accepts fresh tokens.
pub const NBF_BACKDATE: i64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the realm has no active {0} key")]
    NoKey(Algorithm),
    #[error("signing failed: {0}")]
    Sign(#[from] KeyError),
    #[error("encoding claims: {0}")]
    Json(#[from] serde_json::Error),
    #[error("timestamp {0} is out of range")]
    Time(i64),
}

/// How the header names the signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KidFormat {
    /// libtrust fingerprint of the SPKI: what registry 2.8 indexes its bundle by.
    Libtrust,
    /// RFC 7638 JWK thumbprint: what registry 3 indexes bundle certificates by.
    Thumbprint,
}

/// Token settings of one docker-v2 client, from its attributes and the realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    pub algorithm: Algorithm,
    pub kid_format: KidFormat,
    pub x5c: bool,
    /// Access-token lifespan in seconds, at least [`MIN_LIFESPAN`].
    pub lifespan: i64,
    /// Refresh-token lifespan in seconds.
    pub refresh_lifespan: i64,
    /// Live refresh tokens kept per user; the oldest go first.
    pub max_logins: u64,
}

impl TokenSettings {
    /// Reads the client's attributes; unusable values fall back to the defaults with a warning
    /// rather than failing every token request of a registry.
    pub fn for_client(realm: &Realm, client: &Client) -> Self {
        let attr = |key: &str| {
            client
                .attributes
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let warn = |key: &str, value: &str| {
            tracing::warn!(
                realm = %realm.name,
                client = %client.client_id,
                attribute = key,
                value,
                "ignoring unusable docker-v2 client attribute"
            );
        };
        let algorithm = match attr(ATTR_ALGORITHM) {
            None => Algorithm::Rs256,
            Some(value) => Algorithm::parse(value).unwrap_or_else(|| {
                warn(ATTR_ALGORITHM, value);
                Algorithm::Rs256
            }),
        };
        let kid_format = match attr(ATTR_KID_FORMAT) {
            None | Some("libtrust") => KidFormat::Libtrust,
            Some("thumbprint") => KidFormat::Thumbprint,
            Some(other) => {
                warn(ATTR_KID_FORMAT, other);
                KidFormat::Libtrust
            }
        };
        let positive = |key: &str| {
            let value = attr(key)?;
            match value.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                // Keycloak stores -1 or an empty string for "inherit from the realm".
                Ok(_) => None,
                Err(_) => {
                    warn(key, value);
                    None
                }
            }
        };
        let realm_lifespan = Some(realm.access_token_lifespan).filter(|n| *n > 0);
        Self {
            algorithm,
            kid_format,
            x5c: !attr(ATTR_X5C).is_some_and(|v| v.eq_ignore_ascii_case("false")),
            lifespan: positive(ATTR_LIFESPAN)
                .or(realm_lifespan)
                .unwrap_or(DEFAULT_LIFESPAN)
                .max(MIN_LIFESPAN),
            refresh_lifespan: positive(ATTR_REFRESH_LIFESPAN).unwrap_or(DEFAULT_REFRESH_LIFESPAN),
            max_logins: positive(ATTR_MAX_LOGINS).map_or(DEFAULT_MAX_LOGINS, |n| n as u64),
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<[String; 1]>,
}

/// The registered claims registries check, in the order the spec lists them.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    access: &'a [ResourceScope],
}

/// What a token says, apart from times and `jti`, which [`TokenSigner::issue`] fills in.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The realm issuer, byte for byte the registry's `issuer`.
    pub issuer: &'a str,
    /// The username; empty for anonymous requests.
    pub subject: &'a str,
    /// The service (`clientId`): the registry accepts exactly this `aud`.
    pub audience: &'a str,
    /// One entry per requested resource, with the granted actions (possibly none).
    pub access: &'a [ResourceScope],
}

/// A realm key with its header precomputed for one client's settings.
#[derive(Debug)]
pub struct TokenSigner {
    key: Arc<SigningKey>,
    kid: String,
    header: Vec<u8>,
    lifespan: i64,
}

impl TokenSigner {
    pub fn new(snapshot: &RealmSnapshot, settings: &TokenSettings) -> Result<Self, TokenError> {
        let key = snapshot
            .signing_key(settings.algorithm)
            .ok_or(TokenError::NoKey(settings.algorithm))?
            .clone();
        let kid = match settings.kid_format {
            KidFormat::Libtrust => key.libtrust_kid(),
            KidFormat::Thumbprint => key.thumbprint_kid(),
        }
        .to_owned();
        let header = serde_json::to_vec(&Header {
            alg: settings.algorithm.as_str(),
            typ: "JWT",
            kid: &kid,
            x5c: settings.x5c.then(|| [key.x5c()]),
        })?;
        Ok(Self {
            key,
            kid,
            header,
            lifespan: settings.lifespan,
        })
    }

    /// The `kid` every token of this client carries.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn key(&self) -> &Arc<SigningKey> {
        &self.key
    }

    /// Seconds the tokens live (the response's `expires_in`).
    pub fn lifespan(&self) -> i64 {
        self.lifespan
    }

    /// Signs a token issued at `now`.
    pub fn issue(&self, request: &TokenRequest<'_>, now: i64) -> Result<String, TokenError> {
        let claims = Claims {
            iss: request.issuer,
            sub: request.subject,
            aud: request.audience,
            exp: now + self.lifespan,
            nbf: now - NBF_BACKDATE,
            iat: now,
            jti: random_token::<16>(),
            access: request.access,
        };
        let claims = serde_json::to_vec(&claims)?;
        Ok(self.key.sign_jws(&self.header, &claims)?)
    }
}

/// `issued_at`: RFC 3339 in UTC with a `Z`; Go clients fail the whole fetch on anything else.
pub fn rfc3339(unix: i64) -> Result<String, TokenError> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .ok_or(TokenError::Time(unix))
}

/// A new refresh token (256 random bits, base64url) and the hash it is stored under.
pub fn new_refresh_token() -> (String, String) {
    let token = new_secret();
    let hash = hash_secret(&token);
    (token, hash)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::collections::BTreeMap;

    use portcullis_core::password::PasswordPolicy;

    use super::*;

    fn realm(lifespan: i64) -> Realm {
        Realm {
            id: "r1".into(),
            name: "acme".into(),
            display_name: None,
            enabled: true,
            access_token_lifespan: lifespan,
            password_policy: PasswordPolicy::default(),
            attributes: BTreeMap::new(),
            ..Realm::default()
        }
    }

    fn client(attributes: &[(&str, &str)]) -> Client {
        Client {
            id: "c1".into(),
            client_id: "registry".into(),
            protocol: "docker-v2".into(),
            enabled: true,
            public_client: true,
            secret: None,
            redirect_uris: vec![],
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            protocol_mappers: vec![],
            ..Client::default()
        }
    }

    #[test]
    fn settings_from_attributes() {
        type Row = (
            i64,
            &'static [(&'static str, &'static str)],
            Algorithm,
            KidFormat,
            bool,
            i64,
            i64,
        );
        // The logins bound is checked in its own test below.
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (300, &[], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (0, &[], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (900, &[], Algorithm::Rs256, KidFormat::Libtrust, true, 900, DEFAULT_REFRESH_LIFESPAN),
            (10, &[], Algorithm::Rs256, KidFormat::Libtrust, true, 60, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_LIFESPAN, "30")], Algorithm::Rs256, KidFormat::Libtrust, true, 60, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_LIFESPAN, "1200")], Algorithm::Rs256, KidFormat::Libtrust, true, 1200, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_LIFESPAN, "-1")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_LIFESPAN, "soon")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_ALGORITHM, "ES256")], Algorithm::Es256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_ALGORITHM, "PS256")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_KID_FORMAT, "thumbprint")], Algorithm::Rs256, KidFormat::Thumbprint, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_KID_FORMAT, "libtrust")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_KID_FORMAT, "x")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_X5C, "false")], Algorithm::Rs256, KidFormat::Libtrust, false, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_X5C, "true")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
            (300, &[(ATTR_REFRESH_LIFESPAN, "3600")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, 3600),
            (300, &[(ATTR_REFRESH_LIFESPAN, "0")], Algorithm::Rs256, KidFormat::Libtrust, true, 300, DEFAULT_REFRESH_LIFESPAN),
        ];
        for (realm_lifespan, attributes, alg, kid, x5c, lifespan, refresh) in rows {
            let got = TokenSettings::for_client(&realm(*realm_lifespan), &client(attributes));
            let expected = TokenSettings {
                algorithm: *alg,
                kid_format: *kid,
                x5c: *x5c,
                lifespan: *lifespan,
                refresh_lifespan: *refresh,
                max_logins: DEFAULT_MAX_LOGINS,
            };
            assert_eq!(got, expected, "{realm_lifespan} {attributes:?}");
        }
    }

    #[test]
    fn logins_per_user_are_bounded() {
        let rows: &[(&str, u64)] = &[("", DEFAULT_MAX_LOGINS), ("3", 3), ("0", 20), ("x", 20)];
        for (value, want) in rows {
            let attributes: &[(&str, &str)] = &[(ATTR_MAX_LOGINS, value)];
            let got = TokenSettings::for_client(&realm(300), &client(attributes));
            assert_eq!(got.max_logins, *want, "{value:?}");
        }
    }

    #[test]
    fn issued_at_is_utc_with_z() {
        assert_eq!(rfc3339(0).expect("in range"), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_795_000_000).expect("in range"),
            "2026-11-18T11:06:40Z"
        );
        assert!(rfc3339(i64::MAX).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_a, hash_secret(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(
            hash_a
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        );
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn snapshot(keys: Vec<Arc<SigningKey>>) -> RealmSnapshot {
        RealmSnapshot {
            realm: realm(300),
            roles: vec![],
            groups: vec![],
            clients: vec![],
            client_scopes: Vec::new(),
            keys,
        }
    }

    fn key(algorithm: Algorithm) -> Arc<SigningKey> {
        let material =
            portcullis_core::keys::KeyMaterial::generate(algorithm, "acme", 1_795_000_000)
                .expect("key generation");
        Arc::new(SigningKey::from_material(&material).expect("parse key"))
    }

    fn decode_part(jws: &str, index: usize) -> serde_json::Value {
        let part = jws.split('.').nth(index).expect("three parts");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    }

    #[test]
    fn signer_header_and_claims() {
        let rsa = key(Algorithm::Rs256);
        let ec = key(Algorithm::Es256);
        let snap = snapshot(vec![rsa.clone(), ec.clone()]);
        let access = crate::scope::parse_scopes(["repository:a/b:push,pull"]).expect("scope");
        let request = TokenRequest {
            issuer: "http://id.test/auth/realms/acme",
            subject: "alice",
            audience: "registry",
            access: &access,
        };
        type Row = (Algorithm, KidFormat, bool);
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (Algorithm::Rs256, KidFormat::Libtrust, true),
            (Algorithm::Rs256, KidFormat::Thumbprint, false),
            (Algorithm::Es256, KidFormat::Libtrust, false),
            (Algorithm::Es256, KidFormat::Thumbprint, true),
        ];
        for (algorithm, kid_format, x5c) in rows {
            let settings = TokenSettings {
                algorithm: *algorithm,
                kid_format: *kid_format,
                x5c: *x5c,
                lifespan: 120,
                refresh_lifespan: 3600,
                max_logins: DEFAULT_MAX_LOGINS,
            };
            let signer = TokenSigner::new(&snap, &settings).expect("signer");
            let jws = signer.issue(&request, 1_000_000).expect("sign");
            let used = if *algorithm == Algorithm::Rs256 {
                &rsa
            } else {
                &ec
            };
            assert!(used.verify_jws(&jws), "{algorithm}");
            let expected_kid = match kid_format {
                KidFormat::Libtrust => used.libtrust_kid(),
                KidFormat::Thumbprint => used.thumbprint_kid(),
            };
            let header = decode_part(&jws, 0);
            assert_eq!(header["alg"], algorithm.as_str());
            assert_eq!(header["typ"], "JWT");
            assert_eq!(header["kid"], expected_kid);
            assert_eq!(signer.kid(), expected_kid);
            match x5c {
                true => assert_eq!(header["x5c"], serde_json::json!([used.x5c()])),
                false => assert!(header.get("x5c").is_none()),
            }
            let claims = decode_part(&jws, 1);
            assert_eq!(claims["iss"], "http://id.test/auth/realms/acme");
            assert_eq!(claims["sub"], "alice");
            assert_eq!(claims["aud"], "registry");
            assert_eq!(claims["iat"], 1_000_000);
            assert_eq!(claims["nbf"], 1_000_000 - NBF_BACKDATE);
            assert_eq!(claims["exp"], 1_000_120);
            assert_eq!(
                claims["access"],
                serde_json::json!([{"type": "repository", "name": "a/b", "actions": ["pull", "push"]}])
            );
            let jti = claims["jti"].as_str().expect("jti string");
            assert_eq!(URL_SAFE_NO_PAD.decode(jti).expect("base64url").len(), 16);
        }
    }

    #[test]
    fn claims_keep_the_spec_order_and_empty_access() {
        let snap = snapshot(vec![key(Algorithm::Es256)]);
        let settings = TokenSettings {
            algorithm: Algorithm::Es256,
            kid_format: KidFormat::Libtrust,
            x5c: false,
            lifespan: 60,
            refresh_lifespan: 60,
            max_logins: DEFAULT_MAX_LOGINS,
        };
        let signer = TokenSigner::new(&snap, &settings).expect("signer");
        let request = TokenRequest {
            issuer: "i",
            subject: "",
            audience: "s",
            access: &[],
        };
        let jws = signer.issue(&request, 100).expect("sign");
        let claims = jws.split('.').nth(1).expect("claims");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(claims).expect("b64")).expect("utf8");
        let prefix = r#"{"iss":"i","sub":"","aud":"s","exp":160,"nbf":95,"iat":100,"jti":""#;
        assert!(text.starts_with(prefix), "{text}");
        assert!(text.ends_with(r#","access":[]}"#), "{text}");
    }

    #[test]
    fn missing_key_is_an_error() {
        let snap = snapshot(vec![key(Algorithm::Es256)]);
        let settings = TokenSettings {
            algorithm: Algorithm::Rs256,
            kid_format: KidFormat::Libtrust,
            x5c: true,
            lifespan: 60,
            refresh_lifespan: 60,
            max_logins: DEFAULT_MAX_LOGINS,
        };
        assert!(matches!(
            TokenSigner::new(&snap, &settings),
            Err(TokenError::NoKey(Algorithm::Rs256))
        ));
    }
}
