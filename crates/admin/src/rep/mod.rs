//! Keycloak's JSON in the admin API, through the one codec the realm importer and exporter use
//! too ([`portcullis_store::representation`]): request bodies parse into its typed
//! representations (a field that is absent or `null` is "not given", as Jackson treats it, which
//! is what partial updates need), and responses are those representations, built from rows by
//! [`from_row`], with Keycloak's defaults for what Portcullis does not model.
//!
//! Fields Portcullis does not model are kept as "extras" and merged back into responses, so a
//! tool reads back what it wrote (`rootUrl`, `sslRequired`, `requiredActions`, ...).

pub mod client;
pub mod group;
pub mod identity_provider;
pub mod known;
pub mod realm;
pub mod role;
pub mod user;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::AdminError;

pub type MultiMap = BTreeMap<String, Vec<String>>;

pub use portcullis_store::representation::from_row;

/// A request body in its typed representation, or Keycloak's parse error.
pub fn parse<T: serde::de::DeserializeOwned>(body: &Value) -> Result<T, AdminError> {
    T::deserialize(body).map_err(|_| AdminError::unparsable())
}

/// Keycloak (Jackson) refuses a field its representation does not have: 400
/// `{"errorMessage":"Unrecognized field \"x\""}`. `known` are the representation's JSON
/// names; a body that is a list is checked element by element.
pub fn reject_unknown_fields(body: &Value, known: &[&str]) -> Result<(), AdminError> {
    let objects: Vec<&Map<String, Value>> = match body {
        Value::Object(object) => vec![object],
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        _ => return Ok(()),
    };
    for object in objects {
        if let Some(field) = object.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(AdminError::BadRequest(format!(
                "Unrecognized field \"{field}\""
            )));
        }
    }
    Ok(())
}

/// The fields of Keycloak's `ClientScopeRepresentation`.
pub const CLIENT_SCOPE_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "protocol",
    "attributes",
    "protocolMappers",
];

/// The fields of Keycloak's `ProtocolMapperRepresentation`.
pub const MAPPER_FIELDS: &[&str] = &[
    "id",
    "name",
    "protocol",
    "protocolMapper",
    "consentRequired",
    "consentText",
    "config",
];

/// The fields of Keycloak's `RoleRepresentation`.
pub const ROLE_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "scopeParamRequired",
    "composite",
    "composites",
    "clientRole",
    "containerId",
    "attributes",
];

/// A representation as the JSON object a response carries.
pub fn to_object<T: serde::Serialize>(rep: &T) -> Result<Map<String, Value>, AdminError> {
    match serde_json::to_value(rep) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AdminError::Internal(
            "a representation is not an object".into(),
        )),
        Err(e) => Err(AdminError::Internal(e.to_string())),
    }
}

/// A trimmed, non-empty text field.
pub fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The fields of a body object not in `modelled`: what Portcullis keeps without interpreting.
pub fn extras(body: &Value, modelled: &[&str]) -> Result<Map<String, Value>, AdminError> {
    let object = body.as_object().ok_or_else(AdminError::unparsable)?;
    Ok(object
        .iter()
        .filter(|(k, _)| !modelled.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect())
}

/// Stored extras updated with the extras of a partial update (a field set to null is removed).
pub fn merge_extras(
    mut stored: Map<String, Value>,
    update: &Map<String, Value>,
) -> Map<String, Value> {
    for (key, value) in update {
        if value.is_null() {
            stored.remove(key);
        } else {
            stored.insert(key.clone(), value.clone());
        }
    }
    stored
}

/// A response: Keycloak's defaults, overridden by the stored extras, overridden by what
/// Portcullis models.
pub fn compose(defaults: Value, extras: &Map<String, Value>, modelled: Value) -> Value {
    let mut out = match defaults {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (k, v) in extras {
        out.insert(k.clone(), v.clone());
    }
    if let Value::Object(map) = modelled {
        for (k, v) in map {
            if !v.is_null() {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

/// Parses a stored JSON column, treating corruption as a server error.
pub fn stored<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, AdminError> {
    serde_json::from_str(text)
        .map_err(|e| AdminError::Internal(format!("stored {what} is not valid JSON: {e}")))
}

/// Serializes a value for a JSON column.
pub fn to_column<T: serde::Serialize>(value: &T) -> Result<String, AdminError> {
    serde_json::to_string(value).map_err(|e| AdminError::Internal(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composes_defaults_extras_and_model() {
        let extras = json!({"rootUrl": "http://x", "enabled": false});
        let out = compose(
            json!({"rootUrl": "", "fullScopeAllowed": true}),
            extras.as_object().unwrap(),
            json!({"enabled": true, "name": null}),
        );
        assert_eq!(
            out,
            json!({"rootUrl": "http://x", "fullScopeAllowed": true, "enabled": true})
        );
        let merged = merge_extras(
            extras.as_object().unwrap().clone(),
            json!({"rootUrl": null, "baseUrl": "/"})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            Value::Object(merged),
            json!({"enabled": false, "baseUrl": "/"})
        );
    }
}
