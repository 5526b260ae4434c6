//! Administrative rights: which roles are admin roles, what a subject's roles reach, and the
//! rule that an admin may grant or take away only rights it holds itself (Keycloak's
//! `canMapRole` / `canMapComposite`, applied to every way a subject's roles change).
//!
//! An admin role is master's `admin` and `create-realm`, any `realm-management` client role, or
//! any role of a master client named `{realm}-realm` (Keycloak's per-realm admin client in
//! master). A role whose composites reach an admin role carries that right too, and so does a
//! group holding such a role (for its members and subgroups).
//!
//! Rights are named relative to the realm being changed, so the same right reached through the
//! realm's own `realm-management` client and through master's `{realm}-realm` client compares
//! equal, and renaming the realm does not change them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::model::{Group, Role};

/// The realm whose admins administer every realm.
pub const MASTER_REALM: &str = "master";
/// The master realm role that administers every realm.
pub const MASTER_ADMIN_ROLE: &str = "admin";
/// The master realm role that may create realms.
pub const CREATE_REALM_ROLE: &str = "create-realm";
/// The client holding a realm's own admin roles.
pub const REALM_MANAGEMENT_CLIENT: &str = "realm-management";
/// The composite of every other admin role of a realm.
pub const REALM_ADMIN_ROLE: &str = "realm-admin";
/// Master clients named `{realm}-realm` carry the admin roles of `{realm}`.
const REALM_CLIENT_SUFFIX: &str = "-realm";

/// One administrative right, relative to the realm being changed (the *target*).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AdminRight {
    /// Master's realm roles `admin` and `create-realm`.
    Global(String),
    /// An admin role of the target realm itself (`realm-management.{role}`, or in master also
    /// `master-realm.{role}`).
    Own(String),
    /// In master only: an admin role of another realm, `{realm}-realm.{role}`.
    Over { realm: String, role: String },
}

impl AdminRight {
    /// The right a role of the target realm is, if it is an admin role. `client` is the
    /// `clientId` owning the role, `None` for a realm role.
    pub fn of(target_is_master: bool, client: Option<&str>, name: &str) -> Option<AdminRight> {
        match client {
            None if target_is_master
                && (name == MASTER_ADMIN_ROLE || name == CREATE_REALM_ROLE) =>
            {
                Some(AdminRight::Global(name.to_string()))
            }
            None => None,
            Some(REALM_MANAGEMENT_CLIENT) => Some(AdminRight::Own(name.to_string())),
            Some(client) if target_is_master => {
                let realm = client.strip_suffix(REALM_CLIENT_SUFFIX)?;
                if realm.is_empty() {
                    return None;
                }
                Some(if realm == MASTER_REALM {
                    AdminRight::Own(name.to_string())
                } else {
                    AdminRight::Over {
                        realm: realm.to_string(),
                        role: name.to_string(),
                    }
                })
            }
            Some(_) => None,
        }
    }

    fn of_role(target_is_master: bool, role: &Role) -> Option<AdminRight> {
        AdminRight::of(target_is_master, role.client_id.as_deref(), &role.name)
    }

    /// The right that implies every right of the same realm (`realm-admin`).
    fn realm_admin(&self) -> Option<AdminRight> {
        match self {
            AdminRight::Global(_) => None,
            AdminRight::Own(_) => Some(AdminRight::Own(REALM_ADMIN_ROLE.to_string())),
            AdminRight::Over { realm, .. } => Some(AdminRight::Over {
                realm: realm.clone(),
                role: REALM_ADMIN_ROLE.to_string(),
            }),
        }
    }
}

impl std::fmt::Display for AdminRight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminRight::Global(role) => write!(f, "{role}"),
            AdminRight::Own(role) => write!(f, "{REALM_MANAGEMENT_CLIENT}.{role}"),
            AdminRight::Over { realm, role } => write!(f, "{realm}{REALM_CLIENT_SUFFIX}.{role}"),
        }
    }
}

/// The rights an admin holds over one target realm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldRights {
    /// Master's `admin`: holds everything.
    everything: bool,
    rights: BTreeSet<AdminRight>,
}

