//! Claims about the user, as a pure function of the realm snapshot, the client, the user (profile
//! and resolved roles) and the granted scopes, so every combination is table-testable. The
//! token's own claims (`iss`, `exp`, `sub`, `aud`, ...) are [`super::mint`]'s; they are written
//! after these, so no mapper can forge them.
//!
//! Every user claim comes from a protocol mapper: those of the granted client scopes (the
//! built-in `profile`, `email`, `roles`, ... scopes carry Keycloak's mappers), then the
//! client's own. Roles are those the user holds, limited by the scope mappings of the client
//! and its granted scopes unless the client has `fullScopeAllowed`.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_core::model::{Client, RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, expand_composites};
use serde_json::{Map, Value};

use super::mappers;
use super::scopes::GrantedScopes;

/// Everything claims are computed from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClaimContext<'a> {
    pub snapshot: &'a RealmSnapshot,
    /// The client the token is for (its mappers apply).
    pub client: &'a Client,
    pub user: &'a User,
    pub resolved: &'a ResolvedUser,
    pub scopes: &'a GrantedScopes,
}

/// Where claims end up; mappers choose with Keycloak's `*.token.claim` switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Access,
    Id,
    Userinfo,
    Introspection,
}

/// The user's claims for one target: the granted scopes' mappers, then the client's.
pub(crate) fn user_claims(ctx: &ClaimContext<'_>, target: Target) -> Map<String, Value> {
    let mut claims = Map::new();
    mappers::apply(ctx, target, &mut claims);
    claims
}

/// The userinfo answer: the user's userinfo claims and `sub`.
pub(crate) fn userinfo_claims(ctx: &ClaimContext<'_>) -> Map<String, Value> {
    let mut claims = user_claims(ctx, Target::Userinfo);
    claims.insert("sub".into(), Value::String(ctx.user.id.clone()));
    claims
}

/// `aud` values beyond the client itself: with an audience-resolve mapper (the `roles` scope
/// has one), every other client the user holds roles of in this token, then the audience
/// mappers' values.
pub(crate) fn audiences(ctx: &ClaimContext<'_>, target: Target) -> Vec<String> {
    let mut audiences: Vec<String> = Vec::new();
    if target == Target::Access && mappers::resolves_audience(ctx, target) {
        let roles = effective_roles(ctx);
        audiences.extend(
            roles
                .clients
                .keys()
                .filter(|c| **c != ctx.client.client_id)
                .map(|c| (*c).to_owned()),
        );
    }
    for audience in mappers::audiences(ctx, target) {
        if !audiences.contains(&audience) {
            audiences.push(audience);
        }
    }
    audiences
}

/// "First Last", or whichever part exists, as Keycloak's full-name mapper.
pub(crate) fn full_name(user: &User) -> Option<String> {
    match (
        non_empty(user.first_name.as_deref()),
        non_empty(user.last_name.as_deref()),
    ) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

pub(crate) use portcullis_web::cors::{allowed_origins, origin_of};

/// A user's effective roles split Keycloak's way: realm role names, and role names per client
/// (`clientId` → names), both sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EffectiveRoles<'a> {
    pub realm: Vec<&'a str>,
    pub clients: BTreeMap<&'a str, Vec<&'a str>>,
}

/// The roles a token may carry (qualified names), or `None` for all of them: Keycloak's
/// `TokenManager.getAccess`. Without `fullScopeAllowed`, the client's own roles and the roles
/// the client's and its granted scopes' scope mappings name, expanded through composites.
pub(crate) fn roles_in_scope(ctx: &ClaimContext<'_>) -> Option<BTreeSet<String>> {
    if ctx.client.full_scope_allowed {
        return None;
    }
    let mut ids: Vec<&str> = ctx
        .client
        .scope_role_ids
        .iter()
        .map(String::as_str)
        .collect();
    for scope in ctx.scopes.client_scopes(ctx.snapshot) {
        ids.extend(scope.role_ids.iter().map(String::as_str));
    }
    let mut allowed = expand_composites(ctx.snapshot, ids);
    for role in &ctx.snapshot.roles {
        if role.client_id.as_deref() == Some(ctx.client.client_id.as_str()) {
            allowed.insert(role.qualified_name());
        }
    }
    Some(allowed)
}

