//! Turns a [`RealmRepresentation`] into the rows to insert, resolving every by-name reference
//! first, so an import either writes everything or nothing.
//!
//! Order follows the dependencies: realm roles, clients (with mappers), client roles,
//! composites, groups (a tree; paths from names), users (role mappings, groups by path,
//! credentials), keys. Missing ids become UUID v4s. This is synchronous and CPU-heavy (password
//! hashing, key generation): callers run it on a blocking thread.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use portcullis_core::keys::{Algorithm, KeyMaterial};
use portcullis_core::model::UPDATE_PASSWORD;
use portcullis_core::model::{
    BruteForcePolicy, Client, ClientScope, RealmScopeType, realm_defaults,
};
use portcullis_core::password::{PasswordPolicy, PolicySubject, StoredPassword};

use crate::admin::entity::user_federated_identity;
use crate::client_scopes::realm_type_name;
use crate::entity::{
    client, client_scope, composite_role, credential, group_role, identity_provider,
    identity_provider_mapper, protocol_mapper, realm, realm_group, realm_key, role, user_entity,
    user_group, user_role,
};
use crate::error::StoreError;
use crate::key_component::{DEFAULT_PRIORITY, keys_from_components};
use crate::queries::to_json;
use crate::representation::{
    ClientRepresentation, CompositesRepresentation, CredentialRepresentation, GroupRepresentation,
    RealmRepresentation, RoleRepresentation, ScopeMappingRepresentation, UserRepresentation,
};

/// Keycloak's default `accessTokenLifespan`, seconds.
pub const DEFAULT_ACCESS_TOKEN_LIFESPAN: i64 = 300;
const DEFAULT_PROTOCOL: &str = "openid-connect";
/// Keycloak names a client's service-account user `service-account-<clientId>`.
pub(crate) const SERVICE_ACCOUNT_PREFIX: &str = "service-account-";

/// Every row of one realm, in an order that satisfies the foreign keys.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub realm: Option<realm::Model>,
    pub keys: Vec<realm_key::Model>,
    pub clients: Vec<client::Model>,
    pub mappers: Vec<protocol_mapper::Model>,
    pub client_scopes: Vec<client_scope::Model>,
    pub roles: Vec<role::Model>,
    pub composites: Vec<composite_role::Model>,
    /// Parents before children.
    pub groups: Vec<realm_group::Model>,
    pub group_roles: Vec<group_role::Model>,
    pub users: Vec<user_entity::Model>,
    pub credentials: Vec<credential::Model>,
    pub user_roles: Vec<user_role::Model>,
    pub user_groups: Vec<user_group::Model>,
    pub identity_providers: Vec<identity_provider::Model>,
    pub identity_provider_mappers: Vec<identity_provider_mapper::Model>,
    /// Users' links to accounts at identity providers.
    pub federated_links: Vec<user_federated_identity::Model>,
    /// The realm's user profile (`UPConfig` JSON) when the file carries one.
    pub user_profile: Option<String>,
    /// The realm's settings kept as they are (`sslRequired`, `eventsEnabled`, ...).
    pub kept: serde_json::Map<String, serde_json::Value>,
    /// The fields kept as they are of clients (`rootUrl`, `baseUrl`, ...) and identity
    /// providers (`storeToken`, ...), by the client's or provider's id.
    pub kept_by_owner: Vec<(String, serde_json::Map<String, serde_json::Value>)>,
}

/// The realm name a representation imports as.
pub(crate) fn realm_name(rep: &RealmRepresentation) -> Result<String, StoreError> {
    let name = rep
        .realm
        .as_deref()
        .ok_or_else(|| StoreError::Invalid("the realm file has no `realm` name".into()))?;
    portcullis_core::model::check_realm_name(name).map_err(StoreError::Invalid)?;
    Ok(name.to_string())
}

/// Builds the rows for `rep`; fails with [`StoreError::Invalid`] naming the first dangling or
/// duplicate reference.
pub(crate) fn build(rep: &RealmRepresentation, now_unix: i64) -> Result<Plan, StoreError> {
    let mut planner = Planner::start(rep, now_unix)?;
    for user in rep.users.iter().flatten() {
        planner.user(user)?;
    }
    planner.finish()
}

/// Plans a realm whose users come separately, a batch at a time (a realm file streamed from
/// disk): [`Planner::start`] plans everything but the users, [`Planner::user`] adds one user's
/// rows, [`Planner::take_rows`] hands out what was planned so far, and [`Planner::finish`] adds
/// what depends on every user being known (service-account users Keycloak would have made).
///
/// Between batches only the name look-ups stay (role, group and client ids, and the usernames
/// seen, to refuse duplicates with a clear message), not the users' rows.
pub(crate) struct Planner {
    builder: Builder,
    policy: PasswordPolicy,
}

