//! Registry access: the rules of a registry (a client whose protocol has access rules), what a
//! user or anonymous gets for some scopes and why ("try it"), every grant a user holds with
//! the path that gives it, and the access diff of a rule change before it is saved.
//!
//! The evaluation itself belongs to the protocol ([`Protocol::explain_access`]), the same code
//! its token endpoint runs; this module only finds the users and counts.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use portcullis_core::model::{Client, ProtocolMapper, RealmSnapshot, User};
use portcullis_core::resolve::{ResolvedUser, resolve_user, role_sources};
use portcullis_store::admin::users::UserFilter;
use portcullis_store::admin::{self, grants};
use portcullis_store::entity::{docker_refresh_token, realm};
use portcullis_store::representation::ProtocolMapperRepresentation;
use portcullis_web::{
    AccessRule, AccessSubject, CiAttempt, CiRule, CiTry, Protocol, Protocols, ScopeExplanation,
};

use super::Ops;
use super::clients;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep::client::MapperFields;

/// A registry and its rules.
pub struct Registry {
    pub client: Client,
    pub rules: Vec<AccessRule>,
}

impl Registry {
    /// The rule stored as the mapper `mapper_id`.
    pub fn rule(&self, mapper_id: &str) -> Option<&AccessRule> {
        self.rules.iter().find(|r| r.mapper_id == mapper_id)
    }
}

/// The realm's snapshot, after the caller's right is checked.
async fn snapshot(
    ops: Ops<'_>,
    realm: &str,
    right: Right,
) -> Result<Arc<RealmSnapshot>, AdminError> {
    target_realm(ops.state, ops.caller, realm, right).await?;
    ops.state
        .realm(realm)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))
}

pub(crate) fn rules_protocol<'a>(ops: Ops<'a>) -> Result<&'a dyn Protocol, AdminError> {
    ops.protocols
        .with_access_rules()
        .ok_or_else(|| AdminError::not_found("This server serves no protocol with access rules"))
}

/// The realm's registries, by service name (`view-clients`).
pub async fn registries(ops: Ops<'_>, realm: &str) -> Result<Vec<Registry>, AdminError> {
    let snapshot = snapshot(ops, realm, Right::ViewClients).await?;
    Ok(registries_of(&snapshot, rules_protocol(ops)?))
}

/// The realm's registries (the clients of the protocol with access rules), by service name.
pub(crate) fn registries_of(snapshot: &RealmSnapshot, protocol: &dyn Protocol) -> Vec<Registry> {
    let mut list: Vec<Registry> = snapshot
        .clients
        .iter()
        .filter(|c| c.protocol == protocol.name())
        .map(|c| Registry {
            client: c.clone(),
            rules: protocol.access_rules(c).unwrap_or_default(),
        })
        .collect();
    list.sort_by(|a, b| a.client.client_id.cmp(&b.client.client_id));
    list
}

/// One registry by its client's id (`view-clients`).
pub async fn registry(ops: Ops<'_>, realm: &str, id: &str) -> Result<Registry, AdminError> {
    registries(ops, realm)
        .await?
        .into_iter()
        .find(|r| r.client.id == id)
        .ok_or_else(|| AdminError::not_found("Could not find registry"))
}

/// What `username` (`None`: anonymous) gets for each scope, with every rule's verdict
/// (`view-clients` and `view-users`). An unknown user is a clear error, not anonymous.
pub async fn explain(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    username: Option<&str>,
    scopes: &[&str],
) -> Result<Vec<ScopeExplanation>, AdminError> {
    let registry = registry(ops, realm, id).await?;
    let snapshot = snapshot(ops, realm, Right::ViewUsers).await?;
    let user = match username.map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(name) => Some(resolved_by_username(ops, &snapshot, name).await?),
    };
    rules_protocol(ops)?
        .explain_access(&registry.client, user.as_ref(), scopes)
        .map_err(AdminError::BadRequest)
}

async fn resolved_by_username(
    ops: Ops<'_>,
    snapshot: &RealmSnapshot,
    username: &str,
) -> Result<ResolvedUser, AdminError> {
    let found = ops
        .state
        .store()
        .find_user_by_username(&snapshot.realm.id, username)
        .await?;
    let (user, _) = found.ok_or_else(|| AdminError::not_found("User not found"))?;
    Ok(resolve_user(snapshot, &user))
}

