//! SSO sessions: a realm's live sessions a page at a time, and ending one (or an offline
//! session or docker login) as an admin.

use portcullis_store::admin::sessions::SessionPage;
use portcullis_store::admin::{self, grants};
use serde_json::json;

use super::Ops;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// A live SSO session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: String,
    pub user_id: String,
    /// Empty when the user is gone.
    pub username: String,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub last_access: i64,
}

/// The realm's live SSO sessions (not ended, within the realm's idle and maximum lifespans),
/// newest first, at most `limit`, started before `before` (`view-users`).
pub async fn live(
    ops: Ops<'_>,
    realm: &str,
    before: Option<(i64, String)>,
    limit: u64,
) -> Result<Vec<SessionInfo>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let now = ops.state.now();
    let db = ops.state.store().connection();
    let page = SessionPage {
        seen_since: now.saturating_sub(row.sso_session_idle_timeout),
        started_since: now.saturating_sub(row.sso_session_max_lifespan),
        before,
        limit,
    };
    let sessions = admin::sessions::live(db, &row.id, &page).await?;
    let ids: Vec<String> = sessions.iter().map(|s| s.user_id.clone()).collect();
    let names = admin::sessions::usernames(db, &row.id, &ids).await?;
    Ok(sessions
        .into_iter()
        .map(|s| SessionInfo {
            username: names.get(&s.user_id).cloned().unwrap_or_default(),
            id: s.id,
            user_id: s.user_id,
            started: s.created_at,
            last_access: s.last_seen_at,
        })
        .collect())
}

/// Ends a session (`manage-users`, and the caller must hold every admin right the session's
/// user holds): an SSO session with its online tokens, or with `offline` a docker login or an
/// offline session. Returns the user's id.
pub async fn end(ops: Ops<'_>, realm: &str, id: &str, offline: bool) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let now = ops.state.now();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    // Keycloak's message, spelling included.
    let not_found = || AdminError::not_found("Sesssion not found");
    let user_id = if offline {
        if let Some(login) = grants::docker_login(change.db(), &realm_row.id, id, now).await? {
            let which = grants::DockerLogins::One(id);
            grants::revoke_docker_logins(change.db(), &realm_row.id, which).await?;
            login.user_id
        } else {
            let tokens =
                grants::offline_tokens(change.db(), &realm_row.id, None, None, now).await?;
            let user_id = tokens
                .iter()
                .find(|t| super::grants::offline_session_id(t) == id)
                .map(|t| t.user_id.clone())
                .ok_or_else(not_found)?;
            let which = grants::OfflineTokens::Session(id);
            grants::revoke_offline_tokens(change.db(), &realm_row.id, which).await?;
            user_id
        }
    } else {
        let session = ops
            .state
            .store()
            .find_user_session(id)
            .await?
            .filter(|s| s.realm_id == realm_row.id && !s.ended)
            .ok_or_else(not_found)?;
        admin::users::end_session(change.db(), id).await?;
        session.user_id
    };
    change.require_may_manage_user(&user_id)?;
    change.user_changed(&user_id);
    change.record(
        Event::new(Op::Delete, "USER_SESSION", format!("sessions/{id}"))
            .with(json!({"offline": offline})),
    );
    change.commit().await?;
    Ok(user_id)
}
