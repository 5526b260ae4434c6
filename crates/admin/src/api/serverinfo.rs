//! `/admin/serverinfo`: what Terraform and the admin tools read right after login, a
//! Keycloak-like `systemInfo.version` (parsed as semver) and the mapper types each protocol
//! offers.

use std::sync::Arc;

use axum::Extension;
use portcullis_web::MapperType;
use serde_json::{Map, Value, json};

use super::{Reply, ok};
use crate::ProtocolCatalog;
use crate::auth::Caller;

/// The Keycloak release whose admin API Portcullis follows.
pub const KEYCLOAK_VERSION: &str = "26.0.0";

const TOKEN_KEYS: [&str; 4] = [
    "access.token.claim",
    "id.token.claim",
    "userinfo.token.claim",
    "introspection.token.claim",
];

/// Keycloak's common OIDC mapper types, listed when the OIDC protocol lists none itself.
pub fn keycloak_oidc_mapper_types() -> Vec<MapperType> {
    const ATTRIBUTE: &[&str] = &[
        "user.attribute",
        "claim.name",
        "jsonType.label",
        "multivalued",
        TOKEN_KEYS[0],
        TOKEN_KEYS[1],
        TOKEN_KEYS[2],
        TOKEN_KEYS[3],
    ];
    const CLAIM: &[&str] = &[
        "claim.name",
        "jsonType.label",
        TOKEN_KEYS[0],
        TOKEN_KEYS[1],
        TOKEN_KEYS[2],
        TOKEN_KEYS[3],
    ];
    let kind = |id, display_name, help, config_keys| MapperType {
        id,
        display_name,
        help,
        config_keys,
    };
    vec![
        kind(
            "oidc-usermodel-attribute-mapper",
            "User Attribute",
            "Map a user attribute to a token claim.",
            ATTRIBUTE,
        ),
        kind(
            "oidc-usermodel-property-mapper",
            "User Property",
            "Map a built-in user property to a token claim.",
            ATTRIBUTE,
        ),
        kind(
            "oidc-hardcoded-claim-mapper",
            "Hardcoded claim",
            "Put a fixed value in a token claim.",
            CLAIM,
        ),
        kind(
            "oidc-usermodel-realm-role-mapper",
            "User Realm Role",
            "Map realm roles to a token claim.",
            CLAIM,
        ),
        kind(
            "oidc-usermodel-client-role-mapper",
            "User Client Role",
            "Map client roles to a token claim.",
            CLAIM,
        ),
        kind(
            "oidc-group-membership-mapper",
            "Group Membership",
            "Map group membership to a token claim.",
            CLAIM,
        ),
        kind(
            "oidc-audience-mapper",
            "Audience",
            "Add an audience to the token.",
            &[
                "included.client.audience",
                "included.custom.audience",
                "access.token.claim",
                "id.token.claim",
            ],
        ),
        kind(
            "oidc-full-name-mapper",
            "User's full name",
            "Map first and last name to the name claim.",
            &TOKEN_KEYS,
        ),
        kind(
            "oidc-sub-mapper",
            "Subject (sub)",
            "Add the sub claim.",
            &["access.token.claim", "introspection.token.claim"],
        ),
    ]
}

fn mapper_type_rep(t: &MapperType) -> Value {
    let properties: Vec<Value> = t
        .config_keys
        .iter()
        .map(|key| {
            json!({"name": key, "label": key, "helpText": "", "type": "String",
                   "secret": false, "readOnly": false})
        })
        .collect();
    json!({
        "id": t.id,
        "name": t.display_name,
        "category": "Token mapper",
        "helpText": t.help,
        "priority": 0,
        "properties": properties,
    })
}

fn themes() -> Value {
    let theme = json!([{"name": "keycloak", "locales": ["en"]}]);
    let mut out = Map::new();
    for kind in ["login", "account", "admin", "email", "welcome", "common"] {
        out.insert(kind.into(), theme.clone());
    }
    Value::Object(out)
}

