//! Effective roles and groups of a user: direct role mappings, plus those of every group and
//! ancestor group, expanded through composites (design section 4).

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use crate::model::{RealmSnapshot, User};

/// What access decisions need to know about a signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResolvedUser {
    pub id: String,
    pub username: String,
    /// Qualified role names: `role` for realm roles, `clientId.role` for client roles.
    pub roles: BTreeSet<String>,
    /// Paths of the groups the user is in, with every ancestor path: membership of
    /// `/eng/platform` also counts as membership of `/eng`.
    pub group_paths: BTreeSet<String>,
    /// The user's `notBefore`: credentials issued before it are dead.
    pub not_before: i64,
    /// Required actions still pending: grants without a browser are refused while any is.
    pub required_actions: Vec<String>,
}

impl ResolvedUser {
    pub fn has_role(&self, qualified: &str) -> bool {
        self.roles.contains(qualified)
    }

    /// Whether the account is fully set up (no required action pending).
    pub fn is_set_up(&self) -> bool {
        self.required_actions.is_empty()
    }

    pub fn in_group(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        let path = if path.is_empty() { "/" } else { path };
        self.group_paths.contains(path)
    }
}

/// Resolves a user's effective roles and groups against a realm snapshot. Dangling ids (a role
/// deleted since the user was loaded) are skipped; composite cycles terminate.
pub fn resolve_user(snapshot: &RealmSnapshot, user: &User) -> ResolvedUser {
    let mut role_ids: Vec<&str> = user.role_ids.iter().map(String::as_str).collect();
    let mut group_paths = BTreeSet::new();
    for group_id in &user.group_ids {
        let mut next = snapshot.group(group_id);
        let mut hops = 0;
        while let Some(group) = next {
            group_paths.insert(group.path.clone());
            role_ids.extend(group.role_ids.iter().map(String::as_str));
            next = group.parent_id.as_deref().and_then(|p| snapshot.group(p));
            hops += 1;
            if hops > snapshot.groups.len() {
                break; // a parent cycle in corrupt data
            }
        }
    }
    ResolvedUser {
        id: user.id.clone(),
        username: user.username.clone(),
        roles: expand_composites(snapshot, role_ids),
        group_paths,
        not_before: user.not_before,
        // A required action the realm turned off is not enforced (Keycloak skips it).
        required_actions: user
            .required_actions
            .iter()
            .filter(|a| !snapshot.realm.disabled_required_actions.contains(a))
            .cloned()
            .collect(),
    }
}

/// Where each of a user's effective roles comes from, in words: `direct`, `group /eng`
/// (membership of the group or a subgroup), or `composite of writer ← group /eng`. Each role
/// gets its shortest path (breadth first), the one an operator reads most easily.
pub fn role_sources(snapshot: &RealmSnapshot, user: &User) -> BTreeMap<String, String> {
    let mut queue: VecDeque<(&str, String)> = user
        .role_ids
        .iter()
        .map(|id| (id.as_str(), "direct".to_string()))
        .collect();
    for group_id in &user.group_ids {
        let mut next = snapshot.group(group_id);
        let mut hops = 0;
        while let Some(group) = next {
            for role in &group.role_ids {
                queue.push_back((role.as_str(), format!("group {}", group.path)));
            }
            next = group.parent_id.as_deref().and_then(|p| snapshot.group(p));
            hops += 1;
            if hops > snapshot.groups.len() {
                break;
            }
        }
    }
    let mut sources = BTreeMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    while let Some((id, source)) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        let Some(role) = snapshot.role(id) else {
            continue;
        };
        let name = role.qualified_name();
        for child in &role.composite_ids {
            queue.push_back((child.as_str(), format!("composite of {name} ← {source}")));
        }
        sources.entry(name).or_insert(source);
    }
    sources
}

