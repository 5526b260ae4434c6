//! Client scopes: the realm's list with a filter and each scope's realm type (Default,
//! Optional or None: whether new clients get it), create, and a scope's page with its settings
//! (and deletion), protocol mappers and role scope mappings.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_core::model::{ClientScope, RealmScopeType};
use portcullis_store::representation::ClientScopeRepresentation;
use portcullis_web::AppState;
use serde::Deserialize;
use serde_json::{Value, json};

use super::clients::MapperQuery;
use super::mappers::{self, FieldError};
use super::page::{Confirmation, Params, insert, param, realm_of};
use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::scope_mappings::{self, Holder, ScopePage, ScopeQuery};
use super::session::Console;
use crate::auth::Right;
use crate::context::encode_segment;
use crate::error::AdminError;
use crate::ops::client_scopes::{self, OPENID_CONNECT};

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/client-scopes{path}");
    Router::new()
        .route(&r(""), get(list).post(create))
        .route(&r("/new"), get(new_form))
        .route(&r("/{id}"), get(settings).post(update))
        .route(&r("/{id}/type"), post(set_type))
        .route(&r("/{id}/delete"), get(delete_form).post(delete))
        .route(&r("/{id}/mappers"), get(mappers).post(add_mapper))
        .route(&r("/{id}/mappers/new"), get(new_mapper))
        .route(
            &r("/{id}/mappers/{mapper}"),
            get(mapper).post(update_mapper),
        )
        .route(&r("/{id}/mappers/{mapper}/delete"), post(delete_mapper))
        .route(&r("/{id}/scope"), get(scope_tab))
        .route(&r("/{id}/scope/realm"), post(add_realm_role))
        .route(&r("/{id}/scope/client"), post(add_client_role))
        .route(&r("/{id}/scope/{role}/remove"), post(remove_role))
}

fn may_manage(console: &Console) -> bool {
    console.caller.can(&realm_of(console), Right::ManageClients)
}

/// Whether the admin may change which scopes new clients get (`manage-realm`).
fn may_set_type(console: &Console) -> bool {
    console.caller.can(&realm_of(console), Right::ManageRealm)
}

fn require_manage(console: &Console) -> Result<(), ConsoleError> {
    if may_manage(console) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden)
    }
}

fn scopes_base(console: &Console) -> String {
    format!("{}/client-scopes", console.realm_base(&realm_of(console)))
}

pub(super) fn scope_base(console: &Console, id: &str) -> String {
    format!("{}/{}", scopes_base(console), encode_segment(id))
}

/// The form value and label of a realm type.
pub(super) fn type_value(kind: RealmScopeType) -> &'static str {
    match kind {
        RealmScopeType::Default => "default",
        RealmScopeType::Optional => "optional",
        RealmScopeType::None => "none",
    }
}

pub(super) fn type_label(kind: RealmScopeType) -> &'static str {
    match kind {
        RealmScopeType::Default => "Default",
        RealmScopeType::Optional => "Optional",
        RealmScopeType::None => "None",
    }
}

fn read_type(value: &str) -> Option<RealmScopeType> {
    match value {
        "default" => Some(RealmScopeType::Default),
        "optional" => Some(RealmScopeType::Optional),
        "none" | "" => Some(RealmScopeType::None),
        _ => None,
    }
}

/// The scope and the tabs every scope page shows.
pub(super) fn scope_context(console: &Console, scope: &ClientScope, tab: &str) -> Value {
    json!({
        "title": scope.name,
        "active": "client-scopes",
        "tab": tab,
        "scope": {
            "id": scope.id,
            "name": scope.name,
            "protocol": scope.protocol,
            "type": type_label(scope.realm_type),
            "base": scope_base(console, &scope.id),
        },
        "may_manage": may_manage(console),
        "may_set_type": may_set_type(console),
        "types": type_choices(scope.realm_type),
    })
}

fn type_choices(current: RealmScopeType) -> Value {
    json!(
        [
            RealmScopeType::Default,
            RealmScopeType::Optional,
            RealmScopeType::None
        ]
        .iter()
        .map(
            |k| json!({"value": type_value(*k), "label": type_label(*k), "selected": *k == current})
        )
        .collect::<Vec<_>>()
    )
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
}

