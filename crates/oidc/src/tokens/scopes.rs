//! Which client scopes a grant gets, as Keycloak decides: the client's default scopes always,
//! its optional scopes when the `scope` parameter asks for them, `openid` when asked for, and
//! nothing else (unknown scope values are ignored, as Keycloak ignores them). A scope the
//! client names but the realm does not have is no scope at all.
//!
//! What a scope means (its claims, the roles it lets into tokens, whether its name is listed in
//! the `scope` claim) is the realm's client scope of that name, read from the snapshot.

use portcullis_core::model::{Client, ClientScope, RealmSnapshot};
use portcullis_core::resolve::ResolvedUser;

pub(crate) const OPENID: &str = "openid";
#[cfg(test)]
const ROLES: &str = "roles";
#[cfg(test)]
const WEB_ORIGINS: &str = "web-origins";
#[cfg(test)]
const ACR: &str = "acr";
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// One granted scope: its name and whether the `scope` claim lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Granted {
    name: String,
    listed: bool,
}

/// The scopes of one grant, `openid` first, then the client's defaults and the granted optional
/// scopes in the client's order, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GrantedScopes(Vec<Granted>);

impl GrantedScopes {
    pub(crate) fn has(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.name == scope)
    }

    pub(crate) fn openid(&self) -> bool {
        self.has(OPENID)
    }

    pub(crate) fn offline(&self) -> bool {
        self.has(OFFLINE_ACCESS)
    }

    /// The names of the granted scopes, `openid` included.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| s.name.as_str())
    }

    /// The realm's client scopes behind this grant, in grant order.
    pub(crate) fn client_scopes<'a>(
        &'a self,
        snapshot: &'a RealmSnapshot,
    ) -> impl Iterator<Item = &'a ClientScope> + 'a {
        self.0
            .iter()
            .filter_map(|s| snapshot.client_scope_by_name(&s.name))
    }

    /// The `scope` claim and response member: the scopes whose `include.in.token.scope` is
    /// on, space-joined.
    pub(crate) fn to_claim(&self) -> String {
        self.0
            .iter()
            .filter(|s| s.listed)
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The same without `offline_access`: for grants that must not go offline.
    pub(crate) fn without_offline(mut self) -> Self {
        self.0.retain(|s| s.name != OFFLINE_ACCESS);
        self
    }

    fn push(&mut self, snapshot: &RealmSnapshot, name: &str) {
        if self.has(name) {
            return;
        }
        let listed = if name == OPENID {
            true
        } else {
            match snapshot.client_scope_by_name(name) {
                Some(scope) => scope.include_in_token_scope(),
                None => return,
            }
        };
        self.0.push(Granted {
            name: name.to_owned(),
            listed,
        });
    }
}

/// Whether the user may hold offline tokens: Keycloak requires the `offline_access` realm
/// role; a realm that has no such role puts no such restriction.
pub(crate) fn offline_allowed(snapshot: &RealmSnapshot, user: &ResolvedUser) -> bool {
    let realm_has_role = snapshot
        .roles
        .iter()
        .any(|r| r.client_id.is_none() && r.name == OFFLINE_ACCESS);
    !realm_has_role || user.has_role(OFFLINE_ACCESS)
}

/// The grant for a `scope` parameter (space-separated, order irrelevant; `None` when absent).
/// `offline_access` is dropped when the user may not go offline.
pub(crate) fn grant(
    snapshot: &RealmSnapshot,
    client: &Client,
    requested: Option<&str>,
    offline_ok: bool,
) -> GrantedScopes {
    let asked: Vec<&str> = requested.unwrap_or_default().split_whitespace().collect();
    let mut granted = GrantedScopes::default();
    if asked.contains(&OPENID) {
        granted.push(snapshot, OPENID);
    }
    for scope in &client.default_client_scopes {
        if scope != OFFLINE_ACCESS || offline_ok {
            granted.push(snapshot, scope);
        }
    }
    for scope in &client.optional_client_scopes {
        if asked.contains(&scope.as_str()) && (scope != OFFLINE_ACCESS || offline_ok) {
            granted.push(snapshot, scope);
        }
    }
    granted
}

/// The full grant behind a token's `scope` claim: the claim lists what was asked for and
/// granted; the unlisted defaults come back from the client.
pub(crate) fn from_claim(snapshot: &RealmSnapshot, client: &Client, claim: &str) -> GrantedScopes {
    grant(snapshot, client, Some(claim), true)
}

