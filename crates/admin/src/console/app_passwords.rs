//! A user's app passwords in the console: the user page's App passwords tab (list with state,
//! expiry and last use; create; revoke), and the secret shown once after creating one. Rights
//! are [`crate::ops::app_passwords`]'s: `view-users` lists, `manage-users` over a user the
//! admin may manage creates and revokes.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use portcullis_core::app_password;
use portcullis_store::AppPassword;
use portcullis_web::AppState;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, Params, field_message, insert, param, realm_of};
use super::page::{form_lines, redirect_with_flash, render, render_status};
use super::registries::timestamp;
use super::robots::{SecretPage, secret_page};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::app_passwords::{self, NewAppPassword};
use crate::ops::users;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/users/{{id}}/app-passwords{path}");
    Router::new()
        .route(&r(""), get(list).post(create))
        .route(&r("/{pid}/revoke"), get(confirm_revoke).post(revoke))
}

fn base(console: &Console, realm: &str, user_id: &str) -> String {
    format!(
        "{}/users/{user_id}/app-passwords",
        console.realm_base(realm)
    )
}

fn status(p: &AppPassword, now: i64) -> &'static str {
    if p.revoked_at.is_some() {
        "revoked"
    } else if p.is_live(now) {
        "active"
    } else {
        "expired"
    }
}

fn row(p: &AppPassword, base: &str, now: i64) -> Value {
    let r = &p.restriction;
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
    json!({
        "id": p.id,
        "name": p.name,
        "rules": format!("{actions} on {repositories} at {}", r.service.as_deref().unwrap_or("every registry")),
        "status": status(p, now),
        "expires": timestamp(r.expires_at),
        "last_used": p.last_used_at.map(timestamp),
        "last_address": p.last_used_address,
        "last_user_agent": p.last_used_user_agent,
        "revoke": format!("{base}/{}/revoke", p.id),
    })
}

/// The user page's tab: what the user's page shows plus the list and the create form.
async fn tab(
    console: &Console,
    user_id: &str,
    status_code: StatusCode,
    form: Option<&FormBody>,
    error: Option<(&'static str, String)>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let user = users::get(console.ops(), &realm, user_id).await?;
    let listed = app_passwords::list(console.ops(), &realm, user_id).await?;
    let now = console.state.now();
    let base_url = base(console, &realm, user_id);
    let rows: Vec<Value> = listed.iter().map(|p| row(p, &base_url, now)).collect();
    let snapshot = console.state.realm(&realm).await?;
    let max_days = snapshot
        .map(|s| app_password::max_lifespan(&s.realm.attributes) / 86_400)
        .unwrap_or(90)
        .max(1);
    let field = |name: &str| form.map_or(String::new(), |f| f.get(name).to_string());
    let actions: Vec<String> = form.map_or_else(Vec::new, |f| {
        f.all("actions").into_iter().map(str::to_string).collect()
    });
    let context = json!({
        "title": user.username,
        "active": "users",
        "tab": "app-passwords",
        "user": {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "enabled": user.enabled,
            "base": format!("{}/users/{}", console.realm_base(&realm), user.id),
        },
        "may_manage": console.caller.can(&realm, Right::ManageUsers),
        "app_passwords": rows,
        "app_passwords_base": base_url,
        "max_days": max_days,
        "ap_form": {
            "name": field("name"),
            "expires_days": form.map_or_else(|| max_days.min(30).to_string(), |f| f.get("expires_days").to_string()),
            "registry": field("registry"),
            "repositories": field("repositories"),
            "actions": actions,
        },
        "error_field": error.as_ref().map(|(f, _)| *f),
        "error": error.map(|(_, e)| e),
    });
    render_status(console, status_code, "user.html", context)
}

/// `GET users/{id}/app-passwords`.
async fn list(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    tab(&console, param(&path, "id"), StatusCode::OK, None, None).await
}

/// Which create-form field an operation's refusal is about.
fn field_of(error: &AdminError) -> &'static str {
    let text = field_message(error);
    if text.contains("expiresAt") {
        "ap_expires"
    } else if text.contains("registry") {
        "ap_registry"
    } else if text.contains("action") {
        "ap_actions"
    } else if text.contains("pattern") {
        "ap_repositories"
    } else {
        "ap_name"
    }
}

/// `POST users/{id}/app-passwords` with `name`, `expires_days`, `registry`, `repositories`
/// (one per line), `actions` (checkboxes): shows the secret once.
async fn create(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, user_id) = (realm_of(&console), param(&path, "id"));
    if !console.caller.can(&realm, Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let Some(days) = form
        .get("expires_days")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| *d > 0)
    else {
        let error = (
            "ap_expires",
            "Give the number of days it works, 1 or more.".to_string(),
        );
        return tab(
            &console,
            user_id,
            StatusCode::BAD_REQUEST,
            Some(&form),
            Some(error),
        )
        .await;
    };
    let now = console.state.now();
    let new = NewAppPassword {
        name: Some(form.get("name").to_string()),
        expires_at: Some(now.saturating_add(days.saturating_mul(86_400))),
        registry: Some(form.get("registry").to_string()),
        repositories: form_lines(form.get("repositories")),
        actions: form
            .all("actions")
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    match app_passwords::create(console.ops(), &realm, user_id, new).await {
        Ok(made) => {
            let registry = made
                .app_password
                .restriction
                .service
                .clone()
                .unwrap_or_else(|| "REGISTRY".into());
            let back = base(&console, &realm, user_id);
            secret_page(
                &console,
                SecretPage {
                    title: format!("App password {} created", made.app_password.name),
                    note: "It signs in as the user, with at most what its rules allow of the user's rights.",
                    username: &made.username,
                    secret: &made.secret,
                    registry: &registry,
                    back: &back,
                    active: "users",
                },
            )
        }
        Err(e @ AdminError::BadRequest(_)) => {
            let field = field_of(&e);
            let message = field_message(&e).replace("expiresAt", "The expiry");
            tab(
                &console,
                user_id,
                StatusCode::BAD_REQUEST,
                Some(&form),
                Some((field, message)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET users/{id}/app-passwords/{pid}/revoke`.
async fn confirm_revoke(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let (realm, user_id, pid) = (realm_of(&console), param(&path, "id"), param(&path, "pid"));
    if !console.caller.can(&realm, Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let listed = app_passwords::list(console.ops(), &realm, user_id).await?;
    let found = listed
        .iter()
        .find(|p| p.id == pid)
        .ok_or_else(|| ConsoleError::NotFound("There is no such app password.".into()))?;
    let base_url = base(&console, &realm, user_id);
    let heading = format!("Revoke app password {}?", found.name);
    let mut context = json!({
        "title": heading,
        "active": "users",
        "heading": heading,
        "details": ["Docker logins and CI jobs using it are refused at once, on every instance.", "It stays listed with its last use."],
        "action": format!("{base_url}/{pid}/revoke"),
        "button": "Revoke app password",
        "cancel": base_url,
    });
    insert(&mut context, "tab", json!("app-passwords"));
    render(&console, "confirm.html", context)
}

/// `POST users/{id}/app-passwords/{pid}/revoke`.
async fn revoke(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, user_id, pid) = (realm_of(&console), param(&path, "id"), param(&path, "pid"));
    app_passwords::revoke(console.ops(), &realm, user_id, pid).await?;
    Ok(redirect_with_flash(
        &console,
        &base(&console, &realm, user_id),
        "App password revoked: it is refused from now on.",
    ))
}
