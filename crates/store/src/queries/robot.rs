//! Robots and their secrets. A secret is kept as the hex SHA-256 of itself, so a database leak
//! yields no usable secret; a presented secret is found by its hash (unique index) and the
//! hashes are then compared again in constant time by the caller.

use portcullis_core::app_password::Restriction;
use portcullis_core::robot::{login_name, rotated_expiry, secret_live};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{from_json, to_json};
use crate::entity::{robot as entity, robot_secret as secret_entity};
use crate::error::StoreError;

/// A stored robot (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Robot {
    pub id: String,
    pub realm_id: String,
    /// The owning group's id.
    pub group_id: String,
    /// Without the `robot.` prefix.
    pub name: String,
    pub description: Option<String>,
    /// The registry, repositories, actions and expiry it is limited to.
    pub restriction: Restriction,
    /// Normalised CIDR ranges it may be used from; empty for anywhere.
    pub source_cidrs: Vec<String>,
    /// False while disabled.
    pub enabled: bool,
    /// Unix seconds, like every time here.
    pub created_at: i64,
    /// The id of the user who created it.
    pub created_by: Option<String>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_address: Option<String>,
    pub last_used_user_agent: Option<String>,
}

impl Robot {
    /// Enabled, neither revoked nor expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.enabled && self.revoked_at.is_none() && now < self.restriction.expires_at
    }

    /// `robot.<name>`.
    pub fn login_name(&self) -> String {
        login_name(&self.name)
    }
}

/// One secret of a robot (its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotSecret {
    pub id: String,
    pub robot_id: String,
    /// Lowercase hex SHA-256 of the secret.
    pub secret_hash: String,
    pub created_at: i64,
    /// The end a rotation gave it; `None`: it lives as long as the robot.
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl RobotSecret {
    pub fn is_live(&self, now: i64) -> bool {
        secret_live(self.expires_at, now)
    }
}

/// A use to record: on the robot (when, where from, which client) and on the secret used.
#[derive(Debug, Clone, Copy)]
pub struct RobotUse<'a> {
    pub robot_id: &'a str,
    pub secret_id: &'a str,
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

fn list(column: &Option<String>, what: &str) -> Result<Vec<String>, StoreError> {
    match column {
        Some(text) => from_json::<Vec<String>>(text, what),
        None => Ok(Vec::new()),
    }
}

impl TryFrom<entity::Model> for Robot {
    type Error = StoreError;

    fn try_from(m: entity::Model) -> Result<Self, StoreError> {
        Ok(Self {
            restriction: Restriction {
                service: m.service,
                repositories: list(&m.repositories, "robot repositories")?,
                actions: list(&m.actions, "robot actions")?,
                expires_at: m.expires_at,
            },
            source_cidrs: list(&m.source_cidrs, "robot source addresses")?,
            id: m.id,
            realm_id: m.realm_id,
            group_id: m.group_id,
            name: m.name,
            description: m.description,
            enabled: m.enabled,
            created_at: m.created_at,
            created_by: m.created_by,
            revoked_at: m.revoked_at,
            last_used_at: m.last_used_at,
            last_used_address: m.last_used_address,
            last_used_user_agent: m.last_used_user_agent,
        })
    }
}

impl TryFrom<&Robot> for entity::Model {
    type Error = StoreError;

    fn try_from(r: &Robot) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.id.clone(),
            realm_id: r.realm_id.clone(),
            group_id: r.group_id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            service: r.restriction.service.clone(),
            repositories: list_column(&r.restriction.repositories)?,
            actions: list_column(&r.restriction.actions)?,
            source_cidrs: list_column(&r.source_cidrs)?,
            enabled: r.enabled,
            created_at: r.created_at,
            created_by: r.created_by.clone(),
            expires_at: r.restriction.expires_at,
            revoked_at: r.revoked_at,
            last_used_at: r.last_used_at,
            last_used_address: r.last_used_address.clone(),
            last_used_user_agent: r.last_used_user_agent.clone(),
        })
    }
}

impl From<secret_entity::Model> for RobotSecret {
    fn from(m: secret_entity::Model) -> Self {
        Self {
            id: m.id,
            robot_id: m.robot_id,
            secret_hash: m.secret_hash,
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_used_at: m.last_used_at,
        }
    }
}

impl From<&RobotSecret> for secret_entity::Model {
    fn from(s: &RobotSecret) -> Self {
        Self {
            id: s.id.clone(),
            robot_id: s.robot_id.clone(),
            secret_hash: s.secret_hash.clone(),
            created_at: s.created_at,
            expires_at: s.expires_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// Stores a new robot with its first secret. A name taken in the realm is a conflict.
pub async fn insert<C: ConnectionTrait>(
    db: &C,
    robot: &Robot,
    secret: &RobotSecret,
) -> Result<(), StoreError> {
    if find_by_name(db, &robot.realm_id, &robot.name)
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict(format!(
            "a robot named {} exists",
            robot.name
        )));
    }
    super::insert_all::<entity::Entity, _>(db, vec![robot.try_into()?]).await?;
    insert_secret(db, secret).await
}

async fn insert_secret<C: ConnectionTrait>(db: &C, secret: &RobotSecret) -> Result<(), StoreError> {
    let taken = secret_entity::Entity::find()
        .filter(secret_entity::Column::SecretHash.eq(&secret.secret_hash))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict("robot secret already stored".into()));
    }
    super::insert_all::<secret_entity::Entity, _>(db, vec![secret.into()]).await?;
    Ok(())
}

