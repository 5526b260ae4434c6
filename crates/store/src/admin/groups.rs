//! The group tree. Paths are computed from names, so a rename or move is one row.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
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

/// One page of the children of `parent` (top-level groups for `None`), by name, after the name
/// `after`: a tree of 10,000 groups is read one level and one page at a time.
pub async fn children_page<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    parent: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<realm_group::Model>, StoreError> {
    let mut select = realm_group::Entity::find().filter(realm_group::Column::RealmId.eq(realm_id));
    select = match parent {
        Some(p) => select.filter(realm_group::Column::ParentId.eq(p)),
        None => select.filter(realm_group::Column::ParentId.is_null()),
    };
    if let Some(after) = after {
        select = select.filter(realm_group::Column::Name.gt(after));
    }
    Ok(select
        .order_by_asc(realm_group::Column::Name)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many children each of `ids` has (groups without children are absent).
pub async fn child_counts<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Option<String>, i64)> = realm_group::Entity::find()
        .select_only()
        .column(realm_group::Column::ParentId)
        .column_as(realm_group::Column::Id.count(), "n")
        .filter(realm_group::Column::ParentId.is_in(ids.iter().cloned()))
        .group_by(realm_group::Column::ParentId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(parent, n)| parent.map(|p| (p, n)))
        .collect())
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
