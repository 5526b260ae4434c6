//! Users: search, rows, passwords, credentials, group membership and brute-force records.

use portcullis_core::password::StoredPassword;
use portcullis_core::secrets::hash_secret;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};

use super::entity::user_federated_identity;
use super::{Page, TextMatch};
use crate::entity::{
    credential, login_failure, user_attribute, user_entity, user_group, user_role,
};
use crate::error::StoreError;
use crate::queries::insert_all;
use crate::queries::user;

/// Keycloak's user search parameters. Service-account users are left out unless
/// `include_service_accounts`.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Matches username, email, first or last name.
    pub search: Option<TextMatch>,
    pub username: Option<TextMatch>,
    pub email: Option<TextMatch>,
    pub first_name: Option<TextMatch>,
    pub last_name: Option<TextMatch>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    /// `q=key:value`: the attribute must have the value (exactly, in SQL).
    pub attributes: Vec<(String, String)>,
    /// Users linked to this identity provider (and, with `idp_user_id`, that account).
    pub idp_alias: Option<String>,
    pub idp_user_id: Option<String>,
    pub include_service_accounts: bool,
}

impl UserFilter {
    fn select(&self, realm_id: &str) -> Select<user_entity::Entity> {
        use user_entity::Column as C;
        let mut select = user_entity::Entity::find().filter(C::RealmId.eq(realm_id));
        if let Some(m) = &self.search {
            select = select.filter(
                Condition::any()
                    .add(m.condition(C::Username))
                    .add(m.condition(C::Email))
                    .add(m.condition(C::FirstName))
                    .add(m.condition(C::LastName)),
            );
        }
        let columns = [
            (&self.username, C::Username),
            (&self.email, C::Email),
            (&self.first_name, C::FirstName),
            (&self.last_name, C::LastName),
        ];
        for (filter, column) in columns {
            if let Some(m) = filter {
                select = select.filter(m.condition(column));
            }
        }
        if let Some(enabled) = self.enabled {
            select = select.filter(C::Enabled.eq(enabled));
        }
        if let Some(verified) = self.email_verified {
            select = select.filter(C::EmailVerified.eq(verified));
        }
        if !self.include_service_accounts {
            select = select.filter(C::ServiceAccountClientPk.is_null());
        }
        for (name, value) in &self.attributes {
            let holders = Query::select()
                .column(user_attribute::Column::UserId)
                .from(user_attribute::Entity)
                .and_where(user_attribute::Column::Name.eq(name))
                .and_where(user_attribute::Column::ValueHash.eq(hash_secret(value)))
                .to_owned();
            select = select.filter(C::Id.in_subquery(holders));
        }
        if let Some(alias) = &self.idp_alias {
            let mut linked = Query::select()
                .column(user_federated_identity::Column::UserId)
                .from(user_federated_identity::Entity)
                .and_where(user_federated_identity::Column::IdentityProvider.eq(alias))
                .to_owned();
            if let Some(id) = &self.idp_user_id {
                linked.and_where(user_federated_identity::Column::FederatedUserId.eq(id));
            }
            select = select.filter(C::Id.in_subquery(linked));
        }
        select.order_by_asc(C::Username).order_by_asc(C::Id)
    }
}

/// Users of the realm matching `filter`, by username.
pub async fn search<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    filter: &UserFilter,
    page: Page,
) -> Result<Vec<user_entity::Model>, StoreError> {
    Ok(page.apply(filter.select(realm_id)).all(db).await?)
}

/// One page of the realm's users matching `filter`, by username, after the username `after`
/// (keyset pagination: no `OFFSET`, so the thousandth page costs what the first does).
pub async fn page_after<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    filter: &UserFilter,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user_entity::Model>, StoreError> {
    let mut select = filter.select(realm_id);
    if let Some(after) = after {
        select = select.filter(user_entity::Column::Username.gt(after));
    }
    Ok(select.limit(limit).all(db).await?)
}

