//! Groups: create under a parent, and read the tree one page of children at a time.

use std::collections::HashMap;

use portcullis_store::admin;
use portcullis_store::entity::realm_group;
use serde_json::{Map, Value};

use super::Ops;
use super::lookup::{Db, conflict_on_duplicate, find_group};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;
use crate::rep::group::GroupTree;

/// A group to create.
#[derive(Debug, Clone, Default)]
pub struct NewGroup {
    pub id: Option<String>,
    pub name: String,
    /// The parent group's id; `None` for a top-level group.
    pub parent: Option<String>,
    pub attributes: rep::MultiMap,
    pub extras: Map<String, Value>,
}

/// Checks a group name: not empty, no `/`, at most 255 characters.
pub fn check_name(name: &str) -> Result<(), AdminError> {
    if name.trim().is_empty() {
        return Err(AdminError::BadRequest("Group name is missing".into()));
    }
    if name.contains('/') || name.chars().count() > rep::user::MAX_NAME_LEN {
        return Err(AdminError::BadRequest(format!(
            "Invalid group name '{name}': no '/', at most 255 characters"
        )));
    }
    Ok(())
}

/// Creates a group (`manage-users`); a sibling of the same name is a conflict. Returns its id.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    new: NewGroup,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    check_name(&new.name)?;
    let parent = new.parent.as_deref();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    if let Some(parent) = parent {
        find_group(change.db(), &realm_row.id, parent).await?;
    }
    check_sibling(change.db(), &realm_row.id, parent, &new.name, None).await?;
    let id = match new.id {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let row = realm_group::Model {
        id: id.clone(),
        realm_id: realm_row.id.clone(),
        parent_id: new.parent.clone(),
        name: new.name.clone(),
        attributes: rep::to_column(&new.attributes)?,
    };
    admin::groups::insert(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(sibling_conflict(parent, &new.name)))?;
    admin::extras::set(change.db(), &realm_row.id, &id, &new.extras).await?;
    change.record(Event::new(Op::Create, "GROUP", format!("groups/{id}")).with(representation));
    change.commit().await?;
    Ok(id)
}

/// One page of a group's children (`query-groups`), with how many children each has.
pub struct ChildPage {
    pub groups: Vec<realm_group::Model>,
    pub child_counts: HashMap<String, i64>,
}

pub async fn children(
    ops: Ops<'_>,
    realm: &str,
    parent: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<ChildPage, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryGroups).await?;
    let db = ops.state.store().connection();
    if let Some(parent) = parent {
        find_group(db, &realm_row.id, parent).await?;
    }
    let groups = admin::groups::children_page(db, &realm_row.id, parent, after, limit).await?;
    let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let child_counts = admin::groups::child_counts(db, &ids).await?;
    Ok(ChildPage {
        groups,
        child_counts,
    })
}

/// A group with its path, for a group's page (`view-users`).
pub struct GroupView {
    pub group: realm_group::Model,
    pub path: String,
    /// Every group below it, at any depth.
    pub subgroups: usize,
    /// Users who are members of it or of a group below it.
    pub members: u64,
}

pub async fn get(ops: Ops<'_>, realm: &str, id: &str) -> Result<GroupView, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    let group = find_group(db, &realm_row.id, id).await?;
    let snapshot = super::lookup::snapshot(ops.state, realm).await?;
    let path = snapshot
        .group(id)
        .map(|g| g.path.clone())
        .unwrap_or_else(|| format!("/{}", group.name));
    let below: Vec<String> = snapshot
        .groups
        .iter()
        .filter(|g| g.path.starts_with(&format!("{path}/")))
        .map(|g| g.id.clone())
        .collect();
    let mut subtree = below.clone();
    subtree.push(group.id.clone());
    let members = admin::users::members_count(db, &subtree).await?;
    Ok(GroupView {
        group,
        path,
        subgroups: below.len(),
        members,
    })
}

