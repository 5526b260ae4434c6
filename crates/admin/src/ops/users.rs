//! Users: create, search a page, reset a password, enable or disable, join or leave a group.

use portcullis_core::password::{PasswordPolicy, PolicySubject, StoredPassword};
use portcullis_store::UserSession;
use portcullis_store::admin::users::UserFilter;
use portcullis_store::admin::{self, TextMatch, grants};
use portcullis_store::entity::{docker_refresh_token, realm, user_entity};
use portcullis_store::representation::CredentialRepresentation;
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::lookup::{Db, conflict_on_duplicate, find_group, find_user};
use super::{Ops, user_profile};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;
use crate::rep::group::GroupTree;
use crate::rep::user::{UPDATE_PASSWORD, UserFields};

/// A password given to a new or existing user.
#[derive(Debug, Clone)]
pub enum PasswordInput {
    /// A plain password: checked against the realm's policy and hashed.
    Plain { value: String, temporary: bool },
    /// A hash imported as Keycloak stores it.
    Stored {
        password: StoredPassword,
        temporary: bool,
    },
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Keycloak lets the caller choose the id; a new one otherwise.
    pub id: Option<String>,
    pub fields: UserFields,
    /// Group paths the user joins.
    pub groups: Vec<String>,
    pub password: Option<PasswordInput>,
    /// Representation fields this server keeps without modelling them.
    pub extras: Map<String, Value>,
}

/// Creates a user (`manage-users`); returns its id. A username or email another user of the
/// realm has is a conflict; a password must satisfy the realm's policy.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    new: NewUser,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    new.fields.validate()?;
    let username = new
        .fields
        .username
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| AdminError::InvalidField {
            field: "username",
            message: "error-user-attribute-required",
            params: vec!["username".into()],
        })?;
    let id = match new.id {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let mut user = user_entity::Model {
        id: id.clone(),
        realm_id: realm_row.id.clone(),
        username,
        email: None,
        email_verified: false,
        first_name: None,
        last_name: None,
        // Keycloak creates users disabled unless told otherwise.
        enabled: false,
        attributes: "{}".into(),
        created_at: ops.state.now(),
        service_account_client_pk: None,
        not_before: 0,
        required_actions: "[]".into(),
    };
    new.fields.apply(&mut user)?;
    let db = ops.state.store().connection();
    user_profile::of_realm(db, &realm_row.id)
        .await?
        .enforce(None, &mut user)?;
    check_not_robot_name(&user.username)?;
    let password = match new.password {
        Some(input) => Some(hashed(ops, &realm_row, &user, false, input).await?),
        None => None,
    };
    if let Some((_, temporary)) = &password {
        rep::user::set_required_action(&mut user, UPDATE_PASSWORD, *temporary)?;
    }
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    check_unique(change.db(), &realm_row.id, &user).await?;
    let mut group_ids = Vec::new();
    let tree = match new.groups.is_empty() {
        true => GroupTree::new(Vec::new()),
        false => GroupTree::new(admin::groups::all(change.db(), &realm_row.id).await?),
    };
    for path in &new.groups {
        let group = tree
            .by_path(path)
            .ok_or_else(|| AdminError::BadRequest(format!("Group {path} not found")))?;
        group_ids.push(group.id.clone());
    }
    admin::users::insert(change.db(), user.clone())
        .await
        .map_err(conflict_on_duplicate(AdminError::Conflict(
            "User exists with same username".into(),
        )))?;
    for group_id in &group_ids {
        admin::users::join_group(change.db(), &id, group_id).await?;
    }
    admin::realm_settings::apply_new_user_defaults(change.db(), &realm_row.id, &mut user).await?;
    if let Some((password, _)) = password {
        admin::users::set_password(change.db(), &id, &password, ops.state.now()).await?;
    }
    admin::extras::set(change.db(), &realm_row.id, &id, &new.extras).await?;
    change.record(Event::new(Op::Create, "USER", format!("users/{id}")).with(representation));
    change.commit().await?;
    Ok(id)
}

