//! What ends a user's credentials and what a login must still do:
//!
//! - `user_entity.not_before` (Keycloak's `NOT_BEFORE`, unix seconds): every token, session and
//!   docker login of the user issued before it is dead. Set when an admin logs the user out,
//!   resets or the user changes the password, or the user is disabled, so re-enabling the user
//!   revives nothing.
//! - `user_entity.required_actions` (a JSON array, `["UPDATE_PASSWORD"]`): what the user must do
//!   before a login completes. Moved here from the admin API's kept representation fields, where
//!   nothing enforced them.
//! - `docker_refresh_token.last_address`: where a docker login was last used from, for the admin
//!   and account views of a user's docker logins.
//! - `user_attribute`: one row per value of a user's attributes (kept beside the JSON column,
//!   which stays the source of the representation), indexed by name and the value's SHA-256, so
//!   the admin API's `q=key:value` search runs in SQL instead of loading every user.
//! - `login_failure` counts the last failure in milliseconds (`last_failure_ms`, was whole
//!   seconds in `last_failure_at`), as Keycloak's `quickLoginCheckMilliSeconds` compares it,
//!   and keeps the failure before it, which one atomic upsert sets from the old row so that
//!   concurrent failures each count.

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns: [(DynIden, ColumnDef); 4] = [
            (
                UserEntity::Table.into_iden(),
                ColumnDef::new(UserEntity::NotBefore)
                    .big_integer()
                    .not_null()
                    .default(0)
                    .to_owned(),
            ),
            (
                UserEntity::Table.into_iden(),
                ColumnDef::new(UserEntity::RequiredActions)
                    .text()
                    .not_null()
                    .default("[]")
                    .to_owned(),
            ),
            (
                DockerRefreshToken::Table.into_iden(),
                ColumnDef::new(DockerRefreshToken::LastAddress)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
            (
                LoginFailure::Table.into_iden(),
                ColumnDef::new(LoginFailure::PreviousFailureMs)
                    .big_integer()
                    .null()
                    .to_owned(),
            ),
        ];
        // One column per statement: SQLite alters one at a time.
        for (table, mut column) in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailure::Table)
                    .rename_column(LoginFailure::LastFailureAt, LoginFailure::LastFailureMs)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE login_failure SET last_failure_ms = last_failure_ms * 1000")
            .await?;
        manager.create_table(user_attribute()).await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_attribute_lookup")
                    .table(UserAttribute::Table)
                    .col(UserAttribute::Name)
                    .col(UserAttribute::ValueHash)
                    .to_owned(),
            )
            .await?;
        fill_user_attributes(manager).await?;
        move_required_actions(manager).await
    }

    /// Drops the new table and columns (required actions go with them) and counts failures in
    /// seconds again.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserAttribute::Table).to_owned())
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE login_failure SET last_failure_ms = last_failure_ms / 1000")
            .await?;
        let drops: [(DynIden, DynIden); 4] = [
            (
                LoginFailure::Table.into_iden(),
                LoginFailure::PreviousFailureMs.into_iden(),
            ),
            (
                DockerRefreshToken::Table.into_iden(),
                DockerRefreshToken::LastAddress.into_iden(),
            ),
            (
                UserEntity::Table.into_iden(),
                UserEntity::RequiredActions.into_iden(),
            ),
            (
                UserEntity::Table.into_iden(),
                UserEntity::NotBefore.into_iden(),
            ),
        ];
        for (table, column) in drops {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailure::Table)
                    .rename_column(LoginFailure::LastFailureMs, LoginFailure::LastFailureAt)
                    .to_owned(),
            )
            .await
    }
}

