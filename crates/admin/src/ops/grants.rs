//! What a user granted clients: consents, offline sessions (offline tokens of OpenID Connect
//! clients, and docker logins: the refresh tokens `docker login` stores, one offline session of
//! their docker-v2 client each), and revoking a client's consent with its offline tokens.

use std::collections::BTreeMap;

use portcullis_store::admin::{self, grants};
use portcullis_store::entity::{client, oidc_refresh_token};

use super::Ops;
use super::lookup::{find_client, find_user};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// The docker-v2 protocol's name: its clients' offline sessions are docker logins.
const DOCKER_V2: &str = "docker-v2";

fn is_docker(client: &client::Model) -> bool {
    client.protocol == DOCKER_V2
}

/// The id an offline session of OpenID Connect tokens goes by: its SSO session's, or the token's
/// own when it was issued without one.
pub fn offline_session_id(token: &oidc_refresh_token::Model) -> &str {
    token.session_id.as_deref().unwrap_or(&token.id)
}

/// What the user granted one client: a consent to scopes, offline tokens (or docker logins),
/// or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The client's `clientId`.
    pub client_id: String,
    /// The consented scopes; empty without a consent.
    pub scopes: Vec<String>,
    /// When the consent was given and last changed (Unix seconds); `None` without a consent.
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// The client's internal id when the user holds offline tokens or docker logins for it.
    pub offline_client: Option<String>,
}

/// One entry per client the user consented to or holds offline tokens (or docker logins) for,
/// by `clientId` (`view-users`).
pub async fn consents(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<Consent>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    let now = ops.state.now();
    let clients: BTreeMap<String, client::Model> = admin::clients::list(db, &realm_row.id)
        .await?
        .into_iter()
        .map(|c| (c.client_id.clone(), c))
        .collect();
    let mut out: BTreeMap<String, Consent> = BTreeMap::new();
    for consent in grants::consents(db, &realm_row.id, user_id).await? {
        let scopes: Vec<String> = serde_json::from_str(&consent.scopes).unwrap_or_default();
        out.insert(
            consent.client_id.clone(),
            Consent {
                client_id: consent.client_id,
                scopes,
                created_at: Some(consent.created_at),
                updated_at: Some(consent.updated_at),
                offline_client: None,
            },
        );
    }
    let offline = grants::offline_tokens(db, &realm_row.id, Some(user_id), None, now).await?;
    let docker = grants::docker_logins(db, &realm_row.id, Some(user_id), None, now).await?;
    let holders = offline
        .iter()
        .map(|t| t.client_id.as_str())
        .chain(docker.iter().map(|t| t.service.as_str()));
    for client_id in holders {
        let Some(client) = clients.get(client_id) else {
            continue;
        };
        let entry = out.entry(client_id.to_string()).or_insert_with(|| Consent {
            client_id: client_id.to_string(),
            scopes: Vec::new(),
            created_at: None,
            updated_at: None,
            offline_client: None,
        });
        entry.offline_client = Some(client.id.clone());
    }
    Ok(out.into_values().collect())
}

/// Revokes the user's consent to a client (by `clientId`) and the offline tokens (or docker
/// logins) the user holds for it (`manage-users`); 404 when there is neither.
pub async fn revoke_consent(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    client_id: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    let client = admin::clients::find_by_client_id(change.db(), &realm_row.id, client_id)
        .await?
        .ok_or_else(|| AdminError::not_found("Client not found"))?;
    let consent = grants::delete_consent(change.db(), &realm_row.id, user_id, client_id).await?;
    let tokens = if is_docker(&client) {
        let which = grants::DockerLogins::OfUser {
            user_id,
            service: client_id,
        };
        grants::revoke_docker_logins(change.db(), &realm_row.id, which).await?
    } else {
        let which = grants::OfflineTokens::OfUser { user_id, client_id };
        grants::revoke_offline_tokens(change.db(), &realm_row.id, which).await?
    };
    if !consent && tokens == 0 {
        return Err(AdminError::not_found("Consent nor offline token not found"));
    }
    change.user_changed(user_id);
    let path = format!("users/{user_id}/consents/{client_id}");
    change.record(Event::new(Op::Delete, "USER", path));
    change.commit().await
}

/// One offline session of a client: a docker login, or the offline tokens of one OpenID
/// Connect session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSession {
    pub id: String,
    pub user_id: String,
    /// Empty when the user is gone.
    pub username: String,
    /// The address a docker login was last used from.
    pub address: Option<String>,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub last_access: i64,
    /// The client's internal id and `clientId`.
    pub client: (String, String),
}

/// The user's offline sessions of a client (by internal id) (`view-users`).
pub async fn user_offline_sessions(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    client_uuid: &str,
) -> Result<Vec<OfflineSession>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    let user = find_user(db, &realm_row.id, user_id).await?;
    let client = admin::clients::find(db, &realm_row.id, client_uuid)
        .await?
        .ok_or_else(|| AdminError::not_found("Client not found"))?;
    let usernames = BTreeMap::from([(user.id, user.username)]);
    offline_sessions(ops, &realm_row.id, &client, Some(user_id), &usernames).await
}

/// Every user's offline sessions of a client (by internal id) (`view-users`).
pub async fn client_offline_sessions(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
) -> Result<Vec<OfflineSession>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, client_uuid).await?;
    let users = session_users(ops, &realm_row.id, &client).await?;
    offline_sessions(ops, &realm_row.id, &client, None, &users).await
}

/// Usernames of the users holding offline sessions of the client.
async fn session_users(
    ops: Ops<'_>,
    realm_id: &str,
    client: &client::Model,
) -> Result<BTreeMap<String, String>, AdminError> {
    let db = ops.state.store().connection();
    let now = ops.state.now();
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

/// A client's offline sessions, of one user or all: a docker-v2 client's are its docker
/// logins, an OpenID Connect client's its offline tokens grouped by session.
async fn offline_sessions(
    ops: Ops<'_>,
    realm_id: &str,
    client: &client::Model,
    user_id: Option<&str>,
    usernames: &BTreeMap<String, String>,
) -> Result<Vec<OfflineSession>, AdminError> {
    let db = ops.state.store().connection();
    let now = ops.state.now();
    let session =
        |id: &str, user: &str, address: Option<&str>, started: i64, last: i64| OfflineSession {
            id: id.to_string(),
            user_id: user.to_string(),
            username: usernames.get(user).cloned().unwrap_or_default(),
            address: address.map(str::to_string),
            started,
            last_access: last,
            client: (client.id.clone(), client.client_id.clone()),
        };
    if is_docker(client) {
        let logins =
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
