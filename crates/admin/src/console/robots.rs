//! Robots in the console: the realm's robots page (every robot the signed-in user may see),
//! a group's robots (list with state, expiry and last use; create; rotate with a grace
//! period; disable and enable; revoke; delete), also shown as a section of the group page,
//! and the secret shown once after creating or rotating. Everything goes through
//! [`crate::ops::robots`], which decides who may do what: realm admins, and group members
//! holding `manage-robots` (who may use these pages, and only these).

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_core::robot::MAX_GRACE_SECS;
use portcullis_web::AppState;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, Params, field_message, insert, param, realm_of};
use super::page::{form_lines, redirect_with_flash, render, render_status};
use super::registries::timestamp;
use super::session::Console;
use crate::api::robots::docker_login;
use crate::error::AdminError;
use crate::ops::robots::{self, NewRobot, RobotUpdate, RobotView};

pub fn routes(realm: &str) -> Router<AppState> {
    let g = |path: &str| format!("{realm}/groups/{{id}}/robots{path}");
    Router::new()
        .route(&format!("{realm}/robots"), get(realm_robots))
        .route(&g(""), get(group_robots).post(create))
        .route(&g("/{robot}/rotate"), get(rotate_form).post(rotate))
        .route(&g("/{robot}/enabled"), post(set_enabled))
        .route(&g("/{robot}/revoke"), get(confirm_revoke).post(revoke))
        .route(&g("/{robot}/delete"), get(confirm_delete).post(delete))
}

/// The default grace a rotation offers: an hour.
const DEFAULT_GRACE_SECS: i64 = 3600;

fn group_robots_base(console: &Console, realm: &str, group_id: &str) -> String {
    format!("{}/groups/{group_id}/robots", console.realm_base(realm))
}

/// `pull, push on platform/**, shared/** at registry` in words.
fn rules(view: &RobotView) -> String {
    let r = &view.robot.restriction;
    let actions = if r.actions.is_empty() {
        "every action".to_string()
    } else {
        r.actions.join(", ")
    };
    let repositories = if r.repositories.is_empty() {
        "every repository".to_string()
    } else {
        r.repositories.join(", ")
    };
    let registry = r.service.as_deref().unwrap_or("every registry");
    let mut text = format!("{actions} on {repositories} at {registry}");
    if !view.robot.source_cidrs.is_empty() {
        text.push_str(&format!(", from {}", view.robot.source_cidrs.join(", ")));
    }
    text
}

/// One robot as the templates show it.
fn row(view: &RobotView, base: &str, now: i64) -> Value {
    let r = &view.robot;
    let older_live: Vec<i64> = view
        .secrets
        .iter()
        .filter(|s| s.is_live(now))
        .filter_map(|s| s.expires_at)
        .collect();
    let overlap = older_live.iter().max().map(|end| {
        format!(
            "{} older secret{} working until {}",
            older_live.len(),
            if older_live.len() == 1 { "" } else { "s" },
            timestamp(*end)
        )
    });
    json!({
        "id": r.id,
        "name": r.name,
        "login": r.login_name(),
        "description": r.description,
        "group_path": view.group_path,
        "status": view.status(now),
        "enabled": r.enabled,
        "expires": timestamp(r.restriction.expires_at),
        "last_used": r.last_used_at.map(timestamp),
        "last_address": r.last_used_address,
        "last_user_agent": r.last_used_user_agent,
        "rules": rules(view),
        "overlap": overlap,
        "base": format!("{base}/{}", r.id),
    })
}

/// What was typed into the create form, and the error beside one of its fields.
#[derive(Default)]
pub struct RobotForm<'a> {
    pub form: Option<&'a FormBody>,
    pub error: Option<(&'static str, String)>,
}

