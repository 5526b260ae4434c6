//! The realm model, as loaded from storage: Keycloak's, trimmed (design section 4).
//!
//! Ids are strings (UUIDs). References between entities are by id; names are resolved by the
//! store on import and by [`RealmSnapshot`] look-ups at run time.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::keys::SigningKey;
use crate::password::PasswordPolicy;

/// Realm-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Realm {
    pub id: String,
    pub name: String,
    pub display_name: Option<String>,
    pub enabled: bool,
    /// Seconds; Keycloak's `accessTokenLifespan` (default 300).
    pub access_token_lifespan: i64,
    pub password_policy: PasswordPolicy,
    pub attributes: BTreeMap<String, String>,
    /// Seconds an SSO session lives without activity; `ssoSessionIdleTimeout` (default 1800).
    pub sso_session_idle_timeout: i64,
    /// Seconds an SSO session lives at most; `ssoSessionMaxLifespan` (default 36000).
    pub sso_session_max_lifespan: i64,
    /// Seconds an offline token lives without use; `offlineSessionIdleTimeout` (default 2592000).
    pub offline_session_idle_timeout: i64,
    /// Seconds an authorization code is valid; `accessCodeLifespan` (default 60).
    pub access_code_lifespan: i64,
    /// Seconds a login page may sit before it is stale; `accessCodeLifespanLogin` (default 1800).
    pub access_code_lifespan_login: i64,
    /// Refresh token rotation; `revokeRefreshToken` (default false).
    pub revoke_refresh_token: bool,
    /// How often a refresh token may be reused with rotation on; `refreshTokenMaxReuse` (0).
    pub refresh_token_max_reuse: i64,
    /// Seconds a device code is valid; `oauth2DeviceCodeLifespan` (default 600).
    pub device_code_lifespan: i64,
    /// Seconds between device token polls; `oauth2DevicePollingInterval` (default 5).
    pub device_polling_interval: i64,
    pub brute_force: BruteForcePolicy,
    /// The realm's upstream identity providers, by alias, with their mappers (Keycloak's
    /// `identityProviders` and `identityProviderMappers`). Look them up through
    /// [`RealmSnapshot::identity_provider`] and [`RealmSnapshot::login_providers`].
    pub identity_providers: Vec<IdentityProvider>,
    /// Required actions the realm registered and turned off: pending on a user they are
    /// ignored, as Keycloak skips a disabled required action.
    pub disabled_required_actions: Vec<String>,
    /// Whether login and token events are recorded (`eventsEnabled`).
    pub events_enabled: bool,
    /// The event types recorded (`enabledEventTypes`); empty: Keycloak's default set (every type
    /// but [`EVENT_TYPES_NOT_SAVED_BY_DEFAULT`]).
    pub enabled_event_types: Vec<String>,
    /// Unix seconds: every token of the realm issued before this is dead (Keycloak's realm
    /// `notBefore`, "Revocation" in the console); 0: none.
    pub not_before: i64,
}

impl Default for Realm {
    /// An enabled realm with Keycloak's default settings and an empty id and name, for tests
    /// and struct-update syntax.
    fn default() -> Self {
        use realm_defaults as d;
        Self {
            id: String::new(),
            name: String::new(),
            display_name: None,
            enabled: true,
            access_token_lifespan: 300,
            password_policy: PasswordPolicy::default(),
            attributes: BTreeMap::new(),
            sso_session_idle_timeout: d::SSO_SESSION_IDLE_TIMEOUT,
            sso_session_max_lifespan: d::SSO_SESSION_MAX_LIFESPAN,
            offline_session_idle_timeout: d::OFFLINE_SESSION_IDLE_TIMEOUT,
            access_code_lifespan: d::ACCESS_CODE_LIFESPAN,
            access_code_lifespan_login: d::ACCESS_CODE_LIFESPAN_LOGIN,
            revoke_refresh_token: d::REVOKE_REFRESH_TOKEN,
            refresh_token_max_reuse: d::REFRESH_TOKEN_MAX_REUSE,
            device_code_lifespan: d::DEVICE_CODE_LIFESPAN,
            device_polling_interval: d::DEVICE_POLLING_INTERVAL,
            brute_force: BruteForcePolicy::default(),
            identity_providers: Vec::new(),
            disabled_required_actions: Vec::new(),
            events_enabled: true,
            enabled_event_types: Vec::new(),
            not_before: 0,
        }
    }
}