/// One page of the realm's users whose username or email starts with `prefix` (any case), by
/// username after `after`. Usernames and emails are stored lowercase, so the prefix becomes two
/// index ranges instead of a scan of every user.
pub async fn page_by_prefix<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    prefix: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user_entity::Model>, StoreError> {
    use user_entity::Column as C;
    let low = prefix.trim().to_lowercase();
    // Every string starting with `low` sorts before `low` followed by the largest character, in
    // code-point order: SQLite's, and PostgreSQL's under the C / C.UTF-8 collation this server's
    // databases use.
    let high = format!("{low}\u{10FFFF}");
    let mut select = user_entity::Entity::find()
        .filter(C::RealmId.eq(realm_id))
        .filter(C::ServiceAccountClientPk.is_null())
        .filter(
            Condition::any()
                .add(
                    C::Username
                        .gte(low.as_str())
                        .and(C::Username.lt(high.as_str())),
                )
                .add(C::Email.gte(low.as_str()).and(C::Email.lt(high.as_str()))),
        );
    if let Some(after) = after {
        select = select.filter(C::Username.gt(after));
    }
    Ok(select
        .order_by_asc(C::Username)
        .limit(limit)
        .all(db)
        .await?)
}

/// Ids of the realm's users with a direct mapping to any of `role_ids` or a membership of any
/// of `group_ids`, in two indexed queries.
pub async fn holders<C: ConnectionTrait>(
    db: &C,
    role_ids: &[String],
    group_ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut ids = std::collections::HashSet::new();
    for chunk in role_ids.chunks(500) {
        let rows: Vec<String> = user_role::Entity::find()
            .select_only()
            .column(user_role::Column::UserId)
            .filter(user_role::Column::RoleId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        ids.extend(rows);
    }
    for chunk in group_ids.chunks(500) {
        let rows: Vec<String> = user_group::Entity::find()
            .select_only()
            .column(user_group::Column::UserId)
            .filter(user_group::Column::GroupId.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        ids.extend(rows);
    }
    Ok(ids)
}

/// One page of the realm's users with a direct mapping to any of `role_ids` or a membership of
/// any of `group_ids`, by username after `after` (keyset: each page costs the same).
pub async fn holders_page<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    role_ids: &[String],
    group_ids: &[String],
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user_entity::Model>, StoreError> {
    let mut any = Condition::any();
    if !role_ids.is_empty() {
        let mapped = Query::select()
            .column(user_role::Column::UserId)
            .from(user_role::Entity)
            .and_where(user_role::Column::RoleId.is_in(role_ids.iter().cloned()))
            .to_owned();
        any = any.add(user_entity::Column::Id.in_subquery(mapped));
    }
    if !group_ids.is_empty() {
        let members = Query::select()
            .column(user_group::Column::UserId)
            .from(user_group::Entity)
            .and_where(user_group::Column::GroupId.is_in(group_ids.iter().cloned()))
            .to_owned();
        any = any.add(user_entity::Column::Id.in_subquery(members));
    }
    if role_ids.is_empty() && group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(any);
    if let Some(after) = after {
        select = select.filter(user_entity::Column::Username.gt(after));
    }
    Ok(select
        .order_by_asc(user_entity::Column::Username)
        .limit(limit)
        .all(db)
        .await?)
}

/// How many users are members of any of the groups (each counted once).
pub async fn members_count<C: ConnectionTrait>(
    db: &C,
    group_ids: &[String],
) -> Result<u64, StoreError> {
    if group_ids.is_empty() {
        return Ok(0);
    }
    let members = Query::select()
        .column(user_group::Column::UserId)
        .from(user_group::Entity)
        .and_where(user_group::Column::GroupId.is_in(group_ids.iter().cloned()))
        .to_owned();
    Ok(user_entity::Entity::find()
        .filter(user_entity::Column::Id.in_subquery(members))
        .count(db)
        .await?)
}

pub async fn count<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    filter: &UserFilter,
) -> Result<u64, StoreError> {
    Ok(filter.select(realm_id).count(db).await?)
}

pub async fn find<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    id: &str,
) -> Result<Option<user_entity::Model>, StoreError> {
    Ok(user_entity::Entity::find_by_id(id.to_string())
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .one(db)
        .await?)
}

