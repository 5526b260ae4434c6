//! Realm rows, and the check that `master` keeps an administrator.

use std::collections::HashMap;

use portcullis_core::model::User;
use portcullis_core::resolve::resolve_user;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::entity::{realm, user_entity, user_group, user_role};
use crate::error::StoreError;
use crate::queries::realm::{load_rows, realm_by_name};

/// The realm's default role, if it still exists.
pub async fn default_role<C: ConnectionTrait>(
    db: &C,
    realm: &realm::Model,
) -> Result<Option<crate::entity::role::Model>, StoreError> {
    match &realm.default_role_id {
        Some(id) => Ok(crate::entity::role::Entity::find_by_id(id.clone())
            .one(db)
            .await?),
        None => Ok(None),
    }
}

pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<realm::Model>, StoreError> {
    realm_by_name(db, name).await
}

/// Every realm, by name.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<realm::Model>, StoreError> {
    Ok(realm::Entity::find()
        .order_by_asc(realm::Column::Name)
        .all(db)
        .await?)
}

/// One page of realms, by name, after `after`, at most `limit`.
pub async fn page_after<C: ConnectionTrait>(
    db: &C,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<realm::Model>, StoreError> {
    let mut select = realm::Entity::find();
    if let Some(after) = after {
        select = select.filter(realm::Column::Name.gt(after));
    }
    Ok(select
        .order_by_asc(realm::Column::Name)
        .limit(limit)
        .all(db)
        .await?)
}

/// Writes every column of `row` (by its id).
pub async fn update<C: ConnectionTrait>(db: &C, row: realm::Model) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a realm and, through the foreign keys, everything in it.
pub async fn delete<C: ConnectionTrait>(db: &C, realm_id: &str) -> Result<(), StoreError> {
    crate::queries::realm::delete_realm(db, realm_id).await
}

/// How many enabled users of the realm hold the realm role `role`, directly, through groups or
/// through composites: the admin API refuses changes that leave `master` without an `admin`.
pub async fn enabled_holders_of_realm_role<C: ConnectionTrait>(
    db: &C,
    realm_name: &str,
    role: &str,
) -> Result<u64, StoreError> {
    let Some(mut rows) = load_rows(db, realm_name).await? else {
        return Ok(0);
    };
    // Keys are not needed to resolve roles; parsing them would cost milliseconds.
    rows.keys.clear();
    let snapshot = rows.into_snapshot()?;
    let realm_id = snapshot.realm.id.clone();
    let users = user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(&realm_id))
        .filter(user_entity::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let users_of_realm = || {
        Query::select()
            .column(user_entity::Column::Id)
            .from(user_entity::Entity)
            .and_where(user_entity::Column::RealmId.eq(&realm_id))
            .to_owned()
    };
    let mut roles: HashMap<String, Vec<String>> = HashMap::new();
    for row in user_role::Entity::find()
        .filter(user_role::Column::UserId.in_subquery(users_of_realm()))
        .all(db)
        .await?
    {
        roles.entry(row.user_id).or_default().push(row.role_id);
    }
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    for row in user_group::Entity::find()
        .filter(user_group::Column::UserId.in_subquery(users_of_realm()))
        .all(db)
        .await?
    {
        groups.entry(row.user_id).or_default().push(row.group_id);
    }
    let holders = users
        .into_iter()
        .filter(|u| {
            let user = User {
                role_ids: roles.remove(&u.id).unwrap_or_default(),
                group_ids: groups.remove(&u.id).unwrap_or_default(),
                id: u.id.clone(),
                ..User::default()
            };
            resolve_user(&snapshot, &user).has_role(role)
        })
        .count();
    Ok(holders as u64)
}
