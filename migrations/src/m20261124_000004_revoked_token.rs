//! Revoked access tokens (RFC 7009, the way Keycloak does it). Access tokens are self-contained
//! JWTs, so revoking one means remembering it until it would have expired anyway. A row is
//! either one token, keyed by its `jti`, or one client session (a client's share of an SSO
//! session, which ends when one of its refresh tokens is revoked), keyed by session and client,
//! covering every access token that client got in that session up to `revoked_at`.
//!
//! `expires_at` is when the last token a row covers expires; after that the row is useless and
//! the sweeper deletes it. Rows go with their realm (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(revoked_token()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(RevokedToken::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

/// Only the primary key is indexed: userinfo and introspection look rows up by it, and the
/// table stays small (rows live minutes), so the sweeper's scan of `expires_at` is cheap.
fn revoked_token() -> TableCreateStatement {
    Table::create()
        .table(RevokedToken::Table)
        // A `jti` (a UUID), or a session id and a client id (see the store's key format).
        .col(
            ColumnDef::new(RevokedToken::Id)
                .string_len(255)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(RevokedToken::RealmId)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(RevokedToken::RevokedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(RevokedToken::ExpiresAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_revoked_token_realm")
                .from(RevokedToken::Table, RevokedToken::RealmId)
                .to(Realm::Table, Realm::Id)
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
enum RevokedToken {
    Table,
    Id,
    RealmId,
    RevokedAt,
    ExpiresAt,
}
