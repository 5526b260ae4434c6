//! The group tree. Paths are computed from names, so a rename or move is one row.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use crate::entity::realm_group;
use crate::error::StoreError;
use crate::queries::insert_all;

/// Every group of the realm, by name.
pub async fn all<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<realm_group::Model>, StoreError> {
    Ok(realm_group::Entity::find()
        .filter(realm_group::Column::RealmId.eq(realm_id))
        .order_by_asc(realm_group::Column::Name)
        .order_by_asc(realm_group::Column::Id)
        .all(db)
        .await?)
}

/// Group id -> `/a/b` path.
pub fn paths(groups: &[realm_group::Model]) -> HashMap<String, String> {
    crate::queries::realm::group_paths(groups)
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<realm_group::Model>, StoreError> {
    Ok(realm_group::Entity::find_by_id(id.to_string())
        .filter(realm_group::Column::RealmId.eq(realm_id))
        .one(db)
        .await?)
}

/// The group named `name` under `parent` (top level when None).
pub async fn sibling_named<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    parent: Option<&str>,
    name: &str,
) -> Result<Option<realm_group::Model>, StoreError> {
    let select = realm_group::Entity::find()
        .filter(realm_group::Column::RealmId.eq(realm_id))
        .filter(realm_group::Column::Name.eq(name));
    let select = match parent {
        Some(p) => select.filter(realm_group::Column::ParentId.eq(p)),
        None => select.filter(realm_group::Column::ParentId.is_null()),
    };
    Ok(select.one(db).await?)
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: realm_group::Model) -> Result<(), StoreError> {
    insert_all::<realm_group::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Writes every column of `row` (by its id).
pub async fn update<C: ConnectionTrait>(db: &C, row: realm_group::Model) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a group with its subgroups, memberships and role mappings.
pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    realm_group::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}
