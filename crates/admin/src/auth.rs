//! Who is calling and what they may do, as Keycloak decides it.
//!
//! The caller presents an access token from some realm's token endpoint, checked by the one
//! validator ([`portcullis_web::bearer`]: signature, issuer, type, expiry, revocation, session,
//! the user enabled and the user's `notBefore`); the user's roles are then resolved from the
//! database, never from the token's claims: a role taken away is gone for the next request. A `master` user with the realm role `admin` manages every realm;
//! a user of realm X manages X as far as their `realm-management` client roles allow; a `master`
//! user may also hold the client roles of `{X}-realm`, Keycloak's per-realm admin client in
//! master.
//!
//! Beside the admin roles there is one delegated right, for robots only: a user of realm X who
//! holds X's realm role `manage-robots` and is a direct member of group G manages the robots of
//! G and of every group below G ([`Caller::manages_robots_of`]), with their own access token
//! and nothing else of the admin API (every other operation asks for an admin [`Right`], which
//! that role does not give).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use portcullis_core::authority::HeldRights;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_core::robot::{MANAGE_ROBOTS_ROLE, within};
use portcullis_store::admin::{MANAGEMENT_ROLES, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use portcullis_store::{ADMIN_ROLE, MASTER_REALM};
use portcullis_web::{AppState, ClientIp, bearer};

use crate::error::AdminError;

/// The master realm role that may create realms (Keycloak's `create-realm`).
const CREATE_REALM_ROLE: &str = "create-realm";

/// What an admin may do in a realm; each is one of Keycloak's `realm-management` roles or
/// implied by a stronger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    /// Any admin role at all: enough to read the realm, its roles and its server info.
    Any,
    ViewRealm,
    ManageRealm,
    QueryUsers,
    QueryGroups,
    ViewUsers,
    ManageUsers,
    QueryClients,
    ViewClients,
    ManageClients,
    ViewEvents,
    ManageEvents,
    ViewIdentityProviders,
    ManageIdentityProviders,
    /// Sign in as another user (Keycloak's `impersonation` role).
    Impersonation,
}

impl Right {
    /// The roles that grant this right (`realm-admin` grants everything).
    fn granted_by(self) -> &'static [&'static str] {
        match self {
            Right::Any => &MANAGEMENT_ROLES,
            Right::ViewRealm => &["view-realm", "manage-realm"],
            Right::ManageRealm => &["manage-realm"],
            Right::QueryUsers => &["query-users", "view-users", "manage-users"],
            Right::QueryGroups => &["query-groups", "view-users", "manage-users"],
            Right::ViewUsers => &["view-users", "manage-users"],
            Right::ManageUsers => &["manage-users"],
            Right::QueryClients => &["query-clients", "view-clients", "manage-clients"],
            Right::ViewClients => &["view-clients", "manage-clients"],
            Right::ManageClients => &["manage-clients"],
            Right::ViewEvents => &["view-events", "manage-events"],
            Right::ManageEvents => &["manage-events"],
            Right::ViewIdentityProviders => {
                &["view-identity-providers", "manage-identity-providers"]
            }
            Right::ManageIdentityProviders => &["manage-identity-providers"],
            Right::Impersonation => &["impersonation"],
        }
    }
}

