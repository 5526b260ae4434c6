//! SSO sessions, authorization codes and OIDC refresh tokens: the server-side state of the
//! openid-connect protocol, shared by every instance on one database.
//!
//! Codes are kept by the hex SHA-256 of the code (a leaked table yields nothing usable) and are
//! single use: redemption flips `used` with a conditional UPDATE, so of two concurrent redeems
//! exactly one wins, on SQLite and PostgreSQL alike.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::entity::{auth_code, oidc_refresh_token, user_session};
use crate::error::StoreError;

/// A server-side SSO session.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSession {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    /// When the user last authenticated (OIDC `auth_time`), unix seconds.
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub ended: bool,
}

impl From<user_session::Model> for UserSession {
    fn from(m: user_session::Model) -> Self {
        Self {
            id: m.id,
            realm_id: m.realm_id,
            user_id: m.user_id,
            auth_time: m.auth_time,
            created_at: m.created_at,
            last_seen_at: m.last_seen_at,
            ended: m.ended,
        }
    }
}

impl From<&UserSession> for user_session::Model {
    fn from(s: &UserSession) -> Self {
        Self {
            id: s.id.clone(),
            realm_id: s.realm_id.clone(),
            user_id: s.user_id.clone(),
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            ended: s.ended,
            ip_address: None,
            user_agent: None,
        }
    }
}

/// Where a session was started from, as far as it was recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionDevice {
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// Longest user agent kept (the column's length); a longer one is cut.
const MAX_USER_AGENT: usize = 512;
/// Longest address kept.
const MAX_ADDRESS: usize = 64;

fn cut(value: Option<&str>, max: usize) -> Option<String> {
    value.map(|v| v.chars().take(max).collect())
}

/// A user's sessions that were not ended, oldest first, each with where it was started from.
/// The realm's timeouts are the caller's to apply.
pub(crate) async fn list_session_devices<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Vec<(UserSession, SessionDevice)>, StoreError> {
    Ok(user_session::Entity::find()
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::Ended.eq(false))
        .order_by_asc(user_session::Column::CreatedAt)
        .order_by_asc(user_session::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            let device = SessionDevice {
                ip_address: m.ip_address.clone(),
                user_agent: m.user_agent.clone(),
            };
            (m.into(), device)
        })
        .collect())
}

/// An authorization code, as issued at the authorization endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    /// Lowercase hex SHA-256 of the code.
    pub code_hash: String,
    pub realm_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<auth_code::Model> for AuthCode {
    fn from(m: auth_code::Model) -> Self {
        Self {
            code_hash: m.code_hash,
            realm_id: m.realm_id,
            client_id: m.client_id,
            user_id: m.user_id,
            session_id: m.session_id,
            redirect_uri: m.redirect_uri,
            scope: m.scope,
            nonce: m.nonce,
            code_challenge: m.code_challenge,
            code_challenge_method: m.code_challenge_method,
            auth_time: m.auth_time,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

impl From<&AuthCode> for auth_code::Model {
    fn from(c: &AuthCode) -> Self {
        Self {
            code_hash: c.code_hash.clone(),
            realm_id: c.realm_id.clone(),
            client_id: c.client_id.clone(),
            user_id: c.user_id.clone(),
            session_id: c.session_id.clone(),
            redirect_uri: c.redirect_uri.clone(),
            scope: c.scope.clone(),
            nonce: c.nonce.clone(),
            code_challenge: c.code_challenge.clone(),
            code_challenge_method: c.code_challenge_method.clone(),
            auth_time: c.auth_time,
            created_at: c.created_at,
            expires_at: c.expires_at,
            used: false,
        }
    }
}

/// What redeeming a code found. Expiry is the caller's to check (`expires_at`).
#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    /// First redemption: the code is now used.
    Fresh(AuthCode),
    /// The code was redeemed before: a replay (RFC 9700 says revoke what it issued).
    Replayed(AuthCode),
    /// No such code.
    Unknown,
}

/// A refresh token's server-side record; the token is a signed JWT whose `jti` is `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    pub id: String,
    pub realm_id: String,
    /// The client's `clientId`.
    pub client_id: String,
    pub user_id: String,
    /// None for client credentials.
    pub session_id: Option<String>,
    pub scope: String,
    pub offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    pub use_count: i64,
}

impl From<oidc_refresh_token::Model> for RefreshTokenRecord {
    fn from(m: oidc_refresh_token::Model) -> Self {
        Self {
            id: m.id,
            realm_id: m.realm_id,
            client_id: m.client_id,
            user_id: m.user_id,
            session_id: m.session_id,
            scope: m.scope,
            offline: m.offline,
            created_at: m.created_at,
            expires_at: m.expires_at,
            revoked: m.revoked,
            use_count: m.use_count,
        }
    }
}

impl From<&RefreshTokenRecord> for oidc_refresh_token::Model {
    fn from(t: &RefreshTokenRecord) -> Self {
        Self {
            id: t.id.clone(),
            realm_id: t.realm_id.clone(),
            client_id: t.client_id.clone(),
            user_id: t.user_id.clone(),
            session_id: t.session_id.clone(),
            scope: t.scope.clone(),
            offline: t.offline,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            use_count: t.use_count,
        }
    }
}

pub(crate) async fn create_session<C: ConnectionTrait>(
    db: &C,
    session: &UserSession,
    device: &SessionDevice,
) -> Result<(), StoreError> {
    let mut row: user_session::Model = session.into();
    row.ip_address = cut(device.ip_address.as_deref(), MAX_ADDRESS);
    row.user_agent = cut(device.user_agent.as_deref(), MAX_USER_AGENT);
    super::insert_all::<user_session::Entity, _>(db, vec![row]).await?;
    Ok(())
}

pub(crate) async fn find_session<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<UserSession>, StoreError> {
    Ok(user_session::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(Into::into))
}

/// Records activity; an ended session stays ended.
pub(crate) async fn touch_session<C: ConnectionTrait>(
    db: &C,
    id: &str,
    now: i64,
) -> Result<(), StoreError> {
    user_session::Entity::update_many()
        .col_expr(user_session::Column::LastSeenAt, Expr::value(now))
        .filter(user_session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends one session and revokes its online refresh tokens, atomically. Offline tokens outlive
/// the browser session, as in Keycloak.
pub(crate) async fn end_session<C: TransactionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    user_session::Entity::update_many()
        .col_expr(user_session::Column::Ended, Expr::value(true))
        .filter(user_session::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::SessionId.eq(id))
        .filter(oidc_refresh_token::Column::Offline.eq(false))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends every live session of a user (logout everywhere) and revokes their online refresh
/// tokens; returns how many sessions were live. Writes first, so SQLite never has to upgrade a
/// read transaction.
pub(crate) async fn end_sessions<C: TransactionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<u64, StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    let ended = user_session::Entity::update_many()
        .col_expr(user_session::Column::Ended, Expr::value(true))
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::Ended.eq(false))
        .exec(&txn)
        .await?
        .rows_affected;
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::UserId.eq(user_id))
        .filter(oidc_refresh_token::Column::SessionId.is_not_null())
        .filter(oidc_refresh_token::Column::Offline.eq(false))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(ended)
}

