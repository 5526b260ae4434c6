//! App passwords at the docker token endpoint, on the real router (the test kit): what a token
//! issued with one carries (its restriction ∩ the owner's current rights), what it never gets
//! (a refresh token), and every way one is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portcullis_core::app_password::{Restriction, new_secret};
use portcullis_store::{AppPassword, app_passwords};
use portcullis_testkit::jwt::part;
use portcullis_testkit::{FORM, Reply, TestApp, basic, bearer, with_peer};
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const TOKEN: &str = "/auth/realms/acme/protocol/docker-v2/auth";

fn realm_json(name: &str) -> Value {
    let rule = |name: &str, config: Value| {
        json!({"name": name, "protocol": "docker-v2",
               "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
    };
    json!({
        "realm": name,
        "enabled": true,
        "bruteForceProtected": true, "failureFactor": 30, "quickLoginCheckMilliSeconds": 0,
        "roles": {"realm": [{"name": "dev"}]},
        "groups": [{"name": "platform"}],
        "users": [
            {"username": "alice", "enabled": true, "realmRoles": ["dev"], "groups": ["/platform"],
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "bob", "enabled": true,
             "credentials": [{"type": "password", "value": "bob-pw"}]}
        ],
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [
                rule("team", json!({"repository": "team/*", "actions": "pull,push", "role": "dev"})),
                rule("platform", json!({"repository": "platform/**", "actions": "pull,push,delete", "group": "/platform"})),
                rule("homes", json!({"repository": "users/${username}/**", "actions": "*", "subject": "authenticated"}))
             ]},
            {"clientId": "other-registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [{"name": "all", "protocol": "docker-v2",
                                  "protocolMapper": "docker-v2-allow-all-mapper", "config": {}}]},
            {"clientId": "web", "protocol": "openid-connect", "enabled": true, "publicClient": true,
             "directAccessGrantsEnabled": true}
        ]
    })
}

async fn app() -> TestApp {
    TestApp::builder()
        .realms([realm_json("acme"), realm_json("other")])
        .master_admin("admin", "admin-pw")
        .now(NOW)
        .build()
        .await
}

/// Stores an app password for `username` of `realm`; returns (secret, id).
async fn create(
    app: &TestApp,
    realm: &str,
    username: &str,
    restriction: Restriction,
) -> (String, String) {
    let (secret, secret_hash) = new_secret();
    let id = uuid::Uuid::new_v4().to_string();
    let record = AppPassword {
        id: id.clone(),
        realm_id: app.realm_id(realm).await,
        user_id: app.user_id(realm, username).await,
        name: "ci".into(),
        secret_hash,
        restriction,
        created_at: app.now(),
        revoked_at: None,
        last_used_at: None,
        last_used_address: None,
        last_used_user_agent: None,
    };
    app_passwords::insert(app.store.connection(), &record)
        .await
        .unwrap();
    (secret, id)
}

fn limited(repositories: &[&str], actions: &[&str]) -> Restriction {
    Restriction {
        service: None,
        repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
        actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        expires_at: NOW + 3600,
    }
}

async fn get(app: &TestApp, query: &str, auth: &str) -> Reply {
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("{TOKEN}?service=registry&{query}"))
        .header(header::AUTHORIZATION, auth)
        .header(header::USER_AGENT, "skopeo/1.9.3")
        .body(Body::empty())
        .unwrap();
    app.send(with_peer(request, "192.0.2.44:4000")).await
}

/// The actions granted per resource name, from a 200 reply's token.
fn granted(reply: &Reply) -> Vec<(String, Vec<String>)> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    part(&token, 1)["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let actions = a["actions"].as_array().unwrap();
            let actions = actions.iter().map(|x| x.as_str().unwrap().to_owned());
            (a["name"].as_str().unwrap().to_owned(), actions.collect())
        })
        .collect()
}

fn row(name: &str, actions: &[&str]) -> (String, Vec<String>) {
    (
        name.to_owned(),
        actions.iter().map(|a| (*a).to_owned()).collect(),
    )
}

