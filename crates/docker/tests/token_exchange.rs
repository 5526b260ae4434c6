//! The docker-v2 token exchange (RFC 8693) that `docker-credential-portcullis` uses: an access
//! token of the realm's `docker-cli` client (from the device grant) becomes a docker token and a
//! docker identity token, and nothing else does. In-process, on the real router (the test kit).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{StatusCode, header};
use portcullis_store::admin::grants;
use portcullis_store::{DeviceCodeStatus, UserSession};
use portcullis_testkit::jwt::part;
use portcullis_testkit::{Reply, TestApp, bearer, sha256_hex};
use serde_json::{Value, json};

const DOCKER: &str = "/auth/realms/acme/protocol/docker-v2/auth";
const REVOKE: &str = "/auth/realms/acme/protocol/docker-v2/revoke";
const OIDC: &str = "/auth/realms/acme/protocol/openid-connect";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

fn acme() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        "roles": {"realm": [{"name": "dev"}]},
        "users": [
            {"username": "alice", "enabled": true, "realmRoles": ["dev"],
             "credentials": [{"type": "password", "value": "alice-password-1"}]},
            {"username": "carol", "enabled": false, "realmRoles": ["dev"],
             "credentials": [{"type": "password", "value": "carol-password-1"}]},
            {"username": "erin", "enabled": true, "realmRoles": ["dev"],
             "credentials": [{"type": "password", "value": "erin-password-1", "temporary": true}]}
        ],
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [
                {"name": "team-a", "protocol": "docker-v2",
                 "protocolMapper": "docker-v2-repository-access-mapper",
                 "config": {"repository": "team-a/**", "actions": "pull,push", "role": "dev"}}
             ]},
            {"clientId": "web", "protocol": "openid-connect", "enabled": true, "publicClient": true,
             "redirectUris": ["http://app.test/*"]}
        ]
    })
}

fn other() -> Value {
    json!({
        "realm": "other",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-password-1"}]}]
    })
}

async fn app() -> TestApp {
    TestApp::builder()
        .realms([acme(), other()])
        .master_admin("root", "root-password-1")
        .build()
        .await
}

async fn exchange(app: &TestApp, subject: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![
        ("grant_type", EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
        ("client_id", "docker-cli"),
        ("service", "registry"),
        ("scope", "repository:team-a/api:pull,push"),
    ];
    for &(key, value) in extra {
        form.retain(|(k, _)| *k != key);
        if !value.is_empty() {
            form.push((key, value));
        }
    }
    app.post_form(DOCKER, None, &form).await
}

async fn refresh(app: &TestApp, identity: &str) -> Reply {
    app.post_form(
        DOCKER,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", identity),
            ("client_id", "docker"),
            ("service", "registry"),
            ("scope", "repository:team-a/api:pull"),
        ],
    )
    .await
}

