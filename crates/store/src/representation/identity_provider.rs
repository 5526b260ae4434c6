//! Identity providers and their mappers between Keycloak's representation and rows: the one
//! place their fields are read and checked, for realm files, `partialImport` and the admin
//! API alike.

use std::collections::BTreeMap;

use portcullis_core::broker::mappers::MapperRule;
use portcullis_core::broker::settings::{CLIENT_SECRET, SECRET_MASK, UpstreamSettings};
use portcullis_core::model::FirstLoginPolicy;

use super::{IdentityProviderMapperRepresentation, IdentityProviderRepresentation};
use crate::entity::{identity_provider, identity_provider_mapper};
use crate::error::StoreError;
use crate::queries::to_json;

/// Keycloak's older spelling of `hideOnLogin`, inside `config`.
const LEGACY_HIDE_ON_LOGIN: &str = "hideOnLoginPage";
/// The longest alias, mapper name or display name kept.
pub const MAX_NAME_LEN: usize = 255;

/// Why an alias cannot be used, or Ok: it is a path segment of the broker's URLs
/// (`/broker/{alias}/endpoint`), so only RFC 3986's unreserved characters.
pub fn check_alias(alias: &str) -> Result<(), String> {
    if alias.is_empty() {
        return Err("alias is required".into());
    }
    if alias.chars().count() > MAX_NAME_LEN {
        return Err("alias is too long".into());
    }
    if let Some(c) = alias
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~".contains(*c)))
    {
        return Err(format!(
            "alias may contain only letters, digits, '-', '.', '_' and '~', not '{}'",
            c.escape_default()
        ));
    }
    if alias == "." || alias == ".." {
        return Err(format!("alias '{alias}' is not allowed"));
    }
    Ok(())
}

/// An identity provider as a representation describes it, checked.
#[derive(Clone, PartialEq)]
pub struct IdentityProviderFields {
    pub alias: String,
    pub display_name: Option<String>,
    pub provider_id: String,
    pub enabled: bool,
    pub trust_email: bool,
    pub link_only: bool,
    pub hide_on_login: bool,
    pub first_login: FirstLoginPolicy,
    /// The config as stored: the secret in clear, the legacy hide flag taken out.
    pub config: BTreeMap<String, String>,
}

impl std::fmt::Debug for IdentityProviderFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityProviderFields")
            .field("alias", &self.alias)
            .field("provider_id", &self.provider_id)
            .finish_non_exhaustive()
    }
}

impl IdentityProviderRepresentation {
    /// The provider this representation describes, or every problem with it. Absent flags
    /// take Keycloak's defaults (enabled; not trusted, hidden or link-only). A `clientSecret`
    /// of `**********` (what reads show) stands for `stored_secret`, the secret kept so far.
    pub fn fields(
        &self,
        stored_secret: Option<&str>,
    ) -> Result<IdentityProviderFields, Vec<String>> {
        let mut problems = Vec::new();
        let alias = self.alias.as_deref().map(str::trim).unwrap_or_default();
        if let Err(why) = check_alias(alias) {
            problems.push(why);
        }
        let provider_id = self
            .provider_id
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        if provider_id.is_empty() {
            problems.push("providerId is required".into());
        }
        let mut config = self.config.clone().unwrap_or_default();
        let legacy_hidden = config
            .remove(LEGACY_HIDE_ON_LOGIN)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        match config.get(CLIENT_SECRET).map(String::as_str) {
            Some(SECRET_MASK) => match stored_secret {
                Some(stored) => {
                    config.insert(CLIENT_SECRET.into(), stored.to_string());
                }
                None => {
                    config.remove(CLIENT_SECRET);
                }
            },
            Some("") => {
                config.remove(CLIENT_SECRET);
            }
            _ => {}
        }
        if !provider_id.is_empty()
            && let Err(found) = UpstreamSettings::of(provider_id, &config)
        {
            problems.extend(found);
        }
        let flow = self
            .first_broker_login_flow_alias
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty());
        let first_login = match flow {
            None => FirstLoginPolicy::default(),
            Some(name) => FirstLoginPolicy::parse(name).unwrap_or_else(|| {
                problems.push(format!(
                    "firstBrokerLoginFlowAlias '{name}' is not a first-login policy (use one \
                     of create, link-verified, deny-if-exists, existing-only)"
                ));
                FirstLoginPolicy::default()
            }),
        };
        let display_name = self
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if display_name
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_LEN || n.chars().any(char::is_control))
        {
            problems.push("displayName is too long or contains control characters".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(IdentityProviderFields {
            alias: alias.to_string(),
            display_name,
            provider_id: provider_id.to_string(),
            enabled: self.enabled.unwrap_or(true),
            trust_email: self.trust_email.unwrap_or(false),
            link_only: self.link_only.unwrap_or(false),
            hide_on_login: self.hide_on_login.unwrap_or(legacy_hidden),
            first_login,
            config,
        })
    }
}

impl IdentityProviderFields {
    pub fn into_row(
        self,
        id: String,
        realm_id: &str,
        created_at: i64,
    ) -> Result<identity_provider::Model, StoreError> {
        Ok(identity_provider::Model {
            id,
            realm_id: realm_id.to_string(),
            alias: self.alias,
            display_name: self.display_name,
            provider_id: self.provider_id,
            enabled: self.enabled,
            hide_on_login: self.hide_on_login,
            trust_email: self.trust_email,
            link_only: self.link_only,
            first_login_policy: self.first_login.as_str().to_string(),
            config: to_json(&self.config)?,
            created_at,
        })
    }
}

