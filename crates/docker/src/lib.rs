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
use portcullis_core::model::{Client, ProtocolMapper, RealmSnapshot};
use portcullis_core::resolve::ResolvedUser;
use portcullis_web::{
    AccessRule, AppState, ClientSetting, ClientSetup, MapperType, Protocol, RuleVerdictView,
    ScopeExplanation, Urls,
};

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

    fn client_settings(&self) -> Vec<ClientSetting> {
        vec![
            ClientSetting {
                field: "algorithm",
                attribute: token::ATTR_ALGORITHM,
                label: "Signature algorithm",
                help: "How registry tokens are signed. ES256 tokens are smaller and cheaper.",
                choices: &["RS256", "ES256"],
            },
            ClientSetting {
                field: "kidFormat",
                attribute: token::ATTR_KID_FORMAT,
                label: "Key id format",
                help: "libtrust for registry 2.x bundles, thumbprint (RFC 7638) for registry 3 JWKS.",
                choices: &["libtrust", "thumbprint"],
            },
            ClientSetting {
                field: "tokenLifespan",
                attribute: token::ATTR_LIFESPAN,
                label: "Token lifespan (seconds)",
                help: "How long a registry token is valid; empty for the realm's lifespan.",
                choices: &[],
            },
            ClientSetting {
                field: "refreshLifespan",
                attribute: token::ATTR_REFRESH_LIFESPAN,
                label: "Docker login lifespan (seconds)",
                help: "How long a stored docker login (identity token) lasts; empty for 30 days.",
                choices: &[],
            },
        ]
    }

    fn access_rules(&self, client: &Client) -> Option<Vec<AccessRule>> {
        Some(
            client
                .protocol_mappers
                .iter()
                .filter_map(policy::describe)
                .collect(),
        )
    }

    fn rule_mapper(&self, rule: &AccessRule) -> Option<ProtocolMapper> {
        Some(policy::mapper_for(rule))
    }

    fn explain_access(
        &self,
        client: &Client,
        user: Option<&ResolvedUser>,
        scopes: &[&str],
    ) -> Result<Vec<ScopeExplanation>, String> {
        let requested = scope::parse_scopes(scopes.iter().copied()).map_err(|e| e.to_string())?;
        let explained = Policy::for_client(client).explain(user, &requested);
        Ok(requested
            .iter()
            .zip(explained)
            .map(|(asked, explanation)| ScopeExplanation {
                requested: asked.to_string(),
                granted: explanation.granted.actions.into_iter().collect(),
                verdicts: explanation
                    .rules
                    .into_iter()
                    .map(|verdict| match verdict.outcome {
                        policy::Outcome::Grants(actions) => RuleVerdictView {
                            rule: verdict.rule,
                            hit: true,
                            detail: match actions.is_empty() {
                                true => "applies, but holds none of the actions asked".into(),
                                false => format!(
                                    "grants {}",
                                    actions.into_iter().collect::<Vec<_>>().join(", ")
                                ),
                            },
                        },
                        policy::Outcome::Misses(why) => RuleVerdictView {
                            rule: verdict.rule,
                            hit: false,
                            detail: why.to_string(),
                        },
                    })
                    .collect(),
            })
            .collect())
    }

    fn client_setup(
        &self,
        urls: &Urls,
        realm: &RealmSnapshot,
        client: &Client,
    ) -> Option<ClientSetup> {
        let issuer = format!(
            "{}{}/realms/{}",
            urls.base_url, urls.relative_path, realm.realm.name
        );
        let settings = token::TokenSettings::for_client(&realm.realm, client);
        let config = endpoint::render_registry_config(
            &issuer,
            &realm.realm.name,
            &client.client_id,
            &settings,
        );
        let downloads = format!(
            "{issuer}/protocol/{PROTOCOL}/clients/{}",
            endpoint::path_segment(&client.client_id)
        );
        Some(ClientSetup {
            config,
            downloads: vec![
                (
                    "download-bundle",
                    "Certificate bundle (rootcertbundle)",
                    format!("{downloads}/bundle.pem"),
                ),
                (
                    "download-jwks",
                    "JWKS (registry 3 jwks)",
                    format!("{downloads}/jwks.json"),
                ),
            ],
            login_command: format!("docker login {}", client.client_id),
        })
    }
}
