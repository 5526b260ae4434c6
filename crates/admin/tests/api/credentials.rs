//! Every credential an admin ends dies at once, everywhere it is checked: an admin logout, a
//! password reset, disabling (and enabling again) and deleting a user end the user's docker
//! logins, OIDC refresh and offline tokens, access tokens at userinfo and the admin API. Docker
//! logins are listed and revoked one by one, per registry, or all.

use axum::http::{Method, StatusCode};
use portcullis_testkit::{Reply, TestApp, bearer};
use serde_json::{Value, json};

use crate::common::{App, app};

fn cred() -> Value {
    json!({
        "realm": "cred",
        "enabled": true,
        "roles": {"realm": [{"name": "offline_access"}]},
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "publicClient": true,
             "protocolMappers": [{"name": "all", "protocol": "docker-v2",
                                  "protocolMapper": "docker-v2-allow-all-mapper", "config": {}}]},
            {"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true,
             "redirectUris": ["http://app.test/*"]}
        ],
        "users": [{
            "username": "vic", "enabled": true, "email": "vic@cred.test",
            "realmRoles": ["offline_access"],
            "clientRoles": {"realm-management": ["view-users"]},
            "credentials": [{"type": "password", "value": "vic-password-1"}]
        }]
    })
}

async fn cred_app() -> App {
    let app = app().await;
    app.import_realm(&cred()).await;
    app
}

const DOCKER: &str = "/auth/realms/cred/protocol/docker-v2/auth";
const TOKEN: &str = "/auth/realms/cred/protocol/openid-connect/token";
const USERINFO: &str = "/auth/realms/cred/protocol/openid-connect/userinfo";

/// What `vic` holds after signing in everywhere.
struct Held {
    docker: String,
    refresh: String,
    offline: String,
    access: String,
}

fn field(reply: &Reply, name: &str) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()[name].as_str().unwrap().to_string()
}

async fn docker_login(app: &App, password: &str) -> Reply {
    let form = [
        ("grant_type", "password"),
        ("username", "vic"),
        ("password", password),
        ("service", "registry"),
        ("client_id", "docker"),
        ("access_type", "offline"),
    ];
    app.post_form(DOCKER, None, &form).await
}

async fn sign_in(app: &App, password: &str) -> Held {
    let docker = field(&docker_login(app, password).await, "refresh_token");
    let grant = |scope: &'static str| {
        [
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", "vic"),
            ("password", password),
            ("scope", scope),
        ]
    };
    let online = app.post_form(TOKEN, None, &grant("openid")).await;
    let offline = app
        .post_form(TOKEN, None, &grant("openid offline_access"))
        .await;
    Held {
        docker,
        refresh: field(&online, "refresh_token"),
        access: field(&online, "access_token"),
        offline: field(&offline, "refresh_token"),
    }
}

async fn docker_refresh(app: &App, token: &str) -> StatusCode {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("service", "registry"),
        ("client_id", "docker"),
    ];
    app.post_form(DOCKER, None, &form).await.status
}

/// Which of the held credentials still work: docker refresh, OIDC refresh, offline refresh,
/// userinfo, the admin API.
async fn working(app: &App, held: &Held) -> [bool; 5] {
    let auth = bearer(&held.access);
    let kit: &TestApp = app;
    [
        docker_refresh(app, &held.docker).await == StatusCode::OK,
        oidc_refresh(kit, &held.refresh).await,
        oidc_refresh(kit, &held.offline).await,
        kit.get(USERINFO, Some(&auth)).await.status == StatusCode::OK,
        app.send(Method::GET, "realms/cred/users", Some(&held.access), None)
            .await
            .status
            == StatusCode::OK,
    ]
}

async fn oidc_refresh(app: &TestApp, token: &str) -> bool {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "app"),
        ("refresh_token", token),
    ];
    app.post_form(TOKEN, None, &form).await.status == StatusCode::OK
}

