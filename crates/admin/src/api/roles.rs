//! Realm roles (`/roles`), client roles (`/clients/{id}/roles`) and both by id
//! (`/roles-by-id`): CRUD, composites, and the users and groups holding a role.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Router};
use portcullis_store::admin::{self, TextMatch};
use portcullis_store::entity::{client, role};
use portcullis_web::{AppState, Protocols};
use serde_json::Value;

use super::{DEFAULT_MAX, Db, Reply, find_client, no_content, ok, role_reps, user_reps};
use crate::auth::{Caller, Right};
use crate::context::{Change, Event, Op, created, target_realm};
use crate::error::AdminError;
use crate::extract::{AdminJson, Params};
use crate::ops::Ops;
use crate::ops::roles::{self, NewRole};
use crate::rep::role::{RoleFields, RoleRef, role_refs};
use crate::rep::{self, group::GroupTree};

/// Where a role lives.
#[derive(Debug, Clone)]
pub enum Container {
    Realm,
    Client(Box<client::Model>),
}

impl Container {
    pub(crate) fn pk(&self) -> Option<&str> {
        match self {
            Container::Realm => None,
            Container::Client(c) => Some(&c.id),
        }
    }

    pub(crate) fn base_path(&self) -> String {
        match self {
            Container::Realm => "roles".into(),
            Container::Client(c) => format!("clients/{}/roles", c.id),
        }
    }

    pub(crate) fn resource(&self) -> &'static str {
        match self {
            Container::Realm => "REALM_ROLE",
            Container::Client(_) => "CLIENT_ROLE",
        }
    }

    /// Realm roles are the realm's settings; client roles belong to the client.
    pub(crate) fn manage_right(&self) -> Right {
        match self {
            Container::Realm => Right::ManageRealm,
            Container::Client(_) => Right::ManageClients,
        }
    }
}

/// How a URL names a role.
#[derive(Debug, Clone)]
pub enum Locator {
    /// By name in the realm, or in the client with this internal id.
    Name {
        client: Option<String>,
        name: String,
    },
    Id(String),
}

impl Locator {
    pub(crate) fn path(&self, container: &Container, role: &role::Model) -> String {
        match self {
            Locator::Id(id) => format!("roles-by-id/{id}"),
            Locator::Name { .. } => format!("{}/{}", container.base_path(), role.name),
        }
    }
}

pub(crate) async fn container_of<C: Db>(
    db: &C,
    realm_id: &str,
    client: Option<&str>,
) -> Result<Container, AdminError> {
    match client {
        None => Ok(Container::Realm),
        Some(id) => Ok(Container::Client(Box::new(
            find_client(db, realm_id, id).await?,
        ))),
    }
}

fn role_not_found() -> AdminError {
    AdminError::not_found("Could not find role")
}

/// The role a locator names, and its container.
pub(crate) async fn locate<C: Db>(
    db: &C,
    realm_id: &str,
    locator: &Locator,
) -> Result<(role::Model, Container), AdminError> {
    match locator {
        Locator::Name { client, name } => {
            let container = container_of(db, realm_id, client.as_deref()).await?;
            let role = admin::roles::by_name(db, realm_id, container.pk(), name)
                .await?
                .ok_or_else(role_not_found)?;
            Ok((role, container))
        }
        Locator::Id(id) => {
            let role = admin::roles::by_id(db, realm_id, id)
                .await?
                .ok_or_else(role_not_found)?;
            let container = container_of(db, realm_id, role.client_pk.as_deref()).await?;
            Ok((role, container))
        }
    }
}

