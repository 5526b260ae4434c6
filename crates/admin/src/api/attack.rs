//! `/admin/realms/{realm}/attack-detection/brute-force/users`: a user's brute-force status,
//! and unlocking one user or all.

use axum::extract::{Path, State};
use portcullis_store::admin;
use portcullis_web::AppState;
use serde_json::json;

use super::{Reply, find_user, no_content, ok};
use crate::auth::{Caller, Right};
use crate::context::{Change, Event, Op, target_realm};

/// `{"numFailures", "disabled", "lastIPFailure", "lastFailure"}`, as Keycloak reports it; a user
/// without failures has zeros and `"n/a"`.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    find_user(state.store().connection(), &realm_row.id, &id).await?;
    let record = state.store().login_failures(&realm_row.id, &id).await?;
    let now = state.now();
    let body = match record {
        Some(r) => json!({
            "numFailures": r.record.failures,
            "disabled": r.record.is_locked(now),
            "lastIPFailure": r.last_ip.unwrap_or_else(|| "n/a".into()),
            "lastFailure": r.record.last_failure_ms,
        }),
        None => json!({"numFailures": 0, "disabled": false, "lastIPFailure": "n/a",
                       "lastFailure": 0}),
    };
    ok(body)
}

pub async fn clear(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let mut change = Change::begin(&state, &caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, &id).await?;
    admin::users::clear_login_failures(change.db(), &realm_row.id, &id).await?;
    change.user_changed(&id);
    let path = format!("attack-detection/brute-force/users/{id}");
    change.record(Event::new(Op::Delete, "USER_LOGIN_FAILURE", path));
    change.commit().await?;
    no_content()
}

pub async fn clear_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let mut change = Change::begin(&state, &caller, realm_row.clone()).await?;
    admin::users::clear_all_login_failures(change.db(), &realm_row.id).await?;
    let path = "attack-detection/brute-force/users";
    change.record(Event::new(Op::Delete, "USER_LOGIN_FAILURE", path));
    change.commit().await?;
    no_content()
}
