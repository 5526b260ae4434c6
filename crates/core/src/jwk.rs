//! Tokens signed by *other* issuers (CI platforms, Kubernetes clusters): their public keys as a
//! JWKS publishes them, and the signature check a compact JWS must pass against them.
//!
//! Only asymmetric algorithms are accepted, and only with a key of the matching type (an RSA
//! key never checks an `ES256` header, a JWK's own `alg` must equal the header's when it names
//! one): `none` and the HMAC algorithms, whose "key" would be public, are refused outright.
//! What the claims must say (issuer, audience, expiry) is the caller's to check.

use aws_lc_rs::signature::{
    self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::jws::MAX_JWS_LEN;

/// The signature algorithms a foreign token may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlgorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl JwsAlgorithm {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "RS256" => Self::Rs256,
            "RS384" => Self::Rs384,
            "RS512" => Self::Rs512,
            "PS256" => Self::Ps256,
            "PS384" => Self::Ps384,
            "PS512" => Self::Ps512,
            "ES256" => Self::Es256,
            "ES384" => Self::Es384,
            "EdDSA" => Self::EdDsa,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// The public half of one JWK.
#[derive(Clone, PartialEq, Eq)]
enum PublicKey {
    /// Modulus and exponent, big-endian.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// An uncompressed point (0x04 || x || y).
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

/// One signature key of a JWKS.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    kid: Option<String>,
    /// The JWK's `alg`, when it names one: then only that algorithm is checked with it.
    alg: Option<String>,
    key: PublicKey,
}

impl std::fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kty = match self.key {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::P256(_) => "EC P-256",
            PublicKey::P384(_) => "EC P-384",
            PublicKey::Ed25519(_) => "OKP Ed25519",
        };
        f.debug_struct("PublicJwk")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("kty", &kty)
            .finish()
    }
}

/// Why a foreign token's signature does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("algorithm {0:?} is not accepted (only asymmetric signatures are)")]
    Algorithm(String),
    #[error("no key of the issuer has id {0:?}")]
    UnknownKey(String),
    #[error("the signature does not verify")]
    BadSignature,
}