impl Planner {
    /// Plans the realm row, keys, clients, roles, groups and identity providers of `rep`; its
    /// `users`, if any, are left to the caller.
    pub(crate) fn start(rep: &RealmRepresentation, now_unix: i64) -> Result<Planner, StoreError> {
        let name = realm_name(rep)?;
        let realm_id = id_or_new(&rep.id);
        let policy = rep
            .password_policy
            .as_deref()
            .map(PasswordPolicy::from_keycloak)
            .unwrap_or_default();
        let mut builder = Builder {
            realm_id: realm_id.clone(),
            now_unix,
            plan: Plan::default(),
            names: Names::default(),
        };
        builder.plan.realm = Some(realm::Model {
            id: realm_id,
            name: name.clone(),
            display_name: rep.display_name.clone(),
            enabled: rep.enabled.unwrap_or(true),
            access_token_lifespan: rep
                .access_token_lifespan
                .unwrap_or(DEFAULT_ACCESS_TOKEN_LIFESPAN),
            password_policy: rep.password_policy.clone(),
            attributes: to_json(&rep.attributes.clone().unwrap_or_default())?,
            created_at: now_unix,
            ..realm_settings(rep)
        });
        let empty_roles = Default::default();
        let roles = rep.roles.as_ref().unwrap_or(&empty_roles);
        builder.realm_roles(&roles.realm)?;
        let default_role = rep.default_role.as_ref().and_then(|r| r.name.as_deref());
        if let (Some(name), Some(realm)) = (default_role, builder.plan.realm.as_mut()) {
            realm.default_role_id = builder.names.realm_roles.get(name).cloned();
        }
        builder.client_scopes(rep)?;
        builder.clients(&rep.clients)?;
        builder.client_roles(&roles.client)?;
        builder.scope_mappings(rep)?;
        builder.composites(roles)?;
        for group in &rep.groups {
            builder.group(group, None, "")?;
        }
        builder.identity_providers(rep)?;
        builder.keys(rep, &name)?;
        builder.plan.user_profile = crate::admin::user_profile::from_components(&rep.components)?;
        builder.plan.kept = rep.kept.clone();
        Ok(Planner { builder, policy })
    }

    /// Adds one user's rows: the user, credentials (a plain password is hashed here, a
    /// Keycloak hash is kept as is), role and group memberships, identity-provider links.
    pub(crate) fn user(&mut self, user: &UserRepresentation) -> Result<(), StoreError> {
        self.builder.user(user, &self.policy)
    }

    /// The rows planned since the last call, leaving the name look-ups in place.
    pub(crate) fn take_rows(&mut self) -> Plan {
        std::mem::take(&mut self.builder.plan)
    }

    /// Adds the service-account users the file left out and returns the remaining rows.
    pub(crate) fn finish(mut self) -> Result<Plan, StoreError> {
        self.builder.missing_service_accounts()?;
        Ok(self.builder.plan)
    }
}

/// The realm row's session, token and brute-force settings: the file's, else Keycloak's
/// defaults. Identity columns are left empty for the caller to fill.
fn realm_settings(rep: &RealmRepresentation) -> realm::Model {
    use realm_defaults as d;
    let bf = BruteForcePolicy::default();
    realm::Model {
        id: String::new(),
        name: String::new(),
        display_name: None,
        enabled: true,
        access_token_lifespan: DEFAULT_ACCESS_TOKEN_LIFESPAN,
        password_policy: None,
        attributes: String::new(),
        created_at: 0,
        default_role_id: None,
        admin_events_enabled: rep.admin_events_enabled.unwrap_or(false),
        admin_events_details_enabled: rep.admin_events_details_enabled.unwrap_or(false),
        not_before: rep.not_before.unwrap_or(0).max(0),
        sso_session_idle_timeout: rep
            .sso_session_idle_timeout
            .unwrap_or(d::SSO_SESSION_IDLE_TIMEOUT),
        sso_session_max_lifespan: rep
            .sso_session_max_lifespan
            .unwrap_or(d::SSO_SESSION_MAX_LIFESPAN),
        offline_session_idle_timeout: rep
            .offline_session_idle_timeout
            .unwrap_or(d::OFFLINE_SESSION_IDLE_TIMEOUT),
        access_code_lifespan: rep.access_code_lifespan.unwrap_or(d::ACCESS_CODE_LIFESPAN),
        access_code_lifespan_login: rep
            .access_code_lifespan_login
            .unwrap_or(d::ACCESS_CODE_LIFESPAN_LOGIN),
        revoke_refresh_token: rep.revoke_refresh_token.unwrap_or(d::REVOKE_REFRESH_TOKEN),
        refresh_token_max_reuse: rep
            .refresh_token_max_reuse
            .unwrap_or(d::REFRESH_TOKEN_MAX_REUSE),
        device_code_lifespan: rep
            .oauth2_device_code_lifespan
            .unwrap_or(d::DEVICE_CODE_LIFESPAN),
        device_polling_interval: rep
            .oauth2_device_polling_interval
            .unwrap_or(d::DEVICE_POLLING_INTERVAL),
        brute_force_protected: rep.brute_force_protected.unwrap_or(bf.enabled),
        permanent_lockout: rep.permanent_lockout.unwrap_or(bf.permanent_lockout),
        failure_factor: rep.failure_factor.unwrap_or(bf.max_failures),
        wait_increment_seconds: rep.wait_increment_seconds.unwrap_or(bf.wait_increment_secs),
        max_failure_wait_seconds: rep.max_failure_wait_seconds.unwrap_or(bf.max_wait_secs),
        quick_login_check_millis: rep
            .quick_login_check_milli_seconds
            .unwrap_or(bf.quick_login_check_millis),
        minimum_quick_login_wait_seconds: rep
            .minimum_quick_login_wait_seconds
            .unwrap_or(bf.minimum_quick_login_wait_secs),
        max_delta_time_seconds: rep.max_delta_time_seconds.unwrap_or(bf.max_delta_time_secs),
    }
}