/// Event types a realm records only when its `enabledEventTypes` names them: Keycloak's types
/// whose `EventType.saveByDefault` is false, routine token and userinfo traffic that would
/// flood the event log.
pub const EVENT_TYPES_NOT_SAVED_BY_DEFAULT: &[&str] = &[
    "REFRESH_TOKEN",
    "REFRESH_TOKEN_ERROR",
    "VALIDATE_ACCESS_TOKEN",
    "VALIDATE_ACCESS_TOKEN_ERROR",
    "INTROSPECT_TOKEN",
    "INTROSPECT_TOKEN_ERROR",
    "INVALID_SIGNATURE",
    "INVALID_SIGNATURE_ERROR",
    "REGISTER_NODE",
    "REGISTER_NODE_ERROR",
    "UNREGISTER_NODE",
    "UNREGISTER_NODE_ERROR",
    "USER_INFO_REQUEST",
    "USER_INFO_REQUEST_ERROR",
    "IDENTITY_PROVIDER_LOGIN",
    "IDENTITY_PROVIDER_LOGIN_ERROR",
    "IDENTITY_PROVIDER_RESPONSE",
    "IDENTITY_PROVIDER_RESPONSE_ERROR",
    "IDENTITY_PROVIDER_RETRIEVE_TOKEN",
    "IDENTITY_PROVIDER_RETRIEVE_TOKEN_ERROR",
    "CLIENT_INFO",
    "CLIENT_INFO_ERROR",
    "PERMISSION_TOKEN_ERROR",
];

impl Realm {
    /// Whether a login or token event of `kind` is recorded in this realm: the types its
    /// `enabledEventTypes` lists, or when that is empty the types Keycloak saves by default.
    pub fn records_event(&self, kind: &str) -> bool {
        self.events_enabled
            && if self.enabled_event_types.is_empty() {
                !EVENT_TYPES_NOT_SAVED_BY_DEFAULT.contains(&kind)
            } else {
                self.enabled_event_types.iter().any(|t| t == kind)
            }
    }
}

/// Characters a realm name may not contain: RFC 3986's reserved characters (Keycloak refuses
/// these), `%` (a name must read the same before and after percent-decoding) and `\`.
const RESERVED_IN_REALM_NAMES: &str = ":/?#@!$&()*+,;=[]\\%";

