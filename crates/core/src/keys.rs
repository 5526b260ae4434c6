//! Realm signing keys: generation, self-signed certificates, JWKs, key ids and JWS signing.
//!
//! A [`SigningKey`] is parsed once per realm snapshot and kept: signing with an already parsed
//! aws-lc-rs key pair is 2.6x faster for RS256 than re-parsing per token, as `jsonwebtoken`
//! does (reference/performance-notes.md).

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
};
use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls_pki_types::PrivatePkcs8KeyDer;
use time::OffsetDateTime;

const DAY_SECS: i64 = 86_400;
/// Certificates are valid from a day before creation (clock skew) ...
const CERT_BACKDATE_SECS: i64 = DAY_SECS;
/// ... for ten years, leap days included.
const CERT_LIFETIME_SECS: i64 = 3_652 * DAY_SECS;
/// P-256 coordinates are 32 bytes; an uncompressed point is 0x04 || x || y.
const P256_COORD_LEN: usize = 32;

/// JWS signature algorithms a realm key can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256, JOSE `r||s` signatures.
    Es256,
}

impl Algorithm {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    fn certificate_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::Rs256 => &rcgen::PKCS_RSA_SHA256,
            Self::Es256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("the private key is not a valid PKCS#8 {algorithm} key: {reason}")]
    InvalidKey {
        algorithm: Algorithm,
        reason: String,
    },
    #[error("the certificate is not valid DER X.509")]
    InvalidCertificate,
    #[error("the certificate's public key is not the signing key's public key")]
    CertificateMismatch,
    #[error("certificate creation failed: {0}")]
    Certificate(String),
    #[error("timestamp {0} is out of range")]
    Time(i64),
    #[error("signing failed")]
    Sign,
}

/// Key material as stored: PKCS#8 private key DER and a self-signed X.509 certificate (DER).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    pub algorithm: Algorithm,
    pub private_key_pkcs8: Vec<u8>,
    pub certificate_der: Vec<u8>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("algorithm", &self.algorithm)
            .field("private_key_pkcs8", &"<redacted>")
            .field("certificate_der_len", &self.certificate_der.len())
            .finish()
    }
}

impl KeyMaterial {
    /// An RSA-2048 (RS256) or P-256 (ES256) key with a self-signed certificate, CN = `subject`
    /// (the realm name), valid from `now_unix` - 1 day to `now_unix` + 10 years.
    pub fn generate(algorithm: Algorithm, subject: &str, now_unix: i64) -> Result<Self, KeyError> {
        let private_key_pkcs8 = match algorithm {
            Algorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|kp| kp.as_der())
                .map(|der| der.as_ref().to_vec()),
            Algorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|kp| kp.to_pkcs8v1())
                .map(|doc| doc.as_ref().to_vec()),
        }
        .map_err(|_| KeyError::Generate)?;
        Self::from_parts(algorithm, private_key_pkcs8, None, subject, now_unix)
    }

    /// An RSA key of `bits` bits (2048, 3072 or 4096) for RS256, with a certificate as
    /// [`KeyMaterial::generate`] makes.
    pub fn generate_rsa(bits: u32, subject: &str, now_unix: i64) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(KeyError::Generate),
        };
        let private_key_pkcs8 = RsaKeyPair::generate(size)
            .and_then(|kp| kp.as_der())
            .map(|der| der.as_ref().to_vec())
            .map_err(|_| KeyError::Generate)?;
        Self::from_parts(Algorithm::Rs256, private_key_pkcs8, None, subject, now_unix)
    }

    /// From a PKCS#8 private key and an optional certificate (both DER); makes a certificate
    /// (as [`KeyMaterial::generate`] does) if none is given. A given certificate must carry
    /// this key's public key, or registries would be handed a bundle that rejects our tokens.
    pub fn from_parts(
        algorithm: Algorithm,
        private_key_pkcs8: Vec<u8>,
        certificate_der: Option<Vec<u8>>,
        subject: &str,
        now_unix: i64,
    ) -> Result<Self, KeyError> {
        let signer = Signer::parse(algorithm, &private_key_pkcs8)?;
        let certificate_der = match certificate_der {
            Some(der) => {
                check_certificate(&der, &signer.spki_der()?)?;
                der
            }
            None => self_signed_certificate(algorithm, &private_key_pkcs8, subject, now_unix)?,
        };
        Ok(Self {
            algorithm,
            private_key_pkcs8,
            certificate_der,
        })
    }
}

