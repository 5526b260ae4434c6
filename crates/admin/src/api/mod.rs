//! The endpoints, one module per resource, and the look-ups they share.

pub mod app_passwords;
pub mod attack;
pub mod authentication;
pub mod client_keys;
pub mod client_scopes;
pub mod clients;
pub mod events;
pub mod fallback;
pub mod federated;
pub mod grants;
pub mod groups;
pub mod identity_providers;
pub mod mappings;
pub mod partial;
pub mod realm_admin;
pub mod realms;
pub mod robots;
pub mod roles;
pub mod serverinfo;
pub mod user_actions;
pub mod users;

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_store::admin;
use portcullis_store::entity::{role, user_entity};
use serde::Serialize;
use serde_json::Value;

use crate::error::AdminError;
// The lookups are the operations layer's; representations use them for what they show
// beside the rows an operation returned.
pub use crate::ops::lookup::{Db, client_ids};
use crate::rep;

/// What a handler returns.
pub type Reply = Result<Response, AdminError>;

pub fn ok(value: impl Serialize) -> Reply {
    Ok((StatusCode::OK, Json(value)).into_response())
}

pub fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Keycloak's default page size for most lists.
pub const DEFAULT_MAX: Option<u64> = Some(100);

/// Role representations, with their `composite` flags.
pub async fn role_reps<C: Db>(
    db: &C,
    realm_id: &str,
    rows: &[role::Model],
) -> Result<Vec<Value>, AdminError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let composites = admin::roles::composites_among(db, &ids).await?;
    rows.iter()
        .map(|r| rep::role::representation(r, composites.contains(&r.id), realm_id))
        .collect()
}

/// Keycloak's `MappingsRepresentation` of a set of roles: `realmMappings`, and
/// `clientMappings` keyed by clientId with the client's `id`, `client` and `mappings`; an
/// empty part is left out.
pub async fn mappings_rep<C: Db>(
    db: &C,
    realm_id: &str,
    roles: Vec<role::Model>,
) -> Result<Value, AdminError> {
    let (realm_roles, client_roles): (Vec<_>, Vec<_>) =
        roles.into_iter().partition(|r| r.client_pk.is_none());
    let mut out = serde_json::Map::new();
    if !realm_roles.is_empty() {
        out.insert(
            "realmMappings".into(),
            Value::Array(role_reps(db, realm_id, &realm_roles).await?),
        );
    }
    let clients = match client_roles.is_empty() {
        true => Default::default(),
        false => client_ids(db, realm_id).await?,
    };
    let mut by_client: BTreeMap<String, (String, Vec<role::Model>)> = BTreeMap::new();
    for role in client_roles {
        let Some(pk) = role.client_pk.clone() else {
            continue;
        };
        let client_id = clients.get(&pk).cloned().unwrap_or_default();
        by_client
            .entry(client_id)
            .or_insert((pk, Vec::new()))
            .1
            .push(role);
    }
    if !by_client.is_empty() {
        let mut mappings = serde_json::Map::new();
        for (client_id, (pk, roles)) in by_client {
            let reps = role_reps(db, realm_id, &roles).await?;
            mappings.insert(
                client_id.clone(),
                serde_json::json!({"id": pk, "client": client_id, "mappings": reps}),
            );
        }
        out.insert("clientMappings".into(), Value::Object(mappings));
    }
    Ok(Value::Object(out))
}

/// User representations, with their extras and service-account links.
pub async fn user_reps<C: Db>(
    db: &C,
    realm_id: &str,
    rows: &[user_entity::Model],
    brief: bool,
) -> Result<Vec<Value>, AdminError> {
    let ids: Vec<String> = rows.iter().map(|u| u.id.clone()).collect();
    let extras = if brief {
        HashMap::new()
    } else {
        admin::extras::get_many(db, &ids).await?
    };
    let clients = if rows.iter().any(|u| u.service_account_client_pk.is_some()) {
        client_ids(db, realm_id).await?
    } else {
        HashMap::new()
    };
    let empty = serde_json::Map::new();
    rows.iter()
        .map(|u| {
            let sa = u
                .service_account_client_pk
                .as_ref()
                .and_then(|pk| clients.get(pk))
                .map(String::as_str);
            rep::user::representation(u, extras.get(&u.id).unwrap_or(&empty), sa, brief)
        })
        .collect()
}

pub async fn user_rep<C: Db>(
    db: &C,
    realm_id: &str,
    row: &user_entity::Model,
    brief: bool,
) -> Result<Value, AdminError> {
    let mut reps = user_reps(db, realm_id, std::slice::from_ref(row), brief).await?;
    reps.pop()
        .ok_or_else(|| AdminError::Internal("user representation missing".into()))
}