impl PublicJwk {
    /// A JWK's public key; `None` for an encryption key, a private or symmetric one, or a type
    /// or curve this server does not check.
    pub fn parse(jwk: &Map<String, Value>) -> Option<Self> {
        let text = |name: &str| jwk.get(name).and_then(Value::as_str);
        let bytes = |name: &str| text(name).and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
        if text("use").is_some_and(|u| u != "sig") {
            return None;
        }
        let key = match (text("kty")?, text("crv")) {
            ("RSA", _) => PublicKey::Rsa {
                n: bytes("n")?,
                e: bytes("e")?,
            },
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                let len = if crv == "P-256" { 32 } else { 48 };
                if x.len() != len || y.len() != len {
                    return None;
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                if crv == "P-256" {
                    PublicKey::P256(point)
                } else {
                    PublicKey::P384(point)
                }
            }
            ("OKP", Some("Ed25519")) => PublicKey::Ed25519(bytes("x")?),
            _ => return None,
        };
        Some(Self {
            kid: text("kid").map(str::to_owned),
            alg: text("alg").map(str::to_owned),
            key,
        })
    }

    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public key of an X.509 certificate (DER), as a client registers it for
    /// `private_key_jwt`; `None` for a certificate that does not parse or a key type this
    /// server does not check.
    pub fn from_certificate_der(der: &[u8]) -> Option<Self> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Self::from_spki(cert.public_key())
    }

    /// The public key of a DER SubjectPublicKeyInfo (a "PUBLIC KEY" PEM's content).
    pub fn from_spki_der(der: &[u8]) -> Option<Self> {
        use x509_parser::prelude::FromDer;
        use x509_parser::x509::SubjectPublicKeyInfo;
        let (_, spki) = SubjectPublicKeyInfo::from_der(der).ok()?;
        Self::from_spki(&spki)
    }

    fn from_spki(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Option<Self> {
        use x509_parser::public_key::PublicKey as Parsed;
        let strip = |bytes: &[u8]| {
            let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
            bytes[start..].to_vec()
        };
        let key = match spki.parsed().ok()? {
            Parsed::RSA(rsa) => PublicKey::Rsa {
                n: strip(rsa.modulus),
                e: strip(rsa.exponent),
            },
            Parsed::EC(point) => match point.data().len() {
                65 => PublicKey::P256(point.data().to_vec()),
                97 => PublicKey::P384(point.data().to_vec()),
                _ => return None,
            },
            _ => return None,
        };
        Some(Self {
            kid: None,
            alg: None,
            key,
        })
    }

    /// With a key id, so a token's `kid` header finds it.
    pub fn with_kid(mut self, kid: Option<String>) -> Self {
        self.kid = kid;
        self
    }

    /// Whether this key may check a signature made with `alg`.
    fn accepts(&self, alg: JwsAlgorithm) -> bool {
        use JwsAlgorithm::*;
        let by_type = match self.key {
            PublicKey::Rsa { .. } => matches!(alg, Rs256 | Rs384 | Rs512 | Ps256 | Ps384 | Ps512),
            PublicKey::P256(_) => alg == Es256,
            PublicKey::P384(_) => alg == Es384,
            PublicKey::Ed25519(_) => alg == EdDsa,
        };
        by_type && self.alg.as_deref().is_none_or(|own| own == alg.as_str())
    }

    fn verify(&self, alg: JwsAlgorithm, message: &[u8], signature_bytes: &[u8]) -> bool {
        use JwsAlgorithm::*;
        match &self.key {
            PublicKey::Rsa { n, e } => {
                let algorithm: &signature::RsaParameters = match alg {
                    Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(algorithm, message, signature_bytes)
                    .is_ok()
            }
            PublicKey::P256(point) => verify_unparsed(
                &signature::ECDSA_P256_SHA256_FIXED,
                point,
                message,
                signature_bytes,
            ),
            PublicKey::P384(point) => verify_unparsed(
                &signature::ECDSA_P384_SHA384_FIXED,
                point,
                message,
                signature_bytes,
            ),
            PublicKey::Ed25519(x) => {
                verify_unparsed(&signature::ED25519, x, message, signature_bytes)
            }
        }
    }
}

fn verify_unparsed(
    algorithm: &'static dyn VerificationAlgorithm,
    key: &[u8],
    message: &[u8],
    signature_bytes: &[u8],
) -> bool {
    UnparsedPublicKey::new(algorithm, key)
        .verify(message, signature_bytes)
        .is_ok()
}

/// The signature keys of a JWKS document (`{"keys": [...]}`); keys this server cannot use are
/// left out.
pub fn parse_jwks(document: &Value) -> Vec<PublicJwk> {
    document
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter_map(Value::as_object)
                .filter_map(PublicJwk::parse)
                .collect()
        })
        .unwrap_or_default()
}

/// A compact JWS split and decoded, nothing checked yet.
#[derive(Debug, Clone)]
pub struct ForeignJws<'t> {
    token: &'t str,
    pub header: Map<String, Value>,
    /// Never believe these before [`ForeignJws::verify`] succeeded.
    pub claims: Map<String, Value>,
}

impl<'t> ForeignJws<'t> {
    /// A token shaped like a signed JWT: three base64url parts, a JSON object header naming an
    /// `alg` (and a `typ`, when present, of JWT), a JSON object payload. Cheap: a password
    /// that is not one fails at the first dot or the first decode.
    pub fn parse(token: &'t str) -> Option<Self> {
        if token.len() > MAX_JWS_LEN {
            return None;
        }
        let mut parts = token.split('.');
        let (header, payload, signature_part) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || header.is_empty() || signature_part.is_empty() {
            return None;
        }
        let header = decode_object(header)?;
        header.get("alg")?.as_str()?;
        let typ_ok = header.get("typ").is_none_or(|t| {
            t.as_str()
                .is_some_and(|t| t.to_ascii_lowercase().ends_with("jwt"))
        });
        if !typ_ok {
            return None;
        }
        let claims = decode_object(payload)?;
        Some(Self {
            token,
            header,
            claims,
        })
    }

