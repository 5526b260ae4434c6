//! Login and token events (Keycloak's user events): sign-ins and their failures, token grants
//! and docker token issuances with the scopes requested and granted and the client's address.
//! Written in batches by the server, read newest first per realm (the index), and deleted by
//! the sweeper once older than the retention. Rows go with their realm.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(login_event()).await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_event_realm_time")
                    .table(LoginEvent::Table)
                    .col(LoginEvent::RealmId)
                    .col(LoginEvent::Time)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(LoginEvent::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await
    }
}

fn login_event() -> TableCreateStatement {
    let text =
        |column: LoginEvent, len: u32| ColumnDef::new(column).string_len(len).null().to_owned();
    Table::create()
        .table(LoginEvent::Table)
        .col(
            ColumnDef::new(LoginEvent::Id)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(LoginEvent::RealmId)
                .string_len(64)
                .not_null(),
        )
        .col(ColumnDef::new(LoginEvent::Time).big_integer().not_null())
        .col(
            ColumnDef::new(LoginEvent::EventType)
                .string_len(64)
                .not_null(),
        )
        .col(text(LoginEvent::ClientId, 255))
        .col(text(LoginEvent::UserId, 64))
        .col(text(LoginEvent::Username, 255))
        .col(text(LoginEvent::SessionId, 64))
        .col(text(LoginEvent::IpAddress, 64))
        .col(text(LoginEvent::Error, 255))
        .col(ColumnDef::new(LoginEvent::Details).text().null())
        .foreign_key(
            ForeignKey::create()
                .name("fk_login_event_realm")
                .from(LoginEvent::Table, LoginEvent::RealmId)
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
enum LoginEvent {
    Table,
    Id,
    RealmId,
    /// Milliseconds since the epoch, as Keycloak reports it.
    Time,
    /// Keycloak's event type: `LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`, ..., and `DOCKER_TOKEN`.
    EventType,
    ClientId,
    UserId,
    Username,
    SessionId,
    IpAddress,
    Error,
    /// A JSON object of strings (`scope_requested`, `scope_granted`, `grant_type`, ...).
    Details,
}
