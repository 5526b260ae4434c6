//! The OpenID Connect provider's state: realm session, token and brute-force settings, client
//! consent and scope settings, the service-account link of users, and the tables for SSO
//! sessions, authorization codes, refresh tokens, device codes, consents and login failures.
//!
//! SQLite can add only one column per `ALTER TABLE`, so every column is its own statement, with
//! a default so existing rows get Keycloak's value. Every new row belongs to a realm (and most
//! to a user) and goes with it (`ON DELETE CASCADE`); bearer secrets are stored as hashes, which
//! are the primary keys.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in realm_columns() {
            add_column(manager, Realm::Table, column).await?;
        }
        for column in client_columns() {
            add_column(manager, Client::Table, column).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(DEFAULT_SCOPES_OF_EXISTING_CLIENTS)
            .await?;
        db.execute_unprepared(OPTIONAL_SCOPES_OF_EXISTING_CLIENTS)
            .await?;
        db.execute_unprepared(SERVICE_ACCOUNT_COLUMN).await?;
        for table in tables() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 6] = [
            LoginFailure::Table.into_iden(),
            UserConsent::Table.into_iden(),
            DeviceCode::Table.into_iden(),
            OidcRefreshToken::Table.into_iden(),
            AuthCode::Table.into_iden(),
            UserSession::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name(SERVICE_ACCOUNT_INDEX)
                    .table(UserEntity::Table)
                    .to_owned(),
            )
            .await?;
        drop_column(
            manager,
            UserEntity::Table,
            UserEntity::ServiceAccountClientPk,
        )
        .await?;
        for column in client_columns() {
            drop_column(manager, Client::Table, Alias::new(column.get_column_name())).await?;
        }
        for column in realm_columns() {
            drop_column(manager, Realm::Table, Alias::new(column.get_column_name())).await?;
        }
        Ok(())
    }
}

/// `user_entity.service_account_client_pk`: the client whose service account the user is; the
/// user goes with the client. Raw SQL because sea-query cannot add a foreign key to an existing
/// SQLite table, while `ADD COLUMN .. REFERENCES` (with a NULL default) works on both databases.
const SERVICE_ACCOUNT_COLUMN: &str = "ALTER TABLE user_entity ADD COLUMN \
     service_account_client_pk VARCHAR(64) NULL \
     REFERENCES client (id) ON DELETE CASCADE ON UPDATE CASCADE";

const SERVICE_ACCOUNT_INDEX: &str = "uq_user_service_account_client";

/// Clients that existed before this migration get Keycloak's default scopes, as an import would
/// have given them.
const DEFAULT_SCOPES_OF_EXISTING_CLIENTS: &str = "UPDATE client SET default_client_scopes = \
     '[\"web-origins\",\"acr\",\"profile\",\"roles\",\"email\"]' \
     WHERE protocol = 'openid-connect'";
const OPTIONAL_SCOPES_OF_EXISTING_CLIENTS: &str = "UPDATE client SET optional_client_scopes = \
     '[\"address\",\"phone\",\"offline_access\",\"microprofile-jwt\"]' \
     WHERE protocol = 'openid-connect'";

async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + 'static,
    mut column: ColumnDef,
) -> Result<(), DbErr> {
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(&mut column)
                .to_owned(),
        )
        .await
}

async fn drop_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
) -> Result<(), DbErr> {
    manager
        .alter_table(Table::alter().table(table).drop_column(column).to_owned())
        .await
}

fn big_int(column: impl IntoIden + 'static, default: i64) -> ColumnDef {
    ColumnDef::new(column)
        .big_integer()
        .not_null()
        .default(default)
        .to_owned()
}

fn flag(column: impl IntoIden + 'static, default: bool) -> ColumnDef {
    ColumnDef::new(column)
        .boolean()
        .not_null()
        .default(default)
        .to_owned()
}

