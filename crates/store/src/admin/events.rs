//! Admin events: the record of every change made through the admin API.

use sea_orm::sqlx;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, RuntimeErr,
};

use super::entity::admin_event;
use super::{Page, TextMatch};
use crate::entity::login_event;
use crate::error::StoreError;
use crate::queries::insert_all;

/// Keycloak's admin-events query parameters; empty lists and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub operation_types: Vec<String>,
    pub resource_types: Vec<String>,
    /// `*` is a wildcard, as in Keycloak.
    pub resource_path: Option<String>,
    pub auth_realm_id: Option<String>,
    pub auth_client_id: Option<String>,
    pub auth_user_id: Option<String>,
    pub auth_ip_address: Option<String>,
    /// Milliseconds, inclusive.
    pub date_from: Option<i64>,
    /// Milliseconds, inclusive.
    pub date_to: Option<i64>,
    /// Keyset paging, newest first: only events older than this `(time, id)`.
    pub before: Option<(i64, String)>,
}

pub async fn record<C: ConnectionTrait>(
    db: &C,
    event: admin_event::Model,
) -> Result<(), StoreError> {
    insert_all::<admin_event::Entity, _>(db, vec![event]).await?;
    Ok(())
}

/// The realm's events matching `filter`, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    filter: &EventFilter,
    page: Page,
) -> Result<Vec<admin_event::Model>, StoreError> {
    use admin_event::Column as C;
    let mut select = admin_event::Entity::find().filter(C::RealmId.eq(realm_id));
    if !filter.operation_types.is_empty() {
        select = select.filter(C::OperationType.is_in(filter.operation_types.clone()));
    }
    if !filter.resource_types.is_empty() {
        select = select.filter(C::ResourceType.is_in(filter.resource_types.clone()));
    }
    if let Some(path) = &filter.resource_path {
        select = select.filter(TextMatch::Wildcard(path.clone()).condition(C::ResourcePath));
    }
    let exact = [
        (&filter.auth_realm_id, C::AuthRealmId),
        (&filter.auth_client_id, C::AuthClientId),
        (&filter.auth_user_id, C::AuthUserId),
        (&filter.auth_ip_address, C::IpAddress),
    ];
    for (value, column) in exact {
        if let Some(value) = value {
            select = select.filter(column.eq(value.as_str()));
        }
    }
    select = select.filter(window(
        (C::Time, C::Id),
        filter.date_from,
        filter.date_to,
        filter.before.as_ref(),
    ));
    let select = select.order_by_desc(C::Time).order_by_desc(C::Id);
    Ok(page.apply(select).all(db).await?)
}

/// Deletes every admin event of the realm.
pub async fn clear<C: ConnectionTrait>(db: &C, realm_id: &str) -> Result<(), StoreError> {
    admin_event::Entity::delete_many()
        .filter(admin_event::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Keycloak's login-events query parameters; empty lists and `None` match everything.
#[derive(Debug, Clone, Default)]
pub struct LoginEventFilter {
    pub types: Vec<String>,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub ip_address: Option<String>,
    /// Milliseconds, inclusive.
    pub date_from: Option<i64>,
    /// Milliseconds, inclusive.
    pub date_to: Option<i64>,
    /// Keyset: only events older than this `(time, id)`.
    pub before: Option<(i64, String)>,
}

/// Login events per insert statement, at most (11 parameters a row: well under SQLite's and
/// PostgreSQL's bound-parameter limits). The statement for a full chunk is prepared once and
/// kept, and its size grows with its rows: under ES256 client_credentials load, 32 rows a
/// statement (with the 512 KiB cache below) wrote at the same CPU per grant as 200 rows (with
/// 2 MiB), and the process peaked about 2 MiB lower (500 rows had held 2.5 MiB more than 200).
pub const LOGIN_EVENT_BATCH: usize = 32;

/// Page cache of the login-event writer's own SQLite connection, in KiB when negative. A
/// batch's new pages (the server writes up to 1,000 events of a few hundred bytes each, some
/// 300 KiB) stay in the cache until its commit, beside the key's interior pages. At 256 KiB,
/// when every event also went into two indexes, SQLite spilled pages mid-transaction and read
/// back what it had evicted, about a quarter of its time per event; with the one B-tree of
/// `(realm_id, time, id)`, 512 KiB costs no more CPU per grant than 2 MiB did (see
/// [`LOGIN_EVENT_BATCH`] for the memory both save).
const EVENT_WRITER_CACHE: &str = "-512";

/// Writes the login events the server gathers: each batch in one transaction, as multi-row
/// inserts of up to [`LOGIN_EVENT_BATCH`] rows.
///
/// This is the busiest write (a row per token grant), so it is built for it:
/// - sqlx's query builder rather than sea-orm's `insert_many`: sea-query builds an expression
///   tree of every value and then a statement from it, which cost more CPU than SQLite's own
///   insert of the rows;
/// - one transaction per batch: one commit, and one write of each B-tree's last pages, per
///   batch rather than per statement;
/// - on a SQLite file, a connection of its own, opened at the first batch: the pool's
///   connections take turns, and each found its small page cache stale after another's commit
///   and read the tables' last pages again; the one connection that appends events keeps them.
///   PostgreSQL and an in-memory SQLite database (a single connection) use the pool.
pub struct LoginEventWriter {
    db: DatabaseConnection,
    sqlite_file: Option<std::sync::Arc<str>>,
    own: Option<sqlx::SqliteConnection>,
}

impl std::fmt::Debug for LoginEventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginEventWriter")
            .field("own_connection", &self.own.is_some())
            .finish_non_exhaustive()
    }
}