/// A password input, hashed under the realm's policy where it is plain.
async fn hashed(
    ops: Ops<'_>,
    realm: &portcullis_store::entity::realm::Model,
    user: &user_entity::Model,
    existing: bool,
    input: PasswordInput,
) -> Result<(StoredPassword, bool), AdminError> {
    match input {
        PasswordInput::Stored {
            password,
            temporary,
        } => Ok((password, temporary)),
        PasswordInput::Plain { value, temporary } => {
            let owner = PasswordOwner::of(user, existing);
            let password = new_password(ops.state, &policy_of(realm), &value, owner).await?;
            Ok((password, temporary))
        }
    }
}

/// Changes to an existing user: the fields the body carries (the others keep their values).
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub fields: UserFields,
    /// A new password, replacing the old one.
    pub password: Option<PasswordInput>,
    /// Representation fields this server keeps without modelling them, merged into the stored
    /// ones.
    pub extras: Map<String, Value>,
}

/// Updates a user's profile (`manage-users`, and every right the user holds). A username or
/// email another user of the realm has is a conflict; a new password must satisfy the realm's
/// policy. Disabling the user or replacing the password ends every credential issued before, so
/// re-enabling the user later revives none of them.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    update: UserUpdate,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    update_authorized(ops, realm_row, user_id, update, representation).await
}

/// [`update`] of a user the caller may act for (checked by the caller).
pub(crate) async fn update_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    update: UserUpdate,
    representation: Value,
) -> Result<(), AdminError> {
    let fields = update.fields;
    // Checked and hashed before the transaction, so the write lock is not held meanwhile.
    let db = ops.state.store().connection();
    let profile = user_profile::of_realm(db, &realm_row.id).await?;
    let mut updated = find_user(db, &realm_row.id, user_id).await?;
    let old = updated.clone();
    let old_username = updated.username.clone();
    fields.apply(&mut updated)?;
    profile.enforce(Some(&old), &mut updated)?;
    if updated.username != old_username {
        check_not_robot_name(&updated.username)?;
    }
    let password = match update.password {
        Some(input) => Some(hashed(ops, &realm_row, &updated, true, input).await?),
        None => None,
    };
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let mut user = find_user(change.db(), &realm_row.id, user_id).await?;
    let was_enabled = user.enabled;
    let before = user.clone();
    fields.apply(&mut user)?;
    // Again on the row read in the transaction: a concurrent change may have moved the values
    // the first check kept.
    profile.enforce(Some(&before), &mut user)?;
    if let Some((_, temporary)) = &password {
        rep::user::set_required_action(&mut user, UPDATE_PASSWORD, *temporary)?;
    }
    check_unique(change.db(), &realm_row.id, &user).await?;
    let ends_credentials = (was_enabled && !user.enabled) || password.is_some();
    admin::users::update(change.db(), user)
        .await
        .map_err(conflict_on_duplicate(AdminError::Conflict(
            "User exists with same username".into(),
        )))?;
    let stored = admin::extras::get(change.db(), user_id).await?;
    let extras = rep::merge_extras(stored, &update.extras);
    let now = ops.state.now();
    if let Some((password, _)) = password {
        admin::users::set_password(change.db(), user_id, &password, now).await?;
    }
    if ends_credentials {
        admin::users::end_everything(change.db(), &realm_row.id, user_id, now).await?;
    }
    admin::extras::set(change.db(), &realm_row.id, user_id, &extras).await?;
    change.user_changed(user_id);
    change.record(Event::new(Op::Update, "USER", format!("users/{user_id}")).with(representation));
    change.commit().await
}

/// Sets a user's password (`manage-users`, and every right the user holds): a temporary one
/// asks for a new one at the next login. Every session, token and docker login of the user
/// ends.
pub async fn reset_password(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    value: String,
    temporary: bool,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    if value.is_empty() {
        return Err(AdminError::InvalidRequest {
            error: "invalid_request",
            description: "No password provided".into(),
        });
    }
    // Looked up before the hash, so an unknown user costs no CPU.
    let user = find_user(ops.state.store().connection(), &realm_row.id, user_id).await?;
    let input = PasswordInput::Plain { value, temporary };
    let (password, temporary) = hashed(ops, &realm_row, &user, true, input).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let mut user = find_user(change.db(), &realm_row.id, user_id).await?;
    let now = ops.state.now();
    admin::users::set_password(change.db(), user_id, &password, now).await?;
    // As in Keycloak, a temporary password asks for a new one at the next login and a
    // permanent one takes that request back.
    rep::user::set_required_action(&mut user, UPDATE_PASSWORD, temporary)?;
    admin::users::update(change.db(), user).await?;
    admin::users::end_everything(change.db(), &realm_row.id, user_id, now).await?;
    change.user_changed(user_id);
    let path = format!("users/{user_id}/reset-password");
    change.record(Event::new(Op::Action, "USER", path));
    change.commit().await
}

