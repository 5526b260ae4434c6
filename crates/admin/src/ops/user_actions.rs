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

use serde_json::Value;

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
        scope
            .set(SESSION_COOKIE, &secret)
            .ok_or_else(cookie_error)?,
        scope
            .set_script_readable(SESSION_STATUS_COOKIE, &session_status(&session.id))
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
        admin::sessions::of_client(db, &realm_row.id, &client.client_id, &page, first, max).await?;
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

/// Which e-mail [`send_actions_email`] sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionsEmail {
    /// `execute-actions-email`: the listed required actions.
    ExecuteActions,
    /// `send-verify-email`: `VERIFY_EMAIL`.
    VerifyEmail,
}

/// What an action e-mail asks for.
#[derive(Debug, Clone, Default)]
pub struct ActionsRequest {
    pub actions: Vec<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    /// Seconds the link works; the realm's `actionTokenGeneratedByAdminLifespan` otherwise.
    pub lifespan: Option<i64>,
}

/// Keycloak's default `actionTokenGeneratedByAdminLifespan`: 12 hours.
const ADMIN_ACTION_LIFESPAN: i64 = 43_200;

/// Sends the user an e-mail with a link that runs required actions (`manage-users`, and every
/// right the user holds), through the realm's SMTP server. Keycloak's 400s for a user without
/// an e-mail address or disabled, an unknown client, an action a link cannot run; a 500 that
/// says why when the realm has no SMTP settings or the server refuses the message.
pub async fn send_actions_email(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    kind: ActionsEmail,
    request: ActionsRequest,
) -> Result<(), AdminError> {
    use portcullis_web::login::action_token::{
        ActionToken, LINK_ACTIONS, VERIFY_EMAIL, sign_action_token,
    };
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let db = ops.state.store().connection();
    let user = find_user(db, &realm_row.id, user_id).await?;
    let change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    drop(change);
    let failed = |m: String| {
        AdminError::Failed(match kind {
            ActionsEmail::ExecuteActions => format!("Failed to send execute actions email: {m}"),
            ActionsEmail::VerifyEmail => format!("Failed to send verify email: {m}"),
        })
    };
    let Some(email) = user.email.clone() else {
        return Err(AdminError::BadRequest("User email missing".into()));
    };
    if !user.enabled {
        return Err(AdminError::BadRequest("User is disabled".into()));
    }
    if request.redirect_uri.is_some() && request.client_id.is_none() {
        return Err(AdminError::BadRequest("Client id missing".into()));
    }
    if let Some(client_id) = &request.client_id {
        let client = admin::clients::find_by_client_id(db, &realm_row.id, client_id)
            .await?
            .ok_or_else(|| AdminError::BadRequest("Client doesn't exist".into()))?;
        if !client.enabled {
            return Err(AdminError::BadRequest("Client is not enabled".into()));
        }
    }
    let actions = match kind {
        ActionsEmail::VerifyEmail => vec![VERIFY_EMAIL.to_string()],
        ActionsEmail::ExecuteActions => request.actions.clone(),
    };
    if actions.is_empty() {
        return Err(AdminError::BadRequest("No actions given".into()));
    }
    if let Some(unknown) = actions.iter().find(|a| !LINK_ACTIONS.contains(&a.as_str())) {
        return Err(AdminError::BadRequest(format!(
            "Provided invalid required actions: {unknown} cannot be done through an e-mailed link"
        )));
    }
    let extras = admin::extras::get(db, &realm_row.id).await?;
    let settings = super::mail::SmtpSettings::of_realm(&extras)
        .map_err(failed)?
        .ok_or_else(|| {
            failed(format!(
                "realm '{}' has no SMTP server configured (set smtpServer.host and smtpServer.from)",
                realm_row.name
            ))
        })?;
    let lifespan = request
        .lifespan
        .filter(|l| *l > 0)
        .or_else(|| {
            extras
                .get("actionTokenGeneratedByAdminLifespan")
                .and_then(Value::as_i64)
        })
        .unwrap_or(ADMIN_ACTION_LIFESPAN);
    let now = ops.state.now();
    let snapshot = ops
        .state
        .realm(&realm_row.name)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))?;
    let issuer = ops.state.issuer(&realm_row.name);
    let token = ActionToken {
        jti: admin::new_id(),
        user_id: user.id.clone(),
        email: Some(email.clone()),
        actions: actions.clone(),
        expires_at: now.saturating_add(lifespan),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
    };
    let key = sign_action_token(&snapshot.keys, &issuer, &token, now).map_err(failed)?;
    let mut link = format!("{issuer}/login-actions/action-token?key={key}");
    if let Some(client_id) = &request.client_id {
        link.push_str("&client_id=");
        link.push_str(&portcullis_web::session::encode_path_segment(client_id));
    }
    let realm_name = realm_row
        .display_name
        .clone()
        .unwrap_or_else(|| realm_row.name.clone());
    let expiry = expiry_text(lifespan);
    let (subject, body) = match kind {
        ActionsEmail::VerifyEmail => (
            "Verify email".to_string(),
            format!(
                "Someone has created a {realm_name} account with this email address. If this \
                 was you, click the link below to verify your email address\n\n{link}\n\nThis \
                 link will expire within {expiry}.\n\nIf you didn't create this account, just \
                 ignore this message.\n"
            ),
        ),
        ActionsEmail::ExecuteActions => {
            let names: Vec<&str> = actions
                .iter()
                .map(|a| match a.as_str() {
                    "UPDATE_PASSWORD" => "Update Password",
                    _ => "Verify Email",
                })
                .collect();
            (
                "Update Your Account".to_string(),
                format!(
                    "Your administrator has just requested that you update your {realm_name} \
                     account by performing the following action(s): {}. Click on the link below \
                     to start this process.\n\n{link}\n\nThis link will expire within \
                     {expiry}.\n\nIf you are unaware that your administrator has requested \
                     this, just ignore this message and nothing will be changed.\n",
                    names.join(", ")
                ),
            )
        }
    };
    settings
        .send(&email, &subject, body)
        .await
        .map_err(failed)?;
    let path = match kind {
        ActionsEmail::ExecuteActions => format!("users/{user_id}/execute-actions-email"),
        ActionsEmail::VerifyEmail => format!("users/{user_id}/send-verify-email"),
    };
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.record(Event::new(Op::Action, "USER", path).with(serde_json::json!(actions)));
    change.commit().await
}

/// "12 hours", "5 minutes": how Keycloak's mails say how long a link works.
fn expiry_text(seconds: i64) -> String {
    let (n, unit) = match seconds {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    match n {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}