/// The robot named `name` (without the prefix) in the realm.
pub async fn find_by_name<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    name: &str,
) -> Result<Option<Robot>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::Name.eq(name))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// A robot of the realm by id.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<Robot>, StoreError> {
    entity::Entity::find_by_id(id)
        .filter(entity::Column::RealmId.eq(realm_id))
        .one(db)
        .await?
        .map(TryInto::try_into)
        .transpose()
}

/// The robots owned by one of `group_ids`, revoked and expired ones included, by name.
pub async fn list_for_groups<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    group_ids: &[String],
) -> Result<Vec<Robot>, StoreError> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    entity::Entity::find()
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::GroupId.is_in(group_ids.iter().cloned()))
        .order_by_asc(entity::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// Every robot of the realm, by name.
pub async fn list_in_realm<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<Robot>, StoreError> {
    entity::Entity::find()
        .filter(entity::Column::RealmId.eq(realm_id))
        .order_by_asc(entity::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
}

/// A robot's secrets, newest first, dead ones included until the next rotation drops them.
/// Among secrets made in the same second, the one without an end (the newest) comes first,
/// then the later ends.
pub async fn secrets<C: ConnectionTrait>(
    db: &C,
    robot_id: &str,
) -> Result<Vec<RobotSecret>, StoreError> {
    let mut secrets: Vec<RobotSecret> = secret_entity::Entity::find()
        .filter(secret_entity::Column::RobotId.eq(robot_id))
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let end = |s: &RobotSecret| s.expires_at.unwrap_or(i64::MAX);
    secrets.sort_by(|a, b| (b.created_at, end(b), &b.id).cmp(&(a.created_at, end(a), &a.id)));
    Ok(secrets)
}

/// The robot and secret whose secret hashes to `secret_hash`, in any realm.
pub async fn find_by_secret_hash<C: ConnectionTrait>(
    db: &C,
    secret_hash: &str,
) -> Result<Option<(Robot, RobotSecret)>, StoreError> {
    let Some(secret) = secret_entity::Entity::find()
        .filter(secret_entity::Column::SecretHash.eq(secret_hash))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let robot = entity::Entity::find_by_id(&secret.robot_id).one(db).await?;
    match robot {
        Some(robot) => Ok(Some((robot.try_into()?, secret.into()))),
        None => Ok(None),
    }
}

/// Writes a robot's settings: description, rules, source addresses, expiry, enabled.
pub async fn update<C: ConnectionTrait>(db: &C, robot: &Robot) -> Result<(), StoreError> {
    let model: entity::Model = robot.try_into()?;
    entity::Entity::update_many()
        .col_expr(entity::Column::Description, Expr::value(model.description))
        .col_expr(entity::Column::Service, Expr::value(model.service))
        .col_expr(
            entity::Column::Repositories,
            Expr::value(model.repositories),
        )
        .col_expr(entity::Column::Actions, Expr::value(model.actions))
        .col_expr(entity::Column::SourceCidrs, Expr::value(model.source_cidrs))
        .col_expr(entity::Column::ExpiresAt, Expr::value(model.expires_at))
        .col_expr(entity::Column::Enabled, Expr::value(model.enabled))
        .filter(entity::Column::Id.eq(&robot.id))
        .filter(entity::Column::RealmId.eq(&robot.realm_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Adds `new` as the robot's newest secret at `now`. Every older secret still alive ends at the
/// earlier of its own end and `now + grace_secs`; secrets already dead are dropped. Returns
/// the ends given, by secret id.
pub async fn rotate<C: ConnectionTrait>(
    db: &C,
    new: &RobotSecret,
    now: i64,
    grace_secs: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut ended = Vec::new();
    for old in secrets(db, &new.robot_id).await? {
        if !old.is_live(now) {
            secret_entity::Entity::delete_by_id(&old.id)
                .exec(db)
                .await?;
            continue;
        }
        let end = rotated_expiry(old.expires_at, now, grace_secs);
        if old.expires_at != Some(end) {
            secret_entity::Entity::update_many()
                .col_expr(secret_entity::Column::ExpiresAt, Expr::value(Some(end)))
                .filter(secret_entity::Column::Id.eq(&old.id))
                .exec(db)
                .await?;
        }
        ended.push((old.id, end));
    }
    insert_secret(db, new).await?;
    Ok(ended)
}

/// Revokes a robot at `now` (final: its secrets stop working, it stays listed); false when
/// there is no such robot or it was revoked already.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let result = entity::Entity::update_many()
        .col_expr(entity::Column::RevokedAt, Expr::value(now))
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::RealmId.eq(realm_id))
        .filter(entity::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Deletes a robot and its secrets; false when there is no such robot.
pub async fn delete<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<bool, StoreError> {
    secret_entity::Entity::delete_many()
        .filter(secret_entity::Column::RobotId.eq(id))
        .exec(db)
        .await?;
    let result = entity::Entity::delete_many()
        .filter(entity::Column::Id.eq(id))
        .filter(entity::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Records when, from where and with what client a robot was last used, and which secret.
pub async fn touch<C: ConnectionTrait>(db: &C, used: RobotUse<'_>) -> Result<(), StoreError> {
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
        .filter(entity::Column::Id.eq(used.robot_id))
        .exec(db)
        .await?;
    secret_entity::Entity::update_many()
        .col_expr(secret_entity::Column::LastUsedAt, Expr::value(used.now))
        .filter(secret_entity::Column::Id.eq(used.secret_id))
        .exec(db)
        .await?;
    Ok(())
}