/// A parsed key pair.
enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Signer {
    fn parse(algorithm: Algorithm, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let invalid = |reason: String| KeyError::InvalidKey { algorithm, reason };
        match algorithm {
            Algorithm::Rs256 => RsaKeyPair::from_pkcs8(pkcs8)
                .map(Self::Rsa)
                .map_err(|e| invalid(e.to_string())),
            Algorithm::Es256 => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                .map(Self::Ec)
                .map_err(|e| invalid(e.to_string())),
        }
    }

    /// DER SubjectPublicKeyInfo of the public key.
    fn spki_der(&self) -> Result<Vec<u8>, KeyError> {
        let der = match self {
            Self::Rsa(kp) => kp.public_key().as_der().map(|d| d.as_ref().to_vec()),
            Self::Ec(kp) => kp.public_key().as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map_err(|_| KeyError::Generate)
    }

    /// The algorithm-specific JWK members, base64url.
    fn public_parts(&self) -> Result<PublicParts, KeyError> {
        match self {
            Self::Rsa(kp) => {
                let public = kp.public_key();
                Ok(PublicParts::Rsa {
                    n: b64url(public.modulus().big_endian_without_leading_zero()),
                    e: b64url(public.exponent().big_endian_without_leading_zero()),
                })
            }
            Self::Ec(kp) => {
                let point = kp.public_key().as_ref();
                if point.len() != 1 + 2 * P256_COORD_LEN || point[0] != 0x04 {
                    return Err(KeyError::InvalidKey {
                        algorithm: Algorithm::Es256,
                        reason: "unexpected public point encoding".to_owned(),
                    });
                }
                let (x, y) = point[1..].split_at(P256_COORD_LEN);
                Ok(PublicParts::Ec {
                    x: b64url(x),
                    y: b64url(y),
                })
            }
        }
    }

    fn sign(&self, rng: &SystemRandom, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match self {
            Self::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&RSA_PKCS1_SHA256, rng, message, &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                Ok(sig)
            }
            Self::Ec(kp) => kp
                .sign(rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::Sign),
        }
    }
}

/// The public members of a JWK, already base64url-encoded.
enum PublicParts {
    Rsa { n: String, e: String },
    Ec { x: String, y: String },
}

