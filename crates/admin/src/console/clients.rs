//! OpenID Connect clients (registries, the docker-v2 clients, have their own area): search with
//! keyset pagination, create, settings, the secret with regeneration, client roles, protocol
//! mappers, and deletion with a typed confirmation.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_store::entity::{client, protocol_mapper};
use portcullis_web::{AppState, MapperType};
use serde::Deserialize;
use serde_json::{Value, json};

use super::mappers::{self, FieldError};
use super::page::{Confirmation, PAGE, Params, insert, param, realm_of};
use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::session::Console;
use crate::auth::Right;
use crate::context::encode_segment;
use crate::error::AdminError;
use crate::ops::clients::{self, NewClient};
use crate::ops::roles::{self, Locator};
use crate::rep::client::{ClientFields, OPENID_CONNECT};
use crate::rep::role::RoleFields;

/// The client attribute holding the client's own access token lifespan, in seconds.
const ACCESS_TOKEN_LIFESPAN: &str = "access.token.lifespan";

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/clients{path}");
    Router::new()
        .route(&r(""), get(list).post(create))
        .route(&r("/new"), get(new_form))
        .route(&r("/{id}"), get(settings).post(update))
        .route(&r("/{id}/delete"), get(delete_form).post(delete))
        .route(&r("/{id}/credentials"), get(credentials))
        .route(&r("/{id}/credentials/regenerate"), post(regenerate))
        .route(&r("/{id}/roles"), get(client_roles).post(create_role))
        .route(&r("/{id}/roles/{role}/delete"), post(delete_role))
        .route(&r("/{id}/mappers"), get(mappers).post(add_mapper))
        .route(&r("/{id}/mappers/new"), get(new_mapper))
        .route(
            &r("/{id}/mappers/{mapper}"),
            get(mapper).post(update_mapper),
        )
        .route(&r("/{id}/mappers/{mapper}/delete"), post(delete_mapper))
}

pub(super) fn may_manage(console: &Console) -> bool {
    console.caller.can(&realm_of(console), Right::ManageClients)
}

pub(super) fn require_manage(console: &Console) -> Result<(), ConsoleError> {
    if may_manage(console) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden)
    }
}

fn clients_base(console: &Console) -> String {
    format!("{}/clients", console.realm_base(&realm_of(console)))
}

pub(super) fn client_base(console: &Console, id: &str) -> String {
    format!("{}/{}", clients_base(console), encode_segment(id))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    after: Option<String>,
}

/// `GET clients?q=&after=`: a page of OpenID Connect clients by client id; "next" continues
/// after the last one.
async fn list(console: Console, Query(query): Query<ListQuery>) -> Result<Response, ConsoleError> {
    let realm = realm_of(&console);
    let q = query.q.unwrap_or_default();
    let after = query.after.as_deref().filter(|a| !a.is_empty());
    let rows = clients::page(console.ops(), &realm, OPENID_CONNECT, &q, after, PAGE + 1).await?;
    let more = rows.len() as u64 > PAGE;
    let shown: Vec<_> = rows.iter().take(PAGE as usize).collect();
    let base = clients_base(&console);
    let page_href = |after: Option<&str>| {
        let mut fields = vec![("q", q.as_str())];
        fields.extend(after.map(|a| ("after", a)));
        let query = serde_urlencoded::to_string(fields).unwrap_or_default();
        format!("{base}?{query}")
    };
    let next = more
        .then(|| shown.last().map(|c| page_href(Some(&c.client_id))))
        .flatten();
    let rows: Vec<Value> = shown
        .iter()
        .map(|c| {
            json!({
                "client_id": c.client_id,
                "name": c.name,
                "public": c.public_client,
                "enabled": c.enabled,
                "href": client_base(&console, &c.id),
            })
        })
        .collect();
    render(
        &console,
        "clients.html",
        json!({
            "title": "Clients",
            "active": "clients",
            "clients": rows,
            "q": q,
            "next": next,
            "first_href": after.map(|_| page_href(None)),
            "may_manage": may_manage(&console),
        }),
    )
}

