//! Keycloak's built-in OpenID Connect client scopes, created with every realm: the scopes, their
//! protocol mappers (names, types and config as Keycloak's `OIDCLoginProtocolFactory` creates
//! them) and whether each is a realm default or optional scope for new clients.
//!
//! The token code gives no scope name a meaning of its own: the claims of `profile`, `email`,
//! `roles`, ... come from these mappers, so a realm admin can edit or remove them.

use std::collections::BTreeMap;

use crate::model::{ClientScope, ProtocolMapper, RealmScopeType};

pub const OIDC: &str = "openid-connect";
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Keycloak's realm default client scopes (`defaultDefaultClientScopes`).
pub const REALM_DEFAULT_SCOPES: [&str; 6] =
    ["profile", "email", "roles", "web-origins", "acr", "basic"];
/// Keycloak's realm optional client scopes (`defaultOptionalClientScopes`).
pub const REALM_OPTIONAL_SCOPES: [&str; 4] =
    ["address", "phone", "offline_access", "microprofile-jwt"];

/// Which token a mapper writes to: access, ID, userinfo, introspection.
type Targets = (bool, bool, bool, bool);
const ALL: Targets = (true, true, true, true);
const ACCESS_ONLY: Targets = (true, false, false, true);

fn mapper(
    new_id: &mut dyn FnMut() -> String,
    name: &str,
    mapper_type: &str,
    targets: Targets,
    extra: &[(&str, &str)],
) -> ProtocolMapper {
    let mut config: BTreeMap<String, String> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let (access, id, userinfo, introspection) = targets;
    for (key, on) in [
        ("access.token.claim", access),
        ("id.token.claim", id),
        ("userinfo.token.claim", userinfo),
        ("introspection.token.claim", introspection),
    ] {
        config.insert(key.to_owned(), on.to_string());
    }
    ProtocolMapper {
        id: new_id(),
        name: name.to_owned(),
        protocol: OIDC.to_owned(),
        mapper_type: mapper_type.to_owned(),
        config,
    }
}

/// Keycloak's `UserAttributeMapper.createClaimMapper`: a user attribute as a claim.
fn attribute(
    new_id: &mut dyn FnMut() -> String,
    name: &str,
    attribute: &str,
    claim: &str,
    json_type: &str,
) -> ProtocolMapper {
    mapper(
        new_id,
        name,
        "oidc-usermodel-attribute-mapper",
        ALL,
        &[
            ("user.attribute", attribute),
            ("claim.name", claim),
            ("jsonType.label", json_type),
        ],
    )
}

fn scope(
    new_id: &mut dyn FnMut() -> String,
    name: &str,
    description: &str,
    consent: Option<&str>,
    include_in_token_scope: bool,
    protocol_mappers: Vec<ProtocolMapper>,
) -> ClientScope {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        ClientScope::DISPLAY_ON_CONSENT_SCREEN.to_owned(),
        consent.is_some().to_string(),
    );
    if let Some(text) = consent {
        attributes.insert(ClientScope::CONSENT_SCREEN_TEXT.to_owned(), text.to_owned());
    }
    attributes.insert(
        ClientScope::INCLUDE_IN_TOKEN_SCOPE.to_owned(),
        include_in_token_scope.to_string(),
    );
    let realm_type = if REALM_DEFAULT_SCOPES.contains(&name) {
        RealmScopeType::Default
    } else if REALM_OPTIONAL_SCOPES.contains(&name) {
        RealmScopeType::Optional
    } else {
        RealmScopeType::None
    };
    ClientScope {
        id: new_id(),
        name: name.to_owned(),
        description: Some(description.to_owned()),
        protocol: OIDC.to_owned(),
        attributes,
        protocol_mappers,
        role_ids: Vec::new(),
        realm_type,
    }
}

