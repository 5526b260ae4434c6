//! Roles: realm and client roles (a client chosen by its `clientId`), create a realm role, and
//! a role's page: composites, the users who hold it (directly, through a group or a composite),
//! delete.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use portcullis_store::admin::Page;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, field_message, redirect_with_flash, render_status};
use super::page::{PAGE, Params, insert, param, realm_of};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::roles::{self, Container, Locator};
use crate::rep::role::RoleFields;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/roles"), get(list).post(create))
        .route(&r("/roles/{id}"), get(details))
        .route(
            &r("/roles/{id}/composites"),
            axum::routing::post(add_composite),
        )
        .route(
            &r("/roles/{id}/composites/{child}/remove"),
            axum::routing::post(remove_composite),
        )
        .route(&r("/roles/{id}/delete"), get(confirm_delete).post(delete))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// A client's `clientId`: its roles instead of the realm's.
    client: Option<String>,
    /// How many roles to skip (roles are few per container; names sort the list).
    first: Option<u64>,
}

/// `GET roles?client=&first=`: one page of realm roles or of one client's roles.
async fn list(console: Console, Query(query): Query<ListQuery>) -> Result<Response, ConsoleError> {
    list_page(&console, &query, StatusCode::OK, None, &FormBody::default()).await
}

async fn list_page(
    console: &Console,
    query: &ListQuery,
    status: StatusCode,
    error: Option<(&str, String)>,
    form: &FormBody,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let base = console.realm_base(&realm);
    let client_id = query
        .client
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let mut client_error = None;
    let client = match client_id {
        Some(client_id) => match snapshot.client(client_id) {
            Some(c) => Some(c.id.clone()),
            None => {
                client_error = Some(format!("There is no client {client_id}."));
                None
            }
        },
        None => None,
    };
    let first = query.first.unwrap_or(0);
    let page = Page {
        first,
        max: Some(PAGE + 1),
    };
    let rows = if client_error.is_some() {
        Vec::new()
    } else {
        roles::list(console.ops(), &realm, client.as_deref(), None, page).await?
    };
    let more = rows.len() as u64 > PAGE;
    let link = |first: u64| {
        let mut pairs = vec![("first", first.to_string())];
        if let Some(c) = client_id {
            pairs.push(("client", c.to_string()));
        }
        format!(
            "{base}/roles?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    };
    let shown: Vec<Value> = rows
        .iter()
        .take(PAGE as usize)
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "href": format!("{base}/roles/{}", r.id),
            })
        })
        .collect();
    let (error_field, error_message) = match (error, client_error) {
        (Some((f, m)), _) => (Some(f.to_string()), Some(m)),
        (None, Some(m)) => (Some("client".to_string()), Some(m)),
        (None, None) => (None, None),
    };
    render_status(
        console,
        status,
        "roles.html",
        json!({
            "title": "Roles",
            "active": "roles",
            "roles": shown,
            "client": client_id.unwrap_or(""),
            "next": more.then(|| link(first + PAGE)),
            "previous": (first > 0).then(|| link(first.saturating_sub(PAGE))),
            "may_create": client_id.is_none() && console.caller.can(&realm, Right::ManageRealm),
            "form": {"name": form.get("name"), "description": form.get("description")},
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// `POST roles` with `name` and `description`: a realm role (`manage-realm`).
async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let name = form.get("name").trim().to_string();
    let description = form.get("description").trim().to_string();
    let query = ListQuery::default();
    if name.is_empty() {
        let error = Some(("name", "Give the role a name.".to_string()));
        return list_page(&console, &query, StatusCode::BAD_REQUEST, error, &form).await;
    }
    let fields = RoleFields {
        name: Some(name.clone()),
        description: Some((!description.is_empty()).then(|| description.clone())),
        ..RoleFields::default()
    };
    let representation = json!({"name": name, "description": description});
    match roles::create(console.ops(), &realm, None, None, fields, representation).await {
        Ok(_) => {
            let locator = Locator::Name {
                client: None,
                name: name.clone(),
            };
            let id = roles::get(console.ops(), &realm, &locator)
                .await
                .ok()
                .map(|view| view.role.id);
            let base = console.realm_base(&realm);
            let to = id.map_or(format!("{base}/roles"), |id| format!("{base}/roles/{id}"));
            Ok(redirect_with_flash(
                &console,
                &to,
                &format!("Role {name} created."),
            ))
        }
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            let error = Some(("name", field_message(&e)));
            list_page(&console, &query, StatusCode::BAD_REQUEST, error, &form).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct HoldersQuery {
    after: Option<String>,
}

/// `GET roles/{id}?after=`: the role, its composites and one page of its holders.
async fn details(
    console: Console,
    Path(path): Params,
    Query(query): Query<HoldersQuery>,
) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    role_page(
        &console,
        id,
        query.after.as_deref(),
        StatusCode::OK,
        None,
        "",
    )
    .await
}

/// What the role and its page show.
async fn role_context(console: &Console, id: &str) -> Result<(Value, bool), ConsoleError> {
    let realm = realm_of(console);
    let base = console.realm_base(&realm);
    let view = roles::get(console.ops(), &realm, &Locator::Id(id.to_string())).await?;
    let snapshot = console.state.realm(&realm).await?;
    let qualified = |role_id: &str, name: &str| {
        snapshot
            .as_ref()
            .and_then(|s| s.role(role_id).map(|r| r.qualified_name()))
            .unwrap_or_else(|| name.to_string())
    };
    let client = match &view.container {
        Container::Realm => None,
        Container::Client(c) => Some(c.client_id.clone()),
    };
    let may_manage = console.caller.can(&realm, view.container.manage_right());
    let composites: Vec<Value> = view
        .children
        .iter()
        .map(|c| {
            json!({
                "name": qualified(&c.id, &c.name),
                "href": format!("{base}/roles/{}", c.id),
                "remove": format!("{base}/roles/{}/composites/{}/remove", view.role.id, c.id),
            })
        })
        .collect();
    let role_base = format!("{base}/roles/{}", view.role.id);
    let back = match &client {
        Some(c) => format!(
            "{base}/roles?{}",
            serde_urlencoded::to_string([("client", c.as_str())]).unwrap_or_default()
        ),
        None => format!("{base}/roles"),
    };
    Ok((
        json!({
            "title": qualified(&view.role.id, &view.role.name),
            "active": "roles",
            "role": {
                "id": view.role.id,
                "name": qualified(&view.role.id, &view.role.name),
                "description": view.role.description,
                "client": client,
                "base": role_base,
                "back": back,
            },
            "composites": composites,
            "may_manage": may_manage,
        }),
        may_manage,
    ))
}

async fn role_page(
    console: &Console,
    id: &str,
    after: Option<&str>,
    status: StatusCode,
    error: Option<String>,
    typed: &str,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let base = console.realm_base(&realm);
    let (mut context, _) = role_context(console, id).await?;
    insert(&mut context, "holders_next", Value::Null);
    let locator = Locator::Id(id.to_string());
    // Who holds the role needs `query-users`; without it the page shows the role alone.
    let holders = if console.caller.can(&realm, Right::QueryUsers) {
        let rows = roles::holders(console.ops(), &realm, &locator, after, PAGE + 1).await?;
        let more = rows.len() as u64 > PAGE;
        let shown: Vec<&roles::Holding> = rows.iter().take(PAGE as usize).collect();
        let next = more
            .then(|| shown.last().map(|h| h.user.username.clone()))
            .flatten()
            .map(|after| {
                let query =
                    serde_urlencoded::to_string([("after", after.as_str())]).unwrap_or_default();
                format!("{base}/roles/{id}?{query}")
            });
        insert(&mut context, "holders_next", json!(next));
        let rows: Vec<Value> = shown
            .iter()
            .map(|h| {
                json!({
                    "username": h.user.username,
                    "href": format!("{base}/users/{}", h.user.id),
                    "how": h.how,
                })
            })
            .collect();
        Some(rows)
    } else {
        None
    };
    insert(&mut context, "may_list_holders", json!(holders.is_some()));
    insert(&mut context, "holders", json!(holders.unwrap_or_default()));
    insert(
        &mut context,
        "holders_first",
        json!(after.map(|_| format!("{base}/roles/{id}"))),
    );
    insert(&mut context, "composite", json!(typed));
    insert(&mut context, "error", json!(error));
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "composite")),
    );
    render_status(console, status, "role.html", context)
}