/// The client form's values, as the template shows them.
fn form_view(form: &FormBody) -> Value {
    json!({
        "clientId": form.get("clientId"),
        "name": form.get("name"),
        "public": form.get("access") == "public",
        "redirectUris": form.get("redirectUris"),
        "webOrigins": form.get("webOrigins"),
        "standardFlow": form.checked("standardFlow"),
        "directAccessGrants": form.checked("directAccessGrants"),
        "serviceAccounts": form.checked("serviceAccounts"),
        "consentRequired": form.checked("consentRequired"),
        "accessTokenLifespan": form.get("accessTokenLifespan"),
    })
}

/// A stored client as the form shows it.
fn row_view(row: &client::Model) -> Result<Value, ConsoleError> {
    let lines = |column: &str, what: &str| -> Result<String, ConsoleError> {
        let list: Vec<String> = crate::rep::stored(column, what)?;
        Ok(list.join("\n"))
    };
    let attributes: BTreeMap<String, String> =
        crate::rep::stored(&row.attributes, "client attributes")?;
    Ok(json!({
        "clientId": row.client_id,
        "name": row.name.clone().unwrap_or_default(),
        "public": row.public_client,
        "redirectUris": lines(&row.redirect_uris, "client redirect URIs")?,
        "webOrigins": lines(&row.web_origins, "client web origins")?,
        "standardFlow": row.standard_flow_enabled,
        "directAccessGrants": row.direct_access_grants_enabled,
        "serviceAccounts": row.service_accounts_enabled,
        "consentRequired": row.consent_required,
        "accessTokenLifespan": attributes.get(ACCESS_TOKEN_LIFESPAN).cloned().unwrap_or_default(),
    }))
}

/// What the client form says, checked; or the field at fault and why.
#[derive(Debug, Clone, PartialEq)]
struct ClientInput {
    client_id: String,
    name: Option<String>,
    public: bool,
    redirect_uris: Vec<String>,
    web_origins: Vec<String>,
    standard_flow: bool,
    direct_access_grants: bool,
    service_accounts: bool,
    consent_required: bool,
    access_token_lifespan: Option<u32>,
}

fn lines_of(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A redirect URI Keycloak would take: an absolute URI with a scheme that cannot run script,
/// a path relative to the client's root URL, or `*`; no whitespace.
fn valid_redirect_uri(uri: &str) -> bool {
    if uri.chars().any(char::is_whitespace) {
        return false;
    }
    if uri == "*" || uri.starts_with('/') {
        return true;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    let harmful =
        ["javascript", "data", "vbscript"].contains(&scheme.to_ascii_lowercase().as_str());
    scheme_ok && !harmful && !rest.is_empty()
}

/// A web origin: `+` (the redirect URIs' origins), `*`, or `http(s)://host[:port]`.
fn valid_web_origin(origin: &str) -> bool {
    if origin == "+" || origin == "*" {
        return true;
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && !host
                .chars()
                .any(|c| c.is_whitespace() || "/?#@".contains(c))
    })
}

fn read_client_form(form: &FormBody) -> Result<ClientInput, FieldError> {
    let client_id = form.get("clientId").trim().to_string();
    if client_id.is_empty() {
        return Err((
            "clientId",
            "Give the client an id, such as my-app.".to_string(),
        ));
    }
    if client_id
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(("clientId", "A client id has no spaces.".to_string()));
    }
    let public = match form.get("access") {
        "public" => true,
        "confidential" | "" => false,
        _ => {
            return Err(("access", "Choose confidential or public.".to_string()));
        }
    };
    let redirect_uris = lines_of(form.get("redirectUris"));
    if let Some(bad) = redirect_uris.iter().find(|u| !valid_redirect_uri(u)) {
        return Err((
            "redirectUris",
            format!(
                "“{bad}” is not a redirect URI: use an absolute URL such as https://app.example.com/callback, or a path starting with /."
            ),
        ));
    }
    let web_origins = lines_of(form.get("webOrigins"));
    if let Some(bad) = web_origins.iter().find(|o| !valid_web_origin(o)) {
        return Err((
            "webOrigins",
            format!(
                "“{bad}” is not an origin: use scheme and host only, such as https://app.example.com, or +."
            ),
        ));
    }
    let service_accounts = form.checked("serviceAccounts");
    if public && service_accounts {
        return Err((
            "serviceAccounts",
            "Only confidential clients have a service account: choose confidential or turn service accounts off.".to_string(),
        ));
    }
    let lifespan = form.get("accessTokenLifespan").trim();
    let access_token_lifespan = match lifespan {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(seconds) if seconds > 0 => Some(seconds),
            _ => {
                return Err((
                    "accessTokenLifespan",
                    "Give a positive number of seconds, such as 300, or leave it empty for the realm's lifespan.".to_string(),
                ));
            }
        },
    };
    let name = Some(form.get("name").trim().to_string()).filter(|n| !n.is_empty());
    Ok(ClientInput {
        client_id,
        name,
        public,
        redirect_uris,
        web_origins,
        standard_flow: form.checked("standardFlow"),
        direct_access_grants: form.checked("directAccessGrants"),
        service_accounts,
        consent_required: form.checked("consentRequired"),
        access_token_lifespan,
    })
}