/// By username, case-insensitively (usernames are stored lowercased).
pub async fn find_by_username<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    username: &str,
) -> Result<Option<user_entity::Model>, StoreError> {
    Ok(user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::Username.eq(username.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// By email, case-insensitively.
pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    email: &str,
) -> Result<Option<user_entity::Model>, StoreError> {
    Ok(user_entity::Entity::find()
        .filter(user_entity::Column::RealmId.eq(realm_id))
        .filter(user_entity::Column::Email.eq(email.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// Inserts a user, with the attribute rows attribute search uses.
pub async fn insert<C: ConnectionTrait>(db: &C, row: user_entity::Model) -> Result<(), StoreError> {
    insert_all::<user_entity::Entity, _>(db, vec![row.clone()]).await?;
    crate::queries::user_attribute::sync(db, &row).await
}

/// Grants a new user the realm's default role (Keycloak's `default-roles-<realm>`), as
/// Keycloak does for users created through the admin API, a first broker login or a service
/// account; realm and partial imports give users only the mappings they list.
pub async fn grant_default_role<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    let default_role = crate::entity::realm::Entity::find_by_id(realm_id.to_string())
        .one(db)
        .await?
        .and_then(|realm| realm.default_role_id);
    let Some(role_id) = default_role else {
        return Ok(());
    };
    // The role may have been deleted underneath a stale id: grant only one that exists.
    if crate::entity::role::Entity::find_by_id(role_id.clone())
        .one(db)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let held = user_role::Entity::find_by_id((user_id.to_string(), role_id.clone()))
        .one(db)
        .await?;
    if held.is_none() {
        insert_all::<user_role::Entity, _>(
            db,
            vec![user_role::Model {
                user_id: user_id.to_string(),
                role_id,
            }],
        )
        .await?;
    }
    Ok(())
}

/// Writes every column of `row` (by its id), and its attribute rows.
pub async fn update<C: ConnectionTrait>(db: &C, row: user_entity::Model) -> Result<(), StoreError> {
    crate::queries::user_attribute::sync(db, &row).await?;
    row.into_active_model().reset_all().update(db).await?;
    Ok(())
}

/// Deletes a user with their credentials, mappings, memberships, sessions and tokens.
pub async fn delete<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), StoreError> {
    user_entity::Entity::delete_by_id(id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

/// Sets a new password for the user. The replaced one is kept as a `password-history`
/// credential as far as the `passwordHistory` clause of the user's realm asks, and history
/// beyond that is deleted.
pub async fn set_password<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    password: &StoredPassword,
    now_unix: i64,
) -> Result<(), StoreError> {
    let depth = user::history_depth_of_user(db, user_id).await?;
    user::replace_password(db, user_id, password, now_unix, user::History::Keep(depth)).await
}

/// The user's credentials, oldest first.
pub async fn credentials<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<credential::Model>, StoreError> {
    Ok(credential::Entity::find()
        .filter(credential::Column::UserId.eq(user_id))
        .order_by_asc(credential::Column::CreatedAt)
        .order_by_asc(credential::Column::Id)
        .all(db)
        .await?)
}

/// Deletes one credential of the user; false if the user has no such credential.
pub async fn delete_credential<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    credential_id: &str,
) -> Result<bool, StoreError> {
    let result = credential::Entity::delete_many()
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::Id.eq(credential_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Ids of the groups the user is a direct member of.
pub async fn group_ids<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(user_group::Entity::find()
        .select_only()
        .column(user_group::Column::GroupId)
        .filter(user_group::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Makes the user a member of the group; a no-op if they are one.
pub async fn join_group<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    group_id: &str,
) -> Result<(), StoreError> {
    let exists = user_group::Entity::find_by_id((user_id.to_string(), group_id.to_string()))
        .one(db)
        .await?
        .is_some();
    if !exists {
        let row = user_group::Model {
            user_id: user_id.to_string(),
            group_id: group_id.to_string(),
        };
        insert_all::<user_group::Entity, _>(db, vec![row]).await?;
    }
    Ok(())
}

/// Ends the membership; false if there was none.
pub async fn leave_group<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    group_id: &str,
) -> Result<bool, StoreError> {
    let result = user_group::Entity::delete_many()
        .filter(user_group::Column::UserId.eq(user_id))
        .filter(user_group::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Direct members of a group, by username.
pub async fn group_members<C: ConnectionTrait>(
    db: &C,
    group_id: &str,
    page: Page,
) -> Result<Vec<user_entity::Model>, StoreError> {
    let members = Query::select()
        .column(user_group::Column::UserId)
        .from(user_group::Entity)
        .and_where(user_group::Column::GroupId.eq(group_id))
        .to_owned();
    let select = user_entity::Entity::find()
        .filter(user_entity::Column::Id.in_subquery(members))
        .order_by_asc(user_entity::Column::Username);
    Ok(page.apply(select).all(db).await?)
}

/// Users with a direct mapping to the role, by username.
pub async fn with_role<C: ConnectionTrait>(
    db: &C,
    role_id: &str,
    page: Page,
) -> Result<Vec<user_entity::Model>, StoreError> {
    let holders = Query::select()
        .column(user_role::Column::UserId)
        .from(user_role::Entity)
        .and_where(user_role::Column::RoleId.eq(role_id))
        .to_owned();
    let select = user_entity::Entity::find()
        .filter(user_entity::Column::Id.in_subquery(holders))
        .order_by_asc(user_entity::Column::Username);
    Ok(page.apply(select).all(db).await?)
}

/// Forgets every brute-force record of the realm (Keycloak's "unlock all users").
pub async fn clear_all_login_failures<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<(), StoreError> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets the user's brute-force record.
pub async fn clear_login_failures<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user_id: &str,
) -> Result<(), StoreError> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::RealmId.eq(realm_id))
        .filter(login_failure::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every credential the user holds (sessions, refresh and offline tokens, docker logins)
/// and moves the user's `notBefore` to `now`, so that no token issued before lives on.
pub async fn end_everything(
    db: &sea_orm::DatabaseTransaction,
    realm_id: &str,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    crate::queries::sign_out::end_everything(db, realm_id, user_id, now).await
}

/// Ends the user's other sessions, their refresh and offline tokens and docker logins, keeping
/// the session `keep` (and its online tokens) and the user's app passwords; returns how many
/// sessions it ended.
pub async fn end_other_sign_ins(
    db: &sea_orm::DatabaseTransaction,
    realm_id: &str,
    user_id: &str,
    keep: &str,
) -> Result<u64, StoreError> {
    crate::queries::sign_out::end_other_sign_ins(db, realm_id, user_id, keep).await
}

/// Revokes every live app password of the user (at `now`); returns how many.
pub async fn revoke_app_passwords(
    db: &sea_orm::DatabaseTransaction,
    realm_id: &str,
    user_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    crate::queries::app_password::revoke_for_user(db, realm_id, user_id, now).await
}

/// Ends one SSO session and revokes its online refresh tokens.
pub async fn end_session(db: &sea_orm::DatabaseTransaction, id: &str) -> Result<(), StoreError> {
    crate::queries::session::end_session(db, id).await
}

/// Ends the user's sessions and revokes their online refresh tokens; returns how many sessions
/// were live.
pub async fn end_sessions(
    db: &sea_orm::DatabaseTransaction,
    realm_id: &str,
    user_id: &str,
) -> Result<u64, StoreError> {
    crate::queries::session::end_sessions(db, realm_id, user_id).await
}

/// Sets (or with `None` clears) the label of one credential of the user; false if the user has
/// no such credential.
pub async fn set_credential_label<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    credential_id: &str,
    label: Option<&str>,
) -> Result<bool, StoreError> {
    use sea_orm::sea_query::Expr;
    let result = credential::Entity::update_many()
        .col_expr(
            credential::Column::UserLabel,
            Expr::value(label.map(str::to_string)),
        )
        .filter(credential::Column::UserId.eq(user_id))
        .filter(credential::Column::Id.eq(credential_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}
