//! `/admin/realms/{realm}/attack-detection/brute-force/users`: a user's brute-force status,
//! and unlocking one user or all.

use axum::extract::Path;
use serde_json::json;

use super::{Reply, no_content, ok};
use crate::extract::Admin;
use crate::ops::users;

/// `{"numFailures", "disabled", "lastIPFailure", "lastFailure"}`, as Keycloak reports it; a user
/// without failures has zeros and `"n/a"`.
pub async fn status(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let status = users::brute_force(ops, &realm, &id).await?;
    ok(json!({
        "numFailures": status.failures,
        "disabled": status.locked,
        "lastIPFailure": status.last_ip.unwrap_or_else(|| "n/a".into()),
        "lastFailure": status.last_failure_ms,
    }))
}

pub async fn clear(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    users::unlock(admin.ops(), &realm, &id).await?;
    no_content()
}

pub async fn clear_all(admin: Admin, Path(realm): Path<String>) -> Reply {
    users::unlock_all(admin.ops(), &realm).await?;
    no_content()
}
