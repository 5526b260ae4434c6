//! Client scopes (create, find, list, update, delete) with their protocol mappers; the realm's
//! default and optional scopes for new clients; a client's default and optional scopes; the
//! role scope mappings of clients and client scopes; and a client's scope evaluation (which
//! mappers and roles a `scope` parameter brings, and example tokens minted by the protocol's
//! own token code).
//!
//! Rights as Keycloak checks them: reading needs `view-clients`, changing a scope, its mappers,
//! a client's scopes or scope mappings `manage-clients`, changing the realm's default scopes
//! `manage-realm`; example tokens for a user also need `view-users`.

use std::collections::{BTreeSet, HashSet};

use portcullis_core::model::{ClientScope, ProtocolMapper, RealmScopeType, RealmSnapshot};
use portcullis_store::admin;
use portcullis_store::entity::{client, role};
use portcullis_store::representation::ClientScopeRepresentation;
use portcullis_web::{ExampleRequest, ExampleToken};
use serde_json::{Map, Value};

use super::Ops;
use super::lookup::{Db, find_client};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep::client::MapperFields;
use crate::rep::role::RoleRef;

pub const OPENID_CONNECT: &str = "openid-connect";

/// Keycloak's rule for scope names: RFC 6749's `scope-token` characters (printable ASCII but
/// space, `"` and `\`), so a name can be asked for in a `scope` parameter.
pub fn check_name(name: &str) -> Result<(), AdminError> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
    if valid {
        Ok(())
    } else {
        Err(AdminError::BadRequest(format!(
            "Unexpected name \"{name}\" for ClientScope"
        )))
    }
}

fn duplicate(name: &str) -> AdminError {
    AdminError::Conflict(format!("Client Scope {name} already exists"))
}

async fn find_scope<C: Db>(db: &C, realm_id: &str, id: &str) -> Result<ClientScope, AdminError> {
    admin::client_scopes::find(db, realm_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("Could not find client scope"))
}

/// Every client scope of the realm, by name (`view-clients`).
pub async fn list(ops: Ops<'_>, realm: &str) -> Result<Vec<ClientScope>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    Ok(admin::client_scopes::list(ops.state.store().connection(), &realm_row.id).await?)
}

/// One client scope (`view-clients`).
pub async fn find(ops: Ops<'_>, realm: &str, id: &str) -> Result<ClientScope, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    find_scope(ops.state.store().connection(), &realm_row.id, id).await
}

/// Creates a client scope with its mappers (`manage-clients`); returns its id.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    rep: ClientScopeRepresentation,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let name = rep.name.clone().unwrap_or_default();
    check_name(&name)?;
    let id = match crate::rep::text(&rep.id) {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let protocol = crate::rep::text(&rep.protocol).unwrap_or_else(|| OPENID_CONNECT.into());
    let mut scope = ClientScope {
        id: id.clone(),
        name: name.clone(),
        description: rep.description.clone(),
        protocol,
        attributes: rep.attributes.clone().unwrap_or_default(),
        protocol_mappers: Vec::new(),
        role_ids: Vec::new(),
        realm_type: RealmScopeType::None,
    };
    let fields = rep
        .protocol_mappers
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<Vec<_>, _>>()?;
    add_mapper_models(ops, &mut scope, &fields)?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    if admin::client_scopes::find_by_name(change.db(), &realm_row.id, &name)
        .await?
        .is_some()
    {
        return Err(duplicate(&name));
    }
    admin::client_scopes::insert(change.db(), &realm_row.id, &scope)
        .await
        .map_err(super::lookup::conflict_on_duplicate(duplicate(&name)))?;
    change.record(
        Event::new(Op::Create, "CLIENT_SCOPE", format!("client-scopes/{id}")).with(representation),
    );
    change.commit().await?;
    Ok(id)
}

/// Updates a client scope's name, description, protocol and attributes, those the body gives
/// (`manage-clients`); a rename follows into the clients that list the scope.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    rep: ClientScopeRepresentation,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut scope = find_scope(change.db(), &realm_row.id, id).await?;
    let old_name = scope.name.clone();
    if let Some(name) = &rep.name {
        check_name(name)?;
        if *name != old_name {
            let taken = admin::client_scopes::find_by_name(change.db(), &realm_row.id, name)
                .await?
                .is_some();
            if taken {
                return Err(duplicate(name));
            }
            scope.name = name.clone();
        }
    }
    if let Some(description) = &rep.description {
        scope.description = Some(description.clone()).filter(|d| !d.is_empty());
    }
    if let Some(protocol) = crate::rep::text(&rep.protocol) {
        scope.protocol = protocol;
    }
    if let Some(attributes) = &rep.attributes {
        scope.attributes = attributes.clone();
    }
    admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
    if scope.name != old_name {
        admin::client_scopes::rename_in_clients(
            change.db(),
            &realm_row.id,
            &old_name,
            Some(&scope.name),
        )
        .await?;
    }
    change.record(
        Event::new(Op::Update, "CLIENT_SCOPE", format!("client-scopes/{id}")).with(representation),
    );
    change.commit().await
}

