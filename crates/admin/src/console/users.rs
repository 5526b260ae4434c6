//! Users (search with keyset pagination, create, enable or disable, reset password, groups,
//! registry access) and the group tree (one page of children at a time).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_store::admin;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::access;
use crate::ops::groups::{self, NewGroup};
use crate::ops::users::{self, NewUser, PasswordInput};
use crate::rep::user::UserFields;

/// Users and groups shown per page.
const PAGE: u64 = 50;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/users"), get(list).post(create))
        .route(&r("/users/new"), get(new_form))
        .route(&r("/users/{id}"), get(details))
        .route(&r("/users/{id}/enabled"), post(set_enabled))
        .route(&r("/users/{id}/password"), post(reset_password))
        .route(&r("/users/{id}/groups"), get(user_groups).post(join_group))
        .route(&r("/users/{id}/groups/{group}/leave"), post(leave_group))
        .route(&r("/users/{id}/access"), get(user_access))
        .route(&r("/groups"), get(group_tree).post(create_group))
}

type Params = Path<BTreeMap<String, String>>;

fn param<'a>(path: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    path.get(name).map_or("", String::as_str)
}

fn realm_of(console: &Console) -> String {
    console.realm.clone().unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

/// `GET users?q=&after=`: a page of users by username; "next" continues after the last one
/// (no offsets, no total count, so every page costs the same at any size).
async fn list(console: Console, Query(query): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let realm = realm_of(&console);
    let q = query.q.unwrap_or_default();
    let rows = users::page(console.ops(), &realm, &q, query.after.as_deref(), PAGE + 1).await?;
    let more = rows.len() as u64 > PAGE;
    let shown: Vec<_> = rows.iter().take(PAGE as usize).collect();
    let base = console.realm_base(&realm);
    let next = more
        .then(|| shown.last().map(|u| u.username.clone()))
        .flatten()
        .map(|after| {
            let query = serde_urlencoded::to_string([("q", q.as_str()), ("after", after.as_str())])
                .unwrap_or_default();
            format!("{base}/users?{query}")
        });
    let users: Vec<Value> = shown
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "email": u.email,
                "enabled": u.enabled,
                "href": format!("{base}/users/{}", u.id),
            })
        })
        .collect();
    render(
        &console,
        "users.html",
        json!({
            "title": "Users",
            "active": "users",
            "users": users,
            "q": q,
            "next": next,
            "first_href": query.after.is_some().then(|| {
                let query = serde_urlencoded::to_string([("q", q.as_str())]).unwrap_or_default();
                format!("{base}/users?{query}")
            }),
            "may_manage": console.caller.can(&realm, Right::ManageUsers),
        }),
    )
}

/// `GET users/new`.
async fn new_form(console: Console) -> Result<Response, ConsoleError> {
    user_form(&console, StatusCode::OK, &FormBody::default(), None)
}