impl ClientInput {
    /// The fields, with `attributes` the client's attributes after the change.
    fn fields(&self, mut attributes: BTreeMap<String, String>) -> ClientFields {
        match self.access_token_lifespan {
            Some(seconds) => {
                attributes.insert(ACCESS_TOKEN_LIFESPAN.into(), seconds.to_string());
            }
            None => {
                attributes.remove(ACCESS_TOKEN_LIFESPAN);
            }
        }
        ClientFields {
            client_id: Some(self.client_id.clone()),
            name: Some(self.name.clone()),
            public_client: Some(self.public),
            redirect_uris: Some(self.redirect_uris.clone()),
            web_origins: Some(self.web_origins.clone()),
            standard_flow_enabled: Some(self.standard_flow),
            direct_access_grants_enabled: Some(self.direct_access_grants),
            service_accounts_enabled: Some(self.service_accounts),
            consent_required: Some(self.consent_required),
            attributes: Some(attributes),
            ..ClientFields::default()
        }
    }

    /// The representation recorded in the admin event.
    fn representation(&self, fields: &ClientFields) -> Value {
        json!({
            "clientId": self.client_id,
            "name": self.name,
            "protocol": OPENID_CONNECT,
            "publicClient": self.public,
            "redirectUris": self.redirect_uris,
            "webOrigins": self.web_origins,
            "standardFlowEnabled": self.standard_flow,
            "directAccessGrantsEnabled": self.direct_access_grants,
            "serviceAccountsEnabled": self.service_accounts,
            "consentRequired": self.consent_required,
            "attributes": fields.attributes,
        })
    }
}

/// The field an operation's refusal belongs beside, or `None` when it is not about the form.
fn field_of(error: &AdminError) -> Option<&'static str> {
    match error {
        AdminError::Conflict(m) if m.starts_with("User") => Some("serviceAccounts"),
        AdminError::Conflict(_) | AdminError::BadRequest(_) | AdminError::InvalidField { .. } => {
            Some("clientId")
        }
        _ => None,
    }
}

/// `GET clients/new`.
async fn new_form(console: Console) -> Result<Response, ConsoleError> {
    let form = FormBody(vec![("standardFlow".into(), "on".into())]);
    client_form(&console, StatusCode::OK, &form, None)
}

