//! `private_key_jwt` client authentication (RFC 7523 client assertions, Keycloak's
//! `client-jwt`): a client registers a certificate (or public key) under
//! `jwt.credential.certificate` and authenticates at the token endpoint with a JWT it signs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
use portcullis_testkit::TestApp;
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const ISSUER: &str = "http://id.test/auth/realms/acme";
const TOKEN: &str = "/auth/realms/acme/protocol/openid-connect/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn key(alg: Algorithm) -> SigningKey {
    SigningKey::from_material(&KeyMaterial::generate(alg, "signer", NOW).unwrap()).unwrap()
}

async fn app(registered: &SigningKey) -> TestApp {
    let certificate = STANDARD.encode(registered.certificate_der());
    let realm = json!({
        "realm": "acme",
        "enabled": true,
        "clients": [
            {"clientId": "signer", "publicClient": false, "serviceAccountsEnabled": true,
             "clientAuthenticatorType": "client-jwt",
             "attributes": {"jwt.credential.certificate": certificate}},
            {"clientId": "keyless", "publicClient": false, "secret": "s",
             "serviceAccountsEnabled": true}
        ]
    });
    TestApp::builder()
        .realm(realm)
        .now(NOW)
        .base_url("http://id.test")
        .build()
        .await
}

fn assertion(key: &SigningKey, claims: Value) -> String {
    let header = json!({"alg": key.algorithm().as_str(), "typ": "JWT"});
    key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .unwrap()
}

fn claims(client: &str, jti: &str) -> Value {
    json!({"iss": client, "sub": client, "aud": format!("{ISSUER}/protocol/openid-connect/token"),
           "jti": jti, "iat": NOW, "exp": NOW + 60})
}

async fn grant(app: &TestApp, client: Option<&str>, jwt: &str) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", jwt),
    ];
    if let Some(client) = client {
        form.push(("client_id", client));
    }
    let reply = app.post_form(TOKEN, None, &form).await;
    let body = serde_json::from_str(&reply.text()).unwrap_or(Value::Null);
    (reply.status, body)
}

#[tokio::test]
async fn a_signed_assertion_authenticates_the_client_once() {
    let registered = key(Algorithm::Rs256);
    let app = app(&registered).await;
    let jwt = assertion(&registered, claims("signer", "a-1"));
    let (status, body) = grant(&app, Some("signer"), &jwt).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    // The same jti again: a replay.
    let (status, body) = grant(&app, None, &jwt).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    // The issuer as audience, in an array, and without client_id in the form.
    let mut other = claims("signer", "a-2");
    other["aud"] = json!([ISSUER]);
    let (status, _) = grant(&app, None, &assertion(&registered, other)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_assertions_are_invalid_client() {
    let registered = key(Algorithm::Rs256);
    let app = app(&registered).await;
    let stranger = key(Algorithm::Rs256);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims("signer", &uuid());
        change(&mut c);
        c
    };
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "wrong aud",
            assertion(
                &registered,
                with(&|c| c["aud"] = json!("https://elsewhere.test/token")),
            ),
            None,
        ),
        (
            "expired",
            assertion(&registered, with(&|c| c["exp"] = json!(NOW - 1))),
            None,
        ),
        (
            "no exp",
            assertion(
                &registered,
                with(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
            ),
            None,
        ),
        (
            "no jti",
            assertion(
                &registered,
                with(&|c| {
                    c.as_object_mut().unwrap().remove("jti");
                }),
            ),
            None,
        ),
        ("wrong key", assertion(&stranger, with(&|_| {})), None),
        (
            "iss differs",
            assertion(&registered, with(&|c| c["iss"] = json!("keyless"))),
            None,
        ),
        (
            "client_id differs",
            assertion(&registered, with(&|_| {})),
            Some("keyless"),
        ),
        (
            "client without key",
            assertion(
                &registered,
                json!({"iss": "keyless", "sub": "keyless",
            "aud": ISSUER, "jti": "k", "exp": NOW + 60}),
            ),
            None,
        ),
        ("not a JWT", "abc.def".to_string(), None),
    ];
    for (name, jwt, client_id) in cases {
        let (status, body) = grant(&app, client_id, &jwt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["error"], "invalid_client", "{name}");
    }
    // A wrong assertion type.
    let jwt = assertion(&registered, claims("signer", "t-1"));
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", "urn:other"),
        ("client_assertion", jwt.as_str()),
    ];
    assert_eq!(
        app.post_form(TOKEN, None, &form).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_ec_key_registered_as_a_public_key_works_too() {
    let registered = key(Algorithm::Es256);
    let realm = json!({
        "realm": "acme",
        "enabled": true,
        "clients": [{"clientId": "signer", "publicClient": false, "serviceAccountsEnabled": true,
                     "attributes": {"jwt.credential.public.key": STANDARD.encode(registered.spki_der())}}]
    });
    let app = TestApp::builder()
        .realm(realm)
        .now(NOW)
        .base_url("http://id.test")
        .build()
        .await;
    let (status, body) = grant(&app, None, &assertion(&registered, claims("signer", "e-1"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
