//! Credential labels, impersonation, and a client's sessions.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{App, BASE, app};

fn ua() -> Value {
    json!({
        "realm": "ua",
        "enabled": true,
        "adminEventsEnabled": true,
        "clients": [
            {"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true,
             "redirectUris": ["http://app.test/*"]},
            {"clientId": "other", "publicClient": true, "directAccessGrantsEnabled": true}
        ],
        "users": [
            {"username": "vic", "enabled": true,
             "credentials": [{"type": "password", "value": "vic-password-1"}]},
            {"username": "imp", "enabled": true,
             "clientRoles": {"realm-management": ["impersonation"]}},
            {"username": "clients", "enabled": true,
             "clientRoles": {"realm-management": ["view-clients"]}},
            {"username": "users", "enabled": true,
             "clientRoles": {"realm-management": ["view-users"]}},
            {"username": "boss", "enabled": true,
             "clientRoles": {"realm-management": ["realm-admin"]}},
            {"username": "off", "enabled": false}
        ]
    })
}

async fn ua_app() -> App {
    let app = app().await;
    app.import_realm(&ua()).await;
    app
}

const TOKEN: &str = "/auth/realms/ua/protocol/openid-connect/token";

#[tokio::test]
async fn credential_labels() {
    let app = ua_app().await;
    let vic = app.user_id("ua", "vic").await;
    let creds = app.get(&format!("realms/ua/users/{vic}/credentials")).await;
    let cred = creds.value()[0]["id"].as_str().unwrap().to_string();
    let path = format!("realms/ua/users/{vic}/credentials/{cred}/userLabel");
    let label = |token: &str, path: &str, text: &str| {
        let (token, path, text) = (token.to_string(), path.to_string(), text.to_string());
        let app = &app;
        async move {
            app.send(Method::PUT, &path, Some(&token), Some(Body::from(text)))
                .await
                .status
        }
    };
    assert_eq!(
        label(&app.admin, &path, "My laptop").await,
        StatusCode::NO_CONTENT
    );
    let creds = app
        .get(&format!("realms/ua/users/{vic}/credentials"))
        .await
        .value();
    assert_eq!(creds[0]["userLabel"], "My laptop");
    let users = app.access_token("ua", "users").await;
    assert_eq!(label(&users, &path, "x").await, StatusCode::FORBIDDEN);
    let unknown = format!("realms/ua/users/{vic}/credentials/nope/userLabel");
    assert_eq!(
        label(&app.admin, &unknown, "x").await,
        StatusCode::NOT_FOUND
    );
    let no_user = format!("realms/ua/users/nobody/credentials/{cred}/userLabel");
    assert_eq!(
        label(&app.admin, &no_user, "x").await,
        StatusCode::NOT_FOUND
    );
    // An empty label clears it.
    assert_eq!(label(&app.admin, &path, "").await, StatusCode::NO_CONTENT);
    let creds = app
        .get(&format!("realms/ua/users/{vic}/credentials"))
        .await
        .value();
    assert!(creds[0].get("userLabel").is_none_or(Value::is_null));
}

#[tokio::test]
async fn impersonation_needs_the_role_and_every_right_the_user_holds() {
    let app = ua_app().await;
    let vic = app.user_id("ua", "vic").await;
    let boss = app.user_id("ua", "boss").await;
    let off = app.user_id("ua", "off").await;
    let imp = app.access_token("ua", "imp").await;
    let users = app.access_token("ua", "users").await;
    let post = |token: String, user: String| {
        let app = &app;
        async move {
            app.send(
                Method::POST,
                &format!("realms/ua/users/{user}/impersonation"),
                Some(&token),
                None,
            )
            .await
        }
    };
    let reply = post(app.admin.clone(), vic.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.value(),
        json!({"redirect": format!("{BASE}/auth/realms/ua/account"), "sameRealm": false})
    );
    let cookie = reply.header("set-cookie");
    assert!(cookie.starts_with("PORTCULLIS_SESSION="), "{cookie}");
    assert!(cookie.contains("Path=/auth/realms/ua/"), "{cookie}");
    let sessions = app
        .get(&format!("realms/ua/users/{vic}/sessions"))
        .await
        .value();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");

    let reply = post(imp.clone(), vic.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.value()["sameRealm"], true);
    // A user holding admin rights the caller lacks, a caller without the role, a disabled
    // user, an unknown one.
    assert_eq!(post(imp.clone(), boss).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(users, vic.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(imp.clone(), off).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        post(imp, "nobody".into()).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        app.events("ua")
            .await
            .iter()
            .any(|e| e["resourcePath"] == format!("users/{vic}/impersonation"))
    );
}

#[tokio::test]
async fn client_sessions_and_their_count() {
    let app = ua_app().await;
    let grant = [
        ("grant_type", "password"),
        ("client_id", "app"),
        ("username", "vic"),
        ("password", "vic-password-1"),
        ("scope", "openid"),
    ];
    for _ in 0..2 {
        let reply = app.post_form(TOKEN, None, &grant).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let app_uuid = app.client_uuid("ua", "app").await;
    let other = app.client_uuid("ua", "other").await;
    let count = app
        .get(&format!("realms/ua/clients/{app_uuid}/session-count"))
        .await
        .value();
    assert_eq!(count, json!({"count": 2}));
    let list = app
        .get(&format!("realms/ua/clients/{app_uuid}/user-sessions"))
        .await
        .value();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["username"], "vic");
    assert_eq!(list[0]["clients"][&app_uuid], "app");
    assert!(list[0]["start"].as_i64().unwrap() > 1_000_000_000_000);
    let page = app
        .get(&format!(
            "realms/ua/clients/{app_uuid}/user-sessions?first=1&max=5"
        ))
        .await
        .value();
    assert_eq!(page.as_array().unwrap().len(), 1);
    let none = app
        .get(&format!("realms/ua/clients/{other}/session-count"))
        .await
        .value();
    assert_eq!(none, json!({"count": 0}));
    // A logout ends them.
    let vic = app.user_id("ua", "vic").await;
    app.post(&format!("realms/ua/users/{vic}/logout"), json!({}))
        .await;
    let count = app
        .get(&format!("realms/ua/clients/{app_uuid}/session-count"))
        .await
        .value();
    assert_eq!(count, json!({"count": 0}));

    let clients = app.access_token("ua", "clients").await;
    let users = app.access_token("ua", "users").await;
    for (token, status) in [(&clients, StatusCode::OK), (&users, StatusCode::FORBIDDEN)] {
        for path in ["user-sessions", "session-count"] {
            let reply = app
                .send(
                    Method::GET,
                    &format!("realms/ua/clients/{app_uuid}/{path}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(reply.status, status, "{path}");
        }
    }
    let reply = app.get("realms/ua/clients/nope/session-count").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}