#[tokio::test]
async fn ending_a_user_ends_every_credential() {
    const ALL: [bool; 5] = [true; 5];
    const NONE: [bool; 5] = [false; 5];
    let actions: &[(&str, Method, &str, Option<Value>)] = &[
        ("admin logout", Method::POST, "logout", None),
        (
            "password reset",
            Method::PUT,
            "reset-password",
            Some(json!({"type": "password", "value": "vic-password-2", "temporary": false})),
        ),
        ("disable", Method::PUT, "", Some(json!({"enabled": false}))),
        (
            "password in a user update",
            Method::PUT,
            "",
            Some(json!({"credentials": [{"type": "password", "value": "vic-password-2"}]})),
        ),
        ("delete", Method::DELETE, "", None),
    ];
    for (what, method, action, body) in actions {
        let app = cred_app().await;
        let vic = app.user_id("cred", "vic").await;
        let held = sign_in(&app, "vic-password-1").await;
        assert_eq!(working(&app, &held).await, ALL, "{what}: before");
        // A later second, so the user's notBefore is after every token's iat.
        app.clock.advance(1);
        let path = match *action {
            "" => format!("realms/cred/users/{vic}"),
            action => format!("realms/cred/users/{vic}/{action}"),
        };
        let reply = match body {
            Some(body) => app.send_json(method.clone(), &path, body.clone()).await,
            None => {
                app.send(method.clone(), &path, Some(&app.admin), None)
                    .await
            }
        };
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{what}: {}",
            reply.text()
        );
        assert_eq!(working(&app, &held).await, NONE, "{what}: after");
        if *what == "disable" {
            let reply = app
                .put(
                    &format!("realms/cred/users/{vic}"),
                    json!({"enabled": true}),
                )
                .await;
            assert_eq!(reply.status, StatusCode::NO_CONTENT);
            assert_eq!(working(&app, &held).await, NONE, "enabling revives nothing");
        }
        if *what != "delete" {
            let password = if what.starts_with("password") {
                "vic-password-2"
            } else {
                "vic-password-1"
            };
            let again = sign_in(&app, password).await;
            assert_eq!(working(&app, &again).await, ALL, "{what}: signing in again");
        }
    }
}

