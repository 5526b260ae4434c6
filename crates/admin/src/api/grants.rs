//! What a user granted clients, in Keycloak's shapes: `users/{id}/consents` (consents and
//! clients holding offline tokens), `users/{id}/offline-sessions/{client}`,
//! `clients/{id}/offline-sessions` and `offline-session-count`, and `DELETE sessions/{id}`.
//!
//! Docker logins are listed as offline sessions of their docker-v2 client, one per login (the
//! refresh token `docker login` stores): an admin sees each with its creation, last use and
//! address, and revokes one (`DELETE sessions/{id}?isOffline=true`), all of a registry
//! (`DELETE users/{id}/consents/{clientId}`) or all of the user (`POST users/{id}/logout`).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::admin::{self, grants};
use portcullis_store::entity::{client, docker_refresh_token, oidc_refresh_token};
use portcullis_web::{AppState, Protocols};
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, find_client, find_user, no_content, ok};
use crate::auth::{Caller, Right};
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::extract::Params;

/// The docker-v2 protocol's name: its clients' offline sessions are docker logins.
const DOCKER_V2: &str = "docker-v2";

fn is_docker(client: &client::Model) -> bool {
    client.protocol == DOCKER_V2
}

/// `GET users/{id}/consents`: one entry per client the user consented to or holds offline
/// tokens (or docker logins) for.
pub async fn consents(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    find_user(db, &realm_row.id, &id).await?;
    let now = state.now();
    let clients: BTreeMap<String, client::Model> = admin::clients::list(db, &realm_row.id)
        .await?
        .into_iter()
        .map(|c| (c.client_id.clone(), c))
        .collect();
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for consent in grants::consents(db, &realm_row.id, &id).await? {
        let scopes: Vec<String> = serde_json::from_str(&consent.scopes).unwrap_or_default();
        out.insert(
            consent.client_id.clone(),
            json!({
                "clientId": consent.client_id,
                "grantedClientScopes": scopes,
                "createdDate": consent.created_at.saturating_mul(1000),
                "lastUpdatedDate": consent.updated_at.saturating_mul(1000),
                "additionalGrants": [],
            }),
        );
    }
    let offline = grants::offline_tokens(db, &realm_row.id, Some(&id), None, now).await?;
    let docker = grants::docker_logins(db, &realm_row.id, Some(&id), None, now).await?;
    let holders = offline
        .iter()
        .map(|t| t.client_id.as_str())
        .chain(docker.iter().map(|t| t.service.as_str()));
    for client_id in holders {
        let Some(client) = clients.get(client_id) else {
            continue;
        };
        let entry = out.entry(client_id.to_string()).or_insert_with(|| {
            json!({
                "clientId": client_id,
                "grantedClientScopes": [],
                "createdDate": null,
                "lastUpdatedDate": null,
                "additionalGrants": [],
            })
        });
        let grant = json!({"client": client.id, "key": "Offline Token"});
        if let Some(list) = entry["additionalGrants"].as_array_mut()
            && !list.contains(&grant)
        {
            list.push(grant);
        }
    }
    ok(out.into_values().collect::<Vec<_>>())
}

/// `DELETE users/{id}/consents/{clientId}`: revokes the consent and the offline tokens (or
/// docker logins) the user holds for the client.
pub async fn revoke_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, client_id)): Path<(String, String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let mut change = Change::begin(&state, &caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, &id).await?;
    let client = admin::clients::find_by_client_id(change.db(), &realm_row.id, &client_id)
        .await?
        .ok_or_else(|| AdminError::not_found("Client not found"))?;
    let consent = grants::delete_consent(change.db(), &realm_row.id, &id, &client_id).await?;
    let tokens = if is_docker(&client) {
        let which = grants::DockerLogins::OfUser {
            user_id: &id,
            service: &client_id,
        };
        grants::revoke_docker_logins(change.db(), &realm_row.id, which).await?
    } else {
        let which = grants::OfflineTokens::OfUser {
            user_id: &id,
            client_id: &client_id,
        };
        grants::revoke_offline_tokens(change.db(), &realm_row.id, which).await?
    };
    if !consent && tokens == 0 {
        return Err(AdminError::not_found("Consent nor offline token not found"));
    }
    change.user_changed(&id);
    let path = format!("users/{id}/consents/{client_id}");
    change.record(Event::new(Op::Delete, "USER", path));
    change.commit().await?;
    no_content()
}

/// `GET users/{id}/offline-sessions/{clientUuid}`.
pub async fn user_offline_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, client_uuid)): Path<(String, String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    let user = find_user(db, &realm_row.id, &id).await?;
    let client = admin::clients::find(db, &realm_row.id, &client_uuid)
        .await?
        .ok_or_else(|| AdminError::not_found("Client not found"))?;
    let usernames = BTreeMap::from([(user.id.clone(), user.username.clone())]);
    let sessions = offline_sessions(&state, &realm_row.id, &client, Some(&id), &usernames).await?;
    ok(sessions)
}

