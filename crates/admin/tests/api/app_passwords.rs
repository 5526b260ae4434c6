//! `users/{id}/app-passwords`: create (secret shown once), list (never the secret), revoke
//! (refused at the docker endpoint at once), validation and rights.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use portcullis_testkit::{basic, jwt::part};
use serde_json::{Value, json};

use crate::common::{App, NOW, app};

const TOKEN: &str = "/auth/realms/reg/protocol/docker-v2/auth?service=registry";

fn reg() -> Value {
    json!({
        "realm": "reg",
        "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
        "enabled": true,
        "attributes": {"appPasswordMaxLifespan": "86400"},
        "groups": [{"name": "platform"}],
        "users": [
            {"username": "alice", "enabled": true, "groups": ["/platform"],
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "viewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-users"]}},
            {"username": "helpdesk", "enabled": true,
             "clientRoles": {"realm-management": ["manage-users", "view-users"]}},
            {"username": "boss", "enabled": true,
             "clientRoles": {"realm-management": ["realm-admin"]}}
        ],
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [{"name": "platform", "protocol": "docker-v2",
                "protocolMapper": "docker-v2-repository-access-mapper",
                "config": {"repository": "platform/**", "actions": "pull,push", "group": "/platform"}}]},
            {"clientId": "web", "publicClient": true, "redirectUris": ["http://web.test/*"]}
        ]
    })
}

async fn setup() -> (App, String) {
    let app = app().await;
    app.import_realm(&reg()).await;
    let alice = app.user_id("reg", "alice").await;
    (app, alice)
}

async fn as_user(app: &App, method: Method, path: &str, token: &str, body: Option<Value>) -> u16 {
    let body = body.map(|b| Body::from(b.to_string()));
    app.send(method, path, Some(token), body)
        .await
        .status
        .as_u16()
}

fn new(name: &str) -> Value {
    json!({"name": name, "expiresAt": NOW + 3600, "repositories": ["platform/api"], "actions": ["push"],
           "registry": "registry"})
}

/// A docker token request as alice with an app password.
async fn docker(app: &App, scopes: &str, secret: &str) -> portcullis_testkit::Reply {
    let auth = basic("alice", secret);
    std::ops::Deref::deref(app)
        .get(&format!("{TOKEN}{scopes}"), Some(&auth))
        .await
}

fn access(reply: &portcullis_testkit::Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    part(reply.json()["token"].as_str().unwrap(), 1)["access"].clone()
}