impl PublicParts {
    /// RFC 7638: SHA-256 over the required members, in lexicographic order, no whitespace.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            Self::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            Self::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
        };
        b64url(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

/// A parsed signing key, kept for the life of a realm snapshot so signing never re-parses it.
pub struct SigningKey {
    algorithm: Algorithm,
    signer: Signer,
    rng: SystemRandom,
    public: PublicParts,
    /// PKCS#1 RSAPublicKey or the uncompressed EC point, as aws-lc-rs verifiers take it.
    public_key: Vec<u8>,
    /// DER SubjectPublicKeyInfo: what Keycloak's realm info publishes as `public_key`.
    spki_der: Vec<u8>,
    libtrust_kid: String,
    thumbprint_kid: String,
    certificate_der: Vec<u8>,
    x5c: String,
    x5t: String,
    x5t_s256: String,
    /// The refresh-token MAC key derived from this key pair (see [`RefreshMac`]).
    mac: RefreshMac,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("thumbprint_kid", &self.thumbprint_kid)
            .field("libtrust_kid", &self.libtrust_kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses the key pair and precomputes everything derived from it (key ids, JWK members,
    /// certificate encodings). Fails if the certificate does not carry this key.
    pub fn from_material(material: &KeyMaterial) -> Result<Self, KeyError> {
        let signer = Signer::parse(material.algorithm, &material.private_key_pkcs8)?;
        let spki = signer.spki_der()?;
        check_certificate(&material.certificate_der, &spki)?;
        let public = signer.public_parts()?;
        let public_key = spki_public_key(&spki)
            .ok_or(KeyError::InvalidCertificate)?
            .to_vec();
        let cert = &material.certificate_der;
        let mac = RefreshMac::derive(&material.private_key_pkcs8);
        Ok(Self {
            mac,
            public_key,
            algorithm: material.algorithm,
            libtrust_kid: libtrust_key_id(&spki),
            spki_der: spki.clone(),
            thumbprint_kid: public.thumbprint(),
            x5c: STANDARD.encode(cert),
            x5t: b64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert).as_ref()),
            x5t_s256: b64url(digest::digest(&digest::SHA256, cert).as_ref()),
            certificate_der: cert.clone(),
            public,
            signer,
            rng: SystemRandom::new(),
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The libtrust key id registry 2.8 looks keys up by (reference
    /// docker-token-protocol.md section 2.3).
    pub fn libtrust_kid(&self) -> &str {
        &self.libtrust_kid
    }

    /// RFC 7638 base64url(SHA-256) of the canonical JWK, 43 characters.
    pub fn thumbprint_kid(&self) -> &str {
        &self.thumbprint_kid
    }

    /// The public key as DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate in PEM, 64-character lines, for registry `rootcertbundle` files.
    pub fn certificate_pem(&self) -> String {
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in self.x5c.as_bytes().chunks(64) {
            // base64 output is ASCII, so every chunk is valid UTF-8.
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// Standard base64 of the certificate DER, as in a JWK's `x5c`.
    pub fn x5c(&self) -> String {
        self.x5c.clone()
    }

    /// Public JWK: `kty`, `kid`, `use` "sig", `alg`, `n`/`e` (RSA) or `crv`/`x`/`y` (EC, 32-byte
    /// coordinates), `x5c` [cert], `x5t` and `x5t#S256` (Keycloak publishes both thumbprints).
    pub fn public_jwk(&self, kid: &str) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "kid": kid,
            "use": "sig",
            "alg": self.algorithm.as_str(),
            "x5c": [self.x5c],
            "x5t": self.x5t,
            "x5t#S256": self.x5t_s256,
        });
        let members = match &self.public {
            PublicParts::Rsa { n, e } => serde_json::json!({"kty": "RSA", "n": n, "e": e}),
            PublicParts::Ec { x, y } => {
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})
            }
        };
        if let (Some(jwk), serde_json::Value::Object(members)) = (jwk.as_object_mut(), members) {
            jwk.extend(members);
        }
        jwk
    }

    /// True when `jws` is a compact JWS whose signature this key made. Only this key's
    /// algorithm is tried, whatever the header says; claims (expiry, audience) are the
    /// caller's to check.
    pub fn verify_jws(&self, jws: &str) -> bool {
        let Some((signing_input, signature)) = jws.rsplit_once('.') else {
            return false;
        };
        if signing_input.split('.').count() != 2 {
            return false;
        }
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let algorithm: &dyn signature::VerificationAlgorithm = match self.algorithm {
            Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        };
        signature::UnparsedPublicKey::new(algorithm, &self.public_key)
            .verify(signing_input.as_bytes(), &signature)
            .is_ok()
    }

    /// The refresh-token MAC key derived from this key pair.
    pub fn refresh_mac(&self) -> &RefreshMac {
        &self.mac
    }

    /// Signs a compact JWS: base64url(header_json) "." base64url(claims_json) "."
    /// base64url(signature). RS256 is RSASSA-PKCS1-v1_5 SHA-256; ES256 is the fixed 64-byte
    /// `r||s` form that JOSE (and registry 2.8) require, never DER.
    pub fn sign_jws(&self, header_json: &[u8], claims_json: &[u8]) -> Result<String, KeyError> {
        let mut jws = String::with_capacity((header_json.len() + claims_json.len()) * 4 / 3 + 400);
        URL_SAFE_NO_PAD.encode_string(header_json, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut jws);
        let signature = self.signer.sign(&self.rng, jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut jws);
        Ok(jws)
    }
}

/// The HS512 key refresh tokens are signed with, as Keycloak signs them with its realm HMAC
/// key: only the server ever verifies a refresh token, so an asymmetric signature (which costs
/// as much as the access token's) buys nothing. The key is derived from the private key of a
/// realm key pair (HMAC-SHA512 under the PKCS#8 bytes, a fixed label), so every instance derives
/// the same key without storing another secret, and it rotates and dies with that key pair.
pub struct RefreshMac {
    key: hmac::Key,
    /// `mac-` and 43 characters of base64url(SHA-256) over the derived key: names the key in
    /// the JWS header without revealing it.
    kid: String,
}

impl RefreshMac {
    /// The JWS `alg` of refresh tokens.
    pub const ALGORITHM: &'static str = "HS512";
    const LABEL: &'static [u8] = b"portcullis refresh-token HS512 key v1";

    fn derive(private_key_pkcs8: &[u8]) -> Self {
        let master = hmac::Key::new(hmac::HMAC_SHA512, private_key_pkcs8);
        let derived = hmac::sign(&master, Self::LABEL);
        let kid = format!(
            "mac-{}",
            b64url(digest::digest(&digest::SHA256, derived.as_ref()).as_ref())
        );
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA512, derived.as_ref()),
            kid,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWS over the header and claims JSON, tagged with HMAC-SHA512 (the header must
    /// say `alg` HS512 and this key's `kid`).
    pub fn sign_jws(&self, header_json: &[u8], claims_json: &[u8]) -> String {
        let mut jws = String::with_capacity((header_json.len() + claims_json.len()) * 4 / 3 + 100);
        URL_SAFE_NO_PAD.encode_string(header_json, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut jws);
        let tag = hmac::sign(&self.key, jws.as_bytes());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut jws);
        jws
    }

    /// True when `jws` carries this key's tag (compared in constant time).
    pub fn verify_jws(&self, jws: &str) -> bool {
        let Some((signing_input, tag)) = jws.rsplit_once('.') else {
            return false;
        };
        if signing_input.split('.').count() != 2 {
            return false;
        }
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        hmac::verify(&self.key, signing_input.as_bytes(), &tag).is_ok()
    }
}

/// The libtrust key id: SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, RFC 4648
/// base32 (48 characters), `:` after every 4 characters (59 characters).
pub fn libtrust_key_id(spki_der: &[u8]) -> String {
    let hash = digest::digest(&digest::SHA256, spki_der);
    let encoded = data_encoding::BASE32_NOPAD.encode(&hash.as_ref()[..30]);
    let mut kid = String::with_capacity(59);
    for (i, c) in encoded.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            kid.push(':');
        }
        kid.push(c);
    }
    kid
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn self_signed_certificate(
    algorithm: Algorithm,
    pkcs8: &[u8],
    subject: &str,
    now_unix: i64,
) -> Result<Vec<u8>, KeyError> {
    let cert_error = |e: rcgen::Error| KeyError::Certificate(e.to_string());
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(pkcs8),
        algorithm.certificate_algorithm(),
    )
    .map_err(cert_error)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    params.not_before = timestamp(now_unix.saturating_sub(CERT_BACKDATE_SECS))?;
    params.not_after = timestamp(now_unix.saturating_add(CERT_LIFETIME_SECS))?;
    params.serial_number = Some(random_serial()?);
    let cert = params.self_signed(&key).map_err(cert_error)?;
    Ok(cert.der().to_vec())
}