/// A client's scope list: the file's, or the realm's default (or optional) scopes of the
/// client's protocol when the file has none.
fn client_scopes(
    listed: Option<&Vec<String>>,
    protocol: &str,
    scopes: &[client_scope::Model],
    kind: RealmScopeType,
) -> Vec<String> {
    match listed {
        Some(listed) => listed.clone(),
        None => scopes
            .iter()
            .filter(|s| {
                s.protocol == protocol
                    && crate::client_scopes::parse_realm_type(&s.realm_type) == kind
            })
            .map(|s| s.name.clone())
            .collect(),
    }
}

/// Ids in first-seen order without repeats.
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

fn id_or_new(id: &Option<String>) -> String {
    match id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => uuid::Uuid::new_v4().to_string(),
    }
}

fn required<'a>(value: &'a Option<String>, what: &str) -> Result<&'a str, StoreError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(StoreError::Invalid(format!("{what} has no name"))),
    }
}

/// Name -> id look-ups filled as entities are planned.
#[derive(Default)]
struct Names {
    realm_roles: HashMap<String, String>,
    /// clientId -> internal id.
    clients: HashMap<String, String>,
    /// (clientId, role name) -> id.
    client_roles: HashMap<(String, String), String>,
    /// Group path -> id.
    groups: HashMap<String, String>,
    /// Lowercased usernames.
    usernames: HashSet<String>,
    /// Internal ids of clients that have a service-account user.
    service_accounts: HashSet<String>,
    /// (internal id, clientId) of the clients with `serviceAccountsEnabled`, kept apart from
    /// the planned rows, which a streamed import hands out before the users are all known.
    service_account_clients: Vec<(String, String)>,
    /// Identity provider alias -> internal id.
    identity_providers: HashMap<String, String>,
    /// Client scope name -> index in the plan's scopes.
    client_scopes: HashMap<String, usize>,
    /// (provider alias, upstream account id) pairs linked to a user.
    federated_accounts: HashSet<(String, String)>,
}

impl Names {
    fn realm_role(&self, name: &str, referrer: &str) -> Result<String, StoreError> {
        self.realm_roles.get(name).cloned().ok_or_else(|| {
            StoreError::Invalid(format!(
                "{referrer} refers to realm role '{name}', which does not exist"
            ))
        })
    }

    fn client_role(&self, client: &str, name: &str, referrer: &str) -> Result<String, StoreError> {
        if !self.clients.contains_key(client) {
            return Err(StoreError::Invalid(format!(
                "{referrer} refers to client '{client}', which does not exist"
            )));
        }
        let key = (client.to_string(), name.to_string());
        self.client_roles.get(&key).cloned().ok_or_else(|| {
            StoreError::Invalid(format!(
                "{referrer} refers to client role '{client}.{name}', which does not exist"
            ))
        })
    }

    /// Ids of the realm and client roles named by a `realmRoles` / `clientRoles` pair.
    fn role_ids(
        &self,
        realm: &[String],
        client: &BTreeMap<String, Vec<String>>,
        referrer: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut ids = BTreeSet::new();
        for name in realm {
            ids.insert(self.realm_role(name, referrer)?);
        }
        for (client_id, names) in client {
            for name in names {
                ids.insert(self.client_role(client_id, name, referrer)?);
            }
        }
        Ok(ids)
    }
}

struct Builder {
    realm_id: String,
    now_unix: i64,
    plan: Plan,
    names: Names,
}

impl Builder {
    fn role_row(
        &self,
        rep: &RoleRepresentation,
        client_pk: Option<&str>,
        name: &str,
    ) -> Result<role::Model, StoreError> {
        Ok(role::Model {
            id: id_or_new(&rep.id),
            realm_id: self.realm_id.clone(),
            client_pk: client_pk.map(str::to_string),
            name: name.to_string(),
            description: rep.description.clone(),
            attributes: to_json(&rep.attributes.clone().unwrap_or_default())?,
        })
    }