/// The role a list body names: by id (which must agree with a name given too), or by name in
/// the realm, or in the client `containerId` for a client role.
pub async fn resolve_ref<C: Db>(
    db: &C,
    realm_id: &str,
    r: &RoleRef,
) -> Result<Option<role::Model>, AdminError> {
    if let Some(id) = &r.id {
        let found = admin::roles::by_id(db, realm_id, id).await?;
        return Ok(found.filter(|role| r.name.as_ref().is_none_or(|n| *n == role.name)));
    }
    let Some(name) = &r.name else {
        return Ok(None);
    };
    let client = if r.client_role {
        r.container_id.as_deref()
    } else {
        None
    };
    if r.client_role && client.is_none() {
        return Ok(None);
    }
    Ok(admin::roles::by_name(db, realm_id, client, name).await?)
}

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    let client = |path: &str| format!("{realm}/clients/{{id}}/roles{path}");
    let by_id = |path: &str| format!("{realm}/roles-by-id/{{id}}{path}");
    Router::new()
        .route(&r("/roles"), get(list_realm).post(create_realm))
        .route(&client(""), get(list_client).post(create_client))
        .route(
            &r("/roles/{name}"),
            get(get_realm).put(update_realm).delete(delete_realm),
        )
        .route(
            &client("/{name}"),
            get(get_client).put(update_client).delete(delete_client),
        )
        .route(&by_id(""), get(get_id).put(update_id).delete(delete_id))
        .route(
            &r("/roles/{name}/composites"),
            get(composites_realm)
                .post(add_composites_realm)
                .delete(remove_composites_realm),
        )
        .route(
            &client("/{name}/composites"),
            get(composites_client)
                .post(add_composites_client)
                .delete(remove_composites_client),
        )
        .route(
            &by_id("/composites"),
            get(composites_id)
                .post(add_composites_id)
                .delete(remove_composites_id),
        )
        .route(
            &r("/roles/{name}/composites/realm"),
            get(realm_composites_realm),
        )
        .route(
            &client("/{name}/composites/realm"),
            get(realm_composites_client),
        )
        .route(&by_id("/composites/realm"), get(realm_composites_id))
        .route(
            &r("/roles/{name}/composites/clients/{of}"),
            get(client_composites_realm),
        )
        .route(
            &client("/{name}/composites/clients/{of}"),
            get(client_composites_client),
        )
        .route(
            &by_id("/composites/clients/{of}"),
            get(client_composites_id),
        )
        .route(&r("/roles/{name}/users"), get(users_realm))
        .route(&client("/{name}/users"), get(users_client))
        .route(&r("/roles/{name}/groups"), get(groups_realm))
        .route(&client("/{name}/groups"), get(groups_client))
}

// The same operation under the three ways of naming a role.
macro_rules! by_locator {
    ($op:ident, $realm_fn:ident, $client_fn:ident, $id_fn:ident $(, $arg:ident : $ty:ty)*) => {
        pub async fn $realm_fn(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, name)): Path<(String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            $op(&state, &caller, &realm, Locator::Name { client: None, name } $(, $arg)*).await
        }

        pub async fn $client_fn(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, client, name)): Path<(String, String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            let locator = Locator::Name { client: Some(client), name };
            $op(&state, &caller, &realm, locator $(, $arg)*).await
        }

        #[allow(dead_code)]
        pub async fn $id_fn(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            $op(&state, &caller, &realm, Locator::Id(id) $(, $arg)*).await
        }
    };
}

by_locator!(get_role, get_realm, get_client, get_id);
by_locator!(update_role, update_realm, update_client, update_id, body: AdminJson<Value>);
by_locator!(delete_role, delete_realm, delete_client, delete_id, protocols: Extension<Protocols>);
by_locator!(
    list_composites,
    composites_realm,
    composites_client,
    composites_id
);
by_locator!(add_composites, add_composites_realm, add_composites_client, add_composites_id, body: AdminJson<Value>);
by_locator!(remove_composites, remove_composites_realm, remove_composites_client, remove_composites_id, body: AdminJson<Value>);
by_locator!(
    realm_composites,
    realm_composites_realm,
    realm_composites_client,
    realm_composites_id
);
by_locator!(holders, users_realm, users_client, users_id, params: Params);
by_locator!(holding_groups, groups_realm, groups_client, groups_id, params: Params);

pub async fn client_composites_realm(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, name, of)): Path<(String, String, String)>,
) -> Reply {
    let locator = Locator::Name { client: None, name };
    client_composites(&state, &caller, &realm, locator, &of).await
}