/// The grant of a refresh request: the original grant, or a narrower one when `scope` is sent.
/// Asking for anything the original grant did not hold is `Err` with the offending values
/// (RFC 6749 §6: the scope must not exceed the original). An offline grant stays offline: the
/// refresh token it rotates into is still an offline token.
pub(crate) fn narrow(
    snapshot: &RealmSnapshot,
    client: &Client,
    original: &GrantedScopes,
    requested: Option<&str>,
) -> Result<GrantedScopes, Vec<String>> {
    let Some(requested) = requested.filter(|r| !r.trim().is_empty()) else {
        return Ok(original.clone());
    };
    let defaults = &client.default_client_scopes;
    let excess: Vec<String> = requested
        .split_whitespace()
        .filter(|s| !original.has(s) && !defaults.iter().any(|d| d == s))
        .map(str::to_owned)
        .collect();
    if !excess.is_empty() {
        return Err(excess);
    }
    let mut narrowed = grant(snapshot, client, Some(requested), original.offline());
    if original.offline() && !narrowed.offline() {
        narrowed.push(snapshot, OFFLINE_ACCESS);
    }
    Ok(narrowed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use portcullis_core::model::{Realm, Role};

    use super::*;
    use crate::tokens::claims::tests::snapshot;

    fn client() -> Client {
        Client {
            client_id: "app".into(),
            ..Client::default()
        }
    }

    #[test]
    fn grants_defaults_requested_optionals_and_openid() {
        // (requested, offline ok, granted claim, has roles)
        let rows: &[(Option<&str>, bool, &str)] = &[
            (None, true, "profile email"),
            (Some("openid"), true, "openid profile email"),
            (Some("email openid"), true, "openid profile email"),
            (
                Some("openid offline_access"),
                true,
                "openid profile email offline_access",
            ),
            (Some("openid offline_access"), false, "openid profile email"),
            (
                Some("openid phone address"),
                true,
                "openid profile email address phone",
            ),
            (Some("openid unknown admin"), true, "openid profile email"),
            (Some("  openid\tphone "), true, "openid profile email phone"),
            (Some(""), true, "profile email"),
        ];
        for (requested, offline_ok, expected) in rows {
            let granted = grant(&snapshot(), &client(), *requested, *offline_ok);
            assert_eq!(granted.to_claim(), *expected, "{requested:?}");
            assert!(granted.has(ROLES) && granted.has(WEB_ORIGINS) && granted.has(ACR));
            assert_eq!(granted.offline(), expected.contains(OFFLINE_ACCESS));
        }
    }

    #[test]
    fn custom_client_scope_lists() {
        let client = Client {
            default_client_scopes: vec!["email".into(), "custom".into(), "gone".into()],
            optional_client_scopes: vec!["profile".into()],
            ..client()
        };
        // `custom` is a realm scope listed in the scope claim; `gone` names no scope.
        let rows: &[(Option<&str>, &str)] = &[
            (Some("openid"), "openid email custom"),
            (Some("openid profile"), "openid email custom profile"),
            (Some("offline_access"), "email custom"),
        ];
        for (requested, expected) in rows {
            let granted = grant(&snapshot(), &client, *requested, true);
            assert_eq!(granted.to_claim(), *expected, "{requested:?}");
            assert!(!granted.has(ROLES) && !granted.has("gone"));
        }
    }

    #[test]
    fn from_claim_restores_unlisted_defaults() {
        let granted = from_claim(
            &snapshot(),
            &client(),
            "openid email profile offline_access",
        );
        assert!(granted.has(ROLES) && granted.offline() && granted.openid());
        assert_eq!(granted.to_claim(), "openid profile email offline_access");
    }

    #[test]
    fn narrowing_on_refresh() {
        let original = grant(
            &snapshot(),
            &client(),
            Some("openid phone offline_access"),
            true,
        );
        // (requested, Ok(claim) or Err(excess))
        type Row = (
            Option<&'static str>,
            Result<&'static str, &'static [&'static str]>,
        );
        let rows: &[Row] = &[
            (None, Ok("openid profile email phone offline_access")),
            (Some(""), Ok("openid profile email phone offline_access")),
            (Some("openid"), Ok("openid profile email offline_access")),
            (
                Some("openid phone"),
                Ok("openid profile email phone offline_access"),
            ),
            (Some("profile"), Ok("profile email offline_access")),
            (Some("openid address"), Err(&["address"])),
            (Some("openid admin phone x"), Err(&["admin", "x"])),
        ];
        for (requested, expected) in rows {
            let got = narrow(&snapshot(), &client(), &original, *requested);
            match expected {
                Ok(claim) => assert_eq!(got.unwrap().to_claim(), *claim, "{requested:?}"),
                Err(excess) => assert_eq!(got.unwrap_err(), *excess, "{requested:?}"),
            }
        }
    }

    #[test]
    fn narrowing_an_online_grant() {
        let original = grant(&snapshot(), &client(), Some("openid phone"), true);
        let narrowed = narrow(&snapshot(), &client(), &original, Some("openid")).unwrap();
        assert_eq!(narrowed.to_claim(), "openid profile email");
        assert_eq!(
            narrow(&snapshot(), &client(), &original, Some("offline_access")).unwrap_err(),
            vec!["offline_access".to_owned()]
        );
    }

    #[test]
    fn offline_needs_the_role_when_the_realm_has_it() {
        let role = Role {
            id: "r1".into(),
            name: OFFLINE_ACCESS.into(),
            description: None,
            client_id: None,
            composite_ids: vec![],
        };
        let client_role = Role {
            client_id: Some("x".into()),
            ..role.clone()
        };
        let snapshot = |roles: Vec<Role>| RealmSnapshot {
            realm: Realm::default(),
            roles,
            groups: vec![],
            clients: vec![],
            client_scopes: vec![],
            keys: vec![],
        };
        let with = ResolvedUser {
            roles: [OFFLINE_ACCESS.to_owned()].into(),
            ..ResolvedUser::default()
        };
        let without = ResolvedUser::default();
        assert!(offline_allowed(&snapshot(vec![]), &without));
        assert!(offline_allowed(&snapshot(vec![client_role]), &without));
        assert!(offline_allowed(&snapshot(vec![role.clone()]), &with));
        assert!(!offline_allowed(&snapshot(vec![role]), &without));
    }
}
