//! Users' links to accounts at upstream identity providers.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entity::user_federated_identity as link;
use crate::error::StoreError;
use crate::queries::insert_all;

/// The user's links, by provider alias.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<link::Model>, StoreError> {
    Ok(link::Entity::find()
        .filter(link::Column::UserId.eq(user_id))
        .order_by_asc(link::Column::IdentityProvider)
        .all(db)
        .await?)
}

/// The user linked to the provider account, if any.
pub async fn find_by_account<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    provider: &str,
    federated_user_id: &str,
) -> Result<Option<link::Model>, StoreError> {
    Ok(link::Entity::find()
        .filter(link::Column::RealmId.eq(realm_id))
        .filter(link::Column::IdentityProvider.eq(provider))
        .filter(link::Column::FederatedUserId.eq(federated_user_id))
        .one(db)
        .await?)
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    provider: &str,
) -> Result<Option<link::Model>, StoreError> {
    Ok(
        link::Entity::find_by_id((user_id.to_string(), provider.to_string()))
            .one(db)
            .await?,
    )
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: link::Model) -> Result<(), StoreError> {
    insert_all::<link::Entity, _>(db, vec![row]).await?;
    Ok(())
}

/// Removes the link; false if there was none.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    provider: &str,
) -> Result<bool, StoreError> {
    let result = link::Entity::delete_many()
        .filter(link::Column::UserId.eq(user_id))
        .filter(link::Column::IdentityProvider.eq(provider))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
