//! Clients, their protocol mappers and their service-account users.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::TextMatch;
use crate::entity::{client, protocol_mapper, role, user_entity};
use crate::error::StoreError;
use crate::queries::insert_all;

/// Every client of the realm, by `clientId`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<client::Model>, StoreError> {
    Ok(client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .order_by_asc(client::Column::ClientId)
        .all(db)
        .await?)
}

/// One page of the realm's clients of `protocol` whose `clientId` matches `search` (all of
/// them without one), by `clientId`, after `after`, at most `limit`: a keyset page, so every
/// page costs the same however many clients the realm has.
pub async fn page_after<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    protocol: &str,
    search: Option<&TextMatch>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<client::Model>, StoreError> {
    let mut select = client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .filter(client::Column::Protocol.eq(protocol));
    if let Some(m) = search {
        select = select.filter(m.condition(client::Column::ClientId));
    }
    if let Some(after) = after {
        select = select.filter(client::Column::ClientId.gt(after));
    }
    Ok(select
        .order_by_asc(client::Column::ClientId)
        .limit(limit)
        .all(db)
        .await?)
}

/// One page of a client's roles, by name, after `after`, at most `limit`.
pub async fn roles_after<C: ConnectionTrait>(
    db: &C,
    client_pk: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<role::Model>, StoreError> {
    let mut select = role::Entity::find().filter(role::Column::ClientPk.eq(client_pk));
    if let Some(after) = after {
        select = select.filter(role::Column::Name.gt(after));
    }
    Ok(select
        .order_by_asc(role::Column::Name)
        .limit(limit)
        .all(db)
        .await?)
}

/// By internal id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<client::Model>, StoreError> {
    Ok(client::Entity::find_by_id(id.to_string())
        .filter(client::Column::RealmId.eq(realm_id))
        .one(db)
        .await?)
}

/// By `clientId`.
pub async fn find_by_client_id<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_id: &str,
) -> Result<Option<client::Model>, StoreError> {
    Ok(client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await?)
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: client::Model) -> Result<(), StoreError> {
    insert_all::<client::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Writes every column of `row` (by its id).
pub async fn update<C: ConnectionTrait>(db: &C, row: client::Model) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a client with its roles, mappers and service-account user.
pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    client::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// A new client secret: 256 random bits, base64url.
pub fn new_secret() -> Result<String, StoreError> {
    crate::queries::random_secret()
}

/// The client's protocol mappers, by name.
pub async fn mappers<C: ConnectionTrait>(
    db: &C,
    client_pk: &str,
) -> Result<Vec<protocol_mapper::Model>, StoreError> {
    Ok(protocol_mapper::Entity::find()
        .filter(protocol_mapper::Column::ClientPk.eq(client_pk))
        .order_by_asc(protocol_mapper::Column::Name)
        .order_by_asc(protocol_mapper::Column::Id)
        .all(db)
        .await?)
}

pub async fn mapper<C: ConnectionTrait>(
    db: &C,
    client_pk: &str,
    id: &str,
) -> Result<Option<protocol_mapper::Model>, StoreError> {
    Ok(protocol_mapper::Entity::find_by_id(id.to_string())
        .filter(protocol_mapper::Column::ClientPk.eq(client_pk))
        .one(db)
        .await?)
}

pub async fn insert_mapper<C: ConnectionTrait>(
    db: &C,
    row: protocol_mapper::Model,
) -> Result<(), StoreError> {
    insert_all::<protocol_mapper::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Writes every column of `row` (by its id).
pub async fn update_mapper<C: ConnectionTrait>(
    db: &C,
    row: protocol_mapper::Model,
) -> Result<(), StoreError> {
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

pub async fn delete_mapper<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    protocol_mapper::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// The client's service-account user, if it has one.
pub async fn service_account<C: ConnectionTrait>(
    db: &C,
    client_pk: &str,
) -> Result<Option<user_entity::Model>, StoreError> {
    Ok(user_entity::Entity::find()
        .filter(user_entity::Column::ServiceAccountClientPk.eq(client_pk))
        .one(db)
        .await?)
}
