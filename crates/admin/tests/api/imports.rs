//! `partialImport` (FAIL / SKIP / OVERWRITE, one transaction) and `partial-export`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{app, names};

fn legacy_export() -> Value {
    serde_json::from_str(include_str!(
        "../../../../tests/fixtures/keycloak-legacy-realm.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn imports_a_keycloak_export_into_an_existing_realm() {
    let app = app().await;
    let mut body = legacy_export();
    body["ifResourceExists"] = json!("FAIL");
    // acme has Keycloak's built-in `offline_access` as every realm does: with FAIL the
    // export's copy conflicts, as in Keycloak.
    let reply = app.post("realms/acme/partialImport", body.clone()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.value());
    body["roles"]["realm"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["name"] != "offline_access");
    let reply = app.post("realms/acme/partialImport", body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let summary = &reply.value();
    assert_eq!(summary["skipped"], 0);
    assert_eq!(summary["overwritten"], 0);
    let results = summary["results"].as_array().unwrap();
    assert_eq!(summary["added"].as_u64().unwrap() as usize, results.len());
    let added_users: Vec<&str> = results
        .iter()
        .filter(|r| r["resourceType"] == "USER")
        .map(|r| r["resourceName"].as_str().unwrap())
        .collect();
    assert_eq!(added_users, ["anna", "ben", "former"]);
    assert!(
        results
            .iter()
            .any(|r| r["resourceType"] == "CLIENT" && r["resourceName"] == "registry.legacy")
    );

    let snapshot = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap();
    let (anna, password) = app
        .store
        .find_user_by_username(&snapshot.realm.id, "anna")
        .await
        .unwrap()
        .unwrap();
    assert!(
        password.unwrap().verify("anna-legacy-pw"),
        "pbkdf2-sha512 hash imported as is"
    );
    let resolved = portcullis_core::resolve::resolve_user(&snapshot, &anna);
    assert!(resolved.in_group("/engineering/sre") && resolved.has_role("developer"));
    let (ben, _) = app
        .store
        .find_user_by_username(&snapshot.realm.id, "ben")
        .await
        .unwrap()
        .unwrap();
    let ben = portcullis_core::resolve::resolve_user(&snapshot, &ben);
    assert!(ben.has_role("legacy-app.app-admin"));
    let ops = app
        .get("realms/acme/roles/operator/composites")
        .await
        .value();
    assert_eq!(names(&ops, "name"), ["app-admin", "developer"]);

    // FAIL: a second import conflicts and writes nothing.
    let mut extra = body.clone();
    extra["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"username": "newcomer", "enabled": true}));
    let reply = app.post("realms/acme/partialImport", extra.clone()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.value());
    assert_eq!(
        app.get("realms/acme/users?username=newcomer&exact=true")
            .await
            .value(),
        json!([])
    );

    // SKIP: only the newcomer is added.
    extra["ifResourceExists"] = json!("SKIP");
    let reply = app.post("realms/acme/partialImport", extra.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    assert_eq!(reply.value()["added"], 1);
    assert_eq!(reply.value()["overwritten"], 0);
    assert!(reply.value()["skipped"].as_u64().unwrap() > 5);

    // OVERWRITE: existing users are replaced, keeping their ids.
    let anna_id = app.user_id("acme", "anna").await;
    let overwrite = json!({"ifResourceExists": "OVERWRITE",
                           "users": [{"username": "anna", "enabled": true, "firstName": "Anna2"}]});
    let reply = app.post("realms/acme/partialImport", overwrite).await;
    assert_eq!(reply.value()["overwritten"], 1, "{}", reply.value());
    let anna = app
        .get(&format!("realms/acme/users/{anna_id}"))
        .await
        .value();
    assert_eq!(anna["firstName"], "Anna2");

    // Dangling references and bad policies are 400, and roll back.
    for body in [
        json!({"users": [{"username": "x", "realmRoles": ["missing"]}]}),
        json!({"users": [{"username": "y", "groups": ["/missing"]}]}),
        json!({"roles": {"client": {"missing-client": [{"name": "r"}]}}}),
        json!({"ifResourceExists": "MAYBE"}),
        json!({"users": 5}),
    ] {
        let reply = app.post("realms/acme/partialImport", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.value()
        );
    }
    assert_eq!(
        app.get("realms/acme/users?username=x&exact=true")
            .await
            .value(),
        json!([])
    );
}

#[tokio::test]
async fn partial_export_masks_secrets_and_leaves_out_users() {
    let app = app().await;
    app.post(
        "realms/acme/clients",
        json!({"clientId": "backend", "secret": "s3cret"}),
    )
    .await;
    let reply = app
        .post(
            "realms/acme/partial-export?exportClients=true&exportGroupsAndRoles=true",
            json!(null),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let export = reply.value();
    assert_eq!(export["realm"], "acme");
    assert!(export.get("users").is_none());
    assert!(export.get("components").is_none(), "no key material");
    let backend = export["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clientId"] == "backend")
        .unwrap();
    assert_eq!(backend["secret"], "**********");
    assert!(
        export["roles"]["realm"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "lead")
    );
    assert_eq!(export["groups"][0]["name"], "eng");
    let bare = app
        .post("realms/acme/partial-export", json!(null))
        .await
        .value();
    assert!(bare.get("clients").is_none() && bare.get("roles").is_none());

    // The export imports into another realm (secrets masked stay generated there).
    app.post("realms", json!({"realm": "copy"})).await;
    let mut body = export.clone();
    body["ifResourceExists"] = json!("SKIP");
    let reply = app.post("realms/copy/partialImport", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let copy = app.client_uuid("copy", "backend").await;
    let secret = app
        .get(&format!("realms/copy/clients/{copy}/client-secret"))
        .await
        .value();
    assert_ne!(secret["value"], "**********");
    assert!(
        names(&app.get("realms/copy/roles").await.value(), "name").contains(&"lead".to_string())
    );
}

/// The clients need `view-clients` besides `view-realm`; without the clients, client roles stay
/// out of the export too.
#[tokio::test]
async fn partial_export_of_clients_needs_view_clients() {
    let app = app().await;
    let auditor = json!({"users": [{"username": "auditor", "enabled": true,
                                    "clientRoles": {"realm-management": ["view-realm"]}}]});
    let reply = app.post("realms/acme/partialImport", auditor).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    let token = app.access_token("acme", "auditor").await;
    let export = |query: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let path = format!("realms/acme/partial-export{query}");
            app.send(Method::POST, &path, Some(token), None).await
        }
    };
    let refused = export("?exportClients=true").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text());
    let reply = export("?exportGroupsAndRoles=true").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let roles = &reply.json()["roles"];
    assert!(roles["realm"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(roles.get("client").is_none(), "{roles}");
    assert!(reply.json().get("clients").is_none());
    let all = app
        .post(
            "realms/acme/partial-export?exportClients=true&exportGroupsAndRoles=true",
            json!(null),
        )
        .await
        .value();
    assert!(
        all["roles"]["client"]["realm-management"].is_array(),
        "{}",
        all["roles"]
    );
}

/// An import past the point where PostgreSQL's planner statistics are refreshed (1,024 users)
/// adds every user and keeps the uniqueness checks exact.
#[tokio::test]
async fn a_large_import_adds_every_user() {
    let app = app().await;
    let users: Vec<Value> = (0..1100)
        .map(
            |i| json!({"username": format!("bulk-{i:04}"), "email": format!("bulk-{i:04}@x.test")}),
        )
        .collect();
    let body = json!({"ifResourceExists": "FAIL", "users": users});
    let reply = app.post("realms/acme/partialImport", body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    assert_eq!(reply.value()["added"], 1100);
    let count = app.get("realms/acme/users/count?search=bulk-").await;
    assert_eq!(count.value(), json!(1100));
    let again = app.post("realms/acme/partialImport", body).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.value());
}