/// One grant a user holds: on `pattern` of `registry`, these actions, through this rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub registry: String,
    pub registry_id: String,
    pub resource_type: String,
    /// The rule's pattern with `${username}` filled in.
    pub pattern: String,
    pub actions: Vec<String>,
    pub rule: String,
    /// How the user holds the rule's subject: `group /team-a`, `role dev ← group /eng`, ...
    pub through: String,
}

/// Every grant the user holds in every registry of the realm, with the path that gives it
/// (`view-users` and `view-clients`).
pub async fn user_access(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<Grant>, AdminError> {
    let registries = registries(ops, realm).await?;
    let snapshot = snapshot(ops, realm, Right::ViewUsers).await?;
    let user = ops
        .state
        .store()
        .find_user_by_id(&snapshot.realm.id, user_id)
        .await?
        .ok_or_else(|| AdminError::not_found("User not found"))?;
    Ok(grants_of(&snapshot, &user, &registries))
}

/// Every grant `user` would hold in the realm's registries, for a user as they are about to be
/// (brokering's first-login page shows it before the account or its new memberships are
/// saved). No right is checked: it is for showing users their own access.
pub fn grants_for(snapshot: &RealmSnapshot, protocols: &Protocols, user: &User) -> Vec<Grant> {
    match protocols.with_access_rules() {
        Some(protocol) => grants_of(snapshot, user, &registries_of(snapshot, protocol)),
        None => Vec::new(),
    }
}

pub(crate) fn grants_of(
    snapshot: &RealmSnapshot,
    user: &User,
    registries: &[Registry],
) -> Vec<Grant> {
    let resolved = resolve_user(snapshot, user);
    let sources = role_sources(snapshot, user);
    let mut grants = Vec::new();
    for registry in registries {
        for rule in &registry.rules {
            let through = match &rule.subject {
                AccessSubject::Anonymous => Some("everyone".to_string()),
                AccessSubject::Authenticated => Some("every signed-in user".to_string()),
                AccessSubject::Group(path) => resolved
                    .in_group(path)
                    .then(|| group_membership(snapshot, user, path)),
                AccessSubject::Role(role) => sources
                    .get(role)
                    .map(|source| format!("role {role} ← {source}")),
            };
            let Some(through) = through else { continue };
            grants.push(Grant {
                registry: registry.client.client_id.clone(),
                registry_id: registry.client.id.clone(),
                resource_type: rule.resource_type.clone(),
                pattern: rule.pattern.replace("${username}", &user.username),
                actions: rule.actions.clone(),
                rule: rule.name.clone(),
                through,
            });
        }
    }
    grants
}

/// `group /team-a`, or `group /team-a ← member of /team-a/backend` for a subgroup member.
fn group_membership(snapshot: &RealmSnapshot, user: &User, path: &str) -> String {
    let path = path.trim_end_matches('/');
    let direct = user
        .group_ids
        .iter()
        .filter_map(|id| snapshot.group(id))
        .find(|g| g.path == path || g.path.starts_with(&format!("{path}/")));
    match direct {
        Some(g) if g.path != path => format!("group {path} ← member of {}", g.path),
        _ => format!("group {path}"),
    }
}

/// A change to a registry's rules.
#[derive(Debug, Clone)]
pub enum RuleChange {
    Add(AccessRule),
    Remove {
        mapper_id: String,
    },
    /// The stored rule `mapper_id` becomes `rule`, as one change under the same mapper id:
    /// `rule`'s name, or one made from the rule when it has none.
    Replace {
        mapper_id: String,
        rule: AccessRule,
    },
}

/// The mapper that stores `rule`, if the protocol can store it and finds nothing wrong in it.
fn checked_mapper(
    protocol: &dyn Protocol,
    rule: &AccessRule,
) -> Result<ProtocolMapper, AdminError> {
    let mapper = protocol
        .rule_mapper(rule)
        .ok_or_else(|| AdminError::BadRequest("Rules cannot be stored".into()))?;
    let problems = protocol.mapper_problems(&mapper);
    if !problems.is_empty() {
        return Err(AdminError::BadRequest(problems.join("; ")));
    }
    Ok(mapper)
}

/// The rules a mapper stores, as the protocol reads them back (`push` carries `pull`, ...).
fn stored_rules(protocol: &dyn Protocol, mapper: ProtocolMapper) -> Vec<AccessRule> {
    protocol
        .access_rules(&Client {
            protocol_mappers: vec![mapper],
            ..Client::default()
        })
        .unwrap_or_default()
}

/// 404 unless `mapper_id` is one of the registry's rules.
fn require_rule(rules: &[AccessRule], mapper_id: &str) -> Result<(), AdminError> {
    if rules.iter().any(|r| r.mapper_id == mapper_id) {
        Ok(())
    } else {
        Err(AdminError::not_found("Could not find rule"))
    }
}

/// The rule that replaces `mapper_id`: under its id, with `rule`'s name or a made one.
fn replacement(mapper_id: &str, rule: &AccessRule) -> AccessRule {
    AccessRule {
        mapper_id: mapper_id.to_string(),
        name: rule.name.trim().to_string(),
        ..rule.clone()
    }
}

fn mapper_fields(mapper: &ProtocolMapper) -> MapperFields {
    MapperFields {
        id: None,
        name: Some(mapper.name.clone()),
        protocol: Some(mapper.protocol.clone()),
        mapper_type: Some(mapper.mapper_type.clone()),
        config: Some(mapper.config.clone()),
    }
}

/// The mapper as the admin event records it, in Keycloak's representation.
fn mapper_representation(mapper: &ProtocolMapper) -> serde_json::Value {
    let rep = ProtocolMapperRepresentation {
        name: Some(mapper.name.clone()),
        protocol: Some(mapper.protocol.clone()),
        protocol_mapper: Some(mapper.mapper_type.clone()),
        config: Some(mapper.config.clone()),
        ..Default::default()
    };
    serde_json::to_value(rep).unwrap_or_default()
}

/// One line of an access diff: `+push on team-a/** for 37 users`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiffLine {
    pub gain: bool,
    pub action: String,
    pub pattern: String,
    /// Signed-in users who gain or lose it.
    pub users: u64,
    /// Whether requests without credentials gain or lose it too.
    pub anonymous: bool,
}

