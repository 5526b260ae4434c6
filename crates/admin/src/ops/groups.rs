//! Groups: create under a parent, and read the tree one page of children at a time.

use std::collections::HashMap;

use portcullis_store::admin;
use portcullis_store::entity::realm_group;
use serde_json::{Map, Value};

use super::Ops;
use crate::api::groups::{check_sibling, sibling_conflict};
use crate::api::{conflict_on_duplicate, find_group};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;

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
            crate::api::check_id(&id)?;
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
