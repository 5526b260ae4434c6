//! Role scope mappings, shared by a client's Scope tab and a client scope's: the realm and
//! client roles mapped, and the forms that add (a realm role, or a client chosen by its
//! `clientId` and then one of its roles) and remove them (`scope_mappings.html`).

use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::model::ClientScope;
use portcullis_store::entity::client;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, insert, realm_of, redirect_with_flash, render_status};
use super::session::Console;
use crate::auth::Right;
use crate::context::encode_segment;
use crate::error::AdminError;
use crate::ops::client_scopes::{self, Container, Owner, View};
use crate::ops::mappings;
use crate::rep::role::RoleRef;

/// How many roles or clients a list offers before it asks for a typed name instead.
const CHOICES: usize = 100;

/// Whose scope mappings a page shows.
pub enum Holder {
    Client(Box<client::Model>),
    Scope(Box<ClientScope>),
}

impl Holder {
    fn owner(&self) -> Owner<'_> {
        match self {
            Holder::Client(row) => Owner::Client(&row.id),
            Holder::Scope(scope) => Owner::Scope(&scope.id),
        }
    }

    /// The role ids mapped to the holder.
    fn mapped(&self) -> Result<Vec<String>, ConsoleError> {
        match self {
            Holder::Client(row) => Ok(crate::rep::stored(
                &row.scope_role_ids,
                "client scope mappings",
            )?),
            Holder::Scope(scope) => Ok(scope.role_ids.clone()),
        }
    }

    /// Whether every role is in scope (a client with full scope allowed).
    fn full(&self) -> bool {
        matches!(self, Holder::Client(row) if row.full_scope_allowed)
    }

    /// The holder's Scope tab: `.../clients/{id}/scope` or `.../client-scopes/{id}/scope`.
    pub fn base(&self, console: &Console) -> String {
        match self {
            Holder::Client(row) => {
                format!("{}/scope", super::clients::client_base(console, &row.id))
            }
            Holder::Scope(scope) => {
                format!(
                    "{}/scope",
                    super::client_scopes::scope_base(console, &scope.id)
                )
            }
        }
    }

    fn context(&self, console: &Console) -> Value {
        match self {
            Holder::Client(row) => super::clients::client_context(console, row, "scope"),
            Holder::Scope(scope) => super::client_scopes::scope_context(console, scope, "scope"),
        }
    }

    fn template(&self) -> &'static str {
        match self {
            Holder::Client(_) => "client.html",
            Holder::Scope(_) => "client_scope.html",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ScopeQuery {
    /// The `clientId` whose roles the client-role form offers.
    pub client: Option<String>,
}

/// What the page shows besides the mappings: the client chosen, an error and what was typed.
#[derive(Debug, Default)]
pub struct ScopePage<'a> {
    pub client: Option<&'a str>,
    pub field: Option<&'static str>,
    pub error: Option<String>,
    pub typed: &'a str,
}

