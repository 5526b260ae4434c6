//! Protocols are plug-ins in Keycloak's sense: each protocol crate exposes one value implementing
//! [`Protocol`], and the binary mounts its router under the realm.

use axum::Router;
use portcullis_core::model::ProtocolMapper;
use portcullis_store::RealmRepresentation;

use crate::AppState;

/// A protocol-mapper type a protocol understands, with the config keys it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapperType {
    pub id: &'static str,
    pub display_name: &'static str,
    pub help: &'static str,
    pub config_keys: &'static [&'static str],
}

pub trait Protocol: Send + Sync + 'static {
    /// The protocol id, as in `client.protocol` and the URL (`openid-connect`, `docker-v2`).
    fn name(&self) -> &'static str;
    /// Routes relative to [`protocol_mount_path`]; handlers find the realm in the `realm` path parameter.
    fn router(&self) -> Router<AppState>;
    fn mapper_types(&self) -> Vec<MapperType>;
    /// Why this protocol cannot use `mapper` (a sentence each); empty when it can.
    fn mapper_problems(&self, _mapper: &ProtocolMapper) -> Vec<String> {
        Vec::new()
    }
}

/// The protocol mappers of a realm representation the protocols they are for cannot use,
/// each as `client 'x', mapper 'y': reason` (what an import must refuse, as the admin API
/// refuses such a mapper).
pub fn realm_mapper_problems(
    protocols: &[Box<dyn Protocol>],
    rep: &RealmRepresentation,
) -> Vec<String> {
    let mut problems = Vec::new();
    for client in &rep.clients {
        let client_protocol = client.protocol.as_deref().unwrap_or("openid-connect");
        for mapper in &client.protocol_mappers {
            let mapper = ProtocolMapper {
                id: String::new(),
                name: mapper.name.clone().unwrap_or_default(),
                protocol: mapper
                    .protocol
                    .clone()
                    .unwrap_or_else(|| client_protocol.to_string()),
                mapper_type: mapper.protocol_mapper.clone().unwrap_or_default(),
                config: mapper.config.clone(),
            };
            let Some(protocol) = protocols.iter().find(|p| p.name() == mapper.protocol) else {
                continue;
            };
            for reason in protocol.mapper_problems(&mapper) {
                problems.push(format!(
                    "client '{}', mapper '{}': {reason}",
                    client.client_id.as_deref().unwrap_or_default(),
                    mapper.name
                ));
            }
        }
    }
    problems
}

/// Where a protocol's router is nested: `{relative}/realms/{realm}/protocol/{name}`.
pub fn protocol_mount_path(relative_path: &str, name: &str) -> String {
    format!("{relative_path}/realms/{{realm}}/protocol/{name}")
}
