//! User look-ups for sign-in, and password replacement.

use portcullis_core::model::User;
use portcullis_core::password::StoredPassword;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::{from_json, to_json};
use crate::entity::{client, credential, user_entity, user_group, user_role};
use crate::error::StoreError;

/// The credential type of passwords.
pub(crate) const PASSWORD: &str = "password";

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
    let row = credential::Entity::find()
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::CredentialType.eq(PASSWORD))
        .order_by_desc(credential::Column::CreatedAt)
        .order_by_desc(credential::Column::Id)
        .one(db)
        .await?;
    row.map(|r| from_json(&r.secret, "password credential"))
        .transpose()
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

/// Replaces every password credential of the user with `password`, atomically.
pub(crate) async fn set_password<C: TransactionTrait>(
    db: &C,
    user_id: &str,
    password: &StoredPassword,
    now_unix: i64,
) -> Result<(), StoreError> {
    let secret = to_json(password)?;
    let txn = db.begin().await?;
    let exists = user_entity::Entity::find_by_id(user_id.to_string())
        .one(&txn)
        .await?
        .is_some();
    if !exists {
        return Err(StoreError::NotFound(format!("user {user_id}")));
    }
    credential::Entity::delete_many()
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::CredentialType.eq(PASSWORD))
        .exec(&txn)
        .await?;
    let row = credential::Model {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user_id.to_string(),
        credential_type: PASSWORD.to_string(),
        user_label: None,
        secret,
        created_at: now_unix,
    };
    super::insert_all::<credential::Entity, _>(&txn, vec![row]).await?;
    txn.commit().await?;
    Ok(())
}
