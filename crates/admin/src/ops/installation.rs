//! `clients/{id}/installation/providers/{providerId}`: the configuration files Keycloak's
//! installation providers write for a client, with this realm's real URLs and certificates.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::keys::{Algorithm, KeyMaterial};
use portcullis_store::admin;
use serde_json::{Map, Value, json};

use super::Ops;
use super::lookup::find_client;
use crate::auth::Right;
use crate::context::target_realm;
use crate::error::AdminError;

/// A generated file: its media type, its bytes, and a file name for attachments.
#[derive(Debug, Clone)]
pub struct Installation {
    pub media_type: &'static str,
    pub body: Vec<u8>,
    pub file_name: Option<&'static str>,
}

/// An installation provider as `/admin/serverinfo` lists it under `clientInstallations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderInfo {
    pub id: &'static str,
    pub protocol: &'static str,
    pub display_type: &'static str,
    pub help_text: &'static str,
    pub filename: &'static str,
    pub media_type: &'static str,
    pub download_only: bool,
}

/// The providers this server writes, with Keycloak's ids.
pub const PROVIDERS: [ProviderInfo; 4] = [
    ProviderInfo {
        id: "keycloak-oidc-keycloak-json",
        protocol: "openid-connect",
        display_type: "Keycloak OIDC JSON",
        help_text: "keycloak.json file used by the Keycloak OIDC client adapter to configure clients.",
        filename: "keycloak.json",
        media_type: "application/json",
        download_only: false,
    },
    ProviderInfo {
        id: "docker-v2-registry-config-file",
        protocol: "docker-v2",
        display_type: "Registry Config File",
        help_text: "The auth section of a docker registry's config.yml for this client.",
        filename: "config.yml",
        media_type: "text/plain",
        download_only: false,
    },
    ProviderInfo {
        id: "docker-v2-variable-override",
        protocol: "docker-v2",
        display_type: "Variable Override",
        help_text: "Environment variables that point a docker registry at this client.",
        filename: "docker-env.txt",
        media_type: "text/plain",
        download_only: false,
    },
    ProviderInfo {
        id: "docker-v2-docker-compose-yaml",
        protocol: "docker-v2",
        display_type: "Docker Compose YAML",
        help_text: "A docker-compose project running a registry that trusts this realm's tokens.",
        filename: "keycloak-docker-compose-yaml.zip",
        media_type: "application/zip",
        download_only: true,
    },
];

/// The file `provider` writes for the client (`view-clients`); 404 for an unknown provider.
pub async fn generate(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    provider: &str,
) -> Result<Installation, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, client_uuid).await?;
    if !PROVIDERS.iter().any(|p| p.id == provider) {
        return Err(AdminError::not_found("Unknown Provider"));
    }
    let urls = ops.state.urls();
    let server = format!("{}{}", urls.base_url, urls.relative_path);
    let issuer = ops.state.issuer(&realm_row.name);
    let docker_realm = format!("{issuer}/protocol/docker-v2/auth");
    let text = |body: String| Installation {
        media_type: "text/plain; charset=utf-8",
        body: body.into_bytes(),
        file_name: None,
    };
    match provider {
        "keycloak-oidc-keycloak-json" => {
            let realm_extras = admin::extras::get(db, &realm_row.id).await?;
            let has_roles = !admin::clients::roles_after(db, &client.id, None, 1)
                .await?
                .is_empty();
            let config = keycloak_json(&KeycloakJson {
                realm: &realm_row.name,
                server: &server,
                ssl_required: realm_extras
                    .get("sslRequired")
                    .and_then(Value::as_str)
                    .unwrap_or("external"),
                client: &client,
                authenticator: &client.client_authenticator_type,
                has_roles,
            });
            let body = serde_json::to_vec_pretty(&config)
                .map_err(|e| AdminError::Internal(e.to_string()))?;
            Ok(Installation {
                media_type: "application/json",
                body,
                file_name: None,
            })
        }
        "docker-v2-registry-config-file" => Ok(text(format!(
            "auth:\n  token:\n    realm: {docker_realm}\n    service: {}\n    issuer: {issuer}\n",
            client.client_id
        ))),
        "docker-v2-variable-override" => Ok(text(format!(
            "-e REGISTRY_AUTH_TOKEN_REALM={docker_realm} \\\n-e REGISTRY_AUTH_TOKEN_SERVICE={} \\\n-e REGISTRY_AUTH_TOKEN_ISSUER={issuer} \\\n",
            client.client_id
        ))),
        _ => {
            let snapshot = ops
                .state
                .realm(&realm_row.name)
                .await?
                .ok_or_else(|| AdminError::not_found("Realm not found."))?;
            let trust_chain: String = snapshot.keys.iter().map(|k| k.certificate_pem()).collect();
            let tls = KeyMaterial::generate(Algorithm::Rs256, "localhost", ops.state.now())
                .map_err(|e| AdminError::Internal(format!("registry TLS key: {e}")))?;
            let compose = format!(
                "registry:\n  image: registry:2\n  ports:\n    - 127.0.0.1:5000:5000\n  environment:\n    REGISTRY_HTTP_TLS_CERTIFICATE: /opt/certs/localhost.crt\n    REGISTRY_HTTP_TLS_KEY: /opt/certs/localhost.key\n    REGISTRY_AUTH_TOKEN_REALM: {docker_realm}\n    REGISTRY_AUTH_TOKEN_SERVICE: {}\n    REGISTRY_AUTH_TOKEN_ISSUER: {issuer}\n    REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE: /opt/certs/localhost_trust_chain.pem\n  volumes:\n    - ./data:/var/lib/registry:z\n    - ./certs:/opt/certs:z\n",
                client.client_id
            );
            let files = [
                ("keycloak-docker-compose-yaml/data/", Vec::new()),
                ("keycloak-docker-compose-yaml/certs/", Vec::new()),
                (
                    "keycloak-docker-compose-yaml/certs/localhost.crt",
                    pem("CERTIFICATE", &tls.certificate_der).into_bytes(),
                ),
                (
                    "keycloak-docker-compose-yaml/certs/localhost.key",
                    pem("PRIVATE KEY", &tls.private_key_pkcs8).into_bytes(),
                ),
                (
                    "keycloak-docker-compose-yaml/certs/localhost_trust_chain.pem",
                    trust_chain.into_bytes(),
                ),
                (
                    "keycloak-docker-compose-yaml/docker-compose.yaml",
                    compose.into_bytes(),
                ),
            ];
            Ok(Installation {
                media_type: "application/zip",
                body: zip(&files, ops.state.now()),
                file_name: Some("keycloak.zip"),
            })
        }
    }
}