/// The built-in scopes with fresh ids from `new_id`. `offline_access_role` is the id of the
/// realm's `offline_access` role, which Keycloak maps into the `offline_access` scope.
pub fn builtin_client_scopes(
    new_id: &mut dyn FnMut() -> String,
    offline_access_role: Option<&str>,
) -> Vec<ClientScope> {
    let profile = vec![
        mapper(new_id, "full name", "oidc-full-name-mapper", ALL, &[]),
        attribute(new_id, "family name", "lastName", "family_name", "String"),
        attribute(new_id, "given name", "firstName", "given_name", "String"),
        attribute(new_id, "middle name", "middleName", "middle_name", "String"),
        attribute(new_id, "nickname", "nickname", "nickname", "String"),
        attribute(
            new_id,
            "username",
            "username",
            "preferred_username",
            "String",
        ),
        attribute(new_id, "profile", "profile", "profile", "String"),
        attribute(new_id, "picture", "picture", "picture", "String"),
        attribute(new_id, "website", "website", "website", "String"),
        attribute(new_id, "gender", "gender", "gender", "String"),
        attribute(new_id, "birthdate", "birthdate", "birthdate", "String"),
        attribute(new_id, "zoneinfo", "zoneinfo", "zoneinfo", "String"),
        attribute(new_id, "locale", "locale", "locale", "String"),
        attribute(new_id, "updated at", "updatedAt", "updated_at", "long"),
    ];
    let email = vec![
        attribute(new_id, "email", "email", "email", "String"),
        mapper(
            new_id,
            "email verified",
            "oidc-usermodel-property-mapper",
            ALL,
            &[
                ("user.attribute", "emailVerified"),
                ("claim.name", "email_verified"),
                ("jsonType.label", "boolean"),
            ],
        ),
    ];
    let address = vec![mapper(
        new_id,
        "address",
        "oidc-address-mapper",
        ALL,
        &[
            ("user.attribute.formatted", "formatted"),
            ("user.attribute.country", "country"),
            ("user.attribute.postal_code", "postal_code"),
            ("user.attribute.street", "street"),
            ("user.attribute.region", "region"),
            ("user.attribute.locality", "locality"),
        ],
    )];
    let phone = vec![
        attribute(
            new_id,
            "phone number",
            "phoneNumber",
            "phone_number",
            "String",
        ),
        attribute(
            new_id,
            "phone number verified",
            "phoneNumberVerified",
            "phone_number_verified",
            "boolean",
        ),
    ];
    let roles = vec![
        mapper(
            new_id,
            "realm roles",
            "oidc-usermodel-realm-role-mapper",
            ACCESS_ONLY,
            &[
                ("claim.name", "realm_access.roles"),
                ("jsonType.label", "String"),
                ("multivalued", "true"),
                ("user.attribute", "foo"),
            ],
        ),
        mapper(
            new_id,
            "client roles",
            "oidc-usermodel-client-role-mapper",
            ACCESS_ONLY,
            &[
                ("claim.name", "resource_access.${client_id}.roles"),
                ("jsonType.label", "String"),
                ("multivalued", "true"),
                ("user.attribute", "foo"),
            ],
        ),
        mapper(
            new_id,
            "audience resolve",
            "oidc-audience-resolve-mapper",
            ACCESS_ONLY,
            &[],
        ),
    ];
    let web_origins = vec![mapper(
        new_id,
        "allowed web origins",
        "oidc-allowed-origins-mapper",
        ACCESS_ONLY,
        &[],
    )];
    let microprofile = vec![
        attribute(new_id, "upn", "username", "upn", "String"),
        mapper(
            new_id,
            "groups",
            "oidc-usermodel-realm-role-mapper",
            ALL,
            &[
                ("claim.name", "groups"),
                ("jsonType.label", "String"),
                ("multivalued", "true"),
                ("user.attribute", "foo"),
            ],
        ),
    ];
    let acr = vec![mapper(
        new_id,
        "acr loa level",
        "oidc-acr-mapper",
        (true, true, false, true),
        &[],
    )];
    let basic = vec![
        mapper(
            new_id,
            "auth_time",
            "oidc-usersessionmodel-note-mapper",
            (true, true, false, true),
            &[
                ("user.session.note", "AUTH_TIME"),
                ("claim.name", "auth_time"),
                ("jsonType.label", "long"),
            ],
        ),
        mapper(
            new_id,
            "sub",
            "oidc-sub-mapper",
            (true, false, false, true),
            &[],
        ),
    ];
    let mut offline = scope(
        new_id,
        OFFLINE_ACCESS,
        "OpenID Connect built-in scope: offline_access",
        Some("${offlineAccessScopeConsentText}"),
        true,
        Vec::new(),
    );
    offline
        .role_ids
        .extend(offline_access_role.map(str::to_owned));
    vec![
        scope(
            new_id,
            "profile",
            "OpenID Connect built-in scope: profile",
            Some("${profileScopeConsentText}"),
            true,
            profile,
        ),
        scope(
            new_id,
            "email",
            "OpenID Connect built-in scope: email",
            Some("${emailScopeConsentText}"),
            true,
            email,
        ),
        scope(
            new_id,
            "address",
            "OpenID Connect built-in scope: address",
            Some("${addressScopeConsentText}"),
            true,
            address,
        ),
        scope(
            new_id,
            "phone",
            "OpenID Connect built-in scope: phone",
            Some("${phoneScopeConsentText}"),
            true,
            phone,
        ),
        offline,
        scope(
            new_id,
            "roles",
            "OpenID Connect scope for add user roles to the access token",
            Some("${rolesScopeConsentText}"),
            false,
            roles,
        ),
        scope(
            new_id,
            "web-origins",
            "OpenID Connect scope for add allowed web origins to the access token",
            None,
            false,
            web_origins,
        ),
        scope(
            new_id,
            "microprofile-jwt",
            "Microprofile - JWT built-in scope",
            None,
            true,
            microprofile,
        ),
        scope(
            new_id,
            "acr",
            "OpenID Connect scope for add acr (authentication context class reference) to the token",
            None,
            false,
            acr,
        ),
        scope(
            new_id,
            "basic",
            "OpenID Connect scope for add all basic claims to the token",
            None,
            false,
            basic,
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn builtins_match_keycloaks_realm_defaults() {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            format!("id-{n}")
        };
        let scopes = builtin_client_scopes(&mut ids, Some("role-offline"));
        let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 10);
        for name in REALM_DEFAULT_SCOPES {
            let s = scopes.iter().find(|s| s.name == name).unwrap();
            assert_eq!(s.realm_type, RealmScopeType::Default, "{name}");
        }
        for name in REALM_OPTIONAL_SCOPES {
            let s = scopes.iter().find(|s| s.name == name).unwrap();
            assert_eq!(s.realm_type, RealmScopeType::Optional, "{name}");
        }
        let listed: Vec<&str> = scopes
            .iter()
            .filter(|s| s.include_in_token_scope())
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(
            listed,
            [
                "profile",
                "email",
                "address",
                "phone",
                "offline_access",
                "microprofile-jwt"
            ]
        );
        let offline = scopes.iter().find(|s| s.name == OFFLINE_ACCESS).unwrap();
        assert_eq!(offline.role_ids, ["role-offline"]);
        let mut all_ids: Vec<&str> = scopes
            .iter()
            .flat_map(|s| {
                std::iter::once(s.id.as_str())
                    .chain(s.protocol_mappers.iter().map(|m| m.id.as_str()))
            })
            .collect();
        let count = all_ids.len();
        all_ids.dedup();
        assert_eq!(all_ids.len(), count, "ids are unique");
    }
}
