//! Realm signing keys as Keycloak's `org.keycloak.keys.KeyProvider` components, so a realm
//! exported by Keycloak keeps its keys here, and one exported here keeps them in Keycloak.
//!
//! Keycloak writes RSA keys (`rsa`, `rsa-generated`) as `privateKey` = the base64 body of a PEM
//! written by BouncyCastle, which is PKCS#1 (`RSA PRIVATE KEY`); its reader accepts PKCS#8 too,
//! so both are read here and PKCS#1 is written. `certificate` is the base64 DER certificate.
//! ECDSA keys (`ecdsa-generated`) are `ecdsaPrivateKey` = base64 PKCS#8 and `ecdsaPublicKey` =
//! base64 SubjectPublicKeyInfo, with the curve in `ecdsaEllipticCurveKey`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::keys::{Algorithm, KeyMaterial};

use crate::error::StoreError;
use crate::representation::{ComponentRepresentation, MultiMap};

/// The component type holding signing keys.
pub const KEY_PROVIDER_TYPE: &str = "org.keycloak.keys.KeyProvider";

/// Priority given to keys generated for a new realm (Keycloak's default).
pub const DEFAULT_PRIORITY: i64 = 100;

/// A signing key read from a realm file.
#[derive(Debug)]
pub(crate) struct ImportedKey {
    pub id: Option<String>,
    pub material: KeyMaterial,
    pub priority: i64,
    pub enabled: bool,
}

