//! Protocols are plug-ins in Keycloak's sense: each protocol crate exposes one value implementing
//! [`Protocol`], and the binary mounts its router under the realm.

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use portcullis_core::model::{Client, ProtocolMapper, RealmSnapshot, User};
use portcullis_core::resolve::ResolvedUser;
use portcullis_store::RealmRepresentation;

use crate::{AppState, Urls};

/// A protocol-mapper type a protocol understands, with the config keys it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapperType {
    pub id: &'static str,
    pub display_name: &'static str,
    pub help: &'static str,
    pub config_keys: &'static [&'static str],
}

/// Which example token a client's scope evaluation shows (Keycloak's `evaluate-scopes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleToken {
    Access,
    Id,
    Userinfo,
}

/// What an example token is minted for: the realm, the client, the user and the `scope`
/// parameter, at `now`, with the realm's issuer.
#[derive(Debug, Clone, Copy)]
pub struct ExampleRequest<'a> {
    pub snapshot: &'a RealmSnapshot,
    pub client: &'a Client,
    pub user: &'a User,
    pub scope: Option<&'a str>,
    pub issuer: &'a str,
    pub now: i64,
}

pub trait Protocol: Send + Sync + 'static {
    /// The protocol id, as in `client.protocol` and the URL (`openid-connect`, `docker-v2`).
    fn name(&self) -> &'static str;
    /// The protocol's routes, at `mount` and below ([`Mount::at`]); handlers find the realm in
    /// the `realm` path parameter.
    fn routes(&self, mount: &Mount) -> Router<AppState>;
    fn mapper_types(&self) -> Vec<MapperType>;
    /// Why this protocol cannot use `mapper` (a sentence each); empty when it can.
    fn mapper_problems(&self, _mapper: &ProtocolMapper) -> Vec<String> {
        Vec::new()
    }
    /// The client attributes an operator sets when creating a client of this protocol in the
    /// console, beyond the common ones.
    fn client_settings(&self) -> Vec<ClientSetting> {
        Vec::new()
    }
    /// For protocols whose mappers are access rules (docker-v2): the client's rules, each
    /// described protocol-neutrally; `None` for other protocols.
    fn access_rules(&self, _client: &Client) -> Option<Vec<AccessRule>> {
        None
    }
    /// The mapper that stores `rule` on a client of this protocol; `None` where the protocol
    /// has no access rules.
    fn rule_mapper(&self, _rule: &AccessRule) -> Option<ProtocolMapper> {
        None
    }
    /// What `user` (`None`: anonymous) gets for each requested scope, with every rule's
    /// verdict: the same evaluation the protocol's token endpoint runs. `Err` says why the
    /// request could not be read (or that the protocol has no access rules).
    fn explain_access(
        &self,
        _client: &Client,
        _user: Option<&ResolvedUser>,
        _scopes: &[&str],
    ) -> Result<Vec<ScopeExplanation>, String> {
        Err(format!("{} has no access rules to explain", self.name()))
    }
    /// The names of the client scopes a grant with this `scope` parameter gets: the same
    /// decision the token endpoint makes. Empty for protocols without client scopes.
    fn granted_client_scopes(
        &self,
        _snapshot: &RealmSnapshot,
        _client: &Client,
        _scope: Option<&str>,
    ) -> Vec<String> {
        Vec::new()
    }
    /// The claims of an example token, built by the code that builds real ones (unsigned);
    /// `Err` says why there is none (the protocol has no such tokens).
    fn example_token(
        &self,
        _request: &ExampleRequest<'_>,
        _kind: ExampleToken,
    ) -> Result<serde_json::Map<String, serde_json::Value>, String> {
        Err(format!("{} has no example tokens", self.name()))
    }
    /// For protocols that accept CI tokens as credentials (docker-v2): the client's keyless CI
    /// rules; `None` for other protocols.
    fn ci_rules(&self, _client: &Client) -> Option<Vec<CiRule>> {
        None
    }
    /// The mapper that stores a keyless CI rule; `None` where the protocol has none.
    fn ci_rule_mapper(&self, _rule: &CiRule) -> Option<ProtocolMapper> {
        None
    }
    /// What a pasted CI token gets from `client`: the token endpoint's own check, the
    /// signature with the issuer's keys included. `Err` says why nothing could be checked.
    fn try_ci_token<'a>(
        &'a self,
        _client: &'a Client,
        _attempt: CiAttempt<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<CiTry, String>> + Send + 'a>> {
        let name = self.name();
        Box::pin(async move { Err(format!("{name} accepts no CI tokens")) })
    }
    /// What an operator copies to set up the other side of a client (a registry's
    /// configuration, certificate downloads, a login command); `None` when there is nothing.
    fn client_setup(
        &self,
        _urls: &Urls,
        _realm: &RealmSnapshot,
        _client: &Client,
    ) -> Option<ClientSetup> {
        None
    }
}

/// The protocols the server serves, shared by every handler that must know them (mapper
/// validation, the console's registries) through an axum `Extension`.
#[derive(Clone)]
pub struct Protocols(std::sync::Arc<Vec<Box<dyn Protocol>>>);