/// A credential of a user, as an admin sees it: metadata, never the hash or salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialInfo {
    pub id: String,
    /// `password`.
    pub kind: String,
    pub label: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Keycloak's `credentialData` (the algorithm and its parameters); empty when the stored
    /// secret is not one this server reads.
    pub data: String,
}

/// The user's credentials, oldest first (`view-users`).
pub async fn credentials(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<CredentialInfo>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    Ok(admin::users::credentials(db, user_id)
        .await?
        .into_iter()
        .map(|c| CredentialInfo {
            data: serde_json::from_str::<StoredPassword>(&c.secret)
                .map(|p| p.to_keycloak().1)
                .unwrap_or_default(),
            id: c.id,
            kind: c.credential_type,
            label: c.user_label,
            created_at: c.created_at,
        })
        .collect())
}

/// Deletes one credential of the user (`manage-users`, and every right the user holds).
pub async fn delete_credential(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    credential_id: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    if !admin::users::delete_credential(change.db(), user_id, credential_id).await? {
        return Err(AdminError::not_found("Credential not found"));
    }
    change.user_changed(user_id);
    let path = format!("users/{user_id}/credentials/{credential_id}");
    change.record(Event::new(Op::Action, "USER", path));
    change.commit().await
}

/// Enables or disables a user (`manage-users`, and every right the user holds). Disabling ends
/// every credential issued before, so enabling later revives none of them.
pub async fn set_enabled(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    enabled: bool,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let mut user = find_user(change.db(), &realm_row.id, user_id).await?;
    let was_enabled = user.enabled;
    user.enabled = enabled;
    admin::users::update(change.db(), user).await?;
    if was_enabled && !enabled {
        admin::users::end_everything(change.db(), &realm_row.id, user_id, ops.state.now()).await?;
    }
    change.user_changed(user_id);
    let event = Event::new(Op::Update, "USER", format!("users/{user_id}"));
    change.record(event.with(json!({ "enabled": enabled })));
    change.commit().await
}

/// Puts a user in a group or takes them out (`manage-users`); the rights check in [`Change`]
/// refuses a membership that moves admin rights the caller lacks.
pub async fn membership(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    group_id: &str,
    join: bool,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    let group = find_group(change.db(), &realm_row.id, group_id).await?;
    let op = if join {
        admin::users::join_group(change.db(), user_id, group_id).await?;
        Op::Create
    } else {
        admin::users::leave_group(change.db(), user_id, group_id).await?;
        Op::Delete
    };
    let path = format!("users/{user_id}/groups/{group_id}");
    let rep = json!({"id": group.id, "name": group.name});
    change.user_changed(user_id);
    change.record(Event::new(op, "GROUP_MEMBERSHIP", path).with(rep));
    change.commit().await
}

/// One page of users (`query-users`): those whose username or email starts with `query`
/// (everyone for an empty one), by username, after `after`, at most `limit`.
pub async fn page(
    ops: Ops<'_>,
    realm: &str,
    query: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryUsers).await?;
    let query = query.trim();
    let db = ops.state.store().connection();
    // A plain prefix (the common search) reads two index ranges; quotes and `*` keep
    // Keycloak's exact and wildcard meanings.
    if !query.is_empty() && !query.contains(['*', '"']) {
        return Ok(admin::users::page_by_prefix(db, &realm_row.id, query, after, limit).await?);
    }
    let filter = UserFilter {
        search: (!query.is_empty()).then(|| TextMatch::keycloak_search(query)),
        ..UserFilter::default()
    };
    Ok(admin::users::page_after(db, &realm_row.id, &filter, after, limit).await?)
}

