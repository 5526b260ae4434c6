//! Realm and client roles: list, create, update, delete, composites, and who holds a role
//! (directly, through a group or ancestor group, or through a composite).

use std::collections::HashSet;

use portcullis_store::admin::{self, Page, TextMatch};
use portcullis_store::entity::{client, role, user_entity};
use serde_json::Value;

use super::Ops;
use super::lookup::{Db, find_client};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep::group::GroupTree;
use crate::rep::role::{RoleFields, RoleRef};

/// Where a role lives.
#[derive(Debug, Clone)]
pub enum Container {
    Realm,
    Client(Box<client::Model>),
}

impl Container {
    pub fn pk(&self) -> Option<&str> {
        match self {
            Container::Realm => None,
            Container::Client(c) => Some(&c.id),
        }
    }

    fn base_path(&self) -> String {
        match self {
            Container::Realm => "roles".into(),
            Container::Client(c) => format!("clients/{}/roles", c.id),
        }
    }

    fn resource(&self) -> &'static str {
        match self {
            Container::Realm => "REALM_ROLE",
            Container::Client(_) => "CLIENT_ROLE",
        }
    }

    /// Realm roles are the realm's settings; client roles belong to the client.
    pub fn manage_right(&self) -> Right {
        match self {
            Container::Realm => Right::ManageRealm,
            Container::Client(_) => Right::ManageClients,
        }
    }
}

/// How a request names a role.
#[derive(Debug, Clone)]
pub enum Locator {
    /// By name in the realm, or in the client with this internal id.
    Name {
        client: Option<String>,
        name: String,
    },
    Id(String),
}

impl Locator {
    fn path(&self, container: &Container, role: &role::Model) -> String {
        match self {
            Locator::Id(id) => format!("roles-by-id/{id}"),
            Locator::Name { .. } => format!("{}/{}", container.base_path(), role.name),
        }
    }
}

pub async fn container_of<C: Db>(
    db: &C,
    realm_id: &str,
    client: Option<&str>,
) -> Result<Container, AdminError> {
    match client {
        None => Ok(Container::Realm),
        Some(id) => Ok(Container::Client(Box::new(
            find_client(db, realm_id, id).await?,
        ))),
    }
}

fn role_not_found() -> AdminError {
    AdminError::not_found("Could not find role")
}

/// The role a locator names, and its container.
pub async fn locate<C: Db>(
    db: &C,
    realm_id: &str,
    locator: &Locator,
) -> Result<(role::Model, Container), AdminError> {
    match locator {
        Locator::Name { client, name } => {
            let container = container_of(db, realm_id, client.as_deref()).await?;
            let role = admin::roles::by_name(db, realm_id, container.pk(), name)
                .await?
                .ok_or_else(role_not_found)?;
            Ok((role, container))
        }
        Locator::Id(id) => {
            let role = admin::roles::by_id(db, realm_id, id)
                .await?
                .ok_or_else(role_not_found)?;
            let container = container_of(db, realm_id, role.client_pk.as_deref()).await?;
            Ok((role, container))
        }
    }
}

/// The role a list body names: by id (which must agree with a name given too), or by name in
/// the realm, or in the client `containerId` for a client role.
pub async fn resolve_ref<C: Db>(
    db: &C,
    realm_id: &str,
    r: &RoleRef,
) -> Result<Option<role::Model>, AdminError> {
    if let Some(id) = &r.id {
        let found = admin::roles::by_id(db, realm_id, id).await?;
        return Ok(found.filter(|role| r.name.as_ref().is_none_or(|n| *n == role.name)));
    }
    let Some(name) = &r.name else {
        return Ok(None);
    };
    let client = if r.client_role {
        r.container_id.as_deref()
    } else {
        None
    };
    if r.client_role && client.is_none() {
        return Ok(None);
    }
    Ok(admin::roles::by_name(db, realm_id, client, name).await?)
}

