//! `/admin/realms/{realm}/admin-events` (Keycloak's `AdminEventRepresentation`) and the login
//! events endpoint tools probe.

use axum::extract::Path;
use portcullis_store::admin::entity::admin_event;
use portcullis_store::entity::login_event;
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, no_content, ok};
use crate::error::AdminError;
use crate::extract::{Admin, Params};
use crate::ops::events::{self, EventQuery, LoginEventQuery};

fn representation(row: admin_event::Model) -> Value {
    let mut rep = json!({
        "id": row.id,
        "time": row.time,
        "realmId": row.realm_id,
        "authDetails": {
            "realmId": row.auth_realm_id,
            "clientId": row.auth_client_id,
            "userId": row.auth_user_id,
            "ipAddress": row.ip_address,
        },
        "operationType": row.operation_type,
        "resourceType": row.resource_type,
        "resourcePath": row.resource_path,
    });
    if let Some(map) = rep.as_object_mut() {
        if let Some(representation) = row.representation {
            map.insert("representation".into(), json!(representation));
        }
        if let Some(error) = row.error {
            map.insert("error".into(), json!(error));
        }
    }
    rep
}

/// Keycloak takes `dateFrom`/`dateTo` as `yyyy-MM-dd` or milliseconds; a day ends at its last
/// millisecond for `dateTo`.
fn date_param(params: &Params, name: &str, end_of_day: bool) -> Result<Option<i64>, AdminError> {
    let Some(value) = params.get(name) else {
        return Ok(None);
    };
    if let Ok(ms) = value.trim().parse::<i64>() {
        return Ok(Some(ms));
    }
    let day = parse_day(value).ok_or_else(|| AdminError::InvalidRequest {
        error: "invalid_request",
        description: format!("Invalid value for {name}: expected yyyy-MM-dd"),
    })?;
    let start = day * 86_400_000;
    Ok(Some(if end_of_day {
        start + 86_399_999
    } else {
        start
    }))
}

/// Days since 1970-01-01 of a `yyyy-MM-dd` date (proleptic Gregorian).
fn parse_day(value: &str) -> Option<i64> {
    let mut parts = value.trim().splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Keycloak's `admin-events` query parameters; `max` defaults to 100.
fn query(params: &Params) -> Result<EventQuery, AdminError> {
    let page = params.page(DEFAULT_MAX)?;
    Ok(EventQuery {
        operations: params.all("operationTypes"),
        resources: params.all("resourceTypes"),
        resource_path: params.get("resourcePath").map(str::to_string),
        auth_realm_id: params.get("authRealm").map(str::to_string),
        auth_client_id: params.get("authClient").map(str::to_string),
        user_id: params.get("authUser").map(str::to_string),
        ip_address: params.get("authIpAddress").map(str::to_string),
        date_from: date_param(params, "dateFrom", false)?,
        date_to: date_param(params, "dateTo", true)?,
        before: None,
        first: page.first,
        limit: page.max.unwrap_or(u64::MAX),
    })
}

/// Newest first.
pub async fn list(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let ops = admin.ops();
    let events = events::admin_events(ops, &realm, query(&params)?).await?;
    ok(events.into_iter().map(representation).collect::<Vec<_>>())
}

pub async fn clear(admin: Admin, Path(realm): Path<String>) -> Reply {
    events::clear_admin_events(admin.ops(), &realm).await?;
    no_content()
}

/// `GET events`: login and token events, newest first, in Keycloak's `EventRepresentation`
/// (`type`, `client`, `user`, `ipAddress`, `dateFrom`, `dateTo`, `first`, `max`).
pub async fn login_events(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let page = params.page(DEFAULT_MAX)?;
    let query = LoginEventQuery {
        kinds: params.all("type"),
        client_id: params.get("client").map(str::to_string),
        user_id: params.get("user").map(str::to_string),
        username: None,
        ip_address: params.get("ipAddress").map(str::to_string),
        date_from: date_param(&params, "dateFrom", false)?,
        date_to: date_param(&params, "dateTo", true)?,
        before: None,
        first: page.first,
        limit: page.max.unwrap_or(u64::MAX),
    };
    let ops = admin.ops();
    let events = events::login_events(ops, &realm, query).await?;
    ok(events
        .into_iter()
        .map(login_representation)
        .collect::<Vec<_>>())
}

/// Keycloak's `EventRepresentation`.
pub fn login_representation(row: login_event::Model) -> Value {
    let details: Option<Value> = row
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok());
    let mut rep = json!({
        "id": row.id,
        "time": row.time,
        "type": row.event_type,
        "realmId": row.realm_id,
        "clientId": row.client_id,
        "userId": row.user_id,
        "sessionId": row.session_id,
        "ipAddress": row.ip_address,
    });
    if let Some(map) = rep.as_object_mut() {
        if let Some(error) = row.error {
            map.insert("error".into(), json!(error));
        }
        let mut details = details.unwrap_or_else(|| json!({}));
        if let (Some(username), Some(d)) = (row.username, details.as_object_mut()) {
            d.insert("username".into(), json!(username));
        }
        map.insert("details".into(), details);
    }
    rep
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_days() {
        let cases = [
            ("1970-01-01", Some(0)),
            ("2000-03-01", Some(11_017)),
            ("2026-11-24", Some(20_781)),
            ("2026-13-01", None),
            ("yesterday", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_day(input), want, "{input}");
        }
        let p = Params::from_pairs(&[("dateFrom", "1970-01-02"), ("dateTo", "1970-01-02")]);
        assert_eq!(date_param(&p, "dateFrom", false).unwrap(), Some(86_400_000));
        assert_eq!(date_param(&p, "dateTo", true).unwrap(), Some(172_799_999));
    }
}