impl HeldRights {
    /// The rights of an admin of `caller_realm` with these effective roles (qualified names:
    /// `role`, `clientId.role`) over `target_realm`.
    pub fn of<'a>(
        caller_realm: &str,
        target_realm: &str,
        roles: impl IntoIterator<Item = &'a String>,
    ) -> HeldRights {
        let caller_is_master = caller_realm == MASTER_REALM;
        let mut held = HeldRights::default();
        for qualified in roles {
            let (client, name) = match qualified.split_once('.') {
                Some((client, name)) => (Some(client), name),
                None => (None, qualified.as_str()),
            };
            if caller_is_master && client.is_none() && name == MASTER_ADMIN_ROLE {
                held.everything = true;
            }
            let right = if caller_realm == target_realm {
                AdminRight::of(caller_is_master, client, name)
            } else if caller_is_master {
                // A master admin's rights over another realm come from `{target}-realm`.
                match AdminRight::of(true, client, name) {
                    Some(AdminRight::Over { realm, role }) if realm == target_realm => {
                        Some(AdminRight::Own(role))
                    }
                    _ => None,
                }
            } else {
                None
            };
            held.rights.extend(right);
        }
        held
    }

    /// Whether the admin holds `right`: itself, through the realm's `realm-admin`, or as
    /// master admin.
    pub fn holds(&self, right: &AdminRight) -> bool {
        self.everything
            || self.rights.contains(right)
            || right
                .realm_admin()
                .is_some_and(|a| self.rights.contains(&a))
    }

    /// Master's `admin`, who holds every right.
    pub fn holds_everything(&self) -> bool {
        self.everything
    }

    /// The rights in `rights` the admin does not hold, sorted.
    pub fn missing<'a>(
        &self,
        rights: impl IntoIterator<Item = &'a AdminRight>,
    ) -> BTreeSet<AdminRight> {
        rights
            .into_iter()
            .filter(|r| !self.holds(r))
            .cloned()
            .collect()
    }
}

/// Who holds rights: a role (through its composites), a group (through its roles and its
/// ancestors'), or a user (through direct roles and groups).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Role(String),
    Group(String),
    User(String),
}

/// The admin rights every subject of a realm holds; subjects holding none are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    subjects: BTreeMap<Subject, BTreeSet<AdminRight>>,
}

/// A realm's roles and groups, for [`Footprint`]s.
#[derive(Debug, Clone, Copy)]
pub struct RoleGraph<'a> {
    pub target_is_master: bool,
    pub roles: &'a [Role],
    pub groups: &'a [Group],
}

impl RoleGraph<'_> {
    /// The admin rights each role reaches, itself included; roles reaching none are left out.
    pub fn role_rights(&self) -> HashMap<&str, BTreeSet<AdminRight>> {
        let by_id: HashMap<&str, &Role> = self.roles.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut out = HashMap::new();
        for role in self.roles {
            let mut rights = BTreeSet::new();
            let mut seen = HashSet::new();
            let mut stack = vec![role.id.as_str()];
            while let Some(id) = stack.pop() {
                if !seen.insert(id) {
                    continue;
                }
                if let Some(r) = by_id.get(id) {
                    rights.extend(AdminRight::of_role(self.target_is_master, r));
                    stack.extend(r.composite_ids.iter().map(String::as_str));
                }
            }
            if !rights.is_empty() {
                out.insert(role.id.as_str(), rights);
            }
        }
        out
    }

    /// The admin rights each group gives its members (its roles and its ancestors');
    /// groups giving none are left out.
    pub fn group_rights(
        &self,
        role_rights: &HashMap<&str, BTreeSet<AdminRight>>,
    ) -> HashMap<&str, BTreeSet<AdminRight>> {
        let by_id: HashMap<&str, &Group> = self.groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let mut out = HashMap::new();
        for group in self.groups {
            let mut rights = BTreeSet::new();
            let mut next = Some(group);
            let mut hops = 0;
            while let Some(g) = next {
                for role in &g.role_ids {
                    rights.extend(
                        role_rights
                            .get(role.as_str())
                            .into_iter()
                            .flatten()
                            .cloned(),
                    );
                }
                next = g.parent_id.as_deref().and_then(|p| by_id.get(p).copied());
                hops += 1;
                if hops > self.groups.len() {
                    break; // a parent cycle in corrupt data
                }
            }
            if !rights.is_empty() {
                out.insert(group.id.as_str(), rights);
            }
        }
        out
    }
}

