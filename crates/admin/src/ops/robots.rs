//! A group's robots: list, create (the secret is returned once, never stored), update (rules,
//! expiry, source addresses, enabled), rotate with a grace period, revoke, delete.
//!
//! Who may: realm admins with `view-users` read, with `manage-users` change; and a user of the
//! realm holding the realm role `manage-robots` who is a member of the group or of a group below
//! it (so holds every right the group's robots carry) reads and changes that group's robots ([`crate::auth::Caller::manages_robots_of`]).
//! Nobody else learns whether a group or robot exists: 403 before any lookup that could tell.
//!
//! Every change drops the robot's cached verifications on every instance, so a revoked,
//! disabled, narrowed or rotated robot is refused (or narrowed) at once everywhere; a
//! rotation's older secrets keep working until their grace period ends.

use std::sync::Arc;

use portcullis_core::app_password;
use portcullis_core::model::{Group, RealmSnapshot};
use portcullis_core::robot::{self, Restriction, check_grace, check_name, login_name, new_secret};
use portcullis_store::admin;
use portcullis_store::entity::realm;
use portcullis_store::{Robot, RobotSecret, robots};
use portcullis_web::LoginEvent;
use serde_json::{Value, json};

use super::Ops;
use super::lookup::snapshot;
use crate::auth::Right;
use crate::context::{Change, Event, Op};
use crate::error::AdminError;

/// The docker-v2 protocol's name: a robot's registry is one of its clients.
const DOCKER_PROTOCOL: &str = "docker-v2";

/// A robot with what its pages and representations show beside it.
#[derive(Debug, Clone)]
pub struct RobotView {
    pub robot: Robot,
    /// Its secrets, newest first: during a rotation's grace the older ones are listed with
    /// their end and last use.
    pub secrets: Vec<RobotSecret>,
    /// The owning group's path.
    pub group_path: String,
}

impl RobotView {
    /// `active`, `disabled`, `expired` or `revoked`.
    pub fn status(&self, now: i64) -> &'static str {
        let r = &self.robot;
        if r.revoked_at.is_some() {
            "revoked"
        } else if now >= r.restriction.expires_at {
            "expired"
        } else if !r.enabled {
            "disabled"
        } else {
            "active"
        }
    }
}

/// A robot to create.
#[derive(Debug, Clone, Default)]
pub struct NewRobot {
    /// Required: `[a-z0-9._-]`; the login name is `robot.<name>`.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Unix seconds; required, in the future and within the realm's maximum lifetime
    /// ([`robot::max_lifespan`]).
    pub expires_at: Option<i64>,
    /// The one registry (`clientId` of a docker-v2 client) it works for; any when `None`.
    pub registry: Option<String>,
    /// Repository patterns; any repository when empty.
    pub repositories: Vec<String>,
    /// `pull`, `push`, `delete`, `*`; any action when empty.
    pub actions: Vec<String>,
    /// CIDR ranges it may be used from; anywhere when empty.
    pub source_cidrs: Vec<String>,
}

/// Changes to a robot: the fields given replace the stored ones.
#[derive(Debug, Clone, Default)]
pub struct RobotUpdate {
    pub description: Option<String>,
    pub expires_at: Option<i64>,
    /// `Some("")` removes the limit to one registry.
    pub registry: Option<String>,
    pub repositories: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
    pub source_cidrs: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// A created or rotated robot and its new secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub view: RobotView,
    pub secret: String,
    /// `robot.<name>`, for the `docker login` line.
    pub login: String,
}

/// What a caller needs for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Manage,
}

/// The realm, its snapshot and the group, once the caller is known to be allowed. A caller
/// who is neither an admin of the realm nor a manager of the group's robots gets 403, whether
/// or not the group exists; an admin gets 404 for an unknown group.
async fn authorize(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    need: Need,
) -> Result<(realm::Model, Arc<RealmSnapshot>, Group), AdminError> {
    let caller = ops.caller;
    if !caller.may_address(realm) {
        return Err(AdminError::Forbidden);
    }
    let realm_row = admin::realms::find_by_name(ops.state.store().connection(), realm)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))?;
    let right = match need {
        Need::Read => Right::ViewUsers,
        Need::Manage => Right::ManageUsers,
    };
    let admin = caller.can(realm, right);
    let snapshot = snapshot(ops.state, realm).await?;
    let group = snapshot.group(group_id).cloned();
    match group {
        Some(group) if admin || caller.manages_robots_of(realm, &group.path) => {
            Ok((realm_row, snapshot, group))
        }
        None if admin => Err(AdminError::not_found("Could not find group by id")),
        _ => Err(AdminError::Forbidden),
    }
}

