//! Users (search with keyset pagination, create, enable or disable, reset password, links to
//! upstream identity providers, groups and roles with the mapper each came from, registry
//! access) and the group tree (one page of children at a time).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_store::admin;
use portcullis_store::broker::MembershipKind;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::page::{PAGE, Params, insert, param, realm_of};
use super::registries::timestamp;
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::groups::{self, NewGroup};
use crate::ops::users::{self, NewUser, PasswordInput};
use crate::ops::{access, federated, mappings};
use crate::rep::role::RoleRef;
use crate::rep::user::UserFields;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/users"), get(list).post(create))
        .route(&r("/users/new"), get(new_form))
        .route(&r("/users/{id}"), get(details))
        .route(&r("/users/{id}/enabled"), post(set_enabled))
        .route(&r("/users/{id}/password"), post(reset_password))
        .route(
            &r("/users/{id}/links/unlink"),
            get(confirm_unlink).post(unlink),
        )
        .route(&r("/users/{id}/groups"), get(user_groups).post(join_group))
        .route(&r("/users/{id}/groups/{group}/leave"), post(leave_group))
        .route(&r("/users/{id}/access"), get(user_access))
        .route(&r("/users/{id}/roles"), get(user_roles).post(map_role))
        .route(&r("/users/{id}/roles/{role}/remove"), post(unmap_role))
        .route(&r("/users/{id}/sessions"), get(user_sessions))
        .route(&r("/users/{id}/sessions/{session}/end"), post(end_session))
        .route(&r("/users/{id}/logout"), post(logout))
        .route(&r("/users/{id}/logins"), get(user_logins))
        .route(&r("/users/{id}/logins/{login}/revoke"), post(revoke_login))
        .route(&r("/users/{id}/attack"), get(brute_force))
        .route(&r("/users/{id}/unlock"), post(unlock))
        .route(&r("/users/{id}/delete"), post(delete_user))
        .route(&r("/groups"), get(group_tree).post(create_group))
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
    let user = users::get(console.ops(), &realm, id).await?;
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

/// The details tab: the user and their links to upstream identity providers.
async fn details_context(console: &Console, id: &str) -> Result<Value, ConsoleError> {
    let mut context = user_context(console, id, "details").await?;
    let realm = realm_of(console);
    let base = format!("{}/users/{id}", console.realm_base(&realm));
    let links: Vec<Value> = federated::list(console.ops(), &realm, id)
        .await?
        .iter()
        .map(|l| {
            json!({
                "provider": l.identity_provider,
                "user_id": l.federated_user_id,
                "username": l.federated_username,
                "unlink": unlink_href(&base, &l.identity_provider),
            })
        })
        .collect();
    insert(&mut context, "links", json!(links));
    Ok(context)
}

/// `GET users/{id}`: details, identity-provider links, enable or disable, reset password.
async fn details(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let context = details_context(&console, param(&path, "id")).await?;
    render(&console, "user.html", context)
}

/// Where a link's Unlink button leads: its confirmation page. The provider travels in the query
/// and the form, not the path: a link's provider is whatever an admin or a realm file wrote,
/// `..` included, and browsers resolve dot segments.
fn unlink_href(user_base: &str, provider: &str) -> String {
    let query = serde_urlencoded::to_string([("provider", provider)]).unwrap_or_default();
    format!("{user_base}/links/unlink?{query}")
}

#[derive(Debug, Default, Deserialize)]
struct UnlinkQuery {
    #[serde(default)]
    provider: String,
}

