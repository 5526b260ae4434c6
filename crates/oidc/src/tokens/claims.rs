//! Claims about the user, as a pure function of the realm snapshot, the client, the user (profile
//! and resolved roles) and the granted scopes, so every combination is table-testable. The
//! token's own claims (`iss`, `exp`, `sub`, `aud`, ...) are [`super::mint`]'s; they are written
//! after these, so no mapper can forge them.
//!
//! What each built-in scope adds follows Keycloak's default client scopes: `profile` and `email`
//! everywhere, `address` and `phone` from user attributes, `roles` and `web-origins` only in
//! access tokens (and introspection), `microprofile-jwt` in access and ID tokens.

use std::collections::BTreeMap;

use portcullis_core::model::{Client, RealmSnapshot, User};
use portcullis_core::resolve::ResolvedUser;
use serde_json::{Map, Value, json};

use super::mappers;
use super::scopes::{
    ADDRESS, EMAIL, GrantedScopes, MICROPROFILE_JWT, PHONE, PROFILE, ROLES, WEB_ORIGINS,
};

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

/// OIDC `profile` claims Keycloak maps from same-named user attributes.
const PROFILE_ATTRIBUTES: [(&str, &str); 9] = [
    ("middle_name", "middleName"),
    ("nickname", "nickname"),
    ("profile", "profile"),
    ("picture", "picture"),
    ("website", "website"),
    ("gender", "gender"),
    ("birthdate", "birthdate"),
    ("zoneinfo", "zoneinfo"),
    ("locale", "locale"),
];

/// Members of the OIDC `address` claim and the user attributes Keycloak reads them from.
const ADDRESS_ATTRIBUTES: [(&str, &str); 6] = [
    ("formatted", "formatted"),
    ("street_address", "street"),
    ("locality", "locality"),
    ("region", "region"),
    ("postal_code", "postal_code"),
    ("country", "country"),
];

/// The user's claims for one target: built-in scopes first, then the client's mappers.
pub(crate) fn user_claims(ctx: &ClaimContext<'_>, target: Target) -> Map<String, Value> {
    let mut claims = Map::new();
    let scopes = ctx.scopes;
    if scopes.has(PROFILE) {
        profile_claims(ctx.user, &mut claims);
    }
    if scopes.has(EMAIL) {
        email_claims(ctx.user, &mut claims);
    }
    if scopes.has(ADDRESS) {
        address_claim(ctx.user, &mut claims);
    }
    if scopes.has(PHONE) {
        phone_claims(ctx.user, &mut claims);
    }
    let token_only = matches!(target, Target::Access | Target::Introspection);
    if token_only && scopes.has(ROLES) {
        role_claims(ctx, &mut claims);
    }
    if token_only && scopes.has(WEB_ORIGINS) {
        let origins = allowed_origins(ctx.client);
        if !origins.is_empty() {
            claims.insert("allowed-origins".into(), json!(origins));
        }
    }
    if target != Target::Userinfo && scopes.has(MICROPROFILE_JWT) {
        claims.insert("upn".into(), json!(ctx.user.username));
        let roles = effective_roles(ctx.snapshot, ctx.resolved);
        claims.insert("groups".into(), json!(roles.realm));
    }
    mappers::apply(ctx, target, &mut claims);
    claims
}

/// `aud` values beyond the client itself: with the `roles` scope, every other client the user
/// holds roles of (Keycloak's "audience resolve"), then the client's audience mappers.
pub(crate) fn audiences(ctx: &ClaimContext<'_>, target: Target) -> Vec<String> {
    let mut audiences: Vec<String> = Vec::new();
    if target == Target::Access && ctx.scopes.has(ROLES) {
        let roles = effective_roles(ctx.snapshot, ctx.resolved);
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

fn profile_claims(user: &User, claims: &mut Map<String, Value>) {
    claims.insert("preferred_username".into(), json!(user.username));
    if let Some(name) = full_name(user) {
        claims.insert("name".into(), json!(name));
    }
    if let Some(given) = non_empty(user.first_name.as_deref()) {
        claims.insert("given_name".into(), json!(given));
    }
    if let Some(family) = non_empty(user.last_name.as_deref()) {
        claims.insert("family_name".into(), json!(family));
    }
    for (claim, attribute) in PROFILE_ATTRIBUTES {
        if let Some(value) = first_attribute(user, attribute) {
            claims.insert(claim.into(), json!(value));
        }
    }
}

/// "First Last", or whichever part exists, as Keycloak's full-name mapper.
fn full_name(user: &User) -> Option<String> {
    match (
        non_empty(user.first_name.as_deref()),
        non_empty(user.last_name.as_deref()),
    ) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_owned()),
        (None, None) => None,
    }
}

fn email_claims(user: &User, claims: &mut Map<String, Value>) {
    if let Some(email) = non_empty(user.email.as_deref()) {
        claims.insert("email".into(), json!(email));
    }
    claims.insert("email_verified".into(), json!(user.email_verified));
}

fn address_claim(user: &User, claims: &mut Map<String, Value>) {
    let address: Map<String, Value> = ADDRESS_ATTRIBUTES
        .iter()
        .filter_map(|(claim, attribute)| {
            first_attribute(user, attribute).map(|v| ((*claim).to_owned(), json!(v)))
        })
        .collect();
    if !address.is_empty() {
        claims.insert("address".into(), Value::Object(address));
    }
}

fn phone_claims(user: &User, claims: &mut Map<String, Value>) {
    if let Some(number) = first_attribute(user, "phoneNumber") {
        claims.insert("phone_number".into(), json!(number));
        let verified = first_attribute(user, "phoneNumberVerified")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        claims.insert("phone_number_verified".into(), json!(verified));
    }
}

/// `realm_access.roles` and `resource_access.{clientId}.roles`, Keycloak's shape.
fn role_claims(ctx: &ClaimContext<'_>, claims: &mut Map<String, Value>) {
    let roles = effective_roles(ctx.snapshot, ctx.resolved);
    if !roles.realm.is_empty() {
        claims.insert("realm_access".into(), json!({ "roles": roles.realm }));
    }
    if !roles.clients.is_empty() {
        let access: Map<String, Value> = roles
            .clients
            .iter()
            .map(|(client, names)| ((*client).to_owned(), json!({ "roles": names })))
            .collect();
        claims.insert("resource_access".into(), Value::Object(access));
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

pub(crate) fn effective_roles<'a>(
    snapshot: &'a RealmSnapshot,
    resolved: &ResolvedUser,
) -> EffectiveRoles<'a> {
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
        if !resolved.has_role(&qualified) {
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

fn first_attribute<'u>(user: &'u User, name: &str) -> Option<&'u str> {
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
        let scopes = grant(client, Some(scope), true);
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
                Value::Null,
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
        let scopes = grant(&client, Some("openid profile email roles"), true);
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
        let scopes = grant(client, Some("openid"), true);
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
