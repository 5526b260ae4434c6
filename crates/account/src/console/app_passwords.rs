//! App passwords: the user's own, listed with their last use (revoked and expired ones too),
//! created with a name, an expiry within the realm's maximum and optional limits (the secret
//! is shown once, with ready `docker login` lines), and revoked.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_admin::self_service::{AccountError, NewAppPassword, docker_login_line};
use portcullis_core::app_password::max_lifespan;
use serde_json::{Value, json};

use super::format::{date, limits, parse_date, when};
use super::page::{Console, FormBody, PageError};

const TITLE: &str = "App passwords";
const DAY: i64 = 86_400;

/// `GET account/app-passwords`.
pub async fn show(console: Console) -> Result<Response, PageError> {
    let max = max_lifespan(&console.me.realm().realm.attributes);
    let now = console.state.now();
    let form = json!({
        "name": "",
        "expires": date(now.saturating_add(max)),
        "registry": "",
        "repositories": "",
        "actions": [],
    });
    page(&console, StatusCode::OK, form, None).await
}

/// `POST account/app-passwords`: a new app password; its secret is on the answer, once.
pub async fn create(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let repositories: Vec<String> = form
        .get("repositories")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let actions: Vec<String> = form
        .all("actions")
        .into_iter()
        .map(str::to_string)
        .collect();
    let registry = Some(form.get("registry").trim().to_string()).filter(|r| !r.is_empty());
    let expires = form.get("expires");
    let values = json!({
        "name": form.get("name"),
        "expires": expires,
        "registry": registry.clone().unwrap_or_default(),
        "repositories": form.get("repositories"),
        "actions": actions,
    });
    let Some(expires_at) = parse_date(expires) else {
        let error = ("expires", "Choose the date it expires on.".to_string());
        return page(&console, StatusCode::BAD_REQUEST, values, Some(error)).await;
    };
    let new = NewAppPassword {
        name: Some(form.get("name").to_string()),
        expires_at: Some(expires_at),
        registry,
        repositories,
        actions: actions.clone(),
    };
    let made = match console.account().create_app_password(new).await {
        Ok(made) => made,
        Err(AccountError::Field { field, message }) => {
            let message = explain(field, message);
            return page(
                &console,
                StatusCode::BAD_REQUEST,
                values,
                Some((field, message)),
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    let p = &made.app_password;
    let registries = match &p.restriction.service {
        Some(one) => vec![one.clone()],
        None => console.account().registries(),
    };
    let logins: Vec<Value> = if registries.is_empty() {
        vec![json!({"registry": "", "line": docker_login_line(&made.username, "REGISTRY")})]
    } else {
        registries
            .iter()
            .map(|r| json!({"registry": r, "line": docker_login_line(&made.username, r)}))
            .collect()
    };
    let context = json!({
        "name": p.name,
        "secret": made.secret,
        "logins": logins,
        "limits": capitalize(&limits(&p.restriction)),
        "expires": when(p.restriction.expires_at),
    });
    console.render(
        StatusCode::OK,
        "app_password_created.html",
        "app-passwords",
        "App password created",
        context,
    )
}

/// `POST account/app-passwords/revoke`: `id`, one of the user's app passwords.
pub async fn revoke(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    console
        .account()
        .revoke_app_password(form.get("id"))
        .await?;
    Ok(console.redirect("/app-passwords", "The app password was revoked."))
}

/// The operations' messages name the REST fields; the form has its own words.
fn explain(field: &str, message: String) -> String {
    match (field, message.as_str()) {
        ("name", "name is required") => "Give it a name.".into(),
        ("name", _) => "The name is too long.".into(),
        ("expires", "expiresAt must be in the future") => "Choose a date after today.".into(),
        ("expires", m) if m.contains("maximum") => {
            m.replace("expiresAt is beyond", "That is beyond")
        }
        _ => message,
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn page(
    console: &Console,
    status: StatusCode,
    form: Value,
    error: Option<(&str, String)>,
) -> Result<Response, PageError> {
    let now = console.state.now();
    let max = max_lifespan(&console.me.realm().realm.attributes);
    let rows: Vec<Value> = console
        .account()
        .app_passwords()
        .await?
        .into_iter()
        .map(|p| {
            let status = if p.revoked_at.is_some() {
                "revoked"
            } else if now >= p.restriction.expires_at {
                "expired"
            } else {
                "active"
            };
            json!({
                "id": p.id,
                "name": p.name,
                "limits": capitalize(&limits(&p.restriction)),
                "created": when(p.created_at),
                "expires": when(p.restriction.expires_at),
                "last_used": p.last_used_at.map(when),
                "last_address": p.last_used_address,
                "last_agent": p.last_used_user_agent,
                "status": status,
            })
        })
        .collect();
    let context = json!({
        "app_passwords": rows,
        "registries": console.account().registries(),
        "limits": {
            "max_days": max / DAY,
            "min_date": date(now.saturating_add(DAY)),
            "max_date": date(now.saturating_add(max)),
        },
        "form": form,
        "error_field": error.as_ref().map(|(field, _)| *field),
        "error": error.map(|(_, message)| message),
    });
    console.render(
        status,
        "app_passwords.html",
        "app-passwords",
        TITLE,
        context,
    )
}
