//! In-process tests of the docker-v2 endpoints on the real router (the test kit): a fresh
//! database (SQLite, or PostgreSQL in the suite's PostgreSQL run), realms imported from JSON, a
//! fixed clock, and requests through `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents, UnparsedPublicKey,
};
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_testkit::jwt::part;
use portcullis_testkit::{FORM, Reply, TestApp, basic, with_peer};
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const BASE: &str = "/auth/realms/acme/protocol/docker-v2";
const ISSUER: &str = "http://id.test/auth/realms/acme";

fn realm_json() -> Value {
    let rule = |name: &str, config: Value| {
        json!({"name": name, "protocol": "docker-v2",
               "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
    };
    let allow_all = json!({"name": "allow all", "protocol": "docker-v2",
                           "protocolMapper": "docker-v2-allow-all-mapper", "config": {}});
    json!({
        "realm": "acme",
        "enabled": true,
        "accessTokenLifespan": 300,
        "roles": {
            "realm": [
                {"name": "dev"},
                {"name": "ops"},
                {"name": "lead", "composite": true, "composites": {"client": {"registry": ["pusher"]}}}
            ],
            "client": {"registry": [{"name": "pusher"}]}
        },
        "groups": [{"name": "eng", "subGroups": [{"name": "platform"}]}],
        "users": [
            {"username": "alice", "enabled": true, "realmRoles": ["dev"], "groups": ["/eng/platform"],
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "bob", "enabled": true, "realmRoles": ["ops"],
             "credentials": [{"type": "password", "value": "bob-pw"}]},
            {"username": "carol", "enabled": false, "realmRoles": ["dev"],
             "credentials": [{"type": "password", "value": "carol-pw"}]},
            {"username": "dave", "enabled": true, "realmRoles": ["lead"],
             "credentials": [{"type": "password", "value": "dave-pw"}]},
            {"username": "erin", "enabled": true, "realmRoles": ["dev"],
             "credentials": [{"type": "password", "value": "erin-pw", "temporary": true}]}
        ],
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [
                rule("team-a", json!({"repository": "team-a/*", "actions": "pull,push", "role": "dev"})),
                rule("public", json!({"repository": "public/**", "actions": "pull", "subject": "anonymous"})),
                rule("homes", json!({"repository": "users/${username}/**", "actions": "*", "subject": "authenticated"})),
                rule("catalog", json!({"type": "registry", "actions": "*", "role": "ops"})),
                rule("eng", json!({"repository": "eng/**", "actions": "pull,delete", "group": "/eng"})),
                rule("pushers", json!({"repository": "shared/*", "actions": "push", "role": "registry.pusher"})),
                rule("mirror", json!({"repository": "localhost:5000/**", "actions": "pull", "role": "dev"})),
                rule("broken", json!({"repository": "**", "actions": "*", "role": "dev", "subject": "anonymous"}))
             ]},
            {"clientId": "registry-v3", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "attributes": {"docker.token.kid.format": "thumbprint"},
             "protocolMappers": [allow_all]},
            {"clientId": "registry-es", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "attributes": {"access.token.signed.response.alg": "ES256", "access.token.lifespan": "30",
                            "docker.token.x5c": "false", "docker.refresh-token.lifespan": "3600"},
             "protocolMappers": [allow_all]},
            {"clientId": "disabled-registry", "protocol": "docker-v2", "enabled": false,
             "protocolMappers": [allow_all]},
            {"clientId": "web", "protocol": "openid-connect", "enabled": true, "publicClient": true,
             "redirectUris": ["http://app.test/*"]}
        ]
    })
}

fn other_realm_json() -> Value {
    json!({
        "realm": "other",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [{"clientId": "registry", "protocol": "docker-v2", "enabled": true,
                     "protocolMappers": [{"name": "all", "protocol": "docker-v2",
                                          "protocolMapper": "docker-v2-allow-all-mapper", "config": {}}]}]
    })
}