impl Protocols {
    pub fn new(protocols: Vec<Box<dyn Protocol>>) -> Self {
        Self(std::sync::Arc::new(protocols))
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn Protocol> {
        self.0.iter().map(Box::as_ref)
    }

    pub fn find(&self, name: &str) -> Option<&dyn Protocol> {
        self.iter().find(|p| p.name() == name)
    }

    /// The protocol whose mappers are access rules (docker-v2), if one is served.
    pub fn with_access_rules(&self) -> Option<&dyn Protocol> {
        let probe = Client::default();
        self.iter().find(|p| p.access_rules(&probe).is_some())
    }

    /// Whether the protocol's mappers are access rules, checked strictly: other protocols'
    /// mappers are kept as Keycloak keeps them (it knows many types this server does not).
    pub fn checks_mappers_strictly(&self, name: &str) -> bool {
        self.find(name)
            .is_some_and(|p| p.access_rules(&Client::default()).is_some())
    }
}

impl std::fmt::Debug for Protocols {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|p| p.name()))
            .finish()
    }
}

/// A client attribute the console asks for when a client of a protocol is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSetting {
    /// The form field's name and id (`algorithm`, `tokenLifespan`).
    pub field: &'static str,
    pub attribute: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// The values to choose from, the first being the default; empty for a number of seconds.
    pub choices: &'static [&'static str],
}

/// Who an access rule is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessSubject {
    /// A realm role name or `clientId.roleName`.
    Role(String),
    /// A group path; members of subgroups count.
    Group(String),
    /// Any signed-in user.
    Authenticated,
    /// Everyone, including requests without credentials.
    Anonymous,
}

impl std::fmt::Display for AccessSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessSubject::Role(role) => write!(f, "role {role}"),
            AccessSubject::Group(group) => write!(f, "group {group}"),
            AccessSubject::Authenticated => f.write_str("every signed-in user"),
            AccessSubject::Anonymous => f.write_str("everyone, anonymous included"),
        }
    }
}

/// One access rule, as the console shows and edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRule {
    /// The mapper's id (empty for a rule not stored yet).
    pub mapper_id: String,
    pub name: String,
    /// `repository` or `registry`.
    pub resource_type: String,
    /// The name glob; may contain `${username}`.
    pub pattern: String,
    /// The actions granted, expanded (`push` carries `pull`; `*` is every action).
    pub actions: Vec<String>,
    pub subject: AccessSubject,
}

/// One keyless CI rule, as the console shows and edits it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiRule {
    /// The mapper's id (empty for a rule not stored yet).
    pub mapper_id: String,
    pub name: String,
    pub issuer: String,
    pub audience: String,
    /// The Basic username required; empty for any.
    pub username: String,
    /// The claim conditions, `name=value, ...`.
    pub claims: String,
    pub repository: String,
    pub actions: Vec<String>,
}

/// A CI token to try against a client's keyless rules.
#[derive(Debug, Clone, Copy)]
pub struct CiAttempt<'a> {
    pub token: &'a str,
    pub username: &'a str,
    pub scopes: &'a [&'a str],
    pub now: i64,
}

/// What a tried CI token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiTry {
    /// The token's `iss`, `sub` and `aud` as it states them (checked or not).
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    /// `None` when the token is accepted, else why the endpoint would answer 401.
    pub refused: Option<String>,
    /// Every rule's verdict on the token (empty when it was refused before the rules).
    pub verdicts: Vec<RuleVerdictView>,
    /// What each requested scope gets (empty when refused).
    pub scopes: Vec<ScopeExplanation>,
}

/// One requested scope: what is granted and what each rule said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeExplanation {
    pub requested: String,
    pub granted: Vec<String>,
    pub verdicts: Vec<RuleVerdictView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVerdictView {
    pub rule: String,
    pub hit: bool,
    /// The actions it grants of those asked (a hit) or why it does not apply (a miss).
    pub detail: String,
}

/// What the console's setup page shows for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSetup {
    /// A configuration snippet for the other side (a registry's `config.yml`).
    pub config: String,
    /// `(element id, label, absolute URL)` of each download.
    pub downloads: Vec<(&'static str, &'static str, String)>,
    /// A command line to copy (`docker login ...`).
    pub login_command: String,
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
                config: mapper.config.clone().unwrap_or_default(),
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

/// Where a protocol's routes live: `{relative}/realms/{realm}/protocol/{name}`.
///
/// Protocols register their routes at full paths under it rather than as a router nested there:
/// axum gives every request to a nested route a rewritten URI (the prefix stripped) and a
/// second boxed service to clone, about 2% of a token grant's CPU.
#[derive(Debug, Clone)]
pub struct Mount(String);

impl Mount {
    pub fn new(relative_path: &str, protocol: &str) -> Self {
        Self(format!(
            "{relative_path}/realms/{{realm}}/protocol/{protocol}"
        ))
    }

    /// The full path of `path` under the mount; `/` is the mount itself.
    pub fn at(&self, path: &str) -> String {
        match path {
            "/" => self.0.clone(),
            _ => format!("{}{path}", self.0),
        }
    }
}
