//! What a user granted clients, in Keycloak's shapes: `users/{id}/consents` (consents and
//! clients holding offline tokens), `users/{id}/offline-sessions/{client}`,
//! `clients/{id}/offline-sessions` and `offline-session-count`, and `DELETE sessions/{id}`.
//!
//! Docker logins are listed as offline sessions of their docker-v2 client, one per login (the
//! refresh token `docker login` stores): an admin sees each with its creation, last use and
//! address, and revokes one (`DELETE sessions/{id}?isOffline=true`), all of a registry
//! (`DELETE users/{id}/consents/{clientId}`) or all of the user (`POST users/{id}/logout`).

use axum::extract::Path;
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, no_content, ok};
use crate::extract::{Admin, Params};
use crate::ops::grants::{self, Consent, OfflineSession};
use crate::ops::sessions;

/// `GET users/{id}/consents`: one entry per client the user consented to or holds offline
/// tokens (or docker logins) for.
pub async fn consents(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let consents = grants::consents(ops, &realm, &id).await?;
    ok(consents.into_iter().map(consent_rep).collect::<Vec<_>>())
}

/// Keycloak's `UserConsentRepresentation`.
fn consent_rep(consent: Consent) -> Value {
    let grants: Vec<Value> = consent
        .offline_client
        .into_iter()
        .map(|client| json!({"client": client, "key": "Offline Token"}))
        .collect();
    json!({
        "clientId": consent.client_id,
        "grantedClientScopes": consent.scopes,
        "createdDate": consent.created_at.map(|t| t.saturating_mul(1000)),
        "lastUpdatedDate": consent.updated_at.map(|t| t.saturating_mul(1000)),
        "additionalGrants": grants,
    })
}

/// `DELETE users/{id}/consents/{clientId}`: revokes the consent and the offline tokens (or
/// docker logins) the user holds for the client.
pub async fn revoke_consent(
    admin: Admin,
    Path((realm, id, client_id)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    grants::revoke_consent(ops, &realm, &id, &client_id).await?;
    no_content()
}

/// `GET users/{id}/offline-sessions/{clientUuid}`.
pub async fn user_offline_sessions(
    admin: Admin,
    Path((realm, id, client_uuid)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    let sessions = grants::user_offline_sessions(ops, &realm, &id, &client_uuid).await?;
    ok(session_reps(sessions))
}

/// `GET clients/{id}/offline-sessions?first&max`: every user's offline sessions of the client.
pub async fn client_offline_sessions(
    admin: Admin,
    Path((realm, client_uuid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let ops = admin.ops();
    let sessions = grants::client_offline_sessions(ops, &realm, &client_uuid).await?;
    ok(params.page(DEFAULT_MAX)?.slice(session_reps(sessions)))
}

/// `GET clients/{id}/offline-session-count`: `{"count": n}`.
pub async fn client_offline_session_count(
    admin: Admin,
    Path((realm, client_uuid)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    let sessions = grants::client_offline_sessions(ops, &realm, &client_uuid).await?;
    ok(json!({"count": sessions.len()}))
}

/// Keycloak's `UserSessionRepresentation`s of offline sessions.
fn session_reps(sessions: Vec<OfflineSession>) -> Vec<Value> {
    sessions
        .into_iter()
        .map(|s| {
            let (client_uuid, client_id) = s.client;
            json!({
                "id": s.id,
                "username": s.username,
                "userId": s.user_id,
                "ipAddress": s.address.unwrap_or_default(),
                "start": s.started.saturating_mul(1000),
                "lastAccess": s.last_access.saturating_mul(1000),
                "rememberMe": false,
                "clients": { client_uuid: client_id },
                "transientUser": false,
            })
        })
        .collect()
}

/// `DELETE sessions/{id}?isOffline=true|false`: ends one SSO session, or one offline session
/// (a docker login, or the offline tokens of one OpenID Connect session).
pub async fn delete_session(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let offline = params.flag_or("isOffline", false)?;
    let ops = admin.ops();
    sessions::end(ops, &realm, &id, offline).await?;
    no_content()
}
