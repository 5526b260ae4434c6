//! The initial schema: realms, keys, users, credentials, clients, mappers, roles, groups, the
//! join tables between them, and docker refresh tokens.
//!
//! Role and group name uniqueness cannot be one plain unique index because `client_pk` /
//! `parent_id` are NULL for realm roles / top-level groups and NULLs never collide; partial
//! unique indexes (supported by SQLite and PostgreSQL alike) cover the NULL case.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        let db = manager.get_connection();
        for sql in PARTIAL_UNIQUE_INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first, so foreign keys never point at a dropped table.
        let tables: [DynIden; 13] = [
            DockerRefreshToken::Table.into_iden(),
            UserRole::Table.into_iden(),
            UserGroup::Table.into_iden(),
            GroupRole::Table.into_iden(),
            RealmGroup::Table.into_iden(),
            CompositeRole::Table.into_iden(),
            Role::Table.into_iden(),
            ProtocolMapper::Table.into_iden(),
            Client::Table.into_iden(),
            Credential::Table.into_iden(),
            UserEntity::Table.into_iden(),
            RealmKey::Table.into_iden(),
            Realm::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Unique names for realm roles and top-level groups, where the scoping column is NULL.
const PARTIAL_UNIQUE_INDEXES: [&str; 2] = [
    "CREATE UNIQUE INDEX uq_role_realm_name ON role (realm_id, name) WHERE client_pk IS NULL",
    "CREATE UNIQUE INDEX uq_group_top_name ON realm_group (realm_id, name) WHERE parent_id IS NULL",
];

fn tables() -> Vec<TableCreateStatement> {
    vec![
        realm(),
        realm_key(),
        user_entity(),
        credential(),
        client(),
        protocol_mapper(),
        role(),
        composite_role(),
        realm_group(),
        group_role(),
        user_group(),
        user_role(),
        docker_refresh_token(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique("uq_realm_name", Realm::Table, &[Realm::Name.into_iden()]),
        index(
            "ix_realm_key_realm",
            RealmKey::Table,
            &[RealmKey::RealmId.into_iden()],
        ),
        unique(
            "uq_user_realm_username",
            UserEntity::Table,
            &[
                UserEntity::RealmId.into_iden(),
                UserEntity::Username.into_iden(),
            ],
        ),
        index(
            "ix_user_realm_email",
            UserEntity::Table,
            &[
                UserEntity::RealmId.into_iden(),
                UserEntity::Email.into_iden(),
            ],
        ),
        index(
            "ix_credential_user",
            Credential::Table,
            &[Credential::UserId.into_iden()],
        ),
        unique(
            "uq_client_realm_client_id",
            Client::Table,
            &[Client::RealmId.into_iden(), Client::ClientId.into_iden()],
        ),
        index(
            "ix_protocol_mapper_client",
            ProtocolMapper::Table,
            &[ProtocolMapper::ClientPk.into_iden()],
        ),
        index("ix_role_realm", Role::Table, &[Role::RealmId.into_iden()]),
        unique(
            "uq_role_client_name",
            Role::Table,
            &[Role::ClientPk.into_iden(), Role::Name.into_iden()],
        ),
        index(
            "ix_composite_role_child",
            CompositeRole::Table,
            &[CompositeRole::ChildId.into_iden()],
        ),
        index(
            "ix_group_realm",
            RealmGroup::Table,
            &[RealmGroup::RealmId.into_iden()],
        ),
        unique(
            "uq_group_parent_name",
            RealmGroup::Table,
            &[
                RealmGroup::ParentId.into_iden(),
                RealmGroup::Name.into_iden(),
            ],
        ),
        index(
            "ix_group_role_role",
            GroupRole::Table,
            &[GroupRole::RoleId.into_iden()],
        ),
        index(
            "ix_user_group_group",
            UserGroup::Table,
            &[UserGroup::GroupId.into_iden()],
        ),
        index(
            "ix_user_role_role",
            UserRole::Table,
            &[UserRole::RoleId.into_iden()],
        ),
        unique(
            "uq_docker_refresh_token_hash",
            DockerRefreshToken::Table,
            &[DockerRefreshToken::TokenHash.into_iden()],
        ),
        index(
            "ix_docker_refresh_token_user",
            DockerRefreshToken::Table,
            &[
                DockerRefreshToken::RealmId.into_iden(),
                DockerRefreshToken::UserId.into_iden(),
            ],
        ),
    ]
}

fn index(name: &str, table: impl IntoIden + 'static, columns: &[DynIden]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(name).table(table);
    for column in columns {
        statement.col(column.clone());
    }
    statement.to_owned()
}

fn unique(name: &str, table: impl IntoIden + 'static, columns: &[DynIden]) -> IndexCreateStatement {
    let mut statement = index(name, table, columns);
    statement.unique();
    statement
}

/// A string UUID primary key.
fn id_column(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column)
        .string_len(64)
        .not_null()
        .primary_key()
        .to_owned()
}

/// A non-null string reference column (the foreign key itself is added separately).
fn ref_column(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).string_len(64).not_null().to_owned()
}

