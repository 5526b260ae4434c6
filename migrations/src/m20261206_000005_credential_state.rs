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
//! - `login_failure` counts the last failure in milliseconds (`last_failure_ms`, was whole
//!   seconds in `last_failure_at`), as Keycloak's `quickLoginCheckMilliSeconds` compares it,
//!   and keeps the failure before it, which one atomic upsert sets from the old row so that
//!   concurrent failures each count.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement, Value as DbValue};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UserEntity::Table)
                    .add_column(
                        ColumnDef::new(UserEntity::NotBefore)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UserEntity::Table)
                    .add_column(
                        ColumnDef::new(UserEntity::RequiredActions)
                            .text()
                            .not_null()
                            .default("[]"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DockerRefreshToken::Table)
                    .add_column(
                        ColumnDef::new(DockerRefreshToken::LastAddress)
                            .string_len(64)
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailure::Table)
                    .rename_column(LoginFailure::LastFailureAt, LoginFailure::LastFailureMs)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LoginFailure::Table)
                    .add_column(
                        ColumnDef::new(LoginFailure::PreviousFailureMs)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("UPDATE login_failure SET last_failure_ms = last_failure_ms * 1000")
            .await?;
        move_required_actions(manager).await
    }

    /// Drops the new columns (required actions go with them) and counts failures in seconds
    /// again.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
enum UserEntity {
    Table,
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
