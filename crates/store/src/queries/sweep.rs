//! Deleting what has expired. Every reader already checks expiry, so old rows are harmless, but
//! nothing else removes them and the tables would only grow.
//!
//! Each table is swept in batches of at most `batch` rows, one short statement per batch, so a
//! backlog never holds SQLite's single writer (or PostgreSQL's row locks) for long and requests
//! get in between. The statement repeats the condition outside its `LIMIT`ed subquery, so a row
//! that a concurrent request revived between the two is left alone (PostgreSQL re-checks the
//! outer condition on the row's new version).
//!
//! A row goes only once it has been useless for [`SWEEP_GRACE_SECS`]: instances sharing one
//! database may disagree on the time a little, and readers differ on the boundary second.
//!
//! Events are kept per realm as Keycloak keeps them: login and token events for the realm's
//! `eventsExpiration` (seconds; unset or 0: [`LOGIN_EVENT_RETENTION_SECS`], this server's
//! default), admin events for its `adminEventsExpiration` (the realm attribute, seconds;
//! unset or 0: for good).

use portcullis_core::model::realm_defaults;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::admin::entity::admin_event;
use crate::entity::{
    auth_code, device_code, docker_refresh_token, login_event, login_failure, oidc_refresh_token,
    realm, revoked_token, user_session,
};
use crate::error::StoreError;

/// How long past its expiry a row is kept.
pub const SWEEP_GRACE_SECS: i64 = 60;

/// Rows per DELETE when the caller has no better idea: small enough that one statement takes
/// milliseconds on SQLite.
pub const SWEEP_BATCH: u64 = 500;

/// How long login and token events are kept (seconds) in a realm without `eventsExpiration`:
/// a week of who signed in and which docker tokens were issued, without the table growing
/// forever.
pub const LOGIN_EVENT_RETENTION_SECS: i64 = 7 * 86_400;

/// How many rows a sweep deleted, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub user_sessions: u64,
    pub auth_codes: u64,
    pub refresh_tokens: u64,
    pub device_codes: u64,
    pub docker_refresh_tokens: u64,
    pub revoked_tokens: u64,
    pub login_failures: u64,
    pub login_events: u64,
    pub admin_events: u64,
}

impl SweepReport {
    pub fn total(&self) -> u64 {
        self.user_sessions
            + self.auth_codes
            + self.refresh_tokens
            + self.device_codes
            + self.docker_refresh_tokens
            + self.revoked_tokens
            + self.login_failures
            + self.login_events
            + self.admin_events
    }
}

