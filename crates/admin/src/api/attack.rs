//! `/admin/realms/{realm}/attack-detection/brute-force/users`: a user's brute-force status,
//! and unlocking one user or all.

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::admin;
use portcullis_web::{AppState, Protocols};
use serde_json::json;

use super::{Reply, no_content, ok};
use crate::auth::{Caller, Right};
use crate::context::{Change, Event, Op, target_realm};
use crate::ops::{Ops, users};

/// `{"numFailures", "disabled", "lastIPFailure", "lastFailure"}`, as Keycloak reports it; a user
/// without failures has zeros and `"n/a"`.
pub async fn status(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let status = users::brute_force(ops, &realm, &id).await?;
    ok(json!({
        "numFailures": status.failures,
        "disabled": status.locked,
        "lastIPFailure": status.last_ip.unwrap_or_else(|| "n/a".into()),
        "lastFailure": status.last_failure_ms,
    }))
}

pub async fn clear(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    users::unlock(Ops::new(&state, &caller, &protocols), &realm, &id).await?;
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
