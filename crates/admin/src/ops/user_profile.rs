//! The declarative user profile (Keycloak's `UPConfig`): which attributes a user has, who may
//! see and edit them, how their values are validated, and what happens to attributes the
//! profile does not name (`unmanagedAttributePolicy`). One document per realm; a realm that
//! never stored one uses Keycloak's default profile. Admin user create and update are checked
//! against it here, and the user representations an admin reads are filtered by it.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_store::admin;
use portcullis_store::entity::{realm, user_entity};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::Ops;
use super::lookup::Db;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::{AdminError, FieldError};
use crate::rep::MultiMap;

/// Keycloak's default profile (`keycloak-default-user-profile.json`): the four root
/// attributes, the `user-metadata` group, and no unmanaged-attribute policy.
pub const DEFAULT_CONFIG: &str = r#"{
  "attributes": [
    {"name": "username", "displayName": "${username}",
     "validations": {"length": {"min": 3, "max": 255}, "username-prohibited-characters": {},
                     "up-username-not-idn-homograph": {}},
     "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
     "multivalued": false},
    {"name": "email", "displayName": "${email}",
     "validations": {"email": {}, "length": {"max": 255}},
     "required": {"roles": ["user"]},
     "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
     "multivalued": false},
    {"name": "firstName", "displayName": "${firstName}",
     "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}},
     "required": {"roles": ["user"]},
     "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
     "multivalued": false},
    {"name": "lastName", "displayName": "${lastName}",
     "validations": {"length": {"max": 255}, "person-name-prohibited-characters": {}},
     "required": {"roles": ["user"]},
     "permissions": {"view": ["admin", "user"], "edit": ["admin", "user"]},
     "multivalued": false}
  ],
  "groups": [
    {"name": "user-metadata", "displayHeader": "User metadata",
     "displayDescription": "Attributes, which refer to user metadata"}
  ]
}"#;

/// The attributes stored in the user's own columns rather than in `attributes`.
pub const ROOT_ATTRIBUTES: [&str; 4] = ["username", "email", "firstName", "lastName"];

/// The validators this server runs; a profile naming another is refused.
const VALIDATORS: [&str; 9] = [
    "length",
    "email",
    "pattern",
    "options",
    "person-name-prohibited-characters",
    "username-prohibited-characters",
    "up-username-not-idn-homograph",
    "multivalued",
    "integer",
];

/// What happens to attributes the profile does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UnmanagedPolicy {
    /// Users and admins see and edit them.
    Enabled,
    /// Admins see and edit them; users do not see them.
    AdminEdit,
    /// Admins see them; nobody edits them.
    AdminView,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Required {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub view: Vec<String>,
    #[serde(default)]
    pub edit: Vec<String>,
}

/// One attribute of the profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub validations: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Required>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default)]
    pub multivalued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
}

impl Attribute {
    /// Required of an admin: a `required` without roles and scopes always is, otherwise only
    /// when its roles name `admin`. The username always is.
    fn required_for_admin(&self) -> bool {
        self.name == "username"
            || self.required.as_ref().is_some_and(|r| {
                (r.roles.is_empty() && r.scopes.is_empty()) || r.roles.iter().any(|x| x == "admin")
            })
    }

    /// Admins see an attribute they may view or edit, and one without permissions.
    fn admin_views(&self) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|p| p.view.iter().chain(&p.edit).any(|r| r == "admin"))
    }

    fn admin_edits(&self) -> bool {
        self.permissions
            .as_ref()
            .is_none_or(|p| p.edit.iter().any(|r| r == "admin"))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_description: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, Value>,
}

/// Keycloak's `UPConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpConfig {
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_attribute_policy: Option<UnmanagedPolicy>,
}

impl UpConfig {
    /// Keycloak's default profile.
    pub fn keycloak_default() -> Result<Self, AdminError> {
        serde_json::from_str(DEFAULT_CONFIG)
            .map_err(|e| AdminError::Internal(format!("default user profile: {e}")))
    }