    /// The header's `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Checks the signature with the key the header names (by `kid`; without one, every key
    /// that accepts the algorithm is tried).
    pub fn verify(&self, keys: &[PublicJwk]) -> Result<(), SignatureError> {
        let alg_name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(SignatureError::Malformed)?;
        let alg = JwsAlgorithm::parse(alg_name)
            .ok_or_else(|| SignatureError::Algorithm(alg_name.to_owned()))?;
        let (message, signature_part) = self
            .token
            .rsplit_once('.')
            .ok_or(SignatureError::Malformed)?;
        let signature_bytes = URL_SAFE_NO_PAD
            .decode(signature_part)
            .map_err(|_| SignatureError::Malformed)?;
        let kid = self.kid();
        let mut candidates = keys
            .iter()
            .filter(|k| kid.is_none_or(|kid| k.kid() == Some(kid)))
            .peekable();
        if candidates.peek().is_none() {
            return Err(SignatureError::UnknownKey(
                kid.unwrap_or_default().to_owned(),
            ));
        }
        let verified = candidates
            .filter(|k| k.accepts(alg))
            .any(|k| k.verify(alg, message.as_bytes(), &signature_bytes));
        if verified {
            Ok(())
        } else {
            Err(SignatureError::BadSignature)
        }
    }
}

impl ForeignJws<'_> {
    /// Checks an HMAC signature (`HS256`, `HS384`, `HS512`) made with `secret`: Keycloak's
    /// `client-secret-jwt` client assertions. Compared in constant time.
    pub fn verify_hmac(&self, secret: &[u8]) -> Result<(), SignatureError> {
        use aws_lc_rs::hmac;
        let alg_name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(SignatureError::Malformed)?;
        let algorithm = match alg_name {
            "HS256" => hmac::HMAC_SHA256,
            "HS384" => hmac::HMAC_SHA384,
            "HS512" => hmac::HMAC_SHA512,
            other => return Err(SignatureError::Algorithm(other.to_owned())),
        };
        let (message, signature_part) = self
            .token
            .rsplit_once('.')
            .ok_or(SignatureError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_part)
            .map_err(|_| SignatureError::Malformed)?;
        let key = hmac::Key::new(algorithm, secret);
        hmac::verify(&key, message.as_bytes(), &signature).map_err(|_| SignatureError::BadSignature)
    }
}

