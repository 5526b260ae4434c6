//! The docker-v2 token protocol (Docker Registry v2 token authentication).
//!
//! A docker-v2 client is one registry: its `clientId` is the registry's `service`, and its
//! protocol mappers are the access rules (design section 5). [`scope`] parses what clients ask
//! for, [`policy`] decides what they get, [`token`] signs it, and the endpoint serves it at
//! `{relative}/realms/{realm}/protocol/docker-v2[/auth]`, plus registry configuration downloads.
//! [`ci`] and [`issuers`] are keyless CI: OIDC tokens of trusted CI issuers as the password.

pub mod ci;
mod endpoint;
pub mod error;
pub mod issuers;
pub mod policy;
mod refresh_cache;
pub mod scope;
pub mod token;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use portcullis_core::jwk::ForeignJws;
use portcullis_core::model::{Client, ProtocolMapper, RealmSnapshot};
use portcullis_core::resolve::ResolvedUser;
use portcullis_web::{
    AccessRule, AppState, CiAttempt, CiTry, ClientSetting, ClientSetup, MapperType, Mount,
    Protocol, RuleVerdictView, ScopeExplanation, Urls,
};

pub use error::DockerError;
pub use policy::{ConfigError, Policy, validate as validate_mapper};

/// The protocol id, as in `client.protocol` and the URL.
pub const PROTOCOL: &str = "docker-v2";

/// The docker-v2 protocol plug-in. It holds the trusted CI issuers' keys, shared by the token
/// endpoint and the console's "try it", so both check signatures against the same keys.
#[derive(Debug, Clone, Default)]
pub struct DockerV2 {
    issuers: Arc<issuers::IssuerKeys>,
}

impl Protocol for DockerV2 {
    fn name(&self) -> &'static str {
        PROTOCOL
    }

    fn routes(&self, mount: &Mount) -> Router<AppState> {
        endpoint::routes(mount, self.issuers.clone())
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
            MapperType {
                id: ci::CI_TOKEN_MAPPER,
                display_name: "CI Token (keyless)",
                help: "Grants actions (pull, push, delete or *) on repositories matching a glob \
                       to CI jobs presenting an OIDC token of a trusted issuer as the password: \
                       issuer (URL), audience (the token's aud must contain it), optional \
                       username, and claims (name=value conditions, comma separated, all must \
                       hold; * matches any run; a/b reaches nested claims).",
                config_keys: ci::CI_CONFIG_KEYS,
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

    fn ci_rules(&self, client: &Client) -> Option<Vec<portcullis_web::CiRule>> {
        Some(
            client
                .protocol_mappers
                .iter()
                .filter(|m| m.mapper_type == ci::CI_TOKEN_MAPPER)
                .filter_map(|m| {
                    let rule = ci::CiRule::parse(m).ok()?;
                    Some(portcullis_web::CiRule {
                        mapper_id: m.id.clone(),
                        name: rule.name.clone(),
                        claims: rule.claims_text(),
                        actions: rule.action_names(),
                        username: rule.username.clone().unwrap_or_default(),
                        issuer: rule.issuer,
                        audience: rule.audience,
                        repository: rule.repository,
                    })
                })
                .collect(),
        )
    }

    fn ci_rule_mapper(&self, rule: &portcullis_web::CiRule) -> Option<ProtocolMapper> {
        Some(ci::mapper_for(rule))
    }

    fn try_ci_token<'a>(
        &'a self,
        client: &'a Client,
        attempt: CiAttempt<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<CiTry, String>> + Send + 'a>> {
        Box::pin(try_ci_token(&self.issuers, client, attempt))
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

/// The console's "try it" for a CI token: the endpoint's check ([`issuers::IssuerKeys::check`])
/// with every rule's verdict kept.
async fn try_ci_token(
    keys: &issuers::IssuerKeys,
    client: &Client,
    attempt: CiAttempt<'_>,
) -> Result<CiTry, String> {
    let jws = ForeignJws::parse(attempt.token.trim()).ok_or_else(|| {
        "This is not a signed JWT (three base64url parts whose header names an alg).".to_string()
    })?;
    let requested =
        scope::parse_scopes(attempt.scopes.iter().copied()).map_err(|e| e.to_string())?;
    let policy = ci::CiPolicy::for_client(client);
    let text = |name: &str| match jws.claims.get(name) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let (issuer, subject, audience) = (text("iss"), text("sub"), text("aud"));
    let presented = ci::Presented {
        claims: &jws.claims,
        username: attempt.username,
    };
    let evaluation = policy.evaluate(&presented);
    let verdicts = evaluation
        .verdicts
        .iter()
        .map(|v| RuleVerdictView {
            rule: v.rule.name.clone(),
            hit: v.outcome.is_ok(),
            detail: match &v.outcome {
                Ok(()) => format!(
                    "matches: {} on {}",
                    v.rule.action_names().join(", "),
                    v.rule.repository
                ),
                Err(miss) => miss.to_string(),
            },
        })
        .collect();
    let checked = keys
        .check(&policy, &jws, attempt.username, attempt.now)
        .await;
    let (refused, scopes) = match checked {
        Err(refusal) => (Some(refusal.to_string()), Vec::new()),
        Ok(accepted) => {
            let scopes = requested
                .iter()
                .map(|asked| ScopeExplanation {
                    requested: asked.to_string(),
                    granted: accepted.grant(asked).into_iter().collect(),
                    verdicts: accepted
                        .per_rule(asked)
                        .into_iter()
                        .map(|(rule, hit)| RuleVerdictView {
                            rule: rule.name.clone(),
                            hit: hit.is_some(),
                            detail: match hit {
                                Some(actions) if actions.is_empty() => {
                                    "applies, but holds none of the actions asked".into()
                                }
                                Some(actions) => format!(
                                    "grants {}",
                                    actions.into_iter().collect::<Vec<_>>().join(", ")
                                ),
                                None => "the name does not match the pattern".into(),
                            },
                        })
                        .collect(),
                })
                .collect();
            (None, scopes)
        }
    };
    Ok(CiTry {
        issuer,
        subject,
        audience,
        refused,
        verdicts,
        scopes,
    })
}