/// The robots section's context for a group: `show_robots` false when the caller may not see
/// them.
pub async fn section(
    console: &Console,
    group_id: &str,
    group_path: &str,
    typed: RobotForm<'_>,
) -> Result<Value, ConsoleError> {
    let realm = realm_of(console);
    let access = robots::access(console.ops(), &realm, group_id).await?;
    if !access.read {
        return Ok(json!({"show_robots": false}));
    }
    let base = group_robots_base(console, &realm, group_id);
    let now = console.state.now();
    let rows: Vec<Value> = robots::list(console.ops(), &realm, group_id)
        .await?
        .iter()
        .map(|v| row(v, &base, now))
        .collect();
    let max_days = robots::max_lifespan(console.ops(), &realm).await? / 86_400;
    let field = |name: &str| {
        typed
            .form
            .map_or(String::new(), |f| f.get(name).to_string())
    };
    let actions: Vec<String> = typed.form.map_or_else(Vec::new, |f| {
        f.all("actions").into_iter().map(str::to_string).collect()
    });
    Ok(json!({
        "show_robots": true,
        "robots": rows,
        "robots_base": base,
        "robots_group_path": group_path,
        "may_manage_robots": access.manage,
        "robot_max_days": max_days.max(1),
        "robot_form": {
            "name": field("name"),
            "description": field("description"),
            "expires_days": typed.form.map_or_else(|| max_days.clamp(1, 30).to_string(), |f| f.get("expires_days").to_string()),
            "registry": field("registry"),
            "repositories": field("repositories"),
            "actions": actions,
            "cidrs": field("cidrs"),
        },
        "robot_error_field": typed.error.as_ref().map(|(f, _)| *f),
        "robot_error": typed.error.map(|(_, e)| e),
    }))
}

/// The group's path, or 404 (a group the caller may not see is refused by the operations).
async fn group_path(console: &Console, group_id: &str) -> Result<String, ConsoleError> {
    let snapshot = console
        .state
        .realm(&realm_of(console))
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    snapshot
        .group(group_id)
        .map(|g| g.path.clone())
        .ok_or_else(|| ConsoleError::NotFound("There is no such group.".into()))
}

/// `GET robots`: every robot the signed-in user may see in the realm.
async fn realm_robots(console: Console) -> Result<Response, ConsoleError> {
    let realm = realm_of(&console);
    let now = console.state.now();
    let views = robots::visible(console.ops(), &realm).await?;
    let base = console.realm_base(&realm);
    let rows: Vec<Value> = views
        .iter()
        .map(|v| {
            let mut r = row(
                v,
                &format!("{base}/groups/{}/robots", v.robot.group_id),
                now,
            );
            insert(
                &mut r,
                "group_href",
                json!(format!("{base}/groups/{}/robots", v.robot.group_id)),
            );
            r
        })
        .collect();
    render(
        &console,
        "robots.html",
        json!({"title": "Robots", "active": "robots", "robots": rows}),
    )
}

async fn group_robots_page(
    console: &Console,
    group_id: &str,
    status: StatusCode,
    typed: RobotForm<'_>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let path = group_path(console, group_id).await?;
    let mut context = section(console, group_id, &path, typed).await?;
    if context["show_robots"] != json!(true) {
        return Err(ConsoleError::Forbidden);
    }
    insert(&mut context, "title", json!(format!("Robots of {path}")));
    insert(&mut context, "active", json!("robots"));
    insert(
        &mut context,
        "group",
        json!({"path": path, "href": format!("{}/groups/{group_id}", console.realm_base(&realm))}),
    );
    render_status(console, status, "group_robots.html", context)
}

/// `GET groups/{id}/robots`.
async fn group_robots(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    group_robots_page(
        &console,
        param(&path, "id"),
        StatusCode::OK,
        RobotForm::default(),
    )
    .await
}

/// Which create-form field an operation's refusal is about.
fn field_of(error: &AdminError) -> &'static str {
    let text = field_message(error);
    let has = |word: &str| text.contains(word);
    if has("expiresAt") {
        "robot_expires"
    } else if has("registry") {
        "robot_registry"
    } else if has("action") {
        "robot_actions"
    } else if has("pattern") {
        "robot_repositories"
    } else if has("address") || has("CIDR") {
        "robot_cidrs"
    } else if has("description") {
        "robot_description"
    } else {
        "robot_name"
    }
}

/// The message beside the field, in the console's words.
fn message_of(error: &AdminError, field: &str) -> String {
    match field {
        "robot_expires" => field_message(error).replace("expiresAt", "The expiry"),
        _ => field_message(error),
    }
}