pub(crate) fn effective_roles<'a>(ctx: &ClaimContext<'a>) -> EffectiveRoles<'a> {
    let snapshot = ctx.snapshot;
    let allowed = roles_in_scope(ctx);
    let mut roles = EffectiveRoles::default();
    // One buffer for every qualified name: this runs for each token, over every realm role.
    let mut qualified = String::new();
    for role in &snapshot.roles {
        qualified.clear();
        if let Some(client) = &role.client_id {
            qualified.push_str(client);
            qualified.push('.');
        }
        qualified.push_str(&role.name);
        if !ctx.resolved.has_role(&qualified) {
            continue;
        }
        if allowed.as_ref().is_some_and(|a| !a.contains(&qualified)) {
            continue;
        }
        match &role.client_id {
            None => roles.realm.push(&role.name),
            Some(client) => roles.clients.entry(client).or_default().push(&role.name),
        }
    }
    roles.realm.sort_unstable();
    roles.realm.dedup();
    for names in roles.clients.values_mut() {
        names.sort_unstable();
        names.dedup();
    }
    roles
}

/// The paths (or names) of the groups the user is a direct member of, sorted.
pub(crate) fn direct_groups(snapshot: &RealmSnapshot, user: &User, full_path: bool) -> Vec<String> {
    let mut groups: Vec<String> = user
        .group_ids
        .iter()
        .filter_map(|id| snapshot.group(id))
        .map(|g| {
            if full_path {
                g.path.clone()
            } else {
                g.name.clone()
            }
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

pub(crate) fn first_attribute<'u>(user: &'u User, name: &str) -> Option<&'u str> {
    user.attributes
        .get(name)
        .and_then(|values| values.first())
        .map(String::as_str)
        .and_then(|v| non_empty(Some(v)))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use portcullis_core::model::{Group, Realm, Role};
    use portcullis_core::resolve::resolve_user;

    use super::*;
    use crate::tokens::scopes::grant;
    use serde_json::json;

    /// Keycloak's built-in scopes with ids `scope-1`, `scope-2`, ..., plus `custom`, a scope
    /// without mappers that is listed in the scope claim.
    pub(crate) fn builtin_scopes() -> Vec<portcullis_core::model::ClientScope> {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("scope-{n}")
        };
        let mut scopes =
            portcullis_core::client_scopes::builtin_client_scopes(&mut ids, Some("r-offline"));
        scopes.push(portcullis_core::model::ClientScope {
            id: "scope-custom".into(),
            name: "custom".into(),
            description: None,
            protocol: "openid-connect".into(),
            attributes: Default::default(),
            protocol_mappers: vec![],
            role_ids: vec![],
            realm_type: Default::default(),
        });
        scopes
    }

    fn role(id: &str, name: &str, client: Option<&str>) -> Role {
        Role {
            id: id.into(),
            name: name.into(),
            description: None,
            client_id: client.map(str::to_owned),
            composite_ids: vec![],
        }
    }

    /// Realm roles `staff` and `offline_access`, client roles `api.read`, `api.write` and
    /// `app.own`, groups `/eng` and `/eng/platform`, clients `app` (the token's) and `api`.
    pub(crate) fn snapshot() -> RealmSnapshot {
        RealmSnapshot {
            realm: Realm {
                id: "realm-1".into(),
                name: "acme".into(),
                ..Realm::default()
            },
            roles: vec![
                role("r-staff", "staff", None),
                role("r-offline", "offline_access", None),
                role("r-unused", "unused", None),
                role("c-read", "read", Some("api")),
                role("c-write", "write", Some("api")),
                role("c-own", "own", Some("app")),
            ],
            groups: vec![
                Group {
                    id: "g-eng".into(),
                    name: "eng".into(),
                    parent_id: None,
                    path: "/eng".into(),
                    role_ids: vec![],
                },
                Group {
                    id: "g-platform".into(),
                    name: "platform".into(),
                    parent_id: Some("g-eng".into()),
                    path: "/eng/platform".into(),
                    role_ids: vec!["c-write".into()],
                },
            ],
            clients: vec![
                Client {
                    id: "id-app".into(),
                    client_id: "app".into(),
                    redirect_uris: vec!["https://app.test/cb".into(), "https://app.test/*".into()],
                    web_origins: vec!["+".into(), "https://other.test/".into()],
                    ..Client::default()
                },
                Client {
                    id: "id-api".into(),
                    client_id: "api".into(),
                    ..Client::default()
                },
            ],
            client_scopes: crate::tokens::claims::tests::builtin_scopes(),
            keys: vec![],
        }
    }

    pub(crate) fn alice() -> User {
        User {
            id: "u-alice".into(),
            username: "alice".into(),
            email: Some("alice@example.test".into()),
            first_name: Some("Alice".into()),
            last_name: Some("Liddell".into()),
            email_verified: true,
            role_ids: vec!["r-staff".into(), "c-read".into(), "c-own".into()],
            group_ids: vec!["g-platform".into()],
            attributes: [
                ("locale".to_owned(), vec!["en".to_owned()]),
                ("phoneNumber".to_owned(), vec!["+1 555".to_owned()]),
                ("phoneNumberVerified".to_owned(), vec!["TRUE".to_owned()]),
                ("street".to_owned(), vec!["1 Rabbit Hole".to_owned()]),
                ("country".to_owned(), vec!["UK".to_owned()]),
                ("empty".to_owned(), vec![]),
            ]
            .into(),
            ..User::default()
        }
    }

    fn claims_for(user: &User, scope: &str, target: Target) -> Map<String, Value> {
        let snapshot = snapshot();
        let client = snapshot.client("app").unwrap();
        let resolved = resolve_user(&snapshot, user);
        let scopes = grant(&snapshot, client, Some(scope), true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client,
            user,
            resolved: &resolved,
            scopes: &scopes,
        };
        user_claims(&ctx, target)
    }

    #[test]
    fn built_in_scope_claims_per_target() {
        let roles = json!({"roles": ["staff"]});
        let resource = json!({"api": {"roles": ["read", "write"]}, "app": {"roles": ["own"]}});
        let origins = json!(["https://app.test", "https://other.test"]);
        // (scope, target, claim, expected value or Null for absent)
        let rows: &[(&str, Target, &str, Value)] = &[
            (
                "openid",
                Target::Access,
                "preferred_username",
                json!("alice"),
            ),
            ("openid", Target::Id, "name", json!("Alice Liddell")),
            ("openid", Target::Userinfo, "given_name", json!("Alice")),
            ("openid", Target::Userinfo, "family_name", json!("Liddell")),
            ("openid", Target::Userinfo, "locale", json!("en")),
            (
                "openid",
                Target::Userinfo,
                "email",
                json!("alice@example.test"),
            ),
            ("openid", Target::Id, "email_verified", json!(true)),
            ("openid", Target::Access, "realm_access", roles.clone()),
            ("openid", Target::Introspection, "realm_access", roles),
            ("openid", Target::Id, "realm_access", Value::Null),
            ("openid", Target::Userinfo, "realm_access", Value::Null),
            ("openid", Target::Access, "resource_access", resource),
            ("openid", Target::Id, "resource_access", Value::Null),
            ("openid", Target::Access, "allowed-origins", origins),
            ("openid", Target::Id, "allowed-origins", Value::Null),
            ("openid", Target::Userinfo, "phone_number", Value::Null),
            (
                "openid phone",
                Target::Userinfo,
                "phone_number",
                json!("+1 555"),
            ),
            (
                "openid phone",
                Target::Id,
                "phone_number_verified",
                json!(true),
            ),
            (
                "openid address",
                Target::Userinfo,
                "address",
                json!({"street_address": "1 Rabbit Hole", "country": "UK"}),
            ),
            ("openid", Target::Userinfo, "address", Value::Null),
            (
                "openid microprofile-jwt",
                Target::Access,
                "upn",
                json!("alice"),
            ),
            (
                "openid microprofile-jwt",
                Target::Id,
                "groups",
                json!(["staff"]),
            ),
            (
                "openid microprofile-jwt",
                Target::Userinfo,
                "upn",
                json!("alice"),
            ),
        ];
        for (scope, target, claim, expected) in rows {
            let claims = claims_for(&alice(), scope, *target);
            assert_eq!(
                claims.get(*claim).cloned().unwrap_or(Value::Null),
                *expected,
                "{scope} {target:?} {claim}"
            );
        }
    }

    #[test]
    fn scopes_outside_the_client_lists_add_nothing() {
        let snapshot = snapshot();
        let client = Client {
            default_client_scopes: vec![],
            optional_client_scopes: vec![],
            ..snapshot.client("app").unwrap().clone()
        };
        let user = alice();
        let resolved = resolve_user(&snapshot, &user);
        let scopes = grant(&snapshot, &client, Some("openid profile email roles"), true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client: &client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        assert!(user_claims(&ctx, Target::Access).is_empty());
        assert!(audiences(&ctx, Target::Access).is_empty());
    }

    fn ctx_claims(
        snapshot: &RealmSnapshot,
        client: &Client,
        scope: &str,
        target: Target,
    ) -> (Map<String, Value>, String) {
        let user = alice();
        let resolved = resolve_user(snapshot, &user);
        let scopes = grant(snapshot, client, Some(scope), true);
        let ctx = ClaimContext {
            snapshot,
            client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        (user_claims(&ctx, target), scopes.to_claim())
    }

    #[test]
    fn optional_scope_mappers_apply_only_when_asked_for() {
        let mut snapshot = snapshot();
        snapshot
            .client_scopes
            .push(portcullis_core::model::ClientScope {
                id: "scope-tier".into(),
                name: "tier".into(),
                description: None,
                protocol: "openid-connect".into(),
                attributes: [("include.in.token.scope".to_owned(), "true".to_owned())].into(),
                protocol_mappers: vec![portcullis_core::model::ProtocolMapper {
                    id: "m-tier".into(),
                    name: "tier".into(),
                    protocol: "openid-connect".into(),
                    mapper_type: "oidc-hardcoded-claim-mapper".into(),
                    config: [
                        ("claim.name".to_owned(), "tier".to_owned()),
                        ("claim.value".to_owned(), "gold".to_owned()),
                    ]
                    .into(),
                }],
                role_ids: vec![],
                realm_type: Default::default(),
            });
        let mut client = snapshot.client("app").unwrap().clone();
        client.optional_client_scopes.push("tier".into());
        let (without, claim) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert!(!without.contains_key("tier"));
        assert!(!claim.split(' ').any(|s| s == "tier"));
        let (with, claim) = ctx_claims(&snapshot, &client, "openid tier", Target::Access);
        assert_eq!(with["tier"], json!("gold"));
        assert!(claim.split(' ').any(|s| s == "tier"), "{claim}");
        // Not listed in the scope claim when the scope says so; the mapper still applies.
        snapshot
            .client_scopes
            .last_mut()
            .unwrap()
            .attributes
            .insert("include.in.token.scope".into(), "false".into());
        let (with, claim) = ctx_claims(&snapshot, &client, "openid tier", Target::Access);
        assert_eq!(with["tier"], json!("gold"));
        assert!(!claim.split(' ').any(|s| s == "tier"), "{claim}");
        // A client that does not list the scope never gets it.
        let (other, _) = ctx_claims(
            &snapshot,
            snapshot.client("api").unwrap(),
            "openid tier",
            Target::Access,
        );
        assert!(!other.contains_key("tier"));
    }

    #[test]
    fn built_in_claims_follow_the_built_in_scopes_mappers() {
        let mut snapshot = snapshot();
        let client = snapshot.client("app").unwrap().clone();
        let profile = snapshot
            .client_scopes
            .iter_mut()
            .find(|s| s.name == "profile")
            .unwrap();
        profile.protocol_mappers.retain(|m| m.name != "full name");
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Id);
        assert!(!claims.contains_key("name"));
        assert_eq!(claims["given_name"], json!("Alice"));
        snapshot.client_scopes.retain(|s| s.name != "roles");
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert!(!claims.contains_key("realm_access") && !claims.contains_key("resource_access"));
    }

    #[test]
    fn scope_mappings_limit_roles_without_full_scope() {
        let snapshot = snapshot();
        let mut client = snapshot.client("app").unwrap().clone();
        client.full_scope_allowed = false;
        // Nothing mapped: only the client's own roles.
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert!(!claims.contains_key("realm_access"));
        assert_eq!(
            claims["resource_access"],
            json!({"app": {"roles": ["own"]}})
        );
        // The client's scope mappings let `staff` and `api.read` in.
        client.scope_role_ids = vec!["r-staff".into(), "c-read".into()];
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert_eq!(claims["realm_access"], json!({"roles": ["staff"]}));
        assert_eq!(
            claims["resource_access"],
            json!({"api": {"roles": ["read"]}, "app": {"roles": ["own"]}})
        );
        // A granted scope's mappings count too.
        let mut snapshot = snapshot;
        client.scope_role_ids.clear();
        snapshot
            .client_scopes
            .iter_mut()
            .find(|s| s.name == "email")
            .unwrap()
            .role_ids = vec!["c-write".into()];
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert_eq!(
            claims["resource_access"],
            json!({"api": {"roles": ["write"]}, "app": {"roles": ["own"]}})
        );
        // Full scope: everything the user holds.
        client.full_scope_allowed = true;
        let (claims, _) = ctx_claims(&snapshot, &client, "openid", Target::Access);
        assert_eq!(claims["realm_access"], json!({"roles": ["staff"]}));
    }

    #[test]
    fn sparse_profiles() {
        // (first, last, email, expected name, has email)
        type Row = (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            bool,
        );
        let rows: &[Row] = &[
            (Some("A"), None, None, Some("A"), false),
            (None, Some("L"), Some(""), Some("L"), false),
            (Some(""), Some(""), Some("x@y"), None, true),
            (None, None, None, None, false),
        ];
        for (first, last, email, name, has_email) in rows {
            let user = User {
                id: "u".into(),
                username: "u".into(),
                first_name: first.map(str::to_owned),
                last_name: last.map(str::to_owned),
                email: email.map(str::to_owned),
                ..User::default()
            };
            let claims = claims_for(&user, "openid", Target::Userinfo);
            assert_eq!(claims.get("name").and_then(Value::as_str), *name);
            assert_eq!(claims.contains_key("email"), *has_email);
            assert_eq!(claims["email_verified"], json!(false));
            assert!(!claims.contains_key("given_name") || first.is_some_and(|f| !f.is_empty()));
        }
    }

    #[test]
    fn audience_resolve_lists_other_clients_with_roles() {
        let snapshot = snapshot();
        let client = snapshot.client("app").unwrap();
        let user = alice();
        let resolved = resolve_user(&snapshot, &user);
        let scopes = grant(&snapshot, client, Some("openid"), true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        assert_eq!(audiences(&ctx, Target::Access), vec!["api".to_owned()]);
        assert!(audiences(&ctx, Target::Id).is_empty());
    }

    #[test]
    fn groups_are_direct_memberships() {
        let snapshot = snapshot();
        let user = alice();
        assert_eq!(direct_groups(&snapshot, &user, true), vec!["/eng/platform"]);
        assert_eq!(direct_groups(&snapshot, &user, false), vec!["platform"]);
    }
}
