//! `/admin/realms`: create (the importer), read, update, delete.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{BASE, app, names};

#[tokio::test]
async fn creates_realms_with_keys_and_realm_management() {
    let app = app().await;
    let reply = app
        .post(
            "realms",
            json!({"realm": "shop", "displayName": "Shop", "sslRequired": "none",
                   "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
                   "roles": {"realm": [{"name": "buyer"}]},
                   "users": [{"username": "carl", "enabled": true, "realmRoles": ["buyer"],
                              "credentials": [{"type": "password", "value": "carl-pw"}]}],
                   "clients": [{"clientId": "registry", "protocol": "docker-v2", "publicClient": true,
                                "protocolMappers": [{"name": "all", "protocolMapper": "docker-v2-allow-all-mapper"}]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    assert_eq!(
        reply.header("location"),
        format!("{BASE}/auth/admin/realms/shop")
    );

    let realm = app.get("realms/shop").await;
    assert_eq!(realm.status, StatusCode::OK);
    assert_eq!(realm.value()["realm"], "shop");
    assert_eq!(realm.value()["displayName"], "Shop");
    assert_eq!(
        realm.value()["sslRequired"],
        "none",
        "unmodelled fields read back"
    );
    assert_eq!(realm.value()["accessTokenLifespan"], 300);

    let clients = app.get("realms/shop/clients").await;
    assert_eq!(
        names(&clients.value(), "clientId"),
        [
            "account",
            "account-console",
            "admin-cli",
            "broker",
            "docker-cli",
            "realm-management",
            "registry",
            "security-admin-console"
        ]
    );
    let rm = app.client_uuid("shop", "realm-management").await;
    let roles = app.get(&format!("realms/shop/clients/{rm}/roles")).await;
    let roles = names(&roles.value(), "name");
    for role in [
        "manage-users",
        "view-users",
        "query-groups",
        "manage-clients",
        "realm-admin",
        "view-events",
        "manage-events",
        "query-realms",
        "view-identity-providers",
        "manage-identity-providers",
    ] {
        assert!(roles.contains(&role.to_string()), "{role} in {roles:?}");
    }
    let admin = app
        .get(&format!(
            "realms/shop/clients/{rm}/roles/realm-admin/composites"
        ))
        .await;
    assert_eq!(
        admin.value().as_array().unwrap().len(),
        15,
        "every admin role, impersonation included"
    );
    let snapshot = app
        .store
        .load_realm_snapshot("shop")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.keys.len(), 2);
    let (_, password) = app
        .store
        .find_user_by_username(&snapshot.realm.id, "carl")
        .await
        .unwrap()
        .unwrap();
    assert!(password.unwrap().verify("carl-pw"));

    let events = app.events("shop").await;
    assert_eq!(events[0]["operationType"], "CREATE");
    assert_eq!(events[0]["resourceType"], "REALM");

    // Conflicts and bad input.
    let reply = app.post("realms", json!({"realm": "shop"})).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert!(reply.value()["errorMessage"].is_string());
    let rows = [
        (json!({"displayName": "no name"}), StatusCode::BAD_REQUEST),
        (json!({"realm": "a/b"}), StatusCode::BAD_REQUEST),
        (
            json!({"realm": "x", "enabled": "yes"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"realm": "x", "users": [{"username": "u", "realmRoles": ["missing"]}]}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"realm": "x", "clients": [{"clientId": "r", "protocol": "docker-v2",
                 "protocolMappers": [{"name": "bad", "protocolMapper": "docker-v2-repository-access-mapper",
                                      "config": {"repository": "x"}}]}]}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, want) in rows {
        let reply = app.post("realms", body.clone()).await;
        assert_eq!(reply.status, want, "{body}: {}", reply.value());
    }
    assert_eq!(
        app.get("realms/x").await.status,
        StatusCode::NOT_FOUND,
        "nothing half-written"
    );
    let reply = app
        .send(
            Method::POST,
            "realms",
            Some(&app.admin),
            Some("{not json".into()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.value(),
        json!({"error": "invalid_request", "error_description": "Cannot parse the JSON"})
    );
}

#[tokio::test]
async fn imports_a_keycloak_export_through_post_realms() {
    let app = app().await;
    let export: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/keycloak-legacy-realm.json"
    ))
    .unwrap();
    let reply = app.post("realms", export).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let snapshot = app
        .store
        .load_realm_snapshot("legacy")
        .await
        .unwrap()
        .unwrap();
    let (ben, password) = app
        .store
        .find_user_by_username(&snapshot.realm.id, "ben")
        .await
        .unwrap()
        .unwrap();
    assert!(
        password.unwrap().verify("ben-legacy-pw"),
        "pbkdf2 hashes import as they are"
    );
    let resolved = portcullis_core::resolve::resolve_user(&snapshot, &ben);
    assert!(resolved.has_role("developer") && resolved.has_role("legacy-app.app-admin"));
    let realm = app.get("realms/legacy").await;
    assert_eq!(realm.value()["displayNameHtml"], "<b>Legacy</b>");
}

#[tokio::test]
async fn updates_top_level_settings_and_deletes() {
    let app = app().await;
    let reply = app
        .put(
            "realms/acme",
            json!({"displayName": "ACME Corp", "bruteForceProtected": true, "failureFactor": 5,
                   "registrationAllowed": true, "users": [{"username": "ignored"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    let realm = app.get("realms/acme").await.value();
    assert_eq!(realm["displayName"], "ACME Corp");
    assert_eq!(realm["bruteForceProtected"], true);
    assert_eq!(realm["failureFactor"], 5);
    assert_eq!(realm["registrationAllowed"], true);
    let found = app.get("realms/acme/users?username=ignored").await;
    assert_eq!(
        found.value(),
        json!([]),
        "nested collections are ignored on update"
    );
    let snapshot = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap();
    assert!(snapshot.realm.brute_force.enabled && snapshot.realm.brute_force.max_failures == 5);

    for (body, want) in [
        (json!({"accessTokenLifespan": -5}), StatusCode::BAD_REQUEST),
        (json!({"enabled": 1}), StatusCode::BAD_REQUEST),
        (json!({"realm": "master"}), StatusCode::CONFLICT),
    ] {
        assert_eq!(
            app.put("realms/acme", body.clone()).await.status,
            want,
            "{body}"
        );
    }
    assert_eq!(
        app.put("realms/master", json!({"enabled": false}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.delete("realms/master").await.status,
        StatusCode::BAD_REQUEST
    );

    // Rename, then delete.
    assert_eq!(
        app.put("realms/acme", json!({"realm": "acme2"}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get("realms/acme").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete("realms/acme2").await.status,
        StatusCode::NO_CONTENT
    );
    let gone = app.get("realms/acme2").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.value(), json!({"error": "Realm not found."}));
    assert_eq!(
        names(
            &app.get("realms?briefRepresentation=true").await.value(),
            "realm"
        ),
        ["master"]
    );
}

/// Realm names are URL path segments: `.`, `..`, reserved characters, `%` and control
/// characters cannot round-trip one, so creating or renaming to them is 400.
#[tokio::test]
async fn realm_names_must_survive_a_url_path() {
    let app = crate::common::app().await;
    for name in [
        ".",
        "..",
        "a/b",
        "a%2fb",
        "a:b",
        "a?b",
        "a#b",
        " pad",
        "tab\there",
        "",
    ] {
        let reply = app
            .post(
                "realms",
                serde_json::json!({"realm": name, "enabled": true}),
            )
            .await;
        assert_eq!(
            reply.status,
            axum::http::StatusCode::BAD_REQUEST,
            "{name:?}: {}",
            reply.text()
        );
        let rename = app
            .put("realms/acme", serde_json::json!({"realm": name}))
            .await;
        assert_eq!(
            rename.status,
            axum::http::StatusCode::BAD_REQUEST,
            "rename to {name:?}: {}",
            rename.text()
        );
    }
    let reply = app
        .post(
            "realms",
            serde_json::json!({"realm": "team.a", "enabled": true}),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::CREATED,
        "{}",
        reply.text()
    );
}