impl std::fmt::Display for DiffLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.gain { '+' } else { '−' };
        let mut whom = Vec::new();
        if self.users > 0 {
            let s = if self.users == 1 { "" } else { "s" };
            whom.push(format!("{} user{s}", self.users));
        }
        if self.anonymous {
            whom.push("anonymous".to_string());
        }
        write!(
            f,
            "{sign}{} on {} for {}",
            self.action,
            self.pattern,
            whom.join(" and ")
        )
    }
}

/// Checks a rule change against the registry (the rule must be one its protocol stores, the
/// mapper to remove or replace must be one of its rules) and returns the access diff it would
/// cause over the realm's users (`manage-clients` and `view-users`). Nothing is saved.
pub async fn preview(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    change: &RuleChange,
) -> Result<Vec<DiffLine>, AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let registry = registry(ops, realm, id).await?;
    let snapshot = snapshot(ops, realm, Right::ViewUsers).await?;
    let protocol = rules_protocol(ops)?;
    let before = registry.rules.clone();
    let after = match change {
        RuleChange::Add(rule) => {
            let mut after = before.clone();
            after.append(&mut stored_rules(protocol, checked_mapper(protocol, rule)?));
            after
        }
        RuleChange::Remove { mapper_id } => {
            require_rule(&before, mapper_id)?;
            before
                .iter()
                .filter(|r| &r.mapper_id != mapper_id)
                .cloned()
                .collect()
        }
        RuleChange::Replace { mapper_id, rule } => {
            require_rule(&before, mapper_id)?;
            let mapper = checked_mapper(protocol, &replacement(mapper_id, rule))?;
            before
                .iter()
                .filter(|r| &r.mapper_id != mapper_id)
                .cloned()
                .chain(stored_rules(protocol, mapper))
                .collect()
        }
    };
    access_diff(ops, &snapshot, &before, &after).await
}