fn client_form(
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
        "client_new.html",
        json!({
            "title": "New client",
            "active": "clients",
            "form": form_view(form),
            "may_manage": true,
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// `POST clients`: creates an OpenID Connect client.
async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let input = match read_client_form(&form) {
        Ok(input) => input,
        Err(error) => return client_form(&console, StatusCode::BAD_REQUEST, &form, Some(error)),
    };
    let mut fields = input.fields(BTreeMap::new());
    fields.protocol = Some(OPENID_CONNECT.to_string());
    let representation = input.representation(&fields);
    let new = NewClient {
        fields,
        ..NewClient::default()
    };
    match clients::create(console.ops(), &realm, new, representation).await {
        Ok(id) => Ok(redirect_with_flash(
            &console,
            &client_base(&console, &id),
            &format!("Client {} created.", input.client_id),
        )),
        Err(e) => match field_of(&e) {
            Some(field) => client_form(
                &console,
                StatusCode::BAD_REQUEST,
                &form,
                Some((field, field_message(&e))),
            ),
            None => Err(e.into()),
        },
    }
}

/// The OpenID Connect client `id` (`view-clients`); a registry is not one.
pub(super) async fn oidc_client(
    console: &Console,
    id: &str,
) -> Result<client::Model, ConsoleError> {
    let row = clients::find(console.ops(), &realm_of(console), id).await?;
    if row.protocol != OPENID_CONNECT {
        return Err(ConsoleError::NotFound(
            "There is no such OpenID Connect client; registries are under Registries.".into(),
        ));
    }
    Ok(row)
}

/// The client and the tabs every client page shows.
pub(super) fn client_context(console: &Console, row: &client::Model, tab: &str) -> Value {
    json!({
        "title": row.client_id,
        "active": "clients",
        "tab": tab,
        "client": {
            "id": row.id,
            "client_id": row.client_id,
            "public": row.public_client,
            "enabled": row.enabled,
            "base": client_base(console, &row.id),
        },
        "may_manage": may_manage(console),
    })
}

/// `GET clients/{id}`: the settings.
async fn settings(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    let mut context = client_context(&console, &row, "settings");
    insert(&mut context, "form", row_view(&row)?);
    render(&console, "client.html", context)
}

/// `POST clients/{id}`: saves the settings.
async fn update(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let refuse = |error: FieldError| -> Result<Response, ConsoleError> {
        let mut context = client_context(&console, &row, "settings");
        insert(&mut context, "form", form_view(&form));
        insert(&mut context, "error_field", json!(error.0));
        insert(&mut context, "error", json!(error.1));
        render_status(&console, StatusCode::BAD_REQUEST, "client.html", context)
    };
    let input = match read_client_form(&form) {
        Ok(input) => input,
        Err(error) => return refuse(error),
    };
    let attributes: BTreeMap<String, String> =
        crate::rep::stored(&row.attributes, "client attributes")?;
    let fields = input.fields(attributes);
    let representation = input.representation(&fields);
    let result = clients::update(
        console.ops(),
        &realm,
        &row.id,
        fields,
        serde_json::Map::new(),
        representation,
    )
    .await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &client_base(&console, &row.id),
            &format!("Client {} saved.", input.client_id),
        )),
        Err(e) => match field_of(&e) {
            Some(field) => refuse((field, field_message(&e))),
            None => Err(e.into()),
        },
    }
}

/// `GET clients/{id}/delete`: the typed confirmation.
async fn delete_form(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    delete_page(&console, &row, StatusCode::OK, None)
}

fn delete_page(
    console: &Console,
    row: &client::Model,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    require_manage(console)?;
    let base = client_base(console, &row.id);
    let mut context = client_context(console, row, "settings");
    Confirmation {
        title: format!("Delete {}", row.client_id),
        heading: format!("Delete {}?", row.client_id),
        warning: "The client's roles, mappers and service account are deleted with it, and every application using it can no longer sign users in. This cannot be undone.",
        action: format!("{base}/delete"),
        button: "Delete client",
        cancel: base,
        typed: true,
    }
    .insert_into(&mut context);
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "confirm")),
    );
    insert(&mut context, "error", json!(error));
    render_status(console, status, "client_confirm.html", context)
}

/// `POST clients/{id}/delete` with `confirm` = the client id.
async fn delete(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    if form.get("confirm").trim() != row.client_id {
        let message = format!("Type {} exactly to delete it.", row.client_id);
        return delete_page(&console, &row, StatusCode::BAD_REQUEST, Some(message));
    }
    clients::delete(console.ops(), &realm_of(&console), &row.id).await?;
    Ok(redirect_with_flash(
        &console,
        &clients_base(&console),
        &format!("Client {} deleted.", row.client_id),
    ))
}