    /// Reads a profile a client sent, refusing what Keycloak refuses: no attributes, unnamed
    /// or repeated attributes, a missing `username` or `email`, an unknown validator or one
    /// with a broken configuration, a group that is not declared.
    pub fn from_body(body: &Value) -> Result<Self, AdminError> {
        let config: UpConfig = serde_json::from_value(body.clone()).map_err(|e| {
            AdminError::BadRequest(format!("Invalid user profile configuration: {e}"))
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), AdminError> {
        let bad = |m: String| Err(AdminError::BadRequest(m));
        let mut names = BTreeSet::new();
        for attribute in &self.attributes {
            let name = attribute.name.trim();
            if name.is_empty() {
                return bad("Attribute name is required".into());
            }
            if !name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return bad(format!("Invalid attribute name '{name}'"));
            }
            if !names.insert(name) {
                return bad(format!("Duplicated attribute name '{name}'"));
            }
            for (validator, config) in &attribute.validations {
                if !VALIDATORS.contains(&validator.as_str()) {
                    return bad(format!(
                        "Validator '{validator}' of attribute '{name}' is not supported"
                    ));
                }
                check_validator(validator, config).map_err(|m| {
                    AdminError::BadRequest(format!(
                        "Invalid configuration of validator '{validator}' of attribute '{name}': {m}"
                    ))
                })?;
            }
            if let Some(group) = &attribute.group
                && !self.groups.iter().any(|g| &g.name == group)
            {
                return bad(format!(
                    "Attribute '{name}' references unknown group '{group}'"
                ));
            }
        }
        for root in ["username", "email"] {
            if !names.contains(root) {
                return bad(format!(
                    "The configuration must contain the '{root}' attribute"
                ));
            }
        }
        let mut groups = BTreeSet::new();
        for group in &self.groups {
            if group.name.trim().is_empty() {
                return bad("Group name is required".into());
            }
            if !groups.insert(group.name.as_str()) {
                return bad(format!("Duplicated group name '{}'", group.name));
            }
        }
        Ok(())
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Whether admins may write attributes the profile does not name.
    fn admin_writes_unmanaged(&self) -> bool {
        matches!(
            self.unmanaged_attribute_policy,
            Some(UnmanagedPolicy::Enabled | UnmanagedPolicy::AdminEdit)
        )
    }

    /// Whether admins see attributes the profile does not name.
    fn admin_reads_unmanaged(&self) -> bool {
        self.unmanaged_attribute_policy.is_some()
    }

    /// Keycloak's `UserProfileMetadata` for the admin context: what the admin console builds
    /// its user form from.
    pub fn metadata(&self) -> Value {
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .filter(|a| a.admin_views())
            .map(|a| {
                let mut m = Map::new();
                m.insert("name".into(), json!(a.name));
                if let Some(d) = &a.display_name {
                    m.insert("displayName".into(), json!(d));
                }
                m.insert("required".into(), json!(a.required_for_admin()));
                m.insert("readOnly".into(), json!(!a.admin_edits()));
                if !a.annotations.is_empty() {
                    m.insert("annotations".into(), Value::Object(a.annotations.clone()));
                }
                m.insert("validators".into(), Value::Object(a.validations.clone()));
                if let Some(g) = &a.group {
                    m.insert("group".into(), json!(g));
                }
                m.insert("multivalued".into(), json!(a.multivalued));
                if let Some(d) = &a.default_value {
                    m.insert("defaultValue".into(), json!(d));
                }
                Value::Object(m)
            })
            .collect();
        json!({"attributes": attributes, "groups": self.groups})
    }

    /// Checks an admin's create or update. `old` is the user before (`None` on create) and
    /// `new` after the fields of the request were applied. Attributes the admin may not write
    /// (unmanaged ones under a policy that forbids it, managed ones without the admin edit
    /// permission) keep their old values in `new`; the values that changed are validated, and
    /// every attribute required of admins must have a value.
    pub fn enforce(
        &self,
        old: Option<&user_entity::Model>,
        new: &mut user_entity::Model,
    ) -> Result<(), AdminError> {
        let old_attributes = match old {
            Some(o) => attributes_of(o)?,
            None => MultiMap::new(),
        };
        let mut attributes = attributes_of(new)?;
        // Writes the admin may not make are dropped, keeping what was stored.
        let names: BTreeSet<String> = attributes
            .keys()
            .chain(old_attributes.keys())
            .cloned()
            .collect();
        for name in names {
            let writable = match self.attribute(&name) {
                Some(a) => a.admin_edits(),
                None => self.admin_writes_unmanaged(),
            };
            if !writable || ROOT_ATTRIBUTES.contains(&name.as_str()) {
                match old_attributes.get(&name) {
                    Some(values) if !ROOT_ATTRIBUTES.contains(&name.as_str()) => {
                        attributes.insert(name, values.clone());
                    }
                    _ => {
                        attributes.remove(&name);
                    }
                }
            }
        }
        new.attributes = crate::rep::to_column(&attributes)?;

        let mut errors = Vec::new();
        for attribute in &self.attributes {
            let values = values_of(new, &attributes, &attribute.name);
            let before = old.map(|o| values_of(o, &old_attributes, &attribute.name));
            let changed = before.as_ref() != Some(&values);
            let present: Vec<&String> = values.iter().filter(|v| !v.trim().is_empty()).collect();
            if present.is_empty() {
                if attribute.required_for_admin() && attribute.name != "username" {
                    errors.push(FieldError::new(
                        &attribute.name,
                        "error-user-attribute-required",
                        vec![attribute.name.clone()],
                    ));
                }
                continue;
            }
            if !changed {
                continue;
            }
            if !attribute.multivalued && present.len() > 1 {
                errors.push(FieldError::new(
                    &attribute.name,
                    "error-invalid-multivalued-size",
                    vec![attribute.name.clone(), "0".into(), "1".into()],
                ));
                continue;
            }
            for (validator, config) in &attribute.validations {
                if let Some(error) = present
                    .iter()
                    .find_map(|v| run_validator(validator, config, &attribute.name, v))
                {
                    errors.push(error);
                    break;
                }
            }
        }
        match errors.is_empty() {
            true => Ok(()),
            false => Err(AdminError::Profile(errors)),
        }
    }

    /// The attributes an admin reads in a user representation: unmanaged ones only under a
    /// policy that shows them to admins, managed ones only where admins may view them.
    pub fn filter_representation(&self, rep: &mut Value) {
        let Some(attributes) = rep.get_mut("attributes").and_then(Value::as_object_mut) else {
            return;
        };
        attributes.retain(|name, _| match self.attribute(name) {
            Some(a) => a.admin_views(),
            None => self.admin_reads_unmanaged(),
        });
    }
}

/// The user's custom attributes.
fn attributes_of(row: &user_entity::Model) -> Result<MultiMap, AdminError> {
    serde_json::from_str(&row.attributes)
        .map_err(|e| AdminError::Internal(format!("stored user attributes: {e}")))
}

/// The values of one attribute, root or custom.
fn values_of(row: &user_entity::Model, attributes: &MultiMap, name: &str) -> Vec<String> {
    let root = |v: &Option<String>| v.iter().cloned().collect();
    match name {
        "username" => vec![row.username.clone()],
        "email" => root(&row.email),
        "firstName" => root(&row.first_name),
        "lastName" => root(&row.last_name),
        _ => attributes.get(name).cloned().unwrap_or_default(),
    }
}

fn number(config: &Value, key: &str) -> Result<Option<i64>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or(format!("'{key}' is not an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("'{key}' is not an integer")),
        Some(_) => Err(format!("'{key}' is not an integer")),
    }
}

/// The configuration of one validator, checked when the profile is stored so that a broken
/// one is refused then, not when a user is saved.
fn check_validator(validator: &str, config: &Value) -> Result<(), String> {
    if !config.is_object() {
        return Err("the configuration must be an object".into());
    }
    match validator {
        "length" | "multivalued" | "integer" => {
            let min = number(config, "min")?;
            let max = number(config, "max")?;
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                return Err("'min' is greater than 'max'".into());
            }
            Ok(())
        }
        "pattern" => {
            let pattern = config
                .get("pattern")
                .and_then(Value::as_str)
                .ok_or("'pattern' is required")?;
            regex::Regex::new(pattern)
                .map(|_| ())
                .map_err(|e| format!("'pattern' is not a valid regular expression: {e}"))
        }
        "options" => match config.get("options") {
            Some(Value::Array(options)) if options.iter().all(Value::is_string) => Ok(()),
            _ => Err("'options' must be a list of strings".into()),
        },
        _ => Ok(()),
    }
}

/// Keycloak's `error-message` override of a validator's message key.
fn message<'a>(config: &'a Value, default: &'a str) -> String {
    config
        .get("error-message")
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_string()
}

