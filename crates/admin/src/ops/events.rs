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

/// Which admin events to list: Keycloak's `admin-events` query, plus keyset paging.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// `CREATE`, `UPDATE`, `DELETE`, `ACTION`; empty for all.
    pub operations: Vec<String>,
    /// Keycloak's resource types (`USER`, `REALM`, `COMPONENT`, ...); empty for all.
    pub resources: Vec<String>,
    /// `*` is a wildcard, as in Keycloak.
    pub resource_path: Option<String>,
    /// The realm the admin signed in to (its id); `None` for any.
    pub auth_realm_id: Option<String>,
    /// The client the admin used (its internal id); `None` for any.
    pub auth_client_id: Option<String>,
    /// The id of the admin who made the change; `None` for anyone.
    pub user_id: Option<String>,
    pub ip_address: Option<String>,
    /// Milliseconds, inclusive.
    pub date_from: Option<i64>,
    /// Milliseconds, inclusive.
    pub date_to: Option<i64>,
    /// Keyset paging: only events older than this `(time in ms, id)`.
    pub before: Option<(i64, String)>,
    /// Offset paging: events to skip.
    pub first: u64,
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
        operation_types: query.operations,
        resource_types: query.resources,
        resource_path: query.resource_path,
        auth_realm_id: query.auth_realm_id,
        auth_client_id: query.auth_client_id,
        auth_user_id: query.user_id,
        auth_ip_address: query.ip_address,
        date_from: query.date_from,
        date_to: query.date_to,
        before: query.before,
    };
    let page = Page {
        first: query.first,
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

/// Which login and token events to list: Keycloak's `events` query, plus a username and
/// keyset paging.
#[derive(Debug, Clone, Default)]
pub struct LoginEventQuery {
    /// `LOGIN`, `DOCKER_TOKEN`, ...; empty for all.
    pub kinds: Vec<String>,
    pub username: Option<String>,
    pub user_id: Option<String>,
    /// A `clientId` (a registry's service for docker tokens).
    pub client_id: Option<String>,
    pub ip_address: Option<String>,
    /// Milliseconds, inclusive.
    pub date_from: Option<i64>,
    /// Milliseconds, inclusive.
    pub date_to: Option<i64>,
    /// Keyset paging: only events older than this `(time in ms, id)`.
    pub before: Option<(i64, String)>,
    /// Offset paging: events to skip.
    pub first: u64,
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
        types: query.kinds,
        client_id: query.client_id,
        user_id: query.user_id,
        username: query.username,
        ip_address: query.ip_address,
        date_from: query.date_from,
        date_to: query.date_to,
        before: query.before,
    };
    let page = Page {
        first: query.first,
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