fn decode_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::keys::{Algorithm, KeyMaterial, SigningKey};

    fn key(algorithm: Algorithm) -> Arc<SigningKey> {
        let material = KeyMaterial::generate(algorithm, "ci", 1_795_000_000).unwrap();
        Arc::new(SigningKey::from_material(&material).unwrap())
    }

    fn sign(key: &SigningKey, header: &Value, claims: &Value) -> String {
        key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    }

    fn jwks(keys: &[&SigningKey]) -> Vec<PublicJwk> {
        let document = json!({"keys": keys.iter().map(|k| k.public_jwk(k.thumbprint_kid())).collect::<Vec<_>>()});
        parse_jwks(&document)
    }

    #[test]
    fn checks_signatures_against_a_foreign_jwks() {
        let rsa = key(Algorithm::Rs256);
        let ec = key(Algorithm::Es256);
        let stranger = key(Algorithm::Rs256);
        let keys = jwks(&[&rsa, &ec]);
        assert_eq!(keys.len(), 2);
        let claims = json!({"iss": "https://ci.test", "sub": "repo:acme/api"});
        let header = |k: &SigningKey| json!({"alg": k.algorithm().as_str(), "typ": "JWT", "kid": k.thumbprint_kid()});
        for k in [&rsa, &ec] {
            let token = sign(k, &header(k), &claims);
            let jws = ForeignJws::parse(&token).unwrap();
            assert_eq!(jws.verify(&keys), Ok(()));
            assert_eq!(Value::Object(jws.claims), claims);
        }
        let no_kid = sign(&rsa, &json!({"alg": "RS256"}), &claims);
        assert_eq!(ForeignJws::parse(&no_kid).unwrap().verify(&keys), Ok(()));

        let rows: Vec<(&str, String, SignatureError)> = vec![
            (
                "unknown kid",
                sign(&stranger, &header(&stranger), &claims),
                SignatureError::UnknownKey(stranger.thumbprint_kid().to_owned()),
            ),
            (
                "stranger claiming a known kid",
                sign(
                    &stranger,
                    &json!({"alg": "RS256", "kid": rsa.thumbprint_kid()}),
                    &claims,
                ),
                SignatureError::BadSignature,
            ),
            (
                "RSA key named with an EC algorithm",
                sign(
                    &rsa,
                    &json!({"alg": "ES256", "kid": rsa.thumbprint_kid()}),
                    &claims,
                ),
                SignatureError::BadSignature,
            ),
            (
                "HMAC",
                sign(
                    &rsa,
                    &json!({"alg": "HS256", "kid": rsa.thumbprint_kid()}),
                    &claims,
                ),
                SignatureError::Algorithm("HS256".into()),
            ),
            (
                "none",
                sign(
                    &rsa,
                    &json!({"alg": "none", "kid": rsa.thumbprint_kid()}),
                    &claims,
                ),
                SignatureError::Algorithm("none".into()),
            ),
        ];
        for (what, token, error) in rows {
            let jws = ForeignJws::parse(&token).unwrap();
            assert_eq!(jws.verify(&keys), Err(error), "{what}");
        }
    }

    #[test]
    fn only_jwt_shaped_secrets_parse() {
        let rsa = key(Algorithm::Rs256);
        let good = sign(
            &rsa,
            &json!({"alg": "RS256", "typ": "JWT"}),
            &json!({"a": 1}),
        );
        assert!(ForeignJws::parse(&good).is_some());
        let at_jwt = sign(
            &rsa,
            &json!({"alg": "RS256", "typ": "at+jwt"}),
            &json!({"a": 1}),
        );
        assert!(ForeignJws::parse(&at_jwt).is_some());
        let rows = [
            "correct horse battery staple".to_owned(),
            "a.b.c".to_owned(),
            "pcp_abc.def.ghi".to_owned(),
            sign(&rsa, &json!({"typ": "JWT"}), &json!({"a": 1})),
            sign(
                &rsa,
                &json!({"alg": "RS256", "typ": "dpop"}),
                &json!({"a": 1}),
            ),
            sign(&rsa, &json!({"alg": "RS256"}), &json!([1])),
            format!("{good}.extra"),
        ];
        for secret in rows {
            assert!(ForeignJws::parse(&secret).is_none(), "{secret}");
        }
    }

    #[test]
    fn unusable_jwks_entries_are_skipped() {
        let document = json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0"},
            {"kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"},
            {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "ok"}
        ]});
        let keys = parse_jwks(&document);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid(), Some("ok"));
    }

    #[test]
    fn hmac_signatures_verify_with_the_secret_only() {
        use aws_lc_rs::hmac;
        let hs = |alg: &str, algorithm: hmac::Algorithm, secret: &[u8]| {
            let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            let payload = URL_SAFE_NO_PAD.encode(json!({"sub": "app"}).to_string());
            let input = format!("{header}.{payload}");
            let tag = hmac::sign(&hmac::Key::new(algorithm, secret), input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
        };
        for (alg, algorithm) in [
            ("HS256", hmac::HMAC_SHA256),
            ("HS384", hmac::HMAC_SHA384),
            ("HS512", hmac::HMAC_SHA512),
        ] {
            let token = hs(alg, algorithm, b"s3cret");
            let jws = ForeignJws::parse(&token).unwrap();
            assert_eq!(jws.verify_hmac(b"s3cret"), Ok(()), "{alg}");
            assert_eq!(jws.verify_hmac(b"other"), Err(SignatureError::BadSignature));
        }
        let lying = hs("HS384", hmac::HMAC_SHA256, b"s3cret");
        let jws = ForeignJws::parse(&lying).unwrap();
        assert_eq!(
            jws.verify_hmac(b"s3cret"),
            Err(SignatureError::BadSignature)
        );
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let payload = URL_SAFE_NO_PAD.encode("{}");
        let none = format!("{header}.{payload}.AAAA");
        assert_eq!(
            ForeignJws::parse(&none).unwrap().verify_hmac(b"s3cret"),
            Err(SignatureError::Algorithm("none".into()))
        );
    }
}
