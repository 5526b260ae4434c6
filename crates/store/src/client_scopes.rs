//! Client scopes between their three shapes: the stored row, the domain model the token code
//! reads from the realm snapshot, and Keycloak's representation (realm files, admin API).

use std::collections::BTreeMap;

use portcullis_core::model::{ClientScope, ProtocolMapper, RealmScopeType};

use crate::entity::client_scope;
use crate::error::StoreError;
use crate::queries::{from_json, to_json};
use crate::representation::{ClientScopeRepresentation, ProtocolMapperRepresentation};

/// The stored spelling of a realm scope type.
pub fn realm_type_name(kind: RealmScopeType) -> &'static str {
    match kind {
        RealmScopeType::None => "none",
        RealmScopeType::Default => "default",
        RealmScopeType::Optional => "optional",
    }
}

pub fn parse_realm_type(stored: &str) -> RealmScopeType {
    match stored {
        "default" => RealmScopeType::Default,
        "optional" => RealmScopeType::Optional,
        _ => RealmScopeType::None,
    }
}

/// A mapper as its representation stores it (with its id).
pub fn mapper_representation(m: &ProtocolMapper) -> ProtocolMapperRepresentation {
    ProtocolMapperRepresentation {
        id: Some(m.id.clone()),
        name: Some(m.name.clone()),
        protocol: Some(m.protocol.clone()),
        protocol_mapper: Some(m.mapper_type.clone()),
        consent_required: false,
        config: Some(m.config.clone()),
    }
}

/// A stored mapper representation as the domain's mapper; the scope's protocol fills a gap.
pub fn mapper_model(rep: &ProtocolMapperRepresentation, protocol: &str) -> ProtocolMapper {
    let mapper_type = rep.protocol_mapper.clone().unwrap_or_default();
    ProtocolMapper {
        id: rep.id.clone().unwrap_or_default(),
        name: rep.name.clone().unwrap_or_else(|| mapper_type.clone()),
        protocol: rep.protocol.clone().unwrap_or_else(|| protocol.to_owned()),
        mapper_type,
        config: rep.config.clone().unwrap_or_default(),
    }
}

/// The row for a domain scope of `realm_id`.
pub fn to_row(scope: &ClientScope, realm_id: &str) -> Result<client_scope::Model, StoreError> {
    let mappers: Vec<ProtocolMapperRepresentation> = scope
        .protocol_mappers
        .iter()
        .map(mapper_representation)
        .collect();
    Ok(client_scope::Model {
        id: scope.id.clone(),
        realm_id: realm_id.to_owned(),
        name: scope.name.clone(),
        description: scope.description.clone(),
        protocol: scope.protocol.clone(),
        attributes: to_json(&scope.attributes)?,
        protocol_mappers: to_json(&mappers)?,
        role_ids: to_json(&scope.role_ids)?,
        realm_type: realm_type_name(scope.realm_type).to_owned(),
    })
}

/// The domain scope of a row.
pub fn from_row(row: &client_scope::Model) -> Result<ClientScope, StoreError> {
    let mappers: Vec<ProtocolMapperRepresentation> =
        from_json(&row.protocol_mappers, "client scope mappers")?;
    Ok(ClientScope {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        protocol: row.protocol.clone(),
        attributes: from_json::<BTreeMap<String, String>>(
            &row.attributes,
            "client scope attributes",
        )?,
        protocol_mappers: mappers
            .iter()
            .map(|m| mapper_model(m, &row.protocol))
            .collect(),
        role_ids: from_json(&row.role_ids, "client scope role mappings")?,
        realm_type: parse_realm_type(&row.realm_type),
    })
}

/// Keycloak's representation of a domain scope.
pub fn representation(scope: &ClientScope) -> ClientScopeRepresentation {
    ClientScopeRepresentation {
        id: Some(scope.id.clone()),
        name: Some(scope.name.clone()),
        description: scope.description.clone(),
        protocol: Some(scope.protocol.clone()),
        attributes: Some(scope.attributes.clone()),
        protocol_mappers: scope
            .protocol_mappers
            .iter()
            .map(mapper_representation)
            .collect(),
    }
}