/// Reads the signing keys a realm file carries. Providers without private key material (partial
/// exports) and non-signing providers (HMAC, AES, RSA-OAEP) are skipped; malformed key material
/// is an error, since silently replacing a realm's keys invalidates every token it issued.
pub(crate) fn keys_from_components(
    components: &std::collections::BTreeMap<String, Vec<ComponentRepresentation>>,
    subject: &str,
    now_unix: i64,
) -> Result<Vec<ImportedKey>, StoreError> {
    let Some(providers) = components.get(KEY_PROVIDER_TYPE) else {
        return Ok(Vec::new());
    };
    let mut keys = Vec::new();
    for component in providers {
        if let Some(key) = key_from_component(component, subject, now_unix)? {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn key_from_component(
    component: &ComponentRepresentation,
    subject: &str,
    now_unix: i64,
) -> Result<Option<ImportedKey>, StoreError> {
    let provider = component.provider_id.as_deref().unwrap_or("");
    let label = component.name.as_deref().unwrap_or(provider);
    let parts = match provider {
        "rsa" | "rsa-generated" => rsa_parts(component, label)?,
        "ecdsa-generated" => ecdsa_parts(component, label)?,
        _ => {
            tracing::debug!(
                provider,
                "key provider not imported: not a signing key we use"
            );
            None
        }
    };
    let Some((algorithm, pkcs8, certificate)) = parts else {
        return Ok(None);
    };
    let material = KeyMaterial::from_parts(algorithm, pkcs8, certificate, subject, now_unix)
        .map_err(|e| StoreError::Invalid(format!("key provider '{label}': {e}")))?;
    let flag = |key: &str| component.config_value(key) != Some("false");
    let priority = match component.config_value("priority") {
        Some(p) => p.trim().parse().map_err(|_| {
            StoreError::Invalid(format!(
                "key provider '{label}': priority '{p}' is not a number"
            ))
        })?,
        None => 0,
    };
    Ok(Some(ImportedKey {
        id: component.id.clone(),
        material,
        priority,
        enabled: flag("enabled") && flag("active"),
    }))
}

type Parts = Option<(Algorithm, Vec<u8>, Option<Vec<u8>>)>;

fn rsa_parts(component: &ComponentRepresentation, label: &str) -> Result<Parts, StoreError> {
    let Some(private) = component.config_value("privateKey") else {
        return Ok(None);
    };
    if let Some(alg) = component
        .config_value("algorithm")
        .filter(|a| *a != "RS256")
    {
        tracing::warn!(
            key = label,
            algorithm = alg,
            "RSA key imported for RS256 signing"
        );
    }
    let der = pem_body_to_der(private, label, "privateKey")?;
    let pkcs8 = if der::is_pkcs8(&der) {
        der
    } else {
        der::rsa_pkcs1_to_pkcs8(&der)
    };
    let certificate = optional_der(component, "certificate", label)?;
    Ok(Some((Algorithm::Rs256, pkcs8, certificate)))
}

fn ecdsa_parts(component: &ComponentRepresentation, label: &str) -> Result<Parts, StoreError> {
    let Some(private) = component.config_value("ecdsaPrivateKey") else {
        return Ok(None);
    };
    match component.config_value("ecdsaEllipticCurveKey") {
        None | Some("P-256") => {}
        Some(curve) => {
            tracing::warn!(
                key = label,
                curve,
                "ECDSA key not imported: only P-256 is supported"
            );
            return Ok(None);
        }
    }
    let pkcs8 = pem_body_to_der(private, label, "ecdsaPrivateKey")?;
    let certificate = optional_der(component, "certificate", label)?;
    Ok(Some((Algorithm::Es256, pkcs8, certificate)))
}

fn optional_der(
    component: &ComponentRepresentation,
    key: &str,
    label: &str,
) -> Result<Option<Vec<u8>>, StoreError> {
    component
        .config_value(key)
        .map(|body| pem_body_to_der(body, label, key))
        .transpose()
}

/// Decodes a PEM body (or a whole PEM block) to DER, as Keycloak's `PemUtils.pemToDer`.
fn pem_body_to_der(text: &str, label: &str, field: &str) -> Result<Vec<u8>, StoreError> {
    let body: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    STANDARD
        .decode(body.as_bytes())
        .map_err(|_| StoreError::Invalid(format!("key provider '{label}': {field} is not base64")))
}

/// The component Keycloak would export for a stored key: `rsa-generated` (PKCS#1 private key)
/// or `ecdsa-generated` (PKCS#8 private key, SPKI public key).
pub fn component_for_key(
    id: &str,
    algorithm: Algorithm,
    pkcs8: &[u8],
    certificate: &[u8],
    priority: i64,
    enabled: bool,
) -> ComponentRepresentation {
    let flag = if enabled { "true" } else { "false" };
    let mut config = MultiMap::new();
    let mut put = |k: &str, v: String| {
        config.insert(k.to_string(), vec![v]);
    };
    put("priority", priority.to_string());
    put("enabled", flag.to_string());
    put("active", flag.to_string());
    put("certificate", STANDARD.encode(certificate));
    let (provider, name) = match algorithm {
        Algorithm::Rs256 => {
            let private = der::rsa_pkcs8_to_pkcs1(pkcs8).unwrap_or_else(|| pkcs8.to_vec());
            put("privateKey", STANDARD.encode(private));
            put("algorithm", "RS256".to_string());
            ("rsa-generated", "rsa-generated")
        }
        Algorithm::Es256 => {
            put("ecdsaPrivateKey", STANDARD.encode(pkcs8));
            if let Some(spki) = der::certificate_spki(certificate) {
                put("ecdsaPublicKey", STANDARD.encode(spki));
            }
            put("ecdsaEllipticCurveKey", "P-256".to_string());
            ("ecdsa-generated", "ecdsa-generated")
        }
    };
    ComponentRepresentation {
        id: Some(id.to_string()),
        name: Some(name.to_string()),
        provider_id: Some(provider.to_string()),
        sub_type: None,
        sub_components: Default::default(),
        config,
    }
}

/// Just enough DER to move RSA keys between PKCS#1 and PKCS#8 and to find a certificate's
/// public key.
mod der {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const OCTET_STRING: u8 = 0x04;
    /// AlgorithmIdentifier { rsaEncryption, NULL }.
    const RSA_ALGORITHM_ID: [u8; 15] = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];

    /// One TLV: (tag, the whole element, its content).
    type Element<'a> = (u8, &'a [u8], &'a [u8]);

    /// The first element of `input`; None if malformed.
    fn element(input: &[u8]) -> Option<Element<'_>> {
        let tag = *input.first()?;
        let first = *input.get(1)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return None;
            }
            let bytes = input.get(2..2 + count)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + count)
        };
        let end = header.checked_add(len)?;
        Some((tag, input.get(..end)?, input.get(header..end)?))
    }

    /// The elements inside a SEQUENCE's content.
    fn children(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
        let mut out = Vec::new();
        while !content.is_empty() {
            let item = element(content)?;
            content = &content[item.1.len()..];
            out.push(item);
        }
        Some(out)
    }

    fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
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

    /// PKCS#8 `PrivateKeyInfo` starts `SEQUENCE { INTEGER version, SEQUENCE algorithm, ... }`;
    /// PKCS#1 `RSAPrivateKey` has an INTEGER (the modulus) second.
    pub fn is_pkcs8(der: &[u8]) -> bool {
        let Some((SEQUENCE, _, content)) = element(der) else {
            return false;
        };
        matches!(
            children(content).as_deref(),
            Some([(INTEGER, _, _), (SEQUENCE, _, _), ..])
        )
    }

    pub fn rsa_pkcs1_to_pkcs8(pkcs1: &[u8]) -> Vec<u8> {
        let mut content = encode(INTEGER, &[0]);
        content.extend_from_slice(&RSA_ALGORITHM_ID);
        content.extend(encode(OCTET_STRING, pkcs1));
        encode(SEQUENCE, &content)
    }

    /// The PKCS#1 key inside an RSA PKCS#8 document.
    pub fn rsa_pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
        let (SEQUENCE, _, content) = element(pkcs8)? else {
            return None;
        };
        match children(content)?.as_slice() {
            [
                (INTEGER, _, _),
                (SEQUENCE, algorithm, _),
                (OCTET_STRING, _, key),
                ..,
            ] if *algorithm == RSA_ALGORITHM_ID => Some(key.to_vec()),
            _ => None,
        }
    }

    /// The SubjectPublicKeyInfo of an X.509 certificate.
    pub fn certificate_spki(cert: &[u8]) -> Option<Vec<u8>> {
        let (SEQUENCE, _, cert_content) = element(cert)? else {
            return None;
        };
        let (SEQUENCE, _, tbs) = *children(cert_content)?.first()? else {
            return None;
        };
        let fields = children(tbs)?;
        // [0] version is optional; then serial, signature, issuer, validity, subject, spki.
        let skip = usize::from(fields.first()?.0 == 0xa0);
        fields.get(skip + 5).map(|(_, whole, _)| whole.to_vec())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lengths_round_trip() {
            for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
                let content = vec![7u8; len];
                let encoded = encode(OCTET_STRING, &content);
                let (tag, whole, inner) = element(&encoded).unwrap();
                assert_eq!(
                    (tag, whole.len(), inner),
                    (OCTET_STRING, encoded.len(), &content[..])
                );
            }
        }

        #[test]
        fn rejects_truncated_input() {
            for input in [
                &[][..],
                &[0x30],
                &[0x30, 0x05, 1, 2],
                &[0x30, 0x85, 1, 1, 1, 1, 1],
            ] {
                assert!(element(input).is_none(), "{input:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn component(provider: &str, config: &[(&str, &str)]) -> ComponentRepresentation {
        ComponentRepresentation {
            id: Some("k1".into()),
            name: Some(provider.into()),
            provider_id: Some(provider.into()),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rsa_and_ec_keys_round_trip_through_components() {
        for algorithm in [Algorithm::Rs256, Algorithm::Es256] {
            let material = KeyMaterial::generate(algorithm, "r", 1_700_000_000).unwrap();
            let exported = component_for_key(
                "kid-1",
                algorithm,
                &material.private_key_pkcs8,
                &material.certificate_der,
                150,
                false,
            );
            if algorithm == Algorithm::Rs256 {
                let private = STANDARD
                    .decode(exported.config_value("privateKey").unwrap())
                    .unwrap();
                assert!(!der::is_pkcs8(&private), "RSA keys are written as PKCS#1");
            } else {
                let spki = STANDARD
                    .decode(exported.config_value("ecdsaPublicKey").unwrap())
                    .unwrap();
                assert_eq!(spki[0], 0x30);
            }
            let mut components = BTreeMap::new();
            components.insert(KEY_PROVIDER_TYPE.to_string(), vec![exported]);
            let keys = keys_from_components(&components, "r", 1_700_000_000).unwrap();
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].material, material);
            assert_eq!(keys[0].priority, 150);
            assert!(!keys[0].enabled);
            assert_eq!(keys[0].id.as_deref(), Some("kid-1"));
        }
    }

    #[test]
    fn accepts_pkcs8_rsa_and_pem_armour() {
        let material = KeyMaterial::generate(Algorithm::Rs256, "r", 1_700_000_000).unwrap();
        let body = STANDARD.encode(&material.private_key_pkcs8);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY-----\n",
            &body[..64],
            &body[64..]
        );
        let c = component("rsa", &[("privateKey", &pem), ("priority", "5")]);
        let key = key_from_component(&c, "r", 1_700_000_000).unwrap().unwrap();
        assert_eq!(key.material.private_key_pkcs8, material.private_key_pkcs8);
        assert_eq!(key.priority, 5);
        assert!(key.enabled);
    }

    #[test]
    fn skips_or_rejects_components() {
        let skipped = [
            component("hmac-generated", &[("secret", "abc")]),
            component("rsa-generated", &[("priority", "100")]),
            component(
                "ecdsa-generated",
                &[
                    ("ecdsaPrivateKey", "AAAA"),
                    ("ecdsaEllipticCurveKey", "P-384"),
                ],
            ),
        ];
        for c in skipped {
            assert!(key_from_component(&c, "r", 0).unwrap().is_none(), "{c:?}");
        }
        let rejected = [
            component("rsa", &[("privateKey", "!!notbase64")]),
            component("rsa", &[("privateKey", "AAAA")]),
            component("ecdsa-generated", &[("ecdsaPrivateKey", "AAAA")]),
        ];
        for c in rejected {
            assert!(
                matches!(key_from_component(&c, "r", 0), Err(StoreError::Invalid(_))),
                "{c:?}"
            );
        }
    }
}
