//! `RoleRepresentation`.

use std::collections::BTreeMap;

use portcullis_store::entity::role;
use serde_json::Value;

use portcullis_store::representation::RoleRepresentation;

use super::{MultiMap, from_row, parse, text, to_object};
use crate::error::AdminError;

/// The role as Keycloak returns it. `containerId` is the realm id, or the client's internal id
/// for client roles.
pub fn representation(
    row: &role::Model,
    composite: bool,
    realm_id: &str,
) -> Result<Value, AdminError> {
    Ok(Value::Object(to_object(&from_row::role(
        row, composite, realm_id,
    )?)?))
}

/// A role body: name, description, attributes and (on create) composites by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoleFields {
    pub name: Option<String>,
    /// `Some(None)`: clear.
    pub description: Option<Option<String>>,
    pub attributes: Option<MultiMap>,
    pub composite_realm: Vec<String>,
    /// clientId -> role names.
    pub composite_client: BTreeMap<String, Vec<String>>,
}

impl RoleFields {
    pub fn read(body: &Value) -> Result<Self, AdminError> {
        Self::from_representation(parse(body)?)
    }

    /// What a role representation gives; an empty description clears it.
    pub fn from_representation(rep: RoleRepresentation) -> Result<Self, AdminError> {
        let name = text(&rep.name);
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > super::user::MAX_NAME_LEN)
        {
            return Err(AdminError::BadRequest("Role name is too long".into()));
        }
        let composites = rep.composites.unwrap_or_default();
        Ok(Self {
            name,
            description: rep.description.map(|d| Some(d).filter(|d| !d.is_empty())),
            attributes: rep.attributes,
            composite_realm: composites.realm,
            composite_client: composites.client,
        })
    }

    /// Applies name, description and attributes to a row.
    pub fn apply(&self, row: &mut role::Model) -> Result<(), AdminError> {
        if let Some(name) = &self.name {
            row.name = name.clone();
        }
        if let Some(description) = &self.description {
            row.description = description.clone();
        }
        if let Some(attributes) = &self.attributes {
            row.attributes = super::to_column(attributes)?;
        }
        Ok(())
    }
}

/// A role named in a list body (role mappings, composites): by id, or by name within a realm or
/// client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub client_role: bool,
    pub container_id: Option<String>,
}

/// Reads a list of role representations.
pub fn role_refs(body: &Value) -> Result<Vec<RoleRef>, AdminError> {
    let reps: Vec<RoleRepresentation> = parse(body)?;
    Ok(reps
        .into_iter()
        .map(|rep| RoleRef {
            id: text(&rep.id),
            name: text(&rep.name),
            client_role: rep.client_role,
            container_id: text(&rep.container_id),
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn represents_roles() {
        let row = role::Model {
            id: "r1".into(),
            realm_id: "realm".into(),
            client_pk: Some("c1".into()),
            name: "push".into(),
            description: None,
            attributes: "{}".into(),
        };
        let rep = representation(&row, true, "realm").unwrap();
        assert_eq!(
            rep,
            json!({"id": "r1", "name": "push", "composite": true, "clientRole": true,
                   "containerId": "c1", "attributes": {}})
        );
    }

    #[test]
    fn reads_role_bodies_and_refs() {
        let body = json!({"name": "lead", "description": "", "composites":
                          {"realm": ["dev"], "client": {"registry": ["push"]}}});
        let fields = RoleFields::read(&body).unwrap();
        assert_eq!(fields.name.as_deref(), Some("lead"));
        assert_eq!(fields.description, Some(None));
        assert_eq!(fields.composite_realm, ["dev"]);
        assert_eq!(fields.composite_client["registry"], ["push"]);
        let refs = role_refs(&json!([{"id": "x"}, {"name": "y", "clientRole": true,
                                                  "containerId": "c"}]))
        .unwrap();
        assert_eq!(refs[0].id.as_deref(), Some("x"));
        assert!(refs[1].client_role);
        for bad in [json!({"id": "x"}), json!([1]), json!([{"name": 5}])] {
            assert!(role_refs(&bad).is_err(), "{bad}");
        }
        let bad = json!({"composites": {"realm": "dev"}});
        assert!(RoleFields::read(&bad).is_err());
    }
}