/// 128 random bits, positive (RFC 5280 section 4.1.2.2).
fn random_serial() -> Result<rcgen::SerialNumber, KeyError> {
    let mut serial = [0u8; 16];
    rand::fill(&mut serial).map_err(|_| KeyError::Generate)?;
    serial[0] &= 0x7f;
    serial[0] |= 0x01; // never a leading zero byte, so the length stays 16
    Ok(rcgen::SerialNumber::from_slice(&serial))
}

fn timestamp(unix: i64) -> Result<OffsetDateTime, KeyError> {
    OffsetDateTime::from_unix_timestamp(unix).map_err(|_| KeyError::Time(unix))
}

/// Fails unless `certificate_der` is an X.509 certificate whose SubjectPublicKeyInfo is `spki`.
fn check_certificate(certificate_der: &[u8], spki: &[u8]) -> Result<(), KeyError> {
    let cert_spki = certificate_spki(certificate_der).ok_or(KeyError::InvalidCertificate)?;
    if cert_spki == spki {
        Ok(())
    } else {
        Err(KeyError::CertificateMismatch)
    }
}

/// The DER SubjectPublicKeyInfo inside an X.509 certificate:
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
/// signature, issuer, validity, subject, subjectPublicKeyInfo, ... }, ... }.
fn certificate_spki(certificate_der: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xa0;
    let (tag, certificate, _) = der_element(certificate_der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = der_element(certificate)?;
    if tag != SEQUENCE {
        return None;
    }
    if der_element(tbs)?.0 == VERSION {
        tbs = der_element(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = der_element(tbs)?.2; // serialNumber, signature, issuer, validity, subject
    }
    let (tag, _, rest) = der_element(tbs)?;
    (tag == SEQUENCE).then(|| &tbs[..tbs.len() - rest.len()])
}

/// Splits one DER element off `input`: (tag, contents, rest). Definite lengths only, as DER
/// requires.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(count);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The subjectPublicKey bit string contents of an SPKI (PKCS#1 for RSA, the point for EC),
/// which is what aws-lc-rs's verifiers take.
fn spki_public_key(spki_der: &[u8]) -> Option<&[u8]> {
    let (_, spki, _) = der_element(spki_der)?;
    let (_, _, rest) = der_element(spki)?; // AlgorithmIdentifier
    let (tag, bits, _) = der_element(rest)?;
    let (&unused_bits, key) = bits.split_first()?;
    (tag == 0x03 && unused_bits == 0).then_some(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn new_material(algorithm: Algorithm) -> KeyMaterial {
        KeyMaterial::generate(algorithm, "team-realm", NOW).unwrap()
    }

    fn spki_of(key: &KeyMaterial) -> Vec<u8> {
        Signer::parse(key.algorithm, &key.private_key_pkcs8)
            .unwrap()
            .spki_der()
            .unwrap()
    }

    /// Verifies with aws-lc-rs from the SPKI alone, independently of [`SigningKey`].
    fn verify_with_spki(algorithm: Algorithm, spki_der: &[u8], jws: &str) -> bool {
        let (signing_input, sig) = jws.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let verify_alg: &dyn signature::VerificationAlgorithm = match algorithm {
            Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::Es256 => &signature::ECDSA_P256_SHA256_FIXED,
        };
        let public_key = spki_public_key(spki_der).unwrap();
        signature::UnparsedPublicKey::new(verify_alg, public_key)
            .verify(signing_input.as_bytes(), &sig)
            .is_ok()
    }

    /// The 91-byte SPKI of a P-256 public point.
    fn p256_spki(x: &[u8], y: &[u8]) -> Vec<u8> {
        let mut spki = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
        ];
        spki.extend_from_slice(x);
        spki.extend_from_slice(y);
        spki
    }

    #[test]
    fn libtrust_kid_matches_the_reference_vector() {
        let x = URL_SAFE_NO_PAD
            .decode("m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q")
            .unwrap();
        let y = URL_SAFE_NO_PAD
            .decode("dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc")
            .unwrap();
        let spki = p256_spki(&x, &y);
        assert_eq!(spki.len(), 91);
        assert_eq!(
            libtrust_key_id(&spki),
            "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"
        );
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        let parts = PublicParts::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".to_owned(),
            e: "AQAB".to_owned(),
        };
        assert_eq!(
            parts.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<SigningKey>();
        assert_send_sync::<crate::verified_cache::VerifiedCache<String>>();
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in [Algorithm::Rs256, Algorithm::Es256] {
            assert_eq!(Algorithm::parse(alg.as_str()), Some(alg));
        }
        for bad in ["rs256", "PS256", "ES384", "none", ""] {
            assert_eq!(Algorithm::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn generated_keys_sign_verifiable_jws() {
        for alg in [Algorithm::Rs256, Algorithm::Es256] {
            let material = new_material(alg);
            let key = SigningKey::from_material(&material).unwrap();
            assert_eq!(key.algorithm(), alg);
            let header = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k"}}"#);
            let claims = br#"{"sub":"alice","aud":"registry"}"#;
            let jws = key.sign_jws(header.as_bytes(), claims).unwrap();
            let parts: Vec<&str> = jws.split('.').collect();
            assert_eq!(parts.len(), 3, "{alg}");
            assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), header.as_bytes());
            assert_eq!(URL_SAFE_NO_PAD.decode(parts[1]).unwrap(), claims);
            let sig_len = URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len();
            let expected_len = if alg == Algorithm::Es256 { 64 } else { 256 };
            assert_eq!(sig_len, expected_len, "{alg}");

            let spki = spki_of(&material);
            assert!(verify_with_spki(alg, &spki, &jws), "{alg}");
            assert!(key.verify_jws(&jws), "{alg}");
            let tampered = jws.replacen("eyJ", "eyK", 1);
            assert!(!verify_with_spki(alg, &spki, &tampered), "{alg}");
            assert!(!key.verify_jws(&tampered), "{alg}");
            let other = SigningKey::from_material(&new_material(alg)).unwrap();
            assert!(!other.verify_jws(&jws), "{alg}: another key");
            for bad in ["", "a.b", "a.b.c.d", &jws[..jws.len() - 2]] {
                assert!(!key.verify_jws(bad), "{alg}: {bad}");
            }
        }
    }

    #[test]
    fn certificate_is_valid_and_carries_the_signing_key() {
        use x509_parser::prelude::{FromDer, X509Certificate};
        for alg in [Algorithm::Rs256, Algorithm::Es256] {
            let material = new_material(alg);
            let key = SigningKey::from_material(&material).unwrap();
            let (rest, cert) = X509Certificate::from_der(key.certificate_der()).unwrap();
            assert!(rest.is_empty());
            let spki = spki_of(&material);
            assert_eq!(cert.public_key().raw, spki.as_slice(), "{alg}");
            assert_eq!(
                certificate_spki(key.certificate_der()),
                Some(spki.as_slice())
            );
            let cn = cert.subject().iter_common_name().next().unwrap();
            assert_eq!(cn.as_str().unwrap(), "team-realm");
            assert_eq!(cert.subject(), cert.issuer());
            assert_eq!(cert.validity().not_before.timestamp(), NOW - DAY_SECS);
            assert_eq!(cert.validity().not_after.timestamp(), NOW + 3652 * DAY_SECS);
            assert_eq!(cert.raw_serial().len(), 16);
            // The libtrust kid hashes exactly the certificate's public key.
            assert_eq!(key.libtrust_kid(), libtrust_key_id(cert.public_key().raw));
        }
    }

    #[test]
    fn jwk_members_and_thumbprint() {
        for alg in [Algorithm::Rs256, Algorithm::Es256] {
            let key = SigningKey::from_material(&new_material(alg)).unwrap();
            let jwk = key.public_jwk("kid-1");
            assert_eq!(jwk["kid"], "kid-1");
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["x5c"][0], key.x5c());
            assert_eq!(STANDARD.decode(key.x5c()).unwrap(), key.certificate_der());
            let s256 = digest::digest(&digest::SHA256, key.certificate_der());
            assert_eq!(jwk["x5t#S256"], b64url(s256.as_ref()));
            let canonical = match alg {
                Algorithm::Rs256 => {
                    assert_eq!(jwk["kty"], "RSA");
                    assert_eq!(jwk["e"], "AQAB");
                    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
                    assert_eq!(n.len(), 256);
                    format!(r#"{{"e":{},"kty":"RSA","n":{}}}"#, jwk["e"], jwk["n"])
                }
                Algorithm::Es256 => {
                    assert_eq!(jwk["kty"], "EC");
                    assert_eq!(jwk["crv"], "P-256");
                    for c in ["x", "y"] {
                        let coord = URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
                        assert_eq!(coord.len(), 32);
                    }
                    format!(
                        r#"{{"crv":"P-256","kty":"EC","x":{},"y":{}}}"#,
                        jwk["x"], jwk["y"]
                    )
                }
            };
            let expected = b64url(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref());
            assert_eq!(key.thumbprint_kid(), expected);
            assert_eq!(key.thumbprint_kid().len(), 43);
            assert_eq!(key.libtrust_kid().len(), 59);
        }
    }

    #[test]
    fn ec_libtrust_kid_from_jwk_coordinates() {
        let key = SigningKey::from_material(&new_material(Algorithm::Es256)).unwrap();
        let jwk = key.public_jwk("k");
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap();
        assert_eq!(key.libtrust_kid(), libtrust_key_id(&p256_spki(&x, &y)));
    }

    #[test]
    fn pem_has_64_character_lines() {
        let key = SigningKey::from_material(&new_material(Algorithm::Es256)).unwrap();
        let pem = key.certificate_pem();
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first(), Some(&"-----BEGIN CERTIFICATE-----"));
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        let body = &lines[1..lines.len() - 1];
        assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
        assert!(!body.last().unwrap().is_empty() && body.last().unwrap().len() <= 64);
        assert_eq!(body.concat(), key.x5c());
    }

    #[test]
    fn from_parts_round_trips_and_checks_the_certificate() {
        let rsa = new_material(Algorithm::Rs256);
        let ec = new_material(Algorithm::Es256);

        let same = KeyMaterial::from_parts(
            Algorithm::Rs256,
            rsa.private_key_pkcs8.clone(),
            Some(rsa.certificate_der.clone()),
            "ignored",
            NOW,
        )
        .unwrap();
        assert_eq!(same, rsa);

        let fresh_cert = KeyMaterial::from_parts(
            Algorithm::Es256,
            ec.private_key_pkcs8.clone(),
            None,
            "x",
            NOW,
        )
        .unwrap();
        assert_eq!(fresh_cert.private_key_pkcs8, ec.private_key_pkcs8);
        assert_eq!(
            certificate_spki(&fresh_cert.certificate_der),
            Some(spki_of(&ec).as_slice())
        );

        let other_ec = new_material(Algorithm::Es256);
        type Row = (&'static str, Algorithm, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<Row> = vec![
            (
                "EC key as RS256",
                Algorithm::Rs256,
                ec.private_key_pkcs8.clone(),
                None,
            ),
            (
                "RSA key as ES256",
                Algorithm::Es256,
                rsa.private_key_pkcs8.clone(),
                None,
            ),
            (
                "garbage key",
                Algorithm::Es256,
                vec![0x30, 0x03, 1, 2, 3],
                None,
            ),
            ("empty key", Algorithm::Rs256, vec![], None),
            (
                "someone else's certificate",
                Algorithm::Es256,
                ec.private_key_pkcs8.clone(),
                Some(other_ec.certificate_der.clone()),
            ),
            (
                "garbage certificate",
                Algorithm::Es256,
                ec.private_key_pkcs8.clone(),
                Some(vec![0x30, 0x82, 0xff]),
            ),
        ];
        for (what, alg, key, cert) in rows {
            assert!(
                KeyMaterial::from_parts(alg, key, cert, "x", NOW).is_err(),
                "{what}"
            );
        }

        let mut mismatched = ec.clone();
        mismatched.certificate_der = other_ec.certificate_der;
        assert!(matches!(
            SigningKey::from_material(&mismatched),
            Err(KeyError::CertificateMismatch)
        ));
    }

    #[test]
    fn der_reader_rejects_truncated_input() {
        let cert = new_material(Algorithm::Es256).certificate_der;
        for len in [0, 1, 2, 10, cert.len() / 2, cert.len() - 1] {
            assert_eq!(certificate_spki(&cert[..len]), None, "{len}");
        }
        assert!(certificate_spki(&cert).is_some());
    }

    #[test]
    fn debug_does_not_leak_private_keys() {
        let material = new_material(Algorithm::Es256);
        let key = SigningKey::from_material(&material).unwrap();
        let needle = format!("{:?}", &material.private_key_pkcs8[..8]);
        for shown in [format!("{key:?}"), format!("{material:?}")] {
            assert!(!shown.contains(&needle[1..needle.len() - 1]), "{shown}");
            assert!(
                shown.contains("ES256") || shown.contains("Es256"),
                "{shown}"
            );
        }
    }
}
