//! Keycloak's common OIDC protocol mappers, configured on client scopes and clients, with
//! Keycloak's type ids and config keys. A token's mappers are those of its granted client
//! scopes, in grant order, then the client's own. Claim names may be nested with dots (`address.street`), `\.` escaping a dot in a
//! name, as Keycloak splits them. Role mappers merge into lists already present (the built-in
//! `realm_access.roles`), every other mapper replaces the claim.

use portcullis_core::model::{ProtocolMapper, User};
use portcullis_web::MapperType;
use serde_json::{Map, Value};

use super::claims::{
    ClaimContext, Target, allowed_origins, direct_groups, effective_roles, first_attribute,
    full_name,
};

pub(crate) const ATTRIBUTE_MAPPER: &str = "oidc-usermodel-attribute-mapper";
pub(crate) const PROPERTY_MAPPER: &str = "oidc-usermodel-property-mapper";
pub(crate) const HARDCODED_MAPPER: &str = "oidc-hardcoded-claim-mapper";
pub(crate) const REALM_ROLE_MAPPER: &str = "oidc-usermodel-realm-role-mapper";
pub(crate) const CLIENT_ROLE_MAPPER: &str = "oidc-usermodel-client-role-mapper";
pub(crate) const GROUP_MAPPER: &str = "oidc-group-membership-mapper";
pub(crate) const AUDIENCE_MAPPER: &str = "oidc-audience-mapper";
pub(crate) const FULL_NAME_MAPPER: &str = "oidc-full-name-mapper";
pub(crate) const ADDRESS_MAPPER: &str = "oidc-address-mapper";
pub(crate) const AUDIENCE_RESOLVE_MAPPER: &str = "oidc-audience-resolve-mapper";
pub(crate) const ALLOWED_ORIGINS_MAPPER: &str = "oidc-allowed-origins-mapper";
pub(crate) const ACR_MAPPER: &str = "oidc-acr-mapper";
/// `sub` and `auth_time` are registered claims [`super::mint`] writes into every token (after
/// the mappers, so none can forge them); Keycloak's `basic` scope carries these two mapper
/// types for them, accepted here so that scope imports, exports and edits as Keycloak's.
pub(crate) const SUB_MAPPER: &str = "oidc-sub-mapper";
pub(crate) const SESSION_NOTE_MAPPER: &str = "oidc-usersessionmodel-note-mapper";

pub(crate) const CLAIM_NAME: &str = "claim.name";
pub(crate) const USER_ATTRIBUTE: &str = "user.attribute";
pub(crate) const JSON_TYPE: &str = "jsonType.label";
pub(crate) const ACCESS_TOKEN_CLAIM: &str = "access.token.claim";
pub(crate) const ID_TOKEN_CLAIM: &str = "id.token.claim";
pub(crate) const USERINFO_CLAIM: &str = "userinfo.token.claim";
pub(crate) const INTROSPECTION_CLAIM: &str = "introspection.token.claim";
pub(crate) const MULTIVALUED: &str = "multivalued";
pub(crate) const CLAIM_VALUE: &str = "claim.value";
pub(crate) const FULL_PATH: &str = "full.path";
pub(crate) const INCLUDED_CLIENT_AUDIENCE: &str = "included.client.audience";
pub(crate) const INCLUDED_CUSTOM_AUDIENCE: &str = "included.custom.audience";
pub(crate) const REALM_ROLE_PREFIX: &str = "usermodel.realmRoleMapping.rolePrefix";
pub(crate) const CLIENT_ROLE_CLIENT: &str = "usermodel.clientRoleMapping.clientId";
pub(crate) const CLIENT_ROLE_PREFIX: &str = "usermodel.clientRoleMapping.rolePrefix";
pub(crate) const SESSION_NOTE: &str = "user.session.note";
/// Address mapper keys: `user.attribute.<member>` names the attribute of each member.
const ADDRESS_ATTRIBUTE_PREFIX: &str = "user.attribute.";
/// Members of the OIDC `address` claim and the user attributes Keycloak reads them from.
const ADDRESS_MEMBERS: [(&str, &str); 6] = [
    ("formatted", "formatted"),
    ("street_address", "street"),
    ("locality", "locality"),
    ("region", "region"),
    ("postal_code", "postal_code"),
    ("country", "country"),
];

const PROTOCOL: &str = "openid-connect";
/// Placeholder Keycloak substitutes in client-role claim names and prefixes.
const CLIENT_ID_PLACEHOLDER: &str = "${client_id}";

