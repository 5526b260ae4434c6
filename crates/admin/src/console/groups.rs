//! A group's page: rename, move, delete (with what it takes away), members (one page at a
//! time, add by username), realm role mappings and client role mappings (choose a client, then
//! one of its roles).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_store::admin::roles::Holder;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, field_message, redirect_with_flash, render_status};
use super::page::{PAGE, Params, insert, param, realm_of};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::groups::{self, GroupUpdate};
use crate::ops::{mappings, users};
use crate::rep::role::RoleRef;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/groups/{{id}}{path}");
    Router::new()
        .route(&r(""), get(details))
        .route(&r("/name"), post(rename))
        .route(&r("/move"), post(move_group))
        .route(&r("/delete"), get(confirm_delete).post(delete))
        .route(&r("/members"), post(add_member))
        .route(&r("/members/{user}/remove"), post(remove_member))
        .route(&r("/roles"), post(map_role))
        .route(&r("/roles/{role}/remove"), post(unmap_role))
        .route(&r("/client-roles"), post(map_client_role))
}

#[derive(Debug, Default, Deserialize)]
struct MembersQuery {
    after: Option<String>,
    /// The `clientId` whose roles the client role form offers.
    client: Option<String>,
}

/// `GET groups/{id}?after=`.
async fn details(
    console: Console,
    Path(path): Params,
    Query(query): Query<MembersQuery>,
) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let client = query
        .client
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let page = GroupPage {
        after: query.after.as_deref(),
        client,
        ..GroupPage::default()
    };
    group_page(&console, id, StatusCode::OK, page).await
}

/// A field error and what was typed, for re-rendering the page.
#[derive(Default)]
struct GroupPage<'a> {
    after: Option<&'a str>,
    field: Option<&'a str>,
    error: Option<String>,
    typed: &'a str,
    /// The client chosen for the client role form.
    client: Option<&'a str>,
}

/// How many clients, and roles of one client, the client role form lists; past that it asks
/// for the name to be typed.
const CHOICES: usize = 100;

fn group_base(console: &Console, realm: &str, id: &str) -> String {
    format!("{}/groups/{id}", console.realm_base(realm))
}

async fn group_page(
    console: &Console,
    id: &str,
    status: StatusCode,
    page: GroupPage<'_>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let base = console.realm_base(&realm);
    let view = groups::get(console.ops(), &realm, id).await?;
    let group_base = group_base(console, &realm, id);
    let members = groups::members(
        console.ops(),
        &realm,
        id,
        groups::UserPage::After {
            after: page.after,
            limit: PAGE + 1,
        },
    )
    .await?;
    let more = members.len() as u64 > PAGE;
    let shown: Vec<_> = members.iter().take(PAGE as usize).collect();
    let next = more
        .then(|| shown.last().map(|u| u.username.clone()))
        .flatten()
        .map(|after| {
            let query =
                serde_urlencoded::to_string([("after", after.as_str())]).unwrap_or_default();
            format!("{group_base}?{query}")
        });
    let members: Vec<Value> = shown
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "href": format!("{base}/users/{}", u.id),
                "remove": format!("{group_base}/members/{}/remove", u.id),
            })
        })
        .collect();
    let snapshot = console.state.realm(&realm).await?;
    let (mut roles, mut client_roles) = (Vec::new(), Vec::new());
    for r in mappings::direct(console.ops(), &realm, Holder::Group(id)).await? {
        let remove = format!("{group_base}/roles/{}/remove", r.id);
        let role = snapshot.as_ref().and_then(|s| s.role(&r.id));
        match role.and_then(|role| role.client_id.clone()) {
            Some(client) => client_roles.push(json!({
                "client": client,
                "name": r.name,
                "qualified": format!("{client}.{}", r.name),
                "remove": remove,
            })),
            None => roles.push(json!({"name": r.name, "remove": remove})),
        }
    }
    let may_manage = console.caller.can(&realm, Right::ManageUsers);
    let may_map_client_roles = may_manage && console.caller.can(&realm, Right::ViewClients);
    let mut client_form = json!({"clients": [], "more": false, "chosen": null});
    let mut status = status;
    let mut error = (page.field, page.error.clone());
    if may_map_client_roles {
        let (clients, more) = mappings::role_clients(console.ops(), &realm, CHOICES).await?;
        let names: Vec<&str> = clients.iter().map(|c| c.client_id.as_str()).collect();
        insert(&mut client_form, "clients", json!(names));
        insert(&mut client_form, "more", json!(more));
        if let Some(chosen) = page.client {
            match mappings::client_roles(console.ops(), &realm, chosen, CHOICES).await? {
                Some((client, roles, more)) => {
                    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
                    insert(
                        &mut client_form,
                        "chosen",
                        json!({"client_id": client.client_id, "roles": names, "more": more}),
                    );
                }
                None if error.0.is_none() => {
                    status = StatusCode::BAD_REQUEST;
                    error = (
                        Some("client"),
                        Some(format!("There is no client {chosen}.")),
                    );
                }
                None => {}
            }
        }
    }
    let parent_path = view
        .group
        .parent_id
        .as_deref()
        .and_then(|p| snapshot.as_ref().and_then(|s| s.group(p)))
        .map(|g| g.path.clone());
    let up = match &view.group.parent_id {
        Some(p) => format!("{base}/groups?parent={p}"),
        None => format!("{base}/groups"),
    };
    let typed = |field: &str| {
        if page.field == Some(field) {
            page.typed.to_string()
        } else {
            String::new()
        }
    };
    let robots = super::robots::section(
        console,
        &view.group.id,
        &view.path,
        super::robots::RobotForm::default(),
    )
    .await?;
    let mut context = json!({
            "title": view.path,
            "active": "groups",
            "group": {
                "id": view.group.id,
                "name": view.group.name,
                "path": view.path,
                "parent_path": parent_path,
                "base": group_base,
                "up": up,
                "subgroups_href": format!("{base}/groups?parent={}", view.group.id),
                "subgroups": view.subgroups,
            },
            "members": members,
            "members_next": next,
            "members_first": page.after.map(|_| group_base.clone()),
            "roles": roles,
            "client_roles": client_roles,
            "may_map_client_roles": may_map_client_roles,
            "client_form": client_form,
            "form": {
                "name": if page.field == Some("name") { page.typed.to_string() } else { view.group.name.clone() },
                "parent": typed("parent"),
                "username": typed("username"),
                "role": typed("role"),
                "client": page.client.map_or_else(|| typed("client"), str::to_string),
                "client_role": typed("client_role"),
            },
            "error_field": error.0,
            "error": error.1,
            "may_manage": may_manage,
            "robots_from": "group",
    });
    if let (Some(page), Value::Object(robots)) = (context.as_object_mut(), robots) {
        page.extend(robots);
    }
    render_status(console, status, "group.html", context)
}