/// `POST roles/{id}/composites` with `composite`: a realm role name or `clientId.role`.
async fn add_composite(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let (_, may_manage) = role_context(&console, id).await?;
    if !may_manage {
        return Err(ConsoleError::Forbidden);
    }
    let typed = form.get("composite").trim();
    let page = &console;
    let bad = |message: String| async move {
        role_page(
            page,
            id,
            None,
            StatusCode::BAD_REQUEST,
            Some(message),
            typed,
        )
        .await
    };
    let Some(child) = roles::named(console.ops(), &realm, typed).await? else {
        let message = if typed.is_empty() {
            "Give the name of a role, or clientId.role for a client role.".to_string()
        } else {
            format!("There is no role {typed}.")
        };
        return bad(message).await;
    };
    let representation = json!([{"name": child.name, "clientRole": child.client_role,
                                  "containerId": child.container_id}]);
    let locator = Locator::Id(id.to_string());
    let result = roles::change_composites(
        console.ops(),
        &realm,
        &locator,
        std::slice::from_ref(&child),
        true,
        representation,
    )
    .await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/roles/{id}", console.realm_base(&realm)),
            &format!("{typed} added to the role's composites."),
        )),
        Err(e @ AdminError::BadRequest(_)) => bad(field_message(&e)).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST roles/{id}/composites/{child}/remove`.
async fn remove_composite(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id, child) = (
        realm_of(&console),
        param(&path, "id"),
        param(&path, "child"),
    );
    let child_ref = crate::rep::role::RoleRef {
        id: Some(child.to_string()),
        name: None,
        client_role: false,
        container_id: None,
    };
    let representation = json!([{"id": child}]);
    let locator = Locator::Id(id.to_string());
    roles::change_composites(
        console.ops(),
        &realm,
        &locator,
        std::slice::from_ref(&child_ref),
        false,
        representation,
    )
    .await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/roles/{id}", console.realm_base(&realm)),
        "Composite removed.",
    ))
}

/// `GET roles/{id}/delete`: what deleting the role takes away, and a button.
async fn confirm_delete(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let (context, may_manage) = role_context(&console, id).await?;
    if !may_manage {
        return Err(ConsoleError::Forbidden);
    }
    let name = context["role"]["name"].as_str().unwrap_or("").to_string();
    let role_base = context["role"]["base"].as_str().unwrap_or("").to_string();
    render_status(
        &console,
        StatusCode::OK,
        "confirm.html",
        json!({
            "title": format!("Delete role {name}"),
            "active": "roles",
            "heading": format!("Delete role {name}?"),
            "details": [
                "Every user and group mapped to it loses it, and so does every composite that contains it.",
                "Registry rules that name the role stop matching anyone.",
            ],
            "action": format!("{role_base}/delete"),
            "button": "Delete role",
            "cancel": role_base,
        }),
    )
}

/// `POST roles/{id}/delete`.
async fn delete(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let locator = Locator::Id(id.to_string());
    let view = roles::get(console.ops(), &realm, &locator).await?;
    roles::delete(console.ops(), &realm, &locator).await?;
    let base = console.realm_base(&realm);
    let to = match &view.container {
        Container::Realm => format!("{base}/roles"),
        Container::Client(c) => format!(
            "{base}/roles?{}",
            serde_urlencoded::to_string([("client", c.client_id.as_str())]).unwrap_or_default()
        ),
    };
    Ok(redirect_with_flash(
        &console,
        &to,
        &format!("Role {} deleted.", view.role.name),
    ))
}