/// `GET clients/{id}/credentials`: the secret of a confidential client.
async fn credentials(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    if row.public_client {
        return Err(ConsoleError::NotFound(
            "A public client has no credentials.".into(),
        ));
    }
    let mut context = client_context(&console, &row, "credentials");
    if let Some(client) = context.get_mut("client") {
        insert(client, "secret", json!(row.secret));
    }
    render(&console, "client.html", context)
}

/// `POST clients/{id}/credentials/regenerate`: without `confirm`, the confirmation (the
/// application breaks until it gets the new secret); with it, a new secret.
async fn regenerate(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let base = client_base(&console, &row.id);
    if form.get("confirm") == "yes" {
        clients::regenerate_secret(console.ops(), &realm_of(&console), &row.id).await?;
        return Ok(redirect_with_flash(
            &console,
            &format!("{base}/credentials"),
            "New secret generated. Put it in the application's configuration: the old one no longer works.",
        ));
    }
    let mut context = client_context(&console, &row, "credentials");
    Confirmation {
        title: "Regenerate the secret".into(),
        heading: format!("Regenerate the secret of {}?", row.client_id),
        warning: "The current secret stops working at once: the application cannot get tokens until its configuration has the new secret.",
        action: format!("{base}/credentials/regenerate"),
        button: "Regenerate secret",
        cancel: format!("{base}/credentials"),
        typed: false,
    }
    .insert_into(&mut context);
    render(&console, "client_confirm.html", context)
}

#[derive(Debug, Default, Deserialize)]
struct RolesQuery {
    after: Option<String>,
}

/// `GET clients/{id}/roles?after=`: a page of the client's roles by name.
async fn client_roles(
    console: Console,
    Path(path): Params,
    Query(query): Query<RolesQuery>,
) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    roles_tab(
        &console,
        &row,
        query.after.as_deref(),
        StatusCode::OK,
        None,
        &FormBody::default(),
    )
    .await
}

async fn roles_tab(
    console: &Console,
    row: &client::Model,
    after: Option<&str>,
    status: StatusCode,
    error: Option<String>,
    form: &FormBody,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let after = after.filter(|a| !a.is_empty());
    let found = clients::roles(console.ops(), &realm, &row.id, after, PAGE + 1).await?;
    let more = found.len() as u64 > PAGE;
    let shown: Vec<_> = found.iter().take(PAGE as usize).collect();
    let base = client_base(console, &row.id);
    let next = more.then(|| shown.last()).flatten().map(|r| {
        let query = serde_urlencoded::to_string([("after", r.name.as_str())]).unwrap_or_default();
        format!("{base}/roles?{query}")
    });
    let rows: Vec<Value> = shown
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "delete": format!("{base}/roles/{}/delete", encode_segment(&r.name)),
            })
        })
        .collect();
    let mut context = client_context(console, row, "roles");
    insert(&mut context, "roles", json!(rows));
    insert(&mut context, "next", json!(next));
    insert(
        &mut context,
        "first_href",
        json!(after.map(|_| format!("{base}/roles"))),
    );
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "name")),
    );
    insert(&mut context, "error", json!(error));
    insert(&mut context, "role_name", json!(form.get("name")));
    insert(
        &mut context,
        "role_description",
        json!(form.get("description")),
    );
    render_status(console, status, "client.html", context)
}