/// 403 or 404 unless the caller may change the group's robots: front ends check it before
/// reading a request body, so a caller without the right learns nothing from its errors.
pub async fn require_manage(ops: Ops<'_>, realm: &str, group_id: &str) -> Result<(), AdminError> {
    authorize(ops, realm, group_id, Need::Manage)
        .await
        .map(|_| ())
}

/// What the caller may do with a group's robots, for front ends deciding what to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub manage: bool,
}

/// What the caller may do with the group's robots; an unknown group is 404 for admins.
pub async fn access(ops: Ops<'_>, realm: &str, group_id: &str) -> Result<Access, AdminError> {
    for need in [Need::Manage, Need::Read] {
        match authorize(ops, realm, group_id, need).await {
            Ok(_) => {
                return Ok(Access {
                    read: true,
                    manage: need == Need::Manage,
                });
            }
            Err(AdminError::Forbidden) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Access::default())
}

/// The longest lifetime, in seconds, the realm allows a new robot.
pub async fn max_lifespan(ops: Ops<'_>, realm: &str) -> Result<i64, AdminError> {
    Ok(robot::max_lifespan(
        &snapshot(ops.state, realm).await?.realm.attributes,
    ))
}

/// Whether the caller manages robots anywhere in the realm (an admin with `view-users`, or a
/// member with `manage-robots` of some group): the console shows them its robots page.
pub fn manages_any(ops: Ops<'_>, realm: &str) -> bool {
    let caller = ops.caller;
    caller.can(realm, Right::ViewUsers)
        || (caller.realm_name() == realm && caller.roles.has_role(robot::MANAGE_ROBOTS_ROLE))
}

async fn view_of<C: admin::ConnectionTrait>(
    db: &C,
    robot: Robot,
    group_path: &str,
) -> Result<RobotView, AdminError> {
    let secrets = robots::secrets(db, &robot.id).await?;
    Ok(RobotView {
        robot,
        secrets,
        group_path: group_path.to_string(),
    })
}

/// The group's robot `id`, or 404.
async fn find_robot<C: admin::ConnectionTrait>(
    db: &C,
    realm_id: &str,
    group_id: &str,
    id: &str,
) -> Result<Robot, AdminError> {
    robots::find(db, realm_id, id)
        .await?
        .filter(|r| r.group_id == group_id)
        .ok_or_else(|| AdminError::not_found("Robot not found"))
}

/// The group's robots by name, revoked and expired ones included.
pub async fn list(ops: Ops<'_>, realm: &str, group_id: &str) -> Result<Vec<RobotView>, AdminError> {
    let (realm_row, _, group) = authorize(ops, realm, group_id, Need::Read).await?;
    let db = ops.state.store().connection();
    let mut views = Vec::new();
    for robot in robots::list_for_groups(db, &realm_row.id, std::slice::from_ref(&group.id)).await?
    {
        views.push(view_of(db, robot, &group.path).await?);
    }
    Ok(views)
}

/// Every robot the caller may see in the realm: all of them for an admin with `view-users`;
/// for a manager of robots, those of the groups they manage.
pub async fn visible(ops: Ops<'_>, realm: &str) -> Result<Vec<RobotView>, AdminError> {
    let caller = ops.caller;
    if !caller.may_address(realm) {
        return Err(AdminError::Forbidden);
    }
    let realm_row = admin::realms::find_by_name(ops.state.store().connection(), realm)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))?;
    let snapshot = snapshot(ops.state, realm).await?;
    let admin = caller.can(realm, Right::ViewUsers);
    let groups: Vec<&Group> = if admin {
        Vec::new()
    } else {
        snapshot
            .groups
            .iter()
            .filter(|g| caller.manages_robots_of(realm, &g.path))
            .collect()
    };
    if groups.is_empty() && !admin {
        return Err(AdminError::Forbidden);
    }
    let db = ops.state.store().connection();
    let listed = if admin {
        robots::list_in_realm(db, &realm_row.id).await?
    } else {
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        robots::list_for_groups(db, &realm_row.id, &ids).await?
    };
    let mut views = Vec::new();
    for robot in listed {
        let path = snapshot
            .group(&robot.group_id)
            .map(|g| g.path.clone())
            .unwrap_or_default();
        views.push(view_of(db, robot, &path).await?);
    }
    Ok(views)
}