impl Footprint {
    /// The footprint of a realm: `user_roles` and `user_groups` are (user id, role or group id)
    /// pairs; only pairs naming a role or group that reaches a right matter, so callers may
    /// pass just those.
    pub fn compute(
        graph: RoleGraph<'_>,
        user_roles: &[(String, String)],
        user_groups: &[(String, String)],
    ) -> Footprint {
        let role_rights = graph.role_rights();
        let group_rights = graph.group_rights(&role_rights);
        let mut subjects: BTreeMap<Subject, BTreeSet<AdminRight>> = BTreeMap::new();
        for (id, rights) in &role_rights {
            subjects.insert(Subject::Role(id.to_string()), rights.clone());
        }
        for (id, rights) in &group_rights {
            subjects.insert(Subject::Group(id.to_string()), rights.clone());
        }
        let pairs = user_roles
            .iter()
            .filter_map(|(user, role)| Some((user, role_rights.get(role.as_str())?)))
            .chain(
                user_groups
                    .iter()
                    .filter_map(|(user, group)| Some((user, group_rights.get(group.as_str())?))),
            );
        for (user, rights) in pairs {
            subjects
                .entry(Subject::User(user.clone()))
                .or_default()
                .extend(rights.iter().cloned());
        }
        Footprint { subjects }
    }

    /// Every right some subject gained or lost between `self` (before) and `after`.
    pub fn changed_rights(&self, after: &Footprint) -> BTreeSet<AdminRight> {
        let empty = BTreeSet::new();
        let keys: BTreeSet<&Subject> = self.subjects.keys().chain(after.subjects.keys()).collect();
        let mut changed = BTreeSet::new();
        for subject in keys {
            let before = self.subjects.get(subject).unwrap_or(&empty);
            let now = after.subjects.get(subject).unwrap_or(&empty);
            changed.extend(before.symmetric_difference(now).cloned());
        }
        changed
    }

