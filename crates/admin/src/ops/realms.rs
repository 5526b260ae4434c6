//! Realms: create (from Keycloak's representation, nested clients, roles, groups and users
//! included), list the ones the caller administers, read, update the top-level settings and
//! delete.

use std::collections::BTreeMap;

use portcullis_core::model::ProtocolMapper;
use portcullis_store::admin;
use portcullis_store::entity::realm;
use portcullis_store::representation::{
    ClientRepresentation, ComponentRepresentation, GroupRepresentation, RolesRepresentation,
};
use portcullis_store::{MASTER_REALM, RealmRepresentation, StoreError};
use serde_json::{Map, Value};

use super::Ops;
use super::clients::validate_mapper;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;

/// Creates a realm (`create-realm` in master); returns its name. Mappers are judged by their
/// protocols, a taken name is a conflict.
pub async fn create(
    ops: Ops<'_>,
    representation: RealmRepresentation,
    extras: Map<String, Value>,
    event: Value,
) -> Result<String, AdminError> {
    if !ops.caller.can_create_realms() {
        return Err(AdminError::Forbidden);
    }
    let name = representation
        .realm
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| AdminError::BadRequest("Realm name cannot be empty".into()))?;
    rep::realm::validate_name(&name)?;
    for client in &representation.clients {
        let protocol = client
            .protocol
            .as_deref()
            .unwrap_or(rep::client::OPENID_CONNECT);
        for mapper in &client.protocol_mappers {
            let domain = ProtocolMapper {
                id: String::new(),
                name: mapper.name.clone().unwrap_or_default(),
                protocol: mapper.protocol.clone().unwrap_or_else(|| protocol.into()),
                mapper_type: mapper.protocol_mapper.clone().unwrap_or_default(),
                config: mapper.config.clone().unwrap_or_default(),
            };
            validate_mapper(ops.protocols, protocol, &domain)?;
        }
    }
    // A user profile the file carries must be one `PUT users/profile` would accept.
    if let Some(text) = admin::user_profile::from_components(&representation.components)? {
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| AdminError::Internal(format!("user profile component: {e}")))?;
        super::user_profile::UpConfig::from_body(&body)?;
    }
    let conflict = || AdminError::Conflict("Conflict detected. See logs for details".into());
    let db = ops.state.store().connection();
    if admin::realms::find_by_name(db, &name).await?.is_some() {
        return Err(conflict());
    }
    let planned = admin::plan_realm(representation, ops.state.now()).await?;
    let mut change = Change::begin_without_realm(ops.state, ops.caller).await?;
    let id = admin::create_realm(change.db(), planned)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => conflict(),
            other => other.into(),
        })?;
    admin::extras::set(change.db(), &id, &id, &extras).await?;
    let row = admin::realms::find_by_name(change.db(), &name)
        .await?
        .ok_or_else(|| AdminError::Internal("created realm not found".into()))?;
    change.set_realm(row);
    change.record(Event::new(Op::Create, "REALM", "").with(event));
    change.commit().await?;
    Ok(name)
}

/// The realms the caller administers in any way, by name.
pub async fn list(ops: Ops<'_>) -> Result<Vec<realm::Model>, AdminError> {
    let db = ops.state.store().connection();
    Ok(admin::realms::list(db)
        .await?
        .into_iter()
        .filter(|r| ops.caller.can(&r.name, Right::Any))
        .collect())
}

/// The names of the first `limit` realms the caller administers in any way, by name, and
/// whether there are more. A caller signed in to a realm other than `master` sees at most
/// that realm; others are read a page at a time, so the work stays bounded by what is shown
/// for the master admin and by the realms passed over for anyone else.
pub async fn visible(ops: Ops<'_>, limit: usize) -> Result<(Vec<String>, bool), AdminError> {
    const BATCH: u64 = 200;
    let db = ops.state.store().connection();
    if !ops.caller.may_address(MASTER_REALM) {
        let own = ops.caller.realm_name().to_string();
        let mine = ops.caller.can(&own, Right::Any) && limit > 0;
        return Ok((if mine { vec![own] } else { Vec::new() }, false));
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let rows = admin::realms::page_after(db, after.as_deref(), BATCH).await?;
        let last_page = (rows.len() as u64) < BATCH;
        after = rows.last().map(|r| r.name.clone());
        for row in rows {
            if ops.caller.can(&row.name, Right::Any) {
                if names.len() == limit {
                    return Ok((names, true));
                }
                names.push(row.name);
            }
        }
        if last_page {
            return Ok((names, false));
        }
    }
}

/// The realm `name` if the caller administers it in any way: 404 for no such realm, 403 for
/// one the caller may not see.
pub async fn administered(ops: Ops<'_>, name: &str) -> Result<realm::Model, AdminError> {
    target_realm(ops.state, ops.caller, name, Right::Any).await
}

