//! User look-ups for sign-in, and password replacement.

use portcullis_core::model::User;
use portcullis_core::password::{PasswordHistory, PasswordPolicy, StoredPassword};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::{from_json, to_json};
use crate::entity::{client, credential, realm, user_entity, user_group, user_role};
use crate::error::StoreError;

/// The credential type of passwords.
pub(crate) const PASSWORD: &str = "password";
/// The credential type of replaced passwords kept for `passwordHistory` (Keycloak's name).
pub(crate) const PASSWORD_HISTORY: &str = "password-history";

/// Usernames are stored lowercased, so look-ups lowercase too.
pub(crate) fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

pub(crate) async fn find_by_username<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    username: &str,
) -> Result<Option<(User, Option<StoredPassword>)>, StoreError> {
    let row = user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::Username.eq(normalize_username(username)))
        .one(db)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let password = password_of(db, &row.id).await?;
    Ok(Some((to_domain(db, row).await?, password)))
}

pub(crate) async fn find_by_id<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<Option<User>, StoreError> {
    let row = user_entity::Entity::find_by_id(user_id.to_string())
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .one(db)
        .await?;
    match row {
        Some(row) => Ok(Some(to_domain(db, row).await?)),
        None => Ok(None),
    }
}

/// The user linked to the client `client_id` (by its internal id) as its service account.
pub(crate) async fn find_service_account<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    client_id: &str,
) -> Result<Option<User>, StoreError> {
    let Some(client) = client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let row = user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::ServiceAccountClientPk.eq(&client.id))
        .one(db)
        .await?;
    match row {
        Some(row) => Ok(Some(to_domain(db, row).await?)),
        None => Ok(None),
    }
}

/// The newest password credential of a user.
async fn password_of<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Option<StoredPassword>, StoreError> {
    let row = newest_first(db, user_id, PASSWORD)
        .await?
        .into_iter()
        .next();
    row.map(|r| from_json(&r.secret, "password credential"))
        .transpose()
}

/// The user's credentials of one type, newest first.
async fn newest_first<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    credential_type: &str,
) -> Result<Vec<credential::Model>, StoreError> {
    Ok(credential::Entity::find()
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::CredentialType.eq(credential_type))
        .order_by_desc(credential::Column::CreatedAt)
        .order_by_desc(credential::Column::Id)
        .all(db)
        .await?)
}

/// The user's current password and their `password-history` hashes, newest first: what
/// [`portcullis_core::password::PasswordRules::check_history`] checks a new password against.
pub(crate) async fn password_history<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<PasswordHistory, StoreError> {
    let previous = newest_first(db, user_id, PASSWORD_HISTORY)
        .await?
        .iter()
        .map(|row| from_json(&row.secret, "password-history credential"))
        .collect::<Result<Vec<StoredPassword>, StoreError>>()?;
    Ok(PasswordHistory {
        current: password_of(db, user_id).await?,
        previous,
    })
}

async fn to_domain<C: ConnectionTrait>(
    db: &C,
    row: user_entity::Model,
) -> Result<User, StoreError> {
    let role_ids: Vec<String> = user_role::Entity::find()
        .select_only()
        .column(user_role::Column::RoleId)
        .filter(user_role::Column::UserId.eq(&row.id))
        .order_by_asc(user_role::Column::RoleId)
        .into_tuple()
        .all(db)
        .await?;
    let group_ids: Vec<String> = user_group::Entity::find()
        .select_only()
        .column(user_group::Column::GroupId)
        .filter(user_group::Column::UserId.eq(&row.id))
        .order_by_asc(user_group::Column::GroupId)
        .into_tuple()
        .all(db)
        .await?;
    let service_account_client_id = match &row.service_account_client_pk {
        Some(pk) => {
            client::Entity::find_by_id(pk.clone())
                .select_only()
                .column(client::Column::ClientId)
                .into_tuple::<String>()
                .one(db)
                .await?
        }
        None => None,
    };
    Ok(User {
        attributes: from_json(&row.attributes, "user attributes")?,
        id: row.id,
        username: row.username,
        email: row.email,
        first_name: row.first_name,
        last_name: row.last_name,
        enabled: row.enabled,
        role_ids,
        group_ids,
        email_verified: row.email_verified,
        created_at: row.created_at,
        service_account_client_id,
        not_before: row.not_before,
        required_actions: from_json(&row.required_actions, "required actions")?,
    })
}

/// What replacing a user's password does to their `password-history` credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum History {
    /// A new hash of the same password (the re-hash after a login): the credential keeps its
    /// id, label and creation time, and the history is left as it is.
    Rehash,
    /// A new password: the replaced one is kept as a `password-history` credential and, newest
    /// first, at most this many of those remain (0 keeps none and deletes any there are), as
    /// Keycloak's `PasswordCredentialProvider` does for `passwordHistory(depth + 1)`.
    Keep(usize),
}