/// Renders the page again with an error beside `field`.
async fn refused(
    console: &Console,
    id: &str,
    field: &str,
    typed: &str,
    error: String,
) -> Result<Response, ConsoleError> {
    let page = GroupPage {
        after: None,
        field: Some(field),
        error: Some(error),
        typed,
        client: None,
    };
    group_page(console, id, StatusCode::BAD_REQUEST, page).await
}

fn manage_only(console: &Console) -> Result<(), ConsoleError> {
    if console.caller.can(&realm_of(console), Right::ManageUsers) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden)
    }
}

/// `POST groups/{id}/name` with `name`.
async fn rename(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let name = form.get("name").trim();
    let update = GroupUpdate {
        name: Some(name.to_string()),
        ..GroupUpdate::default()
    };
    let representation = json!({"name": name});
    match groups::update(console.ops(), &realm, id, update, representation).await {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &group_base(&console, &realm, id),
            &format!("Group renamed to {name}."),
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            refused(&console, id, "name", name, field_message(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST groups/{id}/move` with `parent`: a group path, or empty for the top level.
async fn move_group(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let typed = form.get("parent").trim();
    let parent = if typed.is_empty() || typed == "/" {
        None
    } else {
        let wanted = if typed.starts_with('/') {
            typed.trim_end_matches('/').to_string()
        } else {
            format!("/{}", typed.trim_end_matches('/'))
        };
        let snapshot = console
            .state
            .realm(&realm)
            .await?
            .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
        match snapshot.groups.iter().find(|g| g.path == wanted) {
            Some(g) => Some(g.id.clone()),
            None => {
                let message = format!("There is no group {wanted}.");
                return refused(&console, id, "parent", typed, message).await;
            }
        }
    };
    let representation = json!({"id": id, "parent": typed});
    match groups::move_to(console.ops(), &realm, id, parent.as_deref(), representation).await {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &group_base(&console, &realm, id),
            if parent.is_some() {
                "Group moved."
            } else {
                "Group moved to the top level."
            },
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            refused(&console, id, "parent", typed, field_message(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET groups/{id}/delete`: how many members and subgroups the deletion affects.
async fn confirm_delete(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let view = groups::get(console.ops(), &realm, id).await?;
    let base = group_base(&console, &realm, id);
    let subgroups = match view.subgroups {
        0 => "It has no subgroups.".to_string(),
        1 => "Its 1 subgroup is deleted with it.".to_string(),
        n => format!("Its {n} subgroups are deleted with it."),
    };
    let members = match view.members {
        0 => "No user is a member of it or of a subgroup.".to_string(),
        1 => "1 member (of the group or a subgroup) loses the roles and registry access it gives."
            .to_string(),
        n => format!(
            "{n} members (of the group or a subgroup) lose the roles and registry access it gives."
        ),
    };
    render_status(
        &console,
        StatusCode::OK,
        "confirm.html",
        json!({
            "title": format!("Delete group {}", view.path),
            "active": "groups",
            "heading": format!("Delete group {}?", view.path),
            "details": [subgroups, members, "Registry rules that name the group stop matching anyone."],
            "action": format!("{base}/delete"),
            "button": "Delete group",
            "cancel": base,
        }),
    )
}

/// `POST groups/{id}/delete`.
async fn delete(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let view = groups::get(console.ops(), &realm, id).await?;
    groups::delete(console.ops(), &realm, id).await?;
    let base = console.realm_base(&realm);
    let to = match &view.group.parent_id {
        Some(p) => format!("{base}/groups?parent={p}"),
        None => format!("{base}/groups"),
    };
    Ok(redirect_with_flash(
        &console,
        &to,
        &format!("Group {} deleted.", view.path),
    ))
}

/// `POST groups/{id}/members` with `username`.
async fn add_member(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let username = form.get("username").trim().to_lowercase();
    let _snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let found = if username.is_empty() {
        None
    } else {
        users::by_username(console.ops(), &realm, &username).await?
    };
    let Some(user) = found else {
        let message = if username.is_empty() {
            "Give a username.".to_string()
        } else {
            format!("There is no user {username}.")
        };
        return refused(&console, id, "username", &username, message).await;
    };
    users::membership(console.ops(), &realm, &user.id, id, true).await?;
    Ok(redirect_with_flash(
        &console,
        &group_base(&console, &realm, id),
        &format!("{} added to the group.", user.username),
    ))
}

/// `POST groups/{id}/members/{user}/remove`.
async fn remove_member(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    users::membership(console.ops(), &realm, param(&path, "user"), id, false).await?;
    Ok(redirect_with_flash(
        &console,
        &group_base(&console, &realm, id),
        "Member removed from the group.",
    ))
}

/// `POST groups/{id}/roles` with `role`: a realm role's name.
async fn map_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let name = form.get("role").trim();
    let role = RoleRef {
        id: None,
        name: Some(name.to_string()),
        client_role: false,
        container_id: None,
    };
    let representation = json!([{"name": name}]);
    match mappings::change(
        console.ops(),
        &realm,
        Holder::Group(id),
        None,
        vec![role],
        true,
        representation,
    )
    .await
    {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &group_base(&console, &realm, id),
            &format!("Role {name} mapped: every member holds it now."),
        )),
        Err(AdminError::NotFound(_)) if !name.is_empty() => {
            let message = format!("There is no realm role {name}.");
            refused(&console, id, "role", name, message).await
        }
        Err(AdminError::NotFound(_)) => {
            refused(
                &console,
                id,
                "role",
                name,
                "Give a realm role's name.".into(),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST groups/{id}/roles/{role}/remove`.
async fn unmap_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id, role_id) = (realm_of(&console), param(&path, "id"), param(&path, "role"));
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let client = snapshot
        .role(role_id)
        .and_then(|r| r.client_id.as_deref())
        .and_then(|c| snapshot.client(c))
        .map(|c| c.id.clone());
    let role = RoleRef {
        id: Some(role_id.to_string()),
        name: None,
        client_role: client.is_some(),
        container_id: client.clone(),
    };
    let representation = json!([{"id": role_id}]);
    mappings::change(
        console.ops(),
        &realm,
        Holder::Group(id),
        client.as_deref(),
        vec![role],
        false,
        representation,
    )
    .await?;
    Ok(redirect_with_flash(
        &console,
        &group_base(&console, &realm, id),
        "Role mapping removed.",
    ))
}

/// `POST groups/{id}/client-roles` with `client` (a `clientId`) and `role`: one of that
/// client's roles.
async fn map_client_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    manage_only(&console)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let client_id = form.get("client").trim();
    let name = form.get("role").trim();
    let found = match client_id {
        "" => None,
        given => mappings::client_roles(console.ops(), &realm, given, 0).await?,
    };
    let Some((client, _, _)) = found else {
        let message = match client_id {
            "" => "Choose a client.".to_string(),
            given => format!("There is no client {given}."),
        };
        return refused(&console, id, "client", client_id, message).await;
    };
    let wrong_role = |message: String| GroupPage {
        after: None,
        field: Some("client_role"),
        error: Some(message),
        typed: name,
        client: Some(client_id),
    };
    if name.is_empty() {
        let page = wrong_role(format!("Choose a role of {client_id}."));
        return group_page(&console, id, StatusCode::BAD_REQUEST, page).await;
    }
    let role = RoleRef {
        id: None,
        name: Some(name.to_string()),
        client_role: true,
        container_id: Some(client.id.clone()),
    };
    let representation = json!([{"name": name, "clientRole": true, "containerId": client.id}]);
    match mappings::change(
        console.ops(),
        &realm,
        Holder::Group(id),
        Some(&client.id),
        vec![role],
        true,
        representation,
    )
    .await
    {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &group_base(&console, &realm, id),
            &format!("Role {client_id}.{name} mapped: every member holds it now."),
        )),
        Err(AdminError::NotFound(_)) => {
            let page = wrong_role(format!("{client_id} has no role {name}."));
            group_page(&console, id, StatusCode::BAD_REQUEST, page).await
        }
        Err(e) => Err(e.into()),
    }
}
