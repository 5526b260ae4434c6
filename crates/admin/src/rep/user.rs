//! `UserRepresentation`.

use portcullis_store::entity::user_entity;
use serde_json::{Map, Value, json};

use portcullis_store::representation::UserRepresentation;

use super::{MultiMap, compose, from_row, stored, text, to_object};
use crate::error::AdminError;

/// Fields the user row models or the API derives; everything else is kept as extras
/// (`totp`, `origin`, ...).
pub const MODELLED: &[&str] = &[
    "id",
    "requiredActions",
    "notBefore",
    "username",
    "email",
    "firstName",
    "lastName",
    "enabled",
    "emailVerified",
    "attributes",
    "credentials",
    "groups",
    "realmRoles",
    "clientRoles",
    "createdTimestamp",
    "access",
    "federatedIdentities",
    "serviceAccountClientId",
    "totp",
    "disableableCredentialTypes",
    "userProfileMetadata",
    "clientConsents",
    "self",
    "origin",
    "socialLinks",
    "applicationRoles",
];

pub use portcullis_core::model::UPDATE_PASSWORD;

/// Longest username, email and similar identifiers the schema stores.
pub const MAX_NAME_LEN: usize = 255;

/// The user as Keycloak returns it; `brief` leaves out attributes and the rest of the detail,
/// as `briefRepresentation=true` does.
pub fn representation(
    row: &user_entity::Model,
    extras: &Map<String, Value>,
    service_account_client_id: Option<&str>,
    brief: bool,
) -> Result<Value, AdminError> {
    let mut rep = from_row::user(row)?;
    if brief {
        rep.attributes = None;
        rep.required_actions = None;
        rep.not_before = None;
        return Ok(Value::Object(to_object(&rep)?));
    }
    rep.service_account_client_id = service_account_client_id.map(str::to_string);
    let defaults = json!({
        "totp": false,
        "disableableCredentialTypes": [],
        "access": {
            "manageGroupMembership": true,
            "view": true,
            "mapRoles": true,
            "impersonate": false,
            "manage": true,
        },
    });
    Ok(compose(defaults, extras, Value::Object(to_object(&rep)?)))
}

/// The profile fields of a create or update body; `None` is "not given", `Some(None)` "clear".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFields {
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub email_verified: Option<bool>,
    pub attributes: Option<MultiMap>,
    pub required_actions: Option<Vec<String>>,
}

impl UserFields {
    /// The profile fields a representation gives: trimmed, the username lowercased, an empty
    /// email or name clears it.
    pub fn from_representation(rep: UserRepresentation) -> Result<Self, AdminError> {
        let clearable = |v: Option<String>| v.map(|s| text(&Some(s)));
        let fields = Self {
            username: text(&rep.username).map(|u| u.to_lowercase()),
            email: clearable(rep.email),
            first_name: clearable(rep.first_name),
            last_name: clearable(rep.last_name),
            enabled: rep.enabled,
            email_verified: rep.email_verified,
            attributes: rep.attributes,
            required_actions: rep.required_actions,
        };
        fields.validate()?;
        Ok(fields)
    }

    /// Keycloak's user-profile checks that matter to storage: lengths and a plausible email.
    pub fn validate(&self) -> Result<(), AdminError> {
        if let Some(username) = &self.username
            && (username.chars().count() > MAX_NAME_LEN || username.chars().any(char::is_control))
        {
            return Err(AdminError::InvalidField {
                field: "username",
                message: "error-invalid-length",
                params: vec!["username".into()],
            });
        }
        if let Some(Some(email)) = &self.email
            && !plausible_email(email)
        {
            return Err(AdminError::InvalidField {
                field: "email",
                message: "error-invalid-email",
                params: vec!["email".into(), email.clone()],
            });
        }
        if let Some(actions) = &self.required_actions
            && actions.iter().any(|a| {
                a.is_empty() || a.chars().count() > MAX_NAME_LEN || a.chars().any(char::is_control)
            })
        {
            return Err(AdminError::BadRequest(
                "Provided invalid required actions".into(),
            ));
        }
        Ok(())
    }