/// The qualified names of `start`'s roles and every role they contain through composites.
pub fn expand_composites<'a>(snapshot: &'a RealmSnapshot, start: Vec<&'a str>) -> BTreeSet<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut stack = start;
    let mut names = BTreeSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(role) = snapshot.role(id) {
            names.insert(role.qualified_name());
            stack.extend(role.composite_ids.iter().map(String::as_str));
        }
    }
    names
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{Group, Realm, Role};
    use crate::password::PasswordPolicy;

    /// (id, name, client, composites)
    type RoleRow = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
    );
    /// (id, path, parent, roles)
    type GroupRow = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
    );

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Realm roles `reader` < `writer` (composite) < `admin` (composite with a client role),
    /// client roles of `registry` and `app`, a composite cycle `loop-a` <-> `loop-b`, and the
    /// group tree `/eng`, `/eng/platform`, `/eng/platform/oncall`, `/ops`.
    fn snapshot() -> RealmSnapshot {
        let roles: [RoleRow; 9] = [
            ("r-reader", "reader", None, &[]),
            ("r-writer", "writer", None, &["r-reader"]),
            ("r-admin", "admin", None, &["r-writer", "c-registry-push"]),
            (
                "c-registry-push",
                "push",
                Some("registry"),
                &["c-registry-pull"],
            ),
            ("c-registry-pull", "pull", Some("registry"), &[]),
            ("c-app-user", "user", Some("app"), &[]),
            ("r-loop-a", "loop-a", None, &["r-loop-b"]),
            ("r-loop-b", "loop-b", None, &["r-loop-a", "r-gone"]),
            ("r-eng", "eng-member", None, &["c-app-user"]),
        ];
        let groups: [GroupRow; 4] = [
            ("g-eng", "/eng", None, &["r-eng"]),
            ("g-platform", "/eng/platform", Some("g-eng"), &["r-writer"]),
            ("g-oncall", "/eng/platform/oncall", Some("g-platform"), &[]),
            ("g-ops", "/ops", None, &["c-registry-pull"]),
        ];
        RealmSnapshot {
            realm: Realm {
                id: "realm-id".into(),
                name: "test".into(),
                display_name: None,
                enabled: true,
                access_token_lifespan: 300,
                password_policy: PasswordPolicy::default(),
                attributes: BTreeMap::new(),
                ..Realm::default()
            },
            roles: roles
                .iter()
                .map(|(id, name, client, composites)| Role {
                    id: (*id).into(),
                    name: (*name).into(),
                    description: None,
                    client_id: client.map(str::to_owned),
                    composite_ids: strings(composites),
                })
                .collect(),
            groups: groups
                .iter()
                .map(|(id, path, parent, roles)| Group {
                    id: (*id).into(),
                    name: path.rsplit('/').next().unwrap_or_default().into(),
                    parent_id: parent.map(str::to_owned),
                    path: (*path).into(),
                    role_ids: strings(roles),
                })
                .collect(),
            clients: Vec::new(),
            client_scopes: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn user(role_ids: &[&str], group_ids: &[&str]) -> User {
        User {
            id: "u1".into(),
            username: "alice".into(),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            role_ids: strings(role_ids),
            group_ids: strings(group_ids),
            ..User::default()
        }
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn resolve_user_table() {
        // (what, direct roles, groups, expected roles, expected group paths)
        type Row = (
            &'static str,
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
        );
        let rows: &[Row] = &[
            ("nothing", &[], &[], &[], &[]),
            ("direct realm role", &["r-reader"], &[], &["reader"], &[]),
            (
                "direct client role",
                &["c-app-user"],
                &[],
                &["app.user"],
                &[],
            ),
            ("composite", &["r-writer"], &[], &["reader", "writer"], &[]),
            (
                "nested composite with client roles",
                &["r-admin"],
                &[],
                &[
                    "admin",
                    "reader",
                    "registry.pull",
                    "registry.push",
                    "writer",
                ],
                &[],
            ),
            (
                "composite cycle terminates, dangling id skipped",
                &["r-loop-a"],
                &[],
                &["loop-a", "loop-b"],
                &[],
            ),
            ("dangling direct role", &["r-gone"], &[], &[], &[]),
            ("group role", &[], &["g-ops"], &["registry.pull"], &["/ops"]),
            (
                "root group role expands composites",
                &[],
                &["g-eng"],
                &["app.user", "eng-member"],
                &["/eng"],
            ),
            (
                "subgroup inherits ancestor roles and paths",
                &[],
                &["g-oncall"],
                &["app.user", "eng-member", "reader", "writer"],
                &["/eng", "/eng/platform", "/eng/platform/oncall"],
            ),
            (
                "direct and group roles merge",
                &["r-reader", "c-registry-push"],
                &["g-platform", "g-ops"],
                &[
                    "app.user",
                    "eng-member",
                    "reader",
                    "registry.pull",
                    "registry.push",
                    "writer",
                ],
                &["/eng", "/eng/platform", "/ops"],
            ),
            ("dangling group", &[], &["g-gone"], &[], &[]),
        ];
        let snapshot = snapshot();
        for (what, roles, groups, expected_roles, expected_paths) in rows {
            let resolved = resolve_user(&snapshot, &user(roles, groups));
            assert_eq!(resolved.roles, set(expected_roles), "{what}: roles");
            assert_eq!(resolved.group_paths, set(expected_paths), "{what}: groups");
            assert_eq!(resolved.id, "u1");
            assert_eq!(resolved.username, "alice");
        }
    }

    #[test]
    fn parent_cycle_in_groups_terminates() {
        let mut snapshot = snapshot();
        for group in &mut snapshot.groups {
            if group.id == "g-eng" {
                group.parent_id = Some("g-oncall".into());
            }
        }
        let resolved = resolve_user(&snapshot, &user(&[], &["g-platform"]));
        assert_eq!(
            resolved.group_paths,
            set(&["/eng", "/eng/platform", "/eng/platform/oncall"])
        );
        assert!(resolved.has_role("writer") && resolved.has_role("app.user"));
    }

    #[test]
    fn has_role_and_in_group() {
        let resolved = resolve_user(&snapshot(), &user(&["r-admin"], &["g-oncall"]));
        let roles = [
            ("admin", true),
            ("registry.push", true),
            ("push", false),
            ("registry", false),
            ("Admin", false),
        ];
        for (role, expected) in roles {
            assert_eq!(resolved.has_role(role), expected, "{role}");
        }
        let groups = [
            ("/eng", true),
            ("/eng/", true),
            ("/eng/platform", true),
            ("/eng/platform/oncall/", true),
            ("/ops", false),
            ("/en", false),
            ("eng", false),
            ("/", false),
            ("", false),
        ];
        for (path, expected) in groups {
            assert_eq!(resolved.in_group(path), expected, "{path:?}");
        }
    }
}
