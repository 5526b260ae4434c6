//! The device authorization grant (RFC 8628): the device authorization endpoint (`auth/device`)
//! hands out a device code and a short user code; the user approves at `{issuer}/device` (the
//! browser flows); the device polls the token endpoint until then.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use portcullis_core::model::Client;
use portcullis_core::resolve::resolve_user;
use portcullis_store::{DeviceCode, DeviceCodeStatus};
use portcullis_web::AppState;
use serde::Serialize;

use super::check;
use super::error::no_store;
use super::form::{Form, read_body};
use super::token::{Issue, issue, refresh_tokens_enabled};
use super::{Audit, Ctx, OAuthError, client_auth, label};
use crate::tokens::mint::SessionRef;
use crate::tokens::scopes::{grant, offline_allowed};
use crate::tokens::{hash_secret, new_secret, random_bytes};

/// Keycloak's client attribute enabling the grant.
pub(crate) const ATTR_DEVICE_ENABLED: &str = "oauth2.device.authorization.grant.enabled";
/// User codes are drawn from consonants only: no vowels (no words), no look-alikes such as 0/O.
pub(crate) const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub(crate) const USER_CODE_LEN: usize = 8;
/// User codes are unique per realm; a collision is retried with a new code this often.
const INSERT_ATTEMPTS: usize = 3;

fn device_grant_enabled(client: &Client) -> bool {
    client
        .attributes
        .get(ATTR_DEVICE_ENABLED)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// RFC 8628 §3.2 response.
#[derive(Debug, Serialize)]
struct DeviceAuthorization {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: i64,
    interval: i64,
}

/// `POST auth/device`.
pub(crate) async fn device_authorization(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut audit = Audit::new("device_authorization", &path, &headers);
    let result = authorize(&state, &path, &headers, body, &mut audit).await;
    audit.finish(result)
}

async fn authorize(
    state: &AppState,
    path: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Body,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    let ctx = Ctx::load(state, path).await?;
    let form = Form::parse(&read_body(body).await?)?;
    let authenticated = client_auth::authenticate_request(&ctx, headers, &form).await?;
    audit.authenticated(&authenticated);
    let client = authenticated.client;
    if !device_grant_enabled(client) {
        return Err(OAuthError::unauthorized_client(
            "Client is not allowed to initiate OAuth 2.0 Device Authorization Grant",
        ));
    }
    let realm = &ctx.snapshot.realm;
    let lifespan = positive_or(realm.device_code_lifespan, 600);
    let interval = positive_or(realm.device_polling_interval, 5);
    let device_code = new_secret();
    let mut attempt = 0;
    let user_code = loop {
        let user_code = new_user_code();
        let record = DeviceCode {
            device_code_hash: hash_secret(&device_code),
            user_code: user_code.clone(),
            realm_id: realm.id.clone(),
            client_id: client.client_id.clone(),
            scope: form.get("scope").unwrap_or_default().to_owned(),
            created_at: ctx.now,
            expires_at: ctx.now.saturating_add(lifespan),
            interval,
            last_polled_at: None,
            status: DeviceCodeStatus::Pending,
        };
        attempt += 1;
        match ctx.state.store().insert_device_code(&record).await {
            Ok(()) => break user_code,
            Err(e) if attempt >= INSERT_ATTEMPTS => return Err(e.into()),
            Err(e) => tracing::debug!(error = %e, "device code insert failed; retrying"),
        }
    };
    let display = display_user_code(&user_code);
    let verification_uri = format!("{}/device", ctx.issuer);
    let body = DeviceAuthorization {
        device_code,
        verification_uri_complete: format!("{verification_uri}?user_code={display}"),
        user_code: display,
        verification_uri,
        expires_in: lifespan,
        interval,
    };
    Ok(no_store(Json(body).into_response()))
}

fn positive_or(value: i64, default: i64) -> i64 {
    if value > 0 { value } else { default }
}

/// Eight letters from [`USER_CODE_ALPHABET`], uniformly (rejection sampling: bytes from 240 up
/// would favour the first letters).
pub(crate) fn new_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LEN);
    while code.len() < USER_CODE_LEN {
        for byte in random_bytes::<16>() {
            if byte < 240 && code.len() < USER_CODE_LEN {
                code.push(char::from(
                    USER_CODE_ALPHABET[usize::from(byte) % USER_CODE_ALPHABET.len()],
                ));
            }
        }
    }
    code
}