/// Any authenticated caller may read it, as in Keycloak.
pub async fn get_info(
    _caller: Caller,
    Extension(catalog): Extension<Arc<ProtocolCatalog>>,
) -> Reply {
    let mut mapper_types = Map::new();
    let mut builtin = Map::new();
    let mut protocols = Map::new();
    for (name, types) in &catalog.protocols {
        let reps: Vec<Value> = types.iter().map(mapper_type_rep).collect();
        mapper_types.insert(name.clone(), json!(reps));
        builtin.insert(name.clone(), json!([]));
        protocols.insert(name.clone(), json!({"order": 0, "operationalInfo": {}}));
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let key_provider = |id: &str, help: &str| json!({"id": id, "helpText": help, "properties": []});
    ok(json!({
        "systemInfo": {
            "version": KEYCLOAK_VERSION,
            "serverTime": now_ms.to_string(),
            "uptime": "",
            "uptimeMillis": 0,
            "javaVersion": "",
            "javaVendor": "",
            "javaVm": "Portcullis",
            "javaVmVersion": env!("CARGO_PKG_VERSION"),
            "javaRuntime": "",
            "javaHome": "",
            "osName": std::env::consts::OS,
            "osArchitecture": std::env::consts::ARCH,
            "osVersion": "",
            "fileEncoding": "UTF-8",
            "userName": "",
            "userDir": "",
            "userTimezone": "UTC",
            "userLocale": "en",
            "isRunningInContainer": false,
        },
        "memoryInfo": {"total": 0, "totalFormated": "0 MB", "used": 0, "usedFormated": "0 MB",
                       "free": 0, "freePercentage": 0, "freeFormated": "0 MB"},
        "profileInfo": {"name": "community", "disabledFeatures": [], "previewFeatures": [],
                        "experimentalFeatures": []},
        "features": [],
        "themes": themes(),
        "providers": {
            "login-protocol": {"internal": false, "providers": protocols},
        },
        "protocolMapperTypes": mapper_types,
        "builtinProtocolMappers": builtin,
        "clientInstallations": {},
        "componentTypes": {
            "org.keycloak.keys.KeyProvider": [
                key_provider("rsa-generated", "Generates RSA keys and creates a self-signed certificate"),
                key_provider("ecdsa-generated", "Generates ECDSA keys"),
            ],
            "org.keycloak.storage.UserStorageProvider": [],
            "org.keycloak.userprofile.UserProfileProvider": [
                {"id": "declarative-user-profile", "helpText": "", "properties": []},
            ],
            "org.keycloak.services.clientregistration.policy.ClientRegistrationPolicy": [],
        },
        "passwordPolicies": [],
        "enums": {"operationType": ["CREATE", "UPDATE", "DELETE", "ACTION"]},
        "cryptoInfo": {
            "cryptoProvider": "aws-lc-rs",
            "supportedKeystoreTypes": ["PKCS12"],
            "clientSignatureSymmetricAlgorithms": [],
            "clientSignatureAsymmetricAlgorithms": ["RS256", "ES256"],
        },
        "identityProviders": (["oidc", "keycloak-oidc", "oauth2"].map(provider_type)),
        "socialProviders": (["github"].map(provider_type)),
        "clientImporters": [],
    }))
}

/// `{id, name}` of an identity provider type the broker speaks.
fn provider_type(id: &str) -> Value {
    let name = portcullis_core::broker::settings::provider_type_name(id).unwrap_or(id);
    json!({"id": id, "name": name})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_semver_and_mapper_types_have_properties() {
        let parts: Vec<u32> = KEYCLOAK_VERSION
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect();
        assert_eq!(parts.len(), 3);
        assert!(parts[0] >= 24);
        let types = keycloak_oidc_mapper_types();
        assert!(
            types
                .iter()
                .any(|t| t.id == "oidc-usermodel-attribute-mapper")
        );
        let rep = mapper_type_rep(&types[0]);
        assert_eq!(rep["properties"][0]["name"], "user.attribute");
    }
}
