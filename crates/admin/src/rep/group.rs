//! `GroupRepresentation`, and the realm's group tree it is computed from.

use std::collections::{BTreeMap, HashMap};

use portcullis_store::entity::realm_group;
use serde_json::{Map, Value, json};

use super::{compose, from_row, to_object};
use crate::error::AdminError;

/// Fields the group row models; others (`description`, ...) are kept as extras.
pub const MODELLED: &[&str] = &[
    "id",
    "name",
    "path",
    "parentId",
    "subGroupCount",
    "subGroups",
    "attributes",
    "realmRoles",
    "clientRoles",
    "access",
];

/// Every group of a realm, indexed.
#[derive(Debug, Clone, Default)]
pub struct GroupTree {
    groups: Vec<realm_group::Model>,
    index: HashMap<String, usize>,
    paths: HashMap<String, String>,
    /// Path -> index, so a lookup by path does not scan the tree.
    by_path: HashMap<String, usize>,
    children: HashMap<Option<String>, Vec<usize>>,
}

impl GroupTree {
    /// `groups` sorted by name keep that order among siblings.
    pub fn new(groups: Vec<realm_group::Model>) -> Self {
        let paths = portcullis_store::admin::groups::paths(&groups);
        let index: HashMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        let by_path = paths
            .iter()
            .filter_map(|(id, path)| Some((path.clone(), *index.get(id)?)))
            .collect();
        let mut children: HashMap<Option<String>, Vec<usize>> = HashMap::new();
        for (i, g) in groups.iter().enumerate() {
            children.entry(g.parent_id.clone()).or_default().push(i);
        }
        Self {
            groups,
            index,
            paths,
            by_path,
            children,
        }
    }

    pub fn get(&self, id: &str) -> Option<&realm_group::Model> {
        self.index.get(id).map(|i| &self.groups[*i])
    }

    pub fn path(&self, id: &str) -> String {
        self.paths.get(id).cloned().unwrap_or_default()
    }

    pub fn all(&self) -> &[realm_group::Model] {
        &self.groups
    }

    /// The direct children of a group, or the top-level groups for `None`.
    pub fn children(&self, parent: Option<&str>) -> Vec<&realm_group::Model> {
        self.children
            .get(&parent.map(str::to_string))
            .map(|ids| ids.iter().map(|i| &self.groups[*i]).collect())
            .unwrap_or_default()
    }

    /// Keycloak accepts `/a/b`, `a/b` and `/a/b/`.
    pub fn by_path(&self, path: &str) -> Option<&realm_group::Model> {
        let trimmed = path.trim().trim_end_matches('/');
        let normalized = if trimmed.starts_with('/') {
            trimmed.to_string()
        } else {
            format!("/{trimmed}")
        };
        self.by_path.get(&normalized).map(|i| &self.groups[*i])
    }

    /// `id` itself and its ancestors, nearest first.
    pub fn lineage(&self, id: &str) -> Vec<&realm_group::Model> {
        let mut out = Vec::new();
        let mut next = self.get(id);
        while let Some(group) = next {
            if out.len() > self.groups.len() {
                break; // a parent cycle in corrupt data
            }
            out.push(group);
            next = group.parent_id.as_deref().and_then(|p| self.get(p));
        }
        out
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.lineage(id).iter().any(|g| g.id == ancestor)
    }
}

/// A group's role mappings by name, for full representations.
#[derive(Debug, Clone, Default)]
pub struct GroupRoles {
    pub realm: Vec<String>,
    pub client: BTreeMap<String, Vec<String>>,
}

/// The group as Keycloak returns it; `brief` leaves out attributes and role mappings.
pub fn representation(
    tree: &GroupTree,
    group: &realm_group::Model,
    extras: &Map<String, Value>,
    roles: Option<&GroupRoles>,
    sub_groups: Vec<Value>,
) -> Result<Value, AdminError> {
    let mut rep = from_row::group(group, Some(tree.path(&group.id)));
    rep.parent_id = group.parent_id.clone();
    rep.sub_group_count = Some(tree.children(Some(&group.id)).len() as i64);
    if let Some(roles) = roles {
        rep.attributes = Some(from_row::group_attributes(group)?);
        rep.realm_roles = Some(roles.realm.clone());
        rep.client_roles = Some(roles.client.clone());
    }
    let mut core = to_object(&rep)?;
    core.insert("subGroups".into(), Value::Array(sub_groups));
    core.insert(
        "access".into(),
        json!({"view": true, "viewMembers": true, "manageMembers": true,
               "manage": true, "manageMembership": true}),
    );
    Ok(compose(json!({}), extras, Value::Object(core)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn group(id: &str, parent: Option<&str>, name: &str) -> realm_group::Model {
        realm_group::Model {
            id: id.into(),
            realm_id: "r".into(),
            parent_id: parent.map(Into::into),
            name: name.into(),
            attributes: "{}".into(),
        }
    }

    fn tree() -> GroupTree {
        GroupTree::new(vec![
            group("e", None, "eng"),
            group("o", None, "ops"),
            group("p", Some("e"), "platform"),
            group("c", Some("p"), "core"),
        ])
    }

    #[test]
    fn navigates_the_tree() {
        let t = tree();
        let cases = [
            ("/eng/platform", Some("p")),
            ("eng/platform/", Some("p")),
            ("/eng/platform/core", Some("c")),
            ("/platform", None),
            ("/", None),
        ];
        for (path, want) in cases {
            assert_eq!(t.by_path(path).map(|g| g.id.as_str()), want, "{path}");
        }
        let top: Vec<&str> = t.children(None).iter().map(|g| g.name.as_str()).collect();
        assert_eq!(top, ["eng", "ops"]);
        assert!(t.is_within("c", "e") && t.is_within("e", "e") && !t.is_within("e", "c"));
        assert_eq!(t.lineage("c").len(), 3);
    }

    #[test]
    fn represents_groups() {
        let t = tree();
        let roles = GroupRoles {
            realm: vec!["dev".into()],
            client: BTreeMap::new(),
        };
        let rep =
            representation(&t, t.get("p").unwrap(), &Map::new(), Some(&roles), vec![]).unwrap();
        assert_eq!(rep["path"], "/eng/platform");
        assert_eq!(rep["parentId"], "e");
        assert_eq!(rep["subGroupCount"], 1);
        assert_eq!(rep["realmRoles"], json!(["dev"]));
        let brief = representation(&t, t.get("e").unwrap(), &Map::new(), None, vec![]).unwrap();
        assert!(brief.get("parentId").is_none() && brief.get("attributes").is_none());
    }
}
