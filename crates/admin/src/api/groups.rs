//! `/admin/realms/{realm}/groups` and `group-by-path`: the group tree, members, counts.

use std::collections::{HashMap, HashSet};

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::admin::{self, TextMatch, roles::Holder};
use portcullis_store::entity::realm_group;
use portcullis_web::{AppState, Protocols};
use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX, Db, Reply, find_group, no_content, ok, user_reps};
use crate::auth::{Caller, Right};
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{AdminJson, Params};
use crate::ops::Ops;
use crate::ops::groups::{self, GroupUpdate, NewGroup};
use crate::rep;
use crate::rep::group::{self as group_rep, GroupRoles, GroupTree};
use portcullis_store::representation::GroupRepresentation;

/// Each group's role mappings by name and extras, for full representations.
#[derive(Default)]
struct Details {
    roles: HashMap<String, GroupRoles>,
    extras: HashMap<String, Map<String, Value>>,
}

async fn details<C: Db>(db: &C, realm_id: &str, ids: &[String]) -> Result<Details, AdminError> {
    let clients = super::client_ids(db, realm_id).await?;
    let mut roles = HashMap::new();
    for id in ids {
        let mapped = admin::roles::mapped_ids(db, Holder::Group(id)).await?;
        let mut group_roles = GroupRoles::default();
        for role in admin::roles::by_ids(db, realm_id, &mapped).await? {
            match role.client_pk.as_ref().and_then(|pk| clients.get(pk)) {
                Some(client) => group_roles
                    .client
                    .entry(client.clone())
                    .or_default()
                    .push(role.name),
                None => group_roles.realm.push(role.name),
            }
        }
        roles.insert(id.clone(), group_roles);
    }
    Ok(Details {
        roles,
        extras: admin::extras::get_many(db, ids).await?,
    })
}

/// One group's representation, with `subGroups` filled from `children` (recursively).
fn render(
    tree: &GroupTree,
    group: &realm_group::Model,
    details: Option<&Details>,
    children: &dyn Fn(&realm_group::Model) -> Vec<String>,
) -> Result<Value, AdminError> {
    let empty = Map::new();
    let sub_groups = children(group)
        .iter()
        .filter_map(|id| tree.get(id))
        .map(|child| render(tree, child, details, children))
        .collect::<Result<Vec<_>, _>>()?;
    let extras = details
        .and_then(|d| d.extras.get(&group.id))
        .unwrap_or(&empty);
    let roles = details.map(|d| d.roles.get(&group.id).cloned().unwrap_or_default());
    group_rep::representation(tree, group, extras, roles.as_ref(), sub_groups)
}

/// Representations of the given groups, without subgroups.
pub async fn group_reps(
    state: &AppState,
    realm_id: &str,
    tree: &GroupTree,
    ids: &[String],
    brief: bool,
) -> Result<Vec<Value>, AdminError> {
    let db = state.store().connection();
    let details = match brief {
        true => None,
        false => Some(details(db, realm_id, ids).await?),
    };
    ids.iter()
        .filter_map(|id| tree.get(id))
        .map(|g| render(tree, g, details.as_ref(), &|_| Vec::new()))
        .collect()
}

/// A group with its whole subtree, as `GET groups/{id}` and `group-by-path` return it.
async fn deep_rep(
    state: &AppState,
    realm_id: &str,
    tree: &GroupTree,
    group: &realm_group::Model,
) -> Reply {
    let subtree: Vec<String> = tree
        .all()
        .iter()
        .filter(|g| tree.is_within(&g.id, &group.id))
        .map(|g| g.id.clone())
        .collect();
    let details = details(state.store().connection(), realm_id, &subtree).await?;
    let children = |g: &realm_group::Model| -> Vec<String> {
        tree.children(Some(&g.id))
            .iter()
            .map(|c| c.id.clone())
            .collect()
    };
    ok(render(tree, group, Some(&details), &children)?)
}

/// The groups a `search` / `q` query selects.
fn matches(tree: &GroupTree, params: &Params) -> Result<Option<Vec<String>>, AdminError> {
    let exact = params.flag_or("exact", false)?;
    let search = params.get("search").map(|s| match exact {
        true => TextMatch::Exact(s.to_string()),
        false => TextMatch::Contains(s.to_string()),
    });
    let attributes = params.attribute_query();
    if search.is_none() && attributes.is_empty() {
        return Ok(None);
    }
    let mut found = Vec::new();
    for group in tree.all() {
        let name_ok = search.as_ref().is_none_or(|m| m.matches(&group.name));
        let attributes_ok = attributes.is_empty() || {
            let stored: rep::MultiMap = rep::stored(&group.attributes, "group attributes")?;
            attributes
                .iter()
                .all(|(k, v)| stored.get(k).is_some_and(|vs| vs.contains(v)))
        };
        if name_ok && attributes_ok {
            found.push(group.id.clone());
        }
    }
    Ok(Some(found))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::QueryGroups).await?;
    let db = state.store().connection();
    let tree = GroupTree::new(admin::groups::all(db, &realm_row.id).await?);
    let brief = params.flag_or("briefRepresentation", true)?;
    let page = params.page(DEFAULT_MAX)?;
    let Some(found) = matches(&tree, &params)? else {
        let top: Vec<String> = tree.children(None).iter().map(|g| g.id.clone()).collect();
        return ok(group_reps(&state, &realm_row.id, &tree, &page.slice(top), brief).await?);
    };
    if !params.flag_or("populateHierarchy", true)? {
        return ok(group_reps(&state, &realm_row.id, &tree, &page.slice(found), brief).await?);
    }
    // Keycloak's hierarchy: the top-level ancestors of the matches, with subGroups leading down
    // to them.
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
    let roots = page.slice(roots);
    let kept: Vec<String> = keep.iter().cloned().collect();
    let details = match brief {
        true => None,
        false => Some(details(db, &realm_row.id, &kept).await?),
    };
    let children = |g: &realm_group::Model| -> Vec<String> {
        tree.children(Some(&g.id))
            .iter()
            .filter(|c| keep.contains(&c.id))
            .map(|c| c.id.clone())
            .collect()
    };
    let reps = roots
        .iter()
        .filter_map(|id| tree.get(id))
        .map(|g| render(&tree, g, details.as_ref(), &children))
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

