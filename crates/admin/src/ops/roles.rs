//! Roles: create and delete realm roles (`manage-realm`) and client roles (`manage-clients`).

use portcullis_store::admin;
use portcullis_store::entity::role;
use serde_json::Value;

use super::Ops;
use crate::api::roles::{Locator, composites_by_name, container_of, locate};
use crate::api::{check_id, conflict_on_duplicate};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep::role::RoleFields;

/// A role to create.
#[derive(Debug, Clone, Default)]
pub struct NewRole {
    /// Keycloak lets the caller choose the id; a new one otherwise.
    pub id: Option<String>,
    /// The internal id of the client it belongs to; `None` for a realm role.
    pub client: Option<String>,
    pub fields: RoleFields,
}

/// Creates a realm role (`manage-realm`) or a client role (`manage-clients`), with the
/// composites its fields name; returns it. A name the container already has is a conflict.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    new: NewRole,
    representation: Value,
) -> Result<role::Model, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let container = container_of(change.db(), &realm_row.id, new.client.as_deref()).await?;
    ops.caller.require(realm, container.manage_right())?;
    let name = new
        .fields
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| AdminError::BadRequest("Role name is required".into()))?;
    let exists = || AdminError::Conflict(format!("Role with name {name} already exists"));
    if admin::roles::by_name(change.db(), &realm_row.id, container.pk(), &name)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let id = match new.id {
        Some(id) => {
            check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let mut row = role::Model {
        id: id.clone(),
        realm_id: realm_row.id.clone(),
        client_pk: container.pk().map(str::to_string),
        name: name.clone(),
        description: None,
        attributes: "{}".into(),
    };
    new.fields.apply(&mut row)?;
    let children = composites_by_name(change.db(), &realm_row.id, &new.fields).await?;
    admin::roles::insert(change.db(), row.clone())
        .await
        .map_err(conflict_on_duplicate(exists()))?;
    admin::roles::add_children(change.db(), &id, &children).await?;
    let path = format!("{}/{name}", container.base_path());
    change.record(Event::new(Op::Create, container.resource(), path).with(representation));
    change.commit().await?;
    Ok(row)
}

/// Deletes a role (`manage-realm` for a realm role, `manage-clients` for a client role); the
/// rights check in [`Change`] refuses it when that takes away admin rights the caller lacks.
pub async fn delete(ops: Ops<'_>, realm: &str, locator: &Locator) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let (role, container) = locate(change.db(), &realm_row.id, locator).await?;
    ops.caller.require(realm, container.manage_right())?;
    let path = locator.path(&container, &role);
    admin::roles::delete(change.db(), &role.id).await?;
    change.record(Event::new(Op::Delete, container.resource(), path));
    change.commit().await
}