/// A foreign key that deletes the row with its parent.
fn cascade(
    name: &str,
    from_table: impl IntoIden + 'static,
    from_column: impl IntoIden + 'static,
    to_table: impl IntoIden + 'static,
    to_column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, from_column)
        .to(to_table, to_column)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

fn realm() -> TableCreateStatement {
    Table::create()
        .table(Realm::Table)
        .col(id_column(Realm::Id))
        .col(ColumnDef::new(Realm::Name).string_len(255).not_null())
        .col(ColumnDef::new(Realm::DisplayName).text().null())
        .col(ColumnDef::new(Realm::Enabled).boolean().not_null())
        .col(
            ColumnDef::new(Realm::AccessTokenLifespan)
                .big_integer()
                .not_null(),
        )
        .col(ColumnDef::new(Realm::PasswordPolicy).text().null())
        .col(ColumnDef::new(Realm::Attributes).text().not_null())
        .col(ColumnDef::new(Realm::CreatedAt).big_integer().not_null())
        .to_owned()
}

fn realm_key() -> TableCreateStatement {
    Table::create()
        .table(RealmKey::Table)
        .col(id_column(RealmKey::Id))
        .col(ref_column(RealmKey::RealmId))
        .col(
            ColumnDef::new(RealmKey::Algorithm)
                .string_len(32)
                .not_null(),
        )
        .col(ColumnDef::new(RealmKey::PrivateKey).blob().not_null())
        .col(ColumnDef::new(RealmKey::Certificate).blob().not_null())
        .col(ColumnDef::new(RealmKey::Priority).big_integer().not_null())
        .col(ColumnDef::new(RealmKey::Enabled).boolean().not_null())
        .col(ColumnDef::new(RealmKey::CreatedAt).big_integer().not_null())
        .foreign_key(&mut cascade(
            "fk_realm_key_realm",
            RealmKey::Table,
            RealmKey::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .to_owned()
}

fn user_entity() -> TableCreateStatement {
    Table::create()
        .table(UserEntity::Table)
        .col(id_column(UserEntity::Id))
        .col(ref_column(UserEntity::RealmId))
        .col(
            ColumnDef::new(UserEntity::Username)
                .string_len(255)
                .not_null(),
        )
        .col(ColumnDef::new(UserEntity::Email).string_len(255).null())
        .col(
            ColumnDef::new(UserEntity::EmailVerified)
                .boolean()
                .not_null(),
        )
        .col(ColumnDef::new(UserEntity::FirstName).text().null())
        .col(ColumnDef::new(UserEntity::LastName).text().null())
        .col(ColumnDef::new(UserEntity::Enabled).boolean().not_null())
        .col(ColumnDef::new(UserEntity::Attributes).text().not_null())
        .col(
            ColumnDef::new(UserEntity::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(&mut cascade(
            "fk_user_realm",
            UserEntity::Table,
            UserEntity::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .to_owned()
}

fn credential() -> TableCreateStatement {
    Table::create()
        .table(Credential::Table)
        .col(id_column(Credential::Id))
        .col(ref_column(Credential::UserId))
        .col(ColumnDef::new(Credential::Type).string_len(64).not_null())
        .col(ColumnDef::new(Credential::UserLabel).text().null())
        .col(ColumnDef::new(Credential::Secret).text().not_null())
        .col(
            ColumnDef::new(Credential::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(&mut cascade(
            "fk_credential_user",
            Credential::Table,
            Credential::UserId,
            UserEntity::Table,
            UserEntity::Id,
        ))
        .to_owned()
}

fn client() -> TableCreateStatement {
    Table::create()
        .table(Client::Table)
        .col(id_column(Client::Id))
        .col(ref_column(Client::RealmId))
        .col(ColumnDef::new(Client::ClientId).string_len(255).not_null())
        .col(ColumnDef::new(Client::Name).text().null())
        .col(ColumnDef::new(Client::Description).text().null())
        .col(ColumnDef::new(Client::Protocol).string_len(64).not_null())
        .col(ColumnDef::new(Client::Enabled).boolean().not_null())
        .col(ColumnDef::new(Client::PublicClient).boolean().not_null())
        .col(ColumnDef::new(Client::BearerOnly).boolean().not_null())
        .col(ColumnDef::new(Client::Secret).text().null())
        .col(ColumnDef::new(Client::RedirectUris).text().not_null())
        .col(ColumnDef::new(Client::WebOrigins).text().not_null())
        .col(ColumnDef::new(Client::Attributes).text().not_null())
        .col(
            ColumnDef::new(Client::StandardFlowEnabled)
                .boolean()
                .not_null(),
        )
        .col(
            ColumnDef::new(Client::DirectAccessGrantsEnabled)
                .boolean()
                .not_null(),
        )
        .col(
            ColumnDef::new(Client::ServiceAccountsEnabled)
                .boolean()
                .not_null(),
        )
        .col(ColumnDef::new(Client::CreatedAt).big_integer().not_null())
        .foreign_key(&mut cascade(
            "fk_client_realm",
            Client::Table,
            Client::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .to_owned()
}

fn protocol_mapper() -> TableCreateStatement {
    Table::create()
        .table(ProtocolMapper::Table)
        .col(id_column(ProtocolMapper::Id))
        .col(ref_column(ProtocolMapper::ClientPk))
        .col(
            ColumnDef::new(ProtocolMapper::Name)
                .string_len(255)
                .not_null(),
        )
        .col(
            ColumnDef::new(ProtocolMapper::Protocol)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(ProtocolMapper::MapperType)
                .string_len(255)
                .not_null(),
        )
        .col(ColumnDef::new(ProtocolMapper::Config).text().not_null())
        .foreign_key(&mut cascade(
            "fk_protocol_mapper_client",
            ProtocolMapper::Table,
            ProtocolMapper::ClientPk,
            Client::Table,
            Client::Id,
        ))
        .to_owned()
}

fn role() -> TableCreateStatement {
    Table::create()
        .table(Role::Table)
        .col(id_column(Role::Id))
        .col(ref_column(Role::RealmId))
        .col(ColumnDef::new(Role::ClientPk).string_len(64).null())
        .col(ColumnDef::new(Role::Name).string_len(255).not_null())
        .col(ColumnDef::new(Role::Description).text().null())
        .col(ColumnDef::new(Role::Attributes).text().not_null())
        .foreign_key(&mut cascade(
            "fk_role_realm",
            Role::Table,
            Role::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .foreign_key(&mut cascade(
            "fk_role_client",
            Role::Table,
            Role::ClientPk,
            Client::Table,
            Client::Id,
        ))
        .to_owned()
}

fn composite_role() -> TableCreateStatement {
    Table::create()
        .table(CompositeRole::Table)
        .col(ref_column(CompositeRole::CompositeId))
        .col(ref_column(CompositeRole::ChildId))
        .primary_key(
            Index::create()
                .col(CompositeRole::CompositeId)
                .col(CompositeRole::ChildId),
        )
        .foreign_key(&mut cascade(
            "fk_composite_role_composite",
            CompositeRole::Table,
            CompositeRole::CompositeId,
            Role::Table,
            Role::Id,
        ))
        .foreign_key(&mut cascade(
            "fk_composite_role_child",
            CompositeRole::Table,
            CompositeRole::ChildId,
            Role::Table,
            Role::Id,
        ))
        .to_owned()
}

fn realm_group() -> TableCreateStatement {
    Table::create()
        .table(RealmGroup::Table)
        .col(id_column(RealmGroup::Id))
        .col(ref_column(RealmGroup::RealmId))
        .col(ColumnDef::new(RealmGroup::ParentId).string_len(64).null())
        .col(ColumnDef::new(RealmGroup::Name).string_len(255).not_null())
        .col(ColumnDef::new(RealmGroup::Attributes).text().not_null())
        .foreign_key(&mut cascade(
            "fk_group_realm",
            RealmGroup::Table,
            RealmGroup::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .foreign_key(&mut cascade(
            "fk_group_parent",
            RealmGroup::Table,
            RealmGroup::ParentId,
            RealmGroup::Table,
            RealmGroup::Id,
        ))
        .to_owned()
}

/// A two-column join table whose rows disappear with either side.
fn join_table(
    table: impl IntoIden + Clone + 'static,
    left: (
        impl IntoIden + Clone + 'static,
        impl IntoIden + 'static,
        impl IntoIden + 'static,
    ),
    right: (
        impl IntoIden + Clone + 'static,
        impl IntoIden + 'static,
        impl IntoIden + 'static,
    ),
    names: (&str, &str),
) -> TableCreateStatement {
    Table::create()
        .table(table.clone())
        .col(ref_column(left.0.clone()))
        .col(ref_column(right.0.clone()))
        .primary_key(Index::create().col(left.0.clone()).col(right.0.clone()))
        .foreign_key(&mut cascade(names.0, table.clone(), left.0, left.1, left.2))
        .foreign_key(&mut cascade(names.1, table, right.0, right.1, right.2))
        .to_owned()
}

fn group_role() -> TableCreateStatement {
    join_table(
        GroupRole::Table,
        (GroupRole::GroupId, RealmGroup::Table, RealmGroup::Id),
        (GroupRole::RoleId, Role::Table, Role::Id),
        ("fk_group_role_group", "fk_group_role_role"),
    )
}

fn user_group() -> TableCreateStatement {
    join_table(
        UserGroup::Table,
        (UserGroup::UserId, UserEntity::Table, UserEntity::Id),
        (UserGroup::GroupId, RealmGroup::Table, RealmGroup::Id),
        ("fk_user_group_user", "fk_user_group_group"),
    )
}

fn user_role() -> TableCreateStatement {
    join_table(
        UserRole::Table,
        (UserRole::UserId, UserEntity::Table, UserEntity::Id),
        (UserRole::RoleId, Role::Table, Role::Id),
        ("fk_user_role_user", "fk_user_role_role"),
    )
}

fn docker_refresh_token() -> TableCreateStatement {
    Table::create()
        .table(DockerRefreshToken::Table)
        .col(id_column(DockerRefreshToken::Id))
        .col(
            ColumnDef::new(DockerRefreshToken::TokenHash)
                .string_len(128)
                .not_null(),
        )
        .col(ref_column(DockerRefreshToken::RealmId))
        .col(ref_column(DockerRefreshToken::UserId))
        .col(
            ColumnDef::new(DockerRefreshToken::Service)
                .text()
                .not_null(),
        )
        .col(
            ColumnDef::new(DockerRefreshToken::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(DockerRefreshToken::LastUsedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(DockerRefreshToken::ExpiresAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(DockerRefreshToken::Revoked)
                .boolean()
                .not_null(),
        )
        .foreign_key(&mut cascade(
            "fk_docker_refresh_token_realm",
            DockerRefreshToken::Table,
            DockerRefreshToken::RealmId,
            Realm::Table,
            Realm::Id,
        ))
        .foreign_key(&mut cascade(
            "fk_docker_refresh_token_user",
            DockerRefreshToken::Table,
            DockerRefreshToken::UserId,
            UserEntity::Table,
            UserEntity::Id,
        ))
        .to_owned()
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
    Name,
    DisplayName,
    Enabled,
    AccessTokenLifespan,
    PasswordPolicy,
    Attributes,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RealmKey {
    Table,
    Id,
    RealmId,
    Algorithm,
    PrivateKey,
    Certificate,
    Priority,
    Enabled,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserEntity {
    Table,
    Id,
    RealmId,
    Username,
    Email,
    EmailVerified,
    FirstName,
    LastName,
    Enabled,
    Attributes,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Credential {
    Table,
    Id,
    UserId,
    Type,
    UserLabel,
    Secret,
    CreatedAt,
}

/// Column names mirror Keycloak's (`client_id`, `public_client`), hence the repetition.
#[derive(DeriveIden, Clone, Copy)]
#[allow(clippy::enum_variant_names)]
enum Client {
    Table,
    Id,
    RealmId,
    ClientId,
    Name,
    Description,
    Protocol,
    Enabled,
    PublicClient,
    BearerOnly,
    Secret,
    RedirectUris,
    WebOrigins,
    Attributes,
    StandardFlowEnabled,
    DirectAccessGrantsEnabled,
    ServiceAccountsEnabled,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProtocolMapper {
    Table,
    Id,
    ClientPk,
    Name,
    Protocol,
    MapperType,
    Config,
}

#[derive(DeriveIden, Clone, Copy)]
enum Role {
    Table,
    Id,
    RealmId,
    ClientPk,
    Name,
    Description,
    Attributes,
}

#[derive(DeriveIden, Clone, Copy)]
enum CompositeRole {
    Table,
    CompositeId,
    ChildId,
}

#[derive(DeriveIden, Clone, Copy)]
enum RealmGroup {
    Table,
    Id,
    RealmId,
    ParentId,
    Name,
    Attributes,
}

#[derive(DeriveIden, Clone, Copy)]
enum GroupRole {
    Table,
    GroupId,
    RoleId,
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
enum DockerRefreshToken {
    Table,
    Id,
    TokenHash,
    RealmId,
    UserId,
    Service,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    Revoked,
}