/// Why a realm name cannot be used, or `Ok`: a realm name is a URL path segment (issuers,
/// every endpoint), so it must survive a round trip through one unchanged. `.` and `..` are
/// dot segments clients normalise away, reserved characters and `%` change meaning, control
/// characters and surrounding spaces do not survive copying.
pub fn check_realm_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("Realm name cannot be empty".into());
    }
    if name == "." || name == ".." {
        return Err(format!("Realm name '{name}' is not allowed"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| RESERVED_IN_REALM_NAMES.contains(*c) || c.is_control())
    {
        return Err(format!("Character '{}' not allowed.", c.escape_default()));
    }
    if name.trim() != name {
        return Err("Realm name cannot start or end with a space".into());
    }
    if name.chars().count() > 255 {
        return Err("Realm name is too long".into());
    }
    Ok(())
}

impl Realm {
    /// The moment an SSO session started at `created_at` reaches its maximum lifespan.
    pub fn session_max_end(&self, created_at: i64) -> i64 {
        let max = Some(self.sso_session_max_lifespan)
            .filter(|n| *n > 0)
            .unwrap_or(realm_defaults::SSO_SESSION_MAX_LIFESPAN);
        created_at.saturating_add(max)
    }

    /// Whether an SSO session is still usable at `now`: not ended, used within the idle
    /// timeout, younger than the maximum lifespan.
    pub fn session_alive(&self, ended: bool, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        let idle = self.session_idle();
        !ended && now < last_seen_at.saturating_add(idle) && now < self.session_max_end(created_at)
    }

    /// `ssoSessionIdleTimeout`, or Keycloak's default when unset.
    fn session_idle(&self) -> i64 {
        Some(self.sso_session_idle_timeout)
            .filter(|n| *n > 0)
            .unwrap_or(realm_defaults::SSO_SESSION_IDLE_TIMEOUT)
    }

    /// How stale a session's `last_seen_at` may get before a refresh writes it again: a tenth
    /// of the idle timeout, at most a minute. A session may so look idle up to that much early
    /// (never late), which spares a database write on nearly every refresh.
    pub fn session_touch_interval(&self) -> i64 {
        (self.session_idle() / 10).min(60)
    }
}

/// Keycloak's realm defaults for the session, code and token settings of [`Realm`].
pub mod realm_defaults {
    pub const SSO_SESSION_IDLE_TIMEOUT: i64 = 1800;
    pub const SSO_SESSION_MAX_LIFESPAN: i64 = 36000;
    pub const OFFLINE_SESSION_IDLE_TIMEOUT: i64 = 2_592_000;
    pub const ACCESS_CODE_LIFESPAN: i64 = 60;
    pub const ACCESS_CODE_LIFESPAN_LOGIN: i64 = 1800;
    pub const REVOKE_REFRESH_TOKEN: bool = false;
    pub const REFRESH_TOKEN_MAX_REUSE: i64 = 0;
    pub const DEVICE_CODE_LIFESPAN: i64 = 600;
    pub const DEVICE_POLLING_INTERVAL: i64 = 5;
}

/// Keycloak's brute-force detection settings of a realm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BruteForcePolicy {
    /// `bruteForceProtected` (default false).
    pub enabled: bool,
    /// `permanentLockout` (default false).
    pub permanent_lockout: bool,
    /// `failureFactor` (default 30).
    pub max_failures: i64,
    /// `waitIncrementSeconds` (default 60).
    pub wait_increment_secs: i64,
    /// `maxFailureWaitSeconds` (default 900).
    pub max_wait_secs: i64,
    /// `quickLoginCheckMilliSeconds` (default 1000).
    pub quick_login_check_millis: i64,
    /// `minimumQuickLoginWaitSeconds` (default 60).
    pub minimum_quick_login_wait_secs: i64,
    /// `maxDeltaTimeSeconds` (default 43200): failures older than this reset.
    pub max_delta_time_secs: i64,
}

impl Default for BruteForcePolicy {
    /// Keycloak's defaults.
    fn default() -> Self {
        Self {
            enabled: false,
            permanent_lockout: false,
            max_failures: 30,
            wait_increment_secs: 60,
            max_wait_secs: 900,
            quick_login_check_millis: 1000,
            minimum_quick_login_wait_secs: 60,
            max_delta_time_secs: 43200,
        }
    }
}

/// What happens the first time an upstream account signs in: a small set of named policies
/// instead of Keycloak's editable first-broker-login flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FirstLoginPolicy {
    /// Always a new local user; a taken username gets a suffix, a taken e-mail is left off.
    /// Never links to an existing account.
    Create,
    /// A new local user, unless an account with the same e-mail exists: then link to it once
    /// the user proves it (its password), or at once when the provider is trusted and both
    /// e-mails are verified. Keycloak's default flow (`first broker login`) maps here.
    #[default]
    LinkVerified,
    /// A new local user; refused when an account with the same username or e-mail exists.
    DenyIfExists,
    /// Never creates a user: links to an existing account with the same e-mail or username
    /// once proven as for [`FirstLoginPolicy::LinkVerified`], otherwise refuses.
    ExistingOnly,
}

impl FirstLoginPolicy {
    pub const ALL: [FirstLoginPolicy; 4] = [
        FirstLoginPolicy::Create,
        FirstLoginPolicy::LinkVerified,
        FirstLoginPolicy::DenyIfExists,
        FirstLoginPolicy::ExistingOnly,
    ];

    /// Keycloak's flow alias for its built-in first broker login flow.
    pub const KEYCLOAK_DEFAULT_FLOW: &'static str = "first broker login";