async fn failures(app: &TestApp, realm: &str, username: &str) -> i64 {
    let realm_id = app.realm_id(realm).await;
    let user_id = app.user_id(realm, username).await;
    app.store
        .login_failures(&realm_id, &user_id)
        .await
        .unwrap()
        .map_or(0, |f| f.record.failures)
}

#[tokio::test]
async fn a_token_carries_the_restriction_intersected_with_the_owners_rights() {
    let app = app().await;
    // Push on platform/** and other/** (which alice has no right to), nothing on team/*.
    let (secret, id) = create(
        &app,
        "acme",
        "alice",
        limited(&["platform/**", "other/*"], &["push"]),
    )
    .await;
    let scopes = "scope=repository:platform/api:pull,push,delete&scope=repository:other/x:pull,push\
                  &scope=repository:team/a:pull,push&scope=repository:users/alice/x:pull";
    let reply = get(
        &app,
        &format!("{scopes}&offline_token=true"),
        &basic("alice", &secret),
    )
    .await;
    assert_eq!(
        granted(&reply),
        [
            row("platform/api", &["pull", "push"]),
            row("other/x", &[]),
            row("team/a", &[]),
            row("users/alice/x", &[]),
        ]
    );
    assert!(
        reply.json().get("refresh_token").is_none(),
        "an app password earns no identity token"
    );
    // The same password login gets everything the rules give, and a refresh token.
    let reply = get(
        &app,
        &format!("{scopes}&offline_token=true"),
        &basic("alice", "alice-pw"),
    )
    .await;
    assert_eq!(
        granted(&reply),
        [
            row("platform/api", &["delete", "pull", "push"]),
            row("other/x", &[]),
            row("team/a", &["pull", "push"]),
            row("users/alice/x", &["pull"]),
        ]
    );
    assert!(reply.json()["refresh_token"].is_string());

    // POST password grant (containerd, buildkit) with access_type=offline: no refresh token.
    let form = format!(
        "grant_type=password&service=registry&client_id=containerd&access_type=offline\
         &scope=repository:platform/api:push&username=alice&password={secret}"
    );
    let reply = app.send_body(Method::POST, TOKEN, None, FORM, form).await;
    assert_eq!(granted(&reply), [row("platform/api", &["push"])]);
    assert!(reply.json().get("refresh_token").is_none());

    // The use is recorded (address, client), and an event names the app password.
    let user_id = app.user_id("acme", "alice").await;
    let realm_id = app.realm_id("acme").await;
    let stored = app_passwords::find(app.store.connection(), &realm_id, &user_id, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.last_used_at, Some(NOW));
    assert_eq!(stored.last_used_address.as_deref(), Some("192.0.2.44"));
    assert_eq!(stored.last_used_user_agent.as_deref(), Some("skopeo/1.9.3"));
    app.state.flush_events().await;
    let events = app
        .get(
            "/auth/admin/realms/acme/events?type=DOCKER_TOKEN",
            Some(&bearer(&app.admin_token().await)),
        )
        .await
        .json();
    assert!(
        events.as_array().unwrap().iter().any(|e| {
            e["details"]["credential"] == "app_password"
                && e["details"]["app_password_id"] == id.as_str()
        }),
        "{events}"
    );
}

#[tokio::test]
async fn an_unrestricted_app_password_grants_the_owners_rights_and_a_bound_one_only_its_registry() {
    let app = app().await;
    let (secret, _) = create(&app, "acme", "alice", limited(&[], &[])).await;
    let reply = get(
        &app,
        "scope=repository:team/a:pull,push",
        &basic("alice", &secret),
    )
    .await;
    assert_eq!(granted(&reply), [row("team/a", &["pull", "push"])]);
    // Bob holds nothing on team/*: his app password cannot lend him alice's rights.
    let (bobs, _) = create(&app, "acme", "bob", limited(&[], &[])).await;
    let reply = get(
        &app,
        "scope=repository:team/a:pull,push",
        &basic("bob", &bobs),
    )
    .await;
    assert_eq!(granted(&reply), [row("team/a", &[])]);

    let bound = Restriction {
        service: Some("other-registry".into()),
        ..limited(&[], &[])
    };
    let (secret, _) = create(&app, "acme", "alice", bound).await;
    let reply = get(
        &app,
        "scope=repository:team/a:pull",
        &basic("alice", &secret),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "another registry");
    let reply = app
        .get(
            &format!("{TOKEN}?service=other-registry&scope=repository:x:pull"),
            Some(&basic("alice", &secret)),
        )
        .await;
    assert_eq!(granted(&reply), [row("x", &["pull"])]);
}

