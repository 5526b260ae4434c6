//! Realm-wide endpoints beside the realm's settings: `keys`, `components` (the key providers),
//! `events/config`, `DELETE events`, `default-groups`, the cache clears, `logout-all`,
//! `push-revocation`, `client-session-stats`, and the console's `whoami`.

use std::collections::BTreeMap;

use axum::extract::Path;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::keys::Algorithm;
use portcullis_store::admin::realm_settings::EventsConfig;
use portcullis_store::key_component::KEY_PROVIDER_TYPE;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Reply, no_content, ok};
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson, Params};
use crate::ops::keys::{KeyInfo, KeyStatus};
use crate::ops::realm_admin::{self, Cache, EventsUpdate};
use crate::rep::group as group_rep;

fn key_type(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Rs256 => "RSA",
        Algorithm::Es256 => "EC",
    }
}

fn provider_of(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Rs256 => "rsa-generated",
        Algorithm::Es256 => "ecdsa-generated",
    }
}

/// `GET keys`: Keycloak's `KeysMetadataRepresentation`.
pub async fn keys(admin: Admin, Path(realm): Path<String>) -> Reply {
    let (_, keys) = realm_admin::keys(admin.ops(), &realm).await?;
    let mut active = Map::new();
    for key in keys.iter().filter(|k| k.status == KeyStatus::Active) {
        active.insert(key.algorithm.as_str().to_string(), json!(key.kid));
    }
    let list: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "providerId": key.id,
                "providerPriority": key.priority,
                "kid": key.kid,
                "status": key.status.as_str().to_ascii_uppercase(),
                "type": key_type(key.algorithm),
                "algorithm": key.algorithm.as_str(),
                "publicKey": STANDARD.encode(&key.public_key_der),
                "certificate": STANDARD.encode(&key.certificate_der),
                "use": "SIG",
            })
        })
        .collect();
    ok(json!({"active": active, "keys": list}))
}

/// A key provider as Keycloak's `ComponentRepresentation`, without its private key.
fn component(realm_id: &str, key: &KeyInfo) -> Value {
    let flag = |b: bool| json!([if b { "true" } else { "false" }]);
    let enabled = key.status != KeyStatus::Disabled;
    let mut config = json!({
        "priority": [key.priority.to_string()],
        "enabled": flag(enabled),
        "active": flag(enabled),
        "algorithm": [key.algorithm.as_str()],
        "certificate": [STANDARD.encode(&key.certificate_der)],
    });
    if let Some(map) = config.as_object_mut() {
        match key.algorithm {
            Algorithm::Rs256 => {
                let bits = key.kind.trim_start_matches("RSA ").to_string();
                map.insert("keySize".into(), json!([bits]));
            }
            Algorithm::Es256 => {
                map.insert("ecdsaEllipticCurveKey".into(), json!(["P-256"]));
            }
        }
    }
    json!({
        "id": key.id,
        "name": provider_of(key.algorithm),
        "providerId": provider_of(key.algorithm),
        "providerType": KEY_PROVIDER_TYPE,
        "parentId": realm_id,
        "config": config,
    })
}

/// `GET components`: the realm's key providers (the only components this server has), by
/// `type`, `parent` and `name`.
pub async fn components(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let (realm_id, keys) = realm_admin::keys(admin.ops(), &realm).await?;
    let wanted = |key: &KeyInfo| {
        params.get("type").is_none_or(|t| t == KEY_PROVIDER_TYPE)
            && params.get("parent").is_none_or(|p| p == realm_id)
            && params
                .get("name")
                .is_none_or(|n| n == provider_of(key.algorithm))
    };
    ok(keys
        .iter()
        .filter(|k| wanted(k))
        .map(|k| component(&realm_id, k))
        .collect::<Vec<_>>())
}

/// `GET components/{id}`.
pub async fn get_component(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let (realm_id, keys) = realm_admin::keys(admin.ops(), &realm).await?;
    let key = keys
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| AdminError::not_found("Could not find component"))?;
    ok(component(&realm_id, key))
}

/// Creating, changing or deleting components: not through this API (after the realm and the
/// caller's right are checked, as Keycloak orders it).
pub async fn edit_component(admin: Admin, Path(params): Path<Vec<(String, String)>>) -> Reply {
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let ops = admin.ops();
    crate::context::target_realm(
        ops.state,
        ops.caller,
        &realm,
        crate::auth::Right::ManageRealm,
    )
    .await?;
    Err(AdminError::NotImplemented(
        "Managing components through the admin API is not supported by this server; \
         realm keys are added, activated and disabled in the admin console",
    ))
}

