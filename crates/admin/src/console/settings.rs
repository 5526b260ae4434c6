//! Realm settings (display name, enabled, token lifespans, brute-force detection, password
//! policy) and deleting the realm with a typed confirmation.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use portcullis_store::MASTER_REALM;
use portcullis_store::entity::realm;
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::page::realm_of;
use super::page::{ConsoleError, FormBody, field_message, redirect_with_flash, render_status};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::realms;
use crate::rep;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/settings"), get(show).post(save))
        .route(&r("/settings/delete"), get(confirm_delete).post(delete))
}

/// The settings' number fields: Keycloak's name, label and hint.
const NUMBERS: &[(&str, &str, &str)] = &[
    (
        "accessTokenLifespan",
        "Access token lifespan (seconds)",
        "How long an access token (and a docker token, unless the registry sets its own) is valid.",
    ),
    (
        "ssoSessionIdleTimeout",
        "SSO session idle (seconds)",
        "A session unused this long ends.",
    ),
    (
        "ssoSessionMaxLifespan",
        "SSO session max (seconds)",
        "A session ends this long after sign-in, used or not.",
    ),
    (
        "failureFactor",
        "Max login failures",
        "Wrong passwords in a row before the account waits.",
    ),
    (
        "waitIncrementSeconds",
        "Wait increment (seconds)",
        "How much longer the account waits after each further failure.",
    ),
    (
        "maxFailureWaitSeconds",
        "Max wait (seconds)",
        "The longest a temporary lockout lasts.",
    ),
    (
        "quickLoginCheckMilliSeconds",
        "Quick login check (milliseconds)",
        "Failures closer together than this count as an attack.",
    ),
    (
        "minimumQuickLoginWaitSeconds",
        "Minimum quick login wait (seconds)",
        "How long an account waits after failures that came too quickly.",
    ),
    (
        "maxDeltaTimeSeconds",
        "Failure reset time (seconds)",
        "Failures older than this are forgotten.",
    ),
];

/// The settings' flags: Keycloak's name and label.
const FLAGS: &[(&str, &str)] = &[
    ("bruteForceProtected", "Brute-force detection"),
    (
        "permanentLockout",
        "Permanent lockout: disable the account after the max failures",
    ),
];

/// The form's values from the stored realm.
fn values_of(row: &realm::Model) -> Map<String, Value> {
    let mut values = Map::new();
    let numbers = [
        row.access_token_lifespan,
        row.sso_session_idle_timeout,
        row.sso_session_max_lifespan,
        row.failure_factor,
        row.wait_increment_seconds,
        row.max_failure_wait_seconds,
        row.quick_login_check_millis,
        row.minimum_quick_login_wait_seconds,
        row.max_delta_time_seconds,
    ];
    for ((name, _, _), value) in NUMBERS.iter().zip(numbers) {
        values.insert((*name).to_string(), json!(value.to_string()));
    }
    values.insert(
        "bruteForceProtected".into(),
        json!(row.brute_force_protected),
    );
    values.insert("permanentLockout".into(), json!(row.permanent_lockout));
    values.insert("enabled".into(), json!(row.enabled));
    values.insert(
        "displayName".into(),
        json!(row.display_name.clone().unwrap_or_default()),
    );
    values.insert(
        "passwordPolicy".into(),
        json!(row.password_policy.clone().unwrap_or_default()),
    );
    values
}

/// The form's values as posted.
fn values_posted(form: &FormBody) -> Map<String, Value> {
    let mut values = Map::new();
    for (name, _, _) in NUMBERS {
        values.insert((*name).to_string(), json!(form.get(name).trim()));
    }
    for name in ["bruteForceProtected", "permanentLockout", "enabled"] {
        values.insert(name.to_string(), json!(form.checked(name)));
    }
    for name in ["displayName", "passwordPolicy"] {
        values.insert(name.to_string(), json!(form.get(name).trim()));
    }
    values
}