#[tokio::test]
async fn revoked_expired_foreign_and_wrong_app_passwords_are_refused_and_counted() {
    let app = app().await;
    let (revoked, revoked_id) = create(&app, "acme", "alice", limited(&[], &[])).await;
    let realm_id = app.realm_id("acme").await;
    let alice = app.user_id("acme", "alice").await;
    app_passwords::revoke(app.store.connection(), &realm_id, &alice, &revoked_id, NOW)
        .await
        .unwrap();
    let short = Restriction {
        expires_at: NOW + 30,
        ..limited(&[], &[])
    };
    let (expiring, _) = create(&app, "acme", "alice", short).await;
    let (foreign, _) = create(&app, "other", "alice", limited(&[], &[])).await;
    let (bobs, _) = create(&app, "acme", "bob", limited(&[], &[])).await;
    let (never_stored, _) = new_secret();

    let scope = "scope=repository:team/a:pull";
    let reply = get(&app, scope, &basic("alice", &expiring)).await;
    assert_eq!(granted(&reply), [row("team/a", &["pull"])], "still valid");
    app.clock.advance(30);
    let mut counted = 0;
    for secret in [&revoked, &expiring, &foreign, &bobs, &never_stored] {
        let reply = get(&app, scope, &basic("alice", secret)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
        assert!(reply.header(header::WWW_AUTHENTICATE).starts_with("Basic"));
        counted += 1;
        assert_eq!(
            failures(&app, "acme", "alice").await,
            counted,
            "brute force counts it"
        );
    }
    // POST answers invalid_grant.
    let form = format!("grant_type=password&service=registry&username=alice&password={revoked}");
    let reply = app.send_body(Method::POST, TOKEN, None, FORM, form).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.json()["error"], "invalid_grant");

    // The OIDC password grant takes passwords only: an app password is no OIDC credential.
    let (valid, _) = create(&app, "acme", "alice", limited(&[], &[])).await;
    let form = format!("grant_type=password&client_id=web&username=alice&password={valid}");
    let reply = app
        .send_body(
            Method::POST,
            "/auth/realms/acme/protocol/openid-connect/token",
            None,
            FORM,
            form,
        )
        .await;
    reply.assert_oauth_error(401, "invalid_grant");
    let reply = get(&app, scope, &basic("alice", &valid)).await;
    assert_eq!(granted(&reply), [row("team/a", &["pull"])]);

    // Failures are login events.
    app.state.flush_events().await;
    let events = app
        .get(
            "/auth/admin/realms/acme/events?type=DOCKER_TOKEN_ERROR",
            Some(&bearer(&app.admin_token().await)),
        )
        .await
        .json();
    let app_password_failures = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["details"]["credential"] == "app_password")
        .count();
    assert_eq!(app_password_failures, 6, "{events}");
}

#[tokio::test]
async fn leaving_a_group_loses_the_access_at_once() {
    let app = app().await;
    let (secret, _) = create(&app, "acme", "alice", limited(&["platform/**"], &[])).await;
    let scope = "scope=repository:platform/api:push";
    let reply = get(&app, scope, &basic("alice", &secret)).await;
    assert_eq!(granted(&reply), [row("platform/api", &["push"])]);

    let admin = bearer(&app.admin_token().await);
    let alice = app.user_id("acme", "alice").await;
    let groups = app
        .get(
            &format!("/auth/admin/realms/acme/users/{alice}/groups"),
            Some(&admin),
        )
        .await
        .json();
    let group = groups[0]["id"].as_str().unwrap();
    let reply = app
        .delete(
            &format!("/auth/admin/realms/acme/users/{alice}/groups/{group}"),
            Some(&admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    // Within the verified-credentials cache's minute: the change reached it.
    let reply = get(&app, scope, &basic("alice", &secret)).await;
    assert_eq!(granted(&reply), [row("platform/api", &[])]);
}
