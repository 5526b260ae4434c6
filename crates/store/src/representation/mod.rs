//! Keycloak's JSON representations (`RealmRepresentation` and what it nests), trimmed to what
//! Portcullis stores, plus the realm-file parser.
//!
//! Every field is optional so partial, hand-written files parse; references between entities are
//! by name, as in Keycloak's exports. Unknown fields are ignored and reported in one warning.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;

pub mod from_row;
pub mod identity_provider;
mod lenient;
pub mod stream;

/// `{name: [values]}`, Keycloak's multivalued attribute map.
pub type MultiMap = BTreeMap<String, Vec<String>>;

/// A realm file / `POST /admin/realms` body.
///
/// An absent `enabled` means enabled, for the realm, its clients and its users alike: Keycloak's
/// exports always carry the flag, and a hand-written file should not import switched off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RealmRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The realm name, used in URLs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    /// Seconds.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_token_lifespan: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<String>,
    /// Seconds (default 1800).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sso_session_idle_timeout: Option<i64>,
    /// Seconds (default 36000).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sso_session_max_lifespan: Option<i64>,
    /// Seconds (default 2592000).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub offline_session_idle_timeout: Option<i64>,
    /// Seconds an authorization code is valid (default 60).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_code_lifespan: Option<i64>,
    /// Seconds a login page may sit (default 1800).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub access_code_lifespan_login: Option<i64>,
    /// Refresh token rotation (default false).
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub revoke_refresh_token: Option<bool>,
    /// Default 0.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token_max_reuse: Option<i64>,
    /// Seconds (default 600).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub oauth2_device_code_lifespan: Option<i64>,
    /// Seconds (default 5).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub oauth2_device_polling_interval: Option<i64>,
    /// Default false.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub brute_force_protected: Option<bool>,
    /// Default false.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub permanent_lockout: Option<bool>,
    /// Failures before a lockout (default 30).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_factor: Option<i64>,
    /// Default 60.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub wait_increment_seconds: Option<i64>,
    /// Default 900.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_failure_wait_seconds: Option<i64>,
    /// Default 1000.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub quick_login_check_milli_seconds: Option<i64>,
    /// Default 60.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub minimum_quick_login_wait_seconds: Option<i64>,
    /// Failures older than this reset (default 43200).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_delta_time_seconds: Option<i64>,
    /// Default false.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_events_enabled: Option<bool>,
    /// Default false.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub admin_events_details_enabled: Option<bool>,
    /// Unix seconds: tokens issued before this are dead (default 0: none).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<RolesRepresentation>,
    /// The composite realm role every new user gets (Keycloak's `default-roles-<realm>`); its
    /// composites are those of the role of that name in `roles.realm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_role: Option<RoleRepresentation>,
    /// Keycloak's older form: realm role names the default role contains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_roles: Option<Vec<String>>,
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<GroupRepresentation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<UserRepresentation>>,
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub clients: Vec<ClientRepresentation>,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Component type (`org.keycloak.keys.KeyProvider`) to its components.
    #[serde(
        deserialize_with = "lenient::map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub components: BTreeMap<String, Vec<ComponentRepresentation>>,
    /// Upstream identity providers, by alias.
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub identity_providers: Vec<IdentityProviderRepresentation>,
    /// Their mappers, each naming its provider by alias.
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub identity_provider_mappers: Vec<IdentityProviderMapperRepresentation>,
    /// The realm's client scopes; absent means Keycloak's built-in scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_scopes: Option<Vec<ClientScopeRepresentation>>,
    /// Names of the realm's default client scopes for new clients; absent means Keycloak's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_default_client_scopes: Option<Vec<String>>,
    /// Names of the realm's optional client scopes for new clients; absent means Keycloak's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_optional_client_scopes: Option<Vec<String>>,
    /// Realm-role scope mappings of clients and client scopes.
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scope_mappings: Vec<ScopeMappingRepresentation>,
    /// Client-role scope mappings, by the `clientId` owning the roles.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub client_scope_mappings: BTreeMap<String, Vec<ScopeMappingRepresentation>>,
    /// The top-level settings kept as they are ([`kept_realm_fields`]: `sslRequired`,
    /// `smtpServer`, `eventsEnabled`, ...). Filled when a realm file is read and on export;
    /// [`RealmRepresentation::to_json`] writes them back beside the modelled fields.
    #[serde(skip)]
    pub kept: serde_json::Map<String, serde_json::Value>,
}