/// A role reference as an admin types it: `name` for a realm role, `clientId.name` for a client
/// role (the longest `clientId` prefix that names a client wins, so client ids with dots work).
pub async fn ref_by_name<C: Db>(
    db: &C,
    realm_id: &str,
    typed: &str,
) -> Result<Option<RoleRef>, AdminError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    if admin::roles::by_name(db, realm_id, None, typed)
        .await?
        .is_some()
    {
        return Ok(Some(RoleRef {
            id: None,
            name: Some(typed.to_string()),
            client_role: false,
            container_id: None,
        }));
    }
    for (at, _) in typed
        .match_indices('.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let (client_id, name) = (&typed[..at], &typed[at + 1..]);
        if let Some(client) = admin::clients::find_by_client_id(db, realm_id, client_id).await? {
            return Ok(Some(RoleRef {
                id: None,
                name: Some(name.to_string()),
                client_role: true,
                container_id: Some(client.id),
            }));
        }
    }
    Ok(None)
}

/// One page of the realm's roles (`client` None) or of one client's (its internal id), by name
/// (any admin role).
pub async fn list(
    ops: Ops<'_>,
    realm: &str,
    client: Option<&str>,
    search: Option<TextMatch>,
    page: Page,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let db = ops.state.store().connection();
    let container = container_of(db, &realm_row.id, client).await?;
    Ok(admin::roles::list(db, &realm_row.id, container.pk(), search.as_ref(), page).await?)
}

/// A role with its container and its direct composites (any admin role).
pub struct RoleView {
    pub role: role::Model,
    pub container: Container,
    pub children: Vec<role::Model>,
}

pub async fn get(ops: Ops<'_>, realm: &str, locator: &Locator) -> Result<RoleView, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let db = ops.state.store().connection();
    let (role, container) = locate(db, &realm_row.id, locator).await?;
    let children = admin::roles::children(db, &role.id).await?;
    Ok(RoleView {
        role,
        container,
        children,
    })
}

/// Which of a role's direct composites to read.
#[derive(Debug, Clone, Copy)]
pub enum Composites<'a> {
    All,
    /// Realm roles only.
    Realm,
    /// The roles of this client (its internal id) only; an unknown client is a 404.
    Client(&'a str),
}

/// A role's direct composites, those `which` selects (any admin role).
pub async fn composites(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    which: Composites<'_>,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let db = ops.state.store().connection();
    if let Composites::Client(client) = which {
        find_client(db, &realm_row.id, client).await?;
    }
    let (role, _) = locate(db, &realm_row.id, locator).await?;
    let mut children = admin::roles::children(db, &role.id).await?;
    children.retain(|r| match which {
        Composites::All => true,
        Composites::Realm => r.client_pk.is_none(),
        Composites::Client(client) => r.client_pk.as_deref() == Some(client),
    });
    Ok(children)
}

/// A role's composites narrowed as Keycloak's `roles-by-id/{id}/composites?search=&first=&max=`
/// does once any of them is given: names containing `search` (case-insensitive), by name, then
/// the page.
pub async fn composites_page(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    search: Option<&str>,
    page: Page,
) -> Result<Vec<role::Model>, AdminError> {
    let mut found = composites(ops, realm, locator, Composites::All).await?;
    if let Some(search) = search {
        let needle = search.to_lowercase();
        found.retain(|r| r.name.to_lowercase().contains(&needle));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    let first = usize::try_from(page.first).unwrap_or(usize::MAX);
    let max = page
        .max
        .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    Ok(found.into_iter().skip(first).take(max).collect())
}

/// One page of the users mapped to the role directly, by username (`query-users`): Keycloak's
/// "users in role" (see [`holders`] for everyone who holds it).
pub async fn direct_users(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    page: Page,
) -> Result<Vec<user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryUsers).await?;
    let db = ops.state.store().connection();
    let (role, _) = locate(db, &realm_row.id, locator).await?;
    Ok(admin::users::with_role(db, &role.id, page).await?)
}

/// One page of the groups mapped to the role directly, by path (`query-groups`).
pub async fn direct_groups(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    page: Page,
) -> Result<super::groups::Listing, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryGroups).await?;
    let db = ops.state.store().connection();
    let (role, _) = locate(db, &realm_row.id, locator).await?;
    let tree = GroupTree::new(admin::groups::all(db, &realm_row.id).await?);
    let mut ids = admin::roles::groups_with_role(db, &role.id).await?;
    ids.sort_by_key(|g| tree.path(g));
    Ok(super::groups::Listing {
        realm_id: realm_row.id.clone(),
        tree,
        ids: page.slice(ids),
        below: None,
    })
}