/// Deletes a client scope (`manage-clients`); clients that listed it no longer do.
pub async fn delete(ops: Ops<'_>, realm: &str, id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let scope = find_scope(change.db(), &realm_row.id, id).await?;
    admin::client_scopes::delete(change.db(), &scope.id).await?;
    admin::client_scopes::rename_in_clients(change.db(), &realm_row.id, &scope.name, None).await?;
    change.record(Event::new(
        Op::Delete,
        "CLIENT_SCOPE",
        format!("client-scopes/{id}"),
    ));
    change.commit().await
}

/// Adds mappers to a scope in memory: ids given or new, names unique in the scope, each judged
/// by the scope's protocol as a client's mappers are.
fn add_mapper_models(
    ops: Ops<'_>,
    scope: &mut ClientScope,
    fields: &[MapperFields],
) -> Result<Vec<String>, AdminError> {
    let mut names: HashSet<String> = scope
        .protocol_mappers
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let mut ids = Vec::new();
    for f in fields {
        let id = match &f.id {
            Some(id) => {
                super::lookup::check_id(id)?;
                id.clone()
            }
            None => admin::new_id(),
        };
        let mapper = mapper_model(ops, scope, f, id.clone())?;
        if !names.insert(mapper.name.clone()) {
            return Err(AdminError::Conflict(
                "Protocol mapper exists with same name".into(),
            ));
        }
        scope.protocol_mappers.push(mapper);
        ids.push(id);
    }
    Ok(ids)
}

fn mapper_model(
    ops: Ops<'_>,
    scope: &ClientScope,
    f: &MapperFields,
    id: String,
) -> Result<ProtocolMapper, AdminError> {
    let mapper_type = f.mapper_type.clone().unwrap_or_default();
    let mapper = ProtocolMapper {
        id,
        name: f.name.clone().unwrap_or_else(|| mapper_type.clone()),
        protocol: f.protocol.clone().unwrap_or_else(|| scope.protocol.clone()),
        mapper_type,
        config: f.config.clone().unwrap_or_default(),
    };
    super::clients::validate_mapper(ops.protocols, &scope.protocol, &mapper)?;
    Ok(mapper)
}

/// A scope's mappers (`view-clients`), of one protocol when `protocol` is given (Keycloak's
/// `protocol-mappers/protocol/{protocol}`: an unknown protocol lists none).
pub async fn mappers(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    protocol: Option<&str>,
) -> Result<Vec<ProtocolMapper>, AdminError> {
    let mut found = find(ops, realm, id).await?.protocol_mappers;
    if let Some(protocol) = protocol {
        found.retain(|m| m.protocol == protocol);
    }
    Ok(found)
}

/// One of a scope's mappers (`view-clients`).
pub async fn mapper(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    mapper_id: &str,
) -> Result<ProtocolMapper, AdminError> {
    find(ops, realm, id)
        .await?
        .protocol_mappers
        .into_iter()
        .find(|m| m.id == mapper_id)
        .ok_or_else(|| AdminError::not_found("Model not found"))
}

/// Adds mappers to a scope (`manage-clients`), all or none; returns their ids.
pub async fn add_mappers(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    fields: &[MapperFields],
    representation: Value,
) -> Result<Vec<String>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut scope = find_scope(change.db(), &realm_row.id, id).await?;
    let ids = add_mapper_models(ops, &mut scope, fields)?;
    admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
    let path = match ids.as_slice() {
        [one] => format!("client-scopes/{id}/protocol-mappers/models/{one}"),
        _ => format!("client-scopes/{id}/protocol-mappers/add-models"),
    };
    change.record(Event::new(Op::Create, "PROTOCOL_MAPPER", path).with(representation));
    change.commit().await?;
    Ok(ids)
}