impl RealmRepresentation {
    /// The representation as JSON, with its kept settings (a modelled field of the same name
    /// wins).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        keep(&mut value, &self.kept);
        keep_each(&mut value, "clients", self.clients.iter().map(|c| &c.kept));
        let providers = self.identity_providers.iter().map(|p| &p.kept);
        keep_each(&mut value, "identityProviders", providers);
        Ok(value)
    }
}

/// Adds kept fields to a serialized representation; a modelled field of the same name wins.
fn keep(value: &mut serde_json::Value, kept: &serde_json::Map<String, serde_json::Value>) {
    if let Some(object) = value.as_object_mut() {
        for (key, kept) in kept {
            object.entry(key.clone()).or_insert_with(|| kept.clone());
        }
    }
}

/// Adds each item's kept fields to the serialized array `key`, item by item.
fn keep_each<'a>(
    value: &mut serde_json::Value,
    key: &str,
    kept: impl Iterator<Item = &'a serde_json::Map<String, serde_json::Value>>,
) {
    if let Some(serde_json::Value::Array(items)) = value.get_mut(key) {
        for (json, kept) in items.iter_mut().zip(kept) {
            keep(json, kept);
        }
    }
}

/// Top-level realm fields that are never kept as they are: the realm row's own columns, and
/// nested collections (imported on their own, or not supported).
const REALM_FIELDS_NOT_KEPT: &[&str] = &[
    // The realm row.
    "id",
    "realm",
    "displayName",
    "enabled",
    "accessTokenLifespan",
    "passwordPolicy",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "accessCodeLifespan",
    "accessCodeLifespanLogin",
    "revokeRefreshToken",
    "refreshTokenMaxReuse",
    "oauth2DeviceCodeLifespan",
    "oauth2DevicePollingInterval",
    "bruteForceProtected",
    "permanentLockout",
    "failureFactor",
    "waitIncrementSeconds",
    "maxFailureWaitSeconds",
    "quickLoginCheckMilliSeconds",
    "minimumQuickLoginWaitSeconds",
    "maxDeltaTimeSeconds",
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
    "notBefore",
    "attributes",
    // Nested collections.
    "users",
    "clients",
    "roles",
    "groups",
    "components",
    "identityProviders",
    "identityProviderMappers",
    "clientScopes",
    "authenticationFlows",
    "authenticatorConfig",
    "requiredActions",
    "scopeMappings",
    "clientScopeMappings",
    "federatedUsers",
    "defaultRole",
    "defaultRoles",
    "defaultGroups",
    "defaultDefaultClientScopes",
    "defaultOptionalClientScopes",
    "keycloakVersion",
    "organizations",
    "clientProfiles",
    "clientPolicies",
    "protocolMappers",
    "applications",
    "oauthClients",
    "clientTemplates",
    "applicationScopeMappings",
    "userFederationProviders",
    "userFederationMappers",
];

/// The top-level fields of a realm representation kept without being interpreted
/// (`sslRequired`, `smtpServer`, `eventsEnabled`, `enabledEventTypes`, ...), so tools read back
/// what they wrote: every field but the realm row's columns and the nested collections. The
/// admin API keeps them when it creates or updates a realm, a realm file when it is imported.
pub fn kept_realm_fields(
    object: &serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    kept_fields(object, REALM_FIELDS_NOT_KEPT)
}

