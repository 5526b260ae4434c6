//! Emails are kept lowercase, as Keycloak keeps them, so that the uniqueness check and the
//! console's search compare them with `=` and ranges on the `(realm_id, email)` index instead of
//! lowercasing every row of the realm.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE user_entity SET email = lower(email) \
                 WHERE email IS NOT NULL AND email <> lower(email)",
            )
            .await?;
        Ok(())
    }

    /// The original case is gone; lowercase emails are valid for the older schema too.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