pub async fn client_composites_client(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, client, name, of)): Path<(String, String, String, String)>,
) -> Reply {
    let locator = Locator::Name {
        client: Some(client),
        name,
    };
    client_composites(&state, &caller, &realm, locator, &of).await
}

pub async fn client_composites_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, of)): Path<(String, String, String)>,
) -> Reply {
    client_composites(&state, &caller, &realm, Locator::Id(id), &of).await
}

pub async fn list_realm(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    list(&state, &caller, &realm, None, &params).await
}

pub async fn list_client(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, client)): Path<(String, String)>,
    params: Params,
) -> Reply {
    list(&state, &caller, &realm, Some(&client), &params).await
}

pub async fn create_realm(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    create(ops, &realm, None, body).await
}

pub async fn create_client(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, client)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    create(ops, &realm, Some(&client), body).await
}

async fn list(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    client: Option<&str>,
    params: &Params,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    let db = state.store().connection();
    let container = container_of(db, &realm_row.id, client).await?;
    let search = params
        .get("search")
        .map(|s| TextMatch::Contains(s.to_string()));
    let page = params.page(None)?;
    let rows = admin::roles::list(db, &realm_row.id, container.pk(), search.as_ref(), page).await?;
    ok(role_reps(db, &realm_row.id, &rows).await?)
}

/// Realm or client roles named by a role body's `composites`; a name that does not exist is a
/// dangling reference (400).
pub(crate) async fn composites_by_name<C: Db>(
    db: &C,
    realm_id: &str,
    fields: &RoleFields,
) -> Result<Vec<String>, AdminError> {
    let mut ids = Vec::new();
    for name in &fields.composite_realm {
        let role = admin::roles::by_name(db, realm_id, None, name).await?;
        ids.push(
            role.ok_or_else(|| {
                AdminError::BadRequest(format!("Could not find composite role {name}"))
            })?
            .id,
        );
    }
    for (client_id, names) in &fields.composite_client {
        let client = admin::clients::find_by_client_id(db, realm_id, client_id)
            .await?
            .ok_or_else(|| AdminError::BadRequest(format!("Could not find client {client_id}")))?;
        for name in names {
            let role = admin::roles::by_name(db, realm_id, Some(&client.id), name).await?;
            ids.push(
                role.ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "Could not find composite role {client_id}.{name}"
                    ))
                })?
                .id,
            );
        }
    }
    Ok(ids)
}

async fn create(ops: Ops<'_>, realm: &str, client: Option<&str>, body: Value) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let object = rep::object(&body)?;
    let new = NewRole {
        id: object.text("id")?,
        client: client.map(str::to_string),
        fields: RoleFields::read(object)?,
    };
    let role = roles::create(ops, realm, new, body.clone()).await?;
    let location = match &role.client_pk {
        None => vec!["roles", role.name.as_str()],
        Some(client) => vec!["clients", client.as_str(), "roles", role.name.as_str()],
    };
    Ok(created(ops.state, realm, &location))
}

async fn get_role(state: &AppState, caller: &Caller, realm: &str, locator: Locator) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    let db = state.store().connection();
    let (role, _) = locate(db, &realm_row.id, &locator).await?;
    let mut reps = role_reps(db, &realm_row.id, std::slice::from_ref(&role)).await?;
    ok(reps.pop())
}

async fn update_role(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    let fields = RoleFields::read(rep::object(&body)?)?;
    let mut change = Change::begin(state, caller, realm_row.clone()).await?;
    let (mut role, container) = locate(change.db(), &realm_row.id, &locator).await?;
    caller.require(realm, container.manage_right())?;
    let path = locator.path(&container, &role);
    if let Some(name) = fields.name.as_ref().filter(|n| **n != role.name) {
        let taken = admin::roles::by_name(change.db(), &realm_row.id, container.pk(), name).await?;
        if taken.is_some() {
            return Err(AdminError::Conflict(format!(
                "Role with name {name} already exists"
            )));
        }
    }
    fields.apply(&mut role)?;
    admin::roles::update(change.db(), role).await?;
    change.record(Event::new(Op::Update, container.resource(), path).with(body.clone()));
    change.commit().await?;
    no_content()
}

