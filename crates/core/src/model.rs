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
}

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
}

/// Everything about a realm that requests read, except users: loaded once, shared, and replaced
/// when the realm changes.
#[derive(Debug, Clone)]
pub struct RealmSnapshot {
    pub realm: Realm,
    pub roles: Vec<Role>,
    pub groups: Vec<Group>,
    pub clients: Vec<Client>,
    /// Parsed signing keys, highest priority first.
    pub keys: Vec<Arc<SigningKey>>,
}

impl RealmSnapshot {
    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The active key for an algorithm (`RS256`, `ES256`).
    pub fn signing_key(&self, algorithm: crate::keys::Algorithm) -> Option<&Arc<SigningKey>> {
        self.keys.iter().find(|k| k.algorithm() == algorithm)
    }
}
