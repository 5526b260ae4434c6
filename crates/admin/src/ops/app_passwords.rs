//! A user's app passwords: list, create (the secret is returned once, never stored), revoke.
//!
//! Listing takes `view-users`; creating and revoking take `manage-users` and every admin right
//! the user holds (an app password signs in as the user). Revoked and expired app passwords
//! stay listed with their last use. A revocation drops the user's cached verifications on
//! every instance, so the app password is refused at once everywhere.

use portcullis_core::app_password::{self, MAX_NAME_LEN, Restriction, new_secret};
use portcullis_store::{AppPassword, app_passwords};
use portcullis_web::LoginEvent;
use serde_json::{Value, json};

use super::Ops;
use super::lookup::{find_user, snapshot};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

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
    let now = ops.state.now();
    let restriction = restriction(ops, realm, &new, now).await?;
    let name = new
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AdminError::BadRequest("name is required".into()))?;
    if name.chars().count() > MAX_NAME_LEN {
        return Err(AdminError::BadRequest("name is too long".into()));
    }
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    let user = find_user(change.db(), &realm_row.id, user_id).await?;
    let (secret, secret_hash) = new_secret();
    let record = AppPassword {
        id: uuid::Uuid::new_v4().to_string(),
        realm_id: realm_row.id.clone(),
        user_id: user_id.to_string(),
        name: name.to_string(),
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
        realm,
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
        realm,
        &user.username,
        &record,
        "APP_PASSWORD_REVOKED",
    ));
    Ok(())
}

/// The restriction asked for, checked: an expiry within the realm's maximum, an existing
/// docker-v2 registry, valid patterns and actions.
async fn restriction(
    ops: Ops<'_>,
    realm: &str,
    new: &NewAppPassword,
    now: i64,
) -> Result<Restriction, AdminError> {
    let snapshot = snapshot(ops.state, realm).await?;
    let max = app_password::max_lifespan(&snapshot.realm.attributes);
    let expires_at = new
        .expires_at
        .ok_or_else(|| AdminError::BadRequest("expiresAt is required".into()))?;
    if expires_at <= now {
        return Err(AdminError::BadRequest(
            "expiresAt must be in the future".into(),
        ));
    }
    if expires_at > now.saturating_add(max) {
        return Err(AdminError::BadRequest(format!(
            "expiresAt is beyond the realm's maximum of {} days",
            max / 86_400
        )));
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
            return Err(AdminError::BadRequest(format!(
                "registry {registry:?} is not a docker-v2 client of the realm"
            )));
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
    app_password::validate(&repositories, &actions)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok(Restriction {
        service: registry.map(str::to_string),
        repositories,
        actions,
        expires_at,
    })
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