/// Keycloak's realm defaults.
fn realm_columns() -> Vec<ColumnDef> {
    vec![
        big_int(Realm::SsoSessionIdleTimeout, 1800),
        big_int(Realm::SsoSessionMaxLifespan, 36000),
        big_int(Realm::OfflineSessionIdleTimeout, 2_592_000),
        big_int(Realm::AccessCodeLifespan, 60),
        big_int(Realm::AccessCodeLifespanLogin, 1800),
        flag(Realm::RevokeRefreshToken, false),
        big_int(Realm::RefreshTokenMaxReuse, 0),
        big_int(Realm::DeviceCodeLifespan, 600),
        big_int(Realm::DevicePollingInterval, 5),
        flag(Realm::BruteForceProtected, false),
        flag(Realm::PermanentLockout, false),
        big_int(Realm::FailureFactor, 30),
        big_int(Realm::WaitIncrementSeconds, 60),
        big_int(Realm::MaxFailureWaitSeconds, 900),
        big_int(Realm::QuickLoginCheckMillis, 1000),
        big_int(Realm::MinimumQuickLoginWaitSeconds, 60),
        big_int(Realm::MaxDeltaTimeSeconds, 43200),
    ]
}

fn client_columns() -> Vec<ColumnDef> {
    let scopes = |column: Client| {
        ColumnDef::new(column)
            .text()
            .not_null()
            .default("[]")
            .to_owned()
    };
    vec![
        flag(Client::ConsentRequired, false),
        scopes(Client::DefaultClientScopes),
        scopes(Client::OptionalClientScopes),
    ]
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        user_session(),
        auth_code(),
        oidc_refresh_token(),
        device_code(),
        user_consent(),
        login_failure(),
    ]
}

fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        unique(
            SERVICE_ACCOUNT_INDEX,
            UserEntity::Table,
            &[UserEntity::ServiceAccountClientPk.into_iden()],
        ),
        index(
            "ix_user_session_user",
            UserSession::Table,
            &[
                UserSession::RealmId.into_iden(),
                UserSession::UserId.into_iden(),
            ],
        ),
        index(
            "ix_auth_code_user",
            AuthCode::Table,
            &[AuthCode::UserId.into_iden()],
        ),
        index(
            "ix_auth_code_realm",
            AuthCode::Table,
            &[AuthCode::RealmId.into_iden()],
        ),
        index(
            "ix_oidc_refresh_token_session",
            OidcRefreshToken::Table,
            &[OidcRefreshToken::SessionId.into_iden()],
        ),
        index(
            "ix_oidc_refresh_token_user",
            OidcRefreshToken::Table,
            &[
                OidcRefreshToken::RealmId.into_iden(),
                OidcRefreshToken::UserId.into_iden(),
            ],
        ),
        unique(
            "uq_device_code_user_code",
            DeviceCode::Table,
            &[
                DeviceCode::RealmId.into_iden(),
                DeviceCode::UserCode.into_iden(),
            ],
        ),
        index(
            "ix_device_code_user",
            DeviceCode::Table,
            &[DeviceCode::UserId.into_iden()],
        ),
        index(
            "ix_user_consent_user",
            UserConsent::Table,
            &[UserConsent::UserId.into_iden()],
        ),
        index(
            "ix_login_failure_user",
            LoginFailure::Table,
            &[LoginFailure::UserId.into_iden()],
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

/// A string key column: ids, hashes (hex SHA-256 is 64 characters) and session ids.
fn key_column(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).string_len(128).not_null().to_owned()
}

fn ref_column(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).string_len(64).not_null().to_owned()
}

/// A non-null 64-bit integer: unix seconds and counters.
fn int64(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().to_owned()
}

fn text(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).text().not_null().to_owned()
}

