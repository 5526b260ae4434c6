//! Server info, admin events, brute-force status, federated identities, malformed requests.

use axum::http::{Method, StatusCode};
use portcullis_store::FailureAt;
use serde_json::json;

use crate::common::{NOW, app};

#[tokio::test]
async fn server_info_for_terraform_and_the_tools() {
    let app = app().await;
    let reply = app.get("serverinfo").await;
    assert_eq!(reply.status, StatusCode::OK);
    let info = reply.value();
    let version = info["systemInfo"]["version"].as_str().unwrap();
    assert_eq!(version.split('.').count(), 3);
    assert!(
        version.split('.').all(|p| p.parse::<u32>().is_ok()),
        "{version}"
    );
    for key in [
        "componentTypes",
        "providers",
        "themes",
        "protocolMapperTypes",
    ] {
        assert!(info[key].is_object(), "{key}");
    }
    assert_eq!(
        info["identityProviders"],
        json!([{"id": "oidc", "name": "OpenID Connect v1.0"},
               {"id": "keycloak-oidc", "name": "Keycloak OpenID Connect"},
               {"id": "oauth2", "name": "OAuth v2"}])
    );
    assert_eq!(info["socialProviders"][0]["id"], "github");
    let docker: Vec<&str> = info["protocolMapperTypes"]["docker-v2"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(
        docker.contains(&"docker-v2-repository-access-mapper")
            && docker.contains(&"docker-v2-allow-all-mapper")
    );
    assert!(
        !info["protocolMapperTypes"]["openid-connect"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.send(Method::GET, "serverinfo", None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admin_events_filter_and_clear() {
    let app = app().await;
    app.post("realms/acme/roles", json!({"name": "r1"})).await;
    app.clock.advance(10);
    app.post("realms/acme/groups", json!({"name": "g1"})).await;
    app.delete("realms/acme/roles/r1").await;
    let all = app.events("acme").await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["time"], NOW * 1000, "oldest last");
    let rows = [
        ("operationTypes=CREATE", 2),
        ("operationTypes=CREATE&operationTypes=DELETE", 3),
        ("resourceTypes=GROUP", 1),
        ("resourcePath=roles/*", 2),
        (&format!("dateFrom={}", NOW * 1000 + 1), 2),
        ("dateTo=2000-01-01", 0),
        ("max=1", 1),
        ("first=2", 1),
    ];
    for (query, want) in rows {
        let reply = app.get(&format!("realms/acme/admin-events?{query}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{query}");
        assert_eq!(reply.value().as_array().unwrap().len(), want, "{query}");
    }
    let event = &all[0];
    assert_eq!(
        event["realmId"],
        app.store
            .load_realm_snapshot("acme")
            .await
            .unwrap()
            .unwrap()
            .realm
            .id
    );
    let master = app
        .store
        .load_realm_snapshot("master")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event["authDetails"]["realmId"], master.realm.id);
    assert_eq!(
        event["authDetails"]["clientId"],
        master.client("admin-cli").unwrap().id
    );
    let viewer = app.access_token("acme", "viewer").await;
    let reply = app
        .send(Method::GET, "realms/acme/admin-events", Some(&viewer), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.delete("realms/acme/admin-events").await.status,
        StatusCode::NO_CONTENT
    );
    assert!(app.events("acme").await.is_empty());
}

#[tokio::test]
async fn brute_force_status_and_unlock() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let path = format!("realms/acme/attack-detection/brute-force/users/{alice}");
    let clean = app.get(&path).await.value();
    assert_eq!(
        clean,
        json!({"numFailures": 0, "disabled": false, "lastIPFailure": "n/a", "lastFailure": 0})
    );
    let realm_id = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap()
        .realm
        .id;
    let fail = || async {
        for _ in 0..3 {
            let failure = FailureAt {
                realm_id: &realm_id,
                user_id: &alice,
                now_ms: (NOW - 5) * 1000,
                ip: Some("10.0.0.7"),
                forget_after_ms: None,
            };
            app.store.count_login_failure(failure).await.unwrap();
        }
        app.store
            .lock_user(&realm_id, &alice, NOW + 60)
            .await
            .unwrap();
    };
    fail().await;
    let locked = app.get(&path).await.value();
    assert_eq!(
        locked,
        json!({"numFailures": 3, "disabled": true, "lastIPFailure": "10.0.0.7",
                              "lastFailure": (NOW - 5) * 1000})
    );
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&path).await.value()["numFailures"], 0);
    fail().await;
    let all = "realms/acme/attack-detection/brute-force/users";
    assert_eq!(app.delete(all).await.status, StatusCode::NO_CONTENT);
    assert!(
        app.store
            .login_failures(&realm_id, &alice)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        app.get("realms/acme/attack-detection/brute-force/users/nope")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn federated_identity_links() {
    let app = app().await;
    // Only links to providers the realm has are listed, as in Keycloak.
    let reply = app
        .post(
            "realms/acme/identity-provider/instances",
            json!({"alias": "github", "providerId": "github", "enabled": true,
                   "config": {"clientId": "c", "clientSecret": "s"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.value());
    let alice = app.user_id("acme", "alice").await;
    let base = format!("realms/acme/users/{alice}/federated-identity");
    assert_eq!(app.get(&base).await.value(), json!([]));
    let link = json!({"identityProvider": "github", "userId": "gh-1", "userName": "alice-gh"});
    assert_eq!(
        app.post(&format!("{base}/github"), link.clone())
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.post(&format!("{base}/github"), link.clone())
            .await
            .status,
        StatusCode::CONFLICT
    );
    let viewer = app.user_id("acme", "viewer").await;
    let other = format!("realms/acme/users/{viewer}/federated-identity/github");
    assert_eq!(
        app.post(&other, link.clone()).await.status,
        StatusCode::CONFLICT,
        "one user per account"
    );
    assert_eq!(
        app.post(&format!("{base}/gitlab"), json!({"userName": "x"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.get(&base).await.value(), json!([link]));
    let found = app
        .get("realms/acme/users?idpAlias=github&idpUserId=gh-1")
        .await
        .value();
    assert_eq!(found[0]["username"], "alice");
    assert_eq!(
        app.delete(&format!("{base}/github")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&format!("{base}/github")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn malformed_requests_are_400_never_500() {
    let app = app().await;
    let alice = app.user_id("acme", "alice").await;
    let paths = [
        "realms/acme/users".to_string(),
        format!("realms/acme/users/{alice}"),
        "realms/acme/clients".to_string(),
        "realms/acme/roles".to_string(),
        "realms/acme/groups".to_string(),
        format!("realms/acme/users/{alice}/role-mappings/realm"),
    ];
    for path in &paths {
        for body in [
            "{",
            "[1, 2",
            "\"text\"",
            "{\"username\": {\"a\": 1}, \"clientId\": [], \"name\": 7}",
        ] {
            let method = if path.ends_with(&alice) {
                Method::PUT
            } else {
                Method::POST
            };
            let reply = app
                .send(method, path, Some(&app.admin), Some(body.into()))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{path} {body}: {}",
                reply.value()
            );
        }
    }
    let reply = app.get("realms/acme/users?first=abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("realms/nope/users").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn login_and_docker_token_events_are_recorded_and_filtered() {
    let app = app().await;
    let registry = json!({
        "clientId": "registry.acme.test",
        "protocol": "docker-v2",
        "protocolMappers": [{
            "name": "dev pulls", "protocol": "docker-v2",
            "protocolMapper": "docker-v2-repository-access-mapper",
            "config": {"repository": "**", "actions": "pull", "subject": "authenticated"}
        }]
    });
    assert_eq!(
        app.post("realms/acme/clients", registry).await.status,
        StatusCode::CREATED
    );
    let token = |password: &'static str| {
        let app = &app;
        async move {
            let request = portcullis_testkit::request(
                Method::GET,
                "/auth/realms/acme/protocol/docker-v2/auth?service=registry.acme.test&scope=repository:team/api:pull,push",
                Some(&portcullis_testkit::basic("alice", password)),
            )
            .body(axum::body::Body::empty())
            .unwrap();
            portcullis_testkit::TestApp::send(app, request).await
        }
    };
    assert_eq!(token("alice-pw").await.status, StatusCode::OK);
    assert_eq!(token("wrong").await.status, StatusCode::UNAUTHORIZED);
    app.state.flush_events().await;

    let reply = app.get("realms/acme/events").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let events = reply.value();
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"DOCKER_TOKEN") && types.contains(&"DOCKER_TOKEN_ERROR"),
        "{events}"
    );
    let issued = app
        .get("realms/acme/events?type=DOCKER_TOKEN")
        .await
        .value();
    assert_eq!(issued.as_array().unwrap().len(), 1, "{issued}");
    let issued = &issued[0];
    let alice = app.user_id("acme", "alice").await;
    assert_eq!(issued["userId"], alice.as_str());
    assert_eq!(issued["clientId"], "registry.acme.test");
    assert_eq!(
        issued["details"]["scope_requested"],
        "repository:team/api:pull,push"
    );
    assert_eq!(
        issued["details"]["scope_granted"],
        "repository:team/api:pull"
    );
    assert_eq!(issued["details"]["username"], "alice");
    let failed = app
        .get("realms/acme/events?type=DOCKER_TOKEN_ERROR")
        .await
        .value();
    assert_eq!(failed[0]["details"]["username"], "alice");
    assert!(failed[0]["error"].is_string(), "{failed}");
    assert!(failed[0]["userId"].is_null());
    // Another realm's events are not here, and they need view-events.
    let master = app
        .get("realms/master/events?type=DOCKER_TOKEN")
        .await
        .value();
    assert_eq!(master, json!([]));
    let viewer = app.access_token("acme", "viewer").await;
    let refused = app
        .send(Method::GET, "realms/acme/events", Some(&viewer), None)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
