//! Docker refresh tokens (the `refresh_token` of `docker login`'s OAuth2 flow), kept by the hex
//! SHA-256 of the token so a database leak yields no usable token.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::docker_refresh_token as entity;
use crate::error::StoreError;

/// A stored docker refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRefreshToken {
    pub id: String,
    /// Lowercase hex SHA-256 of the token.
    pub token_hash: String,
    pub realm_id: String,
    pub user_id: String,
    /// The registry (`service`) the token was issued for.
    pub service: String,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
    pub revoked: bool,
    /// The client address the token was last used from.
    pub last_address: Option<String>,
}

impl From<entity::Model> for DockerRefreshToken {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            token_hash: m.token_hash,
            realm_id: m.realm_id,
            user_id: m.user_id,
            service: m.service,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
            revoked: m.revoked,
            last_address: m.last_address,
        }
    }
}

impl From<&DockerRefreshToken> for entity::Model {
    fn from(t: &DockerRefreshToken) -> Self {
        Self {
            id: t.id.clone(),
            token_hash: t.token_hash.clone(),
            realm_id: t.realm_id.clone(),
            user_id: t.user_id.clone(),
            service: t.service.clone(),
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            expires_at: t.expires_at,
            revoked: t.revoked,
            last_address: t.last_address.clone(),
        }
    }
}

/// Inserts a token; a hash already stored is a [`StoreError::Conflict`].
pub(crate) async fn insert<C: ConnectionTrait>(
    db: &C,
    token: &DockerRefreshToken,
) -> Result<(), StoreError> {
    if find(db, &token.token_hash).await?.is_some() {
        return Err(StoreError::Conflict(
            "docker refresh token already stored".into(),
        ));
    }
    super::insert_all::<entity::Entity, _>(db, vec![token.into()]).await?;
    Ok(())
}

pub(crate) async fn find<C: ConnectionTrait>(
    db: &C,
    token_hash: &str,
) -> Result<Option<DockerRefreshToken>, StoreError> {
    Ok(entity::Entity::find()
        .filter(entity::Column::TokenHash.eq(token_hash))
        .one(db)
        .await?
        .map(Into::into))
}

/// Revokes the user's live tokens for the service beyond the newest `keep`; returns how many.
pub(crate) async fn keep_newest<C: ConnectionTrait>(
    db: &C,
    token: &DockerRefreshToken,
    keep: u64,
    now_unix: i64,
) -> Result<u64, StoreError> {
    let surplus: Vec<String> = entity::Entity::find()
        .select_only()
        .column(entity::Column::Id)
        .filter(entity::Column::RealmId.eq(&token.realm_id))
        .filter(entity::Column::UserId.eq(&token.user_id))
        .filter(entity::Column::Service.eq(&token.service))
        .filter(entity::Column::Revoked.eq(false))
        .filter(entity::Column::ExpiresAt.gt(now_unix))
        .order_by_desc(entity::Column::CreatedAt)
        .order_by_desc(entity::Column::Id)
        // SQLite takes OFFSET only after a LIMIT.
        .limit(i64::MAX as u64)
        .offset(keep)
        .into_tuple()
        .all(db)
        .await?;
    if surplus.is_empty() {
        return Ok(0);
    }
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::Revoked, Expr::value(true))
        .filter(entity::Column::Id.is_in(surplus))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

pub(crate) async fn touch<C: ConnectionTrait>(
    db: &C,
    id: &str,
    now_unix: i64,
    address: Option<&str>,
) -> Result<(), StoreError> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::LastUsedAt, Expr::value(now_unix))
        .col_expr(
            entity::Column::LastAddress,
            Expr::value(address.map(str::to_string)),
        )
        .filter(entity::Column::Id.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound(format!("docker refresh token {id}")));
    }
    Ok(())
}

/// Revokes every live token of a user; returns how many were revoked.
pub(crate) async fn revoke_for_user<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<u64, StoreError> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::Revoked, Expr::value(true))
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}
