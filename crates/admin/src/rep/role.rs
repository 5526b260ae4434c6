//! `RoleRepresentation`.

use std::collections::BTreeMap;

use portcullis_store::entity::role;
use serde_json::{Value, json};

use super::{MultiMap, Obj, stored};
use crate::error::AdminError;

/// The role as Keycloak returns it. `containerId` is the realm id, or the client's internal id
/// for client roles.
pub fn representation(
    row: &role::Model,
    composite: bool,
    realm_id: &str,
) -> Result<Value, AdminError> {
    let attributes: MultiMap = stored(&row.attributes, "role attributes")?;
    let mut rep = json!({
        "id": row.id,
        "name": row.name,
        "composite": composite,
        "clientRole": row.client_pk.is_some(),
        "containerId": row.client_pk.as_deref().unwrap_or(realm_id),
        "attributes": attributes,
    });
    if let (Some(description), Some(map)) = (&row.description, rep.as_object_mut()) {
        map.insert("description".into(), json!(description));
    }
    Ok(rep)
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
    pub fn read(body: Obj<'_>) -> Result<Self, AdminError> {
        let description = match body.str("description")? {
            None => None,
            Some("") => Some(None),
            Some(d) => Some(Some(d.to_string())),
        };
        let (mut composite_realm, mut composite_client) = (Vec::new(), BTreeMap::new());
        if let Some(composites) = body.get("composites") {
            let composites = super::object(composites)?;
            composite_realm = composites.strings("realm")?.unwrap_or_default();
            if let Some(clients) = composites.get("client") {
                let clients = clients.as_object().ok_or_else(AdminError::unparsable)?;
                for client in clients.keys() {
                    let names = Obj(clients).strings(client)?.unwrap_or_default();
                    composite_client.insert(client.clone(), names);
                }
            }
        }
        let name = body.text("name")?;
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > super::user::MAX_NAME_LEN)
        {
            return Err(AdminError::BadRequest("Role name is too long".into()));
        }
        Ok(Self {
            name,
            description,
            attributes: body.multimap("attributes")?,
            composite_realm,
            composite_client,
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
    let items = body.as_array().ok_or_else(AdminError::unparsable)?;
    items
        .iter()
        .map(|item| {
            let o = super::object(item)?;
            Ok(RoleRef {
                id: o.text("id")?,
                name: o.text("name")?,
                client_role: o.bool("clientRole")?.unwrap_or(false),
                container_id: o.text("containerId")?,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
        let fields = RoleFields::read(super::super::object(&body).unwrap()).unwrap();
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
        assert!(RoleFields::read(super::super::object(&bad).unwrap()).is_err());
    }
}
