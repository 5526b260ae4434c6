//! Two client and realm settings the protocol endpoints now enforce, as columns:
//!
//! - revocation by `notBefore` for realms and clients (Keycloak's realm and client
//!   `notBefore`): every token issued before the moment a column holds is refused; 0 (the
//!   default) revokes nothing. Users have had theirs since the first migration.
//! - a client's `clientAuthenticatorType` (`client-secret`, the default, `client-jwt`,
//!   `client-secret-jwt`, ...): how a confidential client must authenticate. Values the admin
//!   API kept among a client's representation fields move here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value as DbValue};

use crate::sql::placeholders;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Realm {
    Table,
    NotBefore,
}

#[derive(DeriveIden)]
enum Client {
    Table,
    NotBefore,
    #[sea_orm(iden = "client_authenticator_type")]
    AuthenticatorType,
}

fn not_before(name: impl IntoIden + 'static) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

const AUTHENTICATOR_FIELD: &str = "clientAuthenticatorType";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            (Realm::Table.into_iden(), not_before(Realm::NotBefore)),
            (Client::Table.into_iden(), not_before(Client::NotBefore)),
            (
                Client::Table.into_iden(),
                ColumnDef::new(Client::AuthenticatorType)
                    .string_len(64)
                    .not_null()
                    .default("client-secret")
                    .to_owned(),
            ),
        ];
        for (table, column) in columns {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }
        move_authenticator_types(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            (Realm::Table.into_iden(), Realm::NotBefore.into_iden()),
            (Client::Table.into_iden(), Client::NotBefore.into_iden()),
            (
                Client::Table.into_iden(),
                Client::AuthenticatorType.into_iden(),
            ),
        ];
        for (table, column) in columns {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Clients' `clientAuthenticatorType` kept among the admin API's representation fields moves
/// to the new column (and out of the kept fields), so that the token endpoint enforces it.
async fn move_authenticator_types(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend: DbBackend = manager.get_database_backend();
    let rows = db
        .query_all(Statement::from_string(
            backend,
            "SELECT owner_id, fields FROM admin_extra WHERE owner_id IN (SELECT id FROM client)",
        ))
        .await?;
    for row in rows {
        let owner: String = row.try_get("", "owner_id")?;
        let fields: String = row.try_get("", "fields")?;
        let Ok(serde_json::Value::Object(mut map)) = serde_json::from_str(&fields) else {
            continue;
        };
        let Some(value) = map.remove(AUTHENTICATOR_FIELD) else {
            continue;
        };
        if let Some(kind) = value.as_str().filter(|k| !k.is_empty() && k.len() <= 64) {
            db.execute(Statement::from_sql_and_values(
                backend,
                placeholders(
                    backend,
                    "UPDATE client SET client_authenticator_type = ? WHERE id = ?",
                ),
                [
                    DbValue::from(kind.to_string()),
                    DbValue::from(owner.clone()),
                ],
            ))
            .await?;
        }
        let rest = serde_json::Value::Object(map).to_string();
        db.execute(Statement::from_sql_and_values(
            backend,
            placeholders(
                backend,
                "UPDATE admin_extra SET fields = ? WHERE owner_id = ?",
            ),
            [DbValue::from(rest), DbValue::from(owner)],
        ))
        .await?;
    }
    Ok(())
}