/// `GET client-scopes?q=`: every client scope of the realm whose name contains `q`.
async fn list(console: Console, Query(query): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let realm = realm_of(&console);
    let q = query.q.unwrap_or_default();
    let needle = q.trim().to_lowercase();
    let scopes = client_scopes::list(console.ops(), &realm).await?;
    let rows: Vec<Value> = scopes
        .iter()
        .filter(|s| needle.is_empty() || s.name.to_lowercase().contains(&needle))
        .map(|s| {
            json!({
                "id": s.id,
                "name": s.name,
                "protocol": s.protocol,
                "description": s.description,
                "type": type_label(s.realm_type),
                "types": type_choices(s.realm_type),
                "href": scope_base(&console, &s.id),
            })
        })
        .collect();
    render(
        &console,
        "client_scopes.html",
        json!({
            "title": "Client scopes",
            "active": "client-scopes",
            "scopes": rows,
            "any": !scopes.is_empty(),
            "q": q,
            "may_manage": may_manage(&console),
            "may_set_type": may_set_type(&console),
        }),
    )
}

/// The scope form's values, as the template shows them.
fn form_view(form: &FormBody) -> Value {
    json!({
        "name": form.get("name"),
        "description": form.get("description"),
        "protocol": form.get("protocol"),
        "type": form.get("type"),
        "consent": form.checked("consent"),
        "consentText": form.get("consentText"),
        "includeInToken": form.checked("includeInToken"),
    })
}

/// A stored scope as the form shows it.
fn scope_view(scope: &ClientScope) -> Value {
    let attribute = |key: &str| scope.attributes.get(key).cloned().unwrap_or_default();
    json!({
        "name": scope.name,
        "description": scope.description.clone().unwrap_or_default(),
        "protocol": scope.protocol,
        "type": type_value(scope.realm_type),
        "consent": attribute(ClientScope::DISPLAY_ON_CONSENT_SCREEN) != "false",
        "consentText": attribute(ClientScope::CONSENT_SCREEN_TEXT),
        "includeInToken": scope.include_in_token_scope(),
    })
}

/// What the scope form says, checked.
struct ScopeInput {
    name: String,
    description: String,
    protocol: String,
    kind: RealmScopeType,
    consent: bool,
    consent_text: String,
    include_in_token: bool,
}

fn read_scope_form(console: &Console, form: &FormBody) -> Result<ScopeInput, FieldError> {
    let name = form.get("name").trim().to_string();
    if name.is_empty() {
        return Err(("name", "Give the scope a name, such as profile.".into()));
    }
    if client_scopes::check_name(&name).is_err() {
        return Err((
            "name",
            "A scope name is what clients ask for in the scope parameter: no spaces, quotes or backslashes.".into(),
        ));
    }
    let protocol = match form.get("protocol") {
        "" => OPENID_CONNECT.to_string(),
        given if console.protocols.find(given).is_some() => given.to_string(),
        _ => return Err(("protocol", "Choose one of the protocols listed.".into())),
    };
    let Some(kind) = read_type(form.get("type")) else {
        return Err(("type", "Choose Default, Optional or None.".into()));
    };
    Ok(ScopeInput {
        name,
        description: form.get("description").trim().to_string(),
        protocol,
        kind,
        consent: form.checked("consent"),
        consent_text: form.get("consentText").trim().to_string(),
        include_in_token: form.checked("includeInToken"),
    })
}

impl ScopeInput {
    /// The scope's attributes after the change, keeping those the form does not show.
    fn attributes(&self, mut attributes: BTreeMap<String, String>) -> BTreeMap<String, String> {
        attributes.insert(
            ClientScope::DISPLAY_ON_CONSENT_SCREEN.into(),
            self.consent.to_string(),
        );
        if self.consent_text.is_empty() {
            attributes.remove(ClientScope::CONSENT_SCREEN_TEXT);
        } else {
            attributes.insert(
                ClientScope::CONSENT_SCREEN_TEXT.into(),
                self.consent_text.clone(),
            );
        }
        attributes.insert(
            ClientScope::INCLUDE_IN_TOKEN_SCOPE.into(),
            self.include_in_token.to_string(),
        );
        attributes
    }

