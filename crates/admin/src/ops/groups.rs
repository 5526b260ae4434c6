//! Groups: create under a parent, and read the tree one page of children at a time.

use std::collections::{HashMap, HashSet};

use portcullis_store::admin::{self, Page, TextMatch};
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

/// Keycloak's group queries (`GET groups`, `groups/count`, `groups/{id}/children`,
/// `users/{id}/groups`).
#[derive(Debug, Clone, Default)]
pub struct GroupQuery {
    /// `search`: a part of the name (all of it with `exact`).
    pub search: Option<String>,
    pub exact: bool,
    /// `q`: attribute `key:value` pairs, all of which must hold.
    pub attributes: Vec<(String, String)>,
    /// `populateHierarchy`: matches come inside their top-level ancestors.
    pub populate_hierarchy: bool,
    /// `top` (counts only): count top-level groups when nothing is searched.
    pub top: bool,
    /// `briefRepresentation`: without attributes and role mappings.
    pub brief: bool,
    pub first: u64,
    pub max: Option<u64>,
}

impl GroupQuery {
    fn page(&self) -> Page {
        Page {
            first: self.first,
            max: self.max,
        }
    }

    /// How `search` matches a name.
    pub fn name_match(&self) -> Option<TextMatch> {
        self.search.as_ref().map(|s| match self.exact {
            true => TextMatch::Exact(s.clone()),
            false => TextMatch::Contains(s.clone()),
        })
    }

    /// The groups `search` and `q` select; `None` when neither is given.
    fn matches(&self, tree: &GroupTree) -> Result<Option<Vec<String>>, AdminError> {
        let search = self.name_match();
        if search.is_none() && self.attributes.is_empty() {
            return Ok(None);
        }
        let mut found = Vec::new();
        for group in tree.all() {
            let name_ok = search.as_ref().is_none_or(|m| m.matches(&group.name));
            let attributes_ok = self.attributes.is_empty() || {
                let stored: rep::MultiMap = rep::stored(&group.attributes, "group attributes")?;
                self.attributes
                    .iter()
                    .all(|(k, v)| stored.get(k).is_some_and(|vs| vs.contains(v)))
            };
            if name_ok && attributes_ok {
                found.push(group.id.clone());
            }
        }
        Ok(Some(found))
    }
}

/// Groups to show, from the realm's whole tree (Keycloak's group reads filter it in memory).
pub struct Listing {
    pub realm_id: String,
    pub tree: GroupTree,
    /// The groups shown at the top, in order.
    pub ids: Vec<String>,
    /// The groups shown below them as `subGroups`: `None` for none, otherwise those of their
    /// descendants in this set.
    pub below: Option<HashSet<String>>,
}

impl Listing {
    fn new(realm_id: &str, tree: GroupTree, ids: Vec<String>) -> Self {
        Self {
            realm_id: realm_id.to_string(),
            tree,
            ids,
            below: None,
        }
    }
}

async fn whole_tree(ops: Ops<'_>, realm_id: &str) -> Result<GroupTree, AdminError> {
    let db = ops.state.store().connection();
    Ok(GroupTree::new(admin::groups::all(db, realm_id).await?))
}

/// The groups `query` selects, a page of them (`query-groups`): the top-level groups when
/// nothing is searched; otherwise the matches, or with `populate_hierarchy` the top-level
/// ancestors of the matches with the paths down to them.
pub async fn list(ops: Ops<'_>, realm: &str, query: &GroupQuery) -> Result<Listing, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryGroups).await?;
    let tree = whole_tree(ops, &realm_row.id).await?;
    let page = query.page();
    let Some(found) = query.matches(&tree)? else {
        let top: Vec<String> = tree.children(None).iter().map(|g| g.id.clone()).collect();
        return Ok(Listing::new(&realm_row.id, tree, page.slice(top)));
    };
    if !query.populate_hierarchy {
        return Ok(Listing::new(&realm_row.id, tree, page.slice(found)));
    }
    let keep: HashSet<String> = found
        .iter()
        .flat_map(|id| tree.lineage(id))
        .map(|g| g.id.clone())
        .collect();
    let roots: Vec<String> = tree
        .children(None)
        .iter()
        .filter(|g| keep.contains(&g.id))
        .map(|g| g.id.clone())
        .collect();
    let mut listing = Listing::new(&realm_row.id, tree, page.slice(roots));
    listing.below = Some(keep);
    Ok(listing)
}

