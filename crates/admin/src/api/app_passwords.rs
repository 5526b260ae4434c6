//! `/admin/realms/{realm}/users/{id}/app-passwords[/{pid}]`: a user's app passwords
//! (Portcullis's own paths; Keycloak has none). Times are unix seconds.

use axum::Json;
use axum::extract::Path;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use portcullis_store::AppPassword;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Reply, no_content, ok};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::extract::{Admin, AdminJson};
use crate::ops::app_passwords::{self, NewAppPassword};
use crate::rep;

/// The request body of `POST …/app-passwords`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewRepresentation {
    name: Option<String>,
    expires_at: Option<i64>,
    registry: Option<String>,
    repositories: Option<Vec<String>>,
    actions: Option<Vec<String>>,
}

/// An app password as listed: never its secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppPasswordRepresentation {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<String>,
    repositories: Vec<String>,
    actions: Vec<String>,
    created_at: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_user_agent: Option<String>,
    /// `active`, `expired` or `revoked`.
    status: &'static str,
}

impl AppPasswordRepresentation {
    pub fn new(p: AppPassword, now: i64) -> Self {
        let status = if p.revoked_at.is_some() {
            "revoked"
        } else if p.is_live(now) {
            "active"
        } else {
            "expired"
        };
        Self {
            id: p.id,
            name: p.name,
            registry: p.restriction.service,
            repositories: p.restriction.repositories,
            actions: p.restriction.actions,
            created_at: p.created_at,
            expires_at: p.restriction.expires_at,
            revoked_at: p.revoked_at,
            last_used_at: p.last_used_at,
            last_used_address: p.last_used_address,
            last_used_user_agent: p.last_used_user_agent,
            status,
        }
    }
}

pub async fn list(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let now = admin.state.now();
    let listed: Vec<AppPasswordRepresentation> = app_passwords::list(ops, &realm, &id)
        .await?
        .into_iter()
        .map(|p| AppPasswordRepresentation::new(p, now))
        .collect();
    ok(listed)
}

/// `POST …/app-passwords` `{name, expiresAt, registry?, repositories?, actions?}`: 201 with the
/// app password, its `secret` and a ready `dockerLogin` line; the secret is never shown again.
pub async fn create(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageUsers).await?;
    let new: NewRepresentation = rep::parse(&body)?;
    let new = NewAppPassword {
        name: new.name,
        expires_at: new.expires_at,
        registry: new.registry,
        repositories: new.repositories.unwrap_or_default(),
        actions: new.actions.unwrap_or_default(),
    };
    let ops = admin.ops();
    let made = app_passwords::create(ops, &realm, &id, new).await?;
    let pid = made.app_password.id.clone();
    let registry = made
        .app_password
        .restriction
        .service
        .clone()
        .unwrap_or_else(|| "REGISTRY".into());
    let mut body = serde_json::to_value(AppPasswordRepresentation::new(
        made.app_password,
        admin.state.now(),
    ))
    .map_err(|e| crate::error::AdminError::Internal(e.to_string()))?;
    body["secret"] = Value::String(made.secret.clone());
    body["dockerLogin"] = Value::String(format!(
        "printf '%s' '{}' | docker login --username '{}' --password-stdin {}",
        made.secret, made.username, registry
    ));
    let location = created(&admin.state, &realm, &["users", &id, "app-passwords", &pid]);
    let mut response = (location.status(), Json(body)).into_response();
    if let Some(value) = location.headers().get(LOCATION) {
        response.headers_mut().insert(LOCATION, value.clone());
    }
    Ok(response)
}

pub async fn revoke(admin: Admin, Path((realm, id, pid)): Path<(String, String, String)>) -> Reply {
    let ops = admin.ops();
    app_passwords::revoke(ops, &realm, &id, &pid).await?;
    no_content()
}
