//! Login events keyed by what reads and deletes them: `(realm_id, time, id)`.
//!
//! The table had a primary key on `id` and an index on `(realm_id, time)`: every event written
//! went into three B-trees (the rows, the `id` key, the index), and nothing looks an event up by
//! its id alone. Keyed by `(realm_id, time, id)` an event goes into one: on SQLite the table is
//! `WITHOUT ROWID`, its rows stored in key order, so a realm's newest-first listing and the
//! sweeper's oldest-first deletion read them in place; on PostgreSQL the key's index replaces
//! both. `id` stays in the key to keep two events of one millisecond apart.
//!
//! The table is rebuilt (SQLite cannot change a primary key in place): a new table, the rows
//! copied, the old one dropped, the new one renamed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, TransactionTrait};

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD_INDEX: &str = "ix_login_event_realm_time";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let key = Index::create()
            .name("pk_login_event_realm_time_id")
            .col(LoginEvent::RealmId)
            .col(LoginEvent::Time)
            .col(LoginEvent::Id)
            .to_owned();
        let mut table = login_event(key);
        if manager.get_database_backend() == DbBackend::Sqlite {
            table.extra("WITHOUT ROWID");
        }
        rebuild(manager, table, None).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let key = Index::create()
            .name("pk_login_event_id")
            .col(LoginEvent::Id)
            .to_owned();
        let index = Index::create()
            .name(OLD_INDEX)
            .table(LoginEvent::Table)
            .col(LoginEvent::RealmId)
            .col(LoginEvent::Time)
            .to_owned();
        rebuild(manager, login_event(key), Some(index)).await
    }
}

/// Replaces `login_event` with `table` (named [`LoginEvent::Rebuilt`]), keeping every row, and
/// adds `index` to it, in one transaction: all of it or nothing, and on one connection. (SQLite
/// checks a rename against the connection's copy of the schema, which on another pooled
/// connection still holds the dropped table.)
async fn rebuild(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    index: Option<IndexCreateStatement>,
) -> Result<(), DbErr> {
    let transaction = manager.get_connection().begin().await?;
    let manager = SchemaManager::new(&transaction);
    manager.create_table(table).await?;
    let columns = LoginEvent::COLUMNS;
    let copy = Query::insert()
        .into_table(LoginEvent::Rebuilt)
        .columns(columns)
        .select_from(
            Query::select()
                .columns(columns)
                .from(LoginEvent::Table)
                .to_owned(),
        )
        .map_err(|e| DbErr::Migration(e.to_string()))?
        .to_owned();
    manager.exec_stmt(copy).await?;
    manager
        .drop_table(Table::drop().table(LoginEvent::Table).to_owned())
        .await?;
    manager
        .rename_table(
            Table::rename()
                .table(LoginEvent::Rebuilt, LoginEvent::Table)
                .to_owned(),
        )
        .await?;
    if let Some(index) = index {
        manager.create_index(index).await?;
    }
    transaction.commit().await
}

/// The table as the first login-event migration made it, named [`LoginEvent::Rebuilt`], with
/// `key` as its primary key. Keys are named: PostgreSQL names indexes per schema, and the old
/// table's key still exists while the new one is made.
fn login_event(mut key: IndexCreateStatement) -> TableCreateStatement {
    let text =
        |column: LoginEvent, len: u32| ColumnDef::new(column).string_len(len).null().to_owned();
    let required = |column: LoginEvent| ColumnDef::new(column).string_len(64).not_null().to_owned();
    Table::create()
        .table(LoginEvent::Rebuilt)
        .col(required(LoginEvent::Id))
        .col(required(LoginEvent::RealmId))
        .col(ColumnDef::new(LoginEvent::Time).big_integer().not_null())
        .col(required(LoginEvent::EventType))
        .col(text(LoginEvent::ClientId, 255))
        .col(text(LoginEvent::UserId, 64))
        .col(text(LoginEvent::Username, 255))
        .col(text(LoginEvent::SessionId, 64))
        .col(text(LoginEvent::IpAddress, 64))
        .col(text(LoginEvent::Error, 255))
        .col(ColumnDef::new(LoginEvent::Details).text().null())
        .primary_key(&mut key)
        .foreign_key(
            ForeignKey::create()
                .name("fk_login_event_realm")
                .from(LoginEvent::Rebuilt, LoginEvent::RealmId)
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
    /// The new table while both exist.
    #[sea_orm(iden = "login_event_rebuilt")]
    Rebuilt,
    Id,
    RealmId,
    Time,
    EventType,
    ClientId,
    UserId,
    Username,
    SessionId,
    IpAddress,
    Error,
    Details,
}

impl LoginEvent {
    const COLUMNS: [LoginEvent; 11] = [
        LoginEvent::Id,
        LoginEvent::RealmId,
        LoginEvent::Time,
        LoginEvent::EventType,
        LoginEvent::ClientId,
        LoginEvent::UserId,
        LoginEvent::Username,
        LoginEvent::SessionId,
        LoginEvent::IpAddress,
        LoginEvent::Error,
        LoginEvent::Details,
    ];
}