fn user_attribute() -> TableCreateStatement {
    Table::create()
        .table(UserAttribute::Table)
        .col(
            ColumnDef::new(UserAttribute::UserId)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(UserAttribute::Name)
                .string_len(255)
                .not_null(),
        )
        .col(ColumnDef::new(UserAttribute::Value).text().not_null())
        .col(
            ColumnDef::new(UserAttribute::ValueHash)
                .string_len(64)
                .not_null(),
        )
        .primary_key(
            Index::create()
                .col(UserAttribute::UserId)
                .col(UserAttribute::Name)
                .col(UserAttribute::ValueHash),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_user_attribute_user")
                .from(UserAttribute::Table, UserAttribute::UserId)
                .to(UserEntity::Table, UserEntity::Id)
                .on_delete(ForeignKeyAction::Cascade)
                .on_update(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// One `user_attribute` row per value of every user's attributes.
async fn fill_user_attributes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let insert = match backend {
        sea_orm_migration::sea_orm::DbBackend::Postgres => {
            "INSERT INTO user_attribute (user_id, name, value, value_hash) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING"
        }
        _ => {
            "INSERT INTO user_attribute (user_id, name, value, value_hash) VALUES (?, ?, ?, ?) \
             ON CONFLICT DO NOTHING"
        }
    };
    let rows = db
        .query_all(Statement::from_string(
            backend,
            "SELECT id, attributes FROM user_entity WHERE attributes <> '{}'",
        ))
        .await?;
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let attributes: String = row.try_get("", "attributes")?;
        let Ok(map) = serde_json::from_str::<BTreeMap<String, Vec<String>>>(&attributes) else {
            continue;
        };
        for (name, values) in map {
            for value in values {
                let hash = sha256_hex(&value);
                db.execute(Statement::from_sql_and_values(
                    backend,
                    insert,
                    [
                        DbValue::from(id.clone()),
                        DbValue::from(name.clone()),
                        DbValue::from(value),
                        DbValue::from(hash),
                    ],
                ))
                .await?;
            }
        }
    }
    Ok(())
}

/// Lowercase hex SHA-256, as the store computes it for `user_attribute.value_hash`.
fn sha256_hex(value: &str) -> String {
    portcullis_core::secrets::hash_secret(value)
}

/// Users' `requiredActions` kept among the admin API's representation fields move to the new
/// column, so that logins enforce them.
async fn move_required_actions(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let rows = db
        .query_all(Statement::from_string(
            backend,
            "SELECT owner_id, fields FROM admin_extra \
             WHERE owner_id IN (SELECT id FROM user_entity)",
        ))
        .await?;
    for row in rows {
        let owner: String = row.try_get("", "owner_id")?;
        let fields: String = row.try_get("", "fields")?;
        let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(&fields) else {
            continue;
        };
        let Some(actions) = map.remove("requiredActions") else {
            continue;
        };
        let actions = match actions {
            serde_json::Value::Array(items) => items,
            _ => Vec::new(),
        };
        let actions = serde_json::Value::Array(actions).to_string();
        let rest = serde_json::Value::Object(map).to_string();
        let (update_user, update_extra) = match backend {
            sea_orm_migration::sea_orm::DbBackend::Postgres => (
                "UPDATE user_entity SET required_actions = $1 WHERE id = $2",
                "UPDATE admin_extra SET fields = $1 WHERE owner_id = $2",
            ),
            _ => (
                "UPDATE user_entity SET required_actions = ? WHERE id = ?",
                "UPDATE admin_extra SET fields = ? WHERE owner_id = ?",
            ),
        };
        for (sql, value) in [(update_user, actions), (update_extra, rest)] {
            db.execute(Statement::from_sql_and_values(
                backend,
                sql,
                [DbValue::from(value), DbValue::from(owner.clone())],
            ))
            .await?;
        }
    }
    Ok(())
}

#[derive(DeriveIden, Clone, Copy)]
enum UserAttribute {
    Table,
    UserId,
    Name,
    Value,
    ValueHash,
}

#[derive(DeriveIden, Clone, Copy)]
enum UserEntity {
    Table,
    Id,
    NotBefore,
    RequiredActions,
}

#[derive(DeriveIden, Clone, Copy)]
enum DockerRefreshToken {
    Table,
    LastAddress,
}

#[derive(DeriveIden, Clone, Copy)]
enum LoginFailure {
    Table,
    LastFailureAt,
    LastFailureMs,
    PreviousFailureMs,
}