/// `BCDFGHJK` → `BCDF-GHJK`, as shown to people.
pub(crate) fn display_user_code(code: &str) -> String {
    let (head, tail) = code.split_at(code.len().min(USER_CODE_LEN / 2));
    format!("{head}-{tail}")
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5).
pub(crate) async fn device_grant(
    ctx: &Ctx,
    client: &Client,
    form: &Form,
    audit: &mut Audit,
) -> Result<Response, OAuthError> {
    if !device_grant_enabled(client) {
        return Err(OAuthError::unauthorized_client(
            "Client is not allowed to use the device authorization grant",
        ));
    }
    let device_code = form.get("device_code").ok_or(OAuthError::invalid_request(
        "Missing parameter: device_code",
    ))?;
    let hash = hash_secret(device_code);
    let store = ctx.state.store();
    let code = store
        .find_device_code(&hash)
        .await?
        .filter(|c| c.realm_id == ctx.snapshot.realm.id && c.client_id == client.client_id)
        .ok_or(OAuthError::invalid_grant("Device code not valid"))?;
    if code.expires_at <= ctx.now {
        return Err(OAuthError::device(
            "expired_token",
            "The device code has expired",
        ));
    }
    let (user_id, session_id, auth_time) = match &code.status {
        DeviceCodeStatus::Pending => return Err(pending(ctx, &code, &hash).await?),
        DeviceCodeStatus::Denied => {
            return Err(OAuthError::device(
                "access_denied",
                "The user denied the authorization request",
            ));
        }
        DeviceCodeStatus::Consumed => {
            return Err(OAuthError::invalid_grant("Device code already used"));
        }
        DeviceCodeStatus::Approved {
            user_id,
            session_id,
            auth_time,
        } => (user_id, session_id, *auth_time),
    };
    if !store.consume_device_code(&hash).await? {
        return Err(OAuthError::invalid_grant("Device code already used"));
    }
    let user = check::live_user(ctx, user_id)
        .await?
        .ok_or(OAuthError::invalid_grant("User not found or disabled"))?;
    let session = check::live_session(ctx, session_id, &user)
        .await?
        .ok_or(OAuthError::invalid_grant(check::SESSION_NOT_ACTIVE))?;
    audit.user = label(&user.username);
    let resolved = resolve_user(&ctx.snapshot, &user);
    let scopes = grant(
        &ctx.snapshot,
        client,
        Some(&code.scope),
        offline_allowed(&ctx.snapshot, &resolved),
    );
    let refresh = refresh_tokens_enabled(client).then_some(scopes.offline());
    issue(
        ctx,
        Issue {
            client,
            user: &user,
            resolved: &resolved,
            scopes,
            access_claims: None,
            session: Some(SessionRef {
                id: &session.id,
                created_at: session.created_at,
            }),
            auth_time: Some(auth_time),
            nonce: None,
            refresh,
            continues: None,
            service_account: false,
        },
    )
    .await
}

/// Not approved yet: `slow_down` when polled faster than the interval, else
/// `authorization_pending`.
async fn pending(ctx: &Ctx, code: &DeviceCode, hash: &str) -> Result<OAuthError, OAuthError> {
    let previous = ctx.state.store().record_device_poll(hash, ctx.now).await?;
    if previous.is_some_and(|p| ctx.now - p < code.interval) {
        return Ok(OAuthError::device(
            "slow_down",
            "Polling too fast; wait longer between requests",
        ));
    }
    Ok(OAuthError::device(
        "authorization_pending",
        "The user has not yet completed the authorization",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn user_codes() {
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let code = new_user_code();
            assert_eq!(code.len(), USER_CODE_LEN);
            assert!(
                code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)),
                "{code}"
            );
            seen.insert(code);
        }
        assert!(seen.len() > 190, "codes repeat too often");
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(display_user_code("BC"), "BC-");
    }

    #[test]
    fn enabled_only_by_attribute() {
        let rows: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some("true"), true),
            (Some("TRUE "), true),
            (Some("false"), false),
        ];
        for (value, expected) in rows {
            let client = Client {
                attributes: value
                    .map(|v| (ATTR_DEVICE_ENABLED.to_owned(), v.to_owned()))
                    .into_iter()
                    .collect(),
                ..Client::default()
            };
            assert_eq!(device_grant_enabled(&client), *expected, "{value:?}");
        }
    }
}