/// A verified caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The realm that issued the token.
    pub realm: Arc<RealmSnapshot>,
    pub user: User,
    pub roles: ResolvedUser,
    /// The token's `azp`.
    pub client_id: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn realm_name(&self) -> &str {
        &self.realm.realm.name
    }

    fn issued_by_master(&self) -> bool {
        self.realm_name() == MASTER_REALM
    }

    /// A `master` user with the `admin` realm role.
    pub fn is_master_admin(&self) -> bool {
        self.issued_by_master() && self.roles.has_role(ADMIN_ROLE)
    }

    /// May create realms.
    pub fn can_create_realms(&self) -> bool {
        self.is_master_admin()
            || (self.issued_by_master() && self.roles.has_role(CREATE_REALM_ROLE))
    }

    /// Whether the token's realm may act on `target` at all (Keycloak's first check, before the
    /// realm is even looked up).
    pub fn may_address(&self, target: &str) -> bool {
        self.issued_by_master() || self.realm_name() == target
    }

    /// The admin role names the caller holds for `target`.
    fn admin_roles(&self, target: &str) -> BTreeSet<&str> {
        let mut clients = Vec::new();
        if self.realm_name() == target {
            clients.push(REALM_MANAGEMENT_CLIENT.to_string());
        }
        if self.issued_by_master() {
            clients.push(format!("{target}-realm"));
        }
        MANAGEMENT_ROLES
            .iter()
            .chain([&REALM_ADMIN_ROLE])
            .copied()
            .filter(|role| {
                clients
                    .iter()
                    .any(|c| self.roles.has_role(&format!("{c}.{role}")))
            })
            .collect()
    }

    /// The admin role names the caller holds for `target`, expanded as Keycloak's composites
    /// expand them (`realm-admin` and master's `admin` hold every one; seeing users includes
    /// finding users and groups, seeing clients includes finding clients): Keycloak's WhoAmI
    /// `realm_access`.
    pub fn admin_role_names(&self, target: &str) -> BTreeSet<String> {
        if !self.is_master_admin() && !self.may_address(target) {
            return BTreeSet::new();
        }
        let held = self.admin_roles(target);
        if self.is_master_admin() || held.contains(REALM_ADMIN_ROLE) {
            return MANAGEMENT_ROLES.iter().map(|r| r.to_string()).collect();
        }
        let mut names: BTreeSet<String> = held.iter().map(|r| r.to_string()).collect();
        if held.contains("view-users") {
            names.extend(["query-users".to_string(), "query-groups".to_string()]);
        }
        if held.contains("view-clients") {
            names.insert("query-clients".to_string());
        }
        names
    }

    /// The admin rights the caller holds over the realm `target`.
    pub fn held_rights(&self, target: &str) -> HeldRights {
        HeldRights::of(self.realm_name(), target, &self.roles.roles)
    }

    /// Whether the caller has `right` in the realm `target`.
    pub fn can(&self, target: &str, right: Right) -> bool {
        if self.is_master_admin() {
            return true;
        }
        if !self.may_address(target) {
            return false;
        }
        let held = self.admin_roles(target);
        held.contains(REALM_ADMIN_ROLE) || right.granted_by().iter().any(|r| held.contains(r))
    }

    /// Whether the caller manages the robots of the group at `group_path` in `target` as a
    /// group member: a user of `target` itself (tokens of `master` do not count) holding the
    /// realm role `manage-robots`, a member of that group or of a group below it, the members
    /// the group's access rules count. Such a member already holds every right a robot of the
    /// group carries (a robot gets what a member of its group gets), so managing it grants
    /// nothing new. A group above does not count: a member of `/eng` does not hold the roles
    /// of `/eng/platform`, and a robot of `/eng/platform` would hand them over.
    pub fn manages_robots_of(&self, target: &str, group_path: &str) -> bool {
        if self.realm_name() != target || !self.roles.has_role(MANAGE_ROBOTS_ROLE) {
            return false;
        }
        self.user
            .group_ids
            .iter()
            .filter_map(|id| self.realm.group(id))
            .any(|group| within(group_path, &group.path))
    }

    pub fn require(&self, target: &str, right: Right) -> Result<(), AdminError> {
        if self.can(target, right) {
            Ok(())
        } else {
            Err(AdminError::Forbidden)
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(AdminError::Unauthorized("no bearer token"))?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        verify(state, &token, ip).await
    }
}

fn bearer_token(parts: &Parts) -> Option<String> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