/// Realm or client roles named by a role body's `composites`; a name that does not exist is a
/// dangling reference (400).
async fn composites_by_name<C: Db>(
    db: &C,
    realm_id: &str,
    fields: &RoleFields,
) -> Result<Vec<String>, AdminError> {
    let mut ids = Vec::new();
    for name in &fields.composite_realm {
        let role = admin::roles::by_name(db, realm_id, None, name).await?;
        ids.push(
            role.ok_or_else(|| {
                AdminError::BadRequest(format!("Could not find composite role {name}"))
            })?
            .id,
        );
    }
    for (client_id, names) in &fields.composite_client {
        let client = admin::clients::find_by_client_id(db, realm_id, client_id)
            .await?
            .ok_or_else(|| AdminError::BadRequest(format!("Could not find client {client_id}")))?;
        for name in names {
            let role = admin::roles::by_name(db, realm_id, Some(&client.id), name).await?;
            ids.push(
                role.ok_or_else(|| {
                    AdminError::BadRequest(format!(
                        "Could not find composite role {client_id}.{name}"
                    ))
                })?
                .id,
            );
        }
    }
    Ok(ids)
}

/// Checks a role name: not empty, at most 255 characters.
pub fn check_name(name: &str) -> Result<(), AdminError> {
    if name.trim().is_empty() {
        return Err(AdminError::BadRequest("Role name is required".into()));
    }
    if name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(AdminError::BadRequest(format!(
            "Invalid role name '{name}': at most 255 characters, no control characters"
        )));
    }
    Ok(())
}

/// Creates a role in the realm or in a client (`manage-realm` for realm roles, `manage-clients`
/// for client roles, as Keycloak); returns its container and name.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    client: Option<&str>,
    id: Option<String>,
    fields: RoleFields,
    representation: Value,
) -> Result<(Container, String), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let container = container_of(change.db(), &realm_row.id, client).await?;
    ops.caller.require(realm, container.manage_right())?;
    let name = fields
        .name
        .clone()
        .ok_or_else(|| AdminError::BadRequest("Role name is required".into()))?;
    check_name(&name)?;
    let exists = || AdminError::Conflict(format!("Role with name {name} already exists"));
    if admin::roles::by_name(change.db(), &realm_row.id, container.pk(), &name)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let id = match id {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let mut row = role::Model {
        id: id.clone(),
        realm_id: realm_row.id.clone(),
        client_pk: container.pk().map(str::to_string),
        name: name.clone(),
        description: None,
        attributes: "{}".into(),
    };
    fields.apply(&mut row)?;
    let children = composites_by_name(change.db(), &realm_row.id, &fields).await?;
    admin::roles::insert(change.db(), row)
        .await
        .map_err(super::lookup::conflict_on_duplicate(exists()))?;
    admin::roles::add_children(change.db(), &id, &children).await?;
    let path = format!("{}/{name}", container.base_path());
    change.record(Event::new(Op::Create, container.resource(), path).with(representation));
    change.commit().await?;
    Ok((container, name))
}

/// Updates a role's name, description or attributes (the container's manage right).
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    fields: RoleFields,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let (mut role, container) = locate(change.db(), &realm_row.id, locator).await?;
    ops.caller.require(realm, container.manage_right())?;
    let path = locator.path(&container, &role);
    if let Some(name) = fields.name.as_ref().filter(|n| **n != role.name) {
        let taken = admin::roles::by_name(change.db(), &realm_row.id, container.pk(), name).await?;
        if taken.is_some() {
            return Err(AdminError::Conflict(format!(
                "Role with name {name} already exists"
            )));
        }
    }
    fields.apply(&mut role)?;
    admin::roles::update(change.db(), role).await?;
    change.record(Event::new(Op::Update, container.resource(), path).with(representation));
    change.commit().await
}