/// Replaces one of a scope's mappers (`manage-clients`); a field not given keeps its value.
pub async fn update_mapper(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    mapper_id: &str,
    fields: &MapperFields,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut scope = find_scope(change.db(), &realm_row.id, id).await?;
    let index = scope
        .protocol_mappers
        .iter()
        .position(|m| m.id == mapper_id)
        .ok_or_else(|| AdminError::not_found("Model not found"))?;
    let current = &scope.protocol_mappers[index];
    let merged = MapperFields {
        id: None,
        name: fields.name.clone().or(Some(current.name.clone())),
        protocol: fields.protocol.clone().or(Some(current.protocol.clone())),
        mapper_type: fields
            .mapper_type
            .clone()
            .or(Some(current.mapper_type.clone())),
        config: fields.config.clone().or(Some(current.config.clone())),
    };
    let mapper = mapper_model(ops, &scope, &merged, mapper_id.to_string())?;
    if scope
        .protocol_mappers
        .iter()
        .any(|m| m.name == mapper.name && m.id != mapper_id)
    {
        return Err(AdminError::Conflict(
            "Protocol mapper exists with same name".into(),
        ));
    }
    scope.protocol_mappers[index] = mapper;
    admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
    let path = format!("client-scopes/{id}/protocol-mappers/models/{mapper_id}");
    change.record(Event::new(Op::Update, "PROTOCOL_MAPPER", path).with(representation));
    change.commit().await
}

/// Deletes one of a scope's mappers (`manage-clients`).
pub async fn delete_mapper(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    mapper_id: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut scope = find_scope(change.db(), &realm_row.id, id).await?;
    let before = scope.protocol_mappers.len();
    scope.protocol_mappers.retain(|m| m.id != mapper_id);
    if scope.protocol_mappers.len() == before {
        return Err(AdminError::not_found("Model not found"));
    }
    admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
    let path = format!("client-scopes/{id}/protocol-mappers/models/{mapper_id}");
    change.record(Event::new(Op::Delete, "PROTOCOL_MAPPER", path));
    change.commit().await
}

/// The realm's default (or optional) client scopes for new clients (`view-clients`).
pub async fn realm_defaults(
    ops: Ops<'_>,
    realm: &str,
    kind: RealmScopeType,
) -> Result<Vec<ClientScope>, AdminError> {
    Ok(list(ops, realm)
        .await?
        .into_iter()
        .filter(|s| s.realm_type == kind)
        .collect())
}

/// Makes a scope one of the realm's default or optional scopes (`kind`), or, with `add` off,
/// removes it from that list (`manage-realm`). A scope is in at most one of the two lists.
pub async fn set_realm_default(
    ops: Ops<'_>,
    realm: &str,
    scope_id: &str,
    kind: RealmScopeType,
    add: bool,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut scope = find_scope(change.db(), &realm_row.id, scope_id).await?;
    if add {
        scope.realm_type = kind;
    } else if scope.realm_type == kind {
        scope.realm_type = RealmScopeType::None;
    }
    admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
    let list = match kind {
        RealmScopeType::Optional => "default-optional-client-scopes",
        _ => "default-default-client-scopes",
    };
    let op = if add { Op::Create } else { Op::Delete };
    change.record(Event::new(op, "CLIENT_SCOPE", format!("{list}/{scope_id}")));
    change.commit().await
}

fn client_list(row: &client::Model, kind: RealmScopeType) -> Result<Vec<String>, AdminError> {
    let column = match kind {
        RealmScopeType::Optional => &row.optional_client_scopes,
        _ => &row.default_client_scopes,
    };
    crate::rep::stored(column, "client scopes")
}

/// A client's default (or optional) client scopes (`view-clients`), those that exist.
pub async fn client_scopes(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    kind: RealmScopeType,
) -> Result<Vec<ClientScope>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let row = find_client(db, &realm_row.id, client_id).await?;
    let names = client_list(&row, kind)?;
    let scopes = admin::client_scopes::list(db, &realm_row.id).await?;
    Ok(names
        .iter()
        .filter_map(|n| scopes.iter().find(|s| s.name == *n).cloned())
        .collect())
}

