//! The endpoints, one module per resource, and the look-ups they share.

pub mod attack;
pub mod clients;
pub mod events;
pub mod federated;
pub mod grants;
pub mod groups;
pub mod mappings;
pub mod partial;
pub mod realms;
pub mod roles;
pub mod serverinfo;
pub mod users;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_store::StoreError;
use portcullis_store::admin::{self, roles::Holder};
use portcullis_store::entity::{client, realm_group, role, user_entity};
use portcullis_web::AppState;
use serde::Serialize;
use serde_json::Value;

use crate::error::AdminError;
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

/// Any connection: the pool for reads, the request's transaction for writes.
pub trait Db: portcullis_store::admin::ConnectionTrait {}
impl<T: portcullis_store::admin::ConnectionTrait> Db for T {}

pub async fn find_user<C: Db>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<user_entity::Model, AdminError> {
    admin::users::find(db, realm_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("User not found"))
}

pub async fn find_client<C: Db>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<client::Model, AdminError> {
    admin::clients::find(db, realm_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("Could not find client"))
}

pub async fn find_group<C: Db>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<realm_group::Model, AdminError> {
    admin::groups::find(db, realm_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("Could not find group by id"))
}

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

/// Internal client id -> `clientId`.
pub async fn client_ids<C: Db>(
    db: &C,
    realm_id: &str,
) -> Result<HashMap<String, String>, AdminError> {
    Ok(admin::clients::list(db, realm_id)
        .await?
        .into_iter()
        .map(|c| (c.id, c.client_id))
        .collect())
}

/// The realm's snapshot as requests see it (fresh after this process's own changes, which
/// invalidate it).
pub async fn snapshot(state: &AppState, realm: &str) -> Result<Arc<RealmSnapshot>, AdminError> {
    state
        .realm(realm)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))
}

/// The effective roles of a user or group: direct mappings, group and ancestor mappings,
/// expanded through composites (the same resolution tokens use).
pub async fn effective_roles<C: Db>(
    db: &C,
    snapshot: &RealmSnapshot,
    holder: Holder<'_>,
) -> Result<ResolvedUser, AdminError> {
    let user = match holder {
        Holder::User(id) => User {
            id: id.to_string(),
            role_ids: admin::roles::mapped_ids(db, holder).await?,
            group_ids: admin::users::group_ids(db, id).await?,
            ..User::default()
        },
        Holder::Group(id) => User {
            id: id.to_string(),
            group_ids: vec![id.to_string()],
            ..User::default()
        },
    };
    Ok(resolve_user(snapshot, &user))
}

/// A name the database holds in a `varchar(64)` id column.
pub fn check_id(id: &str) -> Result<(), AdminError> {
    if id.is_empty() || id.len() > 64 || id.chars().any(|c| c.is_control() || c == '/') {
        return Err(AdminError::BadRequest(format!("Invalid id '{id}'")));
    }
    Ok(())
}

/// A uniqueness violation found by the database rather than our own check (a concurrent
/// request) becomes the given conflict.
pub fn conflict_on_duplicate(conflict: AdminError) -> impl FnOnce(StoreError) -> AdminError {
    move |e| match &e {
        StoreError::Db(db)
            if matches!(
                db.sql_err(),
                Some(admin::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            conflict
        }
        _ => AdminError::Store(e),
    }
}