/// A user's sessions that were not ended, oldest first. Idle or over-age sessions are listed
/// too: the realm's timeouts are the caller's to apply.
pub(crate) async fn list_sessions<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Vec<UserSession>, StoreError> {
    Ok(user_session::Entity::find()
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::UserId.eq(user_id))
        .filter(user_session::Column::Ended.eq(false))
        .order_by_asc(user_session::Column::CreatedAt)
        .order_by_asc(user_session::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub(crate) async fn insert_code<C: ConnectionTrait>(
    db: &C,
    code: &AuthCode,
) -> Result<(), StoreError> {
    super::insert_all::<auth_code::Entity, _>(db, vec![code.into()]).await?;
    Ok(())
}

/// Marks the code used if it was not; the conditional UPDATE is the atomic step.
pub(crate) async fn redeem_code<C: ConnectionTrait>(
    db: &C,
    code_hash: &str,
) -> Result<CodeRedemption, StoreError> {
    let claimed = auth_code::Entity::update_many()
        .col_expr(auth_code::Column::Used, Expr::value(true))
        .filter(auth_code::Column::CodeHash.eq(code_hash))
        .filter(auth_code::Column::Used.eq(false))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    let row = auth_code::Entity::find_by_id(code_hash.to_string())
        .one(db)
        .await?;
    Ok(match row {
        Some(row) if claimed => CodeRedemption::Fresh(row.into()),
        Some(row) => CodeRedemption::Replayed(row.into()),
        None => CodeRedemption::Unknown,
    })
}

pub(crate) async fn insert_refresh<C: ConnectionTrait>(
    db: &C,
    token: &RefreshTokenRecord,
) -> Result<(), StoreError> {
    super::insert_all::<oidc_refresh_token::Entity, _>(db, vec![token.into()]).await?;
    Ok(())
}

pub(crate) async fn find_refresh<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<RefreshTokenRecord>, StoreError> {
    Ok(oidc_refresh_token::Entity::find_by_id(id.to_string())
        .one(db)
        .await?
        .map(Into::into))
}

pub(crate) async fn revoke_refresh<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Pushes a refresh token row's expiry to `until` (never back: a concurrent refresh may have
/// pushed it further).
pub(crate) async fn extend_refresh<C: ConnectionTrait>(
    db: &C,
    id: &str,
    until: i64,
) -> Result<(), StoreError> {
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::ExpiresAt, Expr::value(until))
        .filter(oidc_refresh_token::Column::Id.eq(id))
        .filter(oidc_refresh_token::Column::ExpiresAt.lt(until))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds one use and returns the new count; the transaction holds the row's write lock between
/// the UPDATE and the read, so concurrent uses each see their own count.
pub(crate) async fn increment_refresh_use<C: TransactionTrait>(
    db: &C,
    id: &str,
) -> Result<i64, StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    oidc_refresh_token::Entity::update_many()
        .col_expr(
            oidc_refresh_token::Column::UseCount,
            Expr::col(oidc_refresh_token::Column::UseCount).add(1),
        )
        .filter(oidc_refresh_token::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let row = oidc_refresh_token::Entity::find_by_id(id.to_string())
        .one(&txn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("refresh token {id}")))?;
    txn.commit().await?;
    Ok(row.use_count)
}

/// Revokes every refresh token of a session, offline ones included (a replayed code or a
/// compromised session); returns how many were live.
pub(crate) async fn revoke_session_refresh<C: ConnectionTrait>(
    db: &C,
    session_id: &str,
) -> Result<u64, StoreError> {
    let result = oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::SessionId.eq(session_id))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