/// The realm's row and the representation fields it keeps without modelling them, for a caller
/// with `right` in it: `view-realm` for the settings, any right for Keycloak's `GET
/// /admin/realms/{realm}` (which every admin of the realm may read).
pub async fn get(
    ops: Ops<'_>,
    realm: &str,
    right: Right,
) -> Result<(realm::Model, Map<String, Value>), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, right).await?;
    let extras = admin::extras::get(ops.state.store().connection(), &row.id).await?;
    Ok((row, extras))
}

/// What `partial-export` hands out: the realm's settings and, on request, its roles and groups
/// and its clients, in Keycloak's representation.
#[derive(Debug, Clone)]
pub struct PartialExport {
    pub realm: realm::Model,
    /// The representation fields the realm keeps without modelling them.
    pub extras: Map<String, Value>,
    /// Keycloak's `roles` (client roles only with the clients) and `groups`.
    pub roles_and_groups: Option<(RolesRepresentation, Vec<GroupRepresentation>)>,
    /// The clients, secrets masked.
    pub clients: Option<Vec<ClientRepresentation>>,
    /// Keycloak's `components` without the keys: the user profile, when the realm has its own.
    pub components: BTreeMap<String, Vec<ComponentRepresentation>>,
}

/// The realm's settings and, on request, its roles and groups and its clients (`view-realm`,
/// and `view-clients` for the clients); client secrets are masked, users and keys never
/// exported.
pub async fn partial_export(
    ops: Ops<'_>,
    realm: &str,
    with_clients: bool,
    with_groups_and_roles: bool,
) -> Result<PartialExport, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    if with_clients {
        ops.caller.require(realm, Right::ViewClients)?;
    }
    let exported = ops
        .state
        .store()
        .export_realm(realm, false)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))?;
    let extras = admin::extras::get(ops.state.store().connection(), &row.id).await?;
    let roles_and_groups = with_groups_and_roles.then(|| {
        let mut roles = exported.roles.unwrap_or_default();
        if !with_clients {
            roles.client.clear();
        }
        (roles, exported.groups)
    });
    let clients = with_clients.then(|| {
        let mut clients = exported.clients;
        for client in &mut clients {
            if client.secret.is_some() {
                client.secret = Some(rep::client::MASKED_SECRET.to_string());
            }
        }
        clients
    });
    let mut components = exported.components;
    components.retain(|kind, _| kind == admin::user_profile::COMPONENT_TYPE);
    Ok(PartialExport {
        realm: row,
        extras,
        roles_and_groups,
        clients,
        components,
    })
}

/// Updates the top-level settings a Keycloak `RealmRepresentation` carries (`manage-realm`);
/// nested users, clients and roles are ignored, as in Keycloak. Returns the realm's name
/// afterwards (a body may rename it). `master` is neither renamed nor disabled; a password
/// policy must parse; numbers must not be negative; a taken name is a conflict.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    update: &RealmRepresentation,
    extras: &Map<String, Value>,
    event: Value,
) -> Result<String, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut updated = row.clone();
    let renamed = rep::realm::apply(update, &mut updated)?;
    if row.name == MASTER_REALM && (renamed.is_some() || !updated.enabled) {
        return Err(AdminError::BadRequest(
            "The master realm cannot be renamed or disabled".into(),
        ));
    }
    let mut change = Change::begin(ops.state, ops.caller, updated.clone()).await?;
    if let Some(name) = &renamed {
        if admin::realms::find_by_name(change.db(), name)
            .await?
            .is_some()
        {
            return Err(AdminError::Conflict(format!("Realm {name} already exists")));
        }
        change.realm_renamed_from(&row.name);
    }
    let stored = admin::extras::get(change.db(), &row.id).await?;
    let extras = rep::merge_extras(stored, extras);
    admin::realms::update(change.db(), updated.clone())
        .await
        .map_err(super::lookup::conflict_on_duplicate(AdminError::Conflict(
            format!("Realm {realm} already exists"),
        )))?;
    admin::extras::set(change.db(), &row.id, &row.id, &extras).await?;
    change.record(Event::new(Op::Update, "REALM", "").with(event));
    change.commit().await?;
    Ok(updated.name)
}

/// Deletes a realm and everything in it (`manage-realm`); `master` cannot be deleted.
pub async fn delete(ops: Ops<'_>, realm: &str) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    if row.name == MASTER_REALM {
        return Err(AdminError::BadRequest(
            "The master realm cannot be deleted".into(),
        ));
    }
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    change.deleting_realm();
    admin::realms::delete(change.db(), &row.id).await?;
    change.commit().await?;
    tracing::info!(realm = %row.name, by = %ops.caller.user.username, "realm deleted");
    Ok(())
}