/// The test kit's app with the docker endpoints' helpers.
struct App(TestApp);

impl Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.0
    }
}

async fn app() -> App {
    App(TestApp::builder()
        .realms([realm_json(), other_realm_json()])
        .now(NOW)
        .build()
        .await)
}

impl App {
    /// A form POST to the token endpoint.
    async fn post(&self, form: &str, auth: Option<&str>) -> Reply {
        self.send_body(
            Method::POST,
            &format!("{BASE}/auth"),
            auth,
            FORM,
            form.to_owned(),
        )
        .await
    }

    async fn jwks(&self, client: &str) -> Value {
        let reply = self
            .get(&format!("{BASE}/clients/{client}/jwks.json"), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.json()
    }
}

/// Verifies a JWS with a JWK using aws-lc-rs directly (not the server's own verifier).
fn verifies(jws: &str, jwk: &Value) -> bool {
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let member = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "RSA" => RsaPublicKeyComponents {
            n: member("n"),
            e: member("e"),
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
        .is_ok(),
        "EC" => {
            let mut point = vec![4u8];
            point.extend(member("x"));
            point.extend(member("y"));
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(input.as_bytes(), &signature)
                .is_ok()
        }
        other => panic!("unexpected kty {other}"),
    }
}

/// The JWKS key a token's header `kid` names; panics if none does.
fn key_for<'a>(jwks: &'a Value, jws: &str) -> &'a Value {
    let kid = part(jws, 0)["kid"].as_str().unwrap().to_owned();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("no JWKS key with kid {kid}"))
}

fn is_libtrust_kid(kid: &str) -> bool {
    let groups: Vec<&str> = kid.split(':').collect();
    groups.len() == 12
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
        })
}

fn rfc7638(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        ),
        _ => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        ),
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn access(token: &str) -> Value {
    part(token, 1)["access"].clone()
}

#[tokio::test]
async fn anonymous_get_without_scope() {
    let app = app().await;
    let reply = app
        .get(&format!("{BASE}/auth?service=registry"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    assert!(
        reply
            .header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let body = reply.json();
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["access_token"], token);
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["issued_at"], "2026-11-18T11:06:40Z");
    assert!(body.get("refresh_token").is_none());
    assert!(body.get("scope").is_none());
    let claims = part(token, 1);
    let expected = json!({"iss": ISSUER, "sub": "", "aud": "registry", "exp": NOW + 300,
                          "nbf": NOW - 5, "iat": NOW, "access": []});
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&claims[name], value, "claim {name}");
    }
    assert!(claims["aud"].is_string());
    let jti = URL_SAFE_NO_PAD
        .decode(claims["jti"].as_str().unwrap())
        .unwrap();
    assert!(jti.len() >= 16);
    let jwks = app.jwks("registry").await;
    assert!(verifies(token, key_for(&jwks, token)));
}