/// Saves a rule change (`manage-clients`), after the same checks as [`preview`].
pub async fn apply(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    change: &RuleChange,
) -> Result<(), AdminError> {
    let protocol = rules_protocol(ops)?;
    match change {
        RuleChange::Add(rule) => {
            let mapper = protocol
                .rule_mapper(rule)
                .ok_or_else(|| AdminError::BadRequest("Rules cannot be stored".into()))?;
            let representation = mapper_representation(&mapper);
            clients::add_mappers(
                ops,
                realm,
                id,
                &[mapper_fields(&mapper)],
                "",
                representation,
            )
            .await?;
        }
        RuleChange::Remove { mapper_id } => {
            clients::delete_mapper(ops, realm, id, mapper_id).await?;
        }
        RuleChange::Replace { mapper_id, rule } => {
            require_rule(&registry(ops, realm, id).await?.rules, mapper_id)?;
            let mapper = checked_mapper(protocol, &replacement(mapper_id, rule))?;
            let representation = mapper_representation(&mapper);
            let fields = mapper_fields(&mapper);
            clients::replace_mapper(ops, realm, id, mapper_id, &fields, representation).await?;
        }
    }
    Ok(())
}

/// Who holds a rule's subject: everyone (anonymous included), every signed-in user, or some.
#[derive(Debug, Clone)]
enum Holders {
    Everyone,
    AllUsers,
    Some(HashSet<String>),
}

/// The diff between two rule lists over the realm's users, per (pattern, action): only the
/// patterns whose rules differ are looked at, and per subject one indexed query finds the
/// users holding it (role holders directly, through a composite or through a group).
async fn access_diff(
    ops: Ops<'_>,
    snapshot: &RealmSnapshot,
    before: &[AccessRule],
    after: &[AccessRule],
) -> Result<Vec<DiffLine>, AdminError> {
    let key = |r: &AccessRule| (r.resource_type.clone(), r.pattern.clone());
    let before_set: BTreeSet<_> = before.iter().map(rule_key).collect();
    let after_set: BTreeSet<_> = after.iter().map(rule_key).collect();
    let touched: BTreeSet<(String, String)> = before
        .iter()
        .filter(|r| !after_set.contains(&rule_key(r)))
        .chain(after.iter().filter(|r| !before_set.contains(&rule_key(r))))
        .map(key)
        .collect();
    let db = ops.state.store().connection();
    let total_users = admin::users::count(db, &snapshot.realm.id, &UserFilter::default()).await?;
    let mut cache: BTreeMap<AccessSubject, Holders> = BTreeMap::new();
    let mut lines = Vec::new();
    for (resource_type, pattern) in &touched {
        let on = |rules: &[AccessRule]| -> Vec<AccessRule> {
            rules
                .iter()
                .filter(|r| &r.resource_type == resource_type && &r.pattern == pattern)
                .cloned()
                .collect()
        };
        let (old, new) = (on(before), on(after));
        let actions: BTreeSet<String> = old
            .iter()
            .chain(new.iter())
            .flat_map(|r| r.actions.iter().cloned())
            .collect();
        for action in actions {
            let old_holders = holders_of(ops, snapshot, &old, &action, &mut cache).await?;
            let new_holders = holders_of(ops, snapshot, &new, &action, &mut cache).await?;
            for (gain, from, to) in [
                (true, &old_holders, &new_holders),
                (false, &new_holders, &old_holders),
            ] {
                let (users, anonymous) = difference(to, from, total_users);
                if users > 0 || anonymous {
                    lines.push(DiffLine {
                        gain,
                        action: action.clone(),
                        pattern: pattern.clone(),
                        users,
                        anonymous,
                    });
                }
            }
        }
    }
    lines.sort();
    Ok(lines)
}

fn rule_key(rule: &AccessRule) -> (String, String, Vec<String>, AccessSubject) {
    (
        rule.resource_type.clone(),
        rule.pattern.clone(),
        rule.actions.clone(),
        rule.subject.clone(),
    )
}

/// The union of the holders of every rule granting `action`.
async fn holders_of(
    ops: Ops<'_>,
    snapshot: &RealmSnapshot,
    rules: &[AccessRule],
    action: &str,
    cache: &mut BTreeMap<AccessSubject, Holders>,
) -> Result<Holders, AdminError> {
    let mut union = Holders::Some(HashSet::new());
    for rule in rules
        .iter()
        .filter(|r| r.actions.iter().any(|a| a == action))
    {
        if !cache.contains_key(&rule.subject) {
            let holders = subject_holders(ops, snapshot, &rule.subject).await?;
            cache.insert(rule.subject.clone(), holders);
        }
        let holders = &cache[&rule.subject];
        union = match (union, holders) {
            (Holders::Everyone, _) | (_, Holders::Everyone) => Holders::Everyone,
            (Holders::AllUsers, _) | (_, Holders::AllUsers) => Holders::AllUsers,
            (Holders::Some(mut a), Holders::Some(b)) => {
                a.extend(b.iter().cloned());
                Holders::Some(a)
            }
        };
    }
    Ok(union)
}