/// `GET clients/{id}/offline-sessions?first&max`: every user's offline sessions of the client.
pub async fn client_offline_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, client_uuid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let sessions = all_offline_sessions(&state, &caller, &realm, &client_uuid).await?;
    ok(params.page(DEFAULT_MAX)?.slice(sessions))
}

/// `GET clients/{id}/offline-session-count`: `{"count": n}`.
pub async fn client_offline_session_count(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, client_uuid)): Path<(String, String)>,
) -> Reply {
    let sessions = all_offline_sessions(&state, &caller, &realm, &client_uuid).await?;
    ok(json!({"count": sessions.len()}))
}

/// Every user's offline sessions of a client, for a caller who may view users.
async fn all_offline_sessions(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    client_uuid: &str,
) -> Result<Vec<Value>, AdminError> {
    let realm_row = target_realm(state, caller, realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    let client = find_client(db, &realm_row.id, client_uuid).await?;
    let users = session_users(state, &realm_row.id, &client).await?;
    offline_sessions(state, &realm_row.id, &client, None, &users).await
}

/// `DELETE sessions/{id}?isOffline=true|false`: ends one SSO session, or one offline session
/// (a docker login, or the offline tokens of one OpenID Connect session).
pub async fn delete_session(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let offline = params.flag_or("isOffline", false)?;
    let ops = crate::ops::Ops::new(&state, &caller, &protocols);
    crate::ops::sessions::end(ops, &realm, &id, offline).await?;
    no_content()
}

/// The id an offline session of OpenID Connect tokens goes by: its SSO session's, or the token's
/// own when it was issued without one.
pub(crate) fn offline_session_id(token: &oidc_refresh_token::Model) -> &str {
    token.session_id.as_deref().unwrap_or(&token.id)
}

/// Usernames of the users holding offline sessions of the client.
async fn session_users(
    state: &AppState,
    realm_id: &str,
    client: &client::Model,
) -> Result<BTreeMap<String, String>, AdminError> {
    let db = state.store().connection();
    let now = state.now();
    let ids: Vec<String> = if is_docker(client) {
        grants::docker_logins(db, realm_id, None, Some(&client.client_id), now)
            .await?
            .into_iter()
            .map(|t| t.user_id)
            .collect()
    } else {
        grants::offline_tokens(db, realm_id, None, Some(&client.client_id), now)
            .await?
            .into_iter()
            .map(|t| t.user_id)
            .collect()
    };
    let mut names = BTreeMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        if let Some(user) = admin::users::find(db, realm_id, &id).await? {
            names.insert(id, user.username);
        }
    }
    Ok(names)
}

/// Keycloak's `UserSessionRepresentation`s of a client's offline sessions, of one user or all.
async fn offline_sessions(
    state: &AppState,
    realm_id: &str,
    client: &client::Model,
    user_id: Option<&str>,
    usernames: &BTreeMap<String, String>,
) -> Result<Vec<Value>, AdminError> {
    let db = state.store().connection();
    let now = state.now();
    let clients = json!({ client.id.clone(): client.client_id.clone() });
    let session = |id: &str, user: &str, address: Option<&str>, start: i64, last: i64| {
        json!({
            "id": id,
            "username": usernames.get(user).cloned().unwrap_or_default(),
            "userId": user,
            "ipAddress": address.unwrap_or(""),
            "start": start.saturating_mul(1000),
            "lastAccess": last.saturating_mul(1000),
            "rememberMe": false,
            "clients": clients,
            "transientUser": false,
        })
    };
    if is_docker(client) {
        let logins: Vec<docker_refresh_token::Model> =
            grants::docker_logins(db, realm_id, user_id, Some(&client.client_id), now).await?;
        return Ok(logins
            .iter()
            .map(|t| {
                let address = t.last_address.as_deref();
                session(&t.id, &t.user_id, address, t.created_at, t.last_used_at)
            })
            .collect());
    }
    let tokens =
        grants::offline_tokens(db, realm_id, user_id, Some(&client.client_id), now).await?;
    let mut by_session: BTreeMap<&str, (&str, i64, i64)> = BTreeMap::new();
    for token in &tokens {
        let entry = by_session.entry(offline_session_id(token)).or_insert((
            &token.user_id,
            token.created_at,
            token.created_at,
        ));
        entry.1 = entry.1.min(token.created_at);
        entry.2 = entry.2.max(token.created_at);
    }
    Ok(by_session
        .into_iter()
        .map(|(id, (user, start, last))| session(id, user, None, start, last))
        .collect())
}