/// Deletes every row that expired more than [`SWEEP_GRACE_SECS`] before `now`. Tokens go before
/// sessions, so a session kept only for an expired offline token goes in the same sweep.
pub(crate) async fn sweep<C: ConnectionTrait>(
    db: &C,
    now: i64,
    batch: u64,
) -> Result<SweepReport, StoreError> {
    let cutoff = now.saturating_sub(SWEEP_GRACE_SECS);
    let batch = batch.max(1);
    let mut report = SweepReport {
        revoked_tokens: by_expiry::<revoked_token::Entity, _>(
            db,
            revoked_token::Column::Id,
            revoked_token::Column::ExpiresAt,
            cutoff,
            batch,
        )
        .await?,
        auth_codes: by_expiry::<auth_code::Entity, _>(
            db,
            auth_code::Column::CodeHash,
            auth_code::Column::ExpiresAt,
            cutoff,
            batch,
        )
        .await?,
        device_codes: by_expiry::<device_code::Entity, _>(
            db,
            device_code::Column::DeviceCodeHash,
            device_code::Column::ExpiresAt,
            cutoff,
            batch,
        )
        .await?,
        refresh_tokens: by_expiry::<oidc_refresh_token::Entity, _>(
            db,
            oidc_refresh_token::Column::Id,
            oidc_refresh_token::Column::ExpiresAt,
            cutoff,
            batch,
        )
        .await?,
        docker_refresh_tokens: by_expiry::<docker_refresh_token::Entity, _>(
            db,
            docker_refresh_token::Column::Id,
            docker_refresh_token::Column::ExpiresAt,
            cutoff,
            batch,
        )
        .await?,
        ..SweepReport::default()
    };
    // Session, lockout and event lifetimes are realm settings, so those tables go realm by
    // realm.
    let realms = realm::Entity::find().all(db).await?;
    let ids: Vec<String> = realms.iter().map(|r| r.id.clone()).collect();
    let mut extras = crate::admin::extras::get_many(db, &ids).await?;
    for realm in realms {
        let kept = extras.remove(&realm.id).unwrap_or_default();
        let (login_expiration, admin_expiration) = event_expirations(&realm, &kept);
        let older_than = |secs: i64| now.saturating_sub(secs).saturating_mul(1000);
        report.login_events +=
            login_events_before(db, &realm.id, older_than(login_expiration), batch).await?;
        if let Some(secs) = admin_expiration {
            report.admin_events += in_batches::<admin_event::Entity, _>(
                db,
                admin_event::Column::Id,
                Condition::all()
                    .add(admin_event::Column::RealmId.eq(realm.id.as_str()))
                    .add(admin_event::Column::Time.lt(older_than(secs))),
                batch,
            )
            .await?;
        }
        report.user_sessions += in_batches::<user_session::Entity, _>(
            db,
            user_session::Column::Id,
            dead_sessions(&realm, cutoff),
            batch,
        )
        .await?;
        report.login_failures += in_batches::<login_failure::Entity, _>(
            db,
            login_failure::Column::UserId,
            forgotten_failures(&realm, cutoff),
            batch,
        )
        .await?;
    }
    Ok(report)
}

async fn by_expiry<E, C>(
    db: &C,
    key: E::Column,
    expires_at: E::Column,
    cutoff: i64,
    batch: u64,
) -> Result<u64, StoreError>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    in_batches::<E, C>(db, key, Condition::all().add(expires_at.lte(cutoff)), batch).await
}

/// A realm's login events from before `before` (milliseconds), oldest first, about `batch` at a
/// time: each batch deletes up to the time of the `batch`-th oldest (more when events share that
/// millisecond). By time rather than by key as [`in_batches`] does: the table is keyed by
/// `(realm_id, time, id)`, so a batch is one range of the key, found by reading `batch` keys,
/// where `id IN (...)` would scan the realm's whole backlog for every batch.
async fn login_events_before<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    before: i64,
    batch: u64,
) -> Result<u64, StoreError> {
    use login_event::Column as C;
    let expired = || {
        Condition::all()
            .add(C::RealmId.eq(realm_id))
            .add(C::Time.lt(before))
    };
    let mut total = 0;
    loop {
        let last: Option<i64> = login_event::Entity::find()
            .select_only()
            .column(C::Time)
            .filter(expired())
            .order_by_asc(C::Time)
            .offset(batch.saturating_sub(1))
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let mut delete = login_event::Entity::delete_many().filter(expired());
        if let Some(last) = last {
            delete = delete.filter(C::Time.lte(last));
        }
        total += delete.exec(db).await?.rows_affected;
        if last.is_none() {
            return Ok(total);
        }
        // Let requests waiting on the database in before the next batch.
        tokio::task::yield_now().await;
    }
}

/// `DELETE FROM t WHERE cond AND key IN (SELECT key FROM t WHERE cond LIMIT batch)` until a
/// batch comes back short. `key` must single out a row among those `cond` matches.
async fn in_batches<E, C>(
    db: &C,
    key: E::Column,
    cond: Condition,
    batch: u64,
) -> Result<u64, StoreError>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut total = 0;
    loop {
        let keys = Query::select()
            .column(key)
            .from(E::default())
            .cond_where(cond.clone())
            .limit(batch)
            .to_owned();
        let deleted = E::delete_many()
            .filter(cond.clone())
            .filter(key.in_subquery(keys))
            .exec(db)
            .await?
            .rows_affected;
        total += deleted;
        if deleted < batch {
            return Ok(total);
        }
        // Let requests waiting on the database in before the next batch.
        tokio::task::yield_now().await;
    }
}