    fn realm_roles(&mut self, roles: &[RoleRepresentation]) -> Result<(), StoreError> {
        for rep in roles {
            let name = required(&rep.name, "a realm role")?;
            let row = self.role_row(rep, None, name)?;
            if self
                .names
                .realm_roles
                .insert(name.to_string(), row.id.clone())
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "realm role '{name}' is defined twice"
                )));
            }
            self.plan.roles.push(row);
        }
        Ok(())
    }

    fn clients(&mut self, clients: &[ClientRepresentation]) -> Result<(), StoreError> {
        for rep in clients {
            let client_id = required(&rep.client_id, "a client")?;
            let row = self.client_row(rep, client_id)?;
            if row.service_accounts_enabled {
                self.names
                    .service_account_clients
                    .push((row.id.clone(), client_id.to_string()));
            }
            if self
                .names
                .clients
                .insert(client_id.to_string(), row.id.clone())
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "client '{client_id}' is defined twice"
                )));
            }
            for mapper in &rep.protocol_mappers {
                let mapper_type = required(
                    &mapper.protocol_mapper,
                    &format!("the `protocolMapper` type of a mapper on client '{client_id}'"),
                )?;
                self.plan.mappers.push(protocol_mapper::Model {
                    id: id_or_new(&mapper.id),
                    client_pk: row.id.clone(),
                    name: mapper
                        .name
                        .clone()
                        .unwrap_or_else(|| mapper_type.to_string()),
                    protocol: mapper
                        .protocol
                        .clone()
                        .unwrap_or_else(|| row.protocol.clone()),
                    mapper_type: mapper_type.to_string(),
                    config: to_json(&mapper.config.clone().unwrap_or_default())?,
                });
            }
            self.keep(&row.id, &rep.kept);
            self.plan.clients.push(row);
        }
        Ok(())
    }

    fn client_row(
        &self,
        rep: &ClientRepresentation,
        client_id: &str,
    ) -> Result<client::Model, StoreError> {
        let public_client = rep.public_client.unwrap_or(false);
        let protocol = rep
            .protocol
            .clone()
            .unwrap_or_else(|| DEFAULT_PROTOCOL.to_string());
        let bearer_only = rep.bearer_only.unwrap_or(false);
        let secret = match &rep.secret {
            Some(secret) if !secret.is_empty() => Some(secret.clone()),
            _ if public_client => None,
            _ => Some(crate::queries::random_secret()?),
        };
        Ok(client::Model {
            id: id_or_new(&rep.id),
            realm_id: self.realm_id.clone(),
            client_id: client_id.to_string(),
            name: rep.name.clone(),
            description: rep.description.clone(),
            enabled: rep.enabled.unwrap_or(true),
            public_client,
            bearer_only,
            secret,
            redirect_uris: to_json(&rep.redirect_uris.clone().unwrap_or_default())?,
            web_origins: to_json(&rep.web_origins.clone().unwrap_or_default())?,
            attributes: to_json(&rep.attributes.clone().unwrap_or_default())?,
            standard_flow_enabled: rep.standard_flow_enabled.unwrap_or(true),
            // Keycloak's default for a client created without the flag, through its admin API or
            // an import alike.
            direct_access_grants_enabled: rep.direct_access_grants_enabled.unwrap_or(true),
            service_accounts_enabled: rep.service_accounts_enabled.unwrap_or(false),
            created_at: self.now_unix,
            consent_required: rep.consent_required.unwrap_or(false),
            default_client_scopes: to_json(&client_scopes(
                rep.default_client_scopes.as_ref(),
                &protocol,
                &self.plan.client_scopes,
                RealmScopeType::Default,
            ))?,
            optional_client_scopes: to_json(&client_scopes(
                rep.optional_client_scopes.as_ref(),
                &protocol,
                &self.plan.client_scopes,
                RealmScopeType::Optional,
            ))?,
            full_scope_allowed: rep.full_scope_allowed.unwrap_or(true),
            scope_role_ids: "[]".into(),
            not_before: rep.not_before.unwrap_or(0).max(0),
            client_authenticator_type: rep
                .client_authenticator_type
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| Client::SECRET.to_string()),
            protocol,
        })
    }

    /// The file's client scopes and Keycloak's built-in ones the file does not have (all of
    /// them for a file without `clientScopes`; a trimmed export keeps the claims its clients'
    /// scope lists name); then which of them are the realm's default and optional scopes for
    /// new clients.
    fn client_scopes(&mut self, rep: &RealmRepresentation) -> Result<(), StoreError> {
        let offline = self
            .names
            .realm_roles
            .get(portcullis_core::client_scopes::OFFLINE_ACCESS)
            .cloned();
        let mut ids = || uuid::Uuid::new_v4().to_string();
        let builtins =
            portcullis_core::client_scopes::builtin_client_scopes(&mut ids, offline.as_deref());
        let mut scopes: Vec<ClientScope> = Vec::new();
        for scope in rep.client_scopes.iter().flatten() {
            let name = required(&scope.name, "a client scope")?;
            let protocol = scope
                .protocol
                .clone()
                .unwrap_or_else(|| DEFAULT_PROTOCOL.to_string());
            let mut mappers = Vec::with_capacity(scope.protocol_mappers.len());
            for mapper in &scope.protocol_mappers {
                required(
                    &mapper.protocol_mapper,
                    &format!("the `protocolMapper` type of a mapper on client scope '{name}'"),
                )?;
                let mut model = crate::client_scopes::mapper_model(mapper, &protocol);
                model.id = id_or_new(&mapper.id);
                mappers.push(model);
            }
            scopes.push(ClientScope {
                id: id_or_new(&scope.id),
                name: name.to_string(),
                description: scope.description.clone(),
                protocol,
                attributes: scope.attributes.clone().unwrap_or_default(),
                protocol_mappers: mappers,
                role_ids: Vec::new(),
                realm_type: RealmScopeType::None,
            });
        }
        let from_file = !scopes.is_empty();
        for builtin in builtins {
            if !scopes.iter().any(|s| s.name == builtin.name) {
                scopes.push(builtin);
            }
        }
        for scope in scopes {
            let index = self.plan.client_scopes.len();
            if self
                .names
                .client_scopes
                .insert(scope.name.clone(), index)
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "client scope '{}' is defined twice",
                    scope.name
                )));
            }
            self.plan
                .client_scopes
                .push(crate::client_scopes::to_row(&scope, &self.realm_id)?);
        }
        let lists = [
            (
                rep.default_default_client_scopes.as_ref(),
                RealmScopeType::Default,
                portcullis_core::client_scopes::REALM_DEFAULT_SCOPES.as_slice(),
            ),
            (
                rep.default_optional_client_scopes.as_ref(),
                RealmScopeType::Optional,
                portcullis_core::client_scopes::REALM_OPTIONAL_SCOPES.as_slice(),
            ),
        ];
        for (listed, kind, keycloak) in lists {
            let kind_name = crate::client_scopes::realm_type_name(kind);
            let names: Vec<String> = match listed {
                Some(names) => {
                    // The file's list is the whole list of its kind.
                    for row in &mut self.plan.client_scopes {
                        if row.realm_type == kind_name {
                            row.realm_type = realm_type_name(RealmScopeType::None).to_owned();
                        }
                    }
                    names.clone()
                }
                None if !from_file => continue,
                None => keycloak.iter().map(|s| s.to_string()).collect(),
            };
            // Names of scopes the realm does not have (a SAML scope of a Keycloak export) are
            // skipped, as Keycloak's importer skips them.
            for name in names {
                if let Some(&i) = self.names.client_scopes.get(&name) {
                    self.plan.client_scopes[i].realm_type = kind_name.to_owned();
                }
            }
        }
        Ok(())
    }

    /// `scopeMappings` (realm roles) and `clientScopeMappings` (client roles, by the clientId
    /// owning them) onto clients and client scopes.
    fn scope_mappings(&mut self, rep: &RealmRepresentation) -> Result<(), StoreError> {
        let mut grants: Vec<(&ScopeMappingRepresentation, Vec<String>)> = Vec::new();
        for mapping in &rep.scope_mappings {
            let ids = mapping
                .roles
                .iter()
                .map(|r| self.names.realm_role(r, "scopeMappings"))
                .collect::<Result<Vec<_>, _>>()?;
            grants.push((mapping, ids));
        }
        for (owner, mappings) in &rep.client_scope_mappings {
            for mapping in mappings {
                let ids = mapping
                    .roles
                    .iter()
                    .map(|r| self.names.client_role(owner, r, "clientScopeMappings"))
                    .collect::<Result<Vec<_>, _>>()?;
                grants.push((mapping, ids));
            }
        }
        let mut by_client: HashMap<String, Vec<String>> = HashMap::new();
        let mut by_scope: HashMap<usize, Vec<String>> = HashMap::new();
        for (mapping, ids) in grants {
            match (&mapping.client, &mapping.client_scope) {
                (Some(client), _) => {
                    let pk = self.names.clients.get(client).cloned().ok_or_else(|| {
                        StoreError::Invalid(format!(
                            "a scope mapping names client '{client}', which does not exist"
                        ))
                    })?;
                    by_client.entry(pk).or_default().extend(ids);
                }
                (None, Some(scope)) => {
                    let index = self
                        .names
                        .client_scopes
                        .get(scope)
                        .copied()
                        .ok_or_else(|| {
                            StoreError::Invalid(format!(
                                "a scope mapping names client scope '{scope}', which does not exist"
                            ))
                        })?;
                    by_scope.entry(index).or_default().extend(ids);
                }
                (None, None) => {
                    return Err(StoreError::Invalid(
                        "a scope mapping names neither a client nor a client scope".into(),
                    ));
                }
            }
        }
        for client in &mut self.plan.clients {
            if let Some(ids) = by_client.remove(&client.id) {
                client.scope_role_ids = to_json(&dedup(ids))?;
            }
        }
        for (index, ids) in by_scope {
            let row = &mut self.plan.client_scopes[index];
            let mut all: Vec<String> = crate::queries::from_json(&row.role_ids, "scope mappings")?;
            all.extend(ids);
            row.role_ids = to_json(&dedup(all))?;
        }
        Ok(())
    }

    fn client_roles(
        &mut self,
        roles: &BTreeMap<String, Vec<RoleRepresentation>>,
    ) -> Result<(), StoreError> {
        for (client_id, reps) in roles {
            let client_pk = self.names.clients.get(client_id).cloned().ok_or_else(|| {
                StoreError::Invalid(format!(
                    "roles.client has roles for client '{client_id}', which does not exist"
                ))
            })?;
            for rep in reps {
                let name = required(&rep.name, &format!("a role of client '{client_id}'"))?;
                let row = self.role_row(rep, Some(&client_pk), name)?;
                let key = (client_id.clone(), name.to_string());
                if self
                    .names
                    .client_roles
                    .insert(key, row.id.clone())
                    .is_some()
                {
                    return Err(StoreError::Invalid(format!(
                        "client role '{client_id}.{name}' is defined twice"
                    )));
                }
                self.plan.roles.push(row);
            }
        }
        Ok(())
    }

    fn composites(
        &mut self,
        roles: &crate::representation::RolesRepresentation,
    ) -> Result<(), StoreError> {
        let realm = roles.realm.iter().map(|r| (None, r));
        let client = roles
            .client
            .iter()
            .flat_map(|(c, reps)| reps.iter().map(move |r| (Some(c.as_str()), r)));
        for (client_id, rep) in realm.chain(client) {
            let Some(composites) = &rep.composites else {
                continue;
            };
            let name = required(&rep.name, "a role")?;
            let (composite_id, referrer) = match client_id {
                None => (
                    self.names.realm_role(name, "")?,
                    format!("composite role '{name}'"),
                ),
                Some(c) => (
                    self.names.client_role(c, name, "")?,
                    format!("composite role '{c}.{name}'"),
                ),
            };
            let CompositesRepresentation { realm, client } = composites;
            for child_id in self.names.role_ids(realm, client, &referrer)? {
                self.plan.composites.push(composite_role::Model {
                    composite_id: composite_id.clone(),
                    child_id,
                });
            }
        }
        Ok(())
    }

    fn group(
        &mut self,
        rep: &GroupRepresentation,
        parent_id: Option<&str>,
        parent_path: &str,
    ) -> Result<(), StoreError> {
        let name = required(&rep.name, &format!("a group under '{parent_path}/'"))?;
        if name.contains('/') {
            return Err(StoreError::Invalid(format!(
                "group name '{name}' must not contain '/'"
            )));
        }
        let path = format!("{parent_path}/{name}");
        let id = id_or_new(&rep.id);
        if self.names.groups.insert(path.clone(), id.clone()).is_some() {
            return Err(StoreError::Invalid(format!(
                "group '{path}' is defined twice"
            )));
        }
        self.plan.groups.push(realm_group::Model {
            id: id.clone(),
            realm_id: self.realm_id.clone(),
            parent_id: parent_id.map(str::to_string),
            name: name.to_string(),
            attributes: to_json(&rep.attributes.clone().unwrap_or_default())?,
        });
        let referrer = format!("group '{path}'");
        let no_client_roles = BTreeMap::new();
        let realm_roles = rep.realm_roles.as_deref().unwrap_or_default();
        let client_roles = rep.client_roles.as_ref().unwrap_or(&no_client_roles);
        for role_id in self.names.role_ids(realm_roles, client_roles, &referrer)? {
            self.plan.group_roles.push(group_role::Model {
                group_id: id.clone(),
                role_id,
            });
        }
        for child in &rep.sub_groups {
            self.group(child, Some(&id), &path)?;
        }
        Ok(())
    }

    fn user(
        &mut self,
        rep: &UserRepresentation,
        policy: &PasswordPolicy,
    ) -> Result<(), StoreError> {
        let username = required(&rep.username, "a user")?.to_lowercase();
        if !self.names.usernames.insert(username.clone()) {
            return Err(StoreError::Invalid(format!(
                "user '{username}' is defined twice"
            )));
        }
        let id = id_or_new(&rep.id);
        let referrer = format!("user '{username}'");
        for role_id in self
            .names
            .role_ids(&rep.realm_roles, &rep.client_roles, &referrer)?
        {
            self.plan.user_roles.push(user_role::Model {
                user_id: id.clone(),
                role_id,
            });
        }
        let mut group_ids = BTreeSet::new();
        for path in &rep.groups {
            group_ids.insert(self.group_by_path(path, &referrer)?);
        }
        for group_id in group_ids {
            self.plan.user_groups.push(user_group::Model {
                user_id: id.clone(),
                group_id,
            });
        }
        let email = rep.email.as_deref().filter(|e| !e.is_empty());
        let temporary = self.credentials(&rep.credentials, &id, (&username, email), policy)?;
        let mut required_actions = rep.required_actions.clone().unwrap_or_default();
        if temporary && !required_actions.iter().any(|a| a == UPDATE_PASSWORD) {
            required_actions.push(UPDATE_PASSWORD.to_string());
        }
        let mut linked = HashSet::new();
        for link in &rep.federated_identities {
            let text = |v: &Option<String>| {
                v.as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
            };
            let (Some(provider), Some(account)) =
                (text(&link.identity_provider), text(&link.user_id))
            else {
                return Err(StoreError::Invalid(format!(
                    "{referrer}: a federated identity needs identityProvider and userId"
                )));
            };
            if !linked.insert(provider.clone())
                || !self
                    .names
                    .federated_accounts
                    .insert((provider.clone(), account.clone()))
            {
                return Err(StoreError::Invalid(format!(
                    "{referrer}: the link to '{provider}' account '{account}' is not unique"
                )));
            }
            self.plan
                .federated_links
                .push(user_federated_identity::Model {
                    user_id: id.clone(),
                    identity_provider: provider,
                    realm_id: self.realm_id.clone(),
                    federated_user_id: account,
                    federated_username: text(&link.user_name),
                });
        }
        let service_account_client_pk = match &rep.service_account_client_id {
            Some(client_id) => Some(self.link_service_account(client_id, &referrer)?),
            None => None,
        };
        self.plan.users.push(user_entity::Model {
            id,
            realm_id: self.realm_id.clone(),
            username,
            // Emails are kept lowercase, as Keycloak keeps them, so lookups use the index.
            email: rep
                .email
                .as_ref()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty()),
            email_verified: rep.email_verified.unwrap_or(false),
            first_name: rep.first_name.clone(),
            last_name: rep.last_name.clone(),
            enabled: rep.enabled.unwrap_or(true),
            attributes: to_json(&rep.attributes.clone().unwrap_or_default())?,
            created_at: rep.created_timestamp.map_or(self.now_unix, |ms| ms / 1000),
            service_account_client_pk,
            not_before: rep.not_before.unwrap_or(0),
            required_actions: to_json(&required_actions)?,
        });
        Ok(())
    }

    /// The internal id of the client a file's user is the service account of; one per client.
    fn link_service_account(
        &mut self,
        client_id: &str,
        referrer: &str,
    ) -> Result<String, StoreError> {
        let pk = self.names.clients.get(client_id).cloned().ok_or_else(|| {
            StoreError::Invalid(format!(
                "{referrer} is the service account of client '{client_id}', which does not exist"
            ))
        })?;
        if !self.names.service_accounts.insert(pk.clone()) {
            return Err(StoreError::Invalid(format!(
                "client '{client_id}' has more than one service-account user"
            )));
        }
        Ok(pk)
    }

    /// Keycloak gives every client with `serviceAccountsEnabled` a user
    /// `service-account-<clientid>`; the file may carry it (with its roles), else it is made here.
    fn missing_service_accounts(&mut self) -> Result<(), StoreError> {
        let missing: Vec<(String, String)> = self
            .names
            .service_account_clients
            .iter()
            .filter(|(pk, _)| !self.names.service_accounts.contains(pk))
            .cloned()
            .collect();
        for (pk, client_id) in missing {
            let username = format!("{SERVICE_ACCOUNT_PREFIX}{client_id}").to_lowercase();
            if !self.names.usernames.insert(username.clone()) {
                return Err(StoreError::Invalid(format!(
                    "user '{username}' is not the service account of client '{client_id}' \
                     (set its serviceAccountClientId, or rename it)"
                )));
            }
            self.names.service_accounts.insert(pk.clone());
            self.plan.users.push(user_entity::Model {
                id: uuid::Uuid::new_v4().to_string(),
                realm_id: self.realm_id.clone(),
                username,
                email: None,
                email_verified: false,
                first_name: None,
                last_name: None,
                enabled: true,
                attributes: to_json(&crate::representation::MultiMap::new())?,
                created_at: self.now_unix,
                service_account_client_pk: Some(pk),
                not_before: 0,
                required_actions: "[]".into(),
            });
        }
        Ok(())
    }

    /// Keeps a client's or identity provider's unmodelled fields, if it has any.
    fn keep(&mut self, owner_id: &str, kept: &serde_json::Map<String, serde_json::Value>) {
        if !kept.is_empty() {
            self.plan
                .kept_by_owner
                .push((owner_id.to_string(), kept.clone()));
        }
    }

    /// The realm's identity providers and their mappers: each checked as the admin API checks
    /// it, aliases unique, mapper names unique per provider, and every role and group a
    /// mapper names defined in the file.
    fn identity_providers(&mut self, rep: &RealmRepresentation) -> Result<(), StoreError> {
        for provider in &rep.identity_providers {
            let alias = provider.alias.clone().unwrap_or_default();
            let fields = provider.fields(None).map_err(|problems| {
                StoreError::Invalid(format!(
                    "identity provider '{alias}': {}",
                    problems.join("; ")
                ))
            })?;
            let id = id_or_new(&provider.internal_id);
            if self
                .names
                .identity_providers
                .insert(fields.alias.clone(), id.clone())
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "identity provider '{}' is defined twice",
                    fields.alias
                )));
            }
            let row = fields.into_row(id, &self.realm_id, self.now_unix)?;
            self.keep(&row.id, &provider.kept);
            self.plan.identity_providers.push(row);
        }
        let mut names = HashSet::new();
        for mapper in &rep.identity_provider_mappers {
            let name = mapper.name.clone().unwrap_or_default();
            let alias = mapper
                .identity_provider_alias
                .as_deref()
                .map(str::trim)
                .unwrap_or_default();
            let referrer = format!("identity provider mapper '{name}'");
            let provider_id = self
                .names
                .identity_providers
                .get(alias)
                .cloned()
                .ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "{referrer} refers to identity provider '{alias}', which does not exist"
                    ))
                })?;
            let fields = mapper.fields().map_err(|problems| {
                StoreError::Invalid(format!("{referrer}: {}", problems.join("; ")))
            })?;
            if !names.insert((alias.to_string(), fields.name.clone())) {
                return Err(StoreError::Invalid(format!(
                    "{referrer} is defined twice for identity provider '{alias}'"
                )));
            }
            self.check_mapper_references(&fields.rule, &referrer)?;
            let row = fields.into_row(id_or_new(&mapper.id), &self.realm_id, &provider_id)?;
            self.plan.identity_provider_mappers.push(row);
        }
        Ok(())
    }

    fn check_mapper_references(
        &self,
        rule: &portcullis_core::broker::mappers::MapperRule,
        referrer: &str,
    ) -> Result<(), StoreError> {
        use portcullis_core::broker::mappers::MapperRule;
        match rule {
            MapperRule::HardcodedRole { role } | MapperRule::ClaimToRole { role, .. } => {
                let found = self.names.realm_roles.contains_key(role)
                    || self
                        .names
                        .client_roles
                        .keys()
                        .any(|(client, name)| format!("{client}.{name}") == *role);
                if !found {
                    return Err(StoreError::Invalid(format!(
                        "{referrer} refers to role '{role}', which does not exist"
                    )));
                }
            }
            MapperRule::HardcodedGroup { group: path }
            | MapperRule::UpstreamGroups { parent: path, .. } => {
                if !path.is_empty() {
                    self.group_by_path(path, referrer)?;
                }
            }
            MapperRule::ClaimToAttribute { .. } => {}
        }
        Ok(())
    }

    /// Keycloak accepts `/a/b`, `a/b` and `/a/b/`.
    fn group_by_path(&self, path: &str, referrer: &str) -> Result<String, StoreError> {
        let trimmed = path.trim().trim_end_matches('/');
        let normalized = if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        self.names.groups.get(&normalized).cloned().ok_or_else(|| {
            StoreError::Invalid(format!(
                "{referrer} refers to group '{path}', which does not exist"
            ))
        })
    }

    /// Adds the user's password; returns whether it is temporary (the user must replace it at
    /// the next login).
    fn credentials(
        &mut self,
        reps: &[CredentialRepresentation],
        user_id: &str,
        (username, email): (&str, Option<&str>),
        policy: &PasswordPolicy,
    ) -> Result<bool, StoreError> {
        let mut seen_password = false;
        let mut temporary = false;
        for (index, rep) in reps.iter().enumerate() {
            match rep.credential_type.as_deref() {
                None | Some("password") => {}
                Some(other) => {
                    tracing::warn!(
                        user = username,
                        credential_type = other,
                        "credential type not supported; skipped"
                    );
                    continue;
                }
            }
            if std::mem::replace(&mut seen_password, true) {
                return Err(StoreError::Invalid(format!(
                    "user '{username}' has more than one password credential"
                )));
            }
            temporary = rep.temporary == Some(true);
            let subject = PolicySubject { username, email };
            let password = stored_password(rep, index, &subject, policy)?;
            self.plan.credentials.push(credential::Model {
                id: id_or_new(&rep.id),
                user_id: user_id.to_string(),
                credential_type: "password".to_string(),
                user_label: rep.user_label.clone(),
                secret: to_json(&password)?,
                created_at: rep.created_date.map_or(self.now_unix, |ms| ms / 1000),
            });
        }
        Ok(temporary)
    }

    /// The file's keys, plus a generated key for each algorithm the file has no enabled key for.
    fn keys(&mut self, rep: &RealmRepresentation, realm_name: &str) -> Result<(), StoreError> {
        let imported = keys_from_components(&rep.components, realm_name, self.now_unix)?;
        let mut rows: Vec<realm_key::Model> = imported
            .into_iter()
            .map(|key| self.key_row(key.id, key.material, key.priority, key.enabled))
            .collect();
        for algorithm in [Algorithm::Rs256, Algorithm::Es256] {
            let has_key = rows
                .iter()
                .any(|k| k.enabled && k.algorithm == algorithm.as_str());
            if !has_key {
                let material = KeyMaterial::generate(algorithm, realm_name, self.now_unix)?;
                rows.push(self.key_row(None, material, DEFAULT_PRIORITY, true));
            }
        }
        self.plan.keys = rows;
        Ok(())
    }

    fn key_row(
        &self,
        id: Option<String>,
        material: KeyMaterial,
        priority: i64,
        enabled: bool,
    ) -> realm_key::Model {
        realm_key::Model {
            id: id_or_new(&id),
            realm_id: self.realm_id.clone(),
            algorithm: material.algorithm.as_str().to_string(),
            private_key: material.private_key_pkcs8,
            certificate: material.certificate_der,
            priority,
            enabled,
            created_at: self.now_unix,
        }
    }
}

/// A password credential: a stored Keycloak hash as is, or a plain `value` hashed under the
/// realm's policy.
/// A stored hash as imported (within the cost bounds), or a plain `value` that passes the realm's
/// password policy, hashed with it.
fn stored_password(
    rep: &CredentialRepresentation,
    index: usize,
    user: &PolicySubject<'_>,
    policy: &PasswordPolicy,
) -> Result<StoredPassword, StoreError> {
    let username = user.username;
    let invalid = |e: &dyn std::fmt::Display| {
        StoreError::Invalid(format!(
            "user '{username}': credentials[{index}]: password credential: {e}"
        ))
    };
    match (&rep.secret_data, &rep.credential_data, &rep.value) {
        (Some(secret), Some(data), _) => {
            StoredPassword::from_keycloak(secret, data).map_err(|e| invalid(&e))
        }
        (_, _, Some(value)) => {
            policy.check(value, user).map_err(|e| invalid(&e))?;
            Ok(StoredPassword::hash(policy, value)?)
        }
        _ => Err(invalid(
            &"needs `value`, or `secretData` and `credentialData`",
        )),
    }
}
