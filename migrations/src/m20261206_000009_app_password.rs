//! App passwords: a user's named, expiring secrets for `docker login` and CI, optionally
//! limited to one registry, repository patterns and actions. Only the SHA-256 of the secret is
//! stored (unique: a presented secret is found by it). Revoked ones stay listed with their last
//! use. Rows go with their user and realm.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(app_password()).await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_app_password_secret_hash")
                    .table(AppPassword::Table)
                    .col(AppPassword::SecretHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_app_password_user")
                    .table(AppPassword::Table)
                    .col(AppPassword::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(AppPassword::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

fn app_password() -> TableCreateStatement {
    let id = |column: AppPassword| ColumnDef::new(column).string_len(64).not_null().to_owned();
    let time = |column: AppPassword| ColumnDef::new(column).big_integer().not_null().to_owned();
    let optional_time =
        |column: AppPassword| ColumnDef::new(column).big_integer().null().to_owned();
    Table::create()
        .table(AppPassword::Table)
        .col(id(AppPassword::Id).primary_key())
        .col(id(AppPassword::RealmId))
        .col(id(AppPassword::UserId))
        .col(ColumnDef::new(AppPassword::Name).string_len(255).not_null())
        .col(id(AppPassword::SecretHash))
        .col(ColumnDef::new(AppPassword::Service).string_len(255).null())
        .col(ColumnDef::new(AppPassword::Repositories).text().null())
        .col(ColumnDef::new(AppPassword::Actions).text().null())
        .col(time(AppPassword::CreatedAt))
        .col(time(AppPassword::ExpiresAt))
        .col(optional_time(AppPassword::RevokedAt))
        .col(optional_time(AppPassword::LastUsedAt))
        .col(
            ColumnDef::new(AppPassword::LastUsedAddress)
                .string_len(64)
                .null(),
        )
        .col(
            ColumnDef::new(AppPassword::LastUsedUserAgent)
                .string_len(255)
                .null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_app_password_realm")
                .from(AppPassword::Table, AppPassword::RealmId)
                .to(Realm::Table, Realm::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_app_password_user")
                .from(AppPassword::Table, AppPassword::UserId)
                .to(UserEntity::Table, UserEntity::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserEntity {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum AppPassword {
    Table,
    Id,
    RealmId,
    UserId,
    Name,
    /// Lowercase hex SHA-256 of the secret.
    SecretHash,
    /// The one registry (docker-v2 `clientId`) it is limited to, if any.
    Service,
    /// A JSON array of repository patterns; null for any repository.
    Repositories,
    /// A JSON array of actions; null for any action.
    Actions,
    /// Unix seconds.
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
    LastUsedAddress,
    LastUsedUserAgent,
}