fn settings_page(
    console: &Console,
    status: StatusCode,
    values: &Map<String, Value>,
    error: Option<(&str, String)>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    let numbers: Vec<Value> = NUMBERS
        .iter()
        .map(|(name, label, hint)| {
            json!({"name": name, "label": label, "hint": hint, "value": values.get(*name)})
        })
        .collect();
    let flags: Vec<Value> = FLAGS
        .iter()
        .map(|(name, label)| json!({"name": name, "label": label, "checked": values.get(*name)}))
        .collect();
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    render_status(
        console,
        status,
        "settings.html",
        json!({
            "title": "Realm settings",
            "active": "settings",
            "values": values,
            "lifespans": &numbers[..3],
            "brute_force": &numbers[3..],
            "flags": flags,
            "is_master": realm == MASTER_REALM,
            "may_manage": console.caller.can(&realm, Right::ManageRealm),
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// `GET settings`.
async fn show(console: Console) -> Result<Response, ConsoleError> {
    let (row, _) = realms::get(console.ops(), &realm_of(&console), Right::ViewRealm).await?;
    settings_page(&console, StatusCode::OK, &values_of(&row), None)
}

/// `POST settings`: the same update as `PUT /admin/realms/{realm}` with these fields.
async fn save(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let values = values_posted(&form);
    let bad = |field: &str, message: String| {
        settings_page(
            &console,
            StatusCode::BAD_REQUEST,
            &values,
            Some((field, message)),
        )
    };
    let mut update = values.clone();
    for (name, label, _) in NUMBERS {
        match form.get(name).trim().parse::<i64>() {
            Ok(n) if n >= 0 => {
                update.insert((*name).to_string(), json!(n));
            }
            _ => {
                // The ops refuse it too; refusing here says which field.
                if !console.caller.can(&realm, Right::ManageRealm) {
                    return Err(ConsoleError::Forbidden);
                }
                let label = label.split(" (").next().unwrap_or(label);
                return bad(name, format!("{label}: give a whole number, 0 or more."));
            }
        }
    }
    let event = Value::Object(update);
    let settings = rep::parse(&event)?;
    match realms::update(console.ops(), &realm, &settings, &Map::new(), event).await {
        Ok(_) => Ok(redirect_with_flash(
            &console,
            &format!("{}/settings", console.realm_base(&realm)),
            "Realm settings saved.",
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::InvalidRequest { .. })) => {
            let message = field_message(&e);
            let field = if message.contains("master realm") {
                "enabled"
            } else {
                NUMBERS
                    .iter()
                    .map(|(name, _, _)| *name)
                    .find(|name| message.starts_with(name))
                    .unwrap_or("passwordPolicy")
            };
            bad(field, message)
        }
        Err(e) => Err(e.into()),
    }
}

fn delete_page(
    console: &Console,
    status: StatusCode,
    typed: &str,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    if !console.caller.can(&realm, Right::ManageRealm) {
        return Err(ConsoleError::Forbidden);
    }
    render_status(
        console,
        status,
        "realm_delete.html",
        json!({
            "title": "Delete realm",
            "active": "settings",
            "is_master": realm == MASTER_REALM,
            "typed": typed,
            "error_field": error.as_ref().map(|_| "confirm"),
            "error": error,
        }),
    )
}

/// `GET settings/delete`: the typed confirmation.
async fn confirm_delete(console: Console) -> Result<Response, ConsoleError> {
    realms::get(console.ops(), &realm_of(&console), Right::ViewRealm).await?;
    delete_page(&console, StatusCode::OK, "", None)
}

/// `POST settings/delete` with `confirm` = the realm's name.
async fn delete(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = realm_of(&console);
    let typed = form.get("confirm").trim();
    if typed != realm {
        if !console.caller.can(&realm, Right::ManageRealm) {
            return Err(ConsoleError::Forbidden);
        }
        let message = format!("Type the realm's name, {realm}, to delete it.");
        return delete_page(&console, StatusCode::BAD_REQUEST, typed, Some(message));
    }
    match realms::delete(console.ops(), &realm).await {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/realms", console.base),
            &format!("Realm {realm} deleted, with everything in it."),
        )),
        Err(e @ AdminError::BadRequest(_)) => delete_page(
            &console,
            StatusCode::BAD_REQUEST,
            typed,
            Some(field_message(&e)),
        ),
        Err(e) => Err(e.into()),
    }
}