fn events_rep(config: &EventsConfig) -> Value {
    let mut rep = json!({
        "eventsEnabled": config.events_enabled,
        "eventsListeners": config.events_listeners,
        "enabledEventTypes": config.enabled_event_types,
        "adminEventsEnabled": config.admin_events_enabled,
        "adminEventsDetailsEnabled": config.admin_events_details_enabled,
    });
    if let (Some(secs), Some(map)) = (config.events_expiration, rep.as_object_mut()) {
        map.insert("eventsExpiration".into(), json!(secs));
    }
    rep
}

/// `GET events/config`: Keycloak's `RealmEventsConfigRepresentation`.
pub async fn events_config(admin: Admin, Path(realm): Path<String>) -> Reply {
    let config = realm_admin::events_config(admin.ops(), &realm).await?;
    ok(events_rep(&config))
}

/// The body of `PUT events/config`; absent fields keep their values.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventsConfigBody {
    events_enabled: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    events_expiration: Option<Option<i64>>,
    events_listeners: Option<Vec<String>>,
    enabled_event_types: Option<Vec<String>>,
    admin_events_enabled: Option<bool>,
    admin_events_details_enabled: Option<bool>,
}

/// A field that is present (`null` included) becomes `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

pub async fn set_events_config(
    admin: Admin,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<EventsConfigBody>,
) -> Reply {
    let update = EventsUpdate {
        events_enabled: body.events_enabled,
        events_expiration: body.events_expiration,
        events_listeners: body.events_listeners,
        enabled_event_types: body.enabled_event_types,
        admin_events_enabled: body.admin_events_enabled,
        admin_events_details_enabled: body.admin_events_details_enabled,
    };
    realm_admin::set_events_config(admin.ops(), &realm, update).await?;
    no_content()
}

/// `DELETE events`: the realm's login and token events.
pub async fn clear_events(admin: Admin, Path(realm): Path<String>) -> Reply {
    realm_admin::clear_login_events(admin.ops(), &realm).await?;
    no_content()
}

/// `GET default-groups`: brief group representations.
pub async fn default_groups(admin: Admin, Path(realm): Path<String>) -> Reply {
    let (tree, groups) = realm_admin::default_groups(admin.ops(), &realm).await?;
    let empty = Map::new();
    let reps = groups
        .iter()
        .map(|g| group_rep::representation(&tree, g, &empty, None, Vec::new()))
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

pub async fn add_default_group(
    admin: Admin,
    Path((realm, group)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    realm_admin::set_default_group(ops, &realm, &group, true).await?;
    no_content()
}

pub async fn remove_default_group(
    admin: Admin,
    Path((realm, group)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    realm_admin::set_default_group(ops, &realm, &group, false).await?;
    no_content()
}

async fn clear(admin: Admin, realm: String, cache: Cache) -> Reply {
    realm_admin::clear_cache(admin.ops(), &realm, cache).await?;
    no_content()
}

pub async fn clear_realm_cache(admin: Admin, Path(realm): Path<String>) -> Reply {
    clear(admin, realm, Cache::Realm).await
}

pub async fn clear_user_cache(admin: Admin, Path(realm): Path<String>) -> Reply {
    clear(admin, realm, Cache::Users).await
}

pub async fn clear_keys_cache(admin: Admin, Path(realm): Path<String>) -> Reply {
    clear(admin, realm, Cache::Keys).await
}

/// Keycloak's `GlobalRequestResult`.
fn global_result(success: &[String], failed: &[String]) -> Value {
    json!({"successRequests": success, "failedRequests": failed})
}

/// `POST logout-all`.
pub async fn logout_all(admin: Admin, Path(realm): Path<String>) -> Reply {
    realm_admin::logout_all(admin.ops(), &realm).await?;
    ok(global_result(&[], &[]))
}

/// `POST push-revocation`.
pub async fn push_revocation(admin: Admin, Path(realm): Path<String>) -> Reply {
    let failed = realm_admin::push_revocation(admin.ops(), &realm).await?;
    ok(global_result(&[], &failed))
}

/// `GET client-session-stats`: counts as strings, as Keycloak gives them.
pub async fn client_session_stats(admin: Admin, Path(realm): Path<String>) -> Reply {
    let stats = realm_admin::client_session_stats(admin.ops(), &realm).await?;
    ok(stats
        .into_iter()
        .map(|(id, client_id, active, offline)| {
            json!({"id": id, "clientId": client_id, "active": active.to_string(),
                   "offline": offline.to_string()})
        })
        .collect::<Vec<_>>())
}

/// `GET /admin/{realm}/console/whoami`: Keycloak's `WhoAmI`.
pub async fn whoami(admin: Admin, Path(realm): Path<String>) -> Reply {
    let who = realm_admin::whoami(admin.ops(), &realm).await?;
    let access: BTreeMap<String, Vec<String>> = who.realm_access;
    ok(json!({
        "userId": who.user_id,
        "realm": who.realm,
        "displayName": who.display_name,
        "locale": who.locale,
        "createRealm": who.create_realm,
        "realm_access": access,
        "temporary": false,
    }))
}