#[tokio::test]
async fn every_endpoint_path_serves_tokens() {
    let app = app().await;
    for path in [format!("{BASE}/auth"), BASE.to_owned()] {
        let reply = app.get(&format!("{path}?service=registry"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.text());
        let request = Request::post(&path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "service=registry&grant_type=password&username=alice&password=alice-pw",
            ))
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "POST {path}: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn basic_get_grants_per_rules_and_merges_access() {
    let app = app().await;
    let query = "service=registry&account=alice&client_id=docker\
        &scope=repository:team-a/api:push,pull\
        &scope=repository:team-a/api:delete\
        &scope=repository:public/x/y:pull,push%20repository:secret:pull\
        &scope=registry:catalog:*\
        &scope=repository(plugin):users/alice/tool:pull,push,delete\
        &scope=repository:localhost:5000/mirror/alpine:pull\
        &scope=repository:eng/base:*";
    let reply = app
        .get(
            &format!("{BASE}/auth?{query}"),
            Some(&basic("alice", "alice-pw")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(part(&token, 1)["sub"], "alice");
    assert_eq!(
        access(&token),
        json!([
            {"type": "repository", "name": "team-a/api", "actions": ["pull", "push"]},
            {"type": "repository", "name": "public/x/y", "actions": ["pull"]},
            {"type": "repository", "name": "secret", "actions": []},
            {"type": "registry", "name": "catalog", "actions": []},
            {"type": "repository", "name": "users/alice/tool", "actions": ["delete", "pull", "push"]},
            {"type": "repository", "name": "localhost:5000/mirror/alpine", "actions": ["pull"]},
            {"type": "repository", "name": "eng/base", "actions": ["delete", "pull"]}
        ])
    );
}

#[tokio::test]
async fn roles_composites_and_anonymous() {
    let app = app().await;
    type Row = (Option<(&'static str, &'static str)>, &'static str, Value);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        (Some(("bob", "bob-pw")), "registry:catalog:*", json!(["*"])),
        (Some(("bob", "bob-pw")), "repository:team-a/api:pull", json!([])),
        (Some(("bob", "bob-pw")), "repository:users/alice/x:pull", json!([])),
        (Some(("bob", "bob-pw")), "repository:users/bob/x:pull", json!(["pull"])),
        (Some(("dave", "dave-pw")), "repository:shared/lib:push,pull", json!(["pull", "push"])),
        (None, "repository:public/lib:pull,push", json!(["pull"])),
        (None, "repository:team-a/api:pull", json!([])),
        (None, "repository:users/alice/x:pull", json!([])),
        (None, "registry:catalog:*", json!([])),
    ];
    for (credentials, scope, expected) in rows {
        let auth = credentials.map(|(u, p)| basic(u, p));
        let reply = app
            .get(
                &format!("{BASE}/auth?service=registry&scope={scope}"),
                auth.as_deref(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{scope}: {}", reply.text());
        let token = reply.json()["token"].as_str().unwrap().to_owned();
        assert_eq!(
            access(&token)[0]["actions"],
            expected,
            "{credentials:?} {scope}"
        );
    }
}

#[tokio::test]
async fn kid_formats_algorithms_and_lifespans() {
    let app = app().await;
    // libtrust kid + x5c (default)
    let reply = app
        .get(&format!("{BASE}/auth?service=registry"), None)
        .await;
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let header = part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert!(is_libtrust_kid(header["kid"].as_str().unwrap()), "{header}");
    let jwks = app.jwks("registry").await;
    let key = key_for(&jwks, &token);
    assert_eq!(key["kty"], "RSA");
    assert_eq!(header["x5c"], key["x5c"]);
    assert!(verifies(&token, key));

    // RFC 7638 thumbprint kid
    let reply = app
        .get(&format!("{BASE}/auth?service=registry-v3"), None)
        .await;
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let header = part(&token, 0);
    let jwks = app.jwks("registry-v3").await;
    let key = key_for(&jwks, &token);
    assert_eq!(header["kid"].as_str().unwrap(), rfc7638(key));
    assert!(header["x5c"].is_array());
    assert!(verifies(&token, key));

    // ES256, no x5c, lifespan raised to 60
    let reply = app
        .get(&format!("{BASE}/auth?service=registry-es"), None)
        .await;
    let body = reply.json();
    assert_eq!(body["expires_in"], 60);
    let token = body["token"].as_str().unwrap().to_owned();
    let header = part(&token, 0);
    assert_eq!(header["alg"], "ES256");
    assert!(header.get("x5c").is_none());
    assert!(is_libtrust_kid(header["kid"].as_str().unwrap()));
    let claims = part(&token, 1);
    assert_eq!(claims["exp"], NOW + 60);
    let jwks = app.jwks("registry-es").await;
    let key = key_for(&jwks, &token);
    assert_eq!(key["kty"], "EC");
    assert_eq!(
        URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap()
            .len(),
        64
    );
    assert!(verifies(&token, key));
    // a tampered token does not verify
    let (input, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert!(!verifies(&forged, key));
}

#[tokio::test]
async fn bad_credentials_are_401_with_a_challenge() {
    let app = app().await;
    let scope = "scope=repository:team-a/api:pull,push";
    #[rustfmt::skip]
    let rows = [
        basic("alice", "wrong"),
        basic("nobody", "alice-pw"),
        basic("carol", "carol-pw"),
        "Basic !!!".to_owned(),
        "Basic YWxpY2U=".to_owned(),
    ];
    for auth in rows {
        let reply = app
            .get(
                &format!("{BASE}/auth?service=registry&{scope}"),
                Some(&auth),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{auth}");
        assert_eq!(
            reply.header(header::WWW_AUTHENTICATE),
            r#"Basic realm="acme""#
        );
        let body = reply.json();
        let error = &body["errors"][0];
        assert_eq!(error["code"], "UNAUTHORIZED");
        assert_eq!(error["message"], "invalid username or password");
        assert_eq!(
            error["detail"],
            json!([{"type": "repository", "name": "team-a/api", "actions": ["pull", "push"]}])
        );
        assert!(body.get("token").is_none());
    }
}

#[tokio::test]
async fn request_errors_are_400_or_404() {
    let app = app().await;
    let too_many: String = (0..65)
        .map(|i| format!("&scope=repository:r{i}:pull"))
        .collect();
    let too_long = format!("&scope=repository:{}:pull", "a".repeat(5000));
    type Row = (String, StatusCode, &'static str, &'static str);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        (format!("{BASE}/auth"), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "service"),
        (format!("{BASE}/auth?service="), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "service"),
        (format!("{BASE}/auth?service=nope"), StatusCode::BAD_REQUEST, "INVALID_CLIENT", "nope"),
        (format!("{BASE}/auth?service=web"), StatusCode::BAD_REQUEST, "INVALID_CLIENT", "web"),
        (format!("{BASE}/auth?service=disabled-registry"), StatusCode::BAD_REQUEST, "INVALID_CLIENT", "disabled-registry"),
        (format!("{BASE}/auth?service=registry&client_id=nope"), StatusCode::OK, "", ""),
        (format!("{BASE}/auth?service=registry&scope=garbage"), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "garbage"),
        (format!("{BASE}/auth?service=registry&scope=repository:Upper:pull"), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "Upper"),
        (format!("{BASE}/auth?service=registry{too_many}"), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "too many"),
        (format!("{BASE}/auth?service=registry{too_long}"), StatusCode::BAD_REQUEST, "INVALID_REQUEST", "longer"),
        ("/auth/realms/nope/protocol/docker-v2/auth?service=registry".into(), StatusCode::NOT_FOUND, "NOT_FOUND", "realm"),
    ];
    for (uri, status, code, mentions) in rows {
        let reply = app.get(&uri, None).await;
        assert_eq!(reply.status, status, "{uri}: {}", reply.text());
        if status == StatusCode::OK {
            continue;
        }
        let body = reply.json();
        assert_eq!(body["errors"][0]["code"], code, "{uri}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{uri}: {message}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn offline_token_and_refresh_grant() {
    let app = app().await;
    let reply = app
        .get(
            &format!(
                "{BASE}/auth?service=registry&offline_token=true&client_id=docker&account=alice"
            ),
            Some(&basic("alice", "alice-pw")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let refresh = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(URL_SAFE_NO_PAD.decode(&refresh).unwrap().len(), 32);

    // the stored row carries the hash, never the token
    let hash = portcullis_core::secrets::hash_secret(&refresh);
    let stored = app
        .store
        .find_docker_refresh_token(&hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.service, "registry");
    assert_eq!(stored.expires_at, NOW + 30 * 86_400);
    assert_eq!(stored.realm_id, app.realm_id("acme").await);

    // docker resends the same token: it keeps working
    app.clock.advance(10);
    for round in 0..2 {
        let form = format!(
            "grant_type=refresh_token&refresh_token={refresh}&client_id=docker&service=registry\
             &scope=repository:team-a/api:pull,push%20repository:secret:pull"
        );
        let reply = app.post(&form, None).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "round {round}: {}",
            reply.text()
        );
        assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
        let body = reply.json();
        assert_eq!(body["scope"], "repository:team-a/api:pull,push");
        assert_eq!(body["expires_in"], 300);
        assert!(body.get("refresh_token").is_none());
        let token = body["access_token"].as_str().unwrap();
        assert_eq!(body["token"], token);
        assert_eq!(part(token, 1)["sub"], "alice");
        assert_eq!(part(token, 1)["iat"], NOW + 10);
    }
    // last_used_at is bookkeeping, written at most once a minute per token
    let last_used = |app: &App| {
        let (store, hash) = (app.store.clone(), hash.clone());
        async move {
            let row = store.find_docker_refresh_token(&hash).await.unwrap();
            row.unwrap().last_used_at
        }
    };
    assert_eq!(
        last_used(&app).await,
        NOW,
        "used 10 s after issue: not rewritten"
    );
    app.clock.advance(60);
    let form = format!("grant_type=refresh_token&refresh_token={refresh}&service=registry");
    assert_eq!(app.post(&form, None).await.status, StatusCode::OK);
    assert_eq!(last_used(&app).await, NOW + 70);

    // access_type=offline hands the same token back
    let form = format!(
        "grant_type=refresh_token&refresh_token={refresh}&service=registry&access_type=offline"
    );
    let reply = app.post(&form, None).await;
    assert_eq!(reply.json()["refresh_token"], refresh.as_str());

    // wrong service, wrong realm, unknown token: 401 invalid_grant
    let rejected = [
        (
            BASE.to_owned(),
            format!("grant_type=refresh_token&refresh_token={refresh}&service=registry-v3"),
        ),
        (
            "/auth/realms/other/protocol/docker-v2".to_owned(),
            format!("grant_type=refresh_token&refresh_token={refresh}&service=registry"),
        ),
        (
            BASE.to_owned(),
            "grant_type=refresh_token&refresh_token=bogus&service=registry".to_owned(),
        ),
    ];
    for (path, form) in rejected {
        let request = Request::post(format!("{path}/auth"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.clone()))
            .unwrap();
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} {form}");
        assert_eq!(reply.json()["error"], "invalid_grant");
    }

    // a missing refresh token is a malformed request
    let reply = app
        .post("grant_type=refresh_token&service=registry", None)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // revoked: 401 once the recently used record is read again (within 10 s on any instance)
    let realm_id = app.realm_id("acme").await;
    app.store
        .revoke_docker_refresh_tokens(&realm_id, &stored.user_id)
        .await
        .unwrap();
    app.clock.advance(10);
    let form = format!("grant_type=refresh_token&refresh_token={refresh}&service=registry");
    let reply = app.post(&form, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_tokens_expire() {
    let app = app().await;
    // registry-es sets docker.refresh-token.lifespan = 3600
    let form = "grant_type=password&username=alice&password=alice-pw&service=registry-es&access_type=offline";
    let reply = app.post(form, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let refresh = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    let use_it = format!("grant_type=refresh_token&refresh_token={refresh}&service=registry-es");
    app.clock.advance(3599);
    assert_eq!(app.post(&use_it, None).await.status, StatusCode::OK);
    app.clock.advance(1);
    let reply = app.post(&use_it, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header(header::WWW_AUTHENTICATE),
        r#"Basic realm="acme""#
    );
}

#[tokio::test]
async fn anonymous_offline_token_gets_no_refresh_token() {
    let app = app().await;
    let reply = app
        .get(
            &format!("{BASE}/auth?service=registry&offline_token=true"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json().get("refresh_token").is_none());
}

#[tokio::test]
async fn password_grant() {
    let app = app().await;
    let form = "grant_type=password&username=alice&password=alice-pw&client_id=containerd-client\
                &service=registry&scope=repository:team-a/api:pull,push%20repository:secret:pull";
    let reply = app.post(form, None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let body = reply.json();
    for field in ["access_token", "token", "expires_in", "issued_at", "scope"] {
        assert!(body.get(field).is_some(), "missing {field}");
    }
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["scope"], "repository:team-a/api:pull,push");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        access(token),
        json!([
            {"type": "repository", "name": "team-a/api", "actions": ["pull", "push"]},
            {"type": "repository", "name": "secret", "actions": []}
        ])
    );

    // wrong password: 401 invalid_grant with the Basic challenge
    let reply = app
        .post(
            "grant_type=password&username=alice&password=nope&service=registry",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header(header::WWW_AUTHENTICATE),
        r#"Basic realm="acme""#
    );
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert_eq!(reply.json()["errors"][0]["code"], "UNAUTHORIZED");

    // credentials from Basic when the form has none
    let reply = app
        .post(
            "grant_type=password&service=registry",
            Some(&basic("bob", "bob-pw")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        part(reply.json()["token"].as_str().unwrap(), 1)["sub"],
        "bob"
    );

    // no credentials at all: 400, so containerd falls back to GET
    let reply = app.post("grant_type=password&service=registry", None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // access_type=offline: a new refresh token that works
    let reply = app
        .post("grant_type=password&username=alice&password=alice-pw&service=registry&access_type=offline", None)
        .await;
    let refresh = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    let reply = app
        .post(
            &format!("grant_type=refresh_token&refresh_token={refresh}&service=registry"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn unsupported_grant_and_post_without_grant() {
    let app = app().await;
    let reply = app
        .post(
            "grant_type=authorization_code&code=x&service=registry",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "unsupported_grant_type");

    // no grant type: Basic credentials as on GET
    let reply = app
        .post(
            "service=registry&scope=repository:team-a/x:pull",
            Some(&basic("alice", "alice-pw")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(access(&token)[0]["actions"], json!(["pull"]));
    let reply = app
        .post("service=registry", Some(&basic("alice", "bad")))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn chunked_post_body() {
    let app = app().await;
    let chunks: Vec<Result<Bytes, std::io::Error>> = [
        "client_id=containers/image&grant_type=password",
        "&username=alice&password=alice-pw",
        "&scope=repository:team-a/api:pull,push&scope=repository:team-a/base:pull",
        "&service=registry",
    ]
    .into_iter()
    .map(|c| Ok(Bytes::from_static(c.as_bytes())))
    .collect();
    let request = Request::post(format!("{BASE}/auth"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let reply = app.send(request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(
        body["scope"],
        "repository:team-a/api:pull,push repository:team-a/base:pull"
    );
}

#[tokio::test]
async fn registry_config_bundle_and_jwks() {
    let app = app().await;
    let reply = app
        .get(&format!("{BASE}/clients/registry/registry-config"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header(header::CONTENT_TYPE).starts_with("text/yaml"));
    let yaml = reply.text();
    for line in [
        "auth:\n  token:\n",
        &format!("    realm: \"{ISSUER}/protocol/docker-v2/auth\"\n"),
        "    service: \"registry\"\n",
        &format!("    issuer: \"{ISSUER}\"\n"),
        "    rootcertbundle: \"/etc/docker/registry/acme-registry.pem\"\n",
        "    # jwks: \"/etc/docker/registry/acme-registry-jwks.json\"\n",
        "    signingalgorithms: [RS256]\n",
        &format!("http://id.test{BASE}/clients/registry/bundle.pem"),
    ] {
        assert!(yaml.contains(line), "missing {line:?} in\n{yaml}");
    }
    let reply = app
        .get(&format!("{BASE}/clients/registry-es/registry-config"), None)
        .await;
    assert!(reply.text().contains("signingalgorithms: [ES256]"));

    // bundle: one certificate per realm key, each the x5c of a JWKS key
    let reply = app
        .get(&format!("{BASE}/clients/registry/bundle.pem"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let pem = reply.text();
    let jwks = app.jwks("registry").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "RS256 and ES256 realm keys");
    assert_eq!(
        pem.matches("-----BEGIN CERTIFICATE-----").count(),
        keys.len()
    );
    assert!(pem.lines().all(|l| l.len() <= 64));
    let flat: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for key in keys {
        assert!(flat.contains(key["x5c"][0].as_str().unwrap()));
        assert!(is_libtrust_kid(key["kid"].as_str().unwrap()));
    }
    let v3 = app.jwks("registry-v3").await;
    for key in v3["keys"].as_array().unwrap() {
        assert_eq!(key["kid"].as_str().unwrap(), rfc7638(key));
    }

    // unknown or non-docker clients
    for client in ["nope", "web"] {
        for what in ["registry-config", "bundle.pem", "jwks.json"] {
            let reply = app
                .get(&format!("{BASE}/clients/{client}/{what}"), None)
                .await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{client}/{what}");
        }
    }
    let reply = app
        .get(
            "/auth/realms/nope/protocol/docker-v2/clients/registry/jwks.json",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// An address that keeps failing is refused for a while with 429 and `Retry-After`, without a
/// hash being spent, even with the right password; other addresses and cached successes are
/// unaffected. The guessed username is limited across addresses the same way.
#[tokio::test]
async fn failed_logins_are_rate_limited_per_address() {
    // Requests come from 192.0.2.9 unless they name another address.
    let app = App(TestApp::builder()
        .realms([realm_json(), other_realm_json()])
        .now(NOW)
        .peer("192.0.2.9:1000")
        .build()
        .await);
    let url = format!("{BASE}/auth?service=registry");
    let from = |addr: &str, auth: &str| {
        let request = Request::get(&url)
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap();
        with_peer(request, addr)
    };
    let good = basic("alice", "alice-pw");
    assert_eq!(
        app.send(from("192.0.2.1:1000", &good)).await.status,
        StatusCode::OK
    );
    for _ in 0..20 {
        let reply = app.get(&url, Some(&basic("alice", "guess"))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let bob = basic("bob", "bob-pw");
    let throttled = app.get(&url, Some(&bob)).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the address is throttled"
    );
    assert_eq!(throttled.header(header::RETRY_AFTER), "1");
    assert_eq!(throttled.json()["errors"][0]["code"], "TOOMANYREQUESTS");
    assert_eq!(
        app.send(from("192.0.2.3:1000", &basic("alice", "guess")))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessed username is throttled from other addresses too"
    );
    assert_eq!(
        app.send(from("192.0.2.9:1000", &bob)).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "named explicitly, the same address"
    );
    assert_eq!(
        app.send(from("192.0.2.2:1000", &bob)).await.status,
        StatusCode::OK,
        "others are not"
    );
    assert_eq!(
        app.get(&url, Some(&good)).await.status,
        StatusCode::OK,
        "a cached success still passes"
    );
    app.clock.advance(2);
    assert_eq!(
        app.get(&url, Some(&bob)).await.status,
        StatusCode::OK,
        "the bucket refills"
    );
}

/// Keycloak's brute-force detection: after `failureFactor` failures the user is locked (even the
/// right password fails), and the lock ends after `waitIncrementSeconds`.
#[tokio::test]
async fn brute_force_detection_locks_and_releases_a_user() {
    let app = app().await;
    let realm = json!({
        "realm": "guarded", "bruteForceProtected": true, "failureFactor": 3,
        "waitIncrementSeconds": 60, "quickLoginCheckMilliSeconds": 0,
        "clients": [{"clientId": "registry", "protocol": "docker-v2"}],
        "users": [{"username": "alice", "credentials": [{"type": "password", "value": "alice-pw"}]}]
    });
    app.import_realm(&realm).await;
    let url = "/auth/realms/guarded/protocol/docker-v2/auth?service=registry";
    let good = basic("alice", "alice-pw");
    for _ in 0..3 {
        let reply = app.get(url, Some(&basic("alice", "wrong"))).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.get(url, Some(&good)).await.status,
        StatusCode::UNAUTHORIZED,
        "locked"
    );
    app.clock.advance(61);
    assert_eq!(
        app.get(url, Some(&good)).await.status,
        StatusCode::OK,
        "released"
    );
    // A success clears the count: two more failures do not lock.
    for _ in 0..2 {
        app.get(url, Some(&basic("alice", "wrong"))).await;
    }
    app.clock.advance(61); // past the verified-credentials cache
    assert_eq!(app.get(url, Some(&good)).await.status, StatusCode::OK);
}

/// A user with a required action pending (a temporary password) gets Keycloak's 400
/// `invalid_grant` "Account is not fully set up" from every grant, never a token.
#[tokio::test]
async fn an_account_with_a_required_action_gets_no_token() {
    let app = app().await;
    let reply = app
        .get(
            &format!("{BASE}/auth?service=registry&scope=repository:team-a/app:pull"),
            Some(&basic("erin", "erin-pw")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_grant");
    assert_eq!(
        reply.json()["error_description"],
        "Account is not fully set up"
    );
    let reply = app
        .post(
            "grant_type=password&username=erin&password=erin-pw&service=registry&access_type=offline",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.json().get("refresh_token").is_none());
    // A wrong password still says only that: the pending action is not revealed.
    let reply = app
        .get(
            &format!("{BASE}/auth?service=registry"),
            Some(&basic("erin", "wrong")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

/// Twenty wrong passwords at once all count (the count is one atomic upsert), so the user is
/// locked and the right password is refused afterwards; the admin API reports twenty failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_failures_all_count_and_lock() {
    let app = app().await;
    let realm = json!({
        "realm": "guarded", "bruteForceProtected": true, "failureFactor": 20,
        "waitIncrementSeconds": 60, "quickLoginCheckMilliSeconds": 0,
        "clients": [{"clientId": "registry", "protocol": "docker-v2"}],
        "users": [{"username": "alice", "credentials": [{"type": "password", "value": "alice-pw"}]}]
    });
    app.import_realm(&realm).await;
    let url = "/auth/realms/guarded/protocol/docker-v2/auth?service=registry";
    let guesses = (0..20).map(|i| {
        let request = Request::get(url)
            .header(header::AUTHORIZATION, basic("alice", &format!("guess-{i}")))
            .body(Body::empty())
            .unwrap();
        // Each from its own address, as a distributed guesser would.
        app.send(with_peer(request, &format!("198.51.100.{i}:4000")))
    });
    let replies = futures_util::future::join_all(guesses).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::UNAUTHORIZED));
    let realm_id = app.realm_id("guarded").await;
    let alice = app.user_id("guarded", "alice").await;
    let record = app
        .store
        .login_failures(&realm_id, &alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.record.failures, 20, "every failure counted");
    // Past the username's rate limit (it refills), not past the lock.
    app.clock.advance(5);
    let good = Request::get(url)
        .header(header::AUTHORIZATION, basic("alice", "alice-pw"))
        .body(Body::empty())
        .unwrap();
    let reply = app.send(with_peer(good, "203.0.113.1:4000")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "locked");
}

/// A hundred guesses at once from one address: the address's tokens are reserved before any
/// hash, so at most the burst (20) is checked and the rest are refused with 429 at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_from_one_address_get_at_most_the_burst() {
    let app = app().await;
    let url = format!("{BASE}/auth?service=registry");
    let guesses = (0..100).map(|i| {
        let request = Request::get(&url)
            .header(header::AUTHORIZATION, basic(&format!("user{i}"), "guess"))
            .body(Body::empty())
            .unwrap();
        app.send(with_peer(request, "192.0.2.200:4000"))
    });
    let replies = futures_util::future::join_all(guesses).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, 100);
    assert!(checked <= 20, "{checked} passwords were checked");
    assert!(throttled >= 80);
}
