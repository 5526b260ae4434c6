//! A realm's signing keys as the admin sees them: list, add, change priority, disable.
//!
//! Every enabled key is published (the JWKS, the registry bundle) and verifies; the enabled key
//! of highest priority of each algorithm signs (the snapshot keeps them in that order). A key
//! added below the signing key's priority is therefore published before it signs, which is how
//! a rotation overlaps.

use portcullis_core::keys::KeyMaterial;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::entity::realm_key;
use crate::error::StoreError;
use crate::queries::insert_all;

/// The realm's keys, disabled ones included: highest priority first, newest first among equals
/// (the order the snapshot picks its signing keys in).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<realm_key::Model>, StoreError> {
    Ok(realm_key::Entity::find()
        .filter(realm_key::Column::RealmId.eq(realm_id))
        .order_by_desc(realm_key::Column::Priority)
        .order_by_desc(realm_key::Column::CreatedAt)
        .order_by_asc(realm_key::Column::Id)
        .all(db)
        .await?)
}

/// Adds an enabled key; returns its id.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    material: KeyMaterial,
    priority: i64,
    now_unix: i64,
) -> Result<String, StoreError> {
    let id = super::new_id();
    let row = realm_key::Model {
        id: id.clone(),
        realm_id: realm_id.to_string(),
        algorithm: material.algorithm.as_str().to_string(),
        private_key: material.private_key_pkcs8,
        certificate: material.certificate_der,
        priority,
        enabled: true,
        created_at: now_unix,
    };
    insert_all::<realm_key::Entity, _>(db, vec![row]).await?;
    Ok(id)
}

/// Sets a key's priority.
pub async fn set_priority<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
    priority: i64,
) -> Result<(), StoreError> {
    realm_key::Entity::update_many()
        .col_expr(realm_key::Column::Priority, Expr::value(priority))
        .filter(realm_key::Column::RealmId.eq(realm_id))
        .filter(realm_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Disables a key: no longer published, so tokens it signed no longer verify.
pub async fn disable<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<(), StoreError> {
    realm_key::Entity::update_many()
        .col_expr(realm_key::Column::Enabled, Expr::value(false))
        .filter(realm_key::Column::RealmId.eq(realm_id))
        .filter(realm_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
