//! What an admin does to a user beyond editing them: label a credential, sign in as them
//! (impersonation), and list a client's sessions.

use axum::http::HeaderValue;
use portcullis_core::secrets::{hash_secret, new_secret};
use portcullis_store::admin::sessions::SessionPage;
use portcullis_store::admin::{self, ACCOUNT_CONSOLE_CLIENT};
use portcullis_store::entity::user_session;
use portcullis_store::{SessionDevice, UserSession};
use portcullis_web::LoginEvent;
use portcullis_web::login::{SESSION_STATUS_COOKIE, session_status};
use portcullis_web::session::{CookieScope, SESSION_COOKIE};

use super::Ops;
use super::lookup::{find_client, find_user};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// Sets the label the user sees for one of their credentials (`manage-users`, and every
/// right the user holds); an empty label clears it.
pub async fn set_credential_label(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    credential_id: &str,
    label: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let label = label.trim();
    if label.chars().count() > crate::rep::user::MAX_NAME_LEN {
        return Err(AdminError::BadRequest("User label is too long".into()));
    }
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    change.require_may_manage_user(user_id)?;
    let label = (!label.is_empty()).then_some(label);
    if !admin::users::set_credential_label(change.db(), user_id, credential_id, label).await? {
        return Err(AdminError::not_found("Credential not found"));
    }
    let path = format!("users/{user_id}/credentials/{credential_id}/userLabel");
    change.record(Event::new(Op::Action, "USER", path));
    change.commit().await
}

/// What impersonating a user gives the admin's browser.
#[derive(Debug, Clone)]
pub struct Impersonation {
    /// The user's account console.
    pub redirect: String,
    /// Whether the admin belongs to the user's realm (Keycloak then ends the admin's own
    /// session there, which the new cookie replaces).
    pub same_realm: bool,
    /// The SSO session cookie (and keycloak-js's session-status cookie) of the new session.
    pub cookies: Vec<HeaderValue>,
}

/// Starts an SSO session as the user for the admin's browser (`impersonation`). A user who
/// holds admin rights the caller lacks is refused, as is a disabled one.
pub async fn impersonate(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    device: &SessionDevice,
) -> Result<Impersonation, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::Impersonation).await?;
    let change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let user = find_user(change.db(), &realm_row.id, user_id).await?;
    change.require_may_manage_user(user_id)?;
    if !user.enabled {
        return Err(AdminError::BadRequest("User is disabled".into()));
    }
    drop(change);
    let now = ops.state.now();
    let secret = new_secret();
    let session = UserSession {
        id: hash_secret(&secret),
        realm_id: realm_row.id.clone(),
        user_id: user.id.clone(),
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ended: false,
    };
    ops.state
        .store()
        .create_user_session_from(&session, device)
        .await?;
    let scope = CookieScope::for_realm(ops.state.urls(), &realm_row.name);
    let cookie_error = || AdminError::Internal("session cookie".into());
    let cookies = vec![
        scope.set(SESSION_COOKIE, &secret).ok_or_else(cookie_error)?,
        scope
            .set_script_readable(
                SESSION_STATUS_COOKIE,
                &session_status(&session.id),
            )
            .ok_or_else(cookie_error)?,
    ];
    let impersonator = ops.caller.user.username.clone();
    let mut details = std::collections::BTreeMap::new();
    details.insert("impersonator_realm", ops.caller.realm_name().to_string());
    details.insert("impersonator", impersonator);
    ops.state.record_event(LoginEvent {
        realm: realm_row.name.clone(),
        kind: "IMPERSONATE",
        client_id: ops.caller.client_id.clone(),
        user_id: Some(user.id.clone()),
        username: Some(user.username.clone()),
        session_id: Some(session.id.clone()),
        ip_address: device.ip_address.clone(),
        error: None,
        details,
    });
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.record(Event::new(
        Op::Action,
        "USER",
        format!("users/{user_id}/impersonation"),
    ));
    change.commit().await?;
    tracing::info!(realm = %realm_row.name, user = %user.id, impersonator = %ops.caller.user.id, client = ACCOUNT_CONSOLE_CLIENT, "impersonation started");
    Ok(Impersonation {
        redirect: format!("{}/account", ops.state.realm_url(&realm_row.name)),
        same_realm: ops.caller.realm_name() == realm_row.name,
        cookies,
    })
}

/// A session of a client, with its user's name.
#[derive(Debug, Clone)]
pub struct ClientSession {
    pub session: user_session::Model,
    pub username: String,
}

/// The live SSO sessions in which the client (by internal id) holds a token (`view-clients`),
/// oldest first, a page of them.
pub async fn client_sessions(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
    first: u64,
    max: Option<u64>,
) -> Result<(String, Vec<ClientSession>), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, client_uuid).await?;
    let page = live_page(ops, &realm_row);
    let rows =
        admin::sessions::of_client(db, &realm_row.id, &client.client_id, &page, first, max)
            .await?;
    let ids: Vec<String> = rows.iter().map(|s| s.user_id.clone()).collect();
    let names = admin::sessions::usernames(db, &realm_row.id, &ids).await?;
    Ok((
        client.client_id,
        rows.into_iter()
            .map(|session| ClientSession {
                username: names.get(&session.user_id).cloned().unwrap_or_default(),
                session,
            })
            .collect(),
    ))
}

/// How many live SSO sessions the client holds a token in (`view-clients`).
pub async fn client_session_count(
    ops: Ops<'_>,
    realm: &str,
    client_uuid: &str,
) -> Result<u64, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, client_uuid).await?;
    let page = live_page(ops, &realm_row);
    Ok(admin::sessions::count_of_client(db, &realm_row.id, &client.client_id, &page).await?)
}

fn live_page(ops: Ops<'_>, realm: &portcullis_store::entity::realm::Model) -> SessionPage {
    let now = ops.state.now();
    SessionPage {
        seen_since: now.saturating_sub(realm.sso_session_idle_timeout),
        started_since: now.saturating_sub(realm.sso_session_max_lifespan),
        before: None,
        limit: 0,
    }
}
