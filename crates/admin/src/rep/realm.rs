//! `RealmRepresentation`: the top-level settings (nested collections have their own endpoints).

use portcullis_core::password::PasswordPolicy;
use portcullis_store::entity::realm;
use serde_json::{Map, Value, json};

use portcullis_store::RealmRepresentation;

use super::{compose, from_row, to_object};
use crate::error::AdminError;

/// The fields of a realm body Portcullis keeps without interpreting.
pub fn extras(body: &Value) -> Result<Map<String, Value>, AdminError> {
    let object = body.as_object().ok_or_else(AdminError::unparsable)?;
    Ok(portcullis_store::representation::kept_realm_fields(object))
}

/// The realm's top-level settings as Keycloak returns them.
pub fn representation(
    row: &realm::Model,
    extras: &Map<String, Value>,
) -> Result<Value, AdminError> {
    let defaults = json!({
        "defaultSignatureAlgorithm": "RS256",
        "accessTokenLifespanForImplicitFlow": 900,
        "clientSessionIdleTimeout": 0,
        "clientSessionMaxLifespan": 0,
        "offlineSessionMaxLifespanEnabled": false,
        "offlineSessionMaxLifespan": 5_184_000,
        "actionTokenGeneratedByAdminLifespan": 43_200,
        "actionTokenGeneratedByUserLifespan": 300,
        "sslRequired": "external",
        "registrationAllowed": false,
        "registrationEmailAsUsername": false,
        "rememberMe": false,
        "verifyEmail": false,
        "loginWithEmailAllowed": true,
        "duplicateEmailsAllowed": false,
        "resetPasswordAllowed": false,
        "editUsernameAllowed": false,
        "requiredCredentials": ["password"],
        // This server records login events unless a realm turns them off.
        "eventsEnabled": true,
        "eventsListeners": ["jboss-logging"],
        "enabledEventTypes": [],
        "adminEventsEnabled": false,
        "adminEventsDetailsEnabled": false,
        "internationalizationEnabled": false,
        "supportedLocales": [],
        "smtpServer": {},
        "browserFlow": "browser",
        "registrationFlow": "registration",
        "directGrantFlow": "direct grant",
        "resetCredentialsFlow": "reset credentials",
        "clientAuthenticationFlow": "clients",
        "dockerAuthenticationFlow": "docker auth",
        "firstBrokerLoginFlow": "first broker login",
        "userManagedAccessAllowed": false,
        "organizationsEnabled": false,
    });
    let core = to_object(&from_row::realm(row)?)?;
    Ok(compose(defaults, extras, Value::Object(core)))
}

/// [`representation`] with the realm's `defaultRole`, read from the database.
pub async fn with_default_role(
    store: &portcullis_store::Store,
    row: &realm::Model,
    extras: &Map<String, Value>,
) -> Result<Value, AdminError> {
    let mut out = representation(row, extras)?;
    let role = portcullis_store::admin::realms::default_role(store.connection(), row).await?;
    if let (Some(role), Some(map)) = (role, out.as_object_mut()) {
        map.insert(
            "defaultRole".into(),
            Value::Object(to_object(&from_row::default_role(&role))?),
        );
    }
    Ok(out)
}

/// The brief form `GET /admin/realms?briefRepresentation=true` lists.
pub fn brief(row: &realm::Model) -> Value {
    compose(
        json!({}),
        &Map::new(),
        json!({"id": row.id, "realm": row.name, "displayName": row.display_name,
               "enabled": row.enabled}),
    )
}