    fn representation(&self, attributes: &BTreeMap<String, String>) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "protocol": self.protocol,
            "attributes": attributes,
        })
    }
}

fn protocols(console: &Console) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = console.protocols.iter().map(|p| p.name()).collect();
    names.sort_unstable();
    names
}

/// `GET client-scopes/new`.
async fn new_form(console: Console) -> Result<Response, ConsoleError> {
    let form = FormBody(vec![
        ("protocol".into(), OPENID_CONNECT.into()),
        ("type".into(), "none".into()),
        ("consent".into(), "on".into()),
        ("includeInToken".into(), "on".into()),
    ]);
    new_page(&console, StatusCode::OK, &form, None)
}

fn new_page(
    console: &Console,
    status: StatusCode,
    form: &FormBody,
    error: Option<FieldError>,
) -> Result<Response, ConsoleError> {
    require_manage(console)?;
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    render_status(
        console,
        status,
        "client_scope_new.html",
        json!({
            "title": "New client scope",
            "active": "client-scopes",
            "form": form_view(form),
            "protocols": protocols(console),
            "creating": true,
            "may_manage": true,
            "may_set_type": may_set_type(console),
            "types": type_choices(read_type(form.get("type")).unwrap_or_default()),
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// The field an operation's refusal belongs beside.
fn field_of(error: &AdminError) -> Option<&'static str> {
    match error {
        AdminError::Conflict(_) | AdminError::BadRequest(_) | AdminError::InvalidField { .. } => {
            Some("name")
        }
        _ => None,
    }
}

/// Makes the scope's realm type `kind` (`manage-realm`, checked by the operation).
async fn change_type(
    console: &Console,
    scope: &ClientScope,
    kind: RealmScopeType,
) -> Result<(), AdminError> {
    let realm = realm_of(console);
    match (scope.realm_type, kind) {
        (current, wanted) if current == wanted => Ok(()),
        (current, RealmScopeType::None) => {
            client_scopes::set_realm_default(console.ops(), &realm, &scope.id, current, false).await
        }
        (_, wanted) => {
            client_scopes::set_realm_default(console.ops(), &realm, &scope.id, wanted, true).await
        }
    }
}

/// `POST client-scopes`: creates a client scope, with its realm type.
async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let input = match read_scope_form(&console, &form) {
        Ok(input) => input,
        Err(error) => return new_page(&console, StatusCode::BAD_REQUEST, &form, Some(error)),
    };
    if input.kind != RealmScopeType::None && !may_set_type(&console) {
        let error = (
            "type",
            "Only an admin who manages the realm may make a scope a default for new clients: choose None.".to_string(),
        );
        return new_page(&console, StatusCode::BAD_REQUEST, &form, Some(error));
    }
    let attributes = input.attributes(BTreeMap::new());
    let representation = input.representation(&attributes);
    let rep = ClientScopeRepresentation {
        name: Some(input.name.clone()),
        description: Some(input.description.clone()).filter(|d| !d.is_empty()),
        protocol: Some(input.protocol.clone()),
        attributes: Some(attributes),
        ..ClientScopeRepresentation::default()
    };
    let id = match client_scopes::create(console.ops(), &realm, rep, representation).await {
        Ok(id) => id,
        Err(e) => {
            return match field_of(&e) {
                Some(field) => new_page(
                    &console,
                    StatusCode::BAD_REQUEST,
                    &form,
                    Some((field, field_message(&e))),
                ),
                None => Err(e.into()),
            };
        }
    };
    if input.kind != RealmScopeType::None {
        let scope = client_scopes::find(console.ops(), &realm, &id).await?;
        change_type(&console, &scope, input.kind).await?;
    }
    Ok(redirect_with_flash(
        &console,
        &scope_base(&console, &id),
        &format!("Client scope {} created.", input.name),
    ))
}

async fn find_scope(console: &Console, id: &str) -> Result<ClientScope, ConsoleError> {
    Ok(client_scopes::find(console.ops(), &realm_of(console), id).await?)
}

/// `GET client-scopes/{id}`: the settings.
async fn settings(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let scope = find_scope(&console, param(&path, "id")).await?;
    let mut context = scope_context(&console, &scope, "settings");
    insert(&mut context, "form", scope_view(&scope));
    insert(&mut context, "protocols", json!(protocols(&console)));
    render(&console, "client_scope.html", context)
}

/// `POST client-scopes/{id}`: saves the settings and the realm type.
async fn update(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let refuse = |error: FieldError| -> Result<Response, ConsoleError> {
        let mut context = scope_context(&console, &scope, "settings");
        let mut view = form_view(&form);
        // The protocol is chosen at creation only.
        insert(&mut view, "protocol", json!(scope.protocol));
        insert(&mut context, "form", view);
        insert(&mut context, "protocols", json!(protocols(&console)));
        insert(
            &mut context,
            "types",
            type_choices(read_type(form.get("type")).unwrap_or_default()),
        );
        insert(&mut context, "error_field", json!(error.0));
        insert(&mut context, "error", json!(error.1));
        render_status(
            &console,
            StatusCode::BAD_REQUEST,
            "client_scope.html",
            context,
        )
    };
    let mut form_with_protocol = form.clone();
    form_with_protocol
        .0
        .retain(|(k, _)| k != "protocol" && (k != "type" || may_set_type(&console)));
    form_with_protocol
        .0
        .push(("protocol".into(), scope.protocol.clone()));
    if !may_set_type(&console) {
        form_with_protocol
            .0
            .push(("type".into(), type_value(scope.realm_type).into()));
    }
    let input = match read_scope_form(&console, &form_with_protocol) {
        Ok(input) => input,
        Err(error) => return refuse(error),
    };
    let attributes = input.attributes(scope.attributes.clone());
    let representation = input.representation(&attributes);
    let rep = ClientScopeRepresentation {
        name: Some(input.name.clone()),
        description: Some(input.description.clone()),
        attributes: Some(attributes),
        ..ClientScopeRepresentation::default()
    };
    if let Err(e) =
        client_scopes::update(console.ops(), &realm, &scope.id, rep, representation).await
    {
        return match field_of(&e) {
            Some(field) => refuse((field, field_message(&e))),
            None => Err(e.into()),
        };
    }
    change_type(&console, &scope, input.kind).await?;
    Ok(redirect_with_flash(
        &console,
        &scope_base(&console, &scope.id),
        &format!("Client scope {} saved.", input.name),
    ))
}

/// `POST client-scopes/{id}/type` with `type` (default, optional or none), from the list
/// (`from=list`) or the scope's page.
async fn set_type(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let scope = find_scope(&console, param(&path, "id")).await?;
    let Some(kind) = read_type(form.get("type")).filter(|_| !form.get("type").is_empty()) else {
        return Err(ConsoleError::BadRequest(
            "Choose Default, Optional or None.".into(),
        ));
    };
    change_type(&console, &scope, kind).await?;
    let back = if form.get("from") == "list" {
        scopes_base(&console)
    } else {
        scope_base(&console, &scope.id)
    };
    let message = match kind {
        RealmScopeType::None => format!("New clients no longer get {}.", scope.name),
        other => format!(
            "{} is now a {} scope: new clients get it as one.",
            scope.name,
            type_label(other).to_lowercase()
        ),
    };
    Ok(redirect_with_flash(&console, &back, &message))
}

/// `GET client-scopes/{id}/delete`: the confirmation.
async fn delete_form(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let base = scope_base(&console, &scope.id);
    let mut context = scope_context(&console, &scope, "settings");
    Confirmation {
        title: format!("Delete {}", scope.name),
        heading: format!("Delete the client scope {}?", scope.name),
        warning: "Clients that have it as a default or optional scope lose it, with its mappers and role scope mappings: their tokens change. This cannot be undone.",
        action: format!("{base}/delete"),
        button: "Delete client scope",
        cancel: base,
        typed: false,
    }
    .insert_into(&mut context);
    render(&console, "client_confirm.html", context)
}

/// `POST client-scopes/{id}/delete` with `confirm=yes`.
async fn delete(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let scope = find_scope(&console, param(&path, "id")).await?;
    if form.get("confirm") != "yes" {
        return Err(ConsoleError::BadRequest(
            "Confirm the deletion on the confirmation page.".into(),
        ));
    }
    client_scopes::delete(console.ops(), &realm_of(&console), &scope.id).await?;
    Ok(redirect_with_flash(
        &console,
        &scopes_base(&console),
        &format!("Client scope {} deleted.", scope.name),
    ))
}

/// `GET client-scopes/{id}/mappers`.
async fn mappers(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let scope = find_scope(&console, param(&path, "id")).await?;
    mappers_tab(&console, &scope, StatusCode::OK, None)
}

fn mappers_tab(
    console: &Console,
    scope: &ClientScope,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let types = mappers::mapper_types(console, &scope.protocol);
    let base = format!("{}/mappers", scope_base(console, &scope.id));
    let rows = scope
        .protocol_mappers
        .iter()
        .map(|m| {
            mappers::row(
                &types,
                &base,
                true,
                &m.id,
                &m.name,
                &m.mapper_type,
                &m.config,
            )
        })
        .collect();
    let mut context = scope_context(console, scope, "mappers");
    mappers::insert_section(&mut context, rows, &types, &base);
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "type")),
    );
    insert(&mut context, "error", json!(error));
    render_status(console, status, "client_scope.html", context)
}

