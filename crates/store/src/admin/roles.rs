//! Realm and client roles, composites, and the role mappings of users and groups.

use std::collections::HashSet;

use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Select,
};

use super::{Page, TextMatch};
use crate::entity::{composite_role, group_role, role, user_role};
use crate::error::StoreError;
use crate::queries::insert_all;

/// Whose role mappings: a user's or a group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder<'a> {
    User(&'a str),
    Group(&'a str),
}

fn of_container(realm_id: &str, client_pk: Option<&str>) -> Select<role::Entity> {
    let select = role::Entity::find().filter(role::Column::RealmId.eq(realm_id));
    match client_pk {
        Some(pk) => select.filter(role::Column::ClientPk.eq(pk)),
        None => select.filter(role::Column::ClientPk.is_null()),
    }
}

/// The realm's roles (`client_pk` None) or one client's, by name; `search` matches names.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_pk: Option<&str>,
    search: Option<&TextMatch>,
    page: Page,
) -> Result<Vec<role::Model>, StoreError> {
    let mut select = of_container(realm_id, client_pk);
    if let Some(m) = search {
        select = select.filter(m.condition(role::Column::Name));
    }
    let select = select.order_by_asc(role::Column::Name);
    Ok(page.apply(select).all(db).await?)
}

/// Every role of the realm, realm and client roles alike.
pub async fn all_of_realm<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<role::Model>, StoreError> {
    Ok(role::Entity::find()
        .filter(role::Column::RealmId.eq(realm_id))
        .order_by_asc(role::Column::Name)
        .all(db)
        .await?)
}

pub async fn by_name<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_pk: Option<&str>,
    name: &str,
) -> Result<Option<role::Model>, StoreError> {
    Ok(of_container(realm_id, client_pk)
        .filter(role::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub async fn by_id<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<role::Model>, StoreError> {
    Ok(role::Entity::find_by_id(id.to_string())
        .filter(role::Column::RealmId.eq(realm_id))
        .one(db)
        .await?)
}

/// The roles among `ids` that exist in the realm, by name.
pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    ids: &[String],
) -> Result<Vec<role::Model>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(role::Entity::find()
        .filter(role::Column::RealmId.eq(realm_id))
        .filter(role::Column::Id.is_in(ids.iter().cloned()))
        .order_by_asc(role::Column::Name)
        .all(db)
        .await?)
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: role::Model) -> Result<(), StoreError> {
    insert_all::<role::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Writes every column of `row` (by its id).
pub async fn update<C: ConnectionTrait>(db: &C, row: role::Model) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a role with its composites and every mapping to it.
pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    role::Entity::delete_by_id(id.to_string()).exec(db).await?;
    Ok(())
}

/// The roles a composite directly contains, by name.
pub async fn children<C: ConnectionTrait>(
    db: &C,
    parent_id: &str,
) -> Result<Vec<role::Model>, StoreError> {
    let child_ids = Query::select()
        .column(composite_role::Column::ChildId)
        .from(composite_role::Entity)
        .and_where(composite_role::Column::CompositeId.eq(parent_id))
        .to_owned();
    Ok(role::Entity::find()
        .filter(role::Column::Id.in_subquery(child_ids))
        .order_by_asc(role::Column::Name)
        .all(db)
        .await?)
}

/// Which of `ids` are composite roles (contain at least one role).
pub async fn composites_among<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<HashSet<String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let parents: Vec<String> = composite_role::Entity::find()
        .select_only()
        .column(composite_role::Column::CompositeId)
        .filter(composite_role::Column::CompositeId.is_in(ids.iter().cloned()))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(parents.into_iter().collect())
}

/// Adds children to a composite; children it already has are skipped.
pub async fn add_children<C: ConnectionTrait>(
    db: &C,
    parent_id: &str,
    child_ids: &[String],
) -> Result<(), StoreError> {
    let existing: HashSet<String> = children(db, parent_id)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut seen = HashSet::new();
    let rows: Vec<composite_role::Model> = child_ids
        .iter()
        .filter(|id| !existing.contains(*id) && seen.insert(id.as_str()))
        .map(|child_id| composite_role::Model {
            composite_id: parent_id.to_string(),
            child_id: child_id.clone(),
        })
        .collect();
    insert_all::<composite_role::Entity, _>(db, rows).await?;
    Ok(())
}

pub async fn remove_children<C: ConnectionTrait>(
    db: &C,
    parent_id: &str,
    child_ids: &[String],
) -> Result<(), StoreError> {
    if child_ids.is_empty() {
        return Ok(());
    }
    composite_role::Entity::delete_many()
        .filter(composite_role::Column::CompositeId.eq(parent_id))
        .filter(composite_role::Column::ChildId.is_in(child_ids.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

/// Ids of the groups with a direct mapping to the role.
pub async fn groups_with_role<C: ConnectionTrait>(
    db: &C,
    role_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(group_role::Entity::find()
        .select_only()
        .column(group_role::Column::GroupId)
        .filter(group_role::Column::RoleId.eq(role_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Ids of the roles directly mapped to the holder.
pub async fn mapped_ids<C: ConnectionTrait>(
    db: &C,
    holder: Holder<'_>,
) -> Result<Vec<String>, StoreError> {
    let ids = match holder {
        Holder::User(id) => {
            user_role::Entity::find()
                .select_only()
                .column(user_role::Column::RoleId)
                .filter(user_role::Column::UserId.eq(id))
                .into_tuple()
                .all(db)
                .await?
        }
        Holder::Group(id) => {
            group_role::Entity::find()
                .select_only()
                .column(group_role::Column::RoleId)
                .filter(group_role::Column::GroupId.eq(id))
                .into_tuple()
                .all(db)
                .await?
        }
    };
    Ok(ids)
}

/// Maps roles to the holder; roles already mapped are skipped.
pub async fn map<C: ConnectionTrait>(
    db: &C,
    holder: Holder<'_>,
    role_ids: &[String],
) -> Result<(), StoreError> {
    let existing: HashSet<String> = mapped_ids(db, holder).await?.into_iter().collect();
    let mut seen = HashSet::new();
    let new: Vec<&String> = role_ids
        .iter()
        .filter(|id| !existing.contains(*id) && seen.insert(id.as_str()))
        .collect();
    match holder {
        Holder::User(user_id) => {
            let rows = new
                .into_iter()
                .map(|role_id| user_role::Model {
                    user_id: user_id.to_string(),
                    role_id: role_id.clone(),
                })
                .collect();
            insert_all::<user_role::Entity, _>(db, rows).await?;
        }
        Holder::Group(group_id) => {
            let rows = new
                .into_iter()
                .map(|role_id| group_role::Model {
                    group_id: group_id.to_string(),
                    role_id: role_id.clone(),
                })
                .collect();
            insert_all::<group_role::Entity, _>(db, rows).await?;
        }
    }
    Ok(())
}

/// Removes role mappings from the holder; roles not mapped are ignored.
pub async fn unmap<C: ConnectionTrait>(
    db: &C,
    holder: Holder<'_>,
    role_ids: &[String],
) -> Result<(), StoreError> {
    if role_ids.is_empty() {
        return Ok(());
    }
    let ids = role_ids.iter().cloned();
    match holder {
        Holder::User(user_id) => {
            user_role::Entity::delete_many()
                .filter(user_role::Column::UserId.eq(user_id))
                .filter(user_role::Column::RoleId.is_in(ids))
                .exec(db)
                .await?;
        }
        Holder::Group(group_id) => {
            group_role::Entity::delete_many()
                .filter(group_role::Column::GroupId.eq(group_id))
                .filter(group_role::Column::RoleId.is_in(ids))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}
