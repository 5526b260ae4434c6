//! A realm's identity providers and their mappers: reads and writes for the admin API, and
//! what a provider's rename or removal does to the users linked to it.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};

use super::entity::user_federated_identity as link;
use crate::entity::{
    broker_group_membership as group_prov, broker_role_membership as role_prov,
    identity_provider as provider, identity_provider_mapper as mapper, user_group, user_role,
};
use crate::error::StoreError;
use crate::queries::insert_all;

/// Deletes per statement when removing memberships.
const DELETE_CHUNK: usize = 200;

/// The realm's providers, by alias.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<provider::Model>, StoreError> {
    Ok(provider::Entity::find()
        .filter(provider::Column::RealmId.eq(realm_id))
        .order_by_asc(provider::Column::Alias)
        .all(db)
        .await?)
}

/// A provider by alias, or by internal id (as Keycloak's `getByIdOrAlias`).
pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    alias_or_id: &str,
) -> Result<Option<provider::Model>, StoreError> {
    let by_alias = provider::Entity::find()
        .filter(provider::Column::RealmId.eq(realm_id))
        .filter(provider::Column::Alias.eq(alias_or_id))
        .one(db)
        .await?;
    if by_alias.is_some() {
        return Ok(by_alias);
    }
    Ok(provider::Entity::find_by_id(alias_or_id.to_string())
        .one(db)
        .await?
        .filter(|p| p.realm_id == realm_id))
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: provider::Model) -> Result<(), StoreError> {
    insert_all::<provider::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Writes every column of `row` (by its id).
pub async fn update<C: ConnectionTrait>(db: &C, row: provider::Model) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a provider with its mappers (their provenance goes with them; the memberships are
/// the caller's, see [`remove_asserted_memberships`]) and every user's link to it.
pub async fn delete<C: ConnectionTrait>(db: &C, row: &provider::Model) -> Result<(), StoreError> {
    link::Entity::delete_many()
        .filter(link::Column::RealmId.eq(&row.realm_id))
        .filter(link::Column::IdentityProvider.eq(&row.alias))
        .exec(db)
        .await?;
    provider::Entity::delete_by_id(row.id.clone())
        .exec(db)
        .await?;
    Ok(())
}

/// Users' links follow a provider's new alias.
pub async fn rename_links<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    old_alias: &str,
    new_alias: &str,
) -> Result<(), StoreError> {
    use sea_orm::sea_query::Expr;
    link::Entity::update_many()
        .col_expr(link::Column::IdentityProvider, Expr::value(new_alias))
        .filter(link::Column::RealmId.eq(realm_id))
        .filter(link::Column::IdentityProvider.eq(old_alias))
        .exec(db)
        .await?;
    Ok(())
}

/// A provider's mappers, by name.
pub async fn mappers<C: ConnectionTrait>(
    db: &C,
    provider_id: &str,
) -> Result<Vec<mapper::Model>, StoreError> {
    Ok(mapper::Entity::find()
        .filter(mapper::Column::IdentityProviderId.eq(provider_id))
        .order_by_asc(mapper::Column::Name)
        .order_by_asc(mapper::Column::Id)
        .all(db)
        .await?)
}

/// One of a provider's mappers.
pub async fn mapper<C: ConnectionTrait>(
    db: &C,
    provider_id: &str,
    id: &str,
) -> Result<Option<mapper::Model>, StoreError> {
    Ok(mapper::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .filter(|m| m.identity_provider_id == provider_id))
}

pub async fn insert_mapper<C: ConnectionTrait>(
    db: &C,
    row: mapper::Model,
) -> Result<(), StoreError> {
    insert_all::<mapper::Entity, _>(db, vec![row]).await?;
    Ok(())
}

pub async fn update_mapper<C: ConnectionTrait>(
    db: &C,
    row: mapper::Model,
) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

pub async fn delete_mapper<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    mapper::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// How many memberships a removal took away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Removed {
    pub groups: usize,
    pub roles: usize,
}

/// Removes the group and role memberships that only these mappers asserted (a membership
/// another mapper also asserts stays, and so does one an admin made: it has no provenance);
/// the users whose memberships went are added to `users`. For a deleted mapper or provider:
/// what nothing asserts any longer is gone, not left behind.
pub async fn remove_asserted_memberships<C: ConnectionTrait>(
    db: &C,
    mapper_ids: &[String],
    users: &mut BTreeSet<String>,
) -> Result<Removed, StoreError> {
    if mapper_ids.is_empty() {
        return Ok(Removed::default());
    }
    let ids: BTreeSet<&str> = mapper_ids.iter().map(String::as_str).collect();
    let groups: Vec<(String, String, String)> = group_prov::Entity::find()
        .filter(
            group_prov::Column::UserId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(group_prov::Column::UserId)
                    .from(group_prov::Entity)
                    .and_where(group_prov::Column::MapperId.is_in(mapper_ids.to_vec()))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r.group_id, r.mapper_id))
        .collect();
    let roles: Vec<(String, String, String)> = role_prov::Entity::find()
        .filter(
            role_prov::Column::UserId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(role_prov::Column::UserId)
                    .from(role_prov::Entity)
                    .and_where(role_prov::Column::MapperId.is_in(mapper_ids.to_vec()))
                    .to_owned(),
            ),
        )
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.user_id, r.role_id, r.mapper_id))
        .collect();
    let orphaned = |rows: &[(String, String, String)]| {
        let mut by_pair: BTreeMap<(&str, &str), bool> = BTreeMap::new();
        for (user, target, mapper) in rows {
            let kept = by_pair
                .entry((user.as_str(), target.as_str()))
                .or_insert(false);
            *kept |= !ids.contains(mapper.as_str());
        }
        by_pair
            .into_iter()
            .filter(|(_, kept)| !kept)
            .map(|((user, target), _)| (user.to_string(), target.to_string()))
            .collect::<Vec<_>>()
    };
    let group_pairs = orphaned(&groups);
    let role_pairs = orphaned(&roles);
    for chunk in group_pairs.chunks(DELETE_CHUNK) {
        let mut any = Condition::any();
        for (user, group) in chunk {
            any = any.add(
                Condition::all()
                    .add(user_group::Column::UserId.eq(user))
                    .add(user_group::Column::GroupId.eq(group)),
            );
        }
        user_group::Entity::delete_many()
            .filter(any)
            .exec(db)
            .await?;
    }
    for chunk in role_pairs.chunks(DELETE_CHUNK) {
        let mut any = Condition::any();
        for (user, role) in chunk {
            any = any.add(
                Condition::all()
                    .add(user_role::Column::UserId.eq(user))
                    .add(user_role::Column::RoleId.eq(role)),
            );
        }
        user_role::Entity::delete_many()
            .filter(any)
            .exec(db)
            .await?;
    }
    users.extend(group_pairs.iter().map(|(u, _)| u.clone()));
    users.extend(role_pairs.iter().map(|(u, _)| u.clone()));
    Ok(Removed {
        groups: group_pairs.len(),
        roles: role_pairs.len(),
    })
}