/// The fields of `object` not named in `not_kept`.
fn kept_fields(
    object: &serde_json::Map<String, serde_json::Value>,
    not_kept: &[&str],
) -> serde_json::Map<String, serde_json::Value> {
    object
        .iter()
        .filter(|(key, _)| !not_kept.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Client fields that are never kept as they are: the client row's own, those derived from
/// other tables (mappers, scopes, roles) and those not supported. The admin API keeps the rest
/// of a client it creates or updates, and so does a realm file's import.
pub const CLIENT_FIELDS_NOT_KEPT: &[&str] = &[
    "id",
    "clientId",
    "name",
    "description",
    "protocol",
    "enabled",
    "publicClient",
    "bearerOnly",
    "secret",
    "redirectUris",
    "webOrigins",
    "standardFlowEnabled",
    "directAccessGrantsEnabled",
    "serviceAccountsEnabled",
    "consentRequired",
    "defaultClientScopes",
    "optionalClientScopes",
    "fullScopeAllowed",
    "notBefore",
    "clientAuthenticatorType",
    "attributes",
    "protocolMappers",
    "access",
    "defaultRoles",
    "registeredNodes",
    "authorizationSettings",
];

/// Identity-provider fields the provider row models; the admin API and a realm file's import
/// keep the rest as they are.
pub const IDENTITY_PROVIDER_FIELDS_NOT_KEPT: &[&str] = &[
    "alias",
    "displayName",
    "internalId",
    "providerId",
    "enabled",
    "trustEmail",
    "linkOnly",
    "hideOnLogin",
    "firstBrokerLoginFlowAlias",
    "config",
];

/// A client scope (`ClientScopeRepresentation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientScopeRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocol_mappers: Vec<ProtocolMapperRepresentation>,
}

/// One entry of `scopeMappings` / `clientScopeMappings`: a client (by `clientId`) or a client
/// scope (by name) and the role names it maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScopeMappingRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_scope: Option<String>,
    pub roles: Vec<String>,
}

/// `roles: {realm: [...], client: {clientId: [...]}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RolesRepresentation {
    #[serde(deserialize_with = "lenient::list")]
    pub realm: Vec<RoleRepresentation>,
    /// Left out when empty, as a partial export without clients leaves it out.
    #[serde(
        deserialize_with = "lenient::map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub client: BTreeMap<String, Vec<RoleRepresentation>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub composite: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub composites: Option<CompositesRepresentation>,
    #[serde(deserialize_with = "lenient::bool")]
    pub client_role: bool,
    /// Realm id or client internal id; informational only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_multimap",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<MultiMap>,
}

/// The roles a composite role contains, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompositesRepresentation {
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub realm: Vec<String>,
    #[serde(
        deserialize_with = "lenient::map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub client: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    /// `/parent/child`; recomputed from names on import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// Written by the admin API, which lists children a page at a time.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub sub_group_count: Option<i64>,
    #[serde(
        deserialize_with = "lenient::opt_multimap",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<MultiMap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm_roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_roles: Option<BTreeMap<String, Vec<String>>>,
    #[serde(deserialize_with = "lenient::list")]
    pub sub_groups: Vec<GroupRepresentation>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Milliseconds since the epoch, as Keycloak writes it.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_timestamp: Option<i64>,
    pub username: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub email_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_multimap",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<MultiMap>,
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credentials: Vec<CredentialRepresentation>,
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub realm_roles: Vec<String>,
    #[serde(
        deserialize_with = "lenient::map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub client_roles: BTreeMap<String, Vec<String>>,
    /// Group paths, `/eng/platform`.
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// Set on a client's service-account user: that client's `clientId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_client_id: Option<String>,
    /// What the user must do at the next login (`UPDATE_PASSWORD`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_actions: Option<Vec<String>>,
    /// Links to identity-provider accounts.
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub federated_identities: Vec<FederatedIdentityRepresentation>,
    /// Unix seconds before which the user's tokens are dead.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_before: Option<i64>,
}