async fn verify(state: &AppState, token: &str, ip: Option<IpAddr>) -> Result<Caller, AdminError> {
    let valid = bearer::validate_access_token_of_any_realm(state, token)
        .await?
        .map_err(|why| {
            tracing::debug!(reason = why, "admin API token refused");
            AdminError::Unauthorized(why)
        })?;
    let roles = resolve_user(&valid.realm, &valid.user);
    Ok(Caller {
        client_id: Some(valid.client_id),
        realm: valid.realm,
        user: valid.user,
        roles,
        ip,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use portcullis_core::model::Realm;

    fn caller(realm: &str, roles: &[&str]) -> Caller {
        Caller {
            realm: Arc::new(RealmSnapshot {
                realm: Realm {
                    name: realm.into(),
                    ..Realm::default()
                },
                roles: vec![],
                groups: vec![],
                clients: vec![],
                client_scopes: Vec::new(),
                keys: vec![],
            }),
            user: User::default(),
            roles: ResolvedUser {
                roles: roles.iter().map(|r| r.to_string()).collect(),
                ..ResolvedUser::default()
            },
            client_id: None,
            ip: None,
        }
    }

    #[test]
    fn rights_follow_keycloak_roles() {
        use Right::*;
        let rows: Vec<(Caller, &str, Right, bool)> = vec![
            (caller("master", &["admin"]), "acme", ManageRealm, true),
            (caller("master", &["admin"]), "master", ManageUsers, true),
            (caller("master", &[]), "acme", Any, false),
            (
                caller("master", &["acme-realm.manage-users"]),
                "acme",
                ManageUsers,
                true,
            ),
            (
                caller("master", &["acme-realm.manage-users"]),
                "other",
                ViewUsers,
                false,
            ),
            (caller("acme", &["admin"]), "acme", ViewUsers, false),
            (
                caller("acme", &["realm-management.realm-admin"]),
                "acme",
                ManageClients,
                true,
            ),
            (
                caller("acme", &["realm-management.realm-admin"]),
                "other",
                ViewRealm,
                false,
            ),
            (
                caller("acme", &["realm-management.manage-users"]),
                "acme",
                ViewUsers,
                true,
            ),
            (
                caller("acme", &["realm-management.manage-users"]),
                "acme",
                QueryGroups,
                true,
            ),
            (
                caller("acme", &["realm-management.manage-users"]),
                "acme",
                ManageClients,
                false,
            ),
            (
                caller("acme", &["realm-management.view-users"]),
                "acme",
                ManageUsers,
                false,
            ),
            (
                caller("acme", &["realm-management.view-users"]),
                "acme",
                QueryUsers,
                true,
            ),
            (
                caller("acme", &["realm-management.query-clients"]),
                "acme",
                ViewClients,
                false,
            ),
            (
                caller("acme", &["realm-management.query-clients"]),
                "acme",
                Any,
                true,
            ),
            (
                caller("acme", &["realm-management.manage-events"]),
                "acme",
                ViewEvents,
                true,
            ),
            (
                caller("acme", &["realm-management.view-realm"]),
                "acme",
                ManageRealm,
                false,
            ),
            (
                caller("acme", &["app.manage-users"]),
                "acme",
                ManageUsers,
                false,
            ),
        ];
        for (caller, target, right, want) in rows {
            assert_eq!(
                caller.can(target, right),
                want,
                "{} {:?} in {target} with {:?}",
                caller.realm_name(),
                right,
                caller.roles.roles
            );
        }
        assert!(caller("master", &["create-realm"]).can_create_realms());
        assert!(!caller("acme", &["create-realm"]).can_create_realms());
    }

    /// A member of `/eng` (directly) with `manage-robots` manages the robots of `/eng` and of
    /// the groups below it, in their own realm only; without the role, or through a subgroup
    /// only, nothing.
    #[test]
    fn group_members_with_manage_robots_manage_their_groups_robots() {
        use portcullis_core::model::Group;
        let group = |id: &str, path: &str| Group {
            id: id.into(),
            name: id.into(),
            parent_id: None,
            path: path.into(),
            role_ids: vec![],
        };
        let member = |realm: &str, roles: &[&str], groups: &[&str]| {
            let mut c = caller(realm, roles);
            let snapshot = Arc::make_mut(&mut c.realm);
            snapshot.groups = vec![
                group("g-eng", "/eng"),
                group("g-platform", "/eng/platform"),
                group("g-ops", "/ops"),
            ];
            c.user.group_ids = groups.iter().map(|g| g.to_string()).collect();
            c
        };
        let rows = [
            (member("acme", &["manage-robots"], &["g-eng"]), "/eng", true),
            (
                member("acme", &["manage-robots"], &["g-eng"]),
                "/eng/platform",
                false,
            ),
            (
                member("acme", &["manage-robots"], &["g-eng"]),
                "/ops",
                false,
            ),
            (
                member("acme", &["manage-robots"], &["g-eng"]),
                "/engineering",
                false,
            ),
            (
                member("acme", &["manage-robots"], &["g-platform"]),
                "/eng",
                true,
            ),
            (
                member("acme", &["manage-robots"], &["g-platform"]),
                "/eng/platform",
                true,
            ),
            (member("acme", &[], &["g-eng"]), "/eng", false),
            (
                member("acme", &["app.manage-robots"], &["g-eng"]),
                "/eng",
                false,
            ),
            (
                member("master", &["manage-robots"], &["g-eng"]),
                "/eng",
                false,
            ),
        ];
        for (caller, path, want) in rows {
            let target = "acme";
            assert_eq!(
                caller.manages_robots_of(target, path),
                want,
                "{} {:?} {:?} -> {path}",
                caller.realm_name(),
                caller.roles.roles,
                caller.user.group_ids
            );
            // The role gives no admin right at all.
            assert!(!caller.can(target, Right::Any));
        }
    }

    #[test]
    fn reads_bearer_headers() {
        let parts = |value: &str| {
            let request = axum::http::Request::get("/")
                .header(AUTHORIZATION, value)
                .body(())
                .unwrap();
            request.into_parts().0
        };
        assert_eq!(bearer_token(&parts("Bearer abc")), Some("abc".into()));
        assert_eq!(bearer_token(&parts("bearer  abc ")), Some("abc".into()));
        assert_eq!(bearer_token(&parts("Basic abc")), None);
        assert_eq!(bearer_token(&parts("Bearer ")), None);
    }
}
