//! Sessions: the realm's live SSO sessions, newest first by keyset, with sign-out.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::PAGE;
use super::page::{ConsoleError, FormBody, redirect_with_flash, render};
use super::registries::timestamp;
use super::session::Console;
use crate::auth::Right;
use crate::ops::sessions;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/sessions"), get(list))
        .route(&r("/sessions/{id}/end"), post(end))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// `{created}.{id}` of the last session of the previous page.
    before: Option<String>,
}

/// `GET sessions?before=`.
async fn list(console: Console, Query(query): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let before = query.before.as_deref().and_then(|b| {
        let (time, id) = b.split_once('.')?;
        Some((time.parse().ok()?, id.to_string()))
    });
    let rows = sessions::live(console.ops(), &realm, before, PAGE + 1).await?;
    let more = rows.len() as u64 > PAGE;
    let shown: Vec<_> = rows.iter().take(PAGE as usize).collect();
    let base = console.realm_base(&realm);
    let list: Vec<Value> = shown
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "username": s.username,
                "user_href": format!("{base}/users/{}", s.user_id),
                "started": timestamp(s.started),
                "last_access": timestamp(s.last_access),
            })
        })
        .collect();
    let next = more
        .then(|| shown.last().map(|s| format!("{}.{}", s.started, s.id)))
        .flatten()
        .map(|before| {
            let query = serde_urlencoded::to_string([("before", before)]).unwrap_or_default();
            format!("{base}/sessions?{query}")
        });
    render(
        &console,
        "sessions.html",
        json!({
            "title": "Sessions",
            "active": "sessions",
            "sessions": list,
            "next": next,
            "first_href": query.before.is_some().then(|| format!("{base}/sessions")),
            "may_manage": console.caller.can(&realm, Right::ManageUsers),
        }),
    )
}

/// `POST sessions/{id}/end`: signs the session out (its tokens go with it).
async fn end(
    console: Console,
    Path(path): Path<BTreeMap<String, String>>,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = console.realm.clone().unwrap_or_default();
    let id = path.get("id").map_or("", String::as_str);
    sessions::end(console.ops(), &realm, id, false).await?;
    let who = form.get("username");
    let message = if who.is_empty() {
        "Session signed out.".to_string()
    } else {
        format!("Session of {who} signed out; its tokens no longer refresh.")
    };
    Ok(redirect_with_flash(
        &console,
        &format!("{}/sessions", console.realm_base(&realm)),
        &message,
    ))
}
