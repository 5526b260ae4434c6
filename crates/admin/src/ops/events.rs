//! Admin events (what was changed through the admin API or the console) and login and token
//! events (sign-ins, token grants, docker token issuances), newest first, a page at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use portcullis_store::admin::entity::admin_event;
use portcullis_store::admin::{
    self, Page,
    events::{EventFilter, LoginEventFilter},
};
use portcullis_store::entity::login_event;

use super::Ops;
use crate::auth::Right;
use crate::context::{Change, target_realm};
use crate::error::AdminError;

/// Which admin events to list.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// `CREATE`, `UPDATE`, `DELETE`, `ACTION`; `None` for all.
    pub operation: Option<String>,
    /// Keycloak's resource type (`USER`, `REALM`, `COMPONENT`, ...); `None` for all.
    pub resource: Option<String>,
    /// The id of the admin who made the change; `None` for anyone.
    pub user_id: Option<String>,
    /// Keyset paging: only events older than this `(time in ms, id)`.
    pub before: Option<(i64, String)>,
    pub limit: u64,
}

/// The realm's admin events matching `query`, newest first (`view-events`).
pub async fn admin_events(
    ops: Ops<'_>,
    realm: &str,
    query: EventQuery,
) -> Result<Vec<admin_event::Model>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewEvents).await?;
    let filter = EventFilter {
        operation_types: query.operation.into_iter().collect(),
        resource_types: query.resource.into_iter().collect(),
        auth_user_id: query.user_id,
        before: query.before,
        ..EventFilter::default()
    };
    let page = Page {
        first: 0,
        max: Some(query.limit),
    };
    Ok(admin::events::list(ops.state.store().connection(), &row.id, &filter, page).await?)
}

/// The id of the admin named `username`, a user of `realm` or of the realm `home_realm_id`
/// (where the console signed in), to filter admin events by (`view-events`).
pub async fn admin_id(
    ops: Ops<'_>,
    realm: &str,
    home_realm_id: &str,
    username: &str,
) -> Result<Option<String>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewEvents).await?;
    let db = ops.state.store().connection();
    for realm_id in [home_realm_id, row.id.as_str()] {
        if let Some(found) = admin::users::find_by_username(db, realm_id, username).await? {
            return Ok(Some(found.id));
        }
    }
    Ok(None)
}

/// User id -> username of the admins who made `events` (`view-events`): one query per realm
/// the admins signed in to.
pub async fn admin_names(
    ops: Ops<'_>,
    realm: &str,
    events: &[&admin_event::Model],
) -> Result<HashMap<String, String>, AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ViewEvents).await?;
    let mut by_realm: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for row in events {
        if let (Some(realm_id), Some(user_id)) = (&row.auth_realm_id, &row.auth_user_id) {
            by_realm
                .entry(realm_id.as_str())
                .or_default()
                .insert(user_id.clone());
        }
    }
    let db = ops.state.store().connection();
    let mut names = HashMap::new();
    for (realm_id, ids) in by_realm {
        let ids: Vec<String> = ids.into_iter().collect();
        names.extend(admin::sessions::usernames(db, realm_id, &ids).await?);
    }
    Ok(names)
}

/// Which login and token events to list.
#[derive(Debug, Clone, Default)]
pub struct LoginEventQuery {
    /// `LOGIN`, `DOCKER_TOKEN`, ...; `None` for all.
    pub kind: Option<String>,
    pub username: Option<String>,
    /// A `clientId` (a registry's service for docker tokens).
    pub client_id: Option<String>,
    /// Keyset paging: only events older than this `(time in ms, id)`.
    pub before: Option<(i64, String)>,
    pub limit: u64,
}

/// The realm's login and token events matching `query`, newest first (`view-events`).
pub async fn login_events(
    ops: Ops<'_>,
    realm: &str,
    query: LoginEventQuery,
) -> Result<Vec<login_event::Model>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewEvents).await?;
    let filter = LoginEventFilter {
        types: query.kind.into_iter().collect(),
        username: query.username,
        client_id: query.client_id,
        before: query.before,
        ..LoginEventFilter::default()
    };
    let page = Page {
        first: 0,
        max: Some(query.limit),
    };
    let db = ops.state.store().connection();
    Ok(admin::events::login_events(db, &row.id, &filter, page).await?)
}

/// Deletes the realm's admin events (`manage-events`).
pub async fn clear_admin_events(ops: Ops<'_>, realm: &str) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageEvents).await?;
    let change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    admin::events::clear(change.db(), &row.id).await?;
    change.commit().await
}