/// Sessions no reader accepts any more: ended, or idle or old beyond the realm's timeouts (as
/// the token endpoint reads them: a timeout of 0 or less means Keycloak's default). A session an
/// unexpired, unrevoked offline token points to stays: that token outlives the session and
/// reads its `auth_time` from it.
fn dead_sessions(realm: &realm::Model, cutoff: i64) -> Condition {
    let idle = positive_or(
        realm.sso_session_idle_timeout,
        realm_defaults::SSO_SESSION_IDLE_TIMEOUT,
    );
    let max = positive_or(
        realm.sso_session_max_lifespan,
        realm_defaults::SSO_SESSION_MAX_LIFESPAN,
    );
    let offline_holder = Query::select()
        .expr(Expr::value(1))
        .from(oidc_refresh_token::Entity)
        .and_where(
            Expr::col((
                oidc_refresh_token::Entity,
                oidc_refresh_token::Column::SessionId,
            ))
            .equals((user_session::Entity, user_session::Column::Id)),
        )
        .and_where(oidc_refresh_token::Column::Offline.eq(true))
        .and_where(oidc_refresh_token::Column::Revoked.eq(false))
        .and_where(oidc_refresh_token::Column::ExpiresAt.gt(cutoff))
        .to_owned();
    Condition::all()
        .add(user_session::Column::RealmId.eq(realm.id.as_str()))
        .add(
            Condition::any()
                .add(user_session::Column::Ended.eq(true))
                .add(user_session::Column::LastSeenAt.lt(cutoff.saturating_sub(idle)))
                .add(user_session::Column::CreatedAt.lt(cutoff.saturating_sub(max))),
        )
        .add(Expr::exists(offline_holder).not())
}

/// Failure records brute-force detection no longer counts: not locked (a permanent lockout is
/// locked until `i64::MAX`), and the last failure older than the realm's `maxDeltaTimeSeconds`,
/// after which the next failure starts from zero anyway.
fn forgotten_failures(realm: &realm::Model, cutoff: i64) -> Condition {
    let window = realm.max_delta_time_seconds.max(0);
    Condition::all()
        .add(login_failure::Column::RealmId.eq(realm.id.as_str()))
        .add(
            Condition::any()
                .add(login_failure::Column::LockedUntil.is_null())
                .add(login_failure::Column::LockedUntil.lt(cutoff)),
        )
        .add(
            login_failure::Column::LastFailureMs
                .lt(cutoff.saturating_sub(window).saturating_mul(1000)),
        )
}

/// Keycloak's realm attribute holding how long admin events are kept (seconds).
pub const ADMIN_EVENTS_EXPIRATION: &str = "adminEventsExpiration";

/// How long the realm keeps login events (seconds), and admin events (`None`: for good):
/// `eventsExpiration` among its kept representation fields, `adminEventsExpiration` among its
/// attributes (or, as some tools send it, its kept representation fields). Zero, negative or
/// unreadable values mean unset.
pub(crate) fn event_expirations(
    realm: &realm::Model,
    kept: &serde_json::Map<String, serde_json::Value>,
) -> (i64, Option<i64>) {
    let seconds = |value: &serde_json::Value| match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let login = crate::admin::realm_settings::EventsConfig::of_realm(realm, kept)
        .events_expiration
        .filter(|s| *s > 0)
        .unwrap_or(LOGIN_EVENT_RETENTION_SECS);
    let attributes: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&realm.attributes).unwrap_or_default();
    let admin = attributes
        .get(ADMIN_EVENTS_EXPIRATION)
        .or_else(|| kept.get(ADMIN_EVENTS_EXPIRATION))
        .and_then(seconds)
        .filter(|s| *s > 0);
    (login, admin)
}

fn positive_or(value: i64, default: i64) -> i64 {
    if value > 0 { value } else { default }
}
