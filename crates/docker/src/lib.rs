//! The docker-v2 token protocol (Docker Registry v2 token authentication).
//!
//! A docker-v2 client is one registry: its `clientId` is the registry's `service`, and its
//! protocol mappers are the access rules (design section 5). [`scope`] parses what clients ask
//! for, [`policy`] decides what they get, [`token`] signs it, and the endpoint serves it at
//! `{relative}/realms/{realm}/protocol/docker-v2[/auth]`, plus registry configuration downloads.

mod endpoint;
pub mod error;
pub mod policy;
mod refresh_cache;
pub mod scope;
pub mod token;

use axum::Router;
use portcullis_core::model::ProtocolMapper;
use portcullis_web::{AppState, MapperType, Protocol};

pub use error::DockerError;
pub use policy::{ConfigError, Policy, validate as validate_mapper};

/// The protocol id, as in `client.protocol` and the URL.
pub const PROTOCOL: &str = "docker-v2";

/// The docker-v2 protocol plug-in.
#[derive(Debug, Clone, Copy, Default)]
pub struct DockerV2;

impl Protocol for DockerV2 {
    fn name(&self) -> &'static str {
        PROTOCOL
    }

    fn router(&self) -> Router<AppState> {
        endpoint::router()
    }

    fn mapper_types(&self) -> Vec<MapperType> {
        vec![
            MapperType {
                id: policy::ALLOW_ALL_MAPPER,
                display_name: "Allow All",
                help: "Every authenticated user gets every action they request on every \
                       repository. Anonymous requests get nothing from this mapper.",
                config_keys: &[],
            },
            MapperType {
                id: policy::REPOSITORY_ACCESS_MAPPER,
                display_name: "Repository Access",
                help: "Grants actions (pull, push, delete or *; push implies pull) on \
                       repositories matching a glob (* within a path segment, ** across \
                       segments, ${username} for the requester) to one subject: a role \
                       (realm role or clientId.role), a group (members of subgroups count), \
                       or subject=authenticated|anonymous. type=registry with actions=* \
                       grants the catalog.",
                config_keys: policy::CONFIG_KEYS,
            },
        ]
    }

    fn mapper_problems(&self, mapper: &ProtocolMapper) -> Vec<String> {
        validate_mapper(mapper)
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}
