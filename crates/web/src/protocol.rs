//! Protocols are plug-ins in Keycloak's sense: each protocol crate exposes one value implementing
//! [`Protocol`], and the binary mounts its router under the realm.

use axum::Router;

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
}

/// Where a protocol's router is nested: `{relative}/realms/{realm}/protocol/{name}`.
pub fn protocol_mount_path(relative_path: &str, name: &str) -> String {
    format!("{relative_path}/realms/{{realm}}/protocol/{name}")
}
