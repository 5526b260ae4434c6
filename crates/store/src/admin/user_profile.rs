//! A realm's declarative user profile, stored as Keycloak's `UPConfig` JSON.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};

use super::entity::user_profile_config;
use crate::error::StoreError;

/// The stored profile of the realm, as JSON text; `None` when the realm uses the default.
pub async fn get<C: ConnectionTrait>(db: &C, realm_id: &str) -> Result<Option<String>, StoreError> {
    Ok(
        user_profile_config::Entity::find_by_id(realm_id.to_string())
            .one(db)
            .await?
            .map(|row| row.config),
    )
}

/// Stores (or replaces) the realm's profile.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    config: &str,
) -> Result<(), StoreError> {
    let row = user_profile_config::Model {
        realm_id: realm_id.to_string(),
        config: config.to_string(),
    };
    user_profile_config::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(user_profile_config::Column::RealmId)
                .update_column(user_profile_config::Column::Config)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