/// Signed-in users (and whether anonymous) in `to` but not in `from`.
fn difference(to: &Holders, from: &Holders, total_users: u64) -> (u64, bool) {
    match (to, from) {
        (_, Holders::Everyone) => (0, false),
        (Holders::Everyone, Holders::AllUsers) => (0, true),
        (Holders::Everyone, Holders::Some(from)) => {
            (total_users.saturating_sub(from.len() as u64), true)
        }
        (Holders::AllUsers, Holders::AllUsers) => (0, false),
        (Holders::AllUsers, Holders::Some(from)) => {
            (total_users.saturating_sub(from.len() as u64), false)
        }
        (Holders::Some(_), Holders::AllUsers) => (0, false),
        (Holders::Some(to), Holders::Some(from)) => (to.difference(from).count() as u64, false),
    }
}

/// The users holding a subject. A role is held directly, through a composite containing it, or
/// through a group (or an ancestor group) mapped to one of those roles.
async fn subject_holders(
    ops: Ops<'_>,
    snapshot: &RealmSnapshot,
    subject: &AccessSubject,
) -> Result<Holders, AdminError> {
    let db = ops.state.store().connection();
    let (roles, groups) = match subject {
        AccessSubject::Anonymous => return Ok(Holders::Everyone),
        AccessSubject::Authenticated => return Ok(Holders::AllUsers),
        AccessSubject::Group(path) => (Vec::new(), subtree(snapshot, |g| g.path == *path)),
        AccessSubject::Role(name) => {
            let roles = roles_implying(snapshot, name);
            let groups = subtree(snapshot, |g| g.role_ids.iter().any(|r| roles.contains(r)));
            (roles.into_iter().collect(), groups)
        }
    };
    Ok(Holders::Some(
        admin::users::holders(db, &roles, &groups).await?,
    ))
}

/// Ids of the groups `chosen` picks and of all their descendants.
fn subtree(
    snapshot: &RealmSnapshot,
    chosen: impl Fn(&portcullis_core::model::Group) -> bool,
) -> Vec<String> {
    let mut ids: HashSet<String> = snapshot
        .groups
        .iter()
        .filter(|g| chosen(g))
        .map(|g| g.id.clone())
        .collect();
    loop {
        let before = ids.len();
        for group in &snapshot.groups {
            if group.parent_id.as_ref().is_some_and(|p| ids.contains(p)) {
                ids.insert(group.id.clone());
            }
        }
        if ids.len() == before {
            return ids.into_iter().collect();
        }
    }
}

/// Ids of the role named `qualified` and of every composite that contains it, however deep.
fn roles_implying(snapshot: &RealmSnapshot, qualified: &str) -> HashSet<String> {
    let mut ids: HashSet<String> = snapshot
        .roles
        .iter()
        .filter(|r| r.qualified_name() == qualified)
        .map(|r| r.id.clone())
        .collect();
    loop {
        let before = ids.len();
        for role in &snapshot.roles {
            if role.composite_ids.iter().any(|c| ids.contains(c)) {
                ids.insert(role.id.clone());
            }
        }
        if ids.len() == before {
            return ids;
        }
    }
}

/// A registry's keyless CI rules (`view-clients`).
pub async fn ci_rules(ops: Ops<'_>, realm: &str, id: &str) -> Result<Vec<CiRule>, AdminError> {
    let registry = registry(ops, realm, id).await?;
    Ok(rules_protocol(ops)?
        .ci_rules(&registry.client)
        .unwrap_or_default())
}