    /// The rights one subject holds.
    pub fn rights_of(&self, subject: &Subject) -> BTreeSet<AdminRight> {
        self.subjects.get(subject).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn role(id: &str, client: Option<&str>, name: &str, composites: &[&str]) -> Role {
        Role {
            id: id.into(),
            name: name.into(),
            description: None,
            client_id: client.map(str::to_string),
            composite_ids: composites.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn own(role: &str) -> AdminRight {
        AdminRight::Own(role.into())
    }

    #[test]
    fn which_roles_are_admin_roles() {
        let over = |realm: &str, role: &str| AdminRight::Over {
            realm: realm.into(),
            role: role.into(),
        };
        let rows: &[(bool, Option<&str>, &str, Option<AdminRight>)] = &[
            (
                true,
                None,
                "admin",
                Some(AdminRight::Global("admin".into())),
            ),
            (
                true,
                None,
                "create-realm",
                Some(AdminRight::Global("create-realm".into())),
            ),
            (false, None, "admin", None),
            (false, None, "create-realm", None),
            (true, None, "dev", None),
            (
                false,
                Some("realm-management"),
                "manage-users",
                Some(own("manage-users")),
            ),
            (
                true,
                Some("realm-management"),
                "realm-admin",
                Some(own("realm-admin")),
            ),
            (
                false,
                Some("realm-management"),
                "custom",
                Some(own("custom")),
            ),
            (
                true,
                Some("acme-realm"),
                "manage-users",
                Some(over("acme", "manage-users")),
            ),
            (
                true,
                Some("master-realm"),
                "view-users",
                Some(own("view-users")),
            ),
            (false, Some("acme-realm"), "manage-users", None),
            (true, Some("-realm"), "x", None),
            (true, Some("app"), "manage-users", None),
        ];
        for (master, client, name, want) in rows {
            assert_eq!(
                &AdminRight::of(*master, *client, name),
                want,
                "{master} {client:?} {name}"
            );
        }
    }

    #[test]
    fn held_rights_follow_the_realm_and_realm_admin() {
        let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let rows: &[(&str, &str, &[&str], AdminRight, bool)] = &[
            (
                "acme",
                "acme",
                &["realm-management.manage-users"],
                own("manage-users"),
                true,
            ),
            (
                "acme",
                "acme",
                &["realm-management.manage-users"],
                own("realm-admin"),
                false,
            ),
            (
                "acme",
                "acme",
                &["realm-management.realm-admin"],
                own("custom"),
                true,
            ),
            (
                "acme",
                "other",
                &["realm-management.realm-admin"],
                own("view-users"),
                false,
            ),
            (
                "master",
                "acme",
                &["acme-realm.manage-users"],
                own("manage-users"),
                true,
            ),
            (
                "master",
                "acme",
                &["acme-realm.realm-admin"],
                own("query-users"),
                true,
            ),
            (
                "master",
                "other",
                &["acme-realm.realm-admin"],
                own("query-users"),
                false,
            ),
            (
                "master",
                "acme",
                &["realm-management.realm-admin"],
                own("view-users"),
                false,
            ),
            ("master", "acme", &["admin"], own("realm-admin"), true),
            (
                "master",
                "master",
                &["realm-management.realm-admin"],
                AdminRight::Global("admin".into()),
                false,
            ),
            (
                "master",
                "master",
                &["acme-realm.realm-admin"],
                AdminRight::Over {
                    realm: "acme".into(),
                    role: "manage-users".into(),
                },
                true,
            ),
            ("acme", "acme", &["admin"], own("view-users"), false),
        ];
        for (caller, target, roles, right, want) in rows {
            let roles = strings(roles);
            let held = HeldRights::of(caller, target, &roles);
            assert_eq!(
                held.holds(right),
                *want,
                "{caller} -> {target} {roles:?} {right}"
            );
        }
    }

    /// Realm `acme`: `dev` (ordinary), `boss` composite of `realm-management.realm-admin`, the
    /// group `/ops` with `boss` and its child `/ops/night`.
    fn graph_roles() -> Vec<Role> {
        vec![
            role("dev", None, "dev", &[]),
            role("boss", None, "boss", &["ra"]),
            role("ra", Some("realm-management"), "realm-admin", &["mu"]),
            role("mu", Some("realm-management"), "manage-users", &[]),
        ]
    }

    fn graph_groups() -> Vec<Group> {
        vec![
            Group {
                id: "ops".into(),
                name: "ops".into(),
                parent_id: None,
                path: "/ops".into(),
                role_ids: vec!["boss".into()],
            },
            Group {
                id: "night".into(),
                name: "night".into(),
                parent_id: Some("ops".into()),
                path: "/ops/night".into(),
                role_ids: vec![],
            },
        ]
    }

    #[test]
    fn footprints_see_composites_groups_and_changes() {
        let (roles, groups) = (graph_roles(), graph_groups());
        let graph = RoleGraph {
            target_is_master: false,
            roles: &roles,
            groups: &groups,
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        let before = Footprint::compute(graph, &[pair("alice", "dev")], &[pair("bob", "night")]);
        let both = BTreeSet::from([own("realm-admin"), own("manage-users")]);
        assert_eq!(before.rights_of(&Subject::Role("boss".into())), both);
        assert_eq!(before.rights_of(&Subject::Group("night".into())), both);
        assert_eq!(before.rights_of(&Subject::User("bob".into())), both);
        assert!(before.rights_of(&Subject::User("alice".into())).is_empty());
        assert!(before.rights_of(&Subject::Role("dev".into())).is_empty());

        // `dev` becomes a composite of `manage-users`: the role and alice gain it.
        let mut roles2 = roles.clone();
        roles2[0].composite_ids.push("mu".into());
        let graph2 = RoleGraph {
            roles: &roles2,
            ..graph
        };
        let after = Footprint::compute(graph2, &[pair("alice", "dev")], &[pair("bob", "night")]);
        assert_eq!(
            before.changed_rights(&after),
            BTreeSet::from([own("manage-users")])
        );
        assert!(before.changed_rights(&before).is_empty());

        // bob leaves the group: he loses both.
        let left = Footprint::compute(graph, &[pair("alice", "dev")], &[]);
        assert_eq!(before.changed_rights(&left), both);
    }

    #[test]
    fn composite_cycles_and_parent_cycles_end() {
        let roles = vec![
            role("a", None, "a", &["b"]),
            role("b", None, "b", &["a", "mu"]),
            role("mu", Some("realm-management"), "manage-users", &[]),
        ];
        let groups = vec![
            Group {
                id: "x".into(),
                name: "x".into(),
                parent_id: Some("y".into()),
                path: "/x".into(),
                role_ids: vec!["a".into()],
            },
            Group {
                id: "y".into(),
                name: "y".into(),
                parent_id: Some("x".into()),
                path: "/y".into(),
                role_ids: vec![],
            },
        ];
        let graph = RoleGraph {
            target_is_master: false,
            roles: &roles,
            groups: &groups,
        };
        let footprint = Footprint::compute(graph, &[], &[]);
        let mu = BTreeSet::from([own("manage-users")]);
        assert_eq!(footprint.rights_of(&Subject::Role("a".into())), mu);
        assert_eq!(footprint.rights_of(&Subject::Group("y".into())), mu);
    }

    #[test]
    fn missing_lists_what_is_not_held() {
        let roles = vec!["realm-management.view-users".to_string()];
        let held = HeldRights::of("acme", "acme", &roles);
        let wanted = [own("view-users"), own("manage-users")];
        assert_eq!(held.missing(&wanted), BTreeSet::from([own("manage-users")]));
        assert!(!held.holds_everything());
    }
}
