//! Identity-provider mappers: what an upstream login gives the user. Keycloak's types (and
//! config keys) where Keycloak has one, one of Portcullis's own for upstream group lists:
//!
//! | type | config | gives |
//! |---|---|---|
//! | `hardcoded-role-idp-mapper` | `role` | the role, always |
//! | `hardcoded-group-idp-mapper` | `group` | the group, always |
//! | `oidc-role-idp-mapper` | `claim`, `claim.value`, `role` | the role while the claim has the value |
//! | `oidc-user-attribute-idp-mapper` | `claim`, `user.attribute` | the claim's values as the attribute (`email`, `firstName`, `lastName` set the profile) |
//! | `upstream-groups-idp-mapper` | `claim` (default `groups`), `group.parent` | the realm group of each upstream group name, under the parent path, if it exists |
//!
//! Roles are named as access rules name them (`role`, `clientId.role`), groups by path.
//! [`evaluate`] turns a login's claims into what the mappers assert; the broker reconciles
//! the user's memberships with it on every login.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::claims;
use crate::model::{IdentityProvider, IdentityProviderMapper, RealmSnapshot};

pub const HARDCODED_ROLE: &str = "hardcoded-role-idp-mapper";
pub const HARDCODED_GROUP: &str = "hardcoded-group-idp-mapper";
pub const CLAIM_TO_ROLE: &str = "oidc-role-idp-mapper";
pub const ATTRIBUTE_IMPORTER: &str = "oidc-user-attribute-idp-mapper";
pub const UPSTREAM_GROUPS: &str = "upstream-groups-idp-mapper";

/// Every mapper type, for error messages and the `mapper-types` listing.
pub const MAPPER_TYPES: [&str; 5] = [
    HARDCODED_ROLE,
    HARDCODED_GROUP,
    CLAIM_TO_ROLE,
    ATTRIBUTE_IMPORTER,
    UPSTREAM_GROUPS,
];

/// The claim [`UPSTREAM_GROUPS`] reads unless told otherwise.
pub const DEFAULT_GROUPS_CLAIM: &str = "groups";

/// User attributes that are the profile's own fields.
pub const PROFILE_ATTRIBUTES: [&str; 3] = ["email", "firstName", "lastName"];

/// A mapper's config, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapperRule {
    HardcodedRole {
        role: String,
    },
    HardcodedGroup {
        group: String,
    },
    ClaimToRole {
        claim: String,
        value: String,
        role: String,
    },
    ClaimToAttribute {
        claim: String,
        attribute: String,
    },
    UpstreamGroups {
        claim: String,
        /// A group path (`/upstream`), or empty for top-level groups.
        parent: String,
    },
}