/// The device grant as the credential helper runs it, with the approval (the browser's part,
/// tested with the device page) written to the store: returns `docker-cli`'s access token.
async fn device_login(app: &TestApp, username: &str) -> String {
    let reply = app
        .post_form(
            &format!("{OIDC}/auth/device"),
            None,
            &[("client_id", "docker-cli")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let device_code = reply.json()["device_code"].as_str().unwrap().to_owned();
    let now = app.now();
    let session = UserSession {
        id: format!("session-{username}"),
        realm_id: app.realm_id("acme").await,
        user_id: app.user_id("acme", username).await,
        auth_time: now,
        created_at: now,
        last_seen_at: now,
        ended: false,
    };
    app.store.create_user_session(&session).await.unwrap();
    let approved = DeviceCodeStatus::Approved {
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        auth_time: now,
    };
    app.store
        .set_device_code_status(&sha256_hex(&device_code), &approved)
        .await
        .unwrap();
    let reply = app
        .post_form(
            &format!("{OIDC}/token"),
            None,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", &device_code),
                ("client_id", "docker-cli"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert!(
        body.get("refresh_token").is_none(),
        "docker-cli gets no refresh token: {body}"
    );
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_docker_cli_token_becomes_a_docker_login() {
    let app = app().await;
    let access = device_login(&app, "alice").await;
    let reply = exchange(&app, &access, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let body = reply.json();
    assert_eq!(body["scope"], "repository:team-a/api:pull,push");
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["access_token"], token);
    assert_eq!(part(token, 1)["sub"], "alice");
    assert_eq!(part(token, 1)["aud"], "registry");
    let identity = body["refresh_token"].as_str().unwrap().to_owned();

    // The same kind of record a password `docker login` makes: listed for the user (account
    // console, admin console), bound to the registry.
    let realm_id = app.realm_id("acme").await;
    let alice = app.user_id("acme", "alice").await;
    let logins = grants::docker_logins(
        app.store.connection(),
        &realm_id,
        Some(&alice),
        None,
        app.now(),
    )
    .await
    .unwrap();
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].service, "registry");
    assert_eq!(logins[0].token_hash, sha256_hex(&identity));

    // Docker then uses the refresh grant with it.
    let reply = refresh(&app, &identity).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["scope"], "repository:team-a/api:pull");

    // The credential helper's `erase`: revoked with the token itself, refused at once after.
    let reply = app.post_form(REVOKE, None, &[("token", &identity)]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = refresh(&app, &identity).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_grant");
    // Unknown or repeated: the same answer.
    for token in [identity.as_str(), "bogus"] {
        let reply = app.post_form(REVOKE, None, &[("token", token)]).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    app.post_form(REVOKE, None, &[])
        .await
        .assert_oauth_error(400, "invalid_request");
}

#[tokio::test]
async fn an_exchanged_login_is_revoked_by_an_admin() {
    let app = app().await;
    let access = device_login(&app, "alice").await;
    let reply = exchange(&app, &access, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let identity = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    let realm_id = app.realm_id("acme").await;
    let alice = app.user_id("acme", "alice").await;
    let logins = grants::docker_logins(
        app.store.connection(),
        &realm_id,
        Some(&alice),
        None,
        app.now(),
    )
    .await
    .unwrap();
    let admin = app.admin_token().await;
    let reply = app
        .delete(
            &format!(
                "/auth/admin/realms/acme/sessions/{}?isOffline=true",
                logins[0].id
            ),
            Some(&bearer(&admin)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    refresh(&app, &identity)
        .await
        .assert_oauth_error(401, "invalid_grant");
}

#[tokio::test]
async fn only_live_docker_cli_access_tokens_are_exchanged() {
    let app = app().await;
    let now = app.now();
    let live = app
        .access_token_with("acme", "alice", json!({"azp": "docker-cli"}))
        .await;
    let other_client = app
        .access_token_with("acme", "alice", json!({"azp": "web"}))
        .await;
    let other_realm = app
        .access_token_with("other", "alice", json!({"azp": "docker-cli"}))
        .await;
    let expired = app
        .access_token_with(
            "acme",
            "alice",
            json!({"azp": "docker-cli", "iat": now - 600, "exp": now - 1}),
        )
        .await;
    let refresh_token = app
        .access_token_with(
            "acme",
            "alice",
            json!({"azp": "docker-cli", "typ": "Refresh"}),
        )
        .await;
    let disabled = app
        .access_token_with("acme", "carol", json!({"azp": "docker-cli"}))
        .await;
    let not_set_up = app
        .access_token_with("acme", "erin", json!({"azp": "docker-cli"}))
        .await;
    // (case, subject token, form fields replaced, status, OAuth error)
    type Row<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16, &'a str);
    let rows: &[Row] = &[
        (
            "another client's token",
            other_client.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        (
            "another realm's token",
            other_realm.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        (
            "an expired token",
            expired.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        (
            "a refresh token",
            refresh_token.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        (
            "a disabled user's token",
            disabled.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        (
            "a user with a required action",
            not_set_up.as_str(),
            &[],
            400,
            "invalid_grant",
        ),
        ("not a token", "not-a-jwt", &[], 400, "invalid_grant"),
        (
            "another client asking",
            live.as_str(),
            &[("client_id", "web")],
            400,
            "invalid_grant",
        ),
        (
            "no subject token",
            live.as_str(),
            &[("subject_token", "")],
            400,
            "invalid_request",
        ),
        (
            "an ID token type",
            live.as_str(),
            &[(
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            )],
            400,
            "invalid_request",
        ),
        (
            "no token type",
            live.as_str(),
            &[("subject_token_type", "")],
            400,
            "invalid_request",
        ),
        (
            "no service",
            live.as_str(),
            &[("service", "")],
            400,
            "invalid_request",
        ),
        (
            "an unknown registry",
            live.as_str(),
            &[("service", "web")],
            400,
            "invalid_client",
        ),
        (
            "another grant type",
            live.as_str(),
            &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")],
            400,
            "unsupported_grant_type",
        ),
    ];
    for (name, subject, extra, status, error) in rows {
        let reply = exchange(&app, subject, extra).await;
        assert_eq!(reply.status.as_u16(), *status, "{name}: {}", reply.text());
        assert_eq!(reply.json()["error"], *error, "{name}");
        assert!(reply.json().get("refresh_token").is_none(), "{name}");
    }
    let realm_id = app.realm_id("acme").await;
    let logins = grants::docker_logins(app.store.connection(), &realm_id, None, None, now)
        .await
        .unwrap();
    assert!(logins.is_empty(), "nothing refused made a docker login");

    // The live token of the same realm and client works without a scope too.
    let reply = exchange(&app, &live, &[("scope", "")]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.json()["refresh_token"].is_string());
}

#[tokio::test]
async fn an_exchanged_login_dies_with_the_user() {
    let app = app().await;
    let live = app
        .access_token_with("acme", "alice", json!({"azp": "docker-cli"}))
        .await;
    let reply = exchange(&app, &live, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let identity = reply.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&app, &identity).await.status, StatusCode::OK);
    let admin = app.admin_token().await;
    let alice = app.user_id("acme", "alice").await;
    app.clock.advance(1);
    let reply = app
        .put_json(
            &format!("/auth/admin/realms/acme/users/{alice}"),
            Some(&bearer(&admin)),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    refresh(&app, &identity)
        .await
        .assert_oauth_error(401, "invalid_grant");
    // The access token it came from is refused too.
    exchange(&app, &live, &[])
        .await
        .assert_oauth_error(400, "invalid_grant");
}