/// Adds a scope to a client's default (or optional) scopes, taking it out of the other list,
/// or removes it (`manage-clients`). Adding a scope of another protocol is a 400, as in
/// Keycloak.
pub async fn set_client_scope(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    scope_id: &str,
    kind: RealmScopeType,
    add: bool,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut row = find_client(change.db(), &realm_row.id, client_id).await?;
    let scope = find_scope(change.db(), &realm_row.id, scope_id).await?;
    if add && scope.protocol != row.protocol {
        return Err(AdminError::BadRequest(format!(
            "Client scope {} has protocol {}, but the client uses {}",
            scope.name, scope.protocol, row.protocol
        )));
    }
    let mut defaults = client_list(&row, RealmScopeType::Default)?;
    let mut optional = client_list(&row, RealmScopeType::Optional)?;
    let (target, other) = match kind {
        RealmScopeType::Optional => (&mut optional, &mut defaults),
        _ => (&mut defaults, &mut optional),
    };
    if add {
        other.retain(|n| *n != scope.name);
        if !target.contains(&scope.name) {
            target.push(scope.name.clone());
        }
    } else {
        target.retain(|n| *n != scope.name);
    }
    row.default_client_scopes = crate::rep::to_column(&defaults)?;
    row.optional_client_scopes = crate::rep::to_column(&optional)?;
    admin::clients::update(change.db(), row).await?;
    let list = match kind {
        RealmScopeType::Optional => "optional-client-scopes",
        _ => "default-client-scopes",
    };
    let op = if add { Op::Create } else { Op::Delete };
    change.record(Event::new(
        op,
        "CLIENT_SCOPE_CLIENT_MAPPING",
        format!("clients/{client_id}/{list}/{scope_id}"),
    ));
    change.commit().await
}

/// Whose scope mappings: a client (internal id) or a client scope (id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Client(&'a str),
    Scope(&'a str),
}

impl Owner<'_> {
    fn path(&self) -> String {
        match self {
            Owner::Client(id) => format!("clients/{id}/scope-mappings"),
            Owner::Scope(id) => format!("client-scopes/{id}/scope-mappings"),
        }
    }
}

/// Realm roles, or the roles of the client with this internal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container<'a> {
    Realm,
    Client(&'a str),
}

/// Which view of a scope mapping list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The roles mapped.
    Direct,
    /// The roles in scope: mapped ones expanded through composites (every role for a client
    /// with `fullScopeAllowed`).
    Composite,
    /// The roles not in scope, that could be mapped.
    Available,
}

/// The owner's mapped role ids and whether it has full scope.
async fn owner_mappings<C: Db>(
    db: &C,
    realm_id: &str,
    owner: Owner<'_>,
) -> Result<(Vec<String>, bool), AdminError> {
    match owner {
        Owner::Client(id) => {
            let row = find_client(db, realm_id, id).await?;
            let ids = crate::rep::stored(&row.scope_role_ids, "client scope mappings")?;
            Ok((ids, row.full_scope_allowed))
        }
        Owner::Scope(id) => Ok((find_scope(db, realm_id, id).await?.role_ids, false)),
    }
}

fn in_container(
    snapshot: &RealmSnapshot,
    container: Container<'_>,
    role_client: Option<&str>,
) -> bool {
    match (container, role_client) {
        (Container::Realm, None) => true,
        (Container::Client(pk), Some(client_id)) => snapshot
            .client_by_id(pk)
            .is_some_and(|c| c.client_id == client_id),
        _ => false,
    }
}

/// The ids of a container's roles that `mapped` (with `full` scope) puts in scope, or not.
fn roles_in_scope(
    snapshot: &RealmSnapshot,
    container: Container<'_>,
    mapped: &[String],
    full: bool,
    view: View,
) -> Vec<String> {
    let mapped_set: BTreeSet<&str> = mapped.iter().map(String::as_str).collect();
    let expanded = portcullis_core::resolve::expand_composites(
        snapshot,
        mapped.iter().map(String::as_str).collect(),
    );
    snapshot
        .roles
        .iter()
        .filter(|r| in_container(snapshot, container, r.client_id.as_deref()))
        .filter(|r| {
            let in_scope = full || expanded.contains(&r.qualified_name());
            match view {
                View::Direct => mapped_set.contains(r.id.as_str()),
                View::Composite => in_scope,
                View::Available => !in_scope,
            }
        })
        .map(|r| r.id.clone())
        .collect()
}

