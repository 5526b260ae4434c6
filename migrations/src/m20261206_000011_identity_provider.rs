//! Identity brokering: a realm's upstream identity providers (Keycloak's `IDENTITY_PROVIDER`,
//! alias unique per realm, settings in a JSON `config` column as Keycloak keeps them), their
//! mappers (`IDENTITY_PROVIDER_MAPPER`, name unique per provider), and the provenance of every
//! group and role membership a mapper created: which provider and mapper, first and last seen.
//!
//! A provenance row hangs off its membership (a composite foreign key onto `user_group` /
//! `user_role`, `ON DELETE CASCADE`): an admin who removes the membership removes its
//! provenance too, and a membership without provenance (one an admin made) is never touched
//! by reconciliation.
//!
//! Existing realms also get Keycloak's `view-identity-providers` and
//! `manage-identity-providers` roles on their `realm-management` client, inside `realm-admin`.

use sea_orm_migration::prelude::*;

use crate::sql::{new_id, placeholders};
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Keycloak's admin roles for identity providers.
const ROLES: [&str; 2] = ["view-identity-providers", "manage-identity-providers"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            identity_provider(),
            identity_provider_mapper(),
            membership(Membership::Group),
            membership(Membership::Role),
        ] {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        add_admin_roles(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 4] = [
            BrokerRoleMembership::Table.into_iden(),
            BrokerGroupMembership::Table.into_iden(),
            IdentityProviderMapper::Table.into_iden(),
            IdentityProvider::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
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

fn identity_provider() -> TableCreateStatement {
    use IdentityProvider as P;
    let flag = |c: P| ColumnDef::new(c).boolean().not_null().to_owned();
    Table::create()
        .table(P::Table)
        .col(string_key(P::Id).primary_key())
        .col(string_key(P::RealmId))
        .col(ColumnDef::new(P::Alias).string_len(255).not_null())
        .col(ColumnDef::new(P::DisplayName).text().null())
        .col(ColumnDef::new(P::ProviderId).string_len(64).not_null())
        .col(flag(P::Enabled))
        .col(flag(P::HideOnLogin))
        .col(flag(P::TrustEmail))
        .col(flag(P::LinkOnly))
        .col(
            ColumnDef::new(P::FirstLoginPolicy)
                .string_len(64)
                .not_null(),
        )
        .col(ColumnDef::new(P::Config).text().not_null())
        .col(ColumnDef::new(P::CreatedAt).big_integer().not_null())
        .foreign_key(&mut cascade(
            "fk_identity_provider_realm",
            (P::Table, P::RealmId),
            (Realm::Table, Realm::Id),
        ))
        .to_owned()
}

fn identity_provider_mapper() -> TableCreateStatement {
    use IdentityProviderMapper as M;
    Table::create()
        .table(M::Table)
        .col(string_key(M::Id).primary_key())
        .col(string_key(M::RealmId))
        .col(string_key(M::IdentityProviderId))
        .col(ColumnDef::new(M::Name).string_len(255).not_null())
        .col(ColumnDef::new(M::MapperType).string_len(255).not_null())
        .col(ColumnDef::new(M::Config).text().not_null())
        .foreign_key(&mut cascade(
            "fk_idp_mapper_realm",
            (M::Table, M::RealmId),
            (Realm::Table, Realm::Id),
        ))
        .foreign_key(&mut cascade(
            "fk_idp_mapper_provider",
            (M::Table, M::IdentityProviderId),
            (IdentityProvider::Table, IdentityProvider::Id),
        ))
        .to_owned()
}

/// The two provenance tables differ only in what the membership is of.
#[derive(Clone, Copy)]
enum Membership {
    Group,
    Role,
}

fn membership(kind: Membership) -> TableCreateStatement {
    use BrokerGroupMembership as G;
    use BrokerRoleMembership as R;
    let (table, user, target, mapper, provider, realm, created, seen): (
        DynIden,
        DynIden,
        DynIden,
        DynIden,
        DynIden,
        DynIden,
        DynIden,
        DynIden,
    ) = match kind {
        Membership::Group => (
            G::Table.into_iden(),
            G::UserId.into_iden(),
            G::GroupId.into_iden(),
            G::MapperId.into_iden(),
            G::IdentityProviderId.into_iden(),
            G::RealmId.into_iden(),
            G::CreatedAt.into_iden(),
            G::LastSeenAt.into_iden(),
        ),
        Membership::Role => (
            R::Table.into_iden(),
            R::UserId.into_iden(),
            R::RoleId.into_iden(),
            R::MapperId.into_iden(),
            R::IdentityProviderId.into_iden(),
            R::RealmId.into_iden(),
            R::CreatedAt.into_iden(),
            R::LastSeenAt.into_iden(),
        ),
    };
    let (prefix, join_table, join_user, join_target): (&str, DynIden, DynIden, DynIden) = match kind
    {
        Membership::Group => (
            "broker_group",
            UserGroup::Table.into_iden(),
            UserGroup::UserId.into_iden(),
            UserGroup::GroupId.into_iden(),
        ),
        Membership::Role => (
            "broker_role",
            UserRole::Table.into_iden(),
            UserRole::UserId.into_iden(),
            UserRole::RoleId.into_iden(),
        ),
    };
    let time = |c: &DynIden| {
        ColumnDef::new(c.clone())
            .big_integer()
            .not_null()
            .to_owned()
    };
    Table::create()
        .table(table.clone())
        .col(string_key(user.clone()))
        .col(string_key(target.clone()))
        .col(string_key(mapper.clone()))
        .col(string_key(provider.clone()))
        .col(string_key(realm.clone()))
        .col(time(&created))
        .col(time(&seen))
        .primary_key(
            Index::create()
                .col(user.clone())
                .col(target.clone())
                .col(mapper.clone()),
        )
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{prefix}_membership"))
                .from_tbl(table.clone())
                .from_col(user.clone())
                .from_col(target.clone())
                .to_tbl(join_table)
                .to_col(join_user)
                .to_col(join_target)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .foreign_key(&mut cascade(
            &format!("fk_{prefix}_mapper"),
            (table.clone(), mapper),
            (IdentityProviderMapper::Table, IdentityProviderMapper::Id),
        ))
        .foreign_key(&mut cascade(
            &format!("fk_{prefix}_provider"),
            (table.clone(), provider),
            (IdentityProvider::Table, IdentityProvider::Id),
        ))
        .foreign_key(&mut cascade(
            &format!("fk_{prefix}_realm"),
            (table, realm),
            (Realm::Table, Realm::Id),
        ))
        .to_owned()
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .name("uq_identity_provider_alias")
            .table(IdentityProvider::Table)
            .col(IdentityProvider::RealmId)
            .col(IdentityProvider::Alias)
            .unique()
            .to_owned(),
        Index::create()
            .name("uq_idp_mapper_name")
            .table(IdentityProviderMapper::Table)
            .col(IdentityProviderMapper::IdentityProviderId)
            .col(IdentityProviderMapper::Name)
            .unique()
            .to_owned(),
        Index::create()
            .name("ix_broker_group_provider")
            .table(BrokerGroupMembership::Table)
            .col(BrokerGroupMembership::UserId)
            .col(BrokerGroupMembership::IdentityProviderId)
            .to_owned(),
        Index::create()
            .name("ix_broker_group_mapper")
            .table(BrokerGroupMembership::Table)
            .col(BrokerGroupMembership::MapperId)
            .to_owned(),
        Index::create()
            .name("ix_broker_role_provider")
            .table(BrokerRoleMembership::Table)
            .col(BrokerRoleMembership::UserId)
            .col(BrokerRoleMembership::IdentityProviderId)
            .to_owned(),
        Index::create()
            .name("ix_broker_role_mapper")
            .table(BrokerRoleMembership::Table)
            .col(BrokerRoleMembership::MapperId)
            .to_owned(),
    ]
}

/// Gives every realm's `realm-management` client the identity-provider admin roles it lacks,
/// and puts them inside that client's `realm-admin`.
async fn add_admin_roles(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let clients = db
        .query_all(Statement::from_string(
            backend,
            "SELECT id, realm_id FROM client WHERE client_id = 'realm-management'",
        ))
        .await?;
    for client in clients {
        let client_pk: String = client.try_get("", "id")?;
        let realm_id: String = client.try_get("", "realm_id")?;
        let admin = db
            .query_one(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "SELECT id FROM role WHERE client_pk = ? AND name = 'realm-admin'",
                ),
                [DbValue::from(client_pk.clone())],
            ))
            .await?
            .map(|row| row.try_get::<String>("", "id"))
            .transpose()?;
        for name in ROLES {
            let existing = db
                .query_one(Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "SELECT id FROM role WHERE client_pk = ? AND name = ?",
                    ),
                    [DbValue::from(client_pk.clone()), DbValue::from(name)],
                ))
                .await?;
            if existing.is_some() {
                continue;
            }
            let id = new_id();
            db.execute(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "INSERT INTO role (id, realm_id, client_pk, name, description, attributes) \
                     VALUES (?, ?, ?, ?, ?, '{}')",
                ),
                [
                    DbValue::from(id.clone()),
                    DbValue::from(realm_id.clone()),
                    DbValue::from(client_pk.clone()),
                    DbValue::from(name),
                    DbValue::from(format!("${{role_{name}}}")),
                ],
            ))
            .await?;
            if let Some(admin) = &admin {
                db.execute(Statement::from_sql_and_values(
                    backend,
                    placeholders(
                        backend,
                        "INSERT INTO composite_role (composite_id, child_id) VALUES (?, ?)",
                    ),
                    [DbValue::from(admin.clone()), DbValue::from(id)],
                ))
                .await?;
            }
        }
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserGroup {
    Table,
    UserId,
    GroupId,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserRole {
    Table,
    UserId,
    RoleId,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdentityProvider {
    Table,
    /// Keycloak's `internalId`.
    Id,
    RealmId,
    /// Unique in the realm; the provider's name in URLs.
    Alias,
    DisplayName,
    /// `oidc`, `keycloak-oidc`, `oauth2` or `github`.
    ProviderId,
    Enabled,
    HideOnLogin,
    TrustEmail,
    LinkOnly,
    /// `create`, `link-verified`, `deny-if-exists` or `existing-only`.
    FirstLoginPolicy,
    /// A JSON object of strings: Keycloak's `config` (client secret included).
    Config,
    /// Unix seconds.
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IdentityProviderMapper {
    Table,
    Id,
    RealmId,
    IdentityProviderId,
    Name,
    /// Keycloak's `identityProviderMapper`, e.g. `hardcoded-group-idp-mapper`.
    MapperType,
    /// A JSON object of strings.
    Config,
}

#[derive(DeriveIden, Clone, Copy)]
enum BrokerGroupMembership {
    Table,
    UserId,
    GroupId,
    MapperId,
    IdentityProviderId,
    RealmId,
    /// Unix seconds: when the mapper created the membership.
    CreatedAt,
    /// Unix seconds: the last login at which the upstream asserted it.
    LastSeenAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum BrokerRoleMembership {
    Table,
    UserId,
    RoleId,
    MapperId,
    IdentityProviderId,
    RealmId,
    CreatedAt,
    LastSeenAt,
}