fn user_form(
    console: &Console,
    status: StatusCode,
    form: &FormBody,
    error: Option<(&str, String)>,
) -> Result<Response, ConsoleError> {
    if !console.caller.can(&realm_of(console), Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    render_status(
        console,
        status,
        "user_new.html",
        json!({
            "title": "New user",
            "active": "users",
            "form": {
                "username": form.get("username"),
                "email": form.get("email"),
                "firstName": form.get("firstName"),
                "lastName": form.get("lastName"),
                "temporary": form.checked("temporary"),
            },
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// `POST users`: creates an enabled user, with a password when one is given.
async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let text = |name: &str| {
        let value = form.get(name).trim();
        Some((!value.is_empty()).then(|| value.to_string()))
    };
    let username = form.get("username").trim().to_lowercase();
    if username.is_empty() {
        let message = "Give a username.".to_string();
        return user_form(
            &console,
            StatusCode::BAD_REQUEST,
            &form,
            Some(("username", message)),
        );
    }
    let fields = UserFields {
        username: Some(username.clone()),
        email: text("email"),
        first_name: text("firstName"),
        last_name: text("lastName"),
        enabled: Some(true),
        ..UserFields::default()
    };
    let password = Some(form.get("password"))
        .filter(|p| !p.is_empty())
        .map(|value| PasswordInput::Plain {
            value: value.to_string(),
            temporary: form.checked("temporary"),
        });
    let representation = json!({
        "username": username,
        "email": form.get("email"),
        "firstName": form.get("firstName"),
        "lastName": form.get("lastName"),
        "enabled": true,
    });
    let new = NewUser {
        fields,
        password,
        ..NewUser::default()
    };
    match users::create(console.ops(), &realm, new, representation).await {
        Ok(id) => Ok(redirect_with_flash(
            &console,
            &format!("{}/users/{id}", console.realm_base(&realm)),
            &format!("User {username} created."),
        )),
        Err(AdminError::Forbidden) => Err(ConsoleError::Forbidden),
        Err(e) => {
            let field = match &e {
                AdminError::InvalidRequest { .. } => "password",
                AdminError::Conflict(m) if m.contains("email") => "email",
                AdminError::InvalidField { field, .. } => field,
                _ => "username",
            };
            user_form(
                &console,
                StatusCode::BAD_REQUEST,
                &form,
                Some((field, field_message(&e))),
            )
        }
    }
}

/// The user and the tabs every user page shows.
async fn user_context(console: &Console, id: &str, tab: &str) -> Result<Value, ConsoleError> {
    let realm = realm_of(console);
    let realm_row =
        crate::context::target_realm(&console.state, &console.caller, &realm, Right::ViewUsers)
            .await?;
    let db = console.state.store().connection();
    let user = crate::api::find_user(db, &realm_row.id, id).await?;
    let base = format!("{}/users/{}", console.realm_base(&realm), user.id);
    Ok(json!({
        "title": user.username,
        "active": "users",
        "tab": tab,
        "user": {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "enabled": user.enabled,
            "base": base,
        },
        "may_manage": console.caller.can(&realm, Right::ManageUsers),
    }))
}

fn insert(context: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = context {
        map.insert(key.to_string(), value);
    }
}

/// `GET users/{id}`: details, enable or disable, reset password.
async fn details(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let context = user_context(&console, param(&path, "id"), "details").await?;
    render(&console, "user.html", context)
}

/// `POST users/{id}/enabled` with `enabled=true|false`.
async fn set_enabled(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let enabled = form.get("enabled") == "true";
    users::set_enabled(console.ops(), &realm, id, enabled).await?;
    let message = if enabled {
        "User enabled."
    } else {
        "User disabled: their sessions, tokens and docker logins have ended."
    };
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}", console.realm_base(&realm)),
        message,
    ))
}

/// `POST users/{id}/password` with `password` and `temporary`.
async fn reset_password(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let result = users::reset_password(
        console.ops(),
        &realm,
        id,
        form.get("password").to_string(),
        form.checked("temporary"),
    )
    .await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/users/{id}", console.realm_base(&realm)),
            "Password set. The user's sessions and docker logins have ended.",
        )),
        Err(e @ AdminError::InvalidRequest { .. }) => {
            let mut context = user_context(&console, id, "details").await?;
            insert(&mut context, "error_field", json!("password"));
            insert(&mut context, "error", json!(field_message(&e)));
            render_status(&console, StatusCode::BAD_REQUEST, "user.html", context)
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET users/{id}/groups`.
async fn user_groups(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    groups_tab(&console, param(&path, "id"), StatusCode::OK, None, "").await
}

async fn groups_tab(
    console: &Console,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    group: &str,
) -> Result<Response, ConsoleError> {
    let mut context = user_context(console, id, "groups").await?;
    let realm = realm_of(console);
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let db = console.state.store().connection();
    let ids = admin::users::group_ids(db, id).await?;
    let groups: Vec<Value> = ids
        .iter()
        .filter_map(|g| snapshot.group(g))
        .map(|g| json!({"id": g.id, "path": g.path}))
        .collect();
    insert(&mut context, "groups", json!(groups));
    insert(&mut context, "error", json!(error));
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "group")),
    );
    insert(&mut context, "group", json!(group));
    render_status(console, status, "user.html", context)
}

/// `POST users/{id}/groups` with `group` = a path such as `/team-a`.
async fn join_group(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let wanted = form.get("group").trim();
    let wanted_path = if wanted.starts_with('/') {
        wanted.to_string()
    } else {
        format!("/{wanted}")
    };
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let Some(group) = snapshot.groups.iter().find(|g| g.path == wanted_path) else {
        let message = format!("There is no group {wanted_path}.");
        return groups_tab(&console, id, StatusCode::BAD_REQUEST, Some(message), wanted).await;
    };
    users::membership(console.ops(), &realm, id, &group.id, true).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/groups", console.realm_base(&realm)),
        &format!("Added to {}.", group.path),
    ))
}

/// `POST users/{id}/groups/{group}/leave`.
async fn leave_group(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    users::membership(console.ops(), &realm, id, param(&path, "group"), false).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/groups", console.realm_base(&realm)),
        "Removed from the group.",
    ))
}

/// `GET users/{id}/access`: every registry, pattern and action the user gets, and through what.
async fn user_access(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let mut context = user_context(&console, id, "access").await?;
    let grants = access::user_access(console.ops(), &realm_of(&console), id).await?;
    let rows: Vec<Value> = grants
        .iter()
        .map(|g| {
            json!({
                "registry": g.registry,
                "pattern": g.pattern,
                "resource_type": g.resource_type,
                "actions": g.actions.join(","),
                "rule": g.rule,
                "through": g.through,
            })
        })
        .collect();
    insert(&mut context, "grants", json!(rows));
    render(&console, "user.html", context)
}

#[derive(Debug, Default, Deserialize)]
struct TreeQuery {
    parent: Option<String>,
    after: Option<String>,
}

/// `GET groups?parent=&after=`: one page of one level of the tree.
async fn group_tree(
    console: Console,
    Query(query): Query<TreeQuery>,
) -> Result<Response, ConsoleError> {
    tree_page(&console, &query, StatusCode::OK, None, "").await
}

async fn tree_page(
    console: &Console,
    query: &TreeQuery,
    status: StatusCode,
    error: Option<String>,
    name: &str,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let parent = query.parent.as_deref().filter(|p| !p.is_empty());
    let page = groups::children(
        console.ops(),
        &realm,
        parent,
        query.after.as_deref(),
        PAGE + 1,
    )
    .await?;
    let base = console.realm_base(&realm);
    let more = page.groups.len() as u64 > PAGE;
    let shown: Vec<_> = page.groups.iter().take(PAGE as usize).collect();
    let snapshot = console.state.realm(&realm).await?;
    let path_of = |id: &str| {
        snapshot
            .as_ref()
            .and_then(|s| s.group(id).map(|g| g.path.clone()))
            .unwrap_or_default()
    };
    let parent_path = parent.map(path_of);
    let rows: Vec<Value> = shown
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "name": g.name,
                "children": page.child_counts.get(&g.id).copied().unwrap_or(0),
                "href": format!("{base}/groups?parent={}", g.id),
            })
        })
        .collect();
    let next = more
        .then(|| shown.last().map(|g| g.name.clone()))
        .flatten()
        .map(|after| {
            let query = serde_urlencoded::to_string([
                ("parent", parent.unwrap_or("")),
                ("after", after.as_str()),
            ])
            .unwrap_or_default();
            format!("{base}/groups?{query}")
        });
    let up = parent.map(|p| {
        let grand = snapshot
            .as_ref()
            .and_then(|s| s.group(p).and_then(|g| g.parent_id.clone()));
        match grand {
            Some(g) => format!("{base}/groups?parent={g}"),
            None => format!("{base}/groups"),
        }
    });
    render_status(
        console,
        status,
        "groups.html",
        json!({
            "title": "Groups",
            "active": "groups",
            "groups": rows,
            "parent": parent,
            "parent_path": parent_path,
            "up": up,
            "next": next,
            "error": error,
            "name": name,
            "may_manage": console.caller.can(&realm, Right::ManageUsers),
        }),
    )
}

/// `POST groups` with `name` and `parent` (a group id; empty for the top level).
async fn create_group(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let name = form.get("name").trim().to_string();
    let parent = Some(form.get("parent").to_string()).filter(|p| !p.is_empty());
    let new = NewGroup {
        name: name.clone(),
        parent: parent.clone(),
        ..NewGroup::default()
    };
    let representation = json!({"name": name});
    let back = format!(
        "{}/groups{}",
        console.realm_base(&realm),
        parent
            .as_ref()
            .map_or(String::new(), |p| format!("?parent={p}"))
    );
    match groups::create(console.ops(), &realm, new, representation).await {
        Ok(_) => Ok(redirect_with_flash(
            &console,
            &back,
            &format!("Group {name} created."),
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            let query = TreeQuery {
                parent,
                after: None,
            };
            tree_page(
                &console,
                &query,
                StatusCode::BAD_REQUEST,
                Some(field_message(&e)),
                &name,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