/// `POST clients/{id}/roles` with `name` and `description`.
async fn create_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let name = form.get("name").trim().to_string();
    let problem = if name.is_empty() {
        Some("Give the role a name, such as editor.")
    } else if name.contains('/') || name.chars().any(char::is_control) {
        Some("A role name has no / and no control characters.")
    } else {
        None
    };
    if let Some(message) = problem {
        let error = Some(message.to_string());
        return roles_tab(&console, &row, None, StatusCode::BAD_REQUEST, error, &form).await;
    }
    let description = Some(form.get("description").trim().to_string()).filter(|d| !d.is_empty());
    let representation = json!({"name": name, "description": description});
    let fields = RoleFields {
        name: Some(name.clone()),
        description: Some(description),
        ..RoleFields::default()
    };
    let realm = realm_of(&console);
    let created = roles::create(
        console.ops(),
        &realm,
        Some(&row.id),
        None,
        fields,
        representation,
    )
    .await;
    match created {
        Ok(_) => Ok(redirect_with_flash(
            &console,
            &format!("{}/roles", client_base(&console, &row.id)),
            &format!("Role {name} created."),
        )),
        Err(e @ (AdminError::Conflict(_) | AdminError::BadRequest(_))) => {
            let error = Some(field_message(&e));
            roles_tab(&console, &row, None, StatusCode::BAD_REQUEST, error, &form).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST clients/{id}/roles/{role}/delete`: without `confirm`, the confirmation; with it, the
/// deletion.
async fn delete_role(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let name = param(&path, "role");
    let base = client_base(&console, &row.id);
    if form.get("confirm") == "yes" {
        let locator = Locator::Name {
            client: Some(row.id.clone()),
            name: name.to_string(),
        };
        roles::delete(console.ops(), &realm_of(&console), &locator).await?;
        return Ok(redirect_with_flash(
            &console,
            &format!("{base}/roles"),
            &format!("Role {name} deleted."),
        ));
    }
    let mut context = client_context(&console, &row, "roles");
    Confirmation {
        title: format!("Delete role {name}"),
        heading: format!("Delete the role {name}?"),
        warning: "Users and groups holding it lose it, and composite roles that include it no longer do. This cannot be undone.",
        action: format!("{base}/roles/{}/delete", encode_segment(name)),
        button: "Delete role",
        cancel: format!("{base}/roles"),
        typed: false,
    }
    .insert_into(&mut context);
    render(&console, "client_confirm.html", context)
}

/// The mapper types of openid-connect.
fn mapper_types(console: &Console) -> Vec<MapperType> {
    mappers::mapper_types(console, OPENID_CONNECT)
}

/// `GET clients/{id}/mappers`.
async fn mappers(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    mappers_tab(&console, &row, StatusCode::OK, None).await
}

async fn mappers_tab(
    console: &Console,
    row: &client::Model,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let types = mapper_types(console);
    let found = clients::mappers(console.ops(), &realm_of(console), &row.id, None).await?;
    let base = format!("{}/mappers", client_base(console, &row.id));
    let mut rows = Vec::with_capacity(found.len());
    for m in &found {
        let config: BTreeMap<String, String> =
            crate::rep::stored(&m.config, "protocol mapper config")?;
        rows.push(mappers::row(
            &types,
            &base,
            true,
            &m.id,
            &m.name,
            &m.mapper_type,
            &config,
        ));
    }
    let mut context = client_context(console, row, "mappers");
    mappers::insert_section(&mut context, rows, &types, &base);
    insert(
        &mut context,
        "error_field",
        json!(error.as_ref().map(|_| "type")),
    );
    insert(&mut context, "error", json!(error));
    render_status(console, status, "client.html", context)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct MapperQuery {
    #[serde(rename = "type")]
    pub(super) mapper_type: Option<String>,
}

/// `GET clients/{id}/mappers/new?type=`: the form for one mapper type, with its settings.
async fn new_mapper(
    console: Console,
    Path(path): Params,
    Query(query): Query<MapperQuery>,
) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let wanted = query.mapper_type.unwrap_or_default();
    let types = mapper_types(&console);
    let Some(mapper_type) = types.iter().find(|t| t.id == wanted) else {
        let message = "Choose one of the mapper types listed.".to_string();
        return mappers_tab(&console, &row, StatusCode::BAD_REQUEST, Some(message)).await;
    };
    mapper_form(
        &console,
        &row,
        (mapper_type, None),
        StatusCode::OK,
        &FormBody::default(),
        None,
    )
}

/// The form of a mapper of `mapper_type`: a new one, or the existing one with the given id.
fn mapper_form(
    console: &Console,
    row: &client::Model,
    (mapper_type, mapper_id): (&MapperType, Option<&str>),
    status: StatusCode,
    form: &FormBody,
    error: Option<FieldError>,
) -> Result<Response, ConsoleError> {
    let base = format!("{}/mappers", client_base(console, &row.id));
    let page = mappers::MapperForm {
        mapper_type,
        action: match mapper_id {
            Some(id) => format!("{base}/{}", encode_segment(id)),
            None => base.clone(),
        },
        cancel: base,
        editing: mapper_id.is_some(),
    };
    let context = client_context(console, row, "mappers");
    mappers::render_form(console, context, page, status, form, error)
}

/// `POST clients/{id}/mappers` with `type`, `name` and `config-<i>` for the type's settings.
async fn add_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let types = mapper_types(&console);
    let Some(mapper_type) = types.iter().find(|t| t.id == form.get("type")) else {
        let message = "Choose one of the mapper types listed.".to_string();
        return mappers_tab(&console, &row, StatusCode::BAD_REQUEST, Some(message)).await;
    };
    let refuse = |error: FieldError| {
        mapper_form(
            &console,
            &row,
            (mapper_type, None),
            StatusCode::BAD_REQUEST,
            &form,
            Some(error),
        )
    };
    let (fields, representation) = match mappers::read_form(&form, mapper_type, OPENID_CONNECT) {
        Ok(read) => read,
        Err(error) => return refuse(error),
    };
    let name = fields.name.clone().unwrap_or_default();
    let result = clients::add_mappers(
        console.ops(),
        &realm_of(&console),
        &row.id,
        std::slice::from_ref(&fields),
        "",
        representation,
    )
    .await;
    let list = format!("{}/mappers", client_base(&console, &row.id));
    let flash = format!("Mapper {name} added.");
    mappers::answer(&console, result, (&list, &flash), refuse)
}

/// The client's mapper `mapper` and its type.
async fn client_mapper<'t>(
    console: &Console,
    row: &client::Model,
    types: &'t [MapperType],
    mapper: &str,
) -> Result<(protocol_mapper::Model, &'t MapperType), ConsoleError> {
    let found = clients::mapper(console.ops(), &realm_of(console), &row.id, mapper).await?;
    let mapper_type = mappers::type_of(types, &found.mapper_type)?;
    Ok((found, mapper_type))
}

/// `GET clients/{id}/mappers/{mapper}`: the mapper's form (read-only for viewers).
async fn mapper(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    let row = oidc_client(&console, param(&path, "id")).await?;
    let types = mapper_types(&console);
    let (found, mapper_type) =
        client_mapper(&console, &row, &types, param(&path, "mapper")).await?;
    let config: BTreeMap<String, String> =
        crate::rep::stored(&found.config, "protocol mapper config")?;
    let form = mappers::form_of(mapper_type, &found.name, &config);
    let id = Some(found.id.as_str());
    mapper_form(
        &console,
        &row,
        (mapper_type, id),
        StatusCode::OK,
        &form,
        None,
    )
}

/// `POST clients/{id}/mappers/{mapper}`: saves the mapper's name and settings.
async fn update_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let types = mapper_types(&console);
    let (found, mapper_type) =
        client_mapper(&console, &row, &types, param(&path, "mapper")).await?;
    let id = Some(found.id.as_str());
    let refuse = |error: FieldError| {
        let status = StatusCode::BAD_REQUEST;
        mapper_form(
            &console,
            &row,
            (mapper_type, id),
            status,
            &form,
            Some(error),
        )
    };
    let (fields, representation) = match mappers::read_form(&form, mapper_type, OPENID_CONNECT) {
        Ok(read) => read,
        Err(error) => return refuse(error),
    };
    let realm = realm_of(&console);
    let result = clients::replace_mapper(
        console.ops(),
        &realm,
        &row.id,
        &found.id,
        &fields,
        representation,
    )
    .await;
    let list = format!("{}/mappers", client_base(&console, &row.id));
    let flash = format!("Mapper {} saved.", fields.name.unwrap_or_default());
    mappers::answer(&console, result, (&list, &flash), refuse)
}

/// `POST clients/{id}/mappers/{mapper}/delete`: without `confirm`, the confirmation; with it,
/// the deletion.
async fn delete_mapper(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let row = oidc_client(&console, param(&path, "id")).await?;
    require_manage(&console)?;
    let mapper = param(&path, "mapper");
    let base = client_base(&console, &row.id);
    let realm = realm_of(&console);
    if form.get("confirm") == "yes" {
        clients::delete_mapper(console.ops(), &realm, &row.id, mapper).await?;
        return Ok(redirect_with_flash(
            &console,
            &format!("{base}/mappers"),
            "Mapper deleted.",
        ));
    }
    let found = clients::mappers(console.ops(), &realm, &row.id, None).await?;
    let name = found
        .iter()
        .find(|m| m.id == mapper)
        .map(|m| m.name.clone())
        .ok_or_else(|| ConsoleError::NotFound("There is no such mapper.".into()))?;
    let mut context = client_context(&console, &row, "mappers");
    Confirmation {
        title: format!("Delete mapper {name}"),
        heading: format!("Delete the mapper {name}?"),
        warning: "Tokens issued from now on no longer carry what it adds; applications reading that claim may stop working.",
        action: format!("{base}/mappers/{}/delete", encode_segment(mapper)),
        button: "Delete mapper",
        cancel: format!("{base}/mappers"),
        typed: false,
    }
    .insert_into(&mut context);
    render(&console, "client_confirm.html", context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_redirect_uris_and_origins() {
        let uris = [
            ("https://app.example.com/callback", true),
            ("http://localhost:8080/*", true),
            ("/relative/path", true),
            ("*", true),
            ("com.example.app:/oauth2redirect", true),
            ("javascript:alert(1)", false),
            ("JavaScript:alert(1)", false),
            ("data:text/html,x", false),
            ("https://app.example.com/a b", false),
            ("app.example.com", false),
            ("1http://x", false),
        ];
        for (uri, valid) in uris {
            assert_eq!(valid_redirect_uri(uri), valid, "{uri}");
        }
        let origins = [
            ("https://app.example.com", true),
            ("http://localhost:3000", true),
            ("+", true),
            ("*", true),
            ("https://app.example.com/path", false),
            ("ftp://x", false),
            ("https://", false),
        ];
        for (origin, valid) in origins {
            assert_eq!(valid_web_origin(origin), valid, "{origin}");
        }
    }

    #[test]
    fn reads_the_client_form() {
        let form = |fields: &[(&str, &str)]| {
            FormBody(
                fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let good = read_client_form(&form(&[
            ("clientId", " app "),
            ("access", "public"),
            ("redirectUris", "https://a.test/cb\r\n\r\n/x\n"),
            ("standardFlow", "on"),
            ("accessTokenLifespan", "300"),
        ]));
        let good = good.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(good.client_id, "app");
        assert!(good.public && good.standard_flow && !good.direct_access_grants);
        assert_eq!(good.redirect_uris, ["https://a.test/cb", "/x"]);
        assert_eq!(good.access_token_lifespan, Some(300));
        let fields = good.fields(BTreeMap::from([
            ("keep".to_string(), "1".to_string()),
            (ACCESS_TOKEN_LIFESPAN.to_string(), "60".to_string()),
        ]));
        let attributes = fields.attributes.unwrap_or_default();
        assert_eq!(attributes.get("keep").map(String::as_str), Some("1"));
        assert_eq!(
            attributes.get(ACCESS_TOKEN_LIFESPAN).map(String::as_str),
            Some("300")
        );
        let bad = [
            (vec![("clientId", " ")], "clientId"),
            (vec![("clientId", "a b")], "clientId"),
            (vec![("clientId", "a"), ("access", "x")], "access"),
            (
                vec![("clientId", "a"), ("redirectUris", "javascript:x")],
                "redirectUris",
            ),
            (
                vec![("clientId", "a"), ("webOrigins", "https://a/b")],
                "webOrigins",
            ),
            (
                vec![
                    ("clientId", "a"),
                    ("access", "public"),
                    ("serviceAccounts", "on"),
                ],
                "serviceAccounts",
            ),
            (
                vec![("clientId", "a"), ("accessTokenLifespan", "0")],
                "accessTokenLifespan",
            ),
            (
                vec![("clientId", "a"), ("accessTokenLifespan", "soon")],
                "accessTokenLifespan",
            ),
        ];
        for (fields, field) in bad {
            let error = read_client_form(&form(&fields));
            assert_eq!(error.map_err(|e| e.0), Err(field), "{fields:?}");
        }
    }
}