/// `GET users/{id}/links/unlink?provider=`: what unlinking breaks, and the form that does it.
async fn confirm_unlink(
    console: Console,
    Path(path): Params,
    Query(query): Query<UnlinkQuery>,
) -> Result<Response, ConsoleError> {
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let provider = query.provider.as_str();
    // Only spares viewers a form they cannot use: the unlink itself checks the rights.
    if !console.caller.can(&realm, Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let user = users::get(console.ops(), &realm, id).await?;
    let links = federated::list(console.ops(), &realm, id).await?;
    let link = links
        .iter()
        .find(|l| l.identity_provider == provider)
        .ok_or_else(|| ConsoleError::NotFound("There is no such link.".into()))?;
    let has_password = users::credentials(console.ops(), &realm, id)
        .await?
        .iter()
        .any(|c| c.kind == "password");
    let username = &user.username;
    let account = match &link.federated_username {
        Some(name) => format!("{name} ({})", link.federated_user_id),
        None => link.federated_user_id.clone(),
    };
    let mut details = vec![format!(
        "The account {account} at {provider} no longer signs in as {username}."
    )];
    if !has_password && links.len() == 1 {
        details.push(format!(
            "It is {username}'s only way to sign in: they have no password and no other \
             link. Set a password first, or they cannot sign in at all."
        ));
    }
    let base = format!("{}/users/{id}", console.realm_base(&realm));
    let heading = format!("Unlink {username} from {provider}?");
    render(
        &console,
        "confirm.html",
        json!({
            "title": heading,
            "active": "users",
            "heading": heading,
            "details": details,
            "action": format!("{base}/links/unlink"),
            "fields": [{"name": "provider", "value": provider}],
            "button": format!("Unlink from {provider}"),
            "cancel": base,
        }),
    )
}

/// `POST users/{id}/links/unlink` with `provider`.
async fn unlink(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id, provider) = (realm_of(&console), param(&path, "id"), form.get("provider"));
    federated::unlink(console.ops(), &realm, id, provider).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}", console.realm_base(&realm)),
        &format!("Unlinked from {provider}: that account no longer signs in as this user."),
    ))
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
            let mut context = details_context(&console, id).await?;
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
    let ids = users::group_ids(console.ops(), &realm, id).await?;
    let mut from = provenance(console, &realm, id, MembershipKind::Group).await?;
    let from_mappers = ids.iter().any(|g| from.contains_key(g));
    let groups: Vec<Value> = ids
        .iter()
        .filter_map(|g| snapshot.group(g))
        .map(|g| json!({"id": g.id, "path": g.path, "provenance": from.remove(&g.id).unwrap_or_default()}))
        .collect();
    insert(&mut context, "groups", json!(groups));
    insert(&mut context, "from_mappers", json!(from_mappers));
    insert(&mut context, "error", json!(error));
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "group")),
    );
    insert(&mut context, "group", json!(group));
    render_status(console, status, "user.html", context)
}

/// Where the user's memberships of one kind came from, by group or role id: "from {provider}
/// ({mapper}), last seen {time}" for each identity-provider mapper asserting it. A membership
/// an admin made has no entry.
async fn provenance(
    console: &Console,
    realm: &str,
    user_id: &str,
    kind: MembershipKind,
) -> Result<HashMap<String, Vec<String>>, ConsoleError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for p in federated::provenance(console.ops(), realm, user_id).await? {
        if p.kind != kind {
            continue;
        }
        let provider = if p.provider_alias.is_empty() {
            "an identity provider"
        } else {
            p.provider_alias.as_str()
        };
        let mapper = if p.mapper_name.is_empty() {
            String::new()
        } else {
            format!(" ({})", p.mapper_name)
        };
        let note = format!(
            "from {provider}{mapper}, last seen {}",
            timestamp(p.last_seen_at)
        );
        out.entry(p.target_id).or_default().push(note);
    }
    Ok(out)
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
                "page": format!("{base}/groups/{}", g.id),
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

/// `GET users/{id}/roles`: direct realm and client roles, and every effective role with where
/// it comes from.
async fn user_roles(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    roles_tab(&console, param(&path, "id"), StatusCode::OK, None, "").await
}