/// A credential: either `value` (a plain password to hash) or `secretData` + `credentialData`
/// (a stored hash, both JSON-encoded strings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CredentialRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_label: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_date: Option<i64>,
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub temporary: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_data: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClientRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `openid-connect` (the default) or `docker-v2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_client: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub bearer_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_origins: Option<Vec<String>>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub standard_flow_enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub direct_access_grants_enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub service_accounts_enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub consent_required: Option<bool>,
    /// Absent means Keycloak's defaults for an openid-connect client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_client_scopes: Option<Vec<String>>,
    /// Absent means Keycloak's defaults for an openid-connect client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optional_client_scopes: Option<Vec<String>>,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(
        deserialize_with = "lenient::list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub protocol_mappers: Vec<ProtocolMapperRepresentation>,
    /// Keycloak's older form: this client's role names the realm's default role contains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_roles: Option<Vec<String>>,
    /// Absent means true.
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub full_scope_allowed: Option<bool>,
    /// `client-secret` (the default), `client-jwt`, `client-secret-jwt`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_authenticator_type: Option<String>,
    /// Unix seconds: tokens issued to the client before this are dead (default 0: none).
    #[serde(
        deserialize_with = "lenient::opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub not_before: Option<i64>,
    /// The fields kept as they are (all but [`CLIENT_FIELDS_NOT_KEPT`]: `rootUrl`, `baseUrl`,
    /// `frontchannelLogout`, ...). Filled when a realm file is read and on export;
    /// [`RealmRepresentation::to_json`] writes them back beside the modelled fields.
    #[serde(skip)]
    pub kept: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProtocolMapperRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    /// Defaults to the client's protocol.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The mapper type, e.g. `docker-v2-repository-access-mapper`.
    pub protocol_mapper: Option<String>,
    #[serde(deserialize_with = "lenient::bool")]
    pub consent_required: bool,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<BTreeMap<String, String>>,
}

/// A link from a user to an identity-provider account (`federatedIdentities[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FederatedIdentityRepresentation {
    pub identity_provider: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

/// `POST /admin/realms/{realm}/partialImport`: resources to add to an existing realm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PartialImportRepresentation {
    /// `FAIL` (the default), `SKIP` or `OVERWRITE`.
    pub if_resource_exists: Option<String>,
    pub users: Option<Vec<UserRepresentation>>,
    pub clients: Option<Vec<ClientRepresentation>>,
    #[serde(deserialize_with = "lenient::list")]
    pub groups: Vec<GroupRepresentation>,
    pub roles: Option<RolesRepresentation>,
    #[serde(deserialize_with = "lenient::list")]
    pub identity_providers: Vec<IdentityProviderRepresentation>,
    #[serde(deserialize_with = "lenient::list")]
    pub identity_provider_mappers: Vec<IdentityProviderMapperRepresentation>,
}

/// An upstream identity provider (Keycloak's `IdentityProviderRepresentation`).
///
/// `firstBrokerLoginFlowAlias` names one of Portcullis's first-login policies (`create`,
/// `link-verified`, `deny-if-exists`, `existing-only`); Keycloak's built-in `first broker
/// login` means `link-verified`. `hideOnLogin` may also come as the older
/// `config.hideOnLoginPage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentityProviderRepresentation {
    pub alias: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_id: Option<String>,
    /// `oidc`, `keycloak-oidc`, `oauth2` or `github`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub trust_email: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_only: Option<bool>,
    #[serde(
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub hide_on_login: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broker_login_flow_alias: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<BTreeMap<String, String>>,
    /// The fields kept as they are (all but [`IDENTITY_PROVIDER_FIELDS_NOT_KEPT`]: `storeToken`,
    /// `updateProfileFirstLoginMode`, ...), as for [`ClientRepresentation::kept`].
    #[serde(skip)]
    pub kept: serde_json::Map<String, serde_json::Value>,
}

/// A mapper of an identity provider (Keycloak's `IdentityProviderMapperRepresentation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct IdentityProviderMapperRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub identity_provider_alias: Option<String>,
    /// The mapper type, e.g. `hardcoded-group-idp-mapper`.
    pub identity_provider_mapper: Option<String>,
    #[serde(
        deserialize_with = "lenient::opt_string_map",
        skip_serializing_if = "Option::is_none"
    )]
    pub config: Option<BTreeMap<String, String>>,
}

/// Keycloak's `ComponentExportRepresentation`; only key providers are imported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ComponentRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    #[serde(deserialize_with = "lenient::map")]
    pub sub_components: BTreeMap<String, Vec<ComponentRepresentation>>,
    /// Values are string arrays, as Keycloak writes them.
    #[serde(deserialize_with = "lenient::multimap")]
    pub config: MultiMap,
}

impl ComponentRepresentation {
    /// The first value of a config entry.
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .and_then(|values| values.first())
            .map(String::as_str)
    }
}