/// Runs one validator on one non-empty value; the error as Keycloak words it.
fn run_validator(validator: &str, config: &Value, name: &str, value: &str) -> Option<FieldError> {
    let error = |key: String, extra: Vec<String>| {
        let mut params = vec![name.to_string()];
        params.extend(extra);
        Some(FieldError::new(name, &key, params))
    };
    match validator {
        "length" => {
            let trimmed = match config.get("trim-disabled").and_then(Value::as_bool) {
                Some(true) => value,
                _ => value.trim(),
            };
            let len = trimmed.chars().count() as i64;
            let min = number(config, "min").ok().flatten();
            let max = number(config, "max").ok().flatten();
            let too_short = min.is_some_and(|m| len < m);
            let too_long = max.is_some_and(|m| len > m);
            match (min, max) {
                (Some(lo), Some(hi)) if too_short || too_long => error(
                    message(config, "error-invalid-length"),
                    vec![lo.to_string(), hi.to_string()],
                ),
                (Some(lo), None) if too_short => error(
                    message(config, "error-invalid-length-too-short"),
                    vec![lo.to_string()],
                ),
                (None, Some(hi)) if too_long => error(
                    message(config, "error-invalid-length-too-long"),
                    vec![hi.to_string()],
                ),
                _ => None,
            }
        }
        "email" => {
            let max_local = number(config, "max-local-length")
                .ok()
                .flatten()
                .unwrap_or(64);
            let valid = crate::rep::user::plausible_email(value)
                && value
                    .rsplit_once('@')
                    .is_some_and(|(local, _)| local.chars().count() as i64 <= max_local);
            (!valid).then(|| error(message(config, "error-invalid-email"), vec![]))?
        }
        "pattern" => {
            let pattern = config.get("pattern").and_then(Value::as_str)?;
            // Keycloak matches the whole value (Java's `Matcher.matches`).
            let anchored = format!("^(?:{pattern})$");
            let regex = regex::Regex::new(&anchored).ok()?;
            (!regex.is_match(value)).then(|| {
                error(
                    message(config, "error-pattern-no-match"),
                    vec![pattern.to_string()],
                )
            })?
        }
        "options" => {
            let options = config.get("options").and_then(Value::as_array)?;
            let allowed = options.iter().any(|o| o.as_str() == Some(value));
            (!allowed).then(|| error(message(config, "error-invalid-option"), vec![]))?
        }
        "integer" => {
            let parsed: Option<i64> = value.trim().parse().ok();
            let min = number(config, "min").ok().flatten();
            let max = number(config, "max").ok().flatten();
            let valid =
                parsed.is_some_and(|n| min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m));
            (!valid).then(|| error(message(config, "error-invalid-number"), vec![]))?
        }
        "person-name-prohibited-characters" => {
            let bad = value
                .chars()
                .any(|c| c.is_control() || "<>&\"$%!#?§;*~/\\|^=[]{}()".contains(c));
            bad.then(|| {
                error(
                    message(config, "error-person-name-invalid-character"),
                    vec![],
                )
            })?
        }
        "username-prohibited-characters" => {
            let first_ok = value.chars().next().is_some_and(char::is_alphanumeric);
            let bad = !first_ok
                || value.chars().any(|c| {
                    c.is_whitespace()
                        || c.is_control()
                        || "<>&\"'$%!#?§,;*:/\\|^=[]{}()`".contains(c)
                });
            bad.then(|| error(message(config, "error-username-invalid-character"), vec![]))?
        }
        // Keycloak's homograph check refuses usernames that look like another in a different
        // script; without a confusables table every username passes it here.
        "up-username-not-idn-homograph" => None,
        _ => None,
    }
}

