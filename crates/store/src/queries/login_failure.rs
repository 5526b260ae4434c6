//! Brute-force detection's failure record per realm and user. A failure is counted by one
//! atomic upsert, so concurrent wrong passwords each count (a read-modify-write let 20
//! concurrent failures count once or twice); the lock it leads to is written with "the later
//! of the two", so concurrent locks never shorten each other.

use portcullis_core::brute_force::{CountedFailure, FailureRecord};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement, Value};

use crate::entity::login_failure;
use crate::error::StoreError;

/// A user's failed logins in a realm, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginFailures {
    pub record: FailureRecord,
    /// The address of the last failure, when known.
    pub last_ip: Option<String>,
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Option<LoginFailures>, StoreError> {
    let row = login_failure::Entity::find_by_id((realm_id.to_string(), user_id.to_string()))
        .one(db)
        .await?;
    Ok(row.map(|r| LoginFailures {
        record: FailureRecord {
            failures: r.failures,
            last_failure_ms: r.last_failure_ms,
            locked_until: r.locked_until,
        },
        last_ip: r.last_ip,
    }))
}

/// What one failure is counted with.
#[derive(Debug, Clone, Copy)]
pub struct FailureAt<'a> {
    pub realm_id: &'a str,
    pub user_id: &'a str,
    pub now_ms: i64,
    pub ip: Option<&'a str>,
    /// Earlier failures more than this many milliseconds ago are forgotten; `None` never.
    pub forget_after_ms: Option<i64>,
}

/// Counts one failure; returns the new count and the time of the failure before it.
pub(crate) async fn count<C: ConnectionTrait>(
    db: &C,
    failure: FailureAt<'_>,
) -> Result<CountedFailure, StoreError> {
    // In an UPDATE every right-hand side reads the row as it was, so `previous_failure_ms`
    // gets the old `last_failure_ms`; SQLite and PostgreSQL both serialise the upserts.
    let sql = "INSERT INTO login_failure \
         (realm_id, user_id, failures, last_failure_ms, previous_failure_ms, last_ip, locked_until) \
         VALUES ($1, $2, 1, $3, NULL, $4, NULL) \
         ON CONFLICT (realm_id, user_id) DO UPDATE SET \
         failures = CASE WHEN $5 >= 0 AND excluded.last_failure_ms - login_failure.last_failure_ms > $5 \
           THEN 1 ELSE login_failure.failures + 1 END, \
         previous_failure_ms = login_failure.last_failure_ms, \
         last_failure_ms = excluded.last_failure_ms, \
         last_ip = excluded.last_ip \
         RETURNING failures, previous_failure_ms";
    let values: [Value; 5] = [
        failure.realm_id.into(),
        failure.user_id.into(),
        failure.now_ms.into(),
        failure.ip.map(str::to_string).into(),
        failure.forget_after_ms.unwrap_or(-1).into(),
    ];
    let row = db
        .query_one(statement(db.get_database_backend(), sql, values))
        .await?
        .ok_or_else(|| StoreError::NotFound("login failure row after upsert".into()))?;
    Ok(CountedFailure {
        failures: row.try_get("", "failures")?,
        previous_failure_ms: row.try_get("", "previous_failure_ms")?,
        now_ms: failure.now_ms,
    })
}

/// Locks the user until `until` (unix seconds), unless already locked longer.
pub(crate) async fn lock<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    until: i64,
) -> Result<(), StoreError> {
    let sql = "UPDATE login_failure SET locked_until = $1 \
         WHERE realm_id = $2 AND user_id = $3 AND (locked_until IS NULL OR locked_until < $1)";
    let values: [Value; 3] = [until.into(), realm_id.into(), user_id.into()];
    db.execute(statement(db.get_database_backend(), sql, values))
        .await?;
    Ok(())
}

/// Forgets the user's failures (a successful login, or an admin unlocking the user).
pub(crate) async fn clear<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    login_failure::Entity::delete_by_id((realm_id.to_string(), user_id.to_string()))
        .exec(db)
        .await?;
    Ok(())
}

/// A statement written with PostgreSQL's numbered placeholders, which SQLite also accepts
/// (`$N` names the Nth value in both).
fn statement<const N: usize>(backend: DbBackend, sql: &str, values: [Value; N]) -> Statement {
    Statement::from_sql_and_values(backend, sql, values)
}
