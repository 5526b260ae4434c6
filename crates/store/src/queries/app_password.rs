//! App passwords, kept by the hex SHA-256 of the secret so a database leak yields no usable
//! secret. A presented secret is found by its hash (unique index); the hashes are then compared
//! again in constant time.

use portcullis_core::app_password::Restriction;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{from_json, to_json};
use crate::entity::app_password as entity;
use crate::error::StoreError;

/// A stored app password (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    pub name: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_hash: String,
    /// The registry, repositories, actions and expiry it is limited to.
    pub restriction: Restriction,
    /// Unix seconds, like every time here.
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_address: Option<String>,
    pub last_used_user_agent: Option<String>,
}

impl AppPassword {
    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.restriction.expires_at
    }
}

/// A use to record.
#[derive(Debug, Clone, Copy)]
pub struct AppPasswordUse<'a> {
    pub id: &'a str,
    pub now: i64,
    pub address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

fn list_column(values: &[String]) -> Result<Option<String>, StoreError> {
    if values.is_empty() {
        Ok(None)
    } else {
        to_json(values).map(Some)
    }
}

impl TryFrom<entity::Model> for AppPassword {
    type Error = StoreError;

    fn try_from(m: entity::Model) -> Result<Self, StoreError> {
        let list = |column: &Option<String>, what: &str| match column {
            Some(text) => from_json::<Vec<String>>(text, what),
            None => Ok(Vec::new()),
        };
        Ok(Self {
            restriction: Restriction {
                service: m.service,
                repositories: list(&m.repositories, "app password repositories")?,
                actions: list(&m.actions, "app password actions")?,
                expires_at: m.expires_at,
            },
            id: m.id,
            realm_id: m.realm_id,
            user_id: m.user_id,
            name: m.name,
            secret_hash: m.secret_hash,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
            last_used_address: m.last_used_address,
            last_used_user_agent: m.last_used_user_agent,
        })
    }
}

impl TryFrom<&AppPassword> for entity::Model {
    type Error = StoreError;

    fn try_from(p: &AppPassword) -> Result<Self, StoreError> {
        Ok(Self {
            id: p.id.clone(),
            realm_id: p.realm_id.clone(),
            user_id: p.user_id.clone(),
            name: p.name.clone(),
            secret_hash: p.secret_hash.clone(),
            service: p.restriction.service.clone(),
            repositories: list_column(&p.restriction.repositories)?,
            actions: list_column(&p.restriction.actions)?,
            created_at: p.created_at,
            expires_at: p.restriction.expires_at,
            revoked_at: p.revoked_at,
            last_used_at: p.last_used_at,
            last_used_address: p.last_used_address.clone(),
            last_used_user_agent: p.last_used_user_agent.clone(),
        })
    }
}

pub async fn insert<C: ConnectionTrait>(db: &C, password: &AppPassword) -> Result<(), StoreError> {
    if find_by_hash(db, &password.secret_hash).await?.is_some() {
        return Err(StoreError::Conflict("app password already stored".into()));
    }
    super::insert_all::<entity::Entity, _>(db, vec![password.try_into()?]).await?;
    Ok(())
}

/// The app password whose secret hashes to `secret_hash`, in any realm.
pub async fn find_by_hash<C: ConnectionTrait>(
    db: &C,
    secret_hash: &str,
) -> Result<Option<AppPassword>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::SecretHash.eq(secret_hash))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// One of a user's app passwords.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    id: &str,
) -> Result<Option<AppPassword>, StoreError> {
    entity::Entity::find_by_id(id)
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// A user's app passwords, revoked and expired ones included, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Vec<AppPassword>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserId.eq(user_id))
        .order_by_desc(entity::Column::CreatedAt)
        .order_by_desc(entity::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Revokes one of a user's app passwords at `now`; false when there is no such app password
/// or it was revoked already.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::RevokedAt, Expr::value(now))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Revokes every live app password of a user at `now`; returns how many.
pub(crate) async fn revoke_for_user<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::RevokedAt, Expr::value(now))
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::UserId.eq(user_id))
        .filter(entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Records when, from where and with what client an app password was last used.
pub async fn touch<C: ConnectionTrait>(db: &C, used: AppPasswordUse<'_>) -> Result<(), StoreError> {
    let cut = |value: Option<&str>, max: usize| {
        value.map(|v| {
            let mut end = v.len().min(max);
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v[..end].to_owned()
        })
    };
    entity::Entity::update_many()
        .col_expr(entity::Column::LastUsedAt, Expr::value(used.now))
        .col_expr(
            entity::Column::LastUsedAddress,
            Expr::value(cut(used.address, 64)),
        )
        .col_expr(
            entity::Column::LastUsedUserAgent,
            Expr::value(cut(used.user_agent, 255)),
        )
        .filter(entity::Column::Id.eq(used.id))
        .exec(db)
        .await?;
    Ok(())
}
