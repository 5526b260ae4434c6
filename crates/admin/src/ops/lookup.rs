//! Finding what an operation works on, with Keycloak's 404 messages, and the few checks every
//! operation shares (ids, duplicates found by the database).

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_store::StoreError;
use portcullis_store::admin::{self, roles::Holder};
use portcullis_store::entity::{client, protocol_mapper, realm_group, user_entity};
use portcullis_web::AppState;

use crate::error::AdminError;

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

pub async fn find_mapper<C: Db>(
    db: &C,
    client_pk: &str,
    id: &str,
) -> Result<protocol_mapper::Model, AdminError> {
    admin::clients::mapper(db, client_pk, id)
        .await?
        .ok_or_else(|| AdminError::not_found("Model not found"))
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