/// Keycloak's user search (`GET users`, `GET users/count`).
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    /// `search`: username, email, first or last name; `*` is a wildcard, a quoted value is
    /// exact, anything else matches as a prefix.
    pub search: Option<String>,
    /// `exact`: `search` and the field filters must match whole values, not parts.
    pub exact: bool,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    /// `q`: attribute `key:value` pairs, all of which must hold.
    pub attributes: Vec<(String, String)>,
    pub idp_alias: Option<String>,
    pub idp_user_id: Option<String>,
    /// `briefRepresentation`: without attributes and the like.
    pub brief: bool,
    /// `first`: users to skip (ignored by [`count`]).
    pub first: u64,
    /// `max`: at most this many (ignored by [`count`]).
    pub max: Option<u64>,
}

impl UserQuery {
    /// The store's filter. Service accounts are found only by the field filters, as in
    /// Keycloak.
    fn filter(&self) -> UserFilter {
        let exact = self.exact;
        let field = |value: &Option<String>| {
            value.as_ref().map(|v| match exact {
                true => TextMatch::Exact(v.clone()),
                false => TextMatch::Contains(v.clone()),
            })
        };
        let search = self.search.as_ref().map(|s| match exact {
            true => TextMatch::Exact(s.clone()),
            false => TextMatch::keycloak_search(s),
        });
        let mut filter = UserFilter {
            search,
            username: field(&self.username),
            email: field(&self.email),
            first_name: field(&self.first_name),
            last_name: field(&self.last_name),
            enabled: self.enabled,
            email_verified: self.email_verified,
            attributes: self.attributes.clone(),
            idp_alias: self.idp_alias.clone(),
            idp_user_id: self.idp_user_id.clone(),
            include_service_accounts: false,
        };
        filter.include_service_accounts = filter.search.is_none()
            && (filter.username.is_some() || filter.email.is_some() || filter.idp_alias.is_some());
        filter
    }
}

/// The users matching `query`, a page of them (`query-users`).
pub async fn search(
    ops: Ops<'_>,
    realm: &str,
    query: &UserQuery,
) -> Result<Vec<user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryUsers).await?;
    let page = admin::Page {
        first: query.first,
        max: query.max,
    };
    let db = ops.state.store().connection();
    Ok(admin::users::search(db, &realm_row.id, &query.filter(), page).await?)
}

/// How many users match `query`, paging aside (`query-users`).
pub async fn count(ops: Ops<'_>, realm: &str, query: &UserQuery) -> Result<u64, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryUsers).await?;
    let db = ops.state.store().connection();
    Ok(admin::users::count(db, &realm_row.id, &query.filter()).await?)
}

/// Deletes a user (`manage-users`, and every right the user holds).
pub async fn delete(ops: Ops<'_>, realm: &str, user_id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let user = find_user(change.db(), &realm_row.id, user_id).await?;
    admin::users::delete(change.db(), &user.id).await?;
    admin::extras::delete(change.db(), &user.id).await?;
    change.user_changed(user_id);
    change.record(Event::new(Op::Delete, "USER", format!("users/{user_id}")));
    change.commit().await
}

/// The user's live SSO sessions (`view-users`), oldest first.
pub async fn sessions(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<UserSession>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    find_user(ops.state.store().connection(), &realm_row.id, user_id).await?;
    let now = ops.state.now();
    Ok(ops
        .state
        .store()
        .list_user_sessions(&realm_row.id, user_id)
        .await?
        .into_iter()
        .filter(|s| {
            !s.ended
                && now - s.last_seen_at <= realm_row.sso_session_idle_timeout
                && now - s.created_at <= realm_row.sso_session_max_lifespan
        })
        .collect())
}

/// Ends one SSO session of the user and its online tokens (`manage-users`, and every right the
/// user holds).
pub async fn end_session(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    session_id: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    end_session_authorized(ops, realm_row, user_id, session_id).await
}

/// [`end_session`] for a user the caller may act for (checked by the caller): a session of
/// another user is 404, as an unknown one.
pub(crate) async fn end_session_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    session_id: &str,
) -> Result<(), AdminError> {
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    ops.state
        .store()
        .find_user_session(session_id)
        .await?
        .filter(|s| s.realm_id == realm_row.id && s.user_id == user_id && !s.ended)
        .ok_or_else(|| AdminError::not_found("Sesssion not found"))?;
    admin::users::end_session(change.db(), session_id).await?;
    change.user_changed(user_id);
    let event = Event::new(Op::Delete, "USER_SESSION", format!("sessions/{session_id}"));
    change.record(event.with(json!({"offline": false})));
    change.commit().await
}