fn mapper_page(
    console: &Console,
    scope: &ClientScope,
    mapper_type: &portcullis_web::MapperType,
    mapper_id: Option<&str>,
    status: StatusCode,
    form: &FormBody,
    error: Option<FieldError>,
) -> Result<Response, ConsoleError> {
    let base = format!("{}/mappers", scope_base(console, &scope.id));
    let page = mappers::MapperForm {
        mapper_type,
        action: match mapper_id {
            Some(id) => format!("{base}/{}", encode_segment(id)),
            None => base.clone(),
        },
        cancel: base,
        editing: mapper_id.is_some(),
    };
    let context = scope_context(console, scope, "mappers");
    mappers::render_form(console, context, page, status, form, error)
}

/// `GET client-scopes/{id}/mappers/new?type=`.
async fn new_mapper(
    console: Console,
    Path(path): Params,
    Query(query): Query<MapperQuery>,
) -> Result<Response, ConsoleError> {
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let wanted = query.mapper_type.unwrap_or_default();
    let types = mappers::mapper_types(&console, &scope.protocol);
    let Some(mapper_type) = types.iter().find(|t| t.id == wanted) else {
        let message = "Choose one of the mapper types listed.".to_string();
        return mappers_tab(&console, &scope, StatusCode::BAD_REQUEST, Some(message));
    };
    let form = FormBody::default();
    mapper_page(
        &console,
        &scope,
        mapper_type,
        None,
        StatusCode::OK,
        &form,
        None,
    )
}

