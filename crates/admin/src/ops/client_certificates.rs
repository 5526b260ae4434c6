//! A client's key certificates (`clients/{id}/certificates/{attr}`), Keycloak's
//! `ClientAttributeCertificateResource`: the certificate, public key and key id kept in the
//! client attributes `{attr}.certificate`, `{attr}.public.key` and `{attr}.kid` (base64 DER).
//! For `jwt.credential` they are the key the client signs `private_key_jwt` assertions with.
//! A generated private key is returned once and never stored.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis_core::jwk::PublicJwk;
use portcullis_core::keys::{Algorithm, KeyMaterial};
use portcullis_store::admin;
use serde::Serialize;
use serde_json::Value;

use super::Ops;
use super::lookup::find_client;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// Keycloak's `CertificateRepresentation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// The key formats `upload` reads and `download` writes.
pub const CERTIFICATE_PEM: &str = "Certificate PEM";
pub const PUBLIC_KEY_PEM: &str = "Public Key PEM";
pub const JSON_WEB_KEY_SET: &str = "JSON Web Key Set";

/// Attribute prefixes: Keycloak's names, so nothing else of the client can be written here.
fn check_attr(attr: &str) -> Result<(), AdminError> {
    let ok = !attr.is_empty()
        && attr.len() <= 64
        && attr
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    match ok {
        true => Ok(()),
        false => Err(AdminError::not_found("Unknown certificate attribute")),
    }
}

fn attributes_of(row: &portcullis_store::entity::client::Model) -> BTreeMap<String, String> {
    serde_json::from_str(&row.attributes).unwrap_or_default()
}

fn rep_of(attributes: &BTreeMap<String, String>, attr: &str) -> CertificateRep {
    let get = |suffix: &str| attributes.get(&format!("{attr}.{suffix}")).cloned();
    CertificateRep {
        private_key: None,
        public_key: get("public.key"),
        certificate: get("certificate"),
        kid: get("kid"),
    }
}

/// The client's key info under `attr` (`view-clients`).
pub async fn get(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    attr: &str,
) -> Result<CertificateRep, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let client = find_client(ops.state.store().connection(), &realm_row.id, client_uuid).await?;
    check_attr(attr)?;
    Ok(rep_of(&attributes_of(&client), attr))
}

/// Replaces the key info under `attr` (`manage-clients`); `None` parts are removed.
async fn store(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    attr: &str,
    rep: &CertificateRep,
    action: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    check_attr(attr)?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut row = find_client(change.db(), &realm_row.id, client_uuid).await?;
    let mut attributes = attributes_of(&row);
    for (suffix, value) in [
        ("certificate", &rep.certificate),
        ("public.key", &rep.public_key),
        ("kid", &rep.kid),
    ] {
        let name = format!("{attr}.{suffix}");
        match value {
            Some(v) => attributes.insert(name, v.clone()),
            None => attributes.remove(&name),
        };
    }
    row.attributes = crate::rep::to_column(&attributes)?;
    admin::clients::update(change.db(), row).await?;
    let path = format!("clients/{client_uuid}/certificates/{attr}/{action}");
    change.record(Event::new(Op::Action, "CLIENT", path));
    change.commit().await
}

/// A new RSA key pair with a self-signed certificate (CN = the `clientId`) under `attr`
/// (`manage-clients`); the answer carries the private key, which is not kept.
pub async fn generate(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    attr: &str,
) -> Result<CertificateRep, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let client = find_client(ops.state.store().connection(), &realm_row.id, client_uuid).await?;
    check_attr(attr)?;
    let material = KeyMaterial::generate(Algorithm::Rs256, &client.client_id, ops.state.now())
        .map_err(|e| AdminError::Internal(format!("generating a client key: {e}")))?;
    let stored = CertificateRep {
        certificate: Some(STANDARD.encode(&material.certificate_der)),
        ..CertificateRep::default()
    };
    store(ops, realm, client_uuid, attr, &stored, "generate").await?;
    Ok(CertificateRep {
        private_key: Some(STANDARD.encode(&material.private_key_pkcs8)),
        ..stored
    })
}