/// A client's or client scope's scope mappings of one container (`view-clients`): Keycloak's
/// `scope-mappings/realm`, `scope-mappings/clients/{client}` and their `composite` and
/// `available` views.
pub async fn scope_mappings(
    ops: Ops<'_>,
    realm: &str,
    owner: Owner<'_>,
    container: Container<'_>,
    view: View,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let (mapped, full) = owner_mappings(db, &realm_row.id, owner).await?;
    if let Container::Client(pk) = container {
        find_client(db, &realm_row.id, pk).await?;
    }
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let ids = roles_in_scope(&snapshot, container, &mapped, full, view);
    let mut roles = admin::roles::by_ids(db, &realm_row.id, &ids).await?;
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

/// Every role a client or client scope has mapped, realm and client roles (`view-clients`):
/// what Keycloak's `GET scope-mappings` groups into realm and client mappings. A client with
/// `fullScopeAllowed` lists only the roles mapped to it, as in Keycloak.
pub async fn all_scope_mappings(
    ops: Ops<'_>,
    realm: &str,
    owner: Owner<'_>,
) -> Result<(String, Vec<role::Model>), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let (mapped, _) = owner_mappings(db, &realm_row.id, owner).await?;
    let mut roles = admin::roles::by_ids(db, &realm_row.id, &mapped).await?;
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((realm_row.id, roles))
}

/// Adds or removes scope mappings of a client or client scope (`manage-clients`). Each
/// reference must name a role of the container, else 404 as in Keycloak.
pub async fn change_scope_mappings(
    ops: Ops<'_>,
    realm: &str,
    owner: Owner<'_>,
    container: Container<'_>,
    refs: Vec<RoleRef>,
    add: bool,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let (mut mapped, _) = owner_mappings(change.db(), &realm_row.id, owner).await?;
    let pk = match container {
        Container::Realm => None,
        Container::Client(pk) => {
            find_client(change.db(), &realm_row.id, pk).await?;
            Some(pk)
        }
    };
    for mut r in refs {
        if let Some(pk) = pk {
            r.client_role = true;
            r.container_id = Some(pk.to_string());
        }
        let role = super::roles::resolve_ref(change.db(), &realm_row.id, &r)
            .await?
            .filter(|role| role.client_pk.as_deref() == pk)
            .ok_or_else(|| AdminError::not_found("Role not found"))?;
        if add {
            if !mapped.contains(&role.id) {
                mapped.push(role.id);
            }
        } else {
            mapped.retain(|id| *id != role.id);
        }
    }
    match owner {
        Owner::Client(id) => {
            let mut row = find_client(change.db(), &realm_row.id, id).await?;
            row.scope_role_ids = crate::rep::to_column(&mapped)?;
            admin::clients::update(change.db(), row).await?;
        }
        Owner::Scope(id) => {
            let mut scope = find_scope(change.db(), &realm_row.id, id).await?;
            scope.role_ids = mapped;
            admin::client_scopes::update(change.db(), &realm_row.id, &scope).await?;
        }
    }
    let (suffix, resource) = match pk {
        None => ("realm".to_string(), "REALM_SCOPE_MAPPING"),
        Some(pk) => (format!("clients/{pk}"), "CLIENT_SCOPE_MAPPING"),
    };
    let op = if add { Op::Create } else { Op::Delete };
    let path = format!("{}/{suffix}", owner.path());
    change.record(Event::new(op, resource, path).with(representation));
    change.commit().await
}

/// Where an evaluated mapper comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluatedMapper {
    pub mapper: ProtocolMapper,
    /// The client scope's id, or the client's internal id.
    pub container_id: String,
    pub container_name: String,
    /// `client-scope` or `client`.
    pub container_type: &'static str,
}

/// The client and the names of the scopes a grant with `scope` gets, as the client's protocol
/// decides (`view-clients`).
async fn evaluation<'s>(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    snapshot: &'s RealmSnapshot,
    scope: Option<&str>,
) -> Result<(&'s portcullis_core::model::Client, Vec<String>), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let row = find_client(ops.state.store().connection(), &realm_row.id, client_id).await?;
    let client = snapshot
        .client_by_id(&row.id)
        .ok_or_else(|| AdminError::not_found("Could not find client"))?;
    let granted = ops
        .protocols
        .find(&client.protocol)
        .map(|p| p.granted_client_scopes(snapshot, client, scope))
        .unwrap_or_default();
    Ok((client, granted))
}

/// The mappers a token for the client gets with this `scope` parameter: the granted scopes'
/// then the client's own (`view-clients`).
pub async fn evaluate_mappers(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    scope: Option<&str>,
) -> Result<Vec<EvaluatedMapper>, AdminError> {
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let (client, granted) = evaluation(ops, realm, client_id, &snapshot, scope).await?;
    let mut out = Vec::new();
    for name in &granted {
        if let Some(s) = snapshot.client_scope_by_name(name) {
            for m in &s.protocol_mappers {
                out.push(EvaluatedMapper {
                    mapper: m.clone(),
                    container_id: s.id.clone(),
                    container_name: s.name.clone(),
                    container_type: "client-scope",
                });
            }
        }
    }
    for m in &client.protocol_mappers {
        out.push(EvaluatedMapper {
            mapper: m.clone(),
            container_id: client.id.clone(),
            container_name: client.client_id.clone(),
            container_type: "client",
        });
    }
    Ok(out)
}