/// `POST client-scopes/{id}/mappers` with `type`, `name` and `config-<i>`.
async fn add_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let types = mappers::mapper_types(&console, &scope.protocol);
    let Some(mapper_type) = types.iter().find(|t| t.id == form.get("type")) else {
        let message = "Choose one of the mapper types listed.".to_string();
        return mappers_tab(&console, &scope, StatusCode::BAD_REQUEST, Some(message));
    };
    let refuse = |error: FieldError| {
        let status = StatusCode::BAD_REQUEST;
        mapper_page(
            &console,
            &scope,
            mapper_type,
            None,
            status,
            &form,
            Some(error),
        )
    };
    let (fields, representation) = match mappers::read_form(&form, mapper_type, &scope.protocol) {
        Ok(read) => read,
        Err(error) => return refuse(error),
    };
    let name = fields.name.clone().unwrap_or_default();
    let result = client_scopes::add_mappers(
        console.ops(),
        &realm_of(&console),
        &scope.id,
        std::slice::from_ref(&fields),
        representation,
    )
    .await;
    let list = format!("{}/mappers", scope_base(&console, &scope.id));
    let flash = format!("Mapper {name} added.");
    mappers::answer(&console, result, (&list, &flash), refuse)
}

/// The scope's mapper `mapper` and its type.
fn scope_mapper<'a>(
    scope: &'a ClientScope,
    types: &'a [portcullis_web::MapperType],
    mapper: &str,
) -> Result<
    (
        &'a portcullis_core::model::ProtocolMapper,
        &'a portcullis_web::MapperType,
    ),
    ConsoleError,
