//! A user's app passwords: list, create (the secret is returned once, never stored), revoke.
//!
//! Listing takes `view-users`; creating and revoking take `manage-users` and every admin right
//! the user holds (an app password signs in as the user). Revoked and expired app passwords
//! stay listed with their last use. A revocation drops the user's cached verifications on
//! every instance, so the app password is refused at once everywhere.

use portcullis_core::app_password::{
    self, InvalidRestriction, MAX_NAME_LEN, Restriction, new_secret,
};
use portcullis_core::model::RealmSnapshot;
use portcullis_store::{AppPassword, app_passwords};
use portcullis_web::LoginEvent;
use serde_json::{Value, json};

use super::Ops;
use super::lookup::{find_user, snapshot};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use portcullis_store::entity::realm;

/// The docker-v2 protocol's name: an app password's registry is one of its clients.
const DOCKER_PROTOCOL: &str = "docker-v2";

/// An app password to create.
#[derive(Debug, Clone, Default)]
pub struct NewAppPassword {
    /// Required.
    pub name: Option<String>,
    /// Unix seconds; required, in the future and within the realm's maximum lifetime
    /// ([`app_password::max_lifespan`]).
    pub expires_at: Option<i64>,
    /// The one registry (`clientId` of a docker-v2 client) it works for; any when `None`.
    pub registry: Option<String>,
    /// Repository patterns; any repository when empty.
    pub repositories: Vec<String>,
    /// `pull`, `push`, `delete`, `*`; any action when empty.
    pub actions: Vec<String>,
}

/// A created app password and its secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct Created {
    pub app_password: AppPassword,
    pub secret: String,
    /// The owner's username, for the `docker login` line.
    pub username: String,
}

/// The user's app passwords, newest first, revoked and expired ones included (`view-users`).
pub async fn list(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<AppPassword>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    Ok(app_passwords::list(db, &realm_row.id, user_id).await?)
}

/// Creates an app password for the user (`manage-users`, and every right the user holds).
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    new: NewAppPassword,
) -> Result<Created, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    create_authorized(ops, realm_row, user_id, new).await
}

/// Creates an app password for a user the caller may act for (checked by the caller: an
/// admin's right, or the user themself in the account console), with its admin and login
/// events.
pub(crate) async fn create_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    new: NewAppPassword,
) -> Result<Created, AdminError> {
    let realm = realm_row.name.clone();
    let now = ops.state.now();
    let snapshot = snapshot(ops.state, &realm).await?;
    let (name, restriction) = checked(&snapshot, &new, now).map_err(AdminError::from)?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let user = find_user(change.db(), &realm_row.id, user_id).await?;
    let (secret, secret_hash) = new_secret();
    let record = AppPassword {
        id: uuid::Uuid::new_v4().to_string(),
        realm_id: realm_row.id.clone(),
        user_id: user_id.to_string(),
        name,
        secret_hash,
        restriction,
        created_at: now,
        revoked_at: None,
        last_used_at: None,
        last_used_address: None,
        last_used_user_agent: None,
    };
    app_passwords::insert(change.db(), &record).await?;
    let path = format!("users/{user_id}/app-passwords/{}", record.id);
    change.record(Event::new(Op::Create, "USER", path).with(describe(&record)));
    change.commit().await?;
    ops.state.record_event(login_event(
        ops,
        &realm,
        &user.username,
        &record,
        "APP_PASSWORD_CREATED",
    ));
    Ok(Created {
        app_password: record,
        secret,
        username: user.username,
    })
}

/// Revokes one of the user's app passwords (`manage-users`, and every right the user holds).
/// Revoking a revoked one changes nothing; an unknown one is 404.
pub async fn revoke(ops: Ops<'_>, realm: &str, user_id: &str, id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    revoke_authorized(ops, realm_row, user_id, id).await
}