/// Replaces every password credential of the user with `password`, atomically; `NotFound` when
/// there is no such user.
pub(crate) async fn set_password<C: TransactionTrait>(
    db: &C,
    user_id: &str,
    password: &StoredPassword,
    now_unix: i64,
    history: History,
) -> Result<(), StoreError> {
    let txn = crate::transaction::begin_write(db).await?;
    let exists = user_entity::Entity::find_by_id(user_id.to_string())
        .one(&txn)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    replace_password(&txn, user_id, password, now_unix, history).await?;
    txn.commit().await?;
    Ok(())
}

/// The one way a password is replaced, for sign-in re-hashing and for the admin API alike; see
/// [`History`]. Run it in a transaction.
///
/// History rows keep the creation time of the password they held, as Keycloak's do. Two
/// passwords set within the same second would tie, so a new history row is dated at least a
/// second after the newest one: newest first stays a strict order.
pub(crate) async fn replace_password<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    password: &StoredPassword,
    now_unix: i64,
    history: History,
) -> Result<(), StoreError> {
    let replaced = newest_first(db, user_id, PASSWORD)
        .await?
        .into_iter()
        .next();
    credential::Entity::delete_many()
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::CredentialType.eq(PASSWORD))
        .exec(db)
        .await?;
    let row = match (&replaced, history) {
        (Some(old), History::Rehash) => credential::Model {
            secret: to_json(password)?,
            ..old.clone()
        },
        _ => credential::Model {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_string(),
            credential_type: PASSWORD.to_string(),
            user_label: None,
            secret: to_json(password)?,
            created_at: now_unix,
        },
    };
    super::insert_all::<credential::Entity, _>(db, vec![row]).await?;
    if let History::Keep(depth) = history {
        keep_history(db, user_id, replaced, depth).await?;
    }
    Ok(())
}

/// Adds the replaced password to the user's history and trims it to `depth` rows.
async fn keep_history<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    replaced: Option<credential::Model>,
    depth: usize,
) -> Result<(), StoreError> {
    let mut rows = newest_first(db, user_id, PASSWORD_HISTORY).await?;
    if depth > 0
        && let Some(old) = replaced
    {
        let after_newest = rows
            .first()
            .map_or(i64::MIN, |r| r.created_at.saturating_add(1));
        let row = credential::Model {
            id: uuid::Uuid::new_v4().to_string(),
            credential_type: PASSWORD_HISTORY.to_string(),
            user_label: None,
            created_at: old.created_at.max(after_newest),
            ..old
        };
        super::insert_all::<credential::Entity, _>(db, vec![row.clone()]).await?;
        rows.insert(0, row);
    }
    let surplus: Vec<String> = rows.into_iter().skip(depth).map(|r| r.id).collect();
    if !surplus.is_empty() {
        credential::Entity::delete_many()
            .filter(credential::Column::UserId.eq(user_id))
            .filter(credential::Column::Id.is_in(surplus))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// How many replaced passwords the policy of the user's realm keeps (0 without a user).
pub(crate) async fn history_depth_of_user<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<usize, StoreError> {
    let realm_id: Option<String> = user_entity::Entity::find_by_id(user_id.to_string())
        .select_only()
        .column(user_entity::Column::RealmId)
        .into_tuple()
        .one(db)
        .await?;
    let Some(realm_id) = realm_id else {
        return Ok(0);
    };
    let policy: Option<Option<String>> = realm::Entity::find_by_id(realm_id)
        .select_only()
        .column(realm::Column::PasswordPolicy)
        .into_tuple()
        .one(db)
        .await?;
    Ok(policy
        .flatten()
        .map_or(0, |p| PasswordPolicy::from_keycloak(&p).history_depth()))
}

/// Removes a completed required action from the user; whether it was pending.
pub(crate) async fn complete_required_action<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
    action: &str,
) -> Result<bool, StoreError> {
    let Some(row) = user_entity::Entity::find_by_id(user_id.to_string())
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .one(db)
        .await?
    else {
        return Ok(false);
    };
    let mut actions: Vec<String> = from_json(&row.required_actions, "required actions")?;
    let before = actions.len();
    actions.retain(|a| a != action);
    if actions.len() == before {
        return Ok(false);
    }
    user_entity::Entity::update_many()
        .col_expr(
            user_entity::Column::RequiredActions,
            sea_orm::sea_query::Expr::value(to_json(&actions)?),
        )
        .filter(user_entity::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(true)
}

/// Marks the user's e-mail address verified.
pub(crate) async fn mark_email_verified<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    user_entity::Entity::update_many()
        .col_expr(
            user_entity::Column::EmailVerified,
            sea_orm::sea_query::Expr::value(true),
        )
        .filter(user_entity::Column::Id.eq(user_id))
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    Ok(())
}
