//! Who may call what: 401 without a valid token, 403 without the right.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{NOW, app};

#[tokio::test]
async fn tokens_must_verify() {
    let app = app().await;
    let users = "realms/acme/users";
    let other_realm_key = {
        // Signed by acme's key but claiming to come from master.
        let admin = app.user_id("master", "admin").await;
        let claims = json!({"iss": "http://id.test/auth/realms/master", "sub": admin,
                            "typ": "Bearer", "exp": NOW + 300});
        app.sign("acme", portcullis_core::keys::Algorithm::Rs256, &claims)
            .await
    };
    let tampered = {
        let mut parts: Vec<String> = app.admin.split('.').map(str::to_string).collect();
        parts[1] = parts[1].replace('A', "B");
        parts.join(".")
    };
    let rows: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("tampered", Some(tampered)),
        ("foreign key", Some(other_realm_key)),
        (
            "expired",
            Some(
                app.access_token_with("master", "admin", json!({"exp": NOW}))
                    .await,
            ),
        ),
        (
            "refresh token",
            Some(
                app.access_token_with("master", "admin", json!({"typ": "Refresh"}))
                    .await,
            ),
        ),
        (
            "no exp",
            Some(
                app.access_token_with("master", "admin", json!({"exp": null}))
                    .await,
            ),
        ),
        (
            "unknown issuer",
            Some(
                app.access_token_with(
                    "master",
                    "admin",
                    json!({"iss": "http://evil.test/auth/realms/master"}),
                )
                .await,
            ),
        ),
        (
            "unknown user",
            Some(
                app.access_token_with("master", "admin", json!({"sub": "ghost"}))
                    .await,
            ),
        ),
    ];
    for (what, token) in rows {
        let reply = app.send(Method::GET, users, token.as_deref(), None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.value()
        );
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{what}");
    }
    assert_eq!(app.get(users).await.status, StatusCode::OK);
}

#[tokio::test]
async fn realm_management_roles_grant_per_realm_rights() {
    let app = app().await;
    let viewer = app.access_token("acme", "viewer").await;
    let boss = app.access_token("acme", "boss").await;
    let nobody = app.access_token("acme", "nobody").await;
    let new_user = || {
        Some(axum::body::Body::from(
            r#"{"username": "xy1", "enabled": true}"#,
        ))
    };
    let rows = [
        (&viewer, Method::GET, "realms/acme/users", StatusCode::OK),
        (&viewer, Method::GET, "realms/acme/groups", StatusCode::OK),
        (
            &viewer,
            Method::POST,
            "realms/acme/users",
            StatusCode::FORBIDDEN,
        ),
        (
            &viewer,
            Method::GET,
            "realms/acme/clients",
            StatusCode::FORBIDDEN,
        ),
        (&viewer, Method::GET, "realms/acme", StatusCode::OK),
        (
            &viewer,
            Method::GET,
            "realms/master/users",
            StatusCode::FORBIDDEN,
        ),
        (
            &viewer,
            Method::GET,
            "realms/nope/users",
            StatusCode::FORBIDDEN,
        ),
        (
            &nobody,
            Method::GET,
            "realms/acme/users",
            StatusCode::FORBIDDEN,
        ),
        (&nobody, Method::GET, "realms/acme", StatusCode::FORBIDDEN),
        (&boss, Method::GET, "realms/acme/clients", StatusCode::OK),
        (
            &boss,
            Method::POST,
            "realms/acme/users",
            StatusCode::CREATED,
        ),
        (&boss, Method::GET, "realms/master", StatusCode::FORBIDDEN),
        (&boss, Method::GET, "serverinfo", StatusCode::OK),
    ];
    for (token, method, path, want) in rows {
        let body = (method == Method::POST).then(new_user).flatten();
        let reply = app.send(method.clone(), path, Some(token), body).await;
        assert_eq!(reply.status, want, "{method} {path}: {}", reply.value());
    }
    // Realms: only master admins create them; others see only their own realm.
    let create = || Some(axum::body::Body::from(r#"{"realm": "made-by-boss"}"#));
    let reply = app
        .send(Method::POST, "realms", Some(&boss), create())
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.send(Method::GET, "realms", Some(&boss), None).await;
    assert_eq!(crate::common::names(&reply.value(), "realm"), ["acme"]);
    let reply = app.send(Method::GET, "realms", Some(&nobody), None).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.get("realms").await;
    assert_eq!(
        crate::common::names(&reply.value(), "realm"),
        ["acme", "master"]
    );
}

#[tokio::test]
async fn roles_come_from_the_database_not_the_token() {
    let app = app().await;
    let viewer = app.access_token("acme", "viewer").await;
    assert_eq!(
        app.send(Method::GET, "realms/acme/users", Some(&viewer), None)
            .await
            .status,
        StatusCode::OK
    );
    // Take the role away: the same token stops working at once.
    let viewer_id = app.user_id("acme", "viewer").await;
    let rm = app.client_uuid("acme", "realm-management").await;
    let mappings = app
        .get(&format!(
            "realms/acme/users/{viewer_id}/role-mappings/clients/{rm}"
        ))
        .await;
    let reply = app
        .delete_with(
            &format!("realms/acme/users/{viewer_id}/role-mappings/clients/{rm}"),
            mappings.value().clone(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.value());
    assert_eq!(
        app.send(Method::GET, "realms/acme/users", Some(&viewer), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // A disabled user's token is refused.
    let reply = app
        .put(
            &format!("realms/acme/users/{viewer_id}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.send(Method::GET, "realms/acme", Some(&viewer), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn master_keeps_an_administrator() {
    let app = app().await;
    let admin_id = app.user_id("master", "admin").await;
    let user = format!("realms/master/users/{admin_id}");
    let conflict = |r: &portcullis_testkit::Reply| {
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.value());
        assert!(
            r.value()["errorMessage"]
                .as_str()
                .unwrap()
                .contains("administrator")
        );
    };
    conflict(&app.delete(&user).await);
    conflict(&app.put(&user, json!({"enabled": false})).await);
    let admin_role = app.get("realms/master/roles/admin").await.value();
    conflict(
        &app.delete_with(&format!("{user}/role-mappings/realm"), json!([admin_role]))
            .await,
    );
    conflict(&app.delete("realms/master/roles/admin").await);
    assert_eq!(app.get(&user).await.value()["enabled"], true);

    // With a second admin, the first may go.
    let reply = app
        .post(
            "realms/master/users",
            json!({"username": "second", "enabled": true}),
        )
        .await;
    let second = reply.created_id();
    let reply = app
        .post(
            &format!("realms/master/users/{second}/role-mappings/realm"),
            json!([admin_role]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&user).await.status, StatusCode::NO_CONTENT);
}