async fn roles_tab(
    console: &Console,
    id: &str,
    status: StatusCode,
    error: Option<String>,
    typed: &str,
) -> Result<Response, ConsoleError> {
    let mut context = user_context(console, id, "roles").await?;
    let realm = realm_of(console);
    let base = format!("{}/users/{id}", console.realm_base(&realm));
    let holder = admin::roles::Holder::User(id);
    let direct = mappings::direct(console.ops(), &realm, holder).await?;
    let mut from = provenance(console, &realm, id, MembershipKind::Role).await?;
    let from_mappers = direct.iter().any(|r| from.contains_key(&r.id));
    let snapshot = console.state.realm(&realm).await?;
    let name_of = |role: &portcullis_store::entity::role::Model| {
        snapshot
            .as_ref()
            .and_then(|s| s.role(&role.id).map(|r| r.qualified_name()))
            .unwrap_or_else(|| role.name.clone())
    };
    let mut direct: Vec<Value> = direct
        .iter()
        .map(|r| {
            json!({
                "name": name_of(r),
                "client": r.client_pk.is_some(),
                "remove": format!("{base}/roles/{}/remove", r.id),
                "provenance": from.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect();
    direct.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let effective: Vec<Value> = mappings::effective(console.ops(), &realm, id)
        .await?
        .into_iter()
        .map(|e| json!({"name": e.name, "source": e.source}))
        .collect();
    insert(&mut context, "direct", json!(direct));
    insert(&mut context, "from_mappers", json!(from_mappers));
    insert(&mut context, "effective", json!(effective));
    insert(&mut context, "role", json!(typed));
    insert(&mut context, "error", json!(error));
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "role")),
    );
    render_status(console, status, "user.html", context)
}

/// `POST users/{id}/roles` with `role`: a realm role name or `clientId.role`.
async fn map_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    if !console.caller.can(&realm_of(&console), Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let typed = form.get("role").trim();
    let Some(role) = crate::ops::roles::named(console.ops(), &realm, typed).await? else {
        let message = if typed.is_empty() {
            "Give the name of a role, or clientId.role for a client role.".to_string()
        } else {
            format!("There is no role {typed}.")
        };
        return roles_tab(&console, id, StatusCode::BAD_REQUEST, Some(message), typed).await;
    };
    let client = role.container_id.clone().filter(|_| role.client_role);
    let representation = json!([{"name": role.name, "clientRole": role.client_role,
                                  "containerId": role.container_id}]);
    let holder = admin::roles::Holder::User(id);
    mappings::change(
        console.ops(),
        &realm,
        holder,
        client.as_deref(),
        vec![role],
        true,
        representation,
    )
    .await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/roles", console.realm_base(&realm)),
        &format!("Role {typed} mapped."),
    ))
}

/// The internal id of the client owning a role, for the role's mapping scope.
async fn role_scope(
    console: &Console,
    realm: &str,
    role_id: &str,
) -> Result<Option<String>, ConsoleError> {
    let snapshot = console
        .state
        .realm(realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    Ok(snapshot
        .role(role_id)
        .and_then(|r| r.client_id.as_deref())
        .and_then(|c| snapshot.client(c))
        .map(|c| c.id.clone()))
}

/// `POST users/{id}/roles/{role}/remove`.
async fn unmap_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id, role_id) = (realm_of(&console), param(&path, "id"), param(&path, "role"));
    let client = role_scope(&console, &realm, role_id).await?;
    let role = RoleRef {
        id: Some(role_id.to_string()),
        name: None,
        client_role: client.is_some(),
        container_id: client.clone(),
    };
    let holder = admin::roles::Holder::User(id);
    let representation = json!([{"id": role_id}]);
    mappings::change(
        console.ops(),
        &realm,
        holder,
        client.as_deref(),
        vec![role],
        false,
        representation,
    )
    .await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/roles", console.realm_base(&realm)),
        "Role mapping removed.",
    ))
}

