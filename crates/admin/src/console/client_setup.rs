//! A client's Client scopes tab (its default and optional scopes: add, remove, change type),
//! its Evaluate sub-page (what a `scope` parameter gives a user's tokens: mappers, roles and
//! example tokens, from the same evaluation the REST API's evaluate-scopes endpoints use), and
//! its Scope tab (full scope allowed, or the client's own role scope mappings).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_core::model::{ClientScope, RealmScopeType};
use portcullis_store::entity::client;
use portcullis_web::{AppState, ExampleToken};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client_scopes::{scope_base, type_label};
use super::clients::{client_base, client_context, oidc_client, require_manage};
use super::page::{ConsoleError, FormBody, Params, insert, param, realm_of};
use super::page::{redirect_with_flash, render_status};
use super::scope_mappings::{self, Holder, ScopePage, ScopeQuery};
use super::session::Console;
use crate::auth::Right;
use crate::context::encode_segment;
use crate::error::AdminError;
use crate::ops::{client_scopes, clients, users};
use crate::rep::client::ClientFields;

/// How many users a search on the Evaluate page offers.
const USER_CHOICES: u64 = 10;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/clients/{{id}}{path}");
    Router::new()
        .route(&r("/client-scopes"), get(scopes_tab).post(add_scope))
        .route(&r("/client-scopes/evaluate"), get(evaluate))
        .route(&r("/client-scopes/{scope}/type"), post(change_type))
        .route(&r("/client-scopes/{scope}/remove"), post(remove_scope))
        .route(&r("/scope"), get(scope_tab))
        .route(&r("/scope/full"), post(full_scope))
        .route(&r("/scope/realm"), post(add_realm_role))
        .route(&r("/scope/client"), post(add_client_role))
        .route(&r("/scope/{role}/remove"), post(remove_role))
}

fn read_kind(value: &str) -> Option<RealmScopeType> {
    match value {
        "default" => Some(RealmScopeType::Default),
        "optional" => Some(RealmScopeType::Optional),
        _ => None,
    }
}

/// The client's default and optional scope names, as stored.
fn assigned(row: &client::Model) -> Result<(Vec<String>, Vec<String>), ConsoleError> {
    let defaults: Vec<String> = crate::rep::stored(&row.default_client_scopes, "client scopes")?;
    let optional: Vec<String> = crate::rep::stored(&row.optional_client_scopes, "client scopes")?;
    Ok((defaults, optional))
}

/// `GET clients/{id}/client-scopes`.
async fn scopes_tab(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    scopes_page(&console, &row, StatusCode::OK, None).await
}