    /// Applies the given fields to a row.
    pub fn apply(&self, row: &mut user_entity::Model) -> Result<(), AdminError> {
        if let Some(username) = &self.username {
            row.username = username.clone();
        }
        if let Some(email) = &self.email {
            // Kept lowercase, as Keycloak keeps it: uniqueness and lookups use the index.
            row.email = email.as_ref().map(|e| e.trim().to_lowercase());
        }
        if let Some(first) = &self.first_name {
            row.first_name = first.clone();
        }
        if let Some(last) = &self.last_name {
            row.last_name = last.clone();
        }
        if let Some(enabled) = self.enabled {
            row.enabled = enabled;
        }
        if let Some(verified) = self.email_verified {
            row.email_verified = verified;
        }
        if let Some(attributes) = &self.attributes {
            row.attributes = super::to_column(attributes)?;
        }
        if let Some(actions) = &self.required_actions {
            let mut unique: Vec<&String> = Vec::new();
            for action in actions {
                if !unique.contains(&action) {
                    unique.push(action);
                }
            }
            row.required_actions = super::to_column(&unique)?;
        }
        Ok(())
    }
}

/// `local@domain`, no spaces, not longer than the column.
pub fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.chars().count() <= MAX_NAME_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The user's required actions.
pub fn required_actions(row: &user_entity::Model) -> Result<Vec<String>, AdminError> {
    stored(&row.required_actions, "required actions")
}

/// Adds (`pending`) or removes a required action of the user, as a temporary or permanent
/// password does with `UPDATE_PASSWORD`.
pub fn set_required_action(
    row: &mut user_entity::Model,
    action: &str,
    pending: bool,
) -> Result<(), AdminError> {
    let mut actions = required_actions(row)?;
    actions.retain(|a| a != action);
    if pending {
        actions.push(action.to_string());
    }
    row.required_actions = super::to_column(&actions)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rep::parse;

    fn row() -> user_entity::Model {
        user_entity::Model {
            id: "u1".into(),
            realm_id: "r".into(),
            username: "alice".into(),
            email: Some("a@x.test".into()),
            email_verified: false,
            first_name: None,
            last_name: Some("Liddell".into()),
            enabled: true,
            attributes: r#"{"team":["a"]}"#.into(),
            created_at: 1_700_000_000,
            service_account_client_pk: None,
            not_before: 5,
            required_actions: r#"["VERIFY_EMAIL"]"#.into(),
        }
    }

    #[test]
    fn represents_users_fully_and_briefly() {
        let extras = json!({"origin": "kept"});
        let full = representation(&row(), extras.as_object().unwrap(), None, false).unwrap();
        assert_eq!(full["createdTimestamp"], 1_700_000_000_000i64);
        assert_eq!(full["attributes"]["team"], json!(["a"]));
        assert_eq!(full["requiredActions"], json!(["VERIFY_EMAIL"]));
        assert_eq!(full["notBefore"], 5);
        assert_eq!(full["origin"], "kept");
        assert_eq!(full["totp"], false);
        assert!(full.get("firstName").is_none(), "nulls are left out");
        let brief = representation(&row(), &Map::new(), Some("app"), true).unwrap();
        assert!(brief.get("attributes").is_none() && brief.get("access").is_none());
        assert_eq!(brief["lastName"], "Liddell");
    }

    #[test]
    fn reads_and_applies_profile_fields() {
        let body = json!({"username": "Bob", "email": "", "firstName": "Bob", "enabled": true,
                          "attributes": {"k": "v"}});
        let fields = UserFields::from_representation(parse(&body).unwrap()).unwrap();
        let mut r = row();
        fields.apply(&mut r).unwrap();
        assert_eq!(r.username, "bob");
        assert_eq!(r.email, None);
        assert_eq!(r.first_name.as_deref(), Some("Bob"));
        assert_eq!(
            r.last_name.as_deref(),
            Some("Liddell"),
            "absent fields stay"
        );
        assert_eq!(r.attributes, r#"{"k":["v"]}"#);
        for bad in [
            json!({"email": "not-an-email"}),
            json!({"email": "a b@c.d"}),
            json!({"username": "x".repeat(256)}),
            json!({"enabled": 3}),
        ] {
            let read = parse(&bad).and_then(UserFields::from_representation);
            assert!(read.is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        let cases = [
            ("a@b.c", true),
            ("a@b", true),
            ("@b.c", false),
            ("a@", false),
            ("a@.b", false),
            ("ab.c", false),
        ];
        for (email, ok) in cases {
            assert_eq!(plausible_email(email), ok, "{email}");
        }
    }
}
