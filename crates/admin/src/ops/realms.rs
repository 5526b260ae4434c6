//! Realms: create (from Keycloak's representation, nested clients, roles, groups and users
//! included) and list the ones the caller administers.

use portcullis_core::model::ProtocolMapper;
use portcullis_store::admin;
use portcullis_store::entity::realm;
use portcullis_store::{RealmRepresentation, StoreError};
use serde_json::{Map, Value};

use super::Ops;
use crate::api::clients::validate_mapper;
use crate::auth::Right;
use crate::context::{Change, Event, Op};
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
                config: mapper.config.clone(),
            };
            validate_mapper(ops.protocols, protocol, &domain)?;
        }
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
