//! `/admin/realms/{realm}/attack-detection/brute-force/users`: a user's brute-force status,
//! and unlocking one user or all.

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_web::{AppState, Protocols};
use serde_json::json;

use super::{Reply, no_content, ok};
use crate::auth::Caller;
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
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
) -> Reply {
    users::unlock_all(Ops::new(&state, &caller, &protocols), &realm).await?;
    no_content()
}