/// One page of a group's direct members by username, after `after` (`view-users`).
pub async fn members(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<portcullis_store::entity::user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_group(db, &realm_row.id, id).await?;
    let ids = [id.to_string()];
    Ok(admin::users::holders_page(db, &realm_row.id, &[], &ids, after, limit).await?)
}

/// What a group update changes; `None` keeps the value.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub attributes: Option<rep::MultiMap>,
    /// Representation fields this server keeps without modelling them, merged into the stored.
    pub extras: Map<String, Value>,
}

/// Renames a group or changes its attributes (`manage-users`); a sibling of the new name is a
/// conflict.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    update: GroupUpdate,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    if let Some(name) = &update.name {
        check_name(name)?;
    }
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut group = find_group(change.db(), &realm_row.id, id).await?;
    if let Some(name) = update.name {
        let parent = group.parent_id.clone();
        check_sibling(
            change.db(),
            &realm_row.id,
            parent.as_deref(),
            &name,
            Some(id),
        )
        .await?;
        group.name = name;
    }
    if let Some(attributes) = update.attributes {
        group.attributes = rep::to_column(&attributes)?;
    }
    admin::groups::update(change.db(), group).await?;
    let stored = admin::extras::get(change.db(), id).await?;
    let merged = rep::merge_extras(stored, &update.extras);
    admin::extras::set(change.db(), &realm_row.id, id, &merged).await?;
    change.record(Event::new(Op::Update, "GROUP", format!("groups/{id}")).with(representation));
    change.commit().await
}

/// Moves a group under `parent` (top level for `None`) with its subtree (`manage-users`): not
/// under itself or a subgroup, and not beside a sibling of the same name. The rights check in
/// [`Change`] refuses a move that gives or takes away admin rights the caller lacks.
pub async fn move_to(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    parent: Option<&str>,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    if let Some(parent) = parent {
        find_group(change.db(), &realm_row.id, parent).await?;
    }
    let mut group = find_group(change.db(), &realm_row.id, id).await?;
    if let Some(parent) = parent {
        let tree = GroupTree::new(admin::groups::all(change.db(), &realm_row.id).await?);
        if tree.is_within(parent, &group.id) {
            return Err(AdminError::BadRequest(
                "Cannot move a group under itself or its subgroups".into(),
            ));
        }
    }
    check_sibling(
        change.db(),
        &realm_row.id,
        parent,
        &group.name,
        Some(&group.id),
    )
    .await?;
    group.parent_id = parent.map(str::to_string);
    admin::groups::update(change.db(), group).await?;
    change.record(Event::new(Op::Update, "GROUP", format!("groups/{id}")).with(representation));
    change.commit().await
}

/// Deletes a group with its subgroups (`manage-users`); members lose what it gave them.
pub async fn delete(ops: Ops<'_>, realm: &str, id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_group(change.db(), &realm_row.id, id).await?;
    admin::groups::delete(change.db(), id).await?;
    admin::extras::delete(change.db(), id).await?;
    change.record(Event::new(Op::Delete, "GROUP", format!("groups/{id}")));
    change.commit().await
}

pub fn sibling_conflict(parent: Option<&str>, name: &str) -> AdminError {
    match parent {
        None => AdminError::Conflict(format!("Top level group named '{name}' already exists.")),
        Some(_) => AdminError::Conflict(format!("Sibling group named '{name}' already exists.")),
    }
}

/// 409 if another group under `parent` has the name.
pub async fn check_sibling<C: Db>(
    db: &C,
    realm_id: &str,
    parent: Option<&str>,
    name: &str,
    except: Option<&str>,
) -> Result<(), AdminError> {
    let taken = admin::groups::sibling_named(db, realm_id, parent, name).await?;
    if taken.is_some_and(|g| Some(g.id.as_str()) != except) {
        return Err(sibling_conflict(parent, name));
    }
    Ok(())
}
