//! `/admin/realms/{realm}/groups/{id}/robots[/{robotId}[/rotate|/revoke]]`: a group's robots,
//! and `/admin/realms/{realm}/robots`: every robot the caller may see (Portcullis's own paths;
//! Keycloak has none). JSON in camelCase; times are unix seconds.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Reply, no_content, ok};
use crate::context::created;
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson};
use crate::ops::robots::{self, NewRobot, RobotUpdate, RobotView, WithSecret};
use crate::rep;

/// The request body of `POST …/robots`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewRepresentation {
    name: Option<String>,
    description: Option<String>,
    expires_at: Option<i64>,
    registry: Option<String>,
    repositories: Option<Vec<String>>,
    actions: Option<Vec<String>>,
    source_cidrs: Option<Vec<String>>,
}

/// The request body of `PUT …/robots/{robotId}`: the fields given replace the stored ones.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UpdateRepresentation {
    description: Option<String>,
    expires_at: Option<i64>,
    registry: Option<String>,
    repositories: Option<Vec<String>>,
    actions: Option<Vec<String>>,
    source_cidrs: Option<Vec<String>>,
    enabled: Option<bool>,
}

/// The request body of `POST …/rotate`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct RotateRepresentation {
    grace_period_seconds: Option<i64>,
}

/// A robot as listed: never a secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RobotRepresentation {
    id: String,
    name: String,
    /// The login name: `robot.<name>`.
    username: String,
    group_id: String,
    group_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<String>,
    repositories: Vec<String>,
    actions: Vec<String>,
    source_cidrs: Vec<String>,
    enabled: bool,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_user_agent: Option<String>,
    /// `active`, `disabled`, `expired` or `revoked`.
    status: &'static str,
    /// Its secrets, newest first (never the secrets themselves).
    secrets: Vec<SecretRepresentation>,
}

/// One of a robot's secrets: when made, when it ends (a rotation's grace), its last use.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretRepresentation {
    id: String,
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    /// `active` or `expired`.
    status: &'static str,
}

impl RobotRepresentation {
    pub fn new(view: RobotView, now: i64) -> Self {
        let status = view.status(now);
        let r = view.robot;
        let secrets = view
            .secrets
            .into_iter()
            .map(|s| SecretRepresentation {
                status: if s.is_live(now) { "active" } else { "expired" },
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
                last_used_at: s.last_used_at,
            })
            .collect();
        Self {
            username: r.login_name(),
            id: r.id,
            name: r.name,
            group_id: r.group_id,
            group_path: view.group_path,
            description: r.description,
            registry: r.restriction.service,
            repositories: r.restriction.repositories,
            actions: r.restriction.actions,
            source_cidrs: r.source_cidrs,
            enabled: r.enabled,
            created_at: r.created_at,
            created_by: r.created_by,
            expires_at: r.restriction.expires_at,
            revoked_at: r.revoked_at,
            last_used_at: r.last_used_at,
            last_used_address: r.last_used_address,
            last_used_user_agent: r.last_used_user_agent,
            status,
            secrets,
        }
    }
}

/// The representation with the new `secret` and a ready `dockerLogin` line.
fn with_secret(made: WithSecret, now: i64) -> Result<Value, AdminError> {
    let registry = made
        .view
        .robot
        .restriction
        .service
        .clone()
        .unwrap_or_else(|| "REGISTRY".into());
    let mut body = serde_json::to_value(RobotRepresentation::new(made.view, now))
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    body["secret"] = Value::String(made.secret.clone());
    body["dockerLogin"] = Value::String(docker_login(&made.secret, &made.login, &registry));
    Ok(body)
}

/// `printf '%s' '<secret>' | docker login --username 'robot.<name>' --password-stdin <registry>`:
/// the secret never lands in the shell's history as an argument of `docker`, and neither it
/// nor the login name needs quoting beyond the single quotes.
pub fn docker_login(secret: &str, login: &str, registry: &str) -> String {
    format!(
        "printf '%s' '{secret}' | docker login --username '{login}' --password-stdin {registry}"
    )
}

