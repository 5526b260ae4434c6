//! Signing in: the password, linked identity providers, sessions, docker logins, signing out.

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::Response;
use portcullis_admin::self_service::{AccountError, PasswordChange};
use portcullis_web::login;
use portcullis_web::templates;
use serde_json::json;

use super::format::{device, when};
use super::page::{Console, FormBody, PageError};

/// `GET account/password`.
pub async fn password(console: Console) -> Result<Response, PageError> {
    password_page(&console, StatusCode::OK, None).await
}

async fn password_page(
    console: &Console,
    status: StatusCode,
    error: Option<(&str, String)>,
) -> Result<Response, PageError> {
    let has_password = console.account().profile().await?.has_password;
    let context = json!({
        "has_password": has_password,
        "policy": null,
        "error_field": error.as_ref().map(|(field, _)| *field),
        "error": error.map(|(_, message)| message),
    });
    console.render(status, "password.html", "password", "Password", context)
}

/// `POST account/password`.
pub async fn change_password(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let change = PasswordChange {
        current: form.get("password").to_string(),
        new: form.get("password-new").to_string(),
        confirm: form.get("password-confirm").to_string(),
        revoke_app_passwords: form.checked("revoke-app-passwords"),
    };
    let revoked = change.revoke_app_passwords;
    match console.account().change_password(change).await {
        Ok(()) => {
            let message = if revoked {
                "Your password was changed. Your other sessions, docker logins and app passwords \
                 were ended."
            } else {
                "Your password was changed. Your other sessions and docker logins were ended; \
                 your app passwords keep working."
            };
            Ok(console.redirect("/password", message))
        }
        Err(AccountError::Field { field, message }) => {
            password_page(&console, StatusCode::BAD_REQUEST, Some((field, message))).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET account/linked`.
pub async fn linked(console: Console) -> Result<Response, PageError> {
    linked_page(&console, StatusCode::OK, None).await
}

async fn linked_page(
    console: &Console,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, PageError> {
    let links: Vec<_> = console
        .account()
        .links()
        .await?
        .into_iter()
        .map(|l| {
            json!({"provider": l.provider, "user_id": l.user_id, "username": l.username,
                   "removable": l.removable})
        })
        .collect();
    let mut linkable = Vec::new();
    for provider in console.realm().identity_providers() {
        let linked = links
            .iter()
            .any(|l| l["provider"] == provider.alias.as_str());
        if provider.enabled && !linked {
            let (action, flow) = console.link_form(&provider.alias, "/linked")?;
            linkable.push(json!({"alias": provider.alias, "label": provider.label(),
                                 "action": action, "flow": flow}));
        }
    }
    let context = json!({"links": links, "linkable": linkable, "error": error});
    console.render(status, "linked.html", "linked", "Linked accounts", context)
}

/// `POST account/linked/unlink`: `provider`.
pub async fn unlink(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let provider = form.get("provider");
    match console.account().unlink(provider).await {
        Ok(()) => Ok(console.redirect("/linked", &format!("{provider} was unlinked."))),
        Err(portcullis_admin::AdminError::BadRequest(message)) => {
            linked_page(&console, StatusCode::BAD_REQUEST, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET account/sessions`.
pub async fn sessions(console: Console) -> Result<Response, PageError> {
    let sessions = console.account().sessions().await?;
    let others = sessions.iter().any(|s| !s.current);
    let rows: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "current": s.current,
                "device": device(s.device.user_agent.as_deref()),
                "address": s.device.ip_address,
                "started": when(s.started),
                "last_access": when(s.last_access),
                "expires": when(s.expires),
            })
        })
        .collect();
    let context = json!({"sessions": rows, "others": others});
    console.render(
        StatusCode::OK,
        "sessions.html",
        "sessions",
        "Sessions",
        context,
    )
}

/// `POST account/sessions/end`: `id`, one of the user's sessions.
pub async fn end_session(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let id = form.get("id");
    if id == console.me.session_id() {
        return sign_out_now(&console).await;
    }
    console.account().end_session(id).await?;
    Ok(console.redirect("/sessions", "The session was signed out."))
}

/// `POST account/sessions/end-others`.
pub async fn end_other_sessions(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let ended = console.account().end_other_sessions().await?;
    let message = match ended {
        1 => "1 other session was signed out.".to_string(),
        n => format!("{n} other sessions were signed out."),
    };
    Ok(console.redirect("/sessions", &message))
}

/// `GET account/docker-logins`.
pub async fn docker_logins(console: Console) -> Result<Response, PageError> {
    let rows: Vec<_> = console
        .account()
        .docker_logins()
        .await?
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id,
                "registry": l.service,
                "created": when(l.created_at),
                "last_used": when(l.last_used_at),
                "address": l.last_address,
                "expires": when(l.expires_at),
            })
        })
        .collect();
    let context = json!({"logins": rows});
    console.render(
        StatusCode::OK,
        "logins.html",
        "docker-logins",
        "Docker logins",
        context,
    )
}

/// `POST account/docker-logins/revoke`: `id`, one of the user's docker logins.
pub async fn revoke_docker_login(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    console
        .account()
        .revoke_docker_login(form.get("id"))
        .await?;
    Ok(console.redirect("/docker-logins", "The docker login was revoked."))
}

/// `POST account/sign-out`: ends the SSO session, here and in every application it signed in.
pub async fn sign_out(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    sign_out_now(&console).await
}

async fn sign_out_now(console: &Console) -> Result<Response, PageError> {
    console.account().sign_out().await?;
    let realm = &console.me.realm().realm;
    let cookies = login::clear_session_cookies(&console.ctx)?;
    let name = realm.display_name.as_deref().unwrap_or(&realm.name);
    let mut response = templates::page(
        StatusCode::OK,
        "message.html",
        &json!({"realm_name": name, "title": "You are signed out",
                "message": "You are signed out of your account and of the applications of this realm in this browser."}),
    );
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
