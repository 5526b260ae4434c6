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
                     "clientAuthenticatorType": "client-jwt",
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

const INTROSPECT: &str = "/auth/realms/acme/protocol/openid-connect/token/introspect";
const HMAC_SECRET: &str = "a-long-shared-secret-for-client-secret-jwt";

/// An assertion signed with HMAC and `secret` (`client_secret_jwt`).
fn hmac_assertion(alg: &str, secret: &str, claims: Value) -> String {
    use aws_lc_rs::hmac;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let algorithm = match alg {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA512,
    };
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{payload}");
    let tag = hmac::sign(
        &hmac::Key::new(algorithm, secret.as_bytes()),
        input.as_bytes(),
    );
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A realm with a client of each `clientAuthenticatorType`.
async fn typed_app(registered: &SigningKey) -> TestApp {
    let certificate = STANDARD.encode(registered.certificate_der());
    let client = |id: &str, kind: &str, secret: &str| {
        json!({"clientId": id, "publicClient": false, "serviceAccountsEnabled": true,
               "clientAuthenticatorType": kind, "secret": secret,
               "attributes": {"jwt.credential.certificate": certificate}})
    };
    let realm = json!({
        "realm": "acme",
        "enabled": true,
        "clients": [
            client("signer", "client-jwt", "signer-secret"),
            client("secret", "client-secret", "plain-secret"),
            client("hmac", "client-secret-jwt", HMAC_SECRET),
            client("x509", "client-x509", "x509-secret"),
            client("odd", "something-else", "odd-secret"),
        ]
    });
    TestApp::builder()
        .realm(realm)
        .now(NOW)
        .base_url("http://id.test")
        .build()
        .await
}

async fn by_secret(app: &TestApp, client: &str, secret: &str, basic: bool) -> (StatusCode, Value) {
    let reply = if basic {
        let credentials = STANDARD.encode(format!("{client}:{secret}"));
        let auth = format!("Basic {credentials}");
        app.post_form(TOKEN, Some(&auth), &[("grant_type", "client_credentials")])
            .await
    } else {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
        ];
        app.post_form(TOKEN, None, &form).await
    };
    let body = serde_json::from_str(&reply.text()).unwrap_or(Value::Null);
    (reply.status, body)
}