/// A key uploaded in `format` (`manage-clients`): a certificate or public key in PEM, or a
/// JWKS (its first signature key). Returns what is now stored.
pub async fn upload(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    attr: &str,
    format: &str,
    file: &[u8],
) -> Result<CertificateRep, AdminError> {
    // The caller's right first, so a caller without it learns nothing from the file's errors.
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    find_client(ops.state.store().connection(), &realm_row.id, client_uuid).await?;
    let text = std::str::from_utf8(file)
        .map_err(|_| AdminError::BadRequest("The uploaded file is not text".into()))?;
    let rep = parse_upload(format, text)?;
    store(ops, realm, client_uuid, attr, &rep, "upload").await?;
    Ok(rep)
}

/// What an uploaded file says, checked: the key must be one tokens can be verified with.
pub fn parse_upload(format: &str, text: &str) -> Result<CertificateRep, AdminError> {
    let bad = |m: &str| AdminError::BadRequest(m.to_string());
    match format {
        CERTIFICATE_PEM => {
            let der = pem_body(text, "CERTIFICATE").ok_or_else(|| bad("Not a PEM certificate"))?;
            PublicJwk::from_certificate_der(&der)
                .ok_or_else(|| bad("The certificate's key is not an RSA or EC key"))?;
            Ok(CertificateRep {
                certificate: Some(STANDARD.encode(der)),
                ..CertificateRep::default()
            })
        }
        PUBLIC_KEY_PEM => {
            let der = pem_body(text, "PUBLIC KEY").ok_or_else(|| bad("Not a PEM public key"))?;
            PublicJwk::from_spki_der(&der)
                .ok_or_else(|| bad("The public key is not an RSA or EC key"))?;
            Ok(CertificateRep {
                public_key: Some(STANDARD.encode(der)),
                ..CertificateRep::default()
            })
        }
        JSON_WEB_KEY_SET => {
            let document: Value =
                serde_json::from_str(text).map_err(|_| bad("Not a JSON Web Key Set"))?;
            let key = document
                .get("keys")
                .and_then(Value::as_array)
                .and_then(|keys| {
                    keys.iter()
                        .filter_map(Value::as_object)
                        .find(|k| k.get("use").and_then(Value::as_str) != Some("enc"))
                })
                .ok_or_else(|| bad("The key set has no signature key"))?;
            let kid = key.get("kid").and_then(Value::as_str).map(str::to_string);
            if let Some(cert) = key
                .get("x5c")
                .and_then(Value::as_array)
                .and_then(|c| c.first())
                .and_then(Value::as_str)
            {
                let der = STANDARD
                    .decode(cert)
                    .map_err(|_| bad("The key's x5c is not base64"))?;
                PublicJwk::from_certificate_der(&der)
                    .ok_or_else(|| bad("The key's certificate does not parse"))?;
                return Ok(CertificateRep {
                    certificate: Some(cert.to_string()),
                    kid,
                    ..CertificateRep::default()
                });
            }
            let spki =
                jwk_spki_der(key).ok_or_else(|| bad("The key is not an RSA or EC P-256 key"))?;
            Ok(CertificateRep {
                public_key: Some(STANDARD.encode(spki)),
                kid,
                ..CertificateRep::default()
            })
        }
        other => Err(bad(&format!("Unsupported keystore format: {other}"))),
    }
}

/// The stored key in PEM (`Certificate PEM`, `Public Key PEM`) (`view-clients`).
pub async fn download(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    attr: &str,
    format: &str,
) -> Result<String, AdminError> {
    let rep = get(ops, realm, client_uuid, attr).await?;
    let missing = || AdminError::NotFound("The client has no such key".into());
    match format {
        CERTIFICATE_PEM => Ok(pem(
            "CERTIFICATE",
            rep.certificate.as_deref().ok_or_else(missing)?,
        )),
        PUBLIC_KEY_PEM => {
            let spki = match (&rep.public_key, &rep.certificate) {
                (Some(key), _) => key.clone(),
                (None, Some(cert)) => {
                    let der = STANDARD.decode(cert).map_err(|_| missing())?;
                    STANDARD.encode(certificate_spki(&der).ok_or_else(missing)?)
                }
                (None, None) => return Err(missing()),
            };
            Ok(pem("PUBLIC KEY", &spki))
        }
        other => Err(AdminError::BadRequest(format!(
            "Unsupported keystore format: {other}"
        ))),
    }
}