/// One of the group's robots.
pub async fn get(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    id: &str,
) -> Result<RobotView, AdminError> {
    let (realm_row, _, group) = authorize(ops, realm, group_id, Need::Read).await?;
    let db = ops.state.store().connection();
    let robot = find_robot(db, &realm_row.id, group_id, id).await?;
    view_of(db, robot, &group.path).await
}

/// Creates a robot of the group with its first secret.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    new: NewRobot,
) -> Result<WithSecret, AdminError> {
    let (realm_row, snapshot, group) = authorize(ops, realm, group_id, Need::Manage).await?;
    let now = ops.state.now();
    let name = new
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AdminError::BadRequest("name is required".into()))?;
    check_name(name).map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let expires_at = new
        .expires_at
        .ok_or_else(|| AdminError::BadRequest("expiresAt is required".into()))?;
    check_expiry(&snapshot, expires_at, now)?;
    let restriction = restriction(
        &snapshot,
        new.registry.as_deref(),
        &new.repositories,
        &new.actions,
        expires_at,
    )?;
    let source_cidrs = cidrs(&new.source_cidrs)?;
    let description = description(new.description.as_deref())?;
    let login = login_name(name);
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    admin::groups::find(change.db(), &realm_row.id, group_id)
        .await?
        .ok_or_else(|| AdminError::not_found("Could not find group by id"))?;
    if robots::find_by_name(change.db(), &realm_row.id, name)
        .await?
        .is_some()
    {
        return Err(AdminError::Conflict(format!(
            "A robot named {name} exists in the realm"
        )));
    }
    if admin::users::find_by_username(change.db(), &realm_row.id, &login)
        .await?
        .is_some()
    {
        return Err(AdminError::Conflict(format!(
            "A user is named {login}: choose another robot name"
        )));
    }
    let record = Robot {
        id: uuid::Uuid::new_v4().to_string(),
        realm_id: realm_row.id.clone(),
        group_id: group_id.to_string(),
        name: name.to_string(),
        description,
        restriction,
        source_cidrs,
        enabled: true,
        created_at: now,
        created_by: Some(ops.caller.user.id.clone()),
        revoked_at: None,
        last_used_at: None,
        last_used_address: None,
        last_used_user_agent: None,
    };
    let (secret, secret_row) = fresh_secret(&record.id, now);
    robots::insert(change.db(), &record, &secret_row).await?;
    change.record(
        Event::new(Op::Create, "GROUP", path(group_id, &record.id)).with(describe(&record)),
    );
    change.commit().await?;
    ops.state.record_event(login_event(
        ops,
        realm,
        &record,
        &group,
        "ROBOT_CREATED",
        None,
    ));
    Ok(WithSecret {
        view: RobotView {
            robot: record,
            secrets: vec![secret_row],
            group_path: group.path,
        },
        secret,
        login,
    })
}