/// The realm's profile: the stored one, or Keycloak's default.
pub async fn of_realm<C: Db>(db: &C, realm_id: &str) -> Result<UpConfig, AdminError> {
    match admin::user_profile::get(db, realm_id).await? {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| AdminError::Internal(format!("stored user profile: {e}"))),
        None => UpConfig::keycloak_default(),
    }
}

/// `GET users/profile` (any admin role in the realm).
pub async fn get(ops: Ops<'_>, realm: &str) -> Result<UpConfig, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    of_realm(ops.state.store().connection(), &realm_row.id).await
}

/// `PUT users/profile` (`manage-realm`): stores the profile; returns it as stored.
pub async fn update(ops: Ops<'_>, realm: &str, body: &Value) -> Result<UpConfig, AdminError> {
    let realm_row: realm::Model =
        target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let config = UpConfig::from_body(body)?;
    let text = crate::rep::to_column(&config)?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    admin::user_profile::set(change.db(), &realm_row.id, &text).await?;
    let representation = serde_json::to_value(&config).unwrap_or(Value::Null);
    change.record(Event::new(Op::Update, "USER_PROFILE", "users/profile").with(representation));
    change.commit().await?;
    Ok(config)
}

/// The attribute names of a `q=` search that are the user's own columns, and the rest.
pub fn split_query(
    pairs: Vec<(String, String)>,
) -> (BTreeMap<String, String>, Vec<(String, String)>) {
    let mut root = BTreeMap::new();
    let mut custom = Vec::new();
    for (key, value) in pairs {
        match ROOT_ATTRIBUTES.contains(&key.as_str()) {
            true => {
                root.insert(key, value);
            }
            false => custom.push((key, value)),
        }
    }
    (root, custom)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(username: &str, email: Option<&str>, attributes: Value) -> user_entity::Model {
        user_entity::Model {
            id: "u".into(),
            realm_id: "r".into(),
            username: username.into(),
            email: email.map(str::to_string),
            email_verified: false,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: attributes.to_string(),
            created_at: 0,
            service_account_client_pk: None,
            not_before: 0,
            required_actions: "[]".into(),
        }
    }

    fn errors(result: Result<(), AdminError>) -> Vec<(String, String)> {
        match result {
            Ok(()) => Vec::new(),
            Err(AdminError::Profile(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn default_profile_checks_root_attributes() {
        let config = UpConfig::keycloak_default().unwrap();
        config.check().unwrap();
        let cases = [
            ("alice", Some("alice@example.test"), vec![]),
            ("al", None, vec![("username", "error-invalid-length")]),
            (
                "al ice",
                None,
                vec![("username", "error-username-invalid-character")],
            ),
            (
                "alice",
                Some("nope"),
                vec![("email", "error-invalid-email")],
            ),
        ];
        for (username, email, expected) in cases {
            let mut new = user(username, email, json!({}));
            let got = errors(config.enforce(None, &mut new));
            let expected: Vec<(String, String)> = expected
                .into_iter()
                .map(|(f, m)| (f.to_string(), m.to_string()))
                .collect();
            assert_eq!(got, expected, "{username} {email:?}");
        }
    }

    #[test]
    fn unmanaged_attributes_follow_the_policy() {
        let mut config = UpConfig::keycloak_default().unwrap();
        let old = user("alice", None, json!({"team": ["a"]}));
        let mut new = user("alice", None, json!({"team": ["b"], "site": ["x"]}));
        config.enforce(Some(&old), &mut new).unwrap();
        assert_eq!(
            new.attributes, r#"{"team":["a"]}"#,
            "absent policy: writes dropped"
        );
        config.unmanaged_attribute_policy = Some(UnmanagedPolicy::AdminView);
        let mut new = user("alice", None, json!({"site": ["x"]}));
        config.enforce(Some(&old), &mut new).unwrap();
        assert_eq!(new.attributes, r#"{"team":["a"]}"#);
        config.unmanaged_attribute_policy = Some(UnmanagedPolicy::AdminEdit);
        let mut new = user("alice", None, json!({"site": ["x"]}));
        config.enforce(Some(&old), &mut new).unwrap();
        assert_eq!(new.attributes, r#"{"site":["x"]}"#);
        let mut rep = json!({"attributes": {"site": ["x"]}});
        config.filter_representation(&mut rep);
        assert_eq!(rep["attributes"]["site"], json!(["x"]));
        config.unmanaged_attribute_policy = None;
        config.filter_representation(&mut rep);
        assert_eq!(rep["attributes"], json!({}));
    }

    #[test]
    fn custom_validators() {
        let body = json!({
            "attributes": [
                {"name": "username"}, {"name": "email"},
                {"name": "code", "validations": {"pattern": {"pattern": "[A-Z]{3}"}},
                 "required": {"roles": ["admin"]}, "permissions": {"edit": ["admin"]}},
                {"name": "tier", "validations": {"options": {"options": ["gold", "silver"]}},
                 "permissions": {"edit": ["admin"]}},
                {"name": "bio", "validations": {"length": {"max": 5}},
                 "permissions": {"edit": ["admin"]}},
                {"name": "locked", "permissions": {"view": ["admin"], "edit": []}}
            ],
            "unmanagedAttributePolicy": "ENABLED"
        });
        let config = UpConfig::from_body(&body).unwrap();
        let check = |attributes: Value| {
            let mut new = user("alice", None, attributes);
            errors(config.enforce(None, &mut new))
        };
        assert_eq!(check(json!({"code": ["ABC"]})), vec![]);
        assert_eq!(
            check(json!({})),
            vec![("code".into(), "error-user-attribute-required".into())]
        );
        assert_eq!(
            check(json!({"code": ["abc"], "tier": ["bronze"], "bio": ["toolong"]})),
            vec![
                ("code".into(), "error-pattern-no-match".into()),
                ("tier".into(), "error-invalid-option".into()),
                ("bio".into(), "error-invalid-length-too-long".into()),
            ]
        );
        let mut new = user("alice", None, json!({"code": ["ABC"], "locked": ["x"]}));
        config.enforce(None, &mut new).unwrap();
        assert_eq!(
            new.attributes, r#"{"code":["ABC"]}"#,
            "read-only: not written"
        );
    }

    #[test]
    fn refuses_broken_profiles() {
        for body in [
            json!({"attributes": [{"name": "email"}]}),
            json!({"attributes": [{"name": "username"}, {"name": "email"}, {"name": "email"}]}),
            json!({"attributes": [{"name": "username"}, {"name": "email",
                   "validations": {"nope": {}}}]}),
            json!({"attributes": [{"name": "username"}, {"name": "email",
                   "validations": {"pattern": {"pattern": "("}}}]}),
            json!({"attributes": [{"name": "username"}, {"name": "email", "group": "g"}]}),
            json!({"attributes": [{"name": "username"}, {"name": "email"}],
                   "unmanagedAttributePolicy": "SOMETIMES"}),
        ] {
            assert!(UpConfig::from_body(&body).is_err(), "{body}");
        }
    }
}