/// `GET users/{id}/sessions`: the user's live SSO sessions.
async fn user_sessions(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let mut context = user_context(&console, id, "sessions").await?;
    let realm = realm_of(&console);
    let base = format!("{}/users/{id}", console.realm_base(&realm));
    let sessions: Vec<Value> = users::sessions(console.ops(), &realm, id)
        .await?
        .iter()
        .map(|s| {
            json!({
                "started": timestamp(s.created_at),
                "last_seen": timestamp(s.last_seen_at),
                "end": format!("{base}/sessions/{}/end", s.id),
            })
        })
        .collect();
    insert(&mut context, "sessions", json!(sessions));
    render(&console, "user.html", context)
}

/// `POST users/{id}/sessions/{session}/end`.
async fn end_session(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    users::end_session(console.ops(), &realm, id, param(&path, "session")).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/sessions", console.realm_base(&realm)),
        "Session signed out.",
    ))
}

/// `POST users/{id}/logout`: signs the user out everywhere.
async fn logout(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    users::logout(console.ops(), &realm, id).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/sessions", console.realm_base(&realm)),
        "Signed out everywhere: every session, token and docker login of the user has ended.",
    ))
}

/// `GET users/{id}/logins`: the user's live docker logins, per registry.
async fn user_logins(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let mut context = user_context(&console, id, "logins").await?;
    let realm = realm_of(&console);
    let base = format!("{}/users/{id}", console.realm_base(&realm));
    let logins: Vec<Value> = users::docker_logins(console.ops(), &realm, id)
        .await?
        .iter()
        .map(|l| {
            json!({
                "registry": l.service,
                "created": timestamp(l.created_at),
                "last_used": timestamp(l.last_used_at),
                "expires": timestamp(l.expires_at),
                "address": l.last_address,
                "revoke": format!("{base}/logins/{}/revoke", l.id),
            })
        })
        .collect();
    insert(&mut context, "logins", json!(logins));
    render(&console, "user.html", context)
}

/// `POST users/{id}/logins/{login}/revoke`.
async fn revoke_login(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    access::revoke_login(console.ops(), &realm, param(&path, "login")).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/logins", console.realm_base(&realm)),
        "Docker login revoked: the registry refuses its next refresh.",
    ))
}

/// `GET users/{id}/attack`: brute-force status.
async fn brute_force(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let mut context = user_context(&console, id, "attack").await?;
    let status = users::brute_force(console.ops(), &realm_of(&console), id).await?;
    insert(
        &mut context,
        "attack",
        json!({
            "locked": status.locked,
            "failures": status.failures,
            "last_failure": (status.last_failure_ms > 0).then(|| timestamp(status.last_failure_ms / 1000)),
            "last_ip": status.last_ip,
        }),
    );
    render(&console, "user.html", context)
}

/// `POST users/{id}/unlock`: forgets the user's login failures.
async fn unlock(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    users::unlock(console.ops(), &realm, id).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users/{id}/attack", console.realm_base(&realm)),
        "User unlocked: their login failures are forgotten.",
    ))
}

/// `POST users/{id}/delete` with `confirm` = the username, typed.
async fn delete_user(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    if !console.caller.can(&realm_of(&console), Right::ManageUsers) {
        return Err(ConsoleError::Forbidden);
    }
    let (realm, id) = (realm_of(&console), param(&path, "id"));
    let mut context = details_context(&console, id).await?;
    let username = context["user"]["username"]
        .as_str()
        .unwrap_or("")
        .to_string();
    if form.get("confirm").trim() != username {
        insert(&mut context, "error_field", json!("confirm"));
        insert(
            &mut context,
            "error",
            json!(format!("Type {username} to confirm.")),
        );
        return render_status(&console, StatusCode::BAD_REQUEST, "user.html", context);
    }
    users::delete(console.ops(), &realm, id).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/users", console.realm_base(&realm)),
        &format!("User {username} deleted."),
    ))
}