struct KeycloakJson<'a> {
    realm: &'a str,
    server: &'a str,
    ssl_required: &'a str,
    client: &'a portcullis_store::entity::client::Model,
    authenticator: &'a str,
    has_roles: bool,
}

/// Keycloak's `keycloak.json` adapter configuration, its keys in Keycloak's order.
fn keycloak_json(c: &KeycloakJson<'_>) -> Value {
    let mut m = Map::new();
    m.insert("realm".into(), json!(c.realm));
    if c.client.bearer_only {
        m.insert("bearer-only".into(), json!(true));
    }
    m.insert("auth-server-url".into(), json!(format!("{}/", c.server)));
    m.insert("ssl-required".into(), json!(c.ssl_required));
    m.insert("resource".into(), json!(c.client.client_id));
    if c.client.public_client && !c.client.bearer_only {
        m.insert("public-client".into(), json!(true));
    }
    if !c.client.public_client {
        let credentials = match c.authenticator {
            "client-jwt" => json!({"jwt": {
                "client-keystore-file": "REPLACE WITH THE LOCATION OF YOUR KEYSTORE FILE",
                "client-keystore-type": "jks",
                "client-keystore-password": "REPLACE WITH THE KEYSTORE PASSWORD",
                "client-key-password": "REPLACE WITH THE KEY PASSWORD IN YOUR KEYSTORE",
                "client-key-alias": c.client.client_id,
                "token-timeout": 10,
            }}),
            _ => json!({"secret": c.client.secret.clone().unwrap_or_default()}),
        };
        m.insert("credentials".into(), credentials);
    }
    if c.has_roles {
        m.insert("use-resource-role-mappings".into(), json!(true));
    }
    m.insert("confidential-port".into(), json!(0));
    Value::Object(m)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A zip archive of the files, stored uncompressed (names ending in `/` are directories).
fn zip(files: &[(&str, Vec<u8>)], now: i64) -> Vec<u8> {
    let (dos_time, dos_date) = dos_datetime(now);
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let name_bytes = name.as_bytes();
        let common = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&0u16.to_le_bytes()); // stored
            buf.extend_from_slice(&dos_time.to_le_bytes());
            buf.extend_from_slice(&dos_date.to_le_bytes());
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&size.to_le_bytes());
            buf.extend_from_slice(&(name_bytes.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name_bytes);
        out.extend_from_slice(data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment length
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        let external: u32 = if name.ends_with('/') { 0x10 } else { 0 };
        central.extend_from_slice(&external.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name_bytes);
    }
    let central_offset = out.len() as u32;
    let central_size = central.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&central_size.to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// MS-DOS time and date fields (UTC), as zip headers carry them.
fn dos_datetime(unix: i64) -> (u16, u16) {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return (0, 0x21);
    };
    let year = (t.year() - 1980).clamp(0, 127) as u16;
    let date = (year << 9) | ((u8::from(t.month()) as u16) << 5) | t.day() as u16;
    let time = ((t.hour() as u16) << 11) | ((t.minute() as u16) << 5) | (t.second() as u16 / 2);
    (time, date)
}

/// CRC-32 (IEEE 802.3), as zip uses it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crc_and_zip_layout() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        let archive = zip(
            &[("a/", Vec::new()), ("a/b.txt", b"hello".to_vec())],
            1_700_000_000,
        );
        assert_eq!(&archive[..4], b"PK\x03\x04");
        let end = archive.len() - 22;
        assert_eq!(&archive[end..end + 4], b"PK\x05\x06");
        assert_eq!(
            u16::from_le_bytes([archive[end + 10], archive[end + 11]]),
            2
        );
        assert!(archive.windows(5).any(|w| w == b"hello"));
    }
}