fn certificate_spki(der: &[u8]) -> Option<Vec<u8>> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(cert.public_key().raw.to_vec())
}

/// Base64 body lines of a PEM block, 64 characters each.
fn pem(label: &str, base64: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in base64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block labelled `label`; a bare base64 body is taken too
/// (Keycloak's own exports leave the armour out).
fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = match text.find(&begin) {
        Some(start) => {
            let rest = &text[start + begin.len()..];
            &rest[..rest.find(&end)?]
        }
        None if !text.contains("-----") => text,
        None => return None,
    };
    let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(compact).ok().filter(|d| !d.is_empty())
}

/// DER SubjectPublicKeyInfo of an RSA or EC P-256 JWK.
fn jwk_spki_der(jwk: &serde_json::Map<String, Value>) -> Option<Vec<u8>> {
    let bytes = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
    };
    match jwk.get("kty").and_then(Value::as_str)? {
        "RSA" => {
            let key = der_seq(&[der_uint(&bytes("n")?), der_uint(&bytes("e")?)]);
            // rsaEncryption, NULL parameters.
            let algorithm = der_seq(&[
                der(
                    0x06,
                    &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
                ),
                vec![0x05, 0x00],
            ]);
            Some(der_seq(&[algorithm, der_bit_string(&key)]))
        }
        "EC" if jwk.get("crv").and_then(Value::as_str) == Some("P-256") => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = vec![0x04];
            point.extend(x);
            point.extend(y);
            // id-ecPublicKey, prime256v1.
            let algorithm = der_seq(&[
                der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
                der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            ]);
            Some(der_seq(&[algorithm, der_bit_string(&point)]))
        }
        _ => None,
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

/// A positive INTEGER: leading zeros dropped, one added when the top bit is set.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.get(start).is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(&bytes[start..]);
    der(0x02, &content)
}

fn der_bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(bytes);
    der(0x03, &content)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uploads_in_every_format() {
        let material = KeyMaterial::generate(Algorithm::Rs256, "app", 1_700_000_000).unwrap();
        let key = portcullis_core::keys::SigningKey::from_material(&material).unwrap();
        let cert_pem = key.certificate_pem();
        let rep = parse_upload(CERTIFICATE_PEM, &cert_pem).unwrap();
        assert_eq!(
            rep.certificate,
            Some(STANDARD.encode(key.certificate_der()))
        );
        let spki_pem = pem("PUBLIC KEY", &STANDARD.encode(key.spki_der()));
        let rep = parse_upload(PUBLIC_KEY_PEM, &spki_pem).unwrap();
        assert_eq!(rep.public_key, Some(STANDARD.encode(key.spki_der())));
        // A JWKS without x5c: the SPKI built from n and e is the key's own.
        let mut jwk = key.public_jwk("k1");
        jwk.as_object_mut().unwrap().remove("x5c");
        let rep = parse_upload(JSON_WEB_KEY_SET, &json!({"keys": [jwk]}).to_string()).unwrap();
        assert_eq!(rep.public_key, Some(STANDARD.encode(key.spki_der())));
        assert_eq!(rep.kid.as_deref(), Some("k1"));
        let material = KeyMaterial::generate(Algorithm::Es256, "app", 1_700_000_000).unwrap();
        let key = portcullis_core::keys::SigningKey::from_material(&material).unwrap();
        let mut jwk = key.public_jwk("e1");
        jwk.as_object_mut().unwrap().remove("x5c");
        let rep = parse_upload(JSON_WEB_KEY_SET, &json!({"keys": [jwk]}).to_string()).unwrap();
        assert_eq!(rep.public_key, Some(STANDARD.encode(key.spki_der())));
        for (format, text) in [
            (CERTIFICATE_PEM, "nonsense"),
            (PUBLIC_KEY_PEM, cert_pem.as_str()),
            (JSON_WEB_KEY_SET, "{}"),
            ("JKS", "x"),
        ] {
            assert!(parse_upload(format, text).is_err(), "{format}");
        }
        assert_eq!(
            rep_of(&BTreeMap::new(), "jwt.credential"),
            CertificateRep::default()
        );
    }
}