    pub fn as_str(self) -> &'static str {
        match self {
            FirstLoginPolicy::Create => "create",
            FirstLoginPolicy::LinkVerified => "link-verified",
            FirstLoginPolicy::DenyIfExists => "deny-if-exists",
            FirstLoginPolicy::ExistingOnly => "existing-only",
        }
    }

    /// A policy by name (`firstBrokerLoginFlowAlias`); Keycloak's built-in flow is
    /// `link-verified`. Case and surrounding spaces do not matter.
    pub fn parse(name: &str) -> Option<FirstLoginPolicy> {
        let name = name.trim();
        if name.eq_ignore_ascii_case(Self::KEYCLOAK_DEFAULT_FLOW) {
            return Some(FirstLoginPolicy::LinkVerified);
        }
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name))
    }
}

/// An upstream identity provider of a realm (Keycloak's `IdentityProviderModel`).
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProvider {
    /// Keycloak's `internalId`.
    pub id: String,
    /// Unique in the realm; the provider's name in URLs (`/broker/{alias}/endpoint`).
    pub alias: String,
    pub display_name: Option<String>,
    /// `oidc`, `keycloak-oidc`, `oauth2` or `github`.
    pub provider_id: String,
    pub enabled: bool,
    /// Not offered as a button on the login page (still reachable with `kc_idp_hint`).
    pub hide_on_login: bool,
    /// E-mails this provider marks verified are taken as verified here.
    pub trust_email: bool,
    /// Only for linking to an account that is signed in, never for signing in.
    pub link_only: bool,
    pub first_login: FirstLoginPolicy,
    /// Keycloak's `config`: endpoints, client id and secret, scopes, claim names.
    pub config: BTreeMap<String, String>,
    pub mappers: Vec<IdentityProviderMapper>,
}

impl IdentityProvider {
    /// The name a login page shows: the display name, else the alias.
    pub fn label(&self) -> &str {
        self.display_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.alias)
    }

    /// A config value, trimmed; `None` when absent or blank.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A mapper of an identity provider (Keycloak's `IdentityProviderMapperModel`).
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityProviderMapper {
    pub id: String,
    pub name: String,
    /// `hardcoded-role-idp-mapper`, `oidc-role-idp-mapper`, ...
    pub mapper_type: String,
    pub config: BTreeMap<String, String>,
}

/// A realm role (`client_id == None`) or a client role.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The `clientId` (not the internal id) of the client owning this role, for client roles.
    pub client_id: Option<String>,
    /// Ids of the roles this composite role contains.
    pub composite_ids: Vec<String>,
}