#[tokio::test]
async fn the_secret_is_shown_once_and_a_revoked_app_password_is_refused_at_once() {
    let (app, alice) = setup().await;
    let path = format!("realms/reg/users/{alice}/app-passwords");
    let reply = app.post(&path, new("laptop")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let made = reply.json();
    let secret = made["secret"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("pcp_") && secret.len() >= 4 + 22,
        "{secret}"
    );
    assert!(
        reply
            .header(header::LOCATION)
            .ends_with(&format!("/users/{alice}/app-passwords/{id}"))
    );
    assert_eq!(made["status"], "active");
    assert_eq!(made["expiresAt"], NOW + 3600);
    assert!(
        made["dockerLogin"]
            .as_str()
            .unwrap()
            .contains("--username 'alice' --password-stdin registry")
    );

    // The docker endpoint: the restriction ∩ alice's rights, no refresh token.
    let scopes = "&scope=repository:platform/api:pull,push&scope=repository:platform/web:pull&offline_token=true";
    let reply = docker(&app, scopes, &secret).await;
    assert_eq!(
        access(&reply),
        json!([{"type": "repository", "name": "platform/api", "actions": ["pull", "push"]},
               {"type": "repository", "name": "platform/web", "actions": []}])
    );
    assert!(reply.json().get("refresh_token").is_none());

    // Listed (with its last use), never with the secret or its hash; nor in the admin event.
    let listed = app.get(&path).await;
    assert_eq!(listed.status, StatusCode::OK);
    let text = listed.text();
    assert!(!text.contains(&secret) && !text.contains(&portcullis_testkit::sha256_hex(&secret)));
    let row = &listed.json()[0];
    assert_eq!(row["id"], id.as_str());
    assert_eq!(row["name"], "laptop");
    assert_eq!(row["registry"], "registry");
    assert_eq!(row["repositories"], json!(["platform/api"]));
    assert_eq!(row["lastUsedAt"], NOW);
    assert!(row.get("secret").is_none());
    let events = app.events("reg").await;
    assert!(events.iter().any(|e| e["operationType"] == "CREATE"
        && e["resourcePath"] == format!("users/{alice}/app-passwords/{id}").as_str()));
    assert!(!serde_json::to_string(&events).unwrap().contains(&secret));

    // Revoked: refused at once (the verified-credentials cache held it a moment ago).
    assert_eq!(
        app.delete(&format!("{path}/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let reply = docker(&app, scopes, &secret).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let row = app.get(&path).await.json()[0].clone();
    assert_eq!(
        (row["status"].clone(), row["revokedAt"].clone()),
        (json!("revoked"), json!(NOW))
    );
    assert_eq!(
        app.delete(&format!("{path}/{id}")).await.status,
        StatusCode::NO_CONTENT,
        "again: no-op"
    );
    assert_eq!(
        app.delete(&format!("{path}/nope")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.events("reg")
            .await
            .iter()
            .any(|e| e["operationType"] == "DELETE")
    );

    // Creation and revocation are login events too.
    app.state.flush_events().await;
    let kinds: Vec<String> = app
        .get("realms/reg/events")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    for kind in [
        "APP_PASSWORD_CREATED",
        "APP_PASSWORD_REVOKED",
        "DOCKER_TOKEN",
        "DOCKER_TOKEN_ERROR",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn requests_outside_the_rules_are_400_and_unknown_users_404() {
    let (app, alice) = setup().await;
    let path = format!("realms/reg/users/{alice}/app-passwords");
    let with = |field: &str, value: Value| {
        let mut body = new("ci");
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        body
    };
    let rows = [
        with("name", Value::Null),
        with("name", json!("  ")),
        with("expiresAt", Value::Null),
        with("expiresAt", json!(NOW)),
        // The realm's maximum is a day here (default 90 days).
        with("expiresAt", json!(NOW + 86_401)),
        with("registry", json!("web")),
        with("registry", json!("nope")),
        with("actions", json!(["write"])),
        with("repositories", json!(["a/${user}"])),
        with("repositories", json!("platform/**")),
    ];
    for body in rows {
        let reply = app.post(&path, body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
    }
    let reply = app
        .post(&path, with("expiresAt", json!(NOW + 86_400)))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(app.get(&path).await.json().as_array().unwrap().len(), 1);
    let reply = app
        .post("realms/reg/users/nobody/app-passwords", new("x"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("realms/reg/users/nobody/app-passwords")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn listing_takes_view_users_and_changes_manage_users_over_a_user_the_caller_may_manage() {
    let (app, alice) = setup().await;
    let boss = app.user_id("reg", "boss").await;
    let viewer = app.access_token("reg", "viewer").await;
    let helpdesk = app.access_token("reg", "helpdesk").await;
    let outsider = app.access_token("acme", "boss").await;
    let alices = format!("/auth/admin/realms/reg/users/{alice}/app-passwords");
    let bosses = format!("/auth/admin/realms/reg/users/{boss}/app-passwords");

    assert_eq!(
        as_user(&app, Method::GET, &alices, &viewer, None).await,
        200
    );
    assert_eq!(
        as_user(&app, Method::POST, &alices, &viewer, Some(new("x"))).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::POST, &alices, &helpdesk, Some(new("x"))).await,
        201
    );
    // The boss holds realm-admin, which the helpdesk lacks: no credential to sign in as them.
    assert_eq!(
        as_user(&app, Method::POST, &bosses, &helpdesk, Some(new("x"))).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::GET, &alices, &outsider, None).await,
        403
    );

    let id = app.get(&alices[12..]).await.json()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = format!("{alices}/{id}");
    assert_eq!(
        as_user(&app, Method::DELETE, &one, &viewer, None).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::DELETE, &one, &outsider, None).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::DELETE, &one, &helpdesk, None).await,
        204
    );
    // Another user's path does not reach it.
    let wrong = format!("{bosses}/{id}");
    assert_eq!(
        app.send(Method::DELETE, &wrong, Some(&app.admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