/// Each client authenticates only as its `clientAuthenticatorType` says, with Keycloak's
/// answers: a secret from an assertion client is 400 `invalid_client` ("Parameter
/// client_assertion_type is missing"), anything else that does not fit is 401.
#[tokio::test]
async fn clients_authenticate_only_as_their_authenticator_type_says() {
    let registered = key(Algorithm::Rs256);
    let app = typed_app(&registered).await;

    for basic in [true, false] {
        let (status, body) = by_secret(&app, "secret", "plain-secret", basic).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "client-secret, basic {basic}: {body}"
        );
        for (client, secret) in [("signer", "signer-secret"), ("hmac", HMAC_SECRET)] {
            let (status, body) = by_secret(&app, client, secret, basic).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{client}: {body}");
            assert_eq!(
                body,
                json!({"error": "invalid_client",
                       "error_description": "Parameter client_assertion_type is missing"})
            );
        }
        for (client, secret) in [("x509", "x509-secret"), ("odd", "odd-secret")] {
            let (status, body) = by_secret(&app, client, secret, basic).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{client}: {body}");
            assert_eq!(body["error"], "invalid_client");
        }
    }

    // Assertions: each kind only from its own type of client.
    let (status, body) = grant(
        &app,
        None,
        &assertion(&registered, claims("signer", &uuid())),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "private_key_jwt: {body}");
    for alg in ["HS256", "HS384", "HS512"] {
        let jwt = hmac_assertion(alg, HMAC_SECRET, claims("hmac", &uuid()));
        let (status, body) = grant(&app, None, &jwt).await;
        assert_eq!(status, StatusCode::OK, "client_secret_jwt {alg}: {body}");
    }
    let refused: Vec<(&str, String)> = vec![
        (
            "hmac with a wrong secret",
            hmac_assertion("HS256", "not-the-secret", claims("hmac", &uuid())),
        ),
        (
            "hmac client with a signed assertion",
            assertion(&registered, claims("hmac", &uuid())),
        ),
        (
            "client-jwt client with an hmac assertion",
            hmac_assertion("HS256", "signer-secret", claims("signer", &uuid())),
        ),
        (
            "client-secret client with an hmac assertion",
            hmac_assertion("HS256", "plain-secret", claims("secret", &uuid())),
        ),
        (
            "client-secret client with a signed assertion",
            assertion(&registered, claims("secret", &uuid())),
        ),
        (
            "x509 client with a signed assertion",
            assertion(&registered, claims("x509", &uuid())),
        ),
    ];
    for (name, jwt) in refused {
        let (status, body) = grant(&app, None, &jwt).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {body}");
        assert_eq!(body["error"], "invalid_client", "{name}");
    }

    // Introspection authenticates clients the same way.
    let token = by_secret(&app, "secret", "plain-secret", false).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let jwt = hmac_assertion("HS256", HMAC_SECRET, claims("hmac", &uuid()));
    let form = [
        ("token", token.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", jwt.as_str()),
    ];
    let reply = app.post_form(INTROSPECT, None, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["active"], true);
    let form = [
        ("token", token.as_str()),
        ("client_id", "signer"),
        ("client_secret", "signer-secret"),
    ];
    let reply = app.post_form(INTROSPECT, None, &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}

/// A JWKS server for the tests: serves `/jwks` (whatever `keys` holds), `/huge` (more than
/// the size limit) and `/junk`; counts the requests for `/jwks`.
struct JwksServer {
    base: String,
    keys: std::sync::Arc<std::sync::Mutex<Value>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

async fn jwks_server(keys: Value) -> JwksServer {
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let keys = Arc::new(std::sync::Mutex::new(keys));
    let hits = Arc::new(AtomicUsize::new(0));
    let (served, counted) = (keys.clone(), hits.clone());
    let router = axum::Router::new()
        .route(
            "/jwks",
            get(move || {
                let served = served.clone();
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    axum::Json(served.lock().unwrap().clone())
                }
            }),
        )
        .route("/huge", get(|| async { "x".repeat(200 * 1024) }))
        .route("/junk", get(|| async { "not json" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    JwksServer { base, keys, hits }
}

fn signed_with_kid(key: &SigningKey, kid: &str, claims: Value) -> String {
    let header = json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": kid});
    key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .unwrap()
}

/// `use.jwks.url`: the client's keys come from its URL, fetched once and kept, fetched again
/// for an unknown `kid` (a rotation) but not more often than every few seconds; an unusable
/// URL or answer refuses the assertion (401), never a 500.
#[tokio::test]
async fn keys_published_at_a_jwks_url_verify_assertions() {
    use std::sync::atomic::Ordering;
    let first = key(Algorithm::Rs256);
    let second = key(Algorithm::Es256);
    let server = jwks_server(json!({"keys": [first.public_jwk("k1")]})).await;
    let client = |id: &str, url: String| {
        json!({"clientId": id, "publicClient": false, "serviceAccountsEnabled": true,
               "clientAuthenticatorType": "client-jwt",
               "attributes": {"use.jwks.url": "true", "jwks.url": url}})
    };
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        format!("http://{addr}/jwks")
    };
    let realm = json!({
        "realm": "acme",
        "enabled": true,
        "clients": [
            client("fetcher", format!("{}/jwks", server.base)),
            client("huge", format!("{}/huge", server.base)),
            client("junk", format!("{}/junk", server.base)),
            client("closed", closed),
            client("not-a-url", "file:///etc/passwd".into()),
        ]
    });
    let app = TestApp::builder()
        .realm(realm)
        .now(NOW)
        .base_url("http://id.test")
        .build()
        .await;
    let hits = || server.hits.load(Ordering::SeqCst);

    let ok = |key: &SigningKey, kid: &str, client: &str| {
        let mut c = claims(client, &uuid());
        c["exp"] = json!(app.now() + 60);
        signed_with_kid(key, kid, c)
    };
    let (status, body) = grant(&app, None, &ok(&first, "k1", "fetcher")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = grant(&app, None, &ok(&first, "k1", "fetcher")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hits(), 1, "the key set is kept");

    // A key the set lacks: one fetch, and no more within the minimum interval.
    let (status, _) = grant(&app, None, &ok(&second, "k2", "fetcher")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = grant(&app, None, &ok(&second, "k2", "fetcher")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let after_unknown = hits();
    assert!(after_unknown <= 2, "{after_unknown} fetches");

    // The client rotates to a new key; after the interval the unknown kid fetches again.
    *server.keys.lock().unwrap() = json!({"keys": [second.public_jwk("k2")]});
    app.clock.advance(6);
    let (status, body) = grant(&app, None, &ok(&second, "k2", "fetcher")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(hits(), after_unknown + 1);
    // The old key is gone from the set; a forged kid does not fetch again at once.
    let (status, _) = grant(&app, None, &ok(&first, "k1", "fetcher")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(hits(), after_unknown + 1);
    // Signed by a key that is not the one its kid names.
    let (status, _) = grant(&app, None, &ok(&first, "k2", "fetcher")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for client in ["huge", "junk", "closed", "not-a-url"] {
        let (status, body) = grant(&app, None, &ok(&first, "k1", client)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{client}: {body}");
        assert_eq!(body["error"], "invalid_client", "{client}");
    }
}