/// Applies a `PUT` body's top-level settings to the row; returns the new name if the body
/// renames the realm.
pub fn apply(
    rep: &RealmRepresentation,
    row: &mut realm::Model,
) -> Result<Option<String>, AdminError> {
    let name = rep.realm.clone().filter(|n| *n != row.name);
    if let Some(name) = &name {
        validate_name(name)?;
        row.name = name.clone();
    }
    if let Some(display) = &rep.display_name {
        row.display_name = Some(display.clone()).filter(|d| !d.is_empty());
    }
    if let Some(policy) = &rep.password_policy {
        // Checked as Keycloak checks a policy an admin saves: unknown clauses and bad values
        // are refused, so a typo cannot silently weaken the realm.
        PasswordPolicy::parse(policy).map_err(|e| AdminError::BadRequest(e.to_string()))?;
        row.password_policy = Some(policy.clone()).filter(|p| !p.trim().is_empty());
    }
    if let Some(attributes) = &rep.attributes {
        row.attributes = super::to_column(attributes)?;
    }
    let flags = [
        (rep.enabled, &mut row.enabled),
        (rep.revoke_refresh_token, &mut row.revoke_refresh_token),
        (rep.brute_force_protected, &mut row.brute_force_protected),
        (rep.permanent_lockout, &mut row.permanent_lockout),
        (rep.admin_events_enabled, &mut row.admin_events_enabled),
        (
            rep.admin_events_details_enabled,
            &mut row.admin_events_details_enabled,
        ),
    ];
    for (given, field) in flags {
        if let Some(value) = given {
            *field = value;
        }
    }
    let numbers = [
        (
            "accessTokenLifespan",
            rep.access_token_lifespan,
            &mut row.access_token_lifespan,
        ),
        (
            "ssoSessionIdleTimeout",
            rep.sso_session_idle_timeout,
            &mut row.sso_session_idle_timeout,
        ),
        (
            "ssoSessionMaxLifespan",
            rep.sso_session_max_lifespan,
            &mut row.sso_session_max_lifespan,
        ),
        (
            "offlineSessionIdleTimeout",
            rep.offline_session_idle_timeout,
            &mut row.offline_session_idle_timeout,
        ),
        (
            "accessCodeLifespan",
            rep.access_code_lifespan,
            &mut row.access_code_lifespan,
        ),
        (
            "accessCodeLifespanLogin",
            rep.access_code_lifespan_login,
            &mut row.access_code_lifespan_login,
        ),
        (
            "refreshTokenMaxReuse",
            rep.refresh_token_max_reuse,
            &mut row.refresh_token_max_reuse,
        ),
        (
            "oauth2DeviceCodeLifespan",
            rep.oauth2_device_code_lifespan,
            &mut row.device_code_lifespan,
        ),
        (
            "oauth2DevicePollingInterval",
            rep.oauth2_device_polling_interval,
            &mut row.device_polling_interval,
        ),
        ("failureFactor", rep.failure_factor, &mut row.failure_factor),
        ("notBefore", rep.not_before, &mut row.not_before),
        (
            "waitIncrementSeconds",
            rep.wait_increment_seconds,
            &mut row.wait_increment_seconds,
        ),
        (
            "maxFailureWaitSeconds",
            rep.max_failure_wait_seconds,
            &mut row.max_failure_wait_seconds,
        ),
        (
            "quickLoginCheckMilliSeconds",
            rep.quick_login_check_milli_seconds,
            &mut row.quick_login_check_millis,
        ),
        (
            "minimumQuickLoginWaitSeconds",
            rep.minimum_quick_login_wait_seconds,
            &mut row.minimum_quick_login_wait_seconds,
        ),
        (
            "maxDeltaTimeSeconds",
            rep.max_delta_time_seconds,
            &mut row.max_delta_time_seconds,
        ),
    ];
    for (key, given, field) in numbers {
        if let Some(value) = given {
            if value < 0 {
                return Err(AdminError::BadRequest(format!(
                    "{key} must not be negative"
                )));
            }
            *field = value;
        }
    }
    Ok(name)
}

/// A realm name appears in every URL: see [`portcullis_core::model::check_realm_name`].
pub fn validate_name(name: &str) -> Result<(), AdminError> {
    portcullis_core::model::check_realm_name(name).map_err(AdminError::BadRequest)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn row() -> realm::Model {
        realm::Model {
            id: "rid".into(),
            name: "acme".into(),
            display_name: None,
            enabled: true,
            access_token_lifespan: 300,
            password_policy: None,
            attributes: "{}".into(),
            created_at: 0,
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            offline_session_idle_timeout: 2_592_000,
            access_code_lifespan: 60,
            access_code_lifespan_login: 1800,
            revoke_refresh_token: false,
            refresh_token_max_reuse: 0,
            device_code_lifespan: 600,
            device_polling_interval: 5,
            brute_force_protected: false,
            permanent_lockout: false,
            failure_factor: 30,
            wait_increment_seconds: 60,
            max_failure_wait_seconds: 900,
            quick_login_check_millis: 1000,
            minimum_quick_login_wait_seconds: 60,
            max_delta_time_seconds: 43200,
            default_role_id: None,
            admin_events_enabled: false,
            admin_events_details_enabled: false,
            not_before: 0,
        }
    }

    #[test]
    fn applies_top_level_settings_only() {
        let body = json!({"realm": "acme2", "displayName": "ACME", "accessTokenLifespan": "600",
                          "bruteForceProtected": true, "sslRequired": "none",
                          "users": [{"username": "ignored"}]});
        let mut r = row();
        let parsed: RealmRepresentation = super::super::parse(&body).unwrap();
        let renamed = apply(&parsed, &mut r).unwrap();
        assert_eq!(renamed.as_deref(), Some("acme2"));
        assert_eq!(r.access_token_lifespan, 600);
        assert!(r.brute_force_protected);
        let kept = extras(&body).unwrap();
        assert_eq!(Value::Object(kept.clone()), json!({"sslRequired": "none"}));
        let rep = representation(&r, &kept).unwrap();
        assert_eq!(rep["sslRequired"], "none");
        assert_eq!(rep["realm"], "acme2");
        assert_eq!(rep["displayName"], "ACME");
        assert_eq!(rep["registrationAllowed"], false);
        for bad in [
            json!({"accessTokenLifespan": -1}),
            json!({"realm": "a/b"}),
            json!({"enabled": "no"}),
        ] {
            let applied = super::super::parse::<RealmRepresentation>(&bad)
                .and_then(|rep| apply(&rep, &mut row()));
            assert!(applied.is_err(), "{bad}");
        }
    }
}