/// Inserts `$events` in one transaction begun by `$begin`, in either database's dialect, and
/// evaluates to how many were stored. A macro rather than a generic function: the query
/// builder's argument lifetime cannot be named through `Database::Arguments`.
///
/// The transaction first reads (and on PostgreSQL locks, `$lock` being `FOR KEY SHARE`) the
/// batch's realms: events of a realm deleted since the server recorded them are left out, and
/// no realm can go before the commit, so one deleted realm no longer costs every other realm's
/// events in the batch.
macro_rules! insert_in_one_transaction {
    ($begin:expr, $lock:expr, $events:expr) => {
        async {
            let mut events: Vec<login_event::Model> = $events;
            let mut transaction = $begin.await?;
            let mut realms: Vec<&str> = events.iter().map(|e| e.realm_id.as_str()).collect();
            realms.sort_unstable();
            realms.dedup();
            let mut select =
                sqlx::QueryBuilder::new("SELECT \"id\" FROM \"realm\" WHERE \"id\" IN (");
            let mut separated = select.separated(", ");
            for realm in realms {
                separated.push_bind(realm.to_owned());
            }
            select.push(")").push($lock);
            let present: Vec<String> = select
                .build_query_scalar()
                .fetch_all(&mut *transaction)
                .await?;
            events.retain(|e| present.iter().any(|id| *id == e.realm_id));
            let stored = events.len();
            let mut rows = events.into_iter();
            while rows.len() > 0 {
                let count = rows.len().min(LOGIN_EVENT_BATCH);
                login_event_insert(rows.by_ref().take(count))
                    .build()
                    .persistent(count == LOGIN_EVENT_BATCH)
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await.map(|()| stored)
        }
    };
}

impl crate::Store {
    /// The login-event writer; the server keeps one.
    pub fn login_event_writer(&self) -> LoginEventWriter {
        LoginEventWriter {
            db: self.db.clone(),
            sqlite_file: self.sqlite_file.clone(),
            own: None,
        }
    }
}

impl LoginEventWriter {
    /// Stores `events` in one transaction: all of them or, on an error, none. Events of a realm
    /// that no longer exists are left out; returns how many were stored.
    pub async fn write(&mut self, events: Vec<login_event::Model>) -> Result<usize, StoreError> {
        let failed = |e: sqlx::Error| StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(e)));
        if events.is_empty() {
            return Ok(0);
        }
        // SQLite: take the write lock at once, so the realms read first stay as read until
        // the commit (a deferred transaction would fail at its first insert if another
        // connection wrote in between).
        const IMMEDIATE: &str = "BEGIN IMMEDIATE";
        if let Some(url) = &self.sqlite_file {
            let connection = match &mut self.own {
                Some(connection) => connection,
                None => self.own.insert(open_own(url).await.map_err(failed)?),
            };
            let written = insert_in_one_transaction!(
                sqlx::Connection::begin_with(connection, IMMEDIATE),
                "",
                events
            )
            .await;
            if written.is_err() {
                // Open a fresh connection for the next batch rather than trust this one.
                self.own = None;
            }
            return written.map_err(failed);
        }
        match self.db.get_database_backend() {
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                insert_in_one_transaction!(pool.begin_with(IMMEDIATE), "", events).await
            }
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                insert_in_one_transaction!(pool.begin(), " FOR KEY SHARE", events).await
            }
            DbBackend::MySql => return Err(StoreError::Invalid("MySQL is not supported".into())),
        }
        .map_err(failed)
    }
}