fn nullable_text(column: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(column).text().null().to_owned()
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

/// The realm and user foreign keys every per-user table carries.
fn realm_and_user(
    statement: &mut TableCreateStatement,
    table: impl IntoIden + Copy + 'static,
    realm: impl IntoIden + 'static,
    user: impl IntoIden + 'static,
    prefix: &str,
) {
    statement
        .foreign_key(&mut cascade(
            &format!("fk_{prefix}_realm"),
            (table, realm),
            (Realm::Table, Realm::Id),
        ))
        .foreign_key(&mut cascade(
            &format!("fk_{prefix}_user"),
            (table, user),
            (UserEntity::Table, UserEntity::Id),
        ));
}

fn user_session() -> TableCreateStatement {
    let mut t = Table::create()
        .table(UserSession::Table)
        .col(key_column(UserSession::Id).primary_key())
        .col(ref_column(UserSession::RealmId))
        .col(ref_column(UserSession::UserId))
        .col(int64(UserSession::AuthTime))
        .col(int64(UserSession::CreatedAt))
        .col(int64(UserSession::LastSeenAt))
        .col(ColumnDef::new(UserSession::Ended).boolean().not_null())
        .to_owned();
    realm_and_user(
        &mut t,
        UserSession::Table,
        UserSession::RealmId,
        UserSession::UserId,
        "user_session",
    );
    t
}

fn auth_code() -> TableCreateStatement {
    let mut t = Table::create()
        .table(AuthCode::Table)
        .col(key_column(AuthCode::CodeHash).primary_key())
        .col(ref_column(AuthCode::RealmId))
        .col(text(AuthCode::ClientId))
        .col(ref_column(AuthCode::UserId))
        .col(key_column(AuthCode::SessionId))
        .col(text(AuthCode::RedirectUri))
        .col(text(AuthCode::Scope))
        .col(nullable_text(AuthCode::Nonce))
        .col(nullable_text(AuthCode::CodeChallenge))
        .col(
            ColumnDef::new(AuthCode::CodeChallengeMethod)
                .string_len(16)
                .null(),
        )
        .col(int64(AuthCode::AuthTime))
        .col(int64(AuthCode::CreatedAt))
        .col(int64(AuthCode::ExpiresAt))
        .col(ColumnDef::new(AuthCode::Used).boolean().not_null())
        .to_owned();
    realm_and_user(
        &mut t,
        AuthCode::Table,
        AuthCode::RealmId,
        AuthCode::UserId,
        "auth_code",
    );
    t
}

fn oidc_refresh_token() -> TableCreateStatement {
    let mut t = Table::create()
        .table(OidcRefreshToken::Table)
        .col(key_column(OidcRefreshToken::Id).primary_key())
        .col(ref_column(OidcRefreshToken::RealmId))
        .col(text(OidcRefreshToken::ClientId))
        .col(ref_column(OidcRefreshToken::UserId))
        .col(
            ColumnDef::new(OidcRefreshToken::SessionId)
                .string_len(128)
                .null(),
        )
        .col(text(OidcRefreshToken::Scope))
        .col(
            ColumnDef::new(OidcRefreshToken::Offline)
                .boolean()
                .not_null(),
        )
        .col(int64(OidcRefreshToken::CreatedAt))
        .col(int64(OidcRefreshToken::ExpiresAt))
        .col(
            ColumnDef::new(OidcRefreshToken::Revoked)
                .boolean()
                .not_null(),
        )
        .col(int64(OidcRefreshToken::UseCount))
        .to_owned();
    realm_and_user(
        &mut t,
        OidcRefreshToken::Table,
        OidcRefreshToken::RealmId,
        OidcRefreshToken::UserId,
        "oidc_refresh_token",
    );
    t
}

fn device_code() -> TableCreateStatement {
    Table::create()
        .table(DeviceCode::Table)
        .col(key_column(DeviceCode::DeviceCodeHash).primary_key())
        .col(
            ColumnDef::new(DeviceCode::UserCode)
                .string_len(32)
                .not_null(),
        )
        .col(ref_column(DeviceCode::RealmId))
        .col(text(DeviceCode::ClientId))
        .col(text(DeviceCode::Scope))
        .col(int64(DeviceCode::CreatedAt))
        .col(int64(DeviceCode::ExpiresAt))
        .col(int64(DeviceCode::PollInterval))
        .col(
            ColumnDef::new(DeviceCode::LastPolledAt)
                .big_integer()
                .null(),
        )
        .col(ColumnDef::new(DeviceCode::Status).string_len(16).not_null())
        .col(ColumnDef::new(DeviceCode::UserId).string_len(64).null())
        .col(ColumnDef::new(DeviceCode::SessionId).string_len(128).null())
        .col(ColumnDef::new(DeviceCode::AuthTime).big_integer().null())
        .foreign_key(&mut cascade(
            "fk_device_code_realm",
            (DeviceCode::Table, DeviceCode::RealmId),
            (Realm::Table, Realm::Id),
        ))
        .foreign_key(&mut cascade(
            "fk_device_code_user",
            (DeviceCode::Table, DeviceCode::UserId),
            (UserEntity::Table, UserEntity::Id),
        ))
        .to_owned()
}

fn user_consent() -> TableCreateStatement {
    let mut t = Table::create()
        .table(UserConsent::Table)
        .col(ref_column(UserConsent::RealmId))
        .col(ref_column(UserConsent::UserId))
        .col(
            ColumnDef::new(UserConsent::ClientId)
                .string_len(255)
                .not_null(),
        )
        .col(text(UserConsent::Scopes))
        .col(int64(UserConsent::CreatedAt))
        .col(int64(UserConsent::UpdatedAt))
        .primary_key(
            Index::create()
                .col(UserConsent::RealmId)
                .col(UserConsent::UserId)
                .col(UserConsent::ClientId),
        )
        .to_owned();
    realm_and_user(
        &mut t,
        UserConsent::Table,
        UserConsent::RealmId,
        UserConsent::UserId,
        "user_consent",
    );
    t
}

fn login_failure() -> TableCreateStatement {
    let mut t = Table::create()
        .table(LoginFailure::Table)
        .col(ref_column(LoginFailure::RealmId))
        .col(ref_column(LoginFailure::UserId))
        .col(int64(LoginFailure::Failures))
        .col(int64(LoginFailure::LastFailureAt))
        .col(nullable_text(LoginFailure::LastIp))
        .col(
            ColumnDef::new(LoginFailure::LockedUntil)
                .big_integer()
                .null(),
        )
        .primary_key(
            Index::create()
                .col(LoginFailure::RealmId)
                .col(LoginFailure::UserId),
        )
        .to_owned();
    realm_and_user(
        &mut t,
        LoginFailure::Table,
        LoginFailure::RealmId,
        LoginFailure::UserId,
        "login_failure",
    );
    t
}

#[derive(DeriveIden, Clone, Copy)]
enum Realm {
    Table,
    Id,
    SsoSessionIdleTimeout,
    SsoSessionMaxLifespan,
    OfflineSessionIdleTimeout,
    AccessCodeLifespan,
    AccessCodeLifespanLogin,
    RevokeRefreshToken,
    RefreshTokenMaxReuse,
    DeviceCodeLifespan,
    DevicePollingInterval,
    BruteForceProtected,
    PermanentLockout,
    FailureFactor,
    WaitIncrementSeconds,
    MaxFailureWaitSeconds,
    QuickLoginCheckMillis,
    MinimumQuickLoginWaitSeconds,
    MaxDeltaTimeSeconds,
}

#[derive(DeriveIden, Clone, Copy)]
enum Client {
    Table,
    ConsentRequired,
    DefaultClientScopes,
    OptionalClientScopes,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserEntity {
    Table,
    Id,
    ServiceAccountClientPk,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserSession {
    Table,
    Id,
    RealmId,
    UserId,
    AuthTime,
    CreatedAt,
    LastSeenAt,
    Ended,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuthCode {
    Table,
    CodeHash,
    RealmId,
    ClientId,
    UserId,
    SessionId,
    RedirectUri,
    Scope,
    Nonce,
    CodeChallenge,
    CodeChallengeMethod,
    AuthTime,
    CreatedAt,
    ExpiresAt,
    Used,
}

#[derive(DeriveIden, Clone, Copy)]
enum OidcRefreshToken {
    Table,
    Id,
    RealmId,
    ClientId,
    UserId,
    SessionId,
    Scope,
    Offline,
    CreatedAt,
    ExpiresAt,
    Revoked,
    UseCount,
}

/// The primary key is named for what it holds (`device_code_hash`), hence the repetition.
#[derive(DeriveIden, Clone, Copy)]
#[allow(clippy::enum_variant_names)]
enum DeviceCode {
    Table,
    DeviceCodeHash,
    UserCode,
    RealmId,
    ClientId,
    Scope,
    CreatedAt,
    ExpiresAt,
    PollInterval,
    LastPolledAt,
    Status,
    UserId,
    SessionId,
    AuthTime,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserConsent {
    Table,
    RealmId,
    UserId,
    ClientId,
    Scopes,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum LoginFailure {
    Table,
    RealmId,
    UserId,
    Failures,
    LastFailureAt,
    LastIp,
    LockedUntil,
}