/// `POST groups/{id}/robots` with `name`, `description`, `expires_days`, `registry`,
/// `repositories` (one per line), `actions` (checkboxes), `cidrs` (one per line): shows the
/// secret once.
async fn create(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, group_id) = (realm_of(&console), param(&path, "id"));
    robots::require_manage(console.ops(), &realm, group_id).await?;
    let now = console.state.now();
    let refused = |field: &'static str, message: String| RobotForm {
        form: Some(&form),
        error: Some((field, message)),
    };
    let days = form.get("expires_days").trim();
    let Some(days) = days.parse::<i64>().ok().filter(|d| *d > 0) else {
        let typed = refused(
            "robot_expires",
            "Give the number of days it works, 1 or more.".into(),
        );
        return group_robots_page(&console, group_id, StatusCode::BAD_REQUEST, typed).await;
    };
    let new = NewRobot {
        name: Some(form.get("name").trim().to_string()),
        description: Some(form.get("description").to_string()),
        expires_at: Some(now.saturating_add(days.saturating_mul(86_400))),
        registry: Some(form.get("registry").to_string()),
        repositories: form_lines(form.get("repositories")),
        actions: form
            .all("actions")
            .into_iter()
            .map(str::to_string)
            .collect(),
        source_cidrs: form_lines(form.get("cidrs")),
    };
    match robots::create(console.ops(), &realm, group_id, new).await {
        Ok(made) => {
            let registry = made
                .view
                .robot
                .restriction
                .service
                .clone()
                .unwrap_or_else(|| "REGISTRY".into());
            let back = group_robots_base(&console, &realm, group_id);
            secret_page(
                &console,
                SecretPage {
                    title: format!("Robot {} created", made.login),
                    note: "Jobs sign in with the login name and this secret.",
                    username: &made.login,
                    secret: &made.secret,
                    registry: &registry,
                    back: &back,
                    active: "robots",
                },
            )
        }
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            let field = field_of(&e);
            let typed = refused(field, message_of(&e, field));
            group_robots_page(&console, group_id, StatusCode::BAD_REQUEST, typed).await
        }
        Err(e) => Err(e.into()),
    }
}

/// What the secret-shown-once page says.
pub struct SecretPage<'a> {
    pub title: String,
    pub note: &'static str,
    pub username: &'a str,
    pub secret: &'a str,
    pub registry: &'a str,
    pub back: &'a str,
    pub active: &'static str,
}

/// The secret, once, with a ready `docker login` line.
pub fn secret_page(console: &Console, page: SecretPage<'_>) -> Result<Response, ConsoleError> {
    render(
        console,
        "secret_once.html",
        json!({
            "title": page.title,
            "active": page.active,
            "note": page.note,
            "username": page.username,
            "secret": page.secret,
            "docker_login": docker_login(page.secret, page.username, page.registry),
            "back": page.back,
        }),
    )
}

async fn rotate_page(
    console: &Console,
    group_id: &str,
    robot_id: &str,
    status: StatusCode,
    grace: &str,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let view = robots::get(console.ops(), &realm, group_id, robot_id).await?;
    robots::require_manage(console.ops(), &realm, group_id).await?;
    let now = console.state.now();
    let base = group_robots_base(console, &realm, group_id);
    let secrets: Vec<Value> = view
        .secrets
        .iter()
        .filter(|s| s.is_live(now))
        .map(|s| {
            json!({
                "created": timestamp(s.created_at),
                "ends": s.expires_at.map(timestamp),
                "last_used": s.last_used_at.map(timestamp),
            })
        })
        .collect();
    render_status(
        console,
        status,
        "robot_rotate.html",
        json!({
            "title": format!("Rotate {}", view.robot.login_name()),
            "active": "robots",
            "login": view.robot.login_name(),
            "secrets": secrets,
            "action": format!("{base}/{robot_id}/rotate"),
            "cancel": base,
            "grace": grace,
            "max_grace": MAX_GRACE_SECS,
            "error_field": error.as_ref().map(|_| "grace"),
            "error": error,
        }),
    )
}

/// `GET groups/{id}/robots/{robot}/rotate`: the grace period to give the current secret.
async fn rotate_form(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let grace = DEFAULT_GRACE_SECS.to_string();
    rotate_page(
        &console,
        param(&path, "id"),
        param(&path, "robot"),
        StatusCode::OK,
        &grace,
        None,
    )
    .await
}