/// A mapper as a representation describes it, checked (its references into the realm are
/// the caller's to check: they may be imported alongside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapperFields {
    pub name: String,
    pub mapper_type: String,
    pub config: BTreeMap<String, String>,
    pub rule: MapperRule,
}

impl IdentityProviderMapperRepresentation {
    /// The mapper, or every problem with it.
    pub fn fields(&self) -> Result<MapperFields, Vec<String>> {
        let mut problems = Vec::new();
        let name = self.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            problems.push("name is required".into());
        } else if name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            problems.push("name is too long or contains control characters".into());
        }
        let mapper_type = self
            .identity_provider_mapper
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let config = self.config.clone().unwrap_or_default();
        let rule = if mapper_type.is_empty() {
            problems.push("identityProviderMapper is required".into());
            None
        } else {
            match MapperRule::parse(mapper_type, &config) {
                Ok(rule) => Some(rule),
                Err(found) => {
                    problems.extend(found);
                    None
                }
            }
        };
        match rule {
            Some(rule) if problems.is_empty() => Ok(MapperFields {
                name: name.to_string(),
                mapper_type: mapper_type.to_string(),
                config,
                rule,
            }),
            _ => Err(problems),
        }
    }
}

impl MapperFields {
    pub fn into_row(
        self,
        id: String,
        realm_id: &str,
        provider_id: &str,
    ) -> Result<identity_provider_mapper::Model, StoreError> {
        Ok(identity_provider_mapper::Model {
            id,
            realm_id: realm_id.to_string(),
            identity_provider_id: provider_id.to_string(),
            name: self.name,
            mapper_type: self.mapper_type,
            config: to_json(&self.config)?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rep(pairs: &[(&str, &str)]) -> IdentityProviderRepresentation {
        IdentityProviderRepresentation {
            alias: Some("company".into()),
            provider_id: Some("oidc".into()),
            config: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    const OIDC: &[(&str, &str)] = &[
        ("clientId", "portcullis"),
        ("clientSecret", "s3cret"),
        ("issuer", "https://idp.test"),
    ];

    #[test]
    fn checks_aliases() {
        for good in ["github", "company-oidc", "a.b_c~1"] {
            assert_eq!(check_alias(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a/b", "ü", "..", "a%2f", &"x".repeat(256)] {
            assert!(check_alias(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_a_provider_with_keycloak_defaults() {
        let fields = rep(OIDC).fields(None).unwrap();
        assert!(fields.enabled);
        assert!(!fields.trust_email && !fields.link_only && !fields.hide_on_login);
        assert_eq!(fields.first_login, FirstLoginPolicy::LinkVerified);
        assert_eq!(fields.config["clientSecret"], "s3cret");
        let mut legacy = rep(&[OIDC, &[("hideOnLoginPage", "true")]].concat());
        legacy.first_broker_login_flow_alias = Some("first broker login".into());
        let fields = legacy.fields(None).unwrap();
        assert!(fields.hide_on_login);
        assert!(!fields.config.contains_key("hideOnLoginPage"));
        assert_eq!(fields.first_login, FirstLoginPolicy::LinkVerified);
        let mut named = rep(OIDC);
        named.first_broker_login_flow_alias = Some("existing-only".into());
        named.hide_on_login = Some(false);
        assert_eq!(
            named.fields(None).unwrap().first_login,
            FirstLoginPolicy::ExistingOnly
        );
    }

    #[test]
    fn the_masked_secret_keeps_the_stored_one() {
        let masked = rep(&[
            ("clientId", "portcullis"),
            ("clientSecret", SECRET_MASK),
            ("issuer", "https://idp.test"),
        ]);
        let kept = masked.fields(Some("stored")).unwrap();
        assert_eq!(kept.config["clientSecret"], "stored");
        let none = masked.fields(None).unwrap();
        assert!(!none.config.contains_key("clientSecret"));
    }

    #[test]
    fn names_every_problem() {
        let mut bad = rep(&[("issuer", "nope")]);
        bad.alias = Some("a b".into());
        bad.first_broker_login_flow_alias = Some("my custom flow".into());
        let problems = bad.fields(None).unwrap_err();
        for want in [
            "alias may contain only",
            "clientId is required",
            "issuer must be an absolute",
            "'my custom flow' is not a first-login policy",
        ] {
            assert!(problems.iter().any(|p| p.contains(want)), "{problems:?}");
        }
        let none = IdentityProviderRepresentation::default();
        let problems = none.fields(None).unwrap_err();
        assert_eq!(problems, ["alias is required", "providerId is required"]);
    }

    #[test]
    fn reads_mappers() {
        let mapper = IdentityProviderMapperRepresentation {
            name: Some(" platform ".into()),
            identity_provider_mapper: Some("hardcoded-group-idp-mapper".into()),
            config: Some(BTreeMap::from([("group".into(), "/platform".into())])),
            ..Default::default()
        };
        let fields = mapper.fields().unwrap();
        assert_eq!(fields.name, "platform");
        assert_eq!(
            fields.rule,
            MapperRule::HardcodedGroup {
                group: "/platform".into()
            }
        );
        let problems = IdentityProviderMapperRepresentation::default()
            .fields()
            .unwrap_err();
        assert_eq!(
            problems,
            ["name is required", "identityProviderMapper is required"]
        );
    }
}