/// Every mapper type this module understands, with the config keys it reads, for the protocol
/// plug-in's `mapper_types` (the admin API and console list them).
pub(crate) fn mapper_types() -> Vec<MapperType> {
    let kind = |id, display_name, help, config_keys| MapperType {
        id,
        display_name,
        help,
        config_keys,
    };
    vec![
        kind(
            ATTRIBUTE_MAPPER,
            "User Attribute",
            "Map a user attribute to a token claim.",
            &[
                USER_ATTRIBUTE,
                CLAIM_NAME,
                JSON_TYPE,
                MULTIVALUED,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            PROPERTY_MAPPER,
            "User Property",
            "Map a built-in user property (username, email, firstName, ...) to a token claim.",
            &[
                USER_ATTRIBUTE,
                CLAIM_NAME,
                JSON_TYPE,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            HARDCODED_MAPPER,
            "Hardcoded claim",
            "Put a fixed value in a token claim.",
            &[
                CLAIM_NAME,
                CLAIM_VALUE,
                JSON_TYPE,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            REALM_ROLE_MAPPER,
            "User Realm Role",
            "Map the user's effective realm roles to a token claim.",
            &[
                REALM_ROLE_PREFIX,
                CLAIM_NAME,
                JSON_TYPE,
                MULTIVALUED,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            CLIENT_ROLE_MAPPER,
            "User Client Role",
            "Map the user's effective client roles to a token claim (${client_id} in the name).",
            &[
                CLIENT_ROLE_CLIENT,
                CLIENT_ROLE_PREFIX,
                CLAIM_NAME,
                JSON_TYPE,
                MULTIVALUED,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            GROUP_MAPPER,
            "Group Membership",
            "Map the groups the user is a direct member of to a token claim.",
            &[
                CLAIM_NAME,
                FULL_PATH,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            AUDIENCE_MAPPER,
            "Audience",
            "Add a client id or a custom value to the token audience.",
            &[
                INCLUDED_CLIENT_AUDIENCE,
                INCLUDED_CUSTOM_AUDIENCE,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            FULL_NAME_MAPPER,
            "User's full name",
            "Map the user's first and last name to the `name` claim.",
            TARGETS,
        ),
        kind(
            ADDRESS_MAPPER,
            "User Address",
            "Map user attributes to the members of the OIDC `address` claim.",
            &[
                "user.attribute.formatted",
                "user.attribute.street",
                "user.attribute.locality",
                "user.attribute.region",
                "user.attribute.postal_code",
                "user.attribute.country",
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                USERINFO_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
        kind(
            AUDIENCE_RESOLVE_MAPPER,
            "Audience Resolve",
            "Add every client the user has roles of in the token to its audience.",
            &[ACCESS_TOKEN_CLAIM, INTROSPECTION_CLAIM],
        ),
        kind(
            ALLOWED_ORIGINS_MAPPER,
            "Allowed Web Origins",
            "Add the client's web origins to the `allowed-origins` claim.",
            &[ACCESS_TOKEN_CLAIM, INTROSPECTION_CLAIM],
        ),
        kind(
            ACR_MAPPER,
            "Authentication Context Class Reference (ACR)",
            "Add the level of assurance of the login to the `acr` claim.",
            &[ACCESS_TOKEN_CLAIM, ID_TOKEN_CLAIM, INTROSPECTION_CLAIM],
        ),
        kind(
            SUB_MAPPER,
            "Subject (sub)",
            "The user's id in the `sub` claim (every token carries it).",
            &[ACCESS_TOKEN_CLAIM, INTROSPECTION_CLAIM],
        ),
        kind(
            SESSION_NOTE_MAPPER,
            "User Session Note",
            "A note of the login session as a claim (AUTH_TIME: `auth_time`, which every token of a login carries).",
            &[
                SESSION_NOTE,
                CLAIM_NAME,
                JSON_TYPE,
                ACCESS_TOKEN_CLAIM,
                ID_TOKEN_CLAIM,
                INTROSPECTION_CLAIM,
            ],
        ),
    ]
}

/// The switches of mappers that write to every kind of token.
const TARGETS: &[&str] = &[
    ACCESS_TOKEN_CLAIM,
    ID_TOKEN_CLAIM,
    USERINFO_CLAIM,
    INTROSPECTION_CLAIM,
];

/// Whether a mapper of `mapper_type` among the token's mappers writes to `target`.
pub(crate) fn has_type(ctx: &ClaimContext<'_>, mapper_type: &str, target: Target) -> bool {
    oidc_mappers(ctx).any(|m| m.mapper_type == mapper_type && included(m, target))
}

/// Whether the audience is resolved from the roles in the token (Keycloak's audience-resolve
/// mapper, in the `roles` scope).
pub(crate) fn resolves_audience(ctx: &ClaimContext<'_>, target: Target) -> bool {
    has_type(ctx, AUDIENCE_RESOLVE_MAPPER, target)
}

/// Applies the client's claim mappers (every type but the audience mapper) for `target`.
pub(crate) fn apply(ctx: &ClaimContext<'_>, target: Target, claims: &mut Map<String, Value>) {
    for mapper in oidc_mappers(ctx) {
        if included(mapper, target) {
            apply_one(ctx, mapper, claims);
        }
    }
}

/// Audience mapper values for `target` (access and ID tokens only; others carry no `aud`).
pub(crate) fn audiences(ctx: &ClaimContext<'_>, target: Target) -> Vec<String> {
    if !matches!(target, Target::Access | Target::Id) {
        return Vec::new();
    }
    let mut audiences = Vec::new();
    for mapper in oidc_mappers(ctx) {
        if mapper.mapper_type != AUDIENCE_MAPPER || !included(mapper, target) {
            continue;
        }
        // Keycloak takes the client audience when set, else the custom one.
        let value = config(mapper, INCLUDED_CLIENT_AUDIENCE)
            .or_else(|| config(mapper, INCLUDED_CUSTOM_AUDIENCE));
        if let Some(value) = value
            && !audiences.iter().any(|a| a == value)
        {
            audiences.push(value.to_owned());
        }
    }
    audiences
}

/// Introspection answers with the access token's claims, adjusted the way Keycloak's
/// `introspection.token.claim` switch asks: claims of mappers that are in access tokens but
/// excluded from introspection are removed, and those only meant for introspection are added.
pub(crate) fn adjust_for_introspection(ctx: &ClaimContext<'_>, claims: &mut Map<String, Value>) {
    for mapper in oidc_mappers(ctx) {
        if mapper.mapper_type == AUDIENCE_MAPPER {
            continue;
        }
        let in_access = included(mapper, Target::Access);
        let in_introspection = included(mapper, Target::Introspection);
        if in_access && !in_introspection {
            for path in claim_paths(ctx, mapper) {
                remove_nested(claims, &path);
            }
        } else if in_introspection && !in_access {
            apply_one(ctx, mapper, claims);
        }
    }
}

/// The granted scopes' mappers in grant order, then the client's.
fn oidc_mappers<'a>(ctx: &ClaimContext<'a>) -> impl Iterator<Item = &'a ProtocolMapper> + 'a {
    ctx.scopes
        .client_scopes(ctx.snapshot)
        .filter(|s| s.protocol == PROTOCOL)
        .flat_map(|s| s.protocol_mappers.iter())
        .chain(ctx.client.protocol_mappers.iter())
        .filter(|m| m.protocol.is_empty() || m.protocol == PROTOCOL)
}

/// Keycloak's defaults for absent switches: in access tokens and introspection yes, in ID
/// tokens no, in userinfo only when in the ID token.
pub(crate) fn included(mapper: &ProtocolMapper, target: Target) -> bool {
    let flag = |key: &str| mapper.config.get(key).map(|v| v.trim() == "true");
    match target {
        Target::Access => flag(ACCESS_TOKEN_CLAIM).unwrap_or(true),
        Target::Id => flag(ID_TOKEN_CLAIM).unwrap_or(false),
        Target::Userinfo => {
            flag(USERINFO_CLAIM).unwrap_or_else(|| flag(ID_TOKEN_CLAIM).unwrap_or(false))
        }
        Target::Introspection => flag(INTROSPECTION_CLAIM).unwrap_or(true),
    }
}

fn config<'m>(mapper: &'m ProtocolMapper, key: &str) -> Option<&'m str> {
    mapper
        .config
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

fn flag_or(mapper: &ProtocolMapper, key: &str, default: bool) -> bool {
    config(mapper, key).map_or(default, |v| v.eq_ignore_ascii_case("true"))
}

fn apply_one(ctx: &ClaimContext<'_>, mapper: &ProtocolMapper, claims: &mut Map<String, Value>) {
    match mapper.mapper_type.as_str() {
        ATTRIBUTE_MAPPER => {
            let Some(attribute) = config(mapper, USER_ATTRIBUTE) else {
                return;
            };
            let values = user_attribute(ctx.user, attribute);
            set_values(
                claims,
                mapper,
                config(mapper, CLAIM_NAME),
                values,
                false,
                false,
            );
        }
        PROPERTY_MAPPER => {
            let Some(property) = config(mapper, USER_ATTRIBUTE) else {
                return;
            };
            let values = user_property(ctx.user, property).into_iter().collect();
            set_values(
                claims,
                mapper,
                config(mapper, CLAIM_NAME),
                values,
                false,
                false,
            );
        }
        HARDCODED_MAPPER => {
            let values = config(mapper, CLAIM_VALUE)
                .map(|v| vec![v.to_owned()])
                .unwrap_or_default();
            set_values(
                claims,
                mapper,
                config(mapper, CLAIM_NAME),
                values,
                false,
                false,
            );
        }
        FULL_NAME_MAPPER => {
            if let Some(name) = full_name(ctx.user) {
                set_nested(claims, &["name".to_owned()], Value::String(name), false);
            }
        }
        ADDRESS_MAPPER => {
            let address: Map<String, Value> = ADDRESS_MEMBERS
                .iter()
                .filter_map(|(member, default_attribute)| {
                    let key = format!("{ADDRESS_ATTRIBUTE_PREFIX}{member}");
                    let attribute = config(mapper, &key).unwrap_or(default_attribute);
                    first_attribute(ctx.user, attribute)
                        .map(|v| ((*member).to_owned(), Value::String(v.to_owned())))
                })
                .collect();
            if !address.is_empty() {
                claims.insert("address".into(), Value::Object(address));
            }
        }
        ALLOWED_ORIGINS_MAPPER => {
            let origins = allowed_origins(ctx.client);
            if !origins.is_empty() {
                let origins = origins.into_iter().map(Value::String).collect();
                claims.insert("allowed-origins".into(), Value::Array(origins));
            }
        }
        REALM_ROLE_MAPPER => realm_roles(ctx, mapper, claims),
        CLIENT_ROLE_MAPPER => client_roles(ctx, mapper, claims),
        GROUP_MAPPER => {
            let full_path = flag_or(mapper, FULL_PATH, false);
            let groups = direct_groups(ctx.snapshot, ctx.user, full_path);
            let name = config(mapper, CLAIM_NAME).or(Some("groups"));
            if !groups.is_empty() {
                set_values(claims, mapper, name, groups, true, false);
            }
        }
        // Written elsewhere: `aud` by the audience functions, `acr`, `sub` and `auth_time` by
        // the minting code from the grant.
        AUDIENCE_MAPPER
        | AUDIENCE_RESOLVE_MAPPER
        | ACR_MAPPER
        | SUB_MAPPER
        | SESSION_NOTE_MAPPER => {}
        other => {
            tracing::debug!(mapper = %mapper.name, r#type = other, "unknown OIDC mapper type ignored");
        }
    }
}

fn realm_roles(ctx: &ClaimContext<'_>, mapper: &ProtocolMapper, claims: &mut Map<String, Value>) {
    let prefix = config(mapper, REALM_ROLE_PREFIX).unwrap_or_default();
    let roles = effective_roles(ctx);
    let values: Vec<String> = roles.realm.iter().map(|r| format!("{prefix}{r}")).collect();
    let name = config(mapper, CLAIM_NAME).or(Some("realm_access.roles"));
    if !values.is_empty() {
        set_values(claims, mapper, name, values, true, true);
    }
}

fn client_roles(ctx: &ClaimContext<'_>, mapper: &ProtocolMapper, claims: &mut Map<String, Value>) {
    let only = config(mapper, CLIENT_ROLE_CLIENT);
    let prefix = config(mapper, CLIENT_ROLE_PREFIX).unwrap_or_default();
    let name = config(mapper, CLAIM_NAME).unwrap_or("resource_access.${client_id}.roles");
    let roles = effective_roles(ctx);
    for (client, names) in &roles.clients {
        if only.is_some_and(|o| o != *client) {
            continue;
        }
        let prefix = prefix.replace(CLIENT_ID_PLACEHOLDER, client);
        let values: Vec<String> = names.iter().map(|r| format!("{prefix}{r}")).collect();
        let claim = name.replace(CLIENT_ID_PLACEHOLDER, client);
        set_values(claims, mapper, Some(&claim), values, true, true);
    }
}

/// Converts and writes mapper output. Single-valued mappers take the first value (Keycloak logs
/// and does the same); values that do not convert to `jsonType.label` are dropped.
fn set_values(
    claims: &mut Map<String, Value>,
    mapper: &ProtocolMapper,
    claim_name: Option<&str>,
    values: Vec<String>,
    multivalued_default: bool,
    merge: bool,
) {
    let Some(path) = claim_name.map(split_claim_name).filter(|p| !p.is_empty()) else {
        return;
    };
    let json_type = config(mapper, JSON_TYPE);
    let converted: Vec<Value> = values
        .iter()
        .filter_map(|v| convert(v, json_type))
        .collect();
    let value = if flag_or(mapper, MULTIVALUED, multivalued_default) {
        if converted.is_empty() {
            return;
        }
        Value::Array(converted)
    } else {
        match converted.into_iter().next() {
            Some(v) => v,
            None => return,
        }
    };
    set_nested(claims, &path, value, merge);
}

/// Keycloak's `jsonType.label` conversions; `None` when the value does not fit the type.
pub(crate) fn convert(value: &str, json_type: Option<&str>) -> Option<Value> {
    match json_type.unwrap_or("String") {
        "long" => value.trim().parse::<i64>().ok().map(Value::from),
        "int" => value.trim().parse::<i32>().ok().map(Value::from),
        "boolean" => Some(Value::Bool(value.trim().eq_ignore_ascii_case("true"))),
        "JSON" => serde_json::from_str(value).ok(),
        _ => Some(Value::String(value.to_owned())),
    }
}

/// A user attribute's values; the built-in profile fields answer too, as attributes do in
/// Keycloak's user profile.
fn user_attribute(user: &User, name: &str) -> Vec<String> {
    if let Some(values) = user.attributes.get(name) {
        return values.clone();
    }
    match name {
        "username" | "email" | "firstName" | "lastName" => {
            user_property(user, name).into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// A property of the user model by Keycloak's bean name (case-insensitive first letter).
fn user_property(user: &User, name: &str) -> Option<String> {
    match name.to_ascii_lowercase().as_str() {
        "username" => Some(user.username.clone()),
        "email" => user.email.clone(),
        "firstname" => user.first_name.clone(),
        "lastname" => user.last_name.clone(),
        "emailverified" => Some(user.email_verified.to_string()),
        "enabled" => Some(user.enabled.to_string()),
        "id" => Some(user.id.clone()),
        "createdtimestamp" => Some(user.created_at.saturating_mul(1000).to_string()),
        "serviceaccountclientlink" | "serviceaccountclientid" => {
            user.service_account_client_id.clone()
        }
        _ => None,
    }
    .filter(|v| !v.is_empty())
}

/// Splits a claim name on unescaped dots; `\.` is a literal dot. Empty segments are dropped.
pub(crate) fn split_claim_name(name: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => parts.push(std::mem::take(&mut current)),
            other => current.push(other),
        }
    }
    parts.push(current);
    parts.retain(|p| !p.is_empty());
    parts
}

/// The claim paths a mapper writes, for removing them again.
fn claim_paths(ctx: &ClaimContext<'_>, mapper: &ProtocolMapper) -> Vec<Vec<String>> {
    let name = config(mapper, CLAIM_NAME);
    let names: Vec<String> = match mapper.mapper_type.as_str() {
        REALM_ROLE_MAPPER => vec![name.unwrap_or("realm_access.roles").to_owned()],
        GROUP_MAPPER => vec![name.unwrap_or("groups").to_owned()],
        CLIENT_ROLE_MAPPER => {
            let name = name.unwrap_or("resource_access.${client_id}.roles");
            effective_roles(ctx)
                .clients
                .keys()
                .map(|client| name.replace(CLIENT_ID_PLACEHOLDER, client))
                .collect()
        }
        FULL_NAME_MAPPER => vec!["name".to_owned()],
        ADDRESS_MAPPER => vec!["address".to_owned()],
        ALLOWED_ORIGINS_MAPPER => vec!["allowed-origins".to_owned()],
        _ => name.map(str::to_owned).into_iter().collect(),
    };
    names.iter().map(|n| split_claim_name(n)).collect()
}

/// Writes `value` at `path`, creating (or replacing non-object) intermediate objects. With
/// `merge`, an array meets an existing array as a union.
pub(crate) fn set_nested(map: &mut Map<String, Value>, path: &[String], value: Value, merge: bool) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = map;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    if merge
        && let (Some(Value::Array(existing)), Value::Array(new)) = (current.get_mut(last), &value)
    {
        for item in new {
            if !existing.contains(item) {
                existing.push(item.clone());
            }
        }
        return;
    }
    current.insert(last.clone(), value);
}

/// Removes the leaf at `path`, and parents left empty by it.
fn remove_nested(map: &mut Map<String, Value>, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        map.remove(first);
        return;
    }
    if let Some(Value::Object(child)) = map.get_mut(first) {
        remove_nested(child, rest);
        if child.is_empty() {
            map.remove(first);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use portcullis_core::resolve::resolve_user;
    use serde_json::json;

    use super::*;
    use crate::tokens::claims::tests::{alice, snapshot};
    use crate::tokens::claims::user_claims;
    use crate::tokens::scopes::grant;

    fn mapper(kind: &str, config: &[(&str, &str)]) -> ProtocolMapper {
        ProtocolMapper {
            id: "m".into(),
            name: "m".into(),
            protocol: PROTOCOL.into(),
            mapper_type: kind.into(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    /// Claims for `target` with one mapper on the client and only the `openid` scope (no
    /// built-in profile or role claims, so the mapper's output is all there is).
    fn with_mapper(m: ProtocolMapper, target: Target) -> Map<String, Value> {
        let mut snapshot = snapshot();
        let client = snapshot
            .clients
            .iter_mut()
            .find(|c| c.client_id == "app")
            .unwrap();
        client.protocol_mappers = vec![m];
        client.default_client_scopes = vec![];
        let snapshot = snapshot;
        let client = snapshot.client("app").unwrap();
        let mut user = alice();
        user.attributes
            .insert("tags".into(), vec!["a".into(), "b".into()]);
        user.attributes.insert("age".into(), vec!["42".into()]);
        user.attributes
            .insert("prefs".into(), vec![r#"{"dark":true}"#.into()]);
        let resolved = resolve_user(&snapshot, &user);
        let scopes = grant(&snapshot, client, Some("openid"), true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        user_claims(&ctx, target)
    }

    #[test]
    fn mapper_table() {
        use Target::*;
        // (type, config, target, expected claims)
        type Row = (
            &'static str,
            &'static [(&'static str, &'static str)],
            Target,
            Value,
        );
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang")], Access, json!({"lang": "en"})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang")], Id, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang"), (ID_TOKEN_CLAIM, "true")], Id, json!({"lang": "en"})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang"), (ID_TOKEN_CLAIM, "true")], Userinfo, json!({"lang": "en"})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang"), (ID_TOKEN_CLAIM, "true"), (USERINFO_CLAIM, "false")], Userinfo, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "lang"), (ACCESS_TOKEN_CLAIM, "false")], Access, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "tags"), (CLAIM_NAME, "tags")], Access, json!({"tags": "a"})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "tags"), (CLAIM_NAME, "tags"), (MULTIVALUED, "true")], Access, json!({"tags": ["a", "b"]})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "age"), (CLAIM_NAME, "age"), (JSON_TYPE, "long")], Access, json!({"age": 42})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "age"), (CLAIM_NAME, "age"), (JSON_TYPE, "int")], Access, json!({"age": 42})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "n"), (JSON_TYPE, "long")], Access, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "prefs"), (CLAIM_NAME, "prefs"), (JSON_TYPE, "JSON")], Access, json!({"prefs": {"dark": true}})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale"), (CLAIM_NAME, "a.b\\.c.d")], Access, json!({"a": {"b.c": {"d": "en"}}})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "missing"), (CLAIM_NAME, "x")], Access, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "empty"), (CLAIM_NAME, "x"), (MULTIVALUED, "true")], Access, json!({})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "email"), (CLAIM_NAME, "mail")], Access, json!({"mail": "alice@example.test"})),
            (ATTRIBUTE_MAPPER, &[(USER_ATTRIBUTE, "locale")], Access, json!({})),
            (PROPERTY_MAPPER, &[(USER_ATTRIBUTE, "firstName"), (CLAIM_NAME, "first")], Access, json!({"first": "Alice"})),
            (PROPERTY_MAPPER, &[(USER_ATTRIBUTE, "emailVerified"), (CLAIM_NAME, "ev"), (JSON_TYPE, "boolean")], Access, json!({"ev": true})),
            (PROPERTY_MAPPER, &[(USER_ATTRIBUTE, "username"), (CLAIM_NAME, "u.name")], Access, json!({"u": {"name": "alice"}})),
            (PROPERTY_MAPPER, &[(USER_ATTRIBUTE, "nothing"), (CLAIM_NAME, "x")], Access, json!({})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "tier"), (CLAIM_VALUE, "gold")], Access, json!({"tier": "gold"})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "n"), (CLAIM_VALUE, "7"), (JSON_TYPE, "int")], Access, json!({"n": 7})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "b"), (CLAIM_VALUE, "TRUE"), (JSON_TYPE, "boolean")], Access, json!({"b": true})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "o"), (CLAIM_VALUE, "{\"k\":[1]}"), (JSON_TYPE, "JSON")], Access, json!({"o": {"k": [1]}})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "tier"), (CLAIM_VALUE, "gold")], Introspection, json!({"tier": "gold"})),
            (HARDCODED_MAPPER, &[(CLAIM_NAME, "tier"), (CLAIM_VALUE, "gold"), (INTROSPECTION_CLAIM, "false")], Introspection, json!({})),
            (REALM_ROLE_MAPPER, &[], Access, json!({"realm_access": {"roles": ["staff"]}})),
            (REALM_ROLE_MAPPER, &[(CLAIM_NAME, "roles"), (REALM_ROLE_PREFIX, "ROLE_")], Access, json!({"roles": ["ROLE_staff"]})),
            (REALM_ROLE_MAPPER, &[(CLAIM_NAME, "role"), (MULTIVALUED, "false")], Access, json!({"role": "staff"})),
            (CLIENT_ROLE_MAPPER, &[], Access, json!({"resource_access": {"api": {"roles": ["read", "write"]}, "app": {"roles": ["own"]}}})),
            (CLIENT_ROLE_MAPPER, &[(CLIENT_ROLE_CLIENT, "api"), (CLAIM_NAME, "api_roles")], Access, json!({"api_roles": ["read", "write"]})),
            (CLIENT_ROLE_MAPPER, &[(CLIENT_ROLE_CLIENT, "api"), (CLIENT_ROLE_PREFIX, "${client_id}:"), (CLAIM_NAME, "r.${client_id}")], Access, json!({"r": {"api": ["api:read", "api:write"]}})),
            (CLIENT_ROLE_MAPPER, &[(CLIENT_ROLE_CLIENT, "nobody")], Access, json!({})),
            (GROUP_MAPPER, &[(CLAIM_NAME, "groups"), (FULL_PATH, "true")], Access, json!({"groups": ["/eng/platform"]})),
            (GROUP_MAPPER, &[(CLAIM_NAME, "teams")], Access, json!({"teams": ["platform"]})),
            (GROUP_MAPPER, &[(CLAIM_NAME, "groups"), (ID_TOKEN_CLAIM, "true")], Id, json!({"groups": ["platform"]})),
            (AUDIENCE_MAPPER, &[(INCLUDED_CUSTOM_AUDIENCE, "https://api.test")], Access, json!({})),
            ("oidc-unknown-mapper", &[(CLAIM_NAME, "x"), (CLAIM_VALUE, "y")], Access, json!({})),
        ];
        for (kind, config, target, expected) in rows {
            let got = with_mapper(mapper(kind, config), *target);
            assert_eq!(
                Value::Object(got),
                *expected,
                "{kind} {config:?} {target:?}"
            );
        }
    }

    #[test]
    fn role_mappers_merge_with_built_in_roles() {
        let mut snapshot = snapshot();
        let client = snapshot
            .clients
            .iter_mut()
            .find(|c| c.client_id == "app")
            .unwrap();
        client.protocol_mappers = vec![mapper(REALM_ROLE_MAPPER, &[(REALM_ROLE_PREFIX, "x-")])];
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
        let claims = user_claims(&ctx, Target::Access);
        assert_eq!(
            claims["realm_access"],
            json!({"roles": ["staff", "x-staff"]})
        );
    }

    #[test]
    fn audience_mappers() {
        // (config, access audiences, id audiences)
        type Row = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
            &'static [&'static str],
        );
        #[rustfmt::skip]
        let rows: &[Row] = &[
            (&[(INCLUDED_CUSTOM_AUDIENCE, "https://api.test")], &["api", "https://api.test"], &[]),
            (&[(INCLUDED_CLIENT_AUDIENCE, "billing"), (INCLUDED_CUSTOM_AUDIENCE, "x")], &["api", "billing"], &[]),
            (&[(INCLUDED_CLIENT_AUDIENCE, "api")], &["api"], &[]),
            (&[(INCLUDED_CLIENT_AUDIENCE, "billing"), (ID_TOKEN_CLAIM, "true")], &["api", "billing"], &["billing"]),
            (&[(INCLUDED_CLIENT_AUDIENCE, "billing"), (ACCESS_TOKEN_CLAIM, "false")], &["api"], &[]),
            (&[], &["api"], &[]),
        ];
        for (config, access, id) in rows {
            let mut snapshot = snapshot();
            let client = snapshot
                .clients
                .iter_mut()
                .find(|c| c.client_id == "app")
                .unwrap();
            client.protocol_mappers = vec![mapper(AUDIENCE_MAPPER, config)];
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
            let audiences = crate::tokens::claims::audiences;
            assert_eq!(audiences(&ctx, Target::Access), *access, "{config:?}");
            assert_eq!(audiences(&ctx, Target::Id), *id, "{config:?}");
            assert!(audiences(&ctx, Target::Userinfo).is_empty());
        }
    }

    #[test]
    fn introspection_adjustments() {
        let mut snapshot = snapshot();
        let client = snapshot
            .clients
            .iter_mut()
            .find(|c| c.client_id == "app")
            .unwrap();
        client.protocol_mappers = vec![
            mapper(
                HARDCODED_MAPPER,
                &[
                    (CLAIM_NAME, "a.hidden"),
                    (CLAIM_VALUE, "1"),
                    (INTROSPECTION_CLAIM, "false"),
                ],
            ),
            mapper(
                HARDCODED_MAPPER,
                &[
                    (CLAIM_NAME, "extra"),
                    (CLAIM_VALUE, "2"),
                    (ACCESS_TOKEN_CLAIM, "false"),
                ],
            ),
            mapper(
                HARDCODED_MAPPER,
                &[(CLAIM_NAME, "kept"), (CLAIM_VALUE, "3")],
            ),
        ];
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
        let mut claims = user_claims(&ctx, Target::Access);
        assert_eq!(claims["a"], json!({"hidden": "1"}));
        assert!(!claims.contains_key("extra"));
        adjust_for_introspection(&ctx, &mut claims);
        assert!(!claims.contains_key("a"), "emptied parent removed too");
        assert_eq!(claims["extra"], json!("2"));
        assert_eq!(claims["kept"], json!("3"));
    }

    #[test]
    fn every_type_is_listed_once() {
        let types = mapper_types();
        let ids: std::collections::BTreeSet<&str> = types.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), 14);
        for t in &types {
            assert!(t.config_keys.contains(&ACCESS_TOKEN_CLAIM), "{}", t.id);
        }
    }

    #[test]
    fn claim_name_splitting() {
        let rows: &[(&str, &[&str])] = &[
            ("a", &["a"]),
            ("a.b.c", &["a", "b", "c"]),
            ("a\\.b.c", &["a.b", "c"]),
            ("a..b", &["a", "b"]),
            ("", &[]),
            ("trailing\\", &["trailing\\"]),
            ("https://x\\.test/claim", &["https://x.test/claim"]),
        ];
        for (name, expected) in rows {
            assert_eq!(split_claim_name(name), *expected, "{name}");
        }
    }

    #[test]
    fn nested_writes_replace_scalars_and_merge_arrays() {
        let mut map = Map::new();
        let path = |p: &str| split_claim_name(p);
        set_nested(&mut map, &path("a"), json!(1), false);
        set_nested(&mut map, &path("a.b"), json!(2), false);
        assert_eq!(Value::Object(map.clone()), json!({"a": {"b": 2}}));
        set_nested(&mut map, &path("l"), json!(["x"]), true);
        set_nested(&mut map, &path("l"), json!(["x", "y"]), true);
        assert_eq!(map["l"], json!(["x", "y"]));
        set_nested(&mut map, &path("l"), json!(["z"]), false);
        assert_eq!(map["l"], json!(["z"]));
        set_nested(&mut map, &[], json!(1), false);
        remove_nested(&mut map, &path("a.b"));
        remove_nested(&mut map, &path("nope.x"));
        assert_eq!(Value::Object(map), json!({"l": ["z"]}));
    }

    #[test]
    fn conversions() {
        let rows: &[(&str, Option<&str>, Option<Value>)] = &[
            ("x", None, Some(json!("x"))),
            ("x", Some("String"), Some(json!("x"))),
            (" 12 ", Some("long"), Some(json!(12))),
            ("9999999999", Some("int"), None),
            ("9999999999", Some("long"), Some(json!(9_999_999_999_i64))),
            ("yes", Some("boolean"), Some(json!(false))),
            ("True", Some("boolean"), Some(json!(true))),
            ("[1,2]", Some("JSON"), Some(json!([1, 2]))),
            ("{bad", Some("JSON"), None),
            ("x", Some("weird"), Some(json!("x"))),
        ];
        for (value, kind, expected) in rows {
            assert_eq!(convert(value, *kind), *expected, "{value} {kind:?}");
        }
    }
}