pub async fn visible(admin: Admin, Path(realm): Path<String>) -> Reply {
    let ops = admin.ops();
    let now = admin.state.now();
    let listed: Vec<RobotRepresentation> = robots::visible(ops, &realm)
        .await?
        .into_iter()
        .map(|v| RobotRepresentation::new(v, now))
        .collect();
    ok(listed)
}

pub async fn list(admin: Admin, Path((realm, group)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let now = admin.state.now();
    let listed: Vec<RobotRepresentation> = robots::list(ops, &realm, &group)
        .await?
        .into_iter()
        .map(|v| RobotRepresentation::new(v, now))
        .collect();
    ok(listed)
}

/// `POST …/robots` `{name, expiresAt, description?, registry?, repositories?, actions?,
/// sourceCidrs?}`: 201 with the robot, its `secret` and a ready `dockerLogin` line; the secret
/// is never shown again.
pub async fn create(
    admin: Admin,
    Path((realm, group)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = admin.ops();
    robots::require_manage(ops, &realm, &group).await?;
    let new: NewRepresentation = rep::parse(&body)?;
    let new = NewRobot {
        name: new.name,
        description: new.description,
        expires_at: new.expires_at,
        registry: new.registry,
        repositories: new.repositories.unwrap_or_default(),
        actions: new.actions.unwrap_or_default(),
        source_cidrs: new.source_cidrs.unwrap_or_default(),
    };
    let made = robots::create(ops, &realm, &group, new).await?;
    let id = made.view.robot.id.clone();
    let body = with_secret(made, admin.state.now())?;
    let location = created(&admin.state, &realm, &["groups", &group, "robots", &id]);
    let mut response = (location.status(), Json(body)).into_response();
    if let Some(value) = location.headers().get(LOCATION) {
        response.headers_mut().insert(LOCATION, value.clone());
    }
    Ok(response)
}

pub async fn get(admin: Admin, Path((realm, group, id)): Path<(String, String, String)>) -> Reply {
    let ops = admin.ops();
    let view = robots::get(ops, &realm, &group, &id).await?;
    ok(RobotRepresentation::new(view, admin.state.now()))
}

/// `PUT …/robots/{robotId}`: 200 with the robot as it is now.
pub async fn update(
    admin: Admin,
    Path((realm, group, id)): Path<(String, String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = admin.ops();
    robots::require_manage(ops, &realm, &group).await?;
    let given: UpdateRepresentation = rep::parse(&body)?;
    let update = RobotUpdate {
        description: given.description,
        expires_at: given.expires_at,
        registry: given.registry,
        repositories: given.repositories,
        actions: given.actions,
        source_cidrs: given.source_cidrs,
        enabled: given.enabled,
    };
    let view = robots::update(ops, &realm, &group, &id, update).await?;
    ok(RobotRepresentation::new(view, admin.state.now()))
}

/// `POST …/rotate` `{gracePeriodSeconds}`: 200 with the robot, its new `secret` and a ready
/// `dockerLogin` line. The older secrets keep working for the grace period (0: not at all).
pub async fn rotate(
    admin: Admin,
    Path((realm, group, id)): Path<(String, String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = admin.ops();
    robots::require_manage(ops, &realm, &group).await?;
    let given: RotateRepresentation = rep::parse(&body)?;
    let grace = given.grace_period_seconds.ok_or_else(|| {
        AdminError::BadRequest("gracePeriodSeconds is required (0 ends the old secrets now)".into())
    })?;
    let made = robots::rotate(ops, &realm, &group, &id, grace).await?;
    Ok((StatusCode::OK, Json(with_secret(made, admin.state.now())?)).into_response())
}

/// `POST …/revoke`: 204; final.
pub async fn revoke(
    admin: Admin,
    Path((realm, group, id)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    robots::revoke(ops, &realm, &group, &id).await?;
    no_content()
}

/// `DELETE …/robots/{robotId}`: 204.
pub async fn delete(
    admin: Admin,
    Path((realm, group, id)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    robots::delete(ops, &realm, &group, &id).await?;
    no_content()
}
