//! The assembled router: health, realm info and published keys, under `/auth` and at the root.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use portcullis_testkit::{Reply, TestApp};
use serde_json::json;

const NOW: i64 = 1_800_000_000;

async fn app(relative: &str) -> TestApp {
    TestApp::builder()
        .realm(json!({"realm": "acme"}))
        .now(NOW)
        .base_url("https://id.example.test")
        .relative_path(relative)
        .build()
        .await
}

async fn get(app: &TestApp, path: &str) -> Reply {
    app.get(path, None).await
}

#[tokio::test]
async fn health_realm_info_and_certs() {
    let app = app("/auth").await;
    assert_eq!(get(&app, "/auth/health/live").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/auth/health/ready").await.status, StatusCode::OK);

    let reply = get(&app, "/auth/realms/acme").await;
    assert_eq!(reply.status, StatusCode::OK);
    let info = reply.json();
    assert_eq!(info["realm"], "acme");
    assert_eq!(
        info["token-service"],
        "https://id.example.test/auth/realms/acme/protocol/openid-connect"
    );
    assert!(
        info["public_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("MII"))
    );

    let reply = get(&app, "/auth/realms/acme/protocol/openid-connect/certs").await;
    assert_eq!(reply.status, StatusCode::OK);
    let jwks = reply.json();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().filter_map(|k| k["alg"].as_str()).collect();
    assert!(
        algs.contains(&"RS256") && algs.contains(&"ES256"),
        "{algs:?}"
    );
    for key in keys {
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| k.len() == 43));
        assert!(key["x5c"][0].as_str().is_some());
    }

    assert_eq!(
        get(&app, "/auth/realms/nope").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/auth/realms/nope/protocol/openid-connect/certs")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/realms/acme").await.status,
        StatusCode::NOT_FOUND
    );

    app.store.connection().clone().close().await.unwrap();
    assert_eq!(
        get(&app, "/auth/health/ready").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn an_empty_relative_path_serves_from_the_root() {
    let app = app("").await;
    assert_eq!(get(&app, "/health/live").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/realms/acme").await.status, StatusCode::OK);
    let reply = get(&app, "/realms/acme/protocol/docker-v2/auth?service=nope").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}