async fn delete_role(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    Extension(protocols): Extension<Protocols>,
) -> Reply {
    roles::delete(Ops::new(state, caller, &protocols), realm, &locator).await?;
    no_content()
}

async fn list_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
) -> Reply {
    composites_where(state, caller, realm, locator, |_| true).await
}

async fn realm_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
) -> Reply {
    composites_where(state, caller, realm, locator, |r| r.client_pk.is_none()).await
}

async fn client_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    client: &str,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    find_client(state.store().connection(), &realm_row.id, client).await?;
    composites_where(state, caller, realm, locator, |r| {
        r.client_pk.as_deref() == Some(client)
    })
    .await
}

async fn composites_where(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    keep: impl Fn(&role::Model) -> bool,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    let db = state.store().connection();
    let (role, _) = locate(db, &realm_row.id, &locator).await?;
    let children: Vec<role::Model> = admin::roles::children(db, &role.id)
        .await?
        .into_iter()
        .filter(|r| keep(r))
        .collect();
    ok(role_reps(db, &realm_row.id, &children).await?)
}

/// The roles a composites body names; one that does not exist is 404, as in Keycloak.
async fn composite_ids<C: Db>(
    db: &C,
    realm_id: &str,
    body: &Value,
) -> Result<Vec<String>, AdminError> {
    let mut ids = Vec::new();
    for r in role_refs(body)? {
        let role = resolve_ref(db, realm_id, &r)
            .await?
            .ok_or_else(|| AdminError::not_found("Could not find composite role"))?;
        ids.push(role.id);
    }
    Ok(ids)
}

async fn add_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    change_composites(state, caller, realm, locator, body, Op::Create).await
}

async fn remove_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    change_composites(state, caller, realm, locator, body, Op::Delete).await
}

async fn change_composites(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    body: Value,
    op: Op,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::Any).await?;
    let mut change = Change::begin(state, caller, realm_row.clone()).await?;
    let (role, container) = locate(change.db(), &realm_row.id, &locator).await?;
    caller.require(realm, container.manage_right())?;
    let ids = composite_ids(change.db(), &realm_row.id, &body).await?;
    if op == Op::Create {
        if ids.contains(&role.id) {
            return Err(AdminError::BadRequest(
                "A role cannot be a composite of itself".into(),
            ));
        }
        admin::roles::add_children(change.db(), &role.id, &ids).await?;
    } else {
        admin::roles::remove_children(change.db(), &role.id, &ids).await?;
    }
    let path = format!("{}/composites", locator.path(&container, &role));
    change.record(Event::new(op, container.resource(), path).with(body.clone()));
    change.commit().await?;
    no_content()
}

/// Users with a direct mapping to the role.
async fn holders(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    params: Params,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::QueryUsers).await?;
    let db = state.store().connection();
    let (role, _) = locate(db, &realm_row.id, &locator).await?;
    let users = admin::users::with_role(db, &role.id, params.page(DEFAULT_MAX)?).await?;
    let brief = params.flag_or("briefRepresentation", true)?;
    ok(user_reps(db, &realm_row.id, &users, brief).await?)
}

/// Groups with a direct mapping to the role.
async fn holding_groups(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    locator: Locator,
    params: Params,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::QueryGroups).await?;
    let db = state.store().connection();
    let (role, _) = locate(db, &realm_row.id, &locator).await?;
    let tree = GroupTree::new(admin::groups::all(db, &realm_row.id).await?);
    let mut ids = admin::roles::groups_with_role(db, &role.id).await?;
    ids.sort_by_key(|g| tree.path(g));
    let ids = params.page(DEFAULT_MAX)?.slice(ids);
    let brief = params.flag_or("briefRepresentation", true)?;
    ok(super::groups::group_reps(state, &realm_row.id, &tree, &ids, brief).await?)
}
