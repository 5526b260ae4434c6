//! The realm's declarative user profile (Keycloak's `UPConfig`: attributes, validations,
//! permissions, groups, the unmanaged-attribute policy), one JSON document per realm. A realm
//! without a row uses Keycloak's default profile. Rows go with their realm.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UserProfileConfig::Table)
                    .col(
                        ColumnDef::new(UserProfileConfig::RealmId)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(UserProfileConfig::Config).text().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_profile_config_realm")
                            .from(UserProfileConfig::Table, UserProfileConfig::RealmId)
                            .to(Realm::Table, Realm::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(UserProfileConfig::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserProfileConfig {
    Table,
    RealmId,
    Config,
}
