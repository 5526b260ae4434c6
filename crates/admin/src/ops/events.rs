//! Admin events: what was changed through the admin API or the console, newest first, a page at
//! a time.

use portcullis_store::admin::entity::admin_event;
use portcullis_store::admin::{self, Page, events::EventFilter};

use super::Ops;
use crate::auth::Right;
use crate::context::target_realm;
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