/// Stores a keyless CI rule on a registry (`manage-clients`), judged by the protocol as every
/// mapper is: an invalid rule is a bad request naming every problem.
pub async fn add_ci_rule(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    rule: &CiRule,
) -> Result<(), AdminError> {
    registry(ops, realm, id).await?;
    let protocol = rules_protocol(ops)?;
    let mapper = protocol
        .ci_rule_mapper(rule)
        .ok_or_else(|| AdminError::BadRequest("CI rules cannot be stored".into()))?;
    let problems = protocol.mapper_problems(&mapper);
    if !problems.is_empty() {
        return Err(AdminError::BadRequest(problems.join("; ")));
    }
    let representation = mapper_representation(&mapper);
    clients::add_mappers(
        ops,
        realm,
        id,
        &[mapper_fields(&mapper)],
        "",
        representation,
    )
    .await?;
    Ok(())
}

/// Replaces one of a registry's keyless CI rules (`rule.mapper_id`) (`manage-clients`).
pub async fn replace_ci_rule(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    rule: &CiRule,
) -> Result<(), AdminError> {
    if !ci_rules(ops, realm, id)
        .await?
        .iter()
        .any(|r| r.mapper_id == rule.mapper_id)
    {
        return Err(AdminError::not_found("Could not find CI rule"));
    }
    let protocol = rules_protocol(ops)?;
    let mapper = protocol
        .ci_rule_mapper(rule)
        .ok_or_else(|| AdminError::BadRequest("CI rules cannot be stored".into()))?;
    let problems = protocol.mapper_problems(&mapper);
    if !problems.is_empty() {
        return Err(AdminError::BadRequest(problems.join("; ")));
    }
    let representation = mapper_representation(&mapper);
    let fields = mapper_fields(&mapper);
    clients::replace_mapper(ops, realm, id, &rule.mapper_id, &fields, representation).await
}

/// Deletes one of a registry's keyless CI rules (`manage-clients`); another mapper is 404.
pub async fn remove_ci_rule(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    mapper_id: &str,
) -> Result<(), AdminError> {
    if !ci_rules(ops, realm, id)
        .await?
        .iter()
        .any(|r| r.mapper_id == mapper_id)
    {
        return Err(AdminError::not_found("Could not find CI rule"));
    }
    clients::delete_mapper(ops, realm, id, mapper_id).await
}

/// What a pasted CI token gets from a registry, and why (`view-clients`): the protocol's own
/// check, signature included.
pub async fn try_ci_token(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    token: &str,
    username: &str,
    scopes: &[&str],
) -> Result<CiTry, AdminError> {
    let registry = registry(ops, realm, id).await?;
    let attempt = CiAttempt {
        token,
        username,
        scopes,
        now: ops.state.now(),
    };
    rules_protocol(ops)?
        .try_ci_token(&registry.client, attempt)
        .await
        .map_err(AdminError::BadRequest)
}

/// The live docker logins (identity tokens) issued for a registry, oldest first
/// (`view-users`).
pub async fn logins(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
) -> Result<Vec<(docker_refresh_token::Model, String)>, AdminError> {
    let registry = registry(ops, realm, id).await?;
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    let now = ops.state.now();
    let rows = grants::docker_logins(
        db,
        &realm_row.id,
        None,
        Some(&registry.client.client_id),
        now,
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let username = admin::users::find(db, &realm_row.id, &row.user_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
        out.push((row, username));
    }
    Ok(out)
}

/// Revokes one docker login (`manage-users`, and every right its user holds): the registry
/// refuses its next refresh, on every instance.
pub async fn revoke_login(ops: Ops<'_>, realm: &str, login_id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    revoke_login_authorized(ops, realm_row, login_id, None).await
}

/// [`revoke_login`] once the caller's right is checked; with `owner`, only a docker login of
/// that user (another's is 404, as an unknown one).
pub(crate) async fn revoke_login_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    login_id: &str,
    owner: Option<&str>,
) -> Result<(), AdminError> {
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let login = grants::docker_login(change.db(), &realm_row.id, login_id, now)
        .await?
        .filter(|login| owner.is_none_or(|owner| login.user_id == owner))
        .ok_or_else(|| AdminError::not_found("Docker login not found"))?;
    change.require_may_manage_user(&login.user_id)?;
    grants::revoke_docker_logins(
        change.db(),
        &realm_row.id,
        grants::DockerLogins::One(login_id),
    )
    .await?;
    change.user_changed(&login.user_id);
    let event = Event::new(Op::Delete, "USER_SESSION", format!("sessions/{login_id}"));
    change.record(event.with(serde_json::json!({"offline": true})));
    change.commit().await?;
    ops.state.invalidate_credentials();
    Ok(())
}