/// Renders the holder's Scope tab.
pub async fn render(
    console: &Console,
    holder: &Holder,
    status: StatusCode,
    page: ScopePage<'_>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let base = holder.base(console);
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let (mut realm_roles, mut client_roles) = (Vec::new(), Vec::new());
    let mut mapped: Vec<_> = holder
        .mapped()?
        .iter()
        .filter_map(|id| snapshot.role(id))
        .collect();
    mapped.sort_by(|a, b| (&a.client_id, &a.name).cmp(&(&b.client_id, &b.name)));
    for role in mapped {
        let remove = format!("{base}/{}/remove", encode_segment(&role.id));
        match &role.client_id {
            Some(client) => client_roles.push(json!({
                "client": client,
                "name": role.name,
                "qualified": role.qualified_name(),
                "remove": remove,
            })),
            None => realm_roles.push(json!({
                "name": role.name,
                "description": role.description,
                "remove": remove,
            })),
        }
    }
    let may_manage = console.caller.can(&realm, Right::ManageClients);
    let mut status = status;
    let mut error = (page.field, page.error.clone());
    let mut realm_form = json!({"roles": [], "more": false});
    let mut client_form = json!({"clients": [], "more": false, "chosen": null});
    if may_manage && !holder.full() {
        let available = client_scopes::scope_mappings(
            console.ops(),
            &realm,
            holder.owner(),
            Container::Realm,
            View::Available,
        )
        .await?;
        let names: Vec<&str> = available
            .iter()
            .take(CHOICES)
            .map(|r| r.name.as_str())
            .collect();
        realm_form = json!({"roles": names, "more": available.len() > CHOICES});
        let (clients, more) = mappings::role_clients(console.ops(), &realm, CHOICES).await?;
        let names: Vec<&str> = clients.iter().map(|c| c.client_id.as_str()).collect();
        insert(&mut client_form, "clients", json!(names));
        insert(&mut client_form, "more", json!(more));
        if let Some(chosen) = page.client.filter(|c| !c.is_empty()) {
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
    let typed = |field: &str| {
        if page.field == Some(field) {
            page.typed.to_string()
        } else {
            String::new()
        }
    };
    let mut context = holder.context(console);
    insert(
        &mut context,
        "sm",
        json!({
            "base": base,
            "full": holder.full(),
            "realm_roles": realm_roles,
            "client_roles": client_roles,
            "realm_form": realm_form,
            "client_form": client_form,
            "role": typed("role"),
            "client": page.client.map_or_else(|| typed("client"), str::to_string),
            "client_role": typed("client_role"),
        }),
    );
    insert(&mut context, "may_manage", json!(may_manage));
    insert(&mut context, "error_field", json!(error.0));
    insert(&mut context, "error", json!(error.1));
    render_status(console, status, holder.template(), context)
}

/// `POST .../scope/realm` with `role`: maps a realm role.
pub async fn add_realm_role(
    console: &Console,
    holder: &Holder,
    form: &FormBody,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let name = form.get("role").trim();
    let refuse = |message: String| ScopePage {
        field: Some("role"),
        error: Some(message),
        typed: name,
        ..ScopePage::default()
    };
    if name.is_empty() {
        let page = refuse("Choose a realm role.".into());
        return render(console, holder, StatusCode::BAD_REQUEST, page).await;
    }
    let role = RoleRef {
        id: None,
        name: Some(name.to_string()),
        client_role: false,
        container_id: None,
    };
    let result = client_scopes::change_scope_mappings(
        console.ops(),
        &realm,
        holder.owner(),
        Container::Realm,
        vec![role],
        true,
        json!([{"name": name}]),
    )
    .await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            console,
            &holder.base(console),
            &format!("Role {name} is in scope now."),
        )),
        Err(AdminError::NotFound(_)) => {
            let page = refuse(format!("There is no realm role {name}."));
            render(console, holder, StatusCode::BAD_REQUEST, page).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST .../scope/client` with `client` (a `clientId`) and `role`, one of its roles.
pub async fn add_client_role(
    console: &Console,
    holder: &Holder,
    form: &FormBody,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
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
        let page = ScopePage {
            field: Some("client"),
            error: Some(message),
            typed: client_id,
            ..ScopePage::default()
        };
        return render(console, holder, StatusCode::BAD_REQUEST, page).await;
    };
    let refuse = |message: String| ScopePage {
        client: Some(client_id),
        field: Some("client_role"),
        error: Some(message),
        typed: name,
    };
    if name.is_empty() {
        let page = refuse(format!("Choose a role of {client_id}."));
        return render(console, holder, StatusCode::BAD_REQUEST, page).await;
    }
    let role = RoleRef {
        id: None,
        name: Some(name.to_string()),
        client_role: true,
        container_id: Some(client.id.clone()),
    };
    let representation = json!([{"name": name, "clientRole": true, "containerId": client.id}]);
    let result = client_scopes::change_scope_mappings(
        console.ops(),
        &realm,
        holder.owner(),
        Container::Client(&client.id),
        vec![role],
        true,
        representation,
    )
    .await;
    match result {
        Ok(()) => Ok(redirect_with_flash(
            console,
            &holder.base(console),
            &format!("Role {client_id}.{name} is in scope now."),
        )),
        Err(AdminError::NotFound(_)) => {
            let page = refuse(format!("{client_id} has no role {name}."));
            render(console, holder, StatusCode::BAD_REQUEST, page).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST .../scope/{role}/remove`: takes a role (by id) out of scope.
pub async fn remove(
    console: &Console,
    holder: &Holder,
    role_id: &str,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let role = snapshot
        .role(role_id)
        .ok_or_else(|| ConsoleError::NotFound("There is no such role.".into()))?;
    let client_pk = role
        .client_id
        .as_deref()
        .and_then(|c| snapshot.client(c))
        .map(|c| c.id.clone());
    let container = match &client_pk {
        Some(pk) => Container::Client(pk),
        None => Container::Realm,
    };
    let reference = RoleRef {
        id: Some(role_id.to_string()),
        name: None,
        client_role: client_pk.is_some(),
        container_id: client_pk.clone(),
    };
    client_scopes::change_scope_mappings(
        console.ops(),
        &realm,
        holder.owner(),
        container,
        vec![reference],
        false,
        json!([{"id": role_id}]),
    )
    .await?;
    Ok(redirect_with_flash(
        console,
        &holder.base(console),
        &format!("Role {} is out of scope now.", role.qualified_name()),
    ))
}
