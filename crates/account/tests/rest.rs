//! Keycloak's account REST basics on the real router (the test kit): `GET {realm}/account`
//! with `Accept: application/json` answers the profile keycloak-js's `loadUserProfile()`
//! reads, behind the one access-token validator, only for tokens meant for the account (the
//! `account` audience, or the `account` client's `view-profile`/`manage-account` role), with
//! CORS for the token's client's web origins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use portcullis_testkit::{Reply, TestApp, bearer, request};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;
const SPA: &str = "https://spa.test";
const ACCOUNT: &str = "/auth/realms/acme/account";

fn acme() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        "users": [
            {"username": "alice", "enabled": true, "email": "alice@acme.test",
             "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
             "attributes": {"department": ["wonderland"]},
             "clientRoles": {"account": ["view-profile", "manage-account"]},
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "bob", "enabled": true,
             "credentials": [{"type": "password", "value": "bob-pw"}]}
        ],
        "clients": [
            {"clientId": "spa", "enabled": true, "publicClient": true,
             "redirectUris": ["https://spa.test/*"], "webOrigins": ["+"],
             "directAccessGrantsEnabled": true}
        ]
    })
}

fn zeta() -> Value {
    json!({
        "realm": "zeta",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [{"clientId": "spa", "enabled": true, "publicClient": true,
                     "redirectUris": ["https://spa.test/*"], "webOrigins": ["+"]}]
    })
}

async fn app() -> TestApp {
    TestApp::builder()
        .realms([acme(), zeta()])
        .now(NOW)
        .base_url("https://id.test")
        .build()
        .await
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = request(Method::GET, path, None);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    app.send(builder.body(Body::empty()).unwrap()).await
}

async fn profile(app: &TestApp, token: &str, origin: &str) -> Reply {
    let auth = bearer(token);
    get_with(
        app,
        ACCOUNT,
        &[
            ("accept", "application/json"),
            ("authorization", &auth),
            ("origin", origin),
        ],
    )
    .await
}

#[tokio::test]
async fn the_profile_needs_a_valid_token_of_the_realm() {
    let app = app().await;
    let json = [("accept", "application/json"), ("origin", SPA)];

    let anonymous = get_with(&app, ACCOUNT, &json).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.header(header::WWW_AUTHENTICATE),
        r#"Bearer realm="acme""#
    );

    let garbage = get_with(
        &app,
        ACCOUNT,
        &[
            ("accept", "application/json"),
            ("authorization", "Bearer nope"),
        ],
    )
    .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    assert_eq!(garbage.json()["error"], "invalid_token");

    let foreign = app
        .access_token_with("zeta", "alice", json!({"azp": "spa", "aud": "account"}))
        .await;
    assert_eq!(
        profile(&app, &foreign, SPA).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = app
        .access_token_with("acme", "alice", json!({"azp": "spa"}))
        .await;
    let reply = profile(&app, &token, SPA).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.text());
    let body = reply.json();
    assert_eq!(body["id"], app.user_id("acme", "alice").await);
    assert_eq!(body["username"], "alice");
    assert_eq!(body["email"], "alice@acme.test");
    assert_eq!(body["firstName"], "Alice");
    assert_eq!(body["lastName"], "Liddell");
    assert_eq!(body["emailVerified"], true);
    assert_eq!(body["attributes"], json!({"department": ["wonderland"]}));
    assert_eq!(reply.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), SPA);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");

    let evil = profile(&app, &token, "https://evil.test").await;
    assert_eq!(evil.status, StatusCode::OK);
    assert!(
        !evil
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );

    let preflight = app
        .send(
            request(Method::OPTIONS, ACCOUNT, None)
                .header("origin", SPA)
                .header("access-control-request-headers", "authorization")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::OK);
    assert_eq!(preflight.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), SPA);
}

#[tokio::test]
async fn only_tokens_meant_for_the_account_read_the_profile() {
    let app = app().await;
    // Bob holds none of the account client's roles: a token of his is for the spa only...
    let bobs = app
        .access_token_with("acme", "bob", json!({"azp": "spa", "aud": "spa"}))
        .await;
    let refused = profile(&app, &bobs, SPA).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["error"], "insufficient_scope");
    assert!(
        refused
            .header(header::WWW_AUTHENTICATE)
            .contains(r#"error="insufficient_scope""#)
    );
    assert_eq!(
        refused.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        SPA,
        "the client's page may read why"
    );
    // ...unless the account is its audience.
    for aud in [json!("account"), json!(["spa", "account"])] {
        let token = app
            .access_token_with("acme", "bob", json!({"azp": "spa", "aud": aud}))
            .await;
        assert_eq!(profile(&app, &token, SPA).await.status, StatusCode::OK);
    }
    // A token the token endpoint minted for alice (who holds account roles) carries the
    // account audience, as Keycloak's do.
    let minted = app
        .post_form(
            "/auth/realms/acme/protocol/openid-connect/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "spa"),
                ("username", "alice"),
                ("password", "alice-pw"),
            ],
        )
        .await;
    assert_eq!(minted.status, StatusCode::OK, "{}", minted.text());
    let access = minted.json()["access_token"].as_str().unwrap().to_string();
    let claims = portcullis_testkit::jwt::claims(&access);
    let aud = &claims["aud"];
    assert!(
        aud == "account"
            || aud
                .as_array()
                .is_some_and(|a| a.contains(&json!("account"))),
        "{claims}"
    );
    assert_eq!(profile(&app, &access, SPA).await.status, StatusCode::OK);
    // Bob's own minted token: no account role, no account audience.
    let minted = app
        .post_form(
            "/auth/realms/acme/protocol/openid-connect/token",
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "spa"),
                ("username", "bob"),
                ("password", "bob-pw"),
            ],
        )
        .await;
    let access = minted.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        profile(&app, &access, SPA).await.status,
        StatusCode::FORBIDDEN
    );
}