/// `POST groups/{id}/robots/{robot}/rotate` with `grace` (seconds): shows the new secret once.
async fn rotate(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, group_id, robot_id) = (
        realm_of(&console),
        param(&path, "id"),
        param(&path, "robot"),
    );
    let typed = form.get("grace").trim();
    let Ok(grace) = typed.parse::<i64>() else {
        let message = "Give the grace period in seconds: 0 or more.".to_string();
        return rotate_page(
            &console,
            group_id,
            robot_id,
            StatusCode::BAD_REQUEST,
            typed,
            Some(message),
        )
        .await;
    };
    match robots::rotate(console.ops(), &realm, group_id, robot_id, grace).await {
        Ok(made) => {
            let registry = made
                .view
                .robot
                .restriction
                .service
                .clone()
                .unwrap_or_else(|| "REGISTRY".into());
            let back = group_robots_base(&console, &realm, group_id);
            let note = if grace == 0 {
                "The previous secret stopped working now."
            } else {
                "The previous secret keeps working for the grace period you chose; move your jobs to this one before it ends."
            };
            secret_page(
                &console,
                SecretPage {
                    title: format!("New secret for {}", made.login),
                    note,
                    username: &made.login,
                    secret: &made.secret,
                    registry: &registry,
                    back: &back,
                    active: "robots",
                },
            )
        }
        Err(e @ AdminError::BadRequest(_)) => {
            let message = field_message(&e);
            rotate_page(
                &console,
                group_id,
                robot_id,
                StatusCode::BAD_REQUEST,
                typed,
                Some(message),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST groups/{id}/robots/{robot}/enabled` with `enabled=true|false`.
async fn set_enabled(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, group_id, robot_id) = (
        realm_of(&console),
        param(&path, "id"),
        param(&path, "robot"),
    );
    let enabled = form.get("enabled") == "true";
    let update = RobotUpdate {
        enabled: Some(enabled),
        ..RobotUpdate::default()
    };
    let view = robots::update(console.ops(), &realm, group_id, robot_id, update).await?;
    let message = if enabled {
        format!("{} enabled.", view.robot.login_name())
    } else {
        format!(
            "{} disabled: its secrets are refused until it is enabled again.",
            view.robot.login_name()
        )
    };
    Ok(redirect_with_flash(
        &console,
        &back_to(&console, &form, &realm, group_id),
        &message,
    ))
}

/// Where a form on the group page or the group's robots page returns to.
fn back_to(console: &Console, form: &FormBody, realm: &str, group_id: &str) -> String {
    let robots = group_robots_base(console, realm, group_id);
    if form.get("from") == "group" {
        format!("{}/groups/{group_id}", console.realm_base(realm))
    } else {
        robots
    }
}

/// `GET groups/{id}/robots/{robot}/revoke`.
async fn confirm_revoke(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    confirm(&console, &path, "revoke").await
}

/// `GET groups/{id}/robots/{robot}/delete`.
async fn confirm_delete(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    confirm(&console, &path, "delete").await
}

async fn confirm(
    console: &Console,
    path: &std::collections::BTreeMap<String, String>,
    what: &str,
) -> Result<Response, ConsoleError> {
    let (realm, group_id, robot_id) = (realm_of(console), param(path, "id"), param(path, "robot"));
    let view = robots::get(console.ops(), &realm, group_id, robot_id).await?;
    robots::require_manage(console.ops(), &realm, group_id).await?;
    let base = group_robots_base(console, &realm, group_id);
    let login = view.robot.login_name();
    let (heading, details, button) = if what == "revoke" {
        (
            format!("Revoke {login}?"),
            vec![
                "Every secret of the robot stops working at once, on every instance.".to_string(),
                "It stays listed with its last use; its name stays taken until you delete it."
                    .to_string(),
            ],
            "Revoke robot",
        )
    } else {
        (
            format!("Delete {login}?"),
            vec!["The robot and its secrets are removed; its name is free again.".to_string()],
            "Delete robot",
        )
    };
    render(
        console,
        "confirm.html",
        json!({
            "title": heading,
            "active": "robots",
            "heading": heading,
            "details": details,
            "action": format!("{base}/{robot_id}/{what}"),
            "button": button,
            "cancel": base,
        }),
    )
}

/// `POST groups/{id}/robots/{robot}/revoke`.
async fn revoke(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, group_id, robot_id) = (
        realm_of(&console),
        param(&path, "id"),
        param(&path, "robot"),
    );
    robots::revoke(console.ops(), &realm, group_id, robot_id).await?;
    Ok(redirect_with_flash(
        &console,
        &group_robots_base(&console, &realm, group_id),
        "Robot revoked: its secrets are refused from now on.",
    ))
}

/// `POST groups/{id}/robots/{robot}/delete`.
async fn delete(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, group_id, robot_id) = (
        realm_of(&console),
        param(&path, "id"),
        param(&path, "robot"),
    );
    robots::delete(console.ops(), &realm, group_id, robot_id).await?;
    Ok(redirect_with_flash(
        &console,
        &group_robots_base(&console, &realm, group_id),
        "Robot deleted.",
    ))
}