/// Changes a robot's description, rules, expiry, source addresses or enabled state. A revoked
/// robot cannot be changed (409).
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    id: &str,
    update: RobotUpdate,
) -> Result<RobotView, AdminError> {
    let (realm_row, snapshot, group) = authorize(ops, realm, group_id, Need::Manage).await?;
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut robot = find_robot(change.db(), &realm_row.id, group_id, id).await?;
    if robot.revoked_at.is_some() {
        return Err(AdminError::Conflict(
            "The robot is revoked: create a new one".into(),
        ));
    }
    if let Some(text) = update.description.as_deref() {
        robot.description = description(Some(text))?;
    }
    if let Some(expires_at) = update.expires_at
        && expires_at != robot.restriction.expires_at
    {
        check_expiry(&snapshot, expires_at, now)?;
    }
    let current = robot.restriction.clone();
    let registry = match update.registry.as_deref() {
        Some(given) => Some(given),
        None => current.service.as_deref(),
    };
    robot.restriction = restriction(
        &snapshot,
        registry,
        update
            .repositories
            .as_ref()
            .unwrap_or(&current.repositories),
        update.actions.as_ref().unwrap_or(&current.actions),
        update.expires_at.unwrap_or(current.expires_at),
    )?;
    if let Some(values) = &update.source_cidrs {
        robot.source_cidrs = cidrs(values)?;
    }
    let was_enabled = robot.enabled;
    if let Some(enabled) = update.enabled {
        robot.enabled = enabled;
    }
    robots::update(change.db(), &robot).await?;
    change.user_changed(&robot.id);
    change.record(Event::new(Op::Update, "GROUP", path(group_id, id)).with(describe(&robot)));
    change.commit().await?;
    let kind = match (was_enabled, robot.enabled) {
        (true, false) => "ROBOT_DISABLED",
        (false, true) => "ROBOT_ENABLED",
        _ => "ROBOT_UPDATED",
    };
    ops.state
        .record_event(login_event(ops, realm, &robot, &group, kind, None));
    view_of(ops.state.store().connection(), robot, &group.path).await
}

/// Gives the robot a new secret; every older secret still alive keeps working for
/// `grace_secs` more (0: they die at once), or less if its own end comes first. A revoked
/// robot cannot be rotated (409).
pub async fn rotate(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    id: &str,
    grace_secs: i64,
) -> Result<WithSecret, AdminError> {
    check_grace(grace_secs).map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let (realm_row, _, group) = authorize(ops, realm, group_id, Need::Manage).await?;
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let robot = find_robot(change.db(), &realm_row.id, group_id, id).await?;
    if robot.revoked_at.is_some() {
        return Err(AdminError::Conflict(
            "The robot is revoked: create a new one".into(),
        ));
    }
    let (secret, secret_row) = fresh_secret(&robot.id, now);
    robots::rotate(change.db(), &secret_row, now, grace_secs).await?;
    change.user_changed(&robot.id);
    let mut event = describe(&robot);
    event["gracePeriodSeconds"] = json!(grace_secs);
    change.record(
        Event::new(
            Op::Action,
            "GROUP",
            format!("{}/rotate", path(group_id, id)),
        )
        .with(event),
    );
    change.commit().await?;
    let mut details = std::collections::BTreeMap::new();
    details.insert("grace_period_seconds", grace_secs.to_string());
    ops.state.record_event(login_event(
        ops,
        realm,
        &robot,
        &group,
        "ROBOT_ROTATED",
        Some(details),
    ));
    let login = robot.login_name();
    let view = view_of(ops.state.store().connection(), robot, &group.path).await?;
    Ok(WithSecret {
        view,
        secret,
        login,
    })
}

/// Revokes the robot: every secret stops working at once, on every instance; it stays listed
/// with its last use, and its name stays taken until it is deleted. Revoking a revoked robot
/// changes nothing.
pub async fn revoke(ops: Ops<'_>, realm: &str, group_id: &str, id: &str) -> Result<(), AdminError> {
    let (realm_row, _, group) = authorize(ops, realm, group_id, Need::Manage).await?;
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let robot = find_robot(change.db(), &realm_row.id, group_id, id).await?;
    if !robots::revoke(change.db(), &realm_row.id, id, now).await? {
        return Ok(());
    }
    change.user_changed(id);
    change.record(
        Event::new(
            Op::Action,
            "GROUP",
            format!("{}/revoke", path(group_id, id)),
        )
        .with(describe(&robot)),
    );
    change.commit().await?;
    ops.state.record_event(login_event(
        ops,
        realm,
        &robot,
        &group,
        "ROBOT_REVOKED",
        None,
    ));
    Ok(())
}