impl Role {
    /// How access rules name this role: `name` for realm roles, `clientId.name` for client roles.
    pub fn qualified_name(&self) -> String {
        match &self.client_id {
            Some(client) => format!("{client}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A group in the realm's group tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub parent_id: Option<String>,
    /// `/eng/platform`
    pub path: String,
    pub role_ids: Vec<String>,
}

/// A protocol mapper on a client: its type and string config, as Keycloak has them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolMapper {
    pub id: String,
    pub name: String,
    pub protocol: String,
    /// The mapper type, e.g. `docker-v2-repository-access-mapper`.
    pub mapper_type: String,
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: String,
    pub client_id: String,
    /// `openid-connect` or `docker-v2`.
    pub protocol: String,
    pub enabled: bool,
    pub public_client: bool,
    pub secret: Option<String>,
    pub redirect_uris: Vec<String>,
    pub attributes: BTreeMap<String, String>,
    pub protocol_mappers: Vec<ProtocolMapper>,
    pub name: Option<String>,
    /// `consentRequired`: the user must approve the scopes once.
    pub consent_required: bool,
    /// `standardFlowEnabled`: the authorization code flow (default true).
    pub standard_flow_enabled: bool,
    /// `directAccessGrantsEnabled`: the resource owner password grant.
    pub direct_access_grants_enabled: bool,
    /// `serviceAccountsEnabled`: the client credentials grant.
    pub service_accounts_enabled: bool,
    /// `bearerOnly`: the client never obtains tokens itself.
    pub bearer_only: bool,
    /// `webOrigins`: CORS origins (`+` = the redirect URIs' origins, `*` = any).
    pub web_origins: Vec<String>,
    /// `defaultClientScopes`: always applied.
    pub default_client_scopes: Vec<String>,
    /// `optionalClientScopes`: applied when the `scope` parameter asks for them.
    pub optional_client_scopes: Vec<String>,
    /// `fullScopeAllowed`: tokens carry every role of the user; when off, only the roles the
    /// client's and its granted scopes' scope mappings allow (and the client's own roles).
    pub full_scope_allowed: bool,
    /// The client's scope mappings: ids of realm and client roles.
    pub scope_role_ids: Vec<String>,
    /// Unix seconds: every token issued to the client before this is dead (Keycloak's client
    /// `notBefore`); 0: none.
    pub not_before: i64,
    /// How a confidential client must authenticate (Keycloak's `clientAuthenticatorType`):
    /// [`Client::SECRET`], [`Client::JWT`] or [`Client::SECRET_JWT`]; any other value refuses
    /// every attempt. Public clients ignore it.
    pub authenticator_type: String,
}

impl Default for Client {
    /// An enabled confidential `openid-connect` client with Keycloak's defaults (standard flow
    /// on, default and optional scopes) and an empty id, for tests and struct-update syntax.
    fn default() -> Self {
        Self {
            id: String::new(),
            client_id: String::new(),
            protocol: "openid-connect".to_string(),
            enabled: true,
            public_client: false,
            secret: None,
            redirect_uris: Vec::new(),
            attributes: BTreeMap::new(),
            protocol_mappers: Vec::new(),
            name: None,
            consent_required: false,
            standard_flow_enabled: true,
            direct_access_grants_enabled: false,
            service_accounts_enabled: false,
            bearer_only: false,
            web_origins: Vec::new(),
            default_client_scopes: Self::DEFAULT_CLIENT_SCOPES.map(String::from).to_vec(),
            optional_client_scopes: Self::OPTIONAL_CLIENT_SCOPES.map(String::from).to_vec(),
            full_scope_allowed: true,
            scope_role_ids: Vec::new(),
            not_before: 0,
            authenticator_type: Self::SECRET.to_string(),
        }
    }
}

impl Client {
    /// `client_secret_basic` or `client_secret_post` (Keycloak's default).
    pub const SECRET: &'static str = "client-secret";
    /// `private_key_jwt`: a client assertion signed with the client's registered key.
    pub const JWT: &'static str = "client-jwt";
    /// `client_secret_jwt`: a client assertion signed (HMAC) with the client's secret.
    pub const SECRET_JWT: &'static str = "client-secret-jwt";
    /// Keycloak's default client scopes of a new OIDC client (the realm's defaults).
    pub const DEFAULT_CLIENT_SCOPES: [&'static str; 6] = crate::client_scopes::REALM_DEFAULT_SCOPES;
    /// Keycloak's optional client scopes of a new OIDC client (the realm's defaults).
    pub const OPTIONAL_CLIENT_SCOPES: [&'static str; 4] =
        crate::client_scopes::REALM_OPTIONAL_SCOPES;
}

/// Whether a client scope is one of the realm's defaults for new clients
/// (`defaultDefaultClientScopes` / `defaultOptionalClientScopes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum RealmScopeType {
    #[default]
    None,
    Default,
    Optional,
}

/// A client scope (Keycloak's `ClientScopeModel`): protocol mappers and role scope mappings a
/// client gets by having the scope as a default scope, or as an optional one the `scope`
/// parameter asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientScope {
    pub id: String,
    /// Unique in the realm; the value of the `scope` parameter.
    pub name: String,
    pub description: Option<String>,
    pub protocol: String,
    /// `include.in.token.scope`, `display.on.consent.screen`, `consent.screen.text`, ...
    pub attributes: BTreeMap<String, String>,
    pub protocol_mappers: Vec<ProtocolMapper>,
    /// Scope mappings: ids of the realm and client roles this scope lets into tokens of
    /// clients without `fullScopeAllowed`.
    pub role_ids: Vec<String>,
    pub realm_type: RealmScopeType,
}

impl ClientScope {
    pub const INCLUDE_IN_TOKEN_SCOPE: &'static str = "include.in.token.scope";
    pub const DISPLAY_ON_CONSENT_SCREEN: &'static str = "display.on.consent.screen";
    pub const CONSENT_SCREEN_TEXT: &'static str = "consent.screen.text";

    /// Whether the scope's name appears in the `scope` claim; Keycloak's default is yes.
    pub fn include_in_token_scope(&self) -> bool {
        self.attributes
            .get(Self::INCLUDE_IN_TOKEN_SCOPE)
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
    }
}

/// Keycloak's required action that makes the user choose a new password at the next login.
pub const UPDATE_PASSWORD: &str = "UPDATE_PASSWORD";

/// A user without credentials.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Ids of directly mapped roles (realm and client).
    pub role_ids: Vec<String>,
    /// Ids of the groups the user is a direct member of.
    pub group_ids: Vec<String>,
    pub email_verified: bool,
    /// Unix seconds (Keycloak's `createdTimestamp` is milliseconds; the store converts).
    pub created_at: i64,
    /// For a client's service-account user: that client's `clientId`.
    pub service_account_client_id: Option<String>,
    /// Unix seconds: every token, session and docker login of the user issued before this is
    /// dead (Keycloak's user `notBefore`).
    pub not_before: i64,
    /// What the user must do before a login completes (`UPDATE_PASSWORD`, ...); while any is
    /// pending, grants without a browser are refused.
    pub required_actions: Vec<String>,
}

impl User {
    /// Whether something issued at `issued_at` (unix seconds) predates the user's `notBefore`.
    pub fn revoked_before(&self, issued_at: i64) -> bool {
        issued_at < self.not_before
    }
}

impl Default for User {
    /// An enabled user with an empty id and username, for tests and struct-update syntax.
    fn default() -> Self {
        Self {
            id: String::new(),
            username: String::new(),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            role_ids: Vec::new(),
            group_ids: Vec::new(),
            email_verified: false,
            created_at: 0,
            service_account_client_id: None,
            not_before: 0,
            required_actions: Vec::new(),
        }
    }
}

/// Everything about a realm that requests read, except users: loaded once, shared, and replaced
/// when the realm changes.
#[derive(Debug, Clone)]
pub struct RealmSnapshot {
    pub realm: Realm,
    pub roles: Vec<Role>,
    pub groups: Vec<Group>,
    pub clients: Vec<Client>,
    /// The realm's client scopes, by name.
    pub client_scopes: Vec<ClientScope>,
    /// Parsed signing keys, highest priority first.
    pub keys: Vec<Arc<SigningKey>>,
}

impl RealmSnapshot {
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn client_by_id(&self, id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// A client scope by name (the `scope` parameter's values, clients' scope lists).
    pub fn client_scope_by_name(&self, name: &str) -> Option<&ClientScope> {
        self.client_scopes.iter().find(|s| s.name == name)
    }

    pub fn client_scope(&self, id: &str) -> Option<&ClientScope> {
        self.client_scopes.iter().find(|s| s.id == id)
    }

    /// The names of the realm's default or optional scopes for new clients of `protocol`.
    pub fn realm_scope_names(&self, kind: RealmScopeType, protocol: &str) -> Vec<String> {
        self.client_scopes
            .iter()
            .filter(|s| s.realm_type == kind && s.protocol == protocol)
            .map(|s| s.name.clone())
            .collect()
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// A group by path (`/eng/platform`; a missing leading slash or a trailing one is fine).
    pub fn group_by_path(&self, path: &str) -> Option<&Group> {
        let trimmed = path.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_prefix('/').unwrap_or(trimmed);
        self.groups
            .iter()
            .find(|g| g.path.strip_prefix('/').unwrap_or(&g.path) == trimmed)
    }

    /// A role as access rules and mappers name it: a realm role's name, or `clientId.name`
    /// for a client role. A realm role wins over a client role of the same spelling.
    pub fn role_by_qualified_name(&self, name: &str) -> Option<&Role> {
        let name = name.trim();
        self.roles
            .iter()
            .find(|r| r.client_id.is_none() && r.name == name)
            .or_else(|| self.roles.iter().find(|r| r.qualified_name() == name))
    }

    /// An identity provider by alias.
    pub fn identity_provider(&self, alias: &str) -> Option<&IdentityProvider> {
        self.realm
            .identity_providers
            .iter()
            .find(|p| p.alias == alias)
    }

    /// Every identity provider of the realm, by alias.
    pub fn identity_providers(&self) -> &[IdentityProvider] {
        &self.realm.identity_providers
    }

    /// The providers a login page offers as buttons: enabled, not hidden, not link-only.
    pub fn login_providers(&self) -> impl Iterator<Item = &IdentityProvider> {
        self.realm
            .identity_providers
            .iter()
            .filter(|p| p.enabled && !p.hide_on_login && !p.link_only)
    }

    /// The active key for an algorithm (`RS256`, `ES256`).
    pub fn signing_key(&self, algorithm: crate::keys::Algorithm) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.algorithm() == algorithm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms_record_the_event_types_keycloak_saves_unless_they_list_their_own() {
        let default = Realm::default();
        let listed = Realm {
            enabled_event_types: vec!["REFRESH_TOKEN".into(), "LOGIN_ERROR".into()],
            ..Realm::default()
        };
        let off = Realm {
            events_enabled: false,
            ..listed.clone()
        };
        // (type, recorded by default, recorded with the list, recorded with events off)
        let table = [
            ("LOGIN", true, false, false),
            ("LOGIN_ERROR", true, true, false),
            ("CLIENT_LOGIN", true, false, false),
            ("CODE_TO_TOKEN", true, false, false),
            ("DOCKER_TOKEN", true, false, false),
            ("REFRESH_TOKEN", false, true, false),
            ("REFRESH_TOKEN_ERROR", false, false, false),
            ("INTROSPECT_TOKEN", false, false, false),
            ("USER_INFO_REQUEST", false, false, false),
        ];
        for (kind, by_default, with_list, with_off) in table {
            assert_eq!(default.records_event(kind), by_default, "{kind} by default");
            assert_eq!(listed.records_event(kind), with_list, "{kind} listed");
            assert_eq!(off.records_event(kind), with_off, "{kind} off");
        }
    }

    #[test]
    fn realm_names_survive_a_url_path() {
        for good in [
            "acme",
            "registry",
            "Team A",
            "ünïcode",
            "a.b",
            "..x",
            "x-y_z~1",
        ] {
            assert_eq!(check_realm_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            " ",
            ".",
            "..",
            "a/b",
            "a%2fb",
            "a?b",
            "a#b",
            "a@b",
            "a:b",
            "a\\b",
            "a;b",
            " lead",
            "trail ",
            "tab\there",
            &"x".repeat(256),
        ] {
            assert!(check_realm_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_realm_name("a:b").unwrap_err(),
            "Character ':' not allowed."
        );
    }

    #[test]
    fn sessions_live_within_idle_and_max() {
        const NOW: i64 = 1_800_000_000;
        let realm = Realm::default();
        // (ended, created, last seen, alive)
        let rows: &[(bool, i64, i64, bool)] = &[
            (false, NOW - 100, NOW - 100, true),
            (true, NOW - 100, NOW - 100, false),
            (false, NOW - 100, NOW - 1800, false),
            (false, NOW - 100, NOW - 1799, true),
            (false, NOW - 36000, NOW, false),
            (false, NOW - 35999, NOW, true),
        ];
        for (ended, created, seen, alive) in rows {
            assert_eq!(
                realm.session_alive(*ended, *created, *seen, NOW),
                *alive,
                "{ended} {created} {seen}"
            );
        }
    }

    #[test]
    fn sessions_are_touched_at_most_every_tenth_of_the_idle_timeout_or_minute() {
        let idle = |sso_session_idle_timeout| Realm {
            sso_session_idle_timeout,
            ..Realm::default()
        };
        assert_eq!(
            idle(0).session_touch_interval(),
            60,
            "Keycloak's 30 min default"
        );
        assert_eq!(idle(300).session_touch_interval(), 30);
        assert_eq!(
            idle(5).session_touch_interval(),
            0,
            "short timeouts: every refresh"
        );
    }
}