/// A token issued before an admin logout dies by the user's `notBefore` even when nothing else
/// ties it to a session (no `sid`).
#[tokio::test]
async fn tokens_without_a_session_die_by_not_before() {
    let app = cred_app().await;
    let vic = app.user_id("cred", "vic").await;
    let token = app
        .access_token_with("cred", "vic", json!({"azp": "app"}))
        .await;
    let admin_api = |token: String| {
        let app = &app;
        async move {
            app.send(Method::GET, "realms/cred/users", Some(&token), None)
                .await
                .status
        }
    };
    assert_eq!(admin_api(token.clone()).await, StatusCode::OK);
    app.clock.advance(1);
    let reply = app
        .send(
            Method::POST,
            &format!("realms/cred/users/{vic}/logout"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(admin_api(token).await, StatusCode::UNAUTHORIZED);
    let fresh = app
        .access_token_with("cred", "vic", json!({"azp": "app"}))
        .await;
    assert_eq!(
        admin_api(fresh).await,
        StatusCode::OK,
        "tokens issued after are fine"
    );
}

#[tokio::test]
async fn docker_logins_are_listed_and_revoked() {
    let app = cred_app().await;
    let vic = app.user_id("cred", "vic").await;
    let registry = app.client_uuid("cred", "registry").await;
    let first = field(&docker_login(&app, "vic-password-1").await, "refresh_token");
    app.clock.advance(5);
    let second = field(&docker_login(&app, "vic-password-1").await, "refresh_token");

    let consents = app.get(&format!("realms/cred/users/{vic}/consents")).await;
    assert_eq!(
        consents.json(),
        json!([{"clientId": "registry", "grantedClientScopes": [], "createdDate": null,
                "lastUpdatedDate": null,
                "additionalGrants": [{"client": registry, "key": "Offline Token"}]}])
    );
    let sessions = app
        .get(&format!(
            "realms/cred/users/{vic}/offline-sessions/{registry}"
        ))
        .await
        .json();
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    assert_eq!(sessions[0]["username"], "vic");
    assert_eq!(sessions[0]["clients"][&registry], "registry");
    assert!(sessions[0]["ipAddress"].as_str().is_some());
    assert_eq!(
        sessions[1]["start"].as_i64().unwrap() - sessions[0]["start"].as_i64().unwrap(),
        5000
    );
    let count = app
        .get(&format!(
            "realms/cred/clients/{registry}/offline-session-count"
        ))
        .await;
    assert_eq!(count.json(), json!({"count": 2}));

    // One login revoked: the other lives on.
    let first_id = sessions[0]["id"].as_str().unwrap();
    let reply = app
        .delete(&format!("realms/cred/sessions/{first_id}?isOffline=true"))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(docker_refresh(&app, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(docker_refresh(&app, &second).await, StatusCode::OK);
    let again = app
        .delete(&format!("realms/cred/sessions/{first_id}?isOffline=true"))
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json(), json!({"error": "Sesssion not found"}));

    // Everything for the registry.
    let revoke_all = format!("realms/cred/users/{vic}/consents/registry");
    assert_eq!(app.delete(&revoke_all).await.status, StatusCode::NO_CONTENT);
    assert_eq!(
        docker_refresh(&app, &second).await,
        StatusCode::UNAUTHORIZED
    );
    let nothing = app.delete(&revoke_all).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        nothing.json(),
        json!({"error": "Consent nor offline token not found"})
    );
    assert_eq!(
        app.get(&format!("realms/cred/users/{vic}/consents"))
            .await
            .json(),
        json!([])
    );
    assert_eq!(
        app.delete(&format!("realms/cred/users/{vic}/consents/nope"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// New passwords pass the realm's policy wherever they are set (reset, create, partialImport,
/// realm import), with Keycloak's error keys and texts; the example realm's `length(12)` holds.
#[tokio::test]
async fn passwords_follow_the_realm_policy() {
    let app = app().await;
    app.import_realm(&json!({
        "realm": "pol",
        "enabled": true,
        "passwordPolicy": "length(12) and digits(1) and notUsername and passwordHistory(2)",
        "users": [{"username": "patricia-12345", "enabled": true,
                   "credentials": [{"type": "password", "value": "pat-password-1"}]}]
    }))
    .await;
    let pat = app.user_id("pol", "patricia-12345").await;
    let reset = |value: &'static str| {
        let (app, path) = (&app, format!("realms/pol/users/{pat}/reset-password"));
        async move {
            app.put(
                &path,
                json!({"type": "password", "value": value, "temporary": false}),
            )
            .await
        }
    };
    let refused = |reply: Reply, key: &str, text: &str| {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
        assert_eq!(
            reply.json(),
            json!({"error": key, "error_description": text})
        );
    };
    refused(
        reset("short-1").await,
        "invalidPasswordMinLengthMessage",
        "Invalid password: minimum length 12.",
    );
    refused(
        reset("no-digits-at-all").await,
        "invalidPasswordMinDigitsMessage",
        "Invalid password: must contain at least 1 numerical digits.",
    );
    refused(
        reset("Patricia-12345").await,
        "invalidPasswordNotUsernameMessage",
        "Invalid password: must not be equal to the username.",
    );
    refused(
        reset("pat-password-1").await,
        "invalidPasswordHistoryMessage",
        "Invalid password: must not be equal to any of last 2 passwords.",
    );
    assert_eq!(reset("pat-password-2").await.status, StatusCode::NO_CONTENT);
    let update = app
        .put(
            &format!("realms/pol/users/{pat}"),
            json!({"credentials": [{"type": "password", "value": "a"}]}),
        )
        .await;
    refused(
        update,
        "invalidPasswordMinLengthMessage",
        "Invalid password: minimum length 12.",
    );
    refused(
        reset("pat-password-1").await,
        "invalidPasswordHistoryMessage",
        "Invalid password: must not be equal to any of last 2 passwords.",
    );

    let create = app
        .post(
            "realms/pol/users",
            json!({"username": "newbie", "enabled": true,
                   "credentials": [{"type": "password", "value": "a"}]}),
        )
        .await;
    refused(
        create,
        "invalidPasswordMinLengthMessage",
        "Invalid password: minimum length 12.",
    );
    let found = app.get("realms/pol/users?username=newbie&exact=true").await;
    assert_eq!(found.json(), json!([]), "nothing was created");
    let import = app
        .post(
            "realms/pol/partialImport",
            json!({"users": [{"username": "plant", "enabled": true,
                              "credentials": [{"type": "password", "value": "a"}]}]}),
        )
        .await;
    assert_eq!(import.status, StatusCode::BAD_REQUEST, "{}", import.text());

    let realm_file = app
        .post(
            "realms",
            json!({"realm": "strict", "enabled": true, "passwordPolicy": "length(12)",
                   "users": [{"username": "u", "credentials": [{"type": "password", "value": "x"}]}]}),
        )
        .await;
    assert_eq!(
        realm_file.status,
        StatusCode::BAD_REQUEST,
        "{}",
        realm_file.text()
    );
    assert!(
        realm_file.text().contains("minimum length 12"),
        "{}",
        realm_file.text()
    );
}

/// Imported hashes far above the realm policy's cost are refused, not stored to slow every
/// login of their user.
#[tokio::test]
async fn costly_imported_hashes_are_refused() {
    let app = cred_app().await;
    let credential = |memory: u32, iterations: u32| {
        json!({
            "type": "password",
            "secretData": r#"{"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","salt":"AAAAAAAAAAAAAAAAAAAAAA=="}"#,
            "credentialData": json!({
                "hashIterations": iterations, "algorithm": "argon2",
                "additionalParameters": {"type": ["id"], "version": ["1.3"],
                    "memory": [memory.to_string()], "parallelism": ["1"], "hashLength": ["32"]}
            }).to_string(),
        })
    };
    let create = |name: &'static str, credential: Value| {
        let app = &app;
        async move {
            app.post(
                "realms/cred/users",
                json!({"username": name, "enabled": true, "credentials": [credential]}),
            )
            .await
        }
    };
    let refused = create("heavy", credential(524_288, 12)).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert!(
        refused.text().contains("argon2 memory"),
        "{}",
        refused.text()
    );
    let import = app
        .post(
            "realms/cred/partialImport",
            json!({"users": [{"username": "heavy", "credentials": [credential(7168, 50)]}]}),
        )
        .await;
    assert_eq!(import.status, StatusCode::BAD_REQUEST, "{}", import.text());
    let fine = create("light", credential(7168, 5)).await;
    assert_eq!(fine.status, StatusCode::CREATED, "{}", fine.text());
}

/// Which of vic's OIDC credentials still work: online refresh, offline refresh, userinfo, the
/// admin API (docker logins are not OpenID Connect tokens: Keycloak's `notBefore` of a realm
/// or client does not reach them). The client is public, so its refresh tokens rotate: a
/// successful check spends them, a refused one does not.
async fn oidc_working(app: &App, held: &Held) -> [bool; 4] {
    let [_, refresh, offline, userinfo, admin_api] = working(app, held).await;
    [refresh, offline, userinfo, admin_api]
}

/// The refresh grant's answer to a stale refresh token: Keycloak's.
async fn assert_stale(app: &App, refresh_token: &str) {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "app"),
        ("refresh_token", refresh_token),
    ];
    let refused = app.post_form(TOKEN, None, &form).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json(),
        json!({"error": "invalid_grant", "error_description": "Stale token"})
    );
}

/// The realm's `notBefore` (Keycloak's "Revocation: Set to now", a `PUT` of the realm) kills
/// every token of the realm issued before it, at once; clearing it revives them, as in
/// Keycloak; tokens issued after it work.
#[tokio::test]
async fn a_realm_not_before_revokes_every_token_issued_before() {
    let app = cred_app().await;
    let held = sign_in(&app, "vic-password-1").await;
    app.clock.advance(1);
    let now = app.now();
    let reply = app.put("realms/cred", json!({"notBefore": now})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(app.get("realms/cred").await.json()["notBefore"], now);
    assert_stale(&app, &held.refresh).await;
    assert_eq!(oidc_working(&app, &held).await, [false; 4]);
    let again = sign_in(&app, "vic-password-1").await;
    assert_eq!(oidc_working(&app, &again).await, [true; 4], "issued after");

    let reply = app.put("realms/cred", json!({"notBefore": 0})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(oidc_working(&app, &held).await, [true; 4], "cleared");

    let reply = app.put("realms/cred", json!({"notBefore": -1})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let reply = app.put("realms/cred", json!({"notBefore": "soon"})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
}

/// A client's `notBefore` (set through its representation) kills the tokens issued to that
/// client before it, and only those; `push-revocation` answers as Keycloak does and moves
/// nothing.
#[tokio::test]
async fn a_client_not_before_revokes_the_tokens_of_that_client() {
    let app = cred_app().await;
    let first = sign_in(&app, "vic-password-1").await;
    let second = sign_in(&app, "vic-password-1").await;
    let app_uuid = app.client_uuid("cred", "app").await;
    let registry = app.client_uuid("cred", "registry").await;
    app.clock.advance(1);
    let now = app.now();
    let other = app
        .put(
            &format!("realms/cred/clients/{registry}"),
            json!({"notBefore": now}),
        )
        .await;
    assert_eq!(other.status, StatusCode::NO_CONTENT, "{}", other.text());
    let path = format!("realms/cred/clients/{app_uuid}");
    let push = app
        .post(&format!("{path}/push-revocation"), json!({}))
        .await;
    assert_eq!(push.status, StatusCode::OK, "{}", push.text());
    assert_eq!(
        push.json(),
        json!({"successRequests": [], "failedRequests": []})
    );
    assert_eq!(
        oidc_working(&app, &first).await,
        [true; 4],
        "another client's notBefore, and a push, move nothing"
    );

    let reply = app.put(&path, json!({"notBefore": now})).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    assert_eq!(app.get(&path).await.json()["notBefore"], now);
    assert_stale(&app, &second.refresh).await;
    assert_eq!(oidc_working(&app, &second).await, [false; 4]);
    let again = sign_in(&app, "vic-password-1").await;
    assert_eq!(oidc_working(&app, &again).await, [true; 4], "issued after");

    let reply = app.put(&path, json!({"notBefore": -5})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());

    let reply = app
        .put(&path, json!({"adminUrl": "http://app.test/admin"}))
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let push = app
        .post(&format!("{path}/push-revocation"), json!({}))
        .await;
    assert_eq!(
        push.json(),
        json!({"successRequests": [], "failedRequests": ["http://app.test/admin"]})
    );
    let missing = app
        .post(
            "realms/cred/clients/no-such-client/push-revocation",
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let fresh = sign_in(&app, "vic-password-1").await;
    let vic_admin = app
        .send(
            Method::POST,
            &format!("{path}/push-revocation"),
            Some(&fresh.access),
            None,
        )
        .await;
    assert_eq!(vic_admin.status, StatusCode::FORBIDDEN, "view-users only");
}
