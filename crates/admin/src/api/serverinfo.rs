//! `/admin/serverinfo`: what Terraform and the admin tools read right after login, a
//! Keycloak-like `systemInfo.version` (parsed as semver) and the mapper types each protocol
//! offers.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

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

/// The theme names Terraform's provider checks a realm's `*Theme` fields against: the one
/// built-in theme every page of this server renders with, under Keycloak's name.
fn themes() -> Value {
    let theme = json!([{"name": "keycloak", "locales": ["en"]}]);
    let mut out = Map::new();
    for kind in ["login", "account", "admin", "email", "welcome", "common"] {
        out.insert(kind.into(), theme.clone());
    }
    Value::Object(out)
}

/// A config key that holds `true` or `false`.
fn is_flag(key: &str) -> bool {
    key.ends_with(".claim") || key == "multivalued"
}

fn mapper_type_rep(t: &MapperType) -> Value {
    let properties: Vec<Value> = t
        .config_keys
        .iter()
        .map(|key| {
            let kind = if is_flag(key) { "boolean" } else { "String" };
            json!({"name": key, "label": key, "helpText": "", "type": kind,
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

/// When the admin API was mounted: the server's start, for `systemInfo.uptime`.
static STARTED: OnceLock<(Instant, u64)> = OnceLock::new();

/// Records the start; called when the routes are built.
pub fn mark_started() {
    STARTED.get_or_init(|| (Instant::now(), now_ms()));
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Keycloak's uptime text: `1 day, 2 hours, 3 minutes, 4 seconds`.
fn uptime_text(millis: u64) -> String {
    let s = millis / 1000;
    let unit = |n: u64, name: &str| format!("{n} {name}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {}, {}",
        unit(s / 86_400, "day"),
        unit(s / 3_600 % 24, "hour"),
        unit(s / 60 % 60, "minute"),
        unit(s % 60, "second")
    )
}

/// What is true of the server process: the Keycloak API version it follows, the clock, the
/// uptime, the operating system. The JVM fields Keycloak adds are left out.
fn system_info() -> Value {
    let mut info = json!({
        "version": KEYCLOAK_VERSION,
        "serverTime": now_ms().to_string(),
        "osName": std::env::consts::OS,
        "osArchitecture": std::env::consts::ARCH,
        "fileEncoding": "UTF-8",
    });
    if let (Some((started, _)), Some(map)) = (STARTED.get(), info.as_object_mut()) {
        let millis = started.elapsed().as_millis() as u64;
        map.insert("uptime".into(), json!(uptime_text(millis)));
        map.insert("uptimeMillis".into(), json!(millis));
    }
    info
}

/// A `/proc` figure in kB (`VmRSS:    1234 kB`), as bytes.
fn proc_kb(text: &str, field: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb.saturating_mul(1024))
}

fn megabytes(bytes: u64) -> String {
    format!("{} MB", bytes / 1024 / 1024)
}

/// Keycloak's `memoryInfo` from the process's anonymous memory against the machine's memory
/// (Linux `/proc`); `None` where those cannot be read.
fn memory_info() -> Option<Value> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    memory_from(&status, &meminfo)
}

fn memory_from(status: &str, meminfo: &str) -> Option<Value> {
    let used = proc_kb(status, "RssAnon:")?;
    let total = proc_kb(meminfo, "MemTotal:")?.max(used);
    let free = total - used;
    let free_percentage = (free * 100).checked_div(total).unwrap_or(0);
    Some(json!({
        "total": total, "totalFormated": megabytes(total),
        "used": used, "usedFormated": megabytes(used),
        "free": free, "freeFormated": megabytes(free),
        "freePercentage": free_percentage,
    }))
}

/// The password policy clauses this server enforces, in Keycloak's
/// `PasswordPolicyTypeRepresentation` shape (`hashIterations` sets the argon2 iterations).
/// `(id, displayName, configType, defaultValue, multipleSupported)`.
type PolicyType = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    bool,
);

const PASSWORD_POLICIES: &[PolicyType] = &[
    ("length", "Minimum length", Some("int"), Some("8"), false),
    (
        "maxLength",
        "Maximum length",
        Some("int"),
        Some("64"),
        false,
    ),
    ("digits", "Digits", Some("int"), Some("1"), false),
    (
        "lowerCase",
        "Lowercase characters",
        Some("int"),
        Some("1"),
        false,
    ),
    (
        "upperCase",
        "Uppercase characters",
        Some("int"),
        Some("1"),
        false,
    ),
    (
        "specialChars",
        "Special characters",
        Some("int"),
        Some("1"),
        false,
    ),
    ("notUsername", "Not username", None, None, false),
    (
        "notContainsUsername",
        "Not contains username",
        None,
        None,
        false,
    ),
    ("notEmail", "Not email", None, None, false),
    (
        "regexPattern",
        "Regular expression",
        Some("String"),
        None,
        true,
    ),
    (
        "passwordHistory",
        "Not recently used",
        Some("int"),
        Some("3"),
        false,
    ),
    (
        "hashIterations",
        "Hashing iterations",
        Some("int"),
        Some("5"),
        false,
    ),
];

fn password_policies() -> Vec<Value> {
    PASSWORD_POLICIES
        .iter()
        .map(|(id, name, config_type, default, multiple)| {
            json!({"id": id, "displayName": name, "configType": config_type,
                   "defaultValue": default, "multipleSupported": multiple})
        })
        .collect()
}

/// Keycloak's built-in mappers of a protocol: those of the client scopes a new realm gets.
fn builtin_mappers(protocol: &str) -> Vec<Value> {
    let mut next = 0u32;
    let mut ids = || {
        next += 1;
        next.to_string()
    };
    let mut seen = std::collections::BTreeSet::new();
    portcullis_core::client_scopes::builtin_client_scopes(&mut ids, None)
        .into_iter()
        .flat_map(|scope| scope.protocol_mappers)
        .filter(|m| m.protocol == protocol && seen.insert(m.name.clone()))
        .map(|m| {
            json!({"name": m.name, "protocol": m.protocol, "protocolMapper": m.mapper_type,
                   "consentRequired": false, "config": m.config})
        })
        .collect()
}

fn client_installations() -> Value {
    let mut out: Map<String, Value> = Map::new();
    for p in crate::ops::installation::PROVIDERS {
        let entry = out
            .entry(p.protocol.to_string())
            .or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(json!({
                "id": p.id, "protocol": p.protocol, "downloadOnly": p.download_only,
                "displayType": p.display_type, "helpText": p.help_text,
                "filename": p.filename, "mediaType": p.media_type,
            }));
        }
    }
    Value::Object(out)
}

/// Any authenticated caller may read it, as in Keycloak. Only sections this server fills with
/// what it does carry Keycloak's keys; the JVM, profile and feature sections are left out.
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
        builtin.insert(name.clone(), json!(builtin_mappers(name)));
        protocols.insert(name.clone(), json!({"order": 0, "operationalInfo": {}}));
    }
    let key_provider = |id: &str, help: &str| json!({"id": id, "helpText": help, "properties": [], "metadata": {}});
    let mut info = json!({
        "systemInfo": system_info(),
        "themes": themes(),
        "providers": {
            "login-protocol": {"internal": false, "providers": protocols},
        },
        "protocolMapperTypes": mapper_types,
        "builtinProtocolMappers": builtin,
        "clientInstallations": client_installations(),
        "componentTypes": {
            "org.keycloak.keys.KeyProvider": [
                key_provider("rsa-generated", "Generates RSA keys and creates a self-signed certificate"),
                key_provider("ecdsa-generated", "Generates ECDSA keys"),
            ],
            "org.keycloak.userprofile.UserProfileProvider": [
                key_provider("declarative-user-profile", "A declarative user profile"),
            ],
        },
        "passwordPolicies": password_policies(),
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
    });
    if let (Some(memory), Some(map)) = (memory_info(), info.as_object_mut()) {
        map.insert("memoryInfo".into(), memory);
    }
    ok(info)
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
        assert_eq!(rep["properties"][0]["type"], "String");
        let flags: Vec<&Value> = rep["properties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == "access.token.claim")
            .collect();
        assert_eq!(flags[0]["type"], "boolean");
    }

    #[test]
    fn listed_password_policies_are_ones_the_parser_accepts() {
        for (id, _, config_type, default, _) in PASSWORD_POLICIES {
            let clause = match (config_type, default) {
                (Some(_), Some(value)) => format!("{id}({value})"),
                (Some(_), None) => format!("{id}(a.*)"),
                _ => id.to_string(),
            };
            assert!(
                portcullis_core::password::PasswordPolicy::parse(&clause).is_ok(),
                "{clause}"
            );
        }
    }

    #[test]
    fn memory_and_uptime_come_from_real_figures() {
        let status = "Name:\tportcullis\nRssAnon:\t   20480 kB\n";
        let meminfo = "MemTotal:        2097152 kB\nMemFree: 1 kB\n";
        let memory = memory_from(status, meminfo).unwrap();
        assert_eq!(memory["used"], 20_971_520u64);
        assert_eq!(memory["total"], 2_147_483_648u64);
        assert_eq!(memory["usedFormated"], "20 MB");
        assert_eq!(memory["freePercentage"], 99);
        assert!(memory_from("", meminfo).is_none());
        assert_eq!(uptime_text(90_061_000), "1 day, 1 hour, 1 minute, 1 second");
        assert_eq!(uptime_text(0), "0 days, 0 hours, 0 minutes, 0 seconds");
    }

    #[test]
    fn builtin_mappers_are_the_default_scopes_mappers() {
        let builtin = builtin_mappers("openid-connect");
        let names: Vec<&str> = builtin.iter().filter_map(|m| m["name"].as_str()).collect();
        for name in ["email", "username", "realm roles", "full name"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        assert!(builtin_mappers("docker-v2").is_empty());
        let installs = client_installations();
        assert_eq!(
            installs["openid-connect"][0]["id"],
            "keycloak-oidc-keycloak-json"
        );
        assert_eq!(installs["docker-v2"].as_array().unwrap().len(), 3);
    }
}