async fn scopes_page(
    console: &Console,
    row: &client::Model,
    status: StatusCode,
    error: Option<(&'static str, String)>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    // One read of the realm's scopes serves the assigned rows and the choices.
    let scopes = client_scopes::list(console.ops(), &realm).await?;
    let (defaults, optional) = assigned(row)?;
    let base = format!("{}/client-scopes", client_base(console, &row.id));
    let mut rows = Vec::new();
    for (names, kind) in [
        (&defaults, RealmScopeType::Default),
        (&optional, RealmScopeType::Optional),
    ] {
        for name in names {
            let Some(scope) = scopes.iter().find(|s| s.name == *name) else {
                continue;
            };
            let scope_href = format!("{base}/{}", encode_segment(&scope.id));
            rows.push(json!({
                "name": scope.name,
                "href": scope_base(console, &scope.id),
                "type": type_label(kind),
                "optional": kind == RealmScopeType::Optional,
                "description": scope.description,
                "type_action": format!("{scope_href}/type"),
                "remove": format!("{scope_href}/remove"),
            }));
        }
    }
    let choices: Vec<Value> = scopes
        .iter()
        .filter(|s| s.protocol == row.protocol)
        .filter(|s| !defaults.contains(&s.name) && !optional.contains(&s.name))
        .map(|s| json!({"id": s.id, "name": s.name}))
        .collect();
    let mut context = client_context(console, row, "client-scopes");
    insert(&mut context, "subtab", json!("setup"));
    insert(&mut context, "scopes", json!(rows));
    insert(&mut context, "scope_choices", json!(choices));
    let (field, message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    insert(&mut context, "error_field", json!(field));
    insert(&mut context, "error", json!(message));
    render_status(console, status, "client.html", context)
}

/// `POST clients/{id}/client-scopes` with `scope` (a scope id) and `type`.
async fn add_scope(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let Some(kind) = read_kind(form.get("type")) else {
        let error = ("type", "Choose Default or Optional.".to_string());
        return scopes_page(&console, &row, StatusCode::BAD_REQUEST, Some(error)).await;
    };
    let scope_id = form.get("scope");
    if scope_id.is_empty() {
        let error = ("scope", "Choose a client scope.".to_string());
        return scopes_page(&console, &row, StatusCode::BAD_REQUEST, Some(error)).await;
    }
    let realm = realm_of(&console);
    let result =
        client_scopes::set_client_scope(console.ops(), &realm, &row.id, scope_id, kind, true).await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/client-scopes", client_base(&console, &row.id)),
            &format!("Client scope added as {}.", type_label(kind).to_lowercase()),
        )),
        Err(e @ (AdminError::NotFound(_) | AdminError::BadRequest(_))) => {
            let error = ("scope", super::page::field_message(&e));
            scopes_page(&console, &row, StatusCode::BAD_REQUEST, Some(error)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The client's assigned scope `scope_id` and its current type.
async fn assigned_scope(
    console: &Console,
    row: &client::Model,
    scope_id: &str,
) -> Result<(ClientScope, RealmScopeType), ConsoleError> {
    let scope = client_scopes::find(console.ops(), &realm_of(console), scope_id).await?;
    let (defaults, optional) = assigned(row)?;
    let kind = if defaults.contains(&scope.name) {
        RealmScopeType::Default
    } else if optional.contains(&scope.name) {
        RealmScopeType::Optional
    } else {
        return Err(ConsoleError::NotFound(format!(
            "{} is not one of the client's scopes.",
            scope.name
        )));
    };
    Ok((scope, kind))
}

/// `POST clients/{id}/client-scopes/{scope}/type` with `type`: makes an assigned scope
/// default or optional.
async fn change_type(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let (scope, _) = assigned_scope(&console, &row, param(&path, "scope")).await?;
    let Some(kind) = read_kind(form.get("type")) else {
        return Err(ConsoleError::BadRequest(
            "Choose Default or Optional.".into(),
        ));
    };
    let realm = realm_of(&console);
    client_scopes::set_client_scope(console.ops(), &realm, &row.id, &scope.id, kind, true).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/client-scopes", client_base(&console, &row.id)),
        &format!("{} is now {}.", scope.name, type_label(kind).to_lowercase()),
    ))
}

/// `POST clients/{id}/client-scopes/{scope}/remove`.
async fn remove_scope(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let (scope, kind) = assigned_scope(&console, &row, param(&path, "scope")).await?;
    let realm = realm_of(&console);
    client_scopes::set_client_scope(console.ops(), &realm, &row.id, &scope.id, kind, false).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/client-scopes", client_base(&console, &row.id)),
        &format!("{} removed from the client's scopes.", scope.name),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct EvaluateQuery {
    /// A username, or the start of one.
    user: Option<String>,
}

/// `GET clients/{id}/client-scopes/evaluate?user=&scope=...`: the optional scopes ticked
/// make the `scope` parameter (`openid` and them); for the user named, the effective
/// mappers, the roles in scope and example tokens.
async fn evaluate(
    console: Console,
    Path(path): Params,
    Query(query): Query<EvaluateQuery>,
    raw: axum::extract::RawQuery,
) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    let realm = realm_of(&console);
    let query_form = FormBody::parse(raw.0.unwrap_or_default().as_bytes())?;
    let ticked: Vec<&str> = query_form.all("scope");
    let scopes = client_scopes::list(console.ops(), &realm).await?;
    let (_, optional) = assigned(&row)?;
    let optional_rows: Vec<Value> = optional
        .iter()
        .filter(|n| scopes.iter().any(|s| s.name == **n))
        .map(|n| json!({"name": n, "checked": ticked.contains(&n.as_str())}))
        .collect();
    let mut parameter = vec!["openid".to_string()];
    parameter.extend(
        optional
            .iter()
            .filter(|n| ticked.contains(&n.as_str()))
            .cloned(),
    );
    let scope_parameter = parameter.join(" ");
    let scope = Some(scope_parameter.as_str());

    let mappers = client_scopes::evaluate_mappers(console.ops(), &realm, &row.id, scope).await?;
    let mapper_rows: Vec<Value> = mappers
        .iter()
        .map(|m| {
            let href = match m.container_type {
                "client-scope" => format!("{}/mappers", scope_base(&console, &m.container_id)),
                _ => format!("{}/mappers", client_base(&console, &m.container_id)),
            };
            json!({
                "name": m.mapper.name,
                "type": m.mapper.mapper_type,
                "from": m.container_name,
                "from_kind": if m.container_type == "client" { "client" } else { "client scope" },
                "href": href,
                "claim": m.mapper.config.get("claim.name"),
            })
        })
        .collect();
    let roles =
        client_scopes::evaluate_granted_roles(console.ops(), &realm, &row.id, scope).await?;
    let role_rows: Vec<Value> = roles
        .iter()
        .map(|r| json!({"name": r.name, "client": r.client_id, "qualified": r.qualified_name()}))
        .collect();

    let typed = query.user.unwrap_or_default();
    let may_view_users = console.caller.can(&realm, Right::ViewUsers);
    let mut chosen = None;
    let mut matches = Vec::new();
    let mut user_error = None;
    if may_view_users && !typed.trim().is_empty() {
        match users::by_username(console.ops(), &realm, &typed).await? {
            Some(user) => chosen = Some(user),
            None => {
                let found =
                    users::page(console.ops(), &realm, &typed, None, USER_CHOICES + 1).await?;
                if found.is_empty() {
                    user_error = Some(format!(
                        "No user's username or email starts with {}.",
                        typed.trim()
                    ));
                }
                matches = found
                    .iter()
                    .take(USER_CHOICES as usize)
                    .map(|u| {
                        let mut fields: Vec<(&str, &str)> = vec![("user", u.username.as_str())];
                        fields.extend(ticked.iter().map(|s| ("scope", *s)));
                        let query = serde_urlencoded::to_string(fields).unwrap_or_default();
                        json!({
                            "username": u.username,
                            "email": u.email,
                            "href": format!("{}/client-scopes/evaluate?{query}", client_base(&console, &row.id)),
                        })
                    })
                    .collect();
            }
        }
    }
    let mut examples = Vec::new();
    if let Some(user) = &chosen {
        for (kind, id, label) in [
            (
                ExampleToken::Access,
                "access-token",
                "Generated access token",
            ),
            (ExampleToken::Id, "id-token", "Generated ID token"),
            (ExampleToken::Userinfo, "userinfo", "Generated userinfo"),
        ] {
            let token = client_scopes::example(
                console.ops(),
                &realm,
                &row.id,
                scope,
                Some(user.id.as_str()),
                kind,
            )
            .await;
            let text = match token {
                Ok(map) => serde_json::to_string_pretty(&Value::Object(map))
                    .map_err(|e| ConsoleError::Internal(e.to_string()))?,
                Err(AdminError::BadRequest(message)) => message,
                Err(e) => return Err(e.into()),
            };
            examples.push(json!({"id": id, "label": label, "json": text}));
        }
    }
    let mut context = client_context(&console, &row, "client-scopes");
    insert(&mut context, "subtab", json!("evaluate"));
    insert(
        &mut context,
        "title",
        json!(format!("Evaluate {}", row.client_id)),
    );
    insert(
        &mut context,
        "evaluation",
        json!({
            "action": format!("{}/client-scopes/evaluate", client_base(&console, &row.id)),
            "optional": optional_rows,
            "scope": scope_parameter,
            "user": typed,
            "may_view_users": may_view_users,
            "chosen": chosen.as_ref().map(|u| json!({"username": u.username, "id": u.id})),
            "matches": matches,
            "more": matches.len() as u64 >= USER_CHOICES,
            "mappers": mapper_rows,
            "roles": role_rows,
            "full_scope": row.full_scope_allowed,
            "examples": examples,
        }),
    );
    // An unknown user is a search without hits, not a refused form: still 200.
    let status = StatusCode::OK;
    insert(
        &mut context,
        "error_field",
        json!(user_error.as_ref().map(|_| "user")),
    );
    insert(&mut context, "error", json!(user_error));
    render_status(&console, status, "client.html", context)
}

async fn holder(
    console: &Console,
    path: &BTreeMap<String, String>,
) -> Result<Holder, ConsoleError> {
    Ok(Holder::Client(Box::new(
        oidc_client(console, param(path, "id")).await?,
    )))
}

/// `GET clients/{id}/scope?client=`: full scope allowed, or the client's role scope mappings.
async fn scope_tab(
    console: Console,
    Path(path): Params,
    Query(query): Query<ScopeQuery>,
) -> Result<Response, ConsoleError> {
    let holder = holder(&console, &path).await?;
    let page = ScopePage {
        client: query.client.as_deref(),
        ..ScopePage::default()
    };
    scope_mappings::render(&console, &holder, StatusCode::OK, page).await
}

/// `POST clients/{id}/scope/full` with `full` checked or not.
async fn full_scope(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let full = form.checked("full");
    let fields = ClientFields {
        full_scope_allowed: Some(full),
        ..ClientFields::default()
    };
    clients::update(
        console.ops(),
        &realm_of(&console),
        &row.id,
        fields,
        serde_json::Map::new(),
        json!({"fullScopeAllowed": full}),
    )
    .await?;
    let message = if full {
        "Full scope allowed: the client's tokens may carry every role the user holds."
    } else {
        "Full scope is off: the client's tokens carry only the roles in its scope."
    };
    Ok(redirect_with_flash(
        &console,
        &format!("{}/scope", client_base(&console, &row.id)),
        message,
    ))
}

/// `POST clients/{id}/scope/realm`.
async fn add_realm_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let holder = holder(&console, &path).await?;
    require_manage(&console)?;
    scope_mappings::add_realm_role(&console, &holder, &form).await
}

/// `POST clients/{id}/scope/client`.
async fn add_client_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let holder = holder(&console, &path).await?;
    require_manage(&console)?;
    scope_mappings::add_client_role(&console, &holder, &form).await
}

/// `POST clients/{id}/scope/{role}/remove`.
async fn remove_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let holder = holder(&console, &path).await?;
    scope_mappings::remove(&console, &holder, param(&path, "role")).await
}