/// Deletes the robot and its secrets (they stop working at once, on every instance) and frees
/// its name.
pub async fn delete(ops: Ops<'_>, realm: &str, group_id: &str, id: &str) -> Result<(), AdminError> {
    let (realm_row, _, group) = authorize(ops, realm, group_id, Need::Manage).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let robot = find_robot(change.db(), &realm_row.id, group_id, id).await?;
    robots::delete(change.db(), &realm_row.id, id).await?;
    change.user_changed(id);
    change.record(Event::new(Op::Delete, "GROUP", path(group_id, id)).with(describe(&robot)));
    change.commit().await?;
    ops.state.record_event(login_event(
        ops,
        realm,
        &robot,
        &group,
        "ROBOT_DELETED",
        None,
    ));
    Ok(())
}

fn path(group_id: &str, id: &str) -> String {
    format!("groups/{group_id}/robots/{id}")
}

fn fresh_secret(robot_id: &str, now: i64) -> (String, RobotSecret) {
    let (secret, secret_hash) = new_secret();
    let row = RobotSecret {
        id: uuid::Uuid::new_v4().to_string(),
        robot_id: robot_id.to_string(),
        secret_hash,
        created_at: now,
        expires_at: None,
        last_used_at: None,
    };
    (secret, row)
}

fn check_expiry(snapshot: &RealmSnapshot, expires_at: i64, now: i64) -> Result<(), AdminError> {
    let max = robot::max_lifespan(&snapshot.realm.attributes);
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
    Ok(())
}

/// The restriction asked for, checked: an existing docker-v2 registry, valid patterns and
/// actions.
fn restriction(
    snapshot: &RealmSnapshot,
    registry: Option<&str>,
    repositories: &[String],
    actions: &[String],
    expires_at: i64,
) -> Result<Restriction, AdminError> {
    let registry = registry.map(str::trim).filter(|r| !r.is_empty());
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
    let (repositories, actions) = (clean(repositories), clean(actions));
    app_password::validate(&repositories, &actions)
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    Ok(Restriction {
        service: registry.map(str::to_string),
        repositories,
        actions,
        expires_at,
    })
}

fn clean(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Normalised CIDR ranges, checked.
fn cidrs(values: &[String]) -> Result<Vec<String>, AdminError> {
    robot::parse_cidrs(values)
        .map(|cidrs| cidrs.iter().map(ToString::to_string).collect())
        .map_err(|e| AdminError::BadRequest(e.to_string()))
}

fn description(text: Option<&str>) -> Result<Option<String>, AdminError> {
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    if text.is_some_and(|t| t.chars().count() > robot::MAX_DESCRIPTION_LEN) {
        return Err(AdminError::BadRequest("description is too long".into()));
    }
    Ok(text.map(str::to_string))
}

/// What an admin event says about a robot: never a secret or its hash.
fn describe(r: &Robot) -> Value {
    json!({
        "id": r.id,
        "name": r.name,
        "username": r.login_name(),
        "description": r.description,
        "registry": r.restriction.service,
        "repositories": r.restriction.repositories,
        "actions": r.restriction.actions,
        "sourceCidrs": r.source_cidrs,
        "enabled": r.enabled,
        "expiresAt": r.restriction.expires_at,
    })
}

fn login_event(
    ops: Ops<'_>,
    realm: &str,
    r: &Robot,
    group: &Group,
    kind: &'static str,
    extra: Option<std::collections::BTreeMap<&'static str, String>>,
) -> LoginEvent {
    let mut details = extra.unwrap_or_default();
    details.insert("robot_id", r.id.clone());
    details.insert("robot_name", r.name.clone());
    details.insert("group", group.path.clone());
    details.insert("by", ops.caller.user.id.clone());
    LoginEvent {
        realm: realm.to_string(),
        kind,
        client_id: r.restriction.service.clone(),
        user_id: Some(r.id.clone()),
        username: Some(r.login_name()),
        ip_address: ops.caller.ip.map(|ip| ip.to_string()),
        details,
        ..LoginEvent::default()
    }
}