/// Placeholders that protocol mappers expand per request (`${username}` in docker access
/// rules); never taken from the environment, where `username` may well exist.
pub const RUNTIME_PLACEHOLDERS: &[&str] = &["username"];

/// Parses a realm file: JSON, `${VAR}` placeholders substituted from the environment (unset ones
/// stay as written), unknown fields ignored with one warning listing them.
pub fn parse_realm_json(text: &str) -> Result<RealmRepresentation, StoreError> {
    let mut value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("realm file is not valid JSON: {e}")))?;
    substitute_placeholders(&mut value, &|name| {
        if RUNTIME_PLACEHOLDERS.contains(&name) {
            None
        } else {
            std::env::var(name).ok()
        }
    });
    let (rep, unknown) = deserialize_reporting_unknown(value)?;
    if !unknown.is_empty() {
        let paths: Vec<&str> = unknown.iter().map(String::as_str).collect();
        tracing::warn!(
            realm = rep.realm.as_deref().unwrap_or(""),
            ignored = %paths.join(", "),
            "realm file has fields Portcullis does not support; they were ignored"
        );
    }
    Ok(rep)
}

/// Deserializes a realm representation, with its kept settings, and returns the paths of the
/// fields it ignored, with array indices folded (`clients[].protocolMappers[].bogus`) so a large
/// export gives a short list.
pub fn deserialize_reporting_unknown(
    value: serde_json::Value,
) -> Result<(RealmRepresentation, BTreeSet<String>), StoreError> {
    let kept = value.as_object().map(kept_realm_fields).unwrap_or_default();
    let clients_kept = kept_per_item(&value, "clients", CLIENT_FIELDS_NOT_KEPT);
    let providers_kept = kept_per_item(
        &value,
        "identityProviders",
        IDENTITY_PROVIDER_FIELDS_NOT_KEPT,
    );
    let mut unknown = BTreeSet::new();
    let mut on_ignored = |path: serde_ignored::Path<'_>| {
        unknown.insert(fold_path(&path));
    };
    let de = serde_ignored::Deserializer::new(value, &mut on_ignored);
    // The path of the field that failed (`clients[2].enabled`): in a large file the message
    // alone does not say where to look.
    let mut rep: RealmRepresentation = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        StoreError::Invalid(format!(
            "realm file does not match the representation: {path}: {}",
            e.into_inner()
        ))
    })?;
    // Kept settings are not lost, so not reported.
    let kept_by_any =
        |items: &[KeptFields], field: &str| items.iter().any(|k| k.contains_key(field));
    unknown.retain(|path| {
        if let Some(field) = path.strip_prefix("clients[].") {
            !kept_by_any(&clients_kept, field)
        } else if let Some(field) = path.strip_prefix("identityProviders[].") {
            !kept_by_any(&providers_kept, field)
        } else {
            !kept.contains_key(path)
        }
    });
    rep.kept = kept;
    for (client, kept) in rep.clients.iter_mut().zip(clients_kept) {
        client.kept = kept;
    }
    for (provider, kept) in rep.identity_providers.iter_mut().zip(providers_kept) {
        provider.kept = kept;
    }
    Ok((rep, unknown))
}

type KeptFields = serde_json::Map<String, serde_json::Value>;

/// The kept fields (all but `not_kept`) of each item of the array `key` of a realm
/// representation, in order.
fn kept_per_item(realm: &serde_json::Value, key: &str, not_kept: &[&str]) -> Vec<KeptFields> {
    realm
        .get(key)
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    item.as_object()
                        .map(|object| kept_fields(object, not_kept))
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn fold_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, .. } => format!("{}[]", fold_path(parent)),
        Path::Map { parent, key } => {
            let parent = fold_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => fold_path(parent),
    }
}