/// The writer's own connection to the SQLite file at `url`: the pool's settings, with a page
/// cache for appending and only the insert statements kept prepared.
///
/// Without foreign-key enforcement: SQLite would look every row's realm up in the realm key,
/// though the transaction has already read the batch's realms under the write lock, left out
/// the events of missing ones, and holds the lock until its commit, so no realm can go in
/// between. Deleting a realm still removes its events: the cascade belongs to the connection
/// that deletes.
async fn open_own(url: &str) -> Result<sqlx::SqliteConnection, sqlx::Error> {
    use sqlx::ConnectOptions as _;
    use std::str::FromStr as _;
    crate::sqlite_file_settings(sqlx::sqlite::SqliteConnectOptions::from_str(url)?)
        .foreign_keys(false)
        .pragma("cache_size", EVENT_WRITER_CACHE)
        .statement_cache_capacity(2)
        .disable_statement_logging()
        .connect()
        .await
}

/// `INSERT INTO login_event ... VALUES (...), ...` for `rows`, in either database's dialect.
/// The rows' strings move into the statement's arguments: bound by reference, sqlx copies each
/// one to send it to SQLite's worker thread.
fn login_event_insert<'a, DB: sqlx::Database>(
    rows: impl Iterator<Item = login_event::Model>,
) -> sqlx::QueryBuilder<'a, DB>
where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT INTO \"login_event\" (\"id\", \"realm_id\", \"time\", \"event_type\", \
         \"client_id\", \"user_id\", \"username\", \"session_id\", \"ip_address\", \"error\", \
         \"details\") ",
    );
    insert.push_values(rows, |mut row, event| {
        row.push_bind(event.id)
            .push_bind(event.realm_id)
            .push_bind(event.time)
            .push_bind(event.event_type)
            .push_bind(event.client_id)
            .push_bind(event.user_id)
            .push_bind(event.username)
            .push_bind(event.session_id)
            .push_bind(event.ip_address)
            .push_bind(event.error)
            .push_bind(event.details);
    });
    insert
}

/// The realm's login events matching `filter`, newest first.
pub async fn login_events<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    filter: &LoginEventFilter,
    page: Page,
) -> Result<Vec<login_event::Model>, StoreError> {
    use login_event::Column as C;
    let mut select = login_event::Entity::find().filter(C::RealmId.eq(realm_id));
    if !filter.types.is_empty() {
        select = select.filter(C::EventType.is_in(filter.types.clone()));
    }
    let exact = [
        (&filter.client_id, C::ClientId),
        (&filter.user_id, C::UserId),
        (&filter.username, C::Username),
        (&filter.ip_address, C::IpAddress),
    ];
    for (value, column) in exact {
        if let Some(value) = value {
            select = select.filter(column.eq(value.as_str()));
        }
    }
    select = select.filter(window(
        (C::Time, C::Id),
        filter.date_from,
        filter.date_to,
        filter.before.as_ref(),
    ));
    let select = select.order_by_desc(C::Time).order_by_desc(C::Id);
    Ok(page.apply(select).all(db).await?)
}

/// Events between `from` and `to` (milliseconds, inclusive) and, for keyset paging, older than
/// the `(time, id)` that ended the previous page: the same for admin and login events.
fn window<T: ColumnTrait, I: ColumnTrait>(
    (time, id): (T, I),
    from: Option<i64>,
    to: Option<i64>,
    before: Option<&(i64, String)>,
) -> Condition {
    let mut condition = Condition::all();
    if let Some(from) = from {
        condition = condition.add(time.gte(from));
    }
    if let Some(to) = to {
        condition = condition.add(time.lte(to));
    }
    if let Some((at, last)) = before {
        condition = condition.add(
            Condition::any()
                .add(time.lt(*at))
                .add(Condition::all().add(time.eq(*at)).add(id.lt(last.as_str()))),
        );
    }
    condition
}
