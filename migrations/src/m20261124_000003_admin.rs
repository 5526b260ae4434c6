//! The admin REST API's state: admin events (who changed what, when, with which
//! representation), the representation fields Portcullis does not model but hands back as they
//! were written (so Keycloak tooling sees no drift), and users' links to upstream identity
//! providers.
//!
//! Every row belongs to a realm and goes with it (`ON DELETE CASCADE`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [admin_event(), admin_extra(), user_federated_identity()] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 3] = [
            UserFederatedIdentity::Table.into_iden(),
            AdminExtra::Table.into_iden(),
            AdminEvent::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("ix_admin_event_realm_time")
            .table(AdminEvent::Table)
            .col(AdminEvent::RealmId)
            .col(AdminEvent::Time)
            .to_owned(),
        Index::create()
            .name("ix_admin_extra_realm")
            .table(AdminExtra::Table)
            .col(AdminExtra::RealmId)
            .to_owned(),
        Index::create()
            .name("uq_federated_identity_link")
            .table(UserFederatedIdentity::Table)
            .col(UserFederatedIdentity::RealmId)
            .col(UserFederatedIdentity::IdentityProvider)
            .col(UserFederatedIdentity::FederatedUserId)
            .unique()
            .to_owned(),
    ]
}

fn string_key(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).string_len(64).not_null().to_owned()
}

fn cascade(
    name: &str,
    from: (impl IntoIden + 'static, impl IntoIden + 'static),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// Keycloak's `ADMIN_EVENT_ENTITY`, trimmed: time in milliseconds, the operation, the resource
/// and its representation (JSON text, secrets removed), and the caller.
fn admin_event() -> TableCreateStatement {
    Table::create()
        .table(AdminEvent::Table)
        .col(
            ColumnDef::new(AdminEvent::Id)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(string_key(AdminEvent::RealmId))
        .col(ColumnDef::new(AdminEvent::Time).big_integer().not_null())
        .col(
            ColumnDef::new(AdminEvent::OperationType)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(AdminEvent::ResourceType)
                .string_len(64)
                .not_null(),
        )
        .col(ColumnDef::new(AdminEvent::ResourcePath).text().not_null())
        .col(ColumnDef::new(AdminEvent::Representation).text().null())
        .col(ColumnDef::new(AdminEvent::Error).text().null())
        .col(
            ColumnDef::new(AdminEvent::AuthRealmId)
                .string_len(64)
                .null(),
        )
        .col(ColumnDef::new(AdminEvent::AuthClientId).text().null())
        .col(ColumnDef::new(AdminEvent::AuthUserId).string_len(64).null())
        .col(ColumnDef::new(AdminEvent::IpAddress).text().null())
        .foreign_key(&mut cascade(
            "fk_admin_event_realm",
            (AdminEvent::Table, AdminEvent::RealmId),
            (Realm::Table, Realm::Id),
        ))
        .to_owned()
}

/// Representation fields of a realm, client or user that Portcullis keeps but does not
/// interpret (`sslRequired`, `rootUrl`, `requiredActions`, ...), as a JSON object, by the
/// owner's id.
fn admin_extra() -> TableCreateStatement {
    Table::create()
        .table(AdminExtra::Table)
        .col(
            ColumnDef::new(AdminExtra::OwnerId)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(string_key(AdminExtra::RealmId))
        .col(ColumnDef::new(AdminExtra::Fields).text().not_null())
        .foreign_key(&mut cascade(
            "fk_admin_extra_realm",
            (AdminExtra::Table, AdminExtra::RealmId),
            (Realm::Table, Realm::Id),
        ))
        .to_owned()
}

/// A user's link to an account at an upstream identity provider (Keycloak's
/// `FEDERATED_IDENTITY`): one per provider and user, one user per provider account.
fn user_federated_identity() -> TableCreateStatement {
    Table::create()
        .table(UserFederatedIdentity::Table)
        .col(string_key(UserFederatedIdentity::UserId))
        .col(
            ColumnDef::new(UserFederatedIdentity::IdentityProvider)
                .string_len(255)
                .not_null(),
        )
        .col(string_key(UserFederatedIdentity::RealmId))
        .col(
            ColumnDef::new(UserFederatedIdentity::FederatedUserId)
                .string_len(255)
                .not_null(),
        )
        .col(
            ColumnDef::new(UserFederatedIdentity::FederatedUsername)
                .text()
                .null(),
        )
        .primary_key(
            Index::create()
                .col(UserFederatedIdentity::UserId)
                .col(UserFederatedIdentity::IdentityProvider),
        )
        .foreign_key(&mut cascade(
            "fk_federated_identity_user",
            (UserFederatedIdentity::Table, UserFederatedIdentity::UserId),
            (UserEntity::Table, UserEntity::Id),
        ))
        .foreign_key(&mut cascade(
            "fk_federated_identity_realm",
            (UserFederatedIdentity::Table, UserFederatedIdentity::RealmId),
            (Realm::Table, Realm::Id),
        ))
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
enum AdminEvent {
    Table,
    Id,
    RealmId,
    Time,
    OperationType,
    ResourceType,
    ResourcePath,
    Representation,
    Error,
    AuthRealmId,
    AuthClientId,
    AuthUserId,
    IpAddress,
}

#[derive(DeriveIden, Clone, Copy)]
enum AdminExtra {
    Table,
    OwnerId,
    RealmId,
    Fields,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserFederatedIdentity {
    Table,
    UserId,
    IdentityProvider,
    RealmId,
    FederatedUserId,
    FederatedUsername,
}