/// Replaces `${NAME}` (or `${env.NAME}`) inside every string value of `value` with
/// `lookup(NAME)`. A placeholder whose lookup yields `None` stays byte for byte, so Keycloak's
/// i18n keys (`${role_default-roles}`) and runtime tokens (`${authBaseUrl}`) survive. Substituted
/// text is not scanned again.
pub fn substitute_placeholders(
    value: &mut serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    match value {
        serde_json::Value::String(s) => {
            if s.contains("${") {
                *s = substitute_str(s, lookup);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                substitute_placeholders(item, lookup);
            }
        }
        serde_json::Value::Object(map) => {
            for item in map.values_mut() {
                substitute_placeholders(item, lookup);
            }
        }
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// The string form of [`substitute_placeholders`].
pub fn substitute_str(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            // Unterminated: keep the remainder as written.
            out.push_str(&rest[start..]);
            return out;
        };
        let name = &after[..end];
        let key = name.strip_prefix("env.").unwrap_or(name);
        match lookup(key).filter(|_| !key.is_empty()) {
            Some(replacement) => out.push_str(&replacement),
            None => {
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "REALM" => Some("registry".into()),
            "SECRET" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            "NESTED" => Some("${SECRET}".into()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_placeholders_in_strings() {
        let cases = [
            ("${REALM}", "registry"),
            ("pre-${REALM}-post", "pre-registry-post"),
            ("${REALM}${SECRET}", "registrys3cr3t"),
            ("${env.SECRET}", "s3cr3t"),
            ("${EMPTY}x", "x"),
            ("${role_default-roles}", "${role_default-roles}"),
            ("${authBaseUrl}/x", "${authBaseUrl}/x"),
            ("${}", "${}"),
            ("a ${UNCLOSED", "a ${UNCLOSED"),
            ("$REALM {REALM}", "$REALM {REALM}"),
            ("${NESTED}", "${SECRET}"),
            ("plain", "plain"),
            ("ünï ${REALM} ç", "ünï registry ç"),
        ];
        for (input, want) in cases {
            assert_eq!(substitute_str(input, &lookup), want, "input {input:?}");
        }
    }

    #[test]
    fn substitutes_inside_nested_values_but_not_keys() {
        let mut value = serde_json::json!({
            "realm": "${REALM}",
            "${REALM}": 1,
            "clients": [{"secret": "${SECRET}", "n": 5, "ok": true, "attrs": {"k": "${MISSING}"}}]
        });
        substitute_placeholders(&mut value, &lookup);
        assert_eq!(
            value,
            serde_json::json!({
                "realm": "registry",
                "${REALM}": 1,
                "clients": [{"secret": "s3cr3t", "n": 5, "ok": true, "attrs": {"k": "${MISSING}"}}]
            })
        );
    }

    #[test]
    fn reports_unknown_fields_with_folded_paths() {
        let value = serde_json::json!({
            "realm": "r",
            "sslRequired": "external",
            "clients": [
                {"clientId": "a", "rootUrl": "x"},
                {"clientId": "b", "rootUrl": "y", "protocolMappers": [{"name": "m", "bogus": 1}]}
            ],
            "users": [{"username": "u", "totp": false}]
        });
        let (rep, unknown) = deserialize_reporting_unknown(value).unwrap();
        assert_eq!(rep.realm.as_deref(), Some("r"));
        assert_eq!(rep.clients.len(), 2);
        let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
        assert_eq!(
            unknown,
            ["clients[].protocolMappers[].bogus", "users[].totp"]
        );
        // A realm setting or client field without a column is kept, so it is not reported.
        assert_eq!(rep.kept.get("sslRequired"), Some(&"external".into()));
        assert_eq!(rep.kept.len(), 1);
        let roots: Vec<_> = rep.clients.iter().map(|c| &c.kept["rootUrl"]).collect();
        assert_eq!(roots, ["x", "y"]);
        assert!(rep.clients.iter().all(|c| c.kept.len() == 1));
    }

    #[test]
    fn rejects_wrong_types_and_bad_json() {
        for text in [
            "{",
            r#"{"realm": 5}"#,
            r#"{"users": {"a": 1}}"#,
            r#"{"enabled": "yes"}"#,
        ] {
            assert!(
                matches!(parse_realm_json(text), Err(StoreError::Invalid(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_a_partial_file() {
        let rep = parse_realm_json(r#"{"realm": "x"}"#).unwrap();
        assert_eq!(rep.realm.as_deref(), Some("x"));
        assert!(rep.users.is_none() && rep.clients.is_empty() && rep.roles.is_none());
    }
}