/// How many groups `query` selects (`query-groups`): all groups, or only the top-level ones
/// with `top`, when nothing is searched.
pub async fn count(ops: Ops<'_>, realm: &str, query: &GroupQuery) -> Result<usize, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryGroups).await?;
    let tree = whole_tree(ops, &realm_row.id).await?;
    Ok(match query.matches(&tree)? {
        Some(found) => found.len(),
        None if query.top => tree.children(None).len(),
        None => tree.all().len(),
    })
}

/// Where a group is: by id or by its path.
#[derive(Debug, Clone, Copy)]
pub enum GroupAt<'a> {
    Id(&'a str),
    Path(&'a str),
}

/// A group with every group below it (`view-users`); 404s in Keycloak's words.
pub async fn subtree(ops: Ops<'_>, realm: &str, at: GroupAt<'_>) -> Result<Listing, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let tree = whole_tree(ops, &realm_row.id).await?;
    let group = match at {
        GroupAt::Id(id) => tree
            .get(id)
            .ok_or_else(|| AdminError::not_found("Could not find group by id"))?,
        GroupAt::Path(path) => tree
            .by_path(path)
            .ok_or_else(|| AdminError::not_found("Group path does not exist"))?,
    };
    let id = group.id.clone();
    let below: HashSet<String> = tree
        .all()
        .iter()
        .filter(|g| tree.is_within(&g.id, &id))
        .map(|g| g.id.clone())
        .collect();
    let mut listing = Listing::new(&realm_row.id, tree, vec![id]);
    listing.below = Some(below);
    Ok(listing)
}

/// A page of a group's children whose names `query.search` matches (`view-users`).
pub async fn subgroups(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    query: &GroupQuery,
) -> Result<Listing, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let tree = whole_tree(ops, &realm_row.id).await?;
    tree.get(id)
        .ok_or_else(|| AdminError::not_found("Could not find group by id"))?;
    let search = query.name_match();
    let ids: Vec<String> = tree
        .children(Some(id))
        .iter()
        .filter(|g| search.as_ref().is_none_or(|m| m.matches(&g.name)))
        .map(|g| g.id.clone())
        .collect();
    let ids = query.page().slice(ids);
    Ok(Listing::new(&realm_row.id, tree, ids))
}

/// The groups the user is a direct member of whose names `query.search` contains, by path, a
/// page of them (`view-users`).
pub async fn of_user(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    query: &GroupQuery,
) -> Result<Listing, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    super::lookup::find_user(db, &realm_row.id, user_id).await?;
    let tree = whole_tree(ops, &realm_row.id).await?;
    let search = query
        .search
        .as_ref()
        .map(|s| TextMatch::Contains(s.clone()));
    let mut ids: Vec<String> = admin::users::group_ids(db, user_id)
        .await?
        .into_iter()
        .filter(|g| {
            let name = tree.get(g).map(|g| g.name.as_str()).unwrap_or("");
            search.as_ref().is_none_or(|m| m.matches(name))
        })
        .collect();
    ids.sort_by_key(|g| tree.path(g));
    let ids = query.page().slice(ids);
    Ok(Listing::new(&realm_row.id, tree, ids))
}

/// Whether a create body naming group `id` under `parent` (top level for `None`) is about
/// an existing group, which Keycloak then moves there (`manage-users`); an unknown parent is
/// a 404 either way.
pub async fn exists_to_move(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    parent: Option<&str>,
) -> Result<bool, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let db = ops.state.store().connection();
    if let Some(parent) = parent {
        find_group(db, &realm_row.id, parent).await?;
    }
    Ok(admin::groups::find(db, &realm_row.id, id).await?.is_some())
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

/// Where a page of users by username starts.
#[derive(Debug, Clone, Copy)]
pub enum UserPage<'a> {
    /// After this username (the console's keyset paging), at most `limit`.
    After { after: Option<&'a str>, limit: u64 },
    /// Keycloak's `first` and `max`.
    Offset(Page),
}

/// One page of a group's direct members by username (`view-users`).
pub async fn members(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    page: UserPage<'_>,
) -> Result<Vec<portcullis_store::entity::user_entity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_group(db, &realm_row.id, id).await?;
    Ok(match page {
        UserPage::After { after, limit } => {
            let ids = [id.to_string()];
            admin::users::holders_page(db, &realm_row.id, &[], &ids, after, limit).await?
        }
        UserPage::Offset(page) => admin::users::group_members(db, id, page).await?,
    })
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