impl MapperRule {
    /// Reads a mapper's type and config; every problem found.
    pub fn parse(
        mapper_type: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<MapperRule, Vec<String>> {
        let mut problems = Vec::new();
        let mut get = |key: &str, required: bool| -> String {
            let value = config
                .get(key)
                .map(|v| v.trim().to_string())
                .unwrap_or_default();
            if required && value.is_empty() {
                problems.push(format!("config.{key} is required"));
            }
            value
        };
        let rule = match mapper_type {
            HARDCODED_ROLE => MapperRule::HardcodedRole {
                role: get("role", true),
            },
            HARDCODED_GROUP => MapperRule::HardcodedGroup {
                group: get("group", true),
            },
            CLAIM_TO_ROLE => MapperRule::ClaimToRole {
                claim: get("claim", true),
                value: get("claim.value", true),
                role: get("role", true),
            },
            ATTRIBUTE_IMPORTER => MapperRule::ClaimToAttribute {
                claim: get("claim", true),
                attribute: get("user.attribute", true),
            },
            UPSTREAM_GROUPS => {
                let claim = get("claim", false);
                let parent = get("group.parent", false);
                MapperRule::UpstreamGroups {
                    claim: if claim.is_empty() {
                        DEFAULT_GROUPS_CLAIM.to_string()
                    } else {
                        claim
                    },
                    parent: normalize_path(&parent),
                }
            }
            other => {
                problems.push(format!(
                    "identityProviderMapper '{other}' is not supported (use one of {})",
                    MAPPER_TYPES.join(", ")
                ));
                return Err(problems);
            }
        };
        if let MapperRule::ClaimToRole { claim, .. }
        | MapperRule::ClaimToAttribute { claim, .. }
        | MapperRule::UpstreamGroups { claim, .. } = &rule
            && !claim.is_empty()
            && claims::segments(claim).is_none()
        {
            problems.push(format!("config.claim '{claim}' is not a claim path"));
        }
        if let MapperRule::ClaimToAttribute { attribute, .. } = &rule
            && attribute.chars().any(char::is_control)
        {
            problems.push("config.user.attribute must not contain control characters".into());
        }
        if problems.is_empty() {
            Ok(rule)
        } else {
            Err(problems)
        }
    }

    /// What the rule refers to in the realm that does not exist there.
    pub fn dangling(&self, snapshot: &RealmSnapshot) -> Vec<String> {
        match self {
            MapperRule::HardcodedRole { role } | MapperRule::ClaimToRole { role, .. } => {
                match snapshot.role_by_qualified_name(role) {
                    Some(_) => Vec::new(),
                    None => vec![format!("role '{role}' does not exist")],
                }
            }
            MapperRule::HardcodedGroup { group } => match snapshot.group_by_path(group) {
                Some(_) => Vec::new(),
                None => vec![format!("group '{group}' does not exist")],
            },
            MapperRule::UpstreamGroups { parent, .. } if !parent.is_empty() => {
                match snapshot.group_by_path(parent) {
                    Some(_) => Vec::new(),
                    None => vec![format!("group '{parent}' does not exist")],
                }
            }
            MapperRule::UpstreamGroups { .. } | MapperRule::ClaimToAttribute { .. } => Vec::new(),
        }
    }

    /// The roles (ids) and groups (ids) this rule can ever give, for the rule that an admin
    /// may only hand out the admin rights it holds itself.
    pub fn reach(&self, snapshot: &RealmSnapshot) -> (Vec<String>, Vec<String>) {
        match self {
            MapperRule::HardcodedRole { role } | MapperRule::ClaimToRole { role, .. } => (
                snapshot
                    .role_by_qualified_name(role)
                    .map(|r| r.id.clone())
                    .into_iter()
                    .collect(),
                Vec::new(),
            ),
            MapperRule::HardcodedGroup { group } => (
                Vec::new(),
                snapshot
                    .group_by_path(group)
                    .map(|g| g.id.clone())
                    .into_iter()
                    .collect(),
            ),
            MapperRule::UpstreamGroups { parent, .. } => {
                let prefix = format!("{parent}/");
                let groups = snapshot
                    .groups
                    .iter()
                    .filter(|g| g.path.starts_with(&prefix))
                    .map(|g| g.id.clone())
                    .collect();
                (Vec::new(), groups)
            }
            MapperRule::ClaimToAttribute { .. } => (Vec::new(), Vec::new()),
        }
    }
}

/// `/a/b` from `a/b`, `/a/b/` or `/a/b`; empty stays empty.
fn normalize_path(path: &str) -> String {
    let trimmed = path.trim().trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// What a provider's mappers assert for one login.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assertions {
    /// Group id -> the mappers asserting it.
    pub groups: BTreeMap<String, BTreeSet<String>>,
    /// Role id -> the mappers asserting it.
    pub roles: BTreeMap<String, BTreeSet<String>>,
    /// Every attribute a mapper manages -> its values now (empty: remove it).
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Mappers that could not be applied (a role or group that is gone, an unreadable
    /// config), for the log.
    pub skipped: Vec<String>,
}

/// What the provider's mappers assert, given the login's claims (ID token and user info
/// merged, or the OAuth 2.0 user-info document, with `groups` for GitHub).
pub fn evaluate(
    snapshot: &RealmSnapshot,
    provider: &IdentityProvider,
    claims: &Value,
) -> Assertions {
    let mut out = Assertions::default();
    for mapper in &provider.mappers {
        apply(snapshot, mapper, claims, &mut out);
    }
    out
}

fn apply(
    snapshot: &RealmSnapshot,
    mapper: &IdentityProviderMapper,
    claims: &Value,
    out: &mut Assertions,
) {
    let rule = match MapperRule::parse(&mapper.mapper_type, &mapper.config) {
        Ok(rule) => rule,
        Err(problems) => {
            out.skipped
                .push(format!("mapper '{}': {}", mapper.name, problems.join("; ")));
            return;
        }
    };
    let mut skip = |why: String| out.skipped.push(format!("mapper '{}': {why}", mapper.name));
    let mut roles = Vec::new();
    let mut groups = Vec::new();
    match &rule {
        MapperRule::HardcodedRole { role } => roles.push(role.clone()),
        MapperRule::HardcodedGroup { group } => groups.push(group.clone()),
        MapperRule::ClaimToRole { claim, value, role } => {
            if claims::values(claims, claim).iter().any(|v| v == value) {
                roles.push(role.clone());
            }
        }
        MapperRule::ClaimToAttribute { claim, attribute } => {
            let values = claims::values(claims, claim);
            out.attributes
                .entry(attribute.clone())
                .or_default()
                .extend(values);
            return;
        }
        MapperRule::UpstreamGroups { claim, parent } => {
            for name in claims::values(claims, claim) {
                let name = name.trim().trim_matches('/');
                if name.is_empty() || name.split('/').any(|s| s.is_empty() || s == "..") {
                    continue;
                }
                let path = format!("{parent}/{name}");
                if snapshot.group_by_path(&path).is_some() {
                    groups.push(path);
                }
            }
        }
    }
    for role in roles {
        match snapshot.role_by_qualified_name(&role) {
            Some(r) => {
                out.roles
                    .entry(r.id.clone())
                    .or_default()
                    .insert(mapper.id.clone());
            }
            None => skip(format!("role '{role}' does not exist")),
        }
    }
    for group in groups {
        match snapshot.group_by_path(&group) {
            Some(g) => {
                out.groups
                    .entry(g.id.clone())
                    .or_default()
                    .insert(mapper.id.clone());
            }
            None => skip(format!("group '{group}' does not exist")),
        }
    }
}

/// One mapper type for the admin API's `mapper-types` (Keycloak's
/// `IdentityProviderMapperTypeRepresentation`, properties as `{name, label, type}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapperTypeInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub help_text: &'static str,
    /// (config key, label, Keycloak property type).
    pub properties: &'static [(&'static str, &'static str, &'static str)],
}