> {
    let found = scope
        .protocol_mappers
        .iter()
        .find(|m| m.id == mapper)
        .ok_or_else(|| ConsoleError::NotFound("There is no such mapper.".into()))?;
    let mapper_type = mappers::type_of(types, &found.mapper_type)?;
    Ok((found, mapper_type))
}

/// `GET client-scopes/{id}/mappers/{mapper}`: the mapper's form (read-only for viewers).
async fn mapper(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let scope = find_scope(&console, param(&path, "id")).await?;
    let types = mappers::mapper_types(&console, &scope.protocol);
    let (found, mapper_type) = scope_mapper(&scope, &types, param(&path, "mapper"))?;
    let form = mappers::form_of(mapper_type, &found.name, &found.config);
    let id = Some(found.id.as_str());
    mapper_page(
        &console,
        &scope,
        mapper_type,
        id,
        StatusCode::OK,
        &form,
        None,
    )
}

/// `POST client-scopes/{id}/mappers/{mapper}`: saves the mapper's name and settings.
async fn update_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let types = mappers::mapper_types(&console, &scope.protocol);
    let (found, mapper_type) = scope_mapper(&scope, &types, param(&path, "mapper"))?;
    let id = Some(found.id.as_str());
    let refuse = |error: FieldError| {
        let status = StatusCode::BAD_REQUEST;
        mapper_page(
            &console,
            &scope,
            mapper_type,
            id,
            status,
            &form,
            Some(error),
        )
    };
    let (fields, representation) = match mappers::read_form(&form, mapper_type, &scope.protocol) {
        Ok(read) => read,
        Err(error) => return refuse(error),
    };
    let result = client_scopes::update_mapper(
        console.ops(),
        &realm_of(&console),
        &scope.id,
        &found.id,
        &fields,
        representation,
    )
    .await;
    let list = format!("{}/mappers", scope_base(&console, &scope.id));
    let flash = format!("Mapper {} saved.", fields.name.unwrap_or_default());
    mappers::answer(&console, result, (&list, &flash), refuse)
}

/// `POST client-scopes/{id}/mappers/{mapper}/delete`: without `confirm`, the confirmation;
/// with it, the deletion.
async fn delete_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let scope = find_scope(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let mapper = param(&path, "mapper");
    let base = scope_base(&console, &scope.id);
    if form.get("confirm") == "yes" {
        client_scopes::delete_mapper(console.ops(), &realm_of(&console), &scope.id, mapper).await?;
        return Ok(redirect_with_flash(
            &console,
            &format!("{base}/mappers"),
            "Mapper deleted.",
        ));
    }
    let name = scope
        .protocol_mappers
        .iter()
        .find(|m| m.id == mapper)
        .map(|m| m.name.clone())
        .ok_or_else(|| ConsoleError::NotFound("There is no such mapper.".into()))?;
    let mut context = scope_context(&console, &scope, "mappers");
    Confirmation {
        title: format!("Delete mapper {name}"),
        heading: format!("Delete the mapper {name}?"),
        warning: "Tokens of every client with this scope no longer carry what it adds; applications reading that claim may stop working.",
        action: format!("{base}/mappers/{}/delete", encode_segment(mapper)),
        button: "Delete mapper",
        cancel: format!("{base}/mappers"),
        typed: false,
    }
    .insert_into(&mut context);
    render(&console, "client_confirm.html", context)
}

async fn holder(
    console: &Console,
    path: &BTreeMap<String, String>,
) -> Result<Holder, ConsoleError> {
    Ok(Holder::Scope(Box::new(
        find_scope(console, param(path, "id")).await?,
    )))
}

/// `GET client-scopes/{id}/scope?client=`: the scope's role scope mappings.
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

/// `POST client-scopes/{id}/scope/realm`.
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

/// `POST client-scopes/{id}/scope/client`.
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

/// `POST client-scopes/{id}/scope/{role}/remove`.
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
