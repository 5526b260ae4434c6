//! RFC 8628 device authorizations. The device code is a bearer secret, kept by its hex SHA-256;
//! the short user code is unique per realm. Every state change the token endpoint races on
//! (poll time, consumption) is a conditional UPDATE.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, SqlErr};

use crate::entity::device_code as entity;
use crate::error::StoreError;

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceCodeStatus {
    /// Waiting for the user to approve or deny.
    Pending,
    /// The user approved; the next poll gets tokens.
    Approved {
        user_id: String,
        session_id: String,
        auth_time: i64,
    },
    Denied,
    /// Tokens were issued; the code is spent.
    Consumed,
}

/// A device authorization.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCode {
    /// Lowercase hex SHA-256 of the device code.
    pub device_code_hash: String,
    /// Normalised: 8 characters A-Z without vowels, no dash.
    pub user_code: String,
    pub realm_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// Seconds the device must wait between polls.
    pub interval: i64,
    pub last_polled_at: Option<i64>,
    pub status: DeviceCodeStatus,
}

const PENDING: &str = "pending";
const APPROVED: &str = "approved";
const DENIED: &str = "denied";
const CONSUMED: &str = "consumed";

/// A status's stored columns: (status, user_id, session_id, auth_time).
type StatusColumns = (&'static str, Option<String>, Option<String>, Option<i64>);

fn status_columns(status: &DeviceCodeStatus) -> StatusColumns {
    match status {
        DeviceCodeStatus::Pending => (PENDING, None, None, None),
        DeviceCodeStatus::Approved {
            user_id,
            session_id,
            auth_time,
        } => (
            APPROVED,
            Some(user_id.clone()),
            Some(session_id.clone()),
            Some(*auth_time),
        ),
        DeviceCodeStatus::Denied => (DENIED, None, None, None),
        DeviceCodeStatus::Consumed => (CONSUMED, None, None, None),
    }
}

impl TryFrom<entity::Model> for DeviceCode {
    type Error = StoreError;

    fn try_from(m: entity::Model) -> Result<Self, StoreError> {
        let status = match (m.status.as_str(), m.user_id, m.session_id, m.auth_time) {
            (PENDING, ..) => DeviceCodeStatus::Pending,
            (APPROVED, Some(user_id), Some(session_id), Some(auth_time)) => {
                DeviceCodeStatus::Approved {
                    user_id,
                    session_id,
                    auth_time,
                }
            }
            (DENIED, ..) => DeviceCodeStatus::Denied,
            (CONSUMED, ..) => DeviceCodeStatus::Consumed,
            (other, ..) => {
                return Err(StoreError::Invalid(format!(
                    "stored device code has an inconsistent status '{other}'"
                )));
            }
        };
        Ok(Self {
            device_code_hash: m.device_code_hash,
            user_code: m.user_code,
            realm_id: m.realm_id,
            client_id: m.client_id,
            scope: m.scope,
            created_at: m.created_at,
            expires_at: m.expires_at,
            interval: m.interval,
            last_polled_at: m.last_polled_at,
            status,
        })
    }
}

fn to_model(d: &DeviceCode) -> entity::Model {
    let (status, user_id, session_id, auth_time) = status_columns(&d.status);
    entity::Model {
        device_code_hash: d.device_code_hash.clone(),
        user_code: d.user_code.clone(),
        realm_id: d.realm_id.clone(),
        client_id: d.client_id.clone(),
        scope: d.scope.clone(),
        created_at: d.created_at,
        expires_at: d.expires_at,
        interval: d.interval,
        last_polled_at: d.last_polled_at,
        status: status.to_string(),
        user_id,
        session_id,
        auth_time,
    }
}

/// Inserts a device authorization; a user code already taken in the realm is a
/// [`StoreError::Conflict`], so the caller can draw another.
pub(crate) async fn insert<C: ConnectionTrait>(db: &C, d: &DeviceCode) -> Result<(), StoreError> {
    match super::insert_all::<entity::Entity, _>(db, vec![to_model(d)]).await {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
            StoreError::Conflict("the device or user code is already in use".into()),
        ),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    device_code_hash: &str,
) -> Result<Option<DeviceCode>, StoreError> {
    entity::Entity::find_by_id(device_code_hash.to_string())
        .one(db)
        .await?
        .map(DeviceCode::try_from)
        .transpose()
}

pub(crate) async fn find_by_user_code<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_code: &str,
) -> Result<Option<DeviceCode>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserCode.eq(user_code))
        .one(db)
        .await?
        .map(DeviceCode::try_from)
        .transpose()
}

/// Sets the status. `Consumed` is final: changing a consumed code is a
/// [`StoreError::Conflict`]; an unknown code is [`StoreError::NotFound`].
pub(crate) async fn set_status<C: ConnectionTrait>(
    db: &C,
    device_code_hash: &str,
    status: &DeviceCodeStatus,
) -> Result<(), StoreError> {
    let (name, user_id, session_id, auth_time) = status_columns(status);
    let updated = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::value(name))
        .col_expr(entity::Column::UserId, Expr::value(user_id))
        .col_expr(entity::Column::SessionId, Expr::value(session_id))
        .col_expr(entity::Column::AuthTime, Expr::value(auth_time))
        .filter(entity::Column::DeviceCodeHash.eq(device_code_hash))
        .filter(entity::Column::Status.ne(CONSUMED))
        .exec(db)
        .await?
        .rows_affected;
    if updated == 1 {
        return Ok(());
    }
    match find(db, device_code_hash).await? {
        Some(_) => Err(StoreError::Conflict(
            "the device code was already used".into(),
        )),
        None => Err(StoreError::NotFound("device code".into())),
    }
}

/// Attempts before a poll that keeps losing the compare-and-set gives up.
const POLL_ATTEMPTS: usize = 8;

/// Sets `last_polled_at = now` and returns the previous value, as one compare-and-set so two
/// concurrent polls never both see the same previous poll.
pub(crate) async fn record_poll<C: ConnectionTrait>(
    db: &C,
    device_code_hash: &str,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    for _ in 0..POLL_ATTEMPTS {
        let Some(row) = entity::Entity::find_by_id(device_code_hash.to_string())
            .one(db)
            .await?
        else {
            return Err(StoreError::NotFound("device code".into()));
        };
        let previous = row.last_polled_at;
        let unchanged = match previous {
            Some(at) => entity::Column::LastPolledAt.eq(at),
            None => entity::Column::LastPolledAt.is_null(),
        };
        let updated = entity::Entity::update_many()
            .col_expr(entity::Column::LastPolledAt, Expr::value(now))
            .filter(entity::Column::DeviceCodeHash.eq(device_code_hash))
            .filter(unchanged)
            .exec(db)
            .await?
            .rows_affected;
        if updated == 1 {
            return Ok(previous);
        }
    }
    Err(StoreError::Conflict(
        "the device code is being polled concurrently".into(),
    ))
}

/// Approved -> Consumed; true only for the one caller that made that transition.
pub(crate) async fn consume<C: ConnectionTrait>(
    db: &C,
    device_code_hash: &str,
) -> Result<bool, StoreError> {
    let updated = entity::Entity::update_many()
        .col_expr(entity::Column::Status, Expr::value(CONSUMED))
        .filter(entity::Column::DeviceCodeHash.eq(device_code_hash))
        .filter(entity::Column::Status.eq(APPROVED))
        .exec(db)
        .await?
        .rows_affected;
    Ok(updated == 1)
}
