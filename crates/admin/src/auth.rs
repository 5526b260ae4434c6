//! Who is calling and what they may do, as Keycloak decides it.
//!
//! The caller presents an access token from some realm's token endpoint. We verify it ourselves
//! (signature by `kid` among the issuer realm's keys, `exp`, `typ`), then load the user by `sub`
//! and resolve their roles from the database, never from the token's claims: a role taken away
//! is gone for the next request. A `master` user with the realm role `admin` manages every realm;
//! a user of realm X manages X as far as their `realm-management` client roles allow; a `master`
//! user may also hold the client roles of `{X}-realm`, Keycloak's per-realm admin client in
//! master.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::authority::HeldRights;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_store::admin::{MANAGEMENT_ROLES, REALM_ADMIN_ROLE, REALM_MANAGEMENT_CLIENT};
use portcullis_store::{ADMIN_ROLE, MASTER_REALM};
use portcullis_web::{AppState, ClientIp};
use serde_json::Value;

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

/// The JSON of one base64url JWT segment.
fn segment(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The realm an issuer URL names, if it is one of ours.
fn issuer_realm(state: &AppState, iss: &str) -> Option<String> {
    // `issuer("")` is `{base}{relative}/realms/`.
    let prefix = state.issuer("");
    let name = iss.strip_prefix(&prefix)?;
    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
}

async fn verify(state: &AppState, token: &str, ip: Option<IpAddr>) -> Result<Caller, AdminError> {
    let bad = AdminError::Unauthorized;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("not a JWT"));
    };
    let header = segment(header).ok_or(bad("unreadable header"))?;
    let claims = segment(payload).ok_or(bad("unreadable claims"))?;
    let iss = claims["iss"].as_str().ok_or(bad("no issuer"))?;
    let realm_name = issuer_realm(state, iss).ok_or(bad("foreign issuer"))?;
    let realm = state
        .realm(&realm_name)
        .await?
        .filter(|r| r.realm.enabled)
        .ok_or(bad("unknown issuer realm"))?;
    let kid = header["kid"].as_str().ok_or(bad("no kid"))?;
    let key = realm
        .keys
        .iter()
        .find(|k| k.thumbprint_kid() == kid)
        .ok_or(bad("unknown key"))?;
    if header["alg"].as_str() != Some(key.algorithm().as_str()) || !key.verify_jws(token) {
        return Err(bad("bad signature"));
    }
    check_claims(&claims, state.now())?;
    let sub = claims["sub"].as_str().ok_or(bad("no subject"))?;
    let user = state
        .store()
        .find_user_by_id(&realm.realm.id, sub)
        .await?
        .filter(|u| u.enabled)
        .ok_or(bad("unknown or disabled user"))?;
    let roles = resolve_user(&realm, &user);
    Ok(Caller {
        client_id: claims["azp"].as_str().map(str::to_string),
        realm,
        user,
        roles,
        ip,
    })
}

/// `exp` in the future and `typ` Bearer (an ID or refresh token is not an access token).
fn check_claims(claims: &Value, now: i64) -> Result<(), AdminError> {
    let exp = claims["exp"]
        .as_i64()
        .ok_or(AdminError::Unauthorized("no expiry"))?;
    if exp <= now {
        return Err(AdminError::Unauthorized("expired"));
    }
    if claims["typ"].as_str() != Some("Bearer") {
        return Err(AdminError::Unauthorized("not an access token"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use portcullis_core::model::Realm;
    use serde_json::json;

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

    #[test]
    fn claims_must_be_a_live_access_token() {
        let rows = [
            (json!({"exp": 101, "typ": "Bearer"}), true),
            (json!({"exp": 100, "typ": "Bearer"}), false),
            (json!({"exp": "200", "typ": "Bearer"}), false),
            (json!({"exp": 200, "typ": "Refresh"}), false),
            (json!({"exp": 200}), false),
        ];
        for (claims, ok) in rows {
            assert_eq!(check_claims(&claims, 100).is_ok(), ok, "{claims}");
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
