//! The kit itself: the app it builds, the tokens it mints, the peer address it gives requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use portcullis_testkit::jwt::{claims, header};
use portcullis_testkit::{BASE_URL, NOW, TestApp, basic, bearer};
use serde_json::json;

fn shop() -> serde_json::Value {
    json!({
        "realm": "shop",
        "users": [{"username": "ann", "enabled": true,
                   "credentials": [{"type": "password", "value": "ann-pw"}]}],
        "clients": [{"clientId": "registry", "protocol": "docker-v2",
                     "protocolMappers": [{"name": "all", "protocol": "docker-v2",
                                          "protocolMapper": "docker-v2-allow-all-mapper",
                                          "config": {}}]}]
    })
}

#[tokio::test]
async fn minted_admin_tokens_carry_the_token_claims_and_are_accepted() {
    let app = TestApp::builder()
        .master_admin("root", "root-pw")
        .build()
        .await;
    let token = app.admin_token().await;
    let c = claims(&token);
    assert_eq!(c["iss"], format!("{BASE_URL}/auth/realms/master"));
    assert_eq!(c["sub"], app.user_id("master", "root").await);
    assert_eq!(c["typ"], "Bearer");
    assert_eq!(c["azp"], "admin-cli");
    assert_eq!(
        (c["iat"].as_i64(), c["exp"].as_i64()),
        (Some(NOW), Some(NOW + 300))
    );
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 32), "{c}");
    assert_ne!(claims(&app.admin_token().await)["jti"], c["jti"]);
    assert_eq!(header(&token)["alg"], "RS256");

    let realms = app.get("/auth/admin/realms", Some(&bearer(&token))).await;
    assert_eq!(realms.status, StatusCode::OK, "{}", realms.text());
    assert_eq!(realms.json()[0]["realm"], "master");

    let without = app
        .access_token_with("master", "root", json!({"exp": null, "azp": "other"}))
        .await;
    assert!(claims(&without).get("exp").is_none());
    assert_eq!(claims(&without)["azp"], "other");
    let refused = app.get("/auth/admin/realms", Some(&bearer(&without))).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn serves_the_configured_urls_and_moves_the_clock() {
    let app = TestApp::builder()
        .realm(shop())
        .now(1_000_000)
        .base_url("https://login.example.test")
        .relative_path("/id")
        .build()
        .await;
    assert_eq!(
        app.issuer("shop"),
        "https://login.example.test/id/realms/shop"
    );
    let info = app.get("/id/realms/shop", None).await;
    assert_eq!(info.status, StatusCode::OK);
    assert_eq!(
        info.json()["token-service"],
        "https://login.example.test/id/realms/shop/protocol/openid-connect"
    );
    assert_eq!(
        app.get("/auth/realms/shop", None).await.status,
        StatusCode::NOT_FOUND
    );

    let url = "/id/realms/shop/protocol/docker-v2/auth?service=registry";
    let reply = app.get(url, Some(&basic("ann", "ann-pw"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        claims(reply.json()["token"].as_str().unwrap())["iat"],
        1_000_000
    );
    app.clock.advance(60);
    assert_eq!(app.now(), 1_000_060);
    let reply = app.get(url, Some(&basic("ann", "ann-pw"))).await;
    assert_eq!(
        claims(reply.json()["token"].as_str().unwrap())["iat"],
        1_000_060
    );

    // Realms imported later are served too.
    app.import_realm(&json!({"realm": "late"})).await;
    assert_eq!(
        app.get("/id/realms/late", None).await.status,
        StatusCode::OK
    );
    assert!(!app.realm_id("late").await.is_empty());
}

/// With a default peer every request counts against that address's login budget; a request
/// naming another address does not.
#[tokio::test]
async fn requests_come_from_the_default_peer_unless_they_name_one() {
    use axum::body::Body;
    use axum::http::{Request, header};

    let app = TestApp::builder()
        .realm(shop())
        .peer("198.51.100.7:4000")
        .build()
        .await;
    let url = "/auth/realms/shop/protocol/docker-v2/auth?service=registry";
    for _ in 0..20 {
        let reply = app.get(url, Some(&basic("guess", "wrong"))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let good = basic("ann", "ann-pw");
    assert_eq!(
        app.get(url, Some(&good)).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the default peer is throttled"
    );
    let elsewhere = Request::get(url)
        .header(header::AUTHORIZATION, &good)
        .body(Body::empty())
        .unwrap();
    let elsewhere = portcullis_testkit::with_peer(elsewhere, "198.51.100.8:4000");
    assert_eq!(app.send(elsewhere).await.status, StatusCode::OK);
}
