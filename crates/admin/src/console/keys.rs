//! Keys: the realm's signing keys; add one (published, not signing), make it active, disable
//! an old one. See [`crate::ops::keys`] for how a rotation overlaps.

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_web::AppState;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, field_message, redirect_with_flash, render_status};
use super::page::{Params, param, realm_of};
use super::registries::timestamp;
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::keys::{self, KeyInfo, KeyStatus, NewKey};

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/keys"), get(list).post(add))
        .route(&r("/keys/{id}/activate"), post(activate))
        .route(&r("/keys/{id}/disable"), get(confirm_disable).post(disable))
}

/// The key types the add form offers: value and label.
const TYPES: &[(&str, &str)] = &[
    ("rsa-2048", "RSA 2048 (RS256)"),
    ("rsa-3072", "RSA 3072 (RS256)"),
    ("rsa-4096", "RSA 4096 (RS256)"),
    ("ec-p256", "EC P-256 (ES256)"),
];

fn parse_type(value: &str) -> Option<NewKey> {
    match value {
        "ec-p256" => Some(NewKey::EcP256),
        other => other
            .strip_prefix("rsa-")
            .and_then(|bits| bits.parse().ok())
            .map(NewKey::Rsa),
    }
}

fn key_json(console: &Console, realm: &str, key: &KeyInfo) -> Value {
    json!({
        "id": key.id,
        "algorithm": key.algorithm.as_str(),
        "kind": key.kind,
        "kid": key.kid,
        "libtrust_kid": key.libtrust_kid,
        "priority": key.priority,
        "status": key.status.as_str(),
        "created": timestamp(key.created_at),
        "base": format!("{}/keys/{}", console.realm_base(realm), key.id),
    })
}

async fn keys_page(
    console: &Console,
    status: StatusCode,
    chosen: &str,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let rows = keys::list(console.ops(), &realm).await?;
    let keys: Vec<Value> = rows.iter().map(|k| key_json(console, &realm, k)).collect();
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label}))
        .collect();
    render_status(
        console,
        status,
        "keys.html",
        json!({
            "title": "Keys",
            "active": "keys",
            "keys": keys,
            "types": types,
            "chosen": chosen,
            "may_manage": console.caller.can(&realm, Right::ManageRealm),
            "error_field": error.as_ref().map(|_| "type"),
            "error": error,
        }),
    )
}

/// `GET keys`.
async fn list(console: Console) -> Result<Response, ConsoleError> {
    keys_page(&console, StatusCode::OK, "rsa-2048", None).await
}

/// `POST keys` with `type`: adds a passive key (an active one if the realm has none of the
/// algorithm).
async fn add(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let chosen = form.get("type");
    let Some(new) = parse_type(chosen) else {
        if !console.caller.can(&realm, Right::ManageRealm) {
            return Err(ConsoleError::Forbidden);
        }
        let message = "Choose RSA 2048, 3072 or 4096, or EC P-256.".to_string();
        return keys_page(&console, StatusCode::BAD_REQUEST, chosen, Some(message)).await;
    };
    match keys::add(console.ops(), &realm, new).await {
        Ok(key) => {
            let message = match key.status {
                KeyStatus::Active => format!(
                    "{} key added; it signs the realm's {} tokens, as the realm had no other.",
                    key.kind, key.algorithm
                ),
                _ => format!(
                    "{} key added as passive: published in the JWKS and the registry bundle, not signing yet. Restart your registries with the new bundle, then make it active.",
                    key.kind
                ),
            };
            Ok(redirect_with_flash(
                &console,
                &format!("{}/keys", console.realm_base(&realm)),
                &message,
            ))
        }
        Err(e @ AdminError::InvalidField { .. }) => {
            keys_page(
                &console,
                StatusCode::BAD_REQUEST,
                chosen,
                Some(field_message(&e)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST keys/{id}/activate`: the key signs from now on; the previous one keeps verifying.
async fn activate(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let key = keys::activate(console.ops(), &realm, param(&path, "id")).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/keys", console.realm_base(&realm)),
        &format!(
            "Key {} now signs the realm's {} tokens. The previous key keeps verifying until you disable it.",
            key.kid, key.algorithm
        ),
    ))
}

async fn disable_page(
    console: &Console,
    status: StatusCode,
    id: &str,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    if !console.caller.can(&realm, Right::ManageRealm) {
        return Err(ConsoleError::Forbidden);
    }
    let rows = keys::list(console.ops(), &realm).await?;
    let key = rows
        .iter()
        .find(|k| k.id == id)
        .ok_or_else(|| ConsoleError::NotFound("There is no such key.".into()))?;
    render_status(
        console,
        status,
        "key_disable.html",
        json!({
            "title": "Disable key",
            "active": "keys",
            "key": key_json(console, &realm, key),
            "error": error,
        }),
    )
}

/// `GET keys/{id}/disable`: the confirmation.
async fn confirm_disable(console: Console, Path(path): Params) -> Result<Response, ConsoleError> {
    disable_page(&console, StatusCode::OK, param(&path, "id"), None).await
}

/// `POST keys/{id}/disable`: refused for the key that signs.
async fn disable(
    console: Console,
    Path(path): Params,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let id = param(&path, "id");
    match keys::disable(console.ops(), &realm, id).await {
        Ok(key) => Ok(redirect_with_flash(
            &console,
            &format!("{}/keys", console.realm_base(&realm)),
            &format!(
                "Key {} disabled: it is no longer published, and tokens it signed no longer verify.",
                key.kid
            ),
        )),
        Err(e @ AdminError::BadRequest(_)) => {
            disable_page(
                &console,
                StatusCode::BAD_REQUEST,
                id,
                Some(field_message(&e)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}
