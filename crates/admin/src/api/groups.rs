//! `/admin/realms/{realm}/groups` and `group-by-path`: the group tree, members, counts.

use std::collections::HashMap;

use axum::extract::Path;
use portcullis_store::admin::{self, roles::Holder};
use portcullis_store::entity::realm_group;
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX, Db, Reply, no_content, ok, user_reps};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{Admin, Params, Rep};
use crate::ops::Ops;
use crate::ops::groups::{self, GroupAt, GroupQuery, GroupUpdate, Listing, NewGroup, UserPage};
use crate::rep;
use crate::rep::group::{self as group_rep, GroupRoles, GroupTree};
use crate::rep::known;
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

/// Representations of the listed groups, with the `subGroups` the listing keeps below them.
pub async fn group_reps(
    state: &AppState,
    listing: &Listing,
    brief: bool,
) -> Result<Vec<Value>, AdminError> {
    let tree = &listing.tree;
    let details = match (brief, &listing.below) {
        (true, _) => None,
        (false, None) => {
            Some(details(state.store().connection(), &listing.realm_id, &listing.ids).await?)
        }
        (false, Some(below)) => {
            let below: Vec<String> = below.iter().cloned().collect();
            Some(details(state.store().connection(), &listing.realm_id, &below).await?)
        }
    };
    let children = |g: &realm_group::Model| -> Vec<String> {
        match &listing.below {
            None => Vec::new(),
            Some(below) => tree
                .children(Some(&g.id))
                .iter()
                .filter(|c| below.contains(&c.id))
                .map(|c| c.id.clone())
                .collect(),
        }
    };
    listing
        .ids
        .iter()
        .filter_map(|id| tree.get(id))
        .map(|g| render(tree, g, details.as_ref(), &children))
        .collect()
}

/// Keycloak's group search: `search`, `exact` and `q`.
fn group_search(params: &Params) -> Result<GroupQuery, AdminError> {
    Ok(GroupQuery {
        search: params.get("search").map(str::to_string),
        exact: params.flag_or("exact", false)?,
        attributes: params.attribute_query(),
        ..GroupQuery::default()
    })
}

/// Whether a query searches; `populateHierarchy` and `top` are read only then and only
/// otherwise, as before.
fn searches(query: &GroupQuery) -> bool {
    query.search.is_some() || !query.attributes.is_empty()
}

/// A page of groups (`first`, `max`), `briefRepresentation` defaulting to `brief`.
fn paged(params: &Params, mut query: GroupQuery, brief: bool) -> Result<GroupQuery, AdminError> {
    let page = params.page(DEFAULT_MAX)?;
    query.brief = params.flag_or("briefRepresentation", brief)?;
    query.first = page.first;
    query.max = page.max;
    Ok(query)
}

pub async fn list(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let mut query = paged(&params, group_search(&params)?, true)?;
    query.populate_hierarchy = !searches(&query) || params.flag_or("populateHierarchy", true)?;
    let listing = groups::list(admin.ops(), &realm, &query).await?;
    ok(group_reps(&admin.state, &listing, query.brief).await?)
}

/// `GET groups/count`: `{"count": n}`; `top=true` counts top-level groups only.
pub async fn count(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let mut query = group_search(&params)?;
    query.top = !searches(&query) && params.flag_or("top", false)?;
    let n = groups::count(admin.ops(), &realm, &query).await?;
    ok(json!({"count": n}))
}

/// A group with its whole subtree, as `GET groups/{id}` and `group-by-path` return it.
async fn deep_rep(state: &AppState, listing: &Listing) -> Reply {
    let mut reps = group_reps(state, listing, false).await?;
    ok(reps
        .pop()
        .ok_or_else(|| AdminError::Internal("group representation missing".into()))?)
}

pub async fn get(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let listing = groups::subtree(ops, &realm, GroupAt::Id(&id)).await?;
    deep_rep(&admin.state, &listing).await
}

pub async fn by_path(admin: Admin, Path((realm, path)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let listing = groups::subtree(ops, &realm, GroupAt::Path(&path)).await?;
    deep_rep(&admin.state, &listing).await
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
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::Group>,
) -> Reply {
    let ops = admin.ops();
    place(ops, &realm, None, body).await
}

pub async fn add_child(
    admin: Admin,
    Path((realm, parent)): Path<(String, String)>,
    Rep(body, _): Rep<known::Group>,
) -> Reply {
    let ops = admin.ops();
    place(ops, &realm, Some(&parent), body).await
}

/// Creates a group under `parent` (top level for `None`), or, when the body carries the id of
/// an existing group, moves that group there (204), as Keycloak does.
async fn place(ops: Ops<'_>, realm: &str, parent: Option<&str>, body: Value) -> Reply {
    let group: GroupRepresentation = rep::parse(&body)?;
    let name = group_name(&group)?;
    let id = rep::text(&group.id);
    if let Some(id) = &id
        && groups::exists_to_move(ops, realm, id, parent).await?
    {
        groups::move_to(ops, realm, id, parent, body).await?;
        return no_content();
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
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::Group>,
) -> Reply {
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageUsers).await?;
    let group: GroupRepresentation = rep::parse(&body)?;
    let update = GroupUpdate {
        name: group_name(&group)?,
        attributes: group.attributes,
        extras: extras(&body)?,
    };
    let ops = admin.ops();
    groups::update(ops, &realm, &id, update, body.clone()).await?;
    no_content()
}

pub async fn delete(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    groups::delete(ops, &realm, &id).await?;
    no_content()
}

pub async fn children(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let ops = admin.ops();
    let search = GroupQuery {
        search: params.get("search").map(str::to_string),
        exact: params.flag_or("exact", false)?,
        ..GroupQuery::default()
    };
    let query = paged(&params, search, false)?;
    let listing = groups::subgroups(ops, &realm, &id, &query).await?;
    ok(group_reps(&admin.state, &listing, query.brief).await?)
}

/// Direct members, by username.
pub async fn members(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let page = UserPage::Offset(params.page(DEFAULT_MAX)?);
    let brief = params.flag_or("briefRepresentation", false)?;
    let users = groups::members(admin.ops(), &realm, &id, page).await?;
    let realm_id = users
        .first()
        .map(|u| u.realm_id.as_str())
        .unwrap_or_default();
    ok(user_reps(admin.state.store().connection(), realm_id, &users, brief).await?)
}
