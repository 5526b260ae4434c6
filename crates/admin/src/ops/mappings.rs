//! Role mappings of users and groups: the direct ones, a user's effective roles with where each
//! comes from, and adding or removing mappings.

use std::collections::BTreeSet;

use portcullis_core::model::{Client, Role};
use portcullis_store::admin::{self, roles::Holder};
use portcullis_store::entity::role;
use serde_json::Value;

use super::Ops;
use super::lookup::{Db, find_client, find_group, find_user};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep::role::RoleRef;

/// 404 unless the user or group exists in the realm.
pub async fn check_holder<C: Db>(
    db: &C,
    realm_id: &str,
    holder: Holder<'_>,
) -> Result<(), AdminError> {
    match holder {
        Holder::User(id) => find_user(db, realm_id, id).await.map(|_| ()),
        Holder::Group(id) => find_group(db, realm_id, id).await.map(|_| ()),
    }
}

/// The roles mapped directly to a user or group (`view-users`), realm and client roles.
pub async fn direct(
    ops: Ops<'_>,
    realm: &str,
    holder: Holder<'_>,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    check_holder(db, &realm_row.id, holder).await?;
    let ids = admin::roles::mapped_ids(db, holder).await?;
    Ok(admin::roles::by_ids(db, &realm_row.id, &ids).await?)
}

/// Realm roles, or the roles of the client with this internal id.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    Realm,
    Client(&'a str),
}

impl Scope<'_> {
    fn contains(&self, role: &role::Model) -> bool {
        match self {
            Scope::Realm => role.client_pk.is_none(),
            Scope::Client(pk) => role.client_pk.as_deref() == Some(*pk),
        }
    }
}

/// Which view of the mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The roles mapped to the holder.
    Direct,
    /// The roles the holder has: direct, through groups and composites.
    Effective,
    /// The roles the holder does not have, to be given.
    Available,
}

/// The roles of one scope a user or group has, or could be given (`view-users`): Keycloak's
/// `role-mappings/realm` and `role-mappings/clients/{client}` and their `composite` and
/// `available` views. An unknown holder or client is a 404.
pub async fn scoped(
    ops: Ops<'_>,
    realm: &str,
    holder: Holder<'_>,
    scope: Scope<'_>,
    view: View,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    check_holder(db, &realm_row.id, holder).await?;
    if let Scope::Client(client) = scope {
        find_client(db, &realm_row.id, client).await?;
    }
    let roles: Vec<role::Model> = match view {
        View::Direct => {
            let ids = admin::roles::mapped_ids(db, holder).await?;
            admin::roles::by_ids(db, &realm_row.id, &ids).await?
        }
        View::Effective | View::Available => {
            let snapshot = super::lookup::snapshot(ops.state, realm).await?;
            let effective = super::lookup::effective_roles(db, &snapshot, holder).await?;
            let held: Vec<String> = snapshot
                .roles
                .iter()
                .filter(|r| effective.has_role(&r.qualified_name()) == (view == View::Effective))
                .map(|r| r.id.clone())
                .collect();
            admin::roles::by_ids(db, &realm_row.id, &held).await?
        }
    };
    Ok(roles.into_iter().filter(|r| scope.contains(r)).collect())
}

/// A user's effective role, by qualified name (`role`, `clientId.role`), and where it comes
/// from: `direct`, `group /eng`, `composite of lead ← group /eng`.
pub struct EffectiveRole {
    pub name: String,
    pub source: String,
}

/// Every effective role of a user (`view-users`): direct mappings, those of their groups and
/// ancestor groups, expanded through composites, the same resolution tokens use.
pub async fn effective(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<EffectiveRole>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let user = ops
        .state
        .store()
        .find_user_by_id(&realm_row.id, user_id)
        .await?
        .ok_or_else(|| AdminError::not_found("User not found"))?;
    Ok(portcullis_core::resolve::role_sources(&snapshot, &user)
        .into_iter()
        .map(|(name, source)| EffectiveRole { name, source })
        .collect())
}

/// Adds or removes role mappings of a user or group (`manage-users`). Each reference must name
/// a role of the scope (realm roles, or those of the client with internal id `client`), else
/// 404 as in Keycloak. The rights check in [`Change`] refuses a mapping that gives or takes
/// away an admin right the caller lacks.
#[allow(clippy::too_many_arguments)]
pub async fn change(
    ops: Ops<'_>,
    realm: &str,
    holder: Holder<'_>,
    client: Option<&str>,
    refs: Vec<RoleRef>,
    add: bool,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    check_holder(change.db(), &realm_row.id, holder).await?;
    if let Some(client) = client {
        find_client(change.db(), &realm_row.id, client).await?;
    }
    let in_scope = |role: &role::Model| role.client_pk.as_deref() == client;
    let mut ids = Vec::new();
    for mut r in refs {
        if let Some(pk) = client {
            r.client_role = true;
            r.container_id = Some(pk.to_string());
        }
        let role = super::roles::resolve_ref(change.db(), &realm_row.id, &r)
            .await?
            .filter(in_scope)
            .ok_or_else(|| AdminError::not_found("Role not found"))?;
        ids.push(role.id);
    }
    let op = if add {
        admin::roles::map(change.db(), holder, &ids).await?;
        Op::Create
    } else {
        admin::roles::unmap(change.db(), holder, &ids).await?;
        Op::Delete
    };
    let (suffix, resource) = match client {
        None => ("realm".to_string(), "REALM_ROLE_MAPPING"),
        Some(c) => (format!("clients/{c}"), "CLIENT_ROLE_MAPPING"),
    };
    let (segment, id) = match holder {
        Holder::User(id) => ("users", id),
        Holder::Group(id) => ("groups", id),
    };
    let path = format!("{segment}/{id}/role-mappings/{suffix}");
    if let Holder::User(id) = holder {
        change.user_changed(id);
    }
    change.record(Event::new(op, resource, path).with(representation));
    change.commit().await
}

/// The clients that have roles, by `clientId`: the first `limit` and whether there are more
/// (`view-clients`). These are the clients whose roles a user or group may be given.
pub async fn role_clients(
    ops: Ops<'_>,
    realm: &str,
    limit: usize,
) -> Result<(Vec<Client>, bool), AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let owners: BTreeSet<&str> = snapshot
        .roles
        .iter()
        .filter_map(|r| r.client_id.as_deref())
        .collect();
    let mut clients: Vec<&Client> = snapshot
        .clients
        .iter()
        .filter(|c| owners.contains(c.client_id.as_str()))
        .collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let more = clients.len() > limit;
    Ok((clients.into_iter().take(limit).cloned().collect(), more))
}

/// The client with `clientId` `client_id` and its roles, by name: the first `limit` and
/// whether there are more (`view-clients`); `None` when the realm has no such client.
pub async fn client_roles(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    limit: usize,
) -> Result<Option<(Client, Vec<Role>, bool)>, AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let Some(client) = snapshot.client(client_id) else {
        return Ok(None);
    };
    let mut roles: Vec<&Role> = snapshot
        .roles
        .iter()
        .filter(|r| r.client_id.as_deref() == Some(client_id))
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let more = roles.len() > limit;
    let roles = roles.into_iter().take(limit).cloned().collect();
    Ok(Some((client.clone(), roles, more)))
}
