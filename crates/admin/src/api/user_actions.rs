//! `users/{id}/credentials/{id}/userLabel`, `users/{id}/impersonation`,
//! `clients/{id}/user-sessions` and `clients/{id}/session-count`.

use axum::Json;
use axum::extract::Path;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use portcullis_web::ClientIp;
use portcullis_web::login::device_of;
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, no_content, ok};
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson, Params};
use crate::ops::user_actions;
use crate::ops::user_actions::{ActionsEmail, ActionsRequest};

/// `PUT users/{id}/credentials/{credentialId}/userLabel` with the label as `text/plain`.
pub async fn set_credential_label(
    admin: Admin,
    Path((realm, id, credential)): Path<(String, String, String)>,
    body: String,
) -> Reply {
    let ops = admin.ops();
    user_actions::set_credential_label(ops, &realm, &id, &credential, &body).await?;
    no_content()
}

/// `POST users/{id}/impersonation`: `{"redirect", "sameRealm"}`, with the user's SSO session
/// cookie for the admin's browser.
pub async fn impersonate(
    admin: Admin,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    let device = device_of(&headers, ip);
    let started = user_actions::impersonate(ops, &realm, &id, &device).await?;
    let body = json!({"redirect": started.redirect, "sameRealm": started.same_realm});
    let mut response = (StatusCode::OK, Json(body)).into_response();
    for cookie in started.cookies {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `GET clients/{id}/user-sessions?first&max`: Keycloak's `UserSessionRepresentation`s.
pub async fn client_user_sessions(
    admin: Admin,
    Path((realm, client_uuid)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let page = params.page(DEFAULT_MAX)?;
    let ops = admin.ops();
    let (client_id, sessions) =
        user_actions::client_sessions(ops, &realm, &client_uuid, page.first, page.max).await?;
    let reps: Vec<Value> = sessions
        .into_iter()
        .map(|s| {
            json!({
                "id": s.session.id,
                "username": s.username,
                "userId": s.session.user_id,
                "ipAddress": s.session.ip_address.unwrap_or_default(),
                "start": s.session.created_at.saturating_mul(1000),
                "lastAccess": s.session.last_seen_at.saturating_mul(1000),
                "rememberMe": false,
                "clients": { client_uuid.as_str(): client_id.as_str() },
                "transientUser": false,
            })
        })
        .collect();
    ok(reps)
}

/// `GET clients/{id}/session-count`: `{"count": n}`.
pub async fn client_session_count(
    admin: Admin,
    Path((realm, client_uuid)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    let count = user_actions::client_session_count(ops, &realm, &client_uuid).await?;
    ok(json!({"count": count}))
}

fn actions_request(params: &Params, actions: Vec<String>) -> Result<ActionsRequest, AdminError> {
    Ok(ActionsRequest {
        actions,
        client_id: params.get("client_id").map(str::to_string),
        redirect_uri: params.get("redirect_uri").map(str::to_string),
        lifespan: params
            .number("lifespan")?
            .map(|n| n.min(i64::MAX as u64) as i64),
    })
}

/// `PUT users/{id}/execute-actions-email?client_id&redirect_uri&lifespan` with the actions
/// as a JSON array.
pub async fn execute_actions_email(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
    AdminJson(actions): AdminJson<Vec<String>>,
) -> Reply {
    let request = actions_request(&params, actions)?;
    let ops = admin.ops();
    let kind = ActionsEmail::ExecuteActions;
    user_actions::send_actions_email(ops, &realm, &id, kind, request).await?;
    no_content()
}

/// `PUT users/{id}/send-verify-email?client_id&redirect_uri&lifespan`.
pub async fn send_verify_email(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let request = actions_request(&params, Vec::new())?;
    let ops = admin.ops();
    let kind = ActionsEmail::VerifyEmail;
    user_actions::send_actions_email(ops, &realm, &id, kind, request).await?;
    no_content()
}