/// The mapper types, in [`MAPPER_TYPES`] order.
pub fn mapper_types() -> Vec<MapperTypeInfo> {
    vec![
        MapperTypeInfo {
            id: HARDCODED_ROLE,
            name: "Hardcoded Role",
            category: "Role Importer",
            help_text: "Gives the user the role on every login through this provider.",
            properties: &[("role", "Role", "Role")],
        },
        MapperTypeInfo {
            id: HARDCODED_GROUP,
            name: "Hardcoded Group",
            category: "Group Importer",
            help_text: "Puts the user in the group on every login through this provider.",
            properties: &[("group", "Group", "Group")],
        },
        MapperTypeInfo {
            id: CLAIM_TO_ROLE,
            name: "Claim to Role",
            category: "Role Importer",
            help_text: "Gives the user the role while the claim has the value; taken away at \
                        the first login where it has not.",
            properties: &[
                ("claim", "Claim", "String"),
                ("claim.value", "Claim Value", "String"),
                ("role", "Role", "Role"),
            ],
        },
        MapperTypeInfo {
            id: ATTRIBUTE_IMPORTER,
            name: "Attribute Importer",
            category: "Attribute Importer",
            help_text: "Sets the user attribute to the claim's values on every login \
                        (email, firstName and lastName set the profile).",
            properties: &[
                ("claim", "Claim", "String"),
                ("user.attribute", "User Attribute Name", "String"),
            ],
        },
        MapperTypeInfo {
            id: UPSTREAM_GROUPS,
            name: "Upstream Groups",
            category: "Group Importer",
            help_text: "Puts the user in the existing realm group named by each value of the \
                        claim (under the parent group, if set), and out of the ones the \
                        upstream no longer lists.",
            properties: &[
                ("claim", "Claim", "String"),
                ("group.parent", "Parent Group", "Group"),
            ],
        },
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Group, Realm, Role};
    use serde_json::json;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn snapshot() -> RealmSnapshot {
        let group = |id: &str, parent: Option<&str>, name: &str, path: &str| Group {
            id: id.into(),
            name: name.into(),
            parent_id: parent.map(Into::into),
            path: path.into(),
            role_ids: Vec::new(),
        };
        let role = |id: &str, client: Option<&str>, name: &str| Role {
            id: id.into(),
            name: name.into(),
            description: None,
            client_id: client.map(Into::into),
            composite_ids: Vec::new(),
        };
        RealmSnapshot {
            realm: Realm::default(),
            roles: vec![
                role("r-dev", None, "dev"),
                role("r-ops", None, "ops"),
                role("r-reg-push", Some("registry"), "push"),
            ],
            groups: vec![
                group("g-platform", None, "platform", "/platform"),
                group("g-up", None, "upstream", "/upstream"),
                group("g-up-web", Some("g-up"), "web", "/upstream/web"),
                group("g-up-web-x", Some("g-up-web"), "x", "/upstream/web/x"),
            ],
            clients: Vec::new(),
            client_scopes: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn mapper(id: &str, mapper_type: &str, pairs: &[(&str, &str)]) -> IdentityProviderMapper {
        IdentityProviderMapper {
            id: id.into(),
            name: format!("{id}-name"),
            mapper_type: mapper_type.into(),
            config: config(pairs),
        }
    }

    fn provider(mappers: Vec<IdentityProviderMapper>) -> IdentityProvider {
        IdentityProvider {
            id: "p".into(),
            alias: "company".into(),
            display_name: None,
            provider_id: "oidc".into(),
            enabled: true,
            hide_on_login: false,
            trust_email: false,
            link_only: false,
            first_login: Default::default(),
            config: BTreeMap::new(),
            mappers,
        }
    }

    #[test]
    fn parses_mapper_configs() {
        type Row<'a> = (
            &'a str,
            &'a [(&'a str, &'a str)],
            Result<MapperRule, &'a [&'a str]>,
        );
        let rows: &[Row] = &[
            (
                HARDCODED_ROLE,
                &[("role", " dev ")],
                Ok(MapperRule::HardcodedRole { role: "dev".into() }),
            ),
            (HARDCODED_ROLE, &[], Err(&["config.role is required"])),
            (
                HARDCODED_GROUP,
                &[("group", "/platform")],
                Ok(MapperRule::HardcodedGroup {
                    group: "/platform".into(),
                }),
            ),
            (
                CLAIM_TO_ROLE,
                &[("claim", "roles"), ("role", "dev")],
                Err(&["config.claim.value is required"]),
            ),
            (
                CLAIM_TO_ROLE,
                &[("claim", "a..b"), ("claim.value", "x"), ("role", "dev")],
                Err(&["config.claim 'a..b' is not a claim path"]),
            ),
            (
                ATTRIBUTE_IMPORTER,
                &[("claim", "dept"), ("user.attribute", "department")],
                Ok(MapperRule::ClaimToAttribute {
                    claim: "dept".into(),
                    attribute: "department".into(),
                }),
            ),
            (
                UPSTREAM_GROUPS,
                &[("group.parent", "upstream/")],
                Ok(MapperRule::UpstreamGroups {
                    claim: "groups".into(),
                    parent: "/upstream".into(),
                }),
            ),
            (
                "saml-role-idp-mapper",
                &[],
                Err(&["identityProviderMapper 'saml-role-idp-mapper' is not supported"]),
            ),
        ];
        for (mapper_type, pairs, want) in rows {
            let got = MapperRule::parse(mapper_type, &config(pairs));
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(&got, want, "{mapper_type}"),
                (Err(problems), Err(want)) => {
                    assert_eq!(problems.len(), want.len(), "{mapper_type}: {problems:?}");
                    for w in *want {
                        assert!(problems.iter().any(|p| p.contains(w)), "{problems:?}");
                    }
                }
                (got, want) => panic!("{mapper_type}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn finds_dangling_references_and_reach() {
        let s = snapshot();
        let rule = |t: &str, pairs: &[(&str, &str)]| MapperRule::parse(t, &config(pairs)).unwrap();
        assert!(
            rule(HARDCODED_ROLE, &[("role", "registry.push")])
                .dangling(&s)
                .is_empty()
        );
        assert_eq!(
            rule(HARDCODED_ROLE, &[("role", "gone")]).dangling(&s),
            ["role 'gone' does not exist"]
        );
        assert_eq!(
            rule(HARDCODED_GROUP, &[("group", "/nope")]).dangling(&s),
            ["group '/nope' does not exist"]
        );
        assert!(rule(UPSTREAM_GROUPS, &[]).dangling(&s).is_empty());
        let (_, groups) = rule(UPSTREAM_GROUPS, &[("group.parent", "/upstream")]).reach(&s);
        assert_eq!(groups, ["g-up-web", "g-up-web-x"]);
        let (_, groups) = rule(UPSTREAM_GROUPS, &[]).reach(&s);
        assert_eq!(groups.len(), 4, "no parent: every group");
        let (roles, _) = rule(
            CLAIM_TO_ROLE,
            &[("claim", "c"), ("claim.value", "v"), ("role", "ops")],
        )
        .reach(&s);
        assert_eq!(roles, ["r-ops"]);
    }

    #[test]
    fn evaluates_what_the_mappers_assert() {
        let s = snapshot();
        let p = provider(vec![
            mapper("m-hard-role", HARDCODED_ROLE, &[("role", "dev")]),
            mapper("m-hard-group", HARDCODED_GROUP, &[("group", "platform")]),
            mapper(
                "m-claim-role",
                CLAIM_TO_ROLE,
                &[
                    ("claim", "realm_access.roles"),
                    ("claim.value", "pusher"),
                    ("role", "registry.push"),
                ],
            ),
            mapper(
                "m-claim-role-absent",
                CLAIM_TO_ROLE,
                &[
                    ("claim", "realm_access.roles"),
                    ("claim.value", "admin"),
                    ("role", "ops"),
                ],
            ),
            mapper("m-groups", UPSTREAM_GROUPS, &[]),
            mapper(
                "m-groups-under",
                UPSTREAM_GROUPS,
                &[("group.parent", "/upstream")],
            ),
            mapper(
                "m-dept",
                ATTRIBUTE_IMPORTER,
                &[("claim", "dept"), ("user.attribute", "department")],
            ),
            mapper(
                "m-missing",
                ATTRIBUTE_IMPORTER,
                &[("claim", "nope"), ("user.attribute", "team")],
            ),
            mapper("m-gone", HARDCODED_ROLE, &[("role", "deleted-role")]),
            mapper("m-bad", "unknown-type", &[]),
        ]);
        let claims = json!({
            "realm_access": {"roles": ["pusher", "viewer"]},
            "groups": ["platform", "/web", "web/x", "../platform", "unknown", ""],
            "dept": "R&D",
        });
        let a = evaluate(&s, &p, &claims);
        let set = |ids: &[&str]| ids.iter().map(|i| i.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            a.roles,
            BTreeMap::from([
                ("r-dev".to_string(), set(&["m-hard-role"])),
                ("r-reg-push".to_string(), set(&["m-claim-role"])),
            ])
        );
        assert_eq!(
            a.groups,
            BTreeMap::from([
                ("g-platform".to_string(), set(&["m-groups", "m-hard-group"])),
                ("g-up-web".to_string(), set(&["m-groups-under"])),
                ("g-up-web-x".to_string(), set(&["m-groups-under"])),
            ])
        );
        assert_eq!(
            a.attributes,
            BTreeMap::from([
                ("department".to_string(), vec!["R&D".to_string()]),
                ("team".to_string(), Vec::new()),
            ])
        );
        assert_eq!(a.skipped.len(), 2, "{:?}", a.skipped);
        assert!(a.skipped[0].contains("deleted-role"));
        assert!(a.skipped[1].contains("unknown-type"));
    }
}