/// `GET groups/count`: `{"count": n}`; `top=true` counts top-level groups only.
pub async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::QueryGroups).await?;
    let tree = GroupTree::new(admin::groups::all(state.store().connection(), &realm_row.id).await?);
    let n = match matches(&tree, &params)? {
        Some(found) => found.len(),
        None if params.flag_or("top", false)? => tree.children(None).len(),
        None => tree.all().len(),
    };
    ok(json!({"count": n}))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let tree = GroupTree::new(admin::groups::all(state.store().connection(), &realm_row.id).await?);
    let group = tree
        .get(&id)
        .ok_or_else(|| AdminError::not_found("Could not find group by id"))?;
    deep_rep(&state, &realm_row.id, &tree, group).await
}

pub async fn by_path(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, path)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let tree = GroupTree::new(admin::groups::all(state.store().connection(), &realm_row.id).await?);
    let group = tree
        .by_path(&path)
        .ok_or_else(|| AdminError::not_found("Group path does not exist"))?;
    deep_rep(&state, &realm_row.id, &tree, group).await
}

/// Fields of a group body that the row does not hold.
fn extras(body: &Value) -> Result<Map<String, Value>, AdminError> {
    rep::extras(body, group_rep::MODELLED)
}

fn group_name(group: &GroupRepresentation) -> Result<Option<String>, AdminError> {
    let name = rep::text(&group.name);
    if let Some(name) = &name
        && (name.contains('/') || name.chars().count() > rep::user::MAX_NAME_LEN)
    {
        return Err(AdminError::BadRequest(format!(
            "Invalid group name '{name}': no '/', at most 255 characters"
        )));
    }
    Ok(name)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    place(ops, &realm, None, body).await
}

pub async fn add_child(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, parent)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    place(ops, &realm, Some(&parent), body).await
}

/// Creates a group under `parent` (top level for `None`), or, when the body carries the id of
/// an existing group, moves that group there (204), as Keycloak does.
async fn place(ops: Ops<'_>, realm: &str, parent: Option<&str>, body: Value) -> Reply {
    let group: GroupRepresentation = rep::parse(&body)?;
    let name = group_name(&group)?;
    let id = rep::text(&group.id);
    if let Some(id) = &id {
        let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
        let db = ops.state.store().connection();
        if let Some(parent) = parent {
            find_group(db, &realm_row.id, parent).await?;
        }
        if admin::groups::find(db, &realm_row.id, id).await?.is_some() {
            groups::move_to(ops, realm, id, parent, body).await?;
            return no_content();
        }
    }
    let new = NewGroup {
        id,
        name: name.ok_or_else(|| AdminError::BadRequest("Group name is missing".into()))?,
        parent: parent.map(str::to_string),
        attributes: group.attributes.unwrap_or_default(),
        extras: extras(&body)?,
    };
    let id = groups::create(ops, realm, new, body.clone()).await?;
    Ok(created(ops.state, realm, &["groups", &id]))
}

pub async fn update(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let group: GroupRepresentation = rep::parse(&body)?;
    let update = GroupUpdate {
        name: group_name(&group)?,
        attributes: group.attributes,
        extras: extras(&body)?,
    };
    let ops = Ops::new(&state, &caller, &protocols);
    groups::update(ops, &realm, &id, update, body.clone()).await?;
    no_content()
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    groups::delete(ops, &realm, &id).await?;
    no_content()
}

pub async fn children(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let tree = GroupTree::new(admin::groups::all(state.store().connection(), &realm_row.id).await?);
    tree.get(&id)
        .ok_or_else(|| AdminError::not_found("Could not find group by id"))?;
    let exact = params.flag_or("exact", false)?;
    let search = params.get("search").map(|s| match exact {
        true => TextMatch::Exact(s.to_string()),
        false => TextMatch::Contains(s.to_string()),
    });
    let ids: Vec<String> = tree
        .children(Some(&id))
        .iter()
        .filter(|g| search.as_ref().is_none_or(|m| m.matches(&g.name)))
        .map(|g| g.id.clone())
        .collect();
    let ids = params.page(DEFAULT_MAX)?.slice(ids);
    let brief = params.flag_or("briefRepresentation", false)?;
    ok(group_reps(&state, &realm_row.id, &tree, &ids, brief).await?)
}

/// Direct members, by username.
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    find_group(db, &realm_row.id, &id).await?;
    let users = admin::users::group_members(db, &id, params.page(DEFAULT_MAX)?).await?;
    let brief = params.flag_or("briefRepresentation", false)?;
    ok(user_reps(db, &realm_row.id, &users, brief).await?)
}