/// Signs the user out everywhere (`manage-users`): ends every session, refresh and offline
/// token and docker login, and every access token issued before now (the user's `notBefore`).
pub async fn logout(ops: Ops<'_>, realm: &str, user_id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    admin::users::end_everything(change.db(), &realm_row.id, user_id, ops.state.now()).await?;
    change.user_changed(user_id);
    change.record(Event::new(
        Op::Action,
        "USER",
        format!("users/{user_id}/logout"),
    ));
    change.commit().await
}

/// The user's live docker logins (identity tokens), every registry, oldest first
/// (`view-users`).
pub async fn docker_logins(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<docker_refresh_token::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    let now = ops.state.now();
    Ok(grants::docker_logins(db, &realm_row.id, Some(user_id), None, now).await?)
}

/// A user's brute-force status, as Keycloak reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BruteForce {
    pub failures: i64,
    pub locked: bool,
    pub last_ip: Option<String>,
    /// Unix milliseconds; 0 without failures.
    pub last_failure_ms: i64,
}

/// The user's brute-force status (`view-users`).
pub async fn brute_force(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<BruteForce, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    find_user(ops.state.store().connection(), &realm_row.id, user_id).await?;
    let record = ops
        .state
        .store()
        .login_failures(&realm_row.id, user_id)
        .await?;
    let now = ops.state.now();
    Ok(record.map_or_else(BruteForce::default, |r| BruteForce {
        failures: r.record.failures,
        locked: r.record.is_locked(now),
        last_ip: r.last_ip,
        last_failure_ms: r.record.last_failure_ms,
    }))
}

/// Forgets the user's login failures, unlocking them (`manage-users`).
pub async fn unlock(ops: Ops<'_>, realm: &str, user_id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    admin::users::clear_login_failures(change.db(), &realm_row.id, user_id).await?;
    change.user_changed(user_id);
    let path = format!("attack-detection/brute-force/users/{user_id}");
    change.record(Event::new(Op::Delete, "USER_LOGIN_FAILURE", path));
    change.commit().await
}

/// The user (`view-users`).
pub async fn get(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<user_entity::Model, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    find_user(ops.state.store().connection(), &realm_row.id, user_id).await
}

/// The user with this username (any case), if there is one (`view-users`).
pub async fn by_username(
    ops: Ops<'_>,
    realm: &str,
    username: &str,
) -> Result<Option<user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    let username = username.trim().to_lowercase();
    Ok(admin::users::find_by_username(db, &realm_row.id, &username).await?)
}

/// The ids of the groups the user is a direct member of (`view-users`).
pub async fn group_ids(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<String>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    Ok(admin::users::group_ids(db, user_id).await?)
}

/// Clears every user's login failures in the realm (`manage-users`).
pub async fn unlock_all(ops: Ops<'_>, realm: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    admin::users::clear_all_login_failures(change.db(), &realm_row.id).await?;
    let path = "attack-detection/brute-force/users";
    change.record(Event::new(Op::Delete, "USER_LOGIN_FAILURE", path));
    change.commit().await
}

/// A password from a credential representation, hashed: a plain `value` (under the realm's
/// policy) or Keycloak's stored `secretData` + `credentialData`.
pub struct NewPassword {
    pub password: StoredPassword,
    pub temporary: bool,
}

/// Who a new password is for: the policy's `notUsername`, `notEmail` and `passwordHistory`
/// clauses look at these (`user_id` only for a user that exists already).
#[derive(Debug, Clone, Copy)]
pub struct PasswordOwner<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
    pub user_id: Option<&'a str>,
}

impl<'a> PasswordOwner<'a> {
    pub fn of(row: &'a user_entity::Model, existing: bool) -> Self {
        Self {
            username: &row.username,
            email: row.email.as_deref(),
            user_id: existing.then_some(row.id.as_str()),
        }
    }
}