/// The roles of a container (the realm, by name or id, or a client, by internal id) that
/// tokens of the client may carry with this `scope` parameter, or (`granted` off) may not
/// (`view-clients`): the client's own roles, and those the scope mappings of the client and
/// its granted scopes allow, unless the client has full scope.
pub async fn evaluate_roles(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    role_container: &str,
    scope: Option<&str>,
    granted: bool,
) -> Result<Vec<role::Model>, AdminError> {
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let (client, scopes) = evaluation(ops, realm, client_id, &snapshot, scope).await?;
    let container = if role_container == snapshot.realm.name || role_container == snapshot.realm.id
    {
        Container::Realm
    } else {
        snapshot
            .client_by_id(role_container)
            .map(|c| Container::Client(&c.id))
            .ok_or_else(|| AdminError::not_found("No realm or client found"))?
    };
    let mapped = evaluated_mappings(&snapshot, client, &scopes);
    let view = if granted {
        View::Composite
    } else {
        View::Available
    };
    let ids = roles_in_scope(
        &snapshot,
        container,
        &mapped,
        client.full_scope_allowed,
        view,
    );
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let mut roles =
        admin::roles::by_ids(ops.state.store().connection(), &realm_row.id, &ids).await?;
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

/// The role ids in scope of a client's tokens before composites: its own scope mappings,
/// those of the granted scopes, and the client's own roles.
fn evaluated_mappings(
    snapshot: &RealmSnapshot,
    client: &portcullis_core::model::Client,
    scopes: &[String],
) -> Vec<String> {
    let mut mapped = client.scope_role_ids.clone();
    for name in scopes {
        if let Some(s) = snapshot.client_scope_by_name(name) {
            mapped.extend(s.role_ids.iter().cloned());
        }
    }
    mapped.extend(
        snapshot
            .roles
            .iter()
            .filter(|r| r.client_id.as_deref() == Some(client.client_id.as_str()))
            .map(|r| r.id.clone()),
    );
    mapped
}

/// Every role, realm or client, that tokens of the client may carry with this `scope`
/// parameter (`view-clients`): [`evaluate_roles`] over every container at once, realm roles
/// first, then client roles by `clientId`, each by name.
pub async fn evaluate_granted_roles(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    scope: Option<&str>,
) -> Result<Vec<portcullis_core::model::Role>, AdminError> {
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let (client, scopes) = evaluation(ops, realm, client_id, &snapshot, scope).await?;
    let mapped = evaluated_mappings(&snapshot, client, &scopes);
    let expanded = portcullis_core::resolve::expand_composites(
        &snapshot,
        mapped.iter().map(String::as_str).collect(),
    );
    let mut roles: Vec<portcullis_core::model::Role> = snapshot
        .roles
        .iter()
        .filter(|r| client.full_scope_allowed || expanded.contains(&r.qualified_name()))
        .cloned()
        .collect();
    roles.sort_by(|a, b| (&a.client_id, &a.name).cmp(&(&b.client_id, &b.name)));
    Ok(roles)
}

/// An example access token, ID token or userinfo answer for a user of the realm
/// (`view-clients` and `view-users`), built by the client's protocol from the same code as
/// its real tokens.
pub async fn example(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    scope: Option<&str>,
    user_id: Option<&str>,
    kind: ExampleToken,
) -> Result<Map<String, Value>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let (client, _) = evaluation(ops, realm, client_id, &snapshot, scope).await?;
    let user = match user_id {
        Some(id) => ops.state.store().find_user_by_id(&realm_row.id, id).await?,
        None => None,
    }
    .ok_or_else(|| AdminError::not_found("No user found"))?;
    let protocol = ops
        .protocols
        .find(&client.protocol)
        .ok_or_else(|| AdminError::BadRequest(format!("Unknown protocol {}", client.protocol)))?;
    let issuer = ops.state.issuer(realm);
    let request = ExampleRequest {
        snapshot: &snapshot,
        client,
        user: &user,
        scope,
        issuer: &issuer,
        now: ops.state.now(),
    };
    protocol
        .example_token(&request, kind)
        .map_err(AdminError::BadRequest)
}