/// Revokes one of the app passwords of a user the caller may act for (checked by the
/// caller); one of another user is 404, as an unknown one.
pub(crate) async fn revoke_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    id: &str,
) -> Result<(), AdminError> {
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let user = find_user(change.db(), &realm_row.id, user_id).await?;
    let record = app_passwords::find(change.db(), &realm_row.id, user_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("App password not found"))?;
    if !app_passwords::revoke(change.db(), &realm_row.id, user_id, id, now).await? {
        return Ok(());
    }
    // Drops the user's cached verifications here and on every instance.
    change.user_changed(user_id);
    let path = format!("users/{user_id}/app-passwords/{id}");
    change.record(Event::new(Op::Delete, "USER", path).with(describe(&record)));
    change.commit().await?;
    ops.state.record_event(login_event(
        ops,
        &realm_row.name,
        &user.username,
        &record,
        "APP_PASSWORD_REVOKED",
    ));
    Ok(())
}

/// The line a user runs to sign in to `registry` as `username` with an app password (the
/// secret is typed at the prompt, so it stays out of the shell's history).
pub fn docker_login_line(username: &str, registry: &str) -> String {
    format!(
        "docker login -u {} {}",
        shell_word(username),
        shell_word(registry)
    )
}

/// `word` as one shell word: as it is when it holds only characters no shell treats
/// specially, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The part of a new app password a request got wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: NewField,
    pub message: String,
}

/// The fields of a new app password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewField {
    Name,
    ExpiresAt,
    Registry,
    Repositories,
    Actions,
}

impl From<Invalid> for AdminError {
    fn from(invalid: Invalid) -> Self {
        AdminError::BadRequest(invalid.message)
    }
}

/// The name and restriction asked for, checked: a name, an expiry within the realm's maximum,
/// an existing docker-v2 registry, valid patterns and actions.
pub fn checked(
    snapshot: &RealmSnapshot,
    new: &NewAppPassword,
    now: i64,
) -> Result<(String, Restriction), Invalid> {
    let invalid = |field, message: String| Invalid { field, message };
    let name = new
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid(NewField::Name, "name is required".into()))?;
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid(NewField::Name, "name is too long".into()));
    }
    let max = app_password::max_lifespan(&snapshot.realm.attributes);
    let expires_at = new
        .expires_at
        .ok_or_else(|| invalid(NewField::ExpiresAt, "expiresAt is required".into()))?;
    if expires_at <= now {
        return Err(invalid(
            NewField::ExpiresAt,
            "expiresAt must be in the future".into(),
        ));
    }
    if expires_at > now.saturating_add(max) {
        return Err(invalid(
            NewField::ExpiresAt,
            format!(
                "expiresAt is beyond the realm's maximum of {} days",
                max / 86_400
            ),
        ));
    }
    let registry = new
        .registry
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if let Some(registry) = registry {
        let known = snapshot
            .client(registry)
            .is_some_and(|c| c.protocol == DOCKER_PROTOCOL);
        if !known {
            return Err(invalid(
                NewField::Registry,
                format!("registry {registry:?} is not a docker-v2 client of the realm"),
            ));
        }
    }
    let clean = |values: &[String]| -> Vec<String> {
        values
            .iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let (repositories, actions) = (clean(&new.repositories), clean(&new.actions));
    app_password::validate(&repositories, &actions).map_err(|e| {
        let field = match e {
            InvalidRestriction::UnknownAction(_) => NewField::Actions,
            _ => NewField::Repositories,
        };
        invalid(field, e.to_string())
    })?;
    let restriction = Restriction {
        service: registry.map(str::to_string),
        repositories,
        actions,
        expires_at,
    };
    Ok((name.to_string(), restriction))
}

/// What an admin event says about an app password: never its secret or hash.
fn describe(p: &AppPassword) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "registry": p.restriction.service,
        "repositories": p.restriction.repositories,
        "actions": p.restriction.actions,
        "expiresAt": p.restriction.expires_at,
    })
}

fn login_event(
    ops: Ops<'_>,
    realm: &str,
    username: &str,
    p: &AppPassword,
    kind: &'static str,
) -> LoginEvent {
    let mut details = std::collections::BTreeMap::new();
    details.insert("app_password_id", p.id.clone());
    details.insert("app_password_name", p.name.clone());
    details.insert("by", ops.caller.user.id.clone());
    LoginEvent {
        realm: realm.to_string(),
        kind,
        client_id: p.restriction.service.clone(),
        user_id: Some(p.user_id.clone()),
        username: Some(username.to_string()),
        ip_address: ops.caller.ip.map(|ip| ip.to_string()),
        details,
        ..LoginEvent::default()
    }
}
