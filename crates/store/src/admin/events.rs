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
/// PostgreSQL's bound-parameter limits). The event writer gathers batches of this size. Each
/// connection keeps the full batch's prepared statement: at 500 rows that held 2.5 MiB more
/// under load than at 200, which writes as fast.
pub const LOGIN_EVENT_BATCH: usize = 200;

/// Stores login events, one multi-row insert per [`LOGIN_EVENT_BATCH`].
///
/// This is the busiest write (a row per token grant) and is built with sqlx's query builder
/// rather than sea-orm's `insert_many`: sea-query builds an expression tree of every value and
/// then a statement from it, which cost more CPU than SQLite's own insert of the rows. A full
/// batch's statement is prepared once per connection; other sizes are not kept, so the hot
/// queries stay in the small statement cache.
pub async fn record_login_events(
    db: &DatabaseConnection,
    events: &[login_event::Model],
) -> Result<(), StoreError> {
    // The same statement through either pool. A macro rather than a generic function: the
    // query builder's argument lifetime cannot be named through `Database::Arguments`.
    macro_rules! insert {
        ($pool:expr, $rows:expr, $keep:expr) => {{
            let mut insert = login_event_insert($rows);
            insert
                .build()
                .persistent($keep)
                .execute($pool)
                .await
                .map(drop)
        }};
    }
    for rows in events.chunks(LOGIN_EVENT_BATCH) {
        let keep = rows.len() == LOGIN_EVENT_BATCH;
        let written = match db.get_database_backend() {
            DbBackend::Sqlite => insert!(db.get_sqlite_connection_pool(), rows, keep),
            DbBackend::Postgres => insert!(db.get_postgres_connection_pool(), rows, keep),
            DbBackend::MySql => {
                return Err(StoreError::Invalid("MySQL is not supported".into()));
            }
        };
        written.map_err(|e| StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(e))))?;
    }
    Ok(())
}

/// `INSERT INTO login_event ... VALUES (...), ...` for `rows`, in either database's dialect.
fn login_event_insert<'a, DB: sqlx::Database>(
    rows: &'a [login_event::Model],
) -> sqlx::QueryBuilder<'a, DB>
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<&'a str>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut insert = sqlx::QueryBuilder::new(
        "INSERT INTO \"login_event\" (\"id\", \"realm_id\", \"time\", \"event_type\", \
         \"client_id\", \"user_id\", \"username\", \"session_id\", \"ip_address\", \"error\", \
         \"details\") ",
    );
    insert.push_values(rows, |mut row, event| {
        row.push_bind(event.id.as_str())
            .push_bind(event.realm_id.as_str())
            .push_bind(event.time)
            .push_bind(event.event_type.as_str())
            .push_bind(event.client_id.as_deref())
            .push_bind(event.user_id.as_deref())
            .push_bind(event.username.as_deref())
            .push_bind(event.session_id.as_deref())
            .push_bind(event.ip_address.as_deref())
            .push_bind(event.error.as_deref())
            .push_bind(event.details.as_deref());
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