/// Deletes a role (the container's manage right); its mappings and composite links go with it.
pub async fn delete(ops: Ops<'_>, realm: &str, locator: &Locator) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let (role, container) = locate(change.db(), &realm_row.id, locator).await?;
    ops.caller.require(realm, container.manage_right())?;
    if realm_row.default_role_id.as_deref() == Some(role.id.as_str()) {
        return Err(AdminError::BadRequest(format!(
            "{} is default role of the realm and cannot be removed.",
            role.name
        )));
    }
    let path = locator.path(&container, &role);
    admin::roles::delete(change.db(), &role.id).await?;
    change.record(Event::new(Op::Delete, container.resource(), path));
    change.commit().await
}

/// Adds or removes composites of a role (the container's manage right). A reference to a role
/// that does not exist is 404, as in Keycloak; a role may not contain itself. The rights check
/// in [`Change`] refuses a composite that moves admin rights the caller lacks.
pub async fn change_composites(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    refs: &[RoleRef],
    add: bool,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let (role, container) = locate(change.db(), &realm_row.id, locator).await?;
    ops.caller.require(realm, container.manage_right())?;
    let mut ids = Vec::new();
    for r in refs {
        let found = resolve_ref(change.db(), &realm_row.id, r)
            .await?
            .ok_or_else(|| AdminError::not_found("Could not find composite role"))?;
        ids.push(found.id);
    }
    let op = if add {
        if ids.contains(&role.id) {
            return Err(AdminError::BadRequest(
                "A role cannot be a composite of itself".into(),
            ));
        }
        admin::roles::add_children(change.db(), &role.id, &ids).await?;
        Op::Create
    } else {
        admin::roles::remove_children(change.db(), &role.id, &ids).await?;
        Op::Delete
    };
    let path = format!("{}/composites", locator.path(&container, &role));
    change.record(Event::new(op, container.resource(), path).with(representation));
    change.commit().await
}

/// A user who holds a role, and how: `direct`, `group /eng`, `composite of lead ← direct`, ...
pub struct Holding {
    pub user: user_entity::Model,
    pub how: String,
}

/// One page of the users holding a role (`query-users`), by username after `after`: those
/// mapped to it or to a composite containing it, directly or through a group or an ancestor
/// group. Keycloak's "users in role" lists direct mappings only (keycloak#19391).
pub async fn holders(
    ops: Ops<'_>,
    realm: &str,
    locator: &Locator,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Holding>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryUsers).await?;
    let db = ops.state.store().connection();
    let (role, _) = locate(db, &realm_row.id, locator).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    // Every role that contains this one, through any chain of composites.
    let mut roles: HashSet<&str> = HashSet::from([role.id.as_str()]);
    loop {
        let before = roles.len();
        for r in &snapshot.roles {
            if r.composite_ids.iter().any(|c| roles.contains(c.as_str())) {
                roles.insert(r.id.as_str());
            }
        }
        if roles.len() == before {
            break;
        }
    }
    // Groups mapped to one of them, and every subgroup (members inherit their ancestors').
    let mut groups: HashSet<&str> = snapshot
        .groups
        .iter()
        .filter(|g| g.role_ids.iter().any(|r| roles.contains(r.as_str())))
        .map(|g| g.id.as_str())
        .collect();
    loop {
        let before = groups.len();
        for g in &snapshot.groups {
            if g.parent_id.as_deref().is_some_and(|p| groups.contains(p)) {
                groups.insert(g.id.as_str());
            }
        }
        if groups.len() == before {
            break;
        }
    }
    let role_ids: Vec<String> = roles.iter().map(|s| s.to_string()).collect();
    let group_ids: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
    let users =
        admin::users::holders_page(db, &realm_row.id, &role_ids, &group_ids, after, limit).await?;
    let qualified = snapshot
        .role(&role.id)
        .map(|r| r.qualified_name())
        .unwrap_or_else(|| role.name.clone());
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        let how = match ops
            .state
            .store()
            .find_user_by_id(&realm_row.id, &user.id)
            .await?
        {
            Some(model) => portcullis_core::resolve::role_sources(&snapshot, &model)
                .remove(&qualified)
                .unwrap_or_default(),
            None => String::new(),
        };
        out.push(Holding { user, how });
    }
    Ok(out)
}

/// The role an admin typed (`name` or `clientId.name`), if there is one (any admin role).
pub async fn named(ops: Ops<'_>, realm: &str, typed: &str) -> Result<Option<RoleRef>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    ref_by_name(ops.state.store().connection(), &realm_row.id, typed).await
}
