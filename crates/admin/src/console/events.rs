//! Events: admin events (what was changed, by whom, from where) and login and token events
//! (sign-ins, token grants, docker token issuances), filterable and paged newest first by keyset.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::PAGE;
use super::page::{ConsoleError, render_status};
use super::session::Console;
use crate::ops::events::{self, EventQuery, LoginEventQuery};

/// The operation types an admin event has.
const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "ACTION"];

pub fn routes(realm: &str) -> Router<AppState> {
    Router::new()
        .route(&format!("{realm}/events"), get(list))
        .route(&format!("{realm}/events/logins"), get(logins))
}

#[derive(Debug, Default, Deserialize)]
struct EventsQuery {
    operation: Option<String>,
    resource: Option<String>,
    user: Option<String>,
    /// `{time}.{id}` of the last event of the previous page.
    before: Option<String>,
}

fn nonempty(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `GET events?operation=&resource=&user=&before=`.
async fn list(
    console: Console,
    Query(query): Query<EventsQuery>,
) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let operation = nonempty(query.operation.as_ref()).map(|o| o.to_uppercase());
    let resource = nonempty(query.resource.as_ref()).map(|r| r.to_uppercase());
    let user = nonempty(query.user.as_ref());
    let before = query.before.as_deref().and_then(|b| {
        let (time, id) = b.split_once('.')?;
        Some((time.parse().ok()?, id.to_string()))
    });
    let mut error = None;
    if operation
        .as_deref()
        .is_some_and(|o| !OPERATIONS.contains(&o))
    {
        error = Some((
            "operation",
            "Choose one of the operations listed.".to_string(),
        ));
    }
    // The admin who made a change: by username, in this realm or in the console's realm.
    let mut user_id = None;
    if let Some(name) = &user {
        let home = &console.console_realm.realm.id;
        user_id = events::admin_id(console.ops(), &realm, home, name).await?;
        if user_id.is_none() {
            error = Some(("user", format!("There is no admin named {name}.")));
        }
    }
    let rows = if error.is_some() {
        // Checks the right even when the filter is refused.
        events::admin_events(
            console.ops(),
            &realm,
            EventQuery {
                limit: 0,
                ..EventQuery::default()
            },
        )
        .await?
    } else {
        let filter = EventQuery {
            operations: operation.clone().into_iter().collect(),
            resources: resource.clone().into_iter().collect(),
            user_id,
            before,
            limit: PAGE + 1,
            ..EventQuery::default()
        };
        events::admin_events(console.ops(), &realm, filter).await?
    };
    let more = rows.len() as u64 > PAGE;
    let shown: Vec<_> = rows.iter().take(PAGE as usize).collect();
    let names = events::admin_names(console.ops(), &realm, &shown).await?;
    let events: Vec<Value> = shown
        .iter()
        .map(|e| {
            let by = e
                .auth_user_id
                .as_ref()
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone()));
            json!({
                "time": super::registries::timestamp(e.time / 1000),
                "operation": e.operation_type,
                "resource": e.resource_type,
                "path": e.resource_path,
                "by": by,
                "address": e.ip_address,
                "error": e.error,
                "representation": e.representation,
            })
        })
        .collect();
    let base = console.realm_base(&realm);
    let filters = [
        ("operation", operation.clone().unwrap_or_default()),
        ("resource", resource.clone().unwrap_or_default()),
        ("user", user.clone().unwrap_or_default()),
    ];
    let next = more
        .then(|| shown.last().map(|e| format!("{}.{}", e.time, e.id)))
        .flatten()
        .map(|before| {
            let mut pairs: Vec<(&str, String)> = filters
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect();
            pairs.push(("before", before));
            format!(
                "{base}/events?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        });
    let first_href = query.before.is_some().then(|| {
        let pairs: Vec<(&str, String)> = filters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect();
        format!(
            "{base}/events?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    });
    let filtered = filters.iter().any(|(_, v)| !v.is_empty());
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let status = if error_field.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(
        &console,
        status,
        "events.html",
        json!({
            "title": "Events",
            "active": "events",
            "events": events,
            "operations": OPERATIONS,
            "operation": operation.unwrap_or_default(),
            "resource": resource.unwrap_or_default(),
            "user": user.unwrap_or_default(),
            "filtered": filtered,
            "next": next,
            "first_href": first_href,
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// The login and token event types a filter offers.
const LOGIN_TYPES: [&str; 12] = [
    "LOGIN",
    "LOGIN_ERROR",
    "CODE_TO_TOKEN",
    "CODE_TO_TOKEN_ERROR",
    "REFRESH_TOKEN",
    "REFRESH_TOKEN_ERROR",
    "CLIENT_LOGIN",
    "CLIENT_LOGIN_ERROR",
    "OAUTH2_DEVICE_CODE_TO_TOKEN",
    "OAUTH2_DEVICE_CODE_TO_TOKEN_ERROR",
    "DOCKER_TOKEN",
    "DOCKER_TOKEN_ERROR",
];

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    user: Option<String>,
    client: Option<String>,
    /// `{time}.{id}` of the last event of the previous page.
    before: Option<String>,
}

/// `GET events/logins?type=&user=&client=&before=`: sign-ins, token grants and docker token
/// issuances (with the scopes asked for and granted, and the address), newest first.
async fn logins(
    console: Console,
    Query(query): Query<LoginQuery>,
) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let kind = nonempty(query.kind.as_ref()).map(|k| k.to_uppercase());
    let user = nonempty(query.user.as_ref()).map(|u| u.to_lowercase());
    let client = nonempty(query.client.as_ref());
    let before = query.before.as_deref().and_then(|b| {
        let (time, id) = b.split_once('.')?;
        Some((time.parse().ok()?, id.to_string()))
    });
    let unknown_kind = kind.as_deref().is_some_and(|k| !LOGIN_TYPES.contains(&k));
    let filter = LoginEventQuery {
        kinds: kind.clone().into_iter().collect(),
        username: user.clone(),
        client_id: client.clone(),
        before,
        // A refused filter still checks the right, and lists nothing.
        limit: if unknown_kind { 0 } else { PAGE + 1 },
        ..LoginEventQuery::default()
    };
    let rows = events::login_events(console.ops(), &realm, filter).await?;
    let more = rows.len() as u64 > PAGE;
    let shown: Vec<_> = rows.iter().take(PAGE as usize).collect();
    let view: Vec<Value> = shown
        .iter()
        .map(|e| {
            let details: BTreeMap<String, String> = e
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            json!({
                "time": super::registries::timestamp(e.time / 1000),
                "type": e.event_type,
                "failed": e.error.is_some(),
                "user": e.username,
                "client": e.client_id,
                "address": e.ip_address,
                "error": e.error,
                "requested": details.get("scope_requested"),
                "granted": details.get("scope_granted"),
                "grant": details.get("grant_type"),
            })
        })
        .collect();
    let base = console.realm_base(&realm);
    let filters: Vec<(&str, String)> = [
        ("type", kind.clone()),
        ("user", user.clone()),
        ("client", client.clone()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    let href = |extra: Option<String>| {
        let mut pairs = filters.clone();
        if let Some(before) = extra {
            pairs.push(("before", before));
        }
        format!(
            "{base}/events/logins?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let next = more
        .then(|| shown.last().map(|e| format!("{}.{}", e.time, e.id)))
        .flatten()
        .map(|b| href(Some(b)));
    let first_href = query.before.is_some().then(|| href(None));
    let (status, error_field, error) = if unknown_kind {
        let message = "Choose one of the event types listed.";
        (StatusCode::BAD_REQUEST, Some("type"), Some(message))
    } else {
        (StatusCode::OK, None, None)
    };
    render_status(
        &console,
        status,
        "login_events.html",
        json!({
            "title": "Login and token events",
            "active": "events",
            "events": view,
            "types": LOGIN_TYPES,
            "type": kind.unwrap_or_default(),
            "user": user.unwrap_or_default(),
            "client": client.unwrap_or_default(),
            "filtered": !filters.is_empty(),
            "next": next,
            "first_href": first_href,
            "error_field": error_field,
            "error": error,
        }),
    )
}