/// The password among a user body's credentials, unhashed; at most one.
pub fn password_input(
    credentials: &[CredentialRepresentation],
) -> Result<Option<PasswordInput>, AdminError> {
    let mut found = None;
    for credential in credentials {
        if let Some(password) = password_of(credential)? {
            if found.is_some() {
                return Err(AdminError::BadRequest(
                    "A user can have only one password".into(),
                ));
            }
            found = Some(password);
        }
    }
    Ok(found)
}

/// Reads the password credentials of a user body (at most one) and hashes a plain one under
/// the realm's policy.
pub async fn passwords_in(
    state: &AppState,
    credentials: &[CredentialRepresentation],
    policy: &PasswordPolicy,
    owner: PasswordOwner<'_>,
) -> Result<Option<NewPassword>, AdminError> {
    Ok(match password_input(credentials)? {
        None => None,
        Some(PasswordInput::Stored {
            password,
            temporary,
        }) => Some(NewPassword {
            password,
            temporary,
        }),
        Some(PasswordInput::Plain { value, temporary }) => Some(NewPassword {
            password: new_password(state, policy, &value, owner).await?,
            temporary,
        }),
    })
}

fn password_of(credential: &CredentialRepresentation) -> Result<Option<PasswordInput>, AdminError> {
    if credential
        .credential_type
        .as_deref()
        .is_some_and(|t| t != "password")
    {
        return Ok(None);
    }
    let temporary = credential.temporary.unwrap_or(false);
    let stored = (
        credential.secret_data.as_deref(),
        credential.credential_data.as_deref(),
    );
    let input = match (stored, credential.value.as_deref()) {
        ((Some(secret), Some(data)), _) => PasswordInput::Stored {
            password: StoredPassword::from_keycloak(secret, data)
                .map_err(|e| AdminError::BadRequest(format!("Invalid password credential: {e}")))?,
            temporary,
        },
        (_, Some(value)) if !value.is_empty() => PasswordInput::Plain {
            value: value.to_string(),
            temporary,
        },
        _ => {
            return Err(AdminError::InvalidRequest {
                error: "invalid_request",
                description: "No password provided".into(),
            });
        }
    };
    Ok(Some(input))
}

/// A new plain-text password, checked against the realm's password policy and hashed (on the
/// hashing threads). A violation is Keycloak's 400 `{"error": "<message key>",
/// "error_description": "Invalid password: ..."}`.
pub async fn new_password(
    state: &AppState,
    policy: &PasswordPolicy,
    value: &str,
    owner: PasswordOwner<'_>,
) -> Result<StoredPassword, AdminError> {
    let subject = PolicySubject {
        username: owner.username,
        email: owner.email,
    };
    state
        .new_password(policy, value, subject, owner.user_id)
        .await?
        .map_err(|violation| AdminError::InvalidRequest {
            error: violation.key,
            description: violation.message,
        })
}

pub fn policy_of(realm: &realm::Model) -> PasswordPolicy {
    realm
        .password_policy
        .as_deref()
        .map(PasswordPolicy::from_keycloak)
        .unwrap_or_default()
}

/// 400 for a username reserved for robots (`robot.…`): robots sign in as `robot.<name>`, and
/// a user of that name would share the robot's subject in registry tokens. Users who had such
/// a name before robots existed keep it (and their password keeps working).
pub fn check_not_robot_name(username: &str) -> Result<(), AdminError> {
    if portcullis_core::robot::is_reserved_username(username) {
        return Err(AdminError::BadRequest(format!(
            "Usernames starting with {} are reserved for robots",
            portcullis_core::robot::LOGIN_PREFIX
        )));
    }
    Ok(())
}

/// 409 if another user of the realm has the username or email.
pub async fn check_unique<C: Db>(
    db: &C,
    realm_id: &str,
    user: &user_entity::Model,
) -> Result<(), AdminError> {
    let taken = admin::users::find_by_username(db, realm_id, &user.username).await?;
    if taken.is_some_and(|other| other.id != user.id) {
        return Err(AdminError::Conflict(
            "User exists with same username".into(),
        ));
    }
    if let Some(email) = &user.email {
        let taken = admin::users::find_by_email(db, realm_id, email).await?;
        if taken.is_some_and(|other| other.id != user.id) {
            return Err(AdminError::Conflict("User exists with same email".into()));
        }
    }
    Ok(())
}
