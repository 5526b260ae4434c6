//! Realm-wide endpoints: unknown routes answer JSON, keys and key components, events settings
//! (honoured), default groups (joined by new users), cache clears (a change made behind the
//! server's back shows), logout-all (live tokens die), push-revocation, session counts per
//! client, and the console's whoami.

use axum::http::{Method, StatusCode, header};
use portcullis_store::admin::ConnectionTrait;
use portcullis_testkit::Reply;
use serde_json::{Value, json};

use crate::common::{App, app, names};

const TOKEN: &str = "/auth/realms/ra/protocol/openid-connect/token";

fn realm() -> Value {
    json!({
        "realm": "ra",
        "enabled": true,
        "adminEventsEnabled": true,
        "adminEventsDetailsEnabled": true,
        "roles": {"realm": [{"name": "offline_access"}]},
        "groups": [{"name": "staff"}, {"name": "eng", "subGroups": [{"name": "web"}]}],
        "clients": [
            {"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true,
             "redirectUris": ["http://app.test/*"]},
            {"clientId": "backend", "publicClient": false, "secret": "s3cret"}
        ],
        "users": [
            {"username": "vic", "enabled": true, "realmRoles": ["offline_access"],
             "credentials": [{"type": "password", "value": "vic-password-1"}]},
            {"username": "pending", "enabled": true, "requiredActions": ["VERIFY_EMAIL"],
             "credentials": [{"type": "password", "value": "pending-password-1"}]},
            {"username": "realmviewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-realm"]}},
            {"username": "usermanager", "enabled": true,
             "clientRoles": {"realm-management": ["manage-users"]}},
            {"username": "eventviewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-events"]}},
            {"username": "boss", "enabled": true,
             "clientRoles": {"realm-management": ["realm-admin"]}}
        ]
    })
}

pub async fn ra_app() -> App {
    let app = app().await;
    app.import_realm(&realm()).await;
    app
}

/// `path` under `/auth/admin/realms/ra/`.
fn ra(path: &str) -> String {
    format!("realms/ra/{path}")
}

async fn as_user(app: &App, user: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
    let token = app.access_token("ra", user).await;
    let body = body.map(|b| axum::body::Body::from(b.to_string()));
    app.send(method, path, Some(&token), body).await
}

pub async fn password_grant(app: &App, user: &str, password: &str, scope: &str) -> Reply {
    let form = [
        ("grant_type", "password"),
        ("client_id", "app"),
        ("username", user),
        ("password", password),
        ("scope", scope),
    ];
    app.post_form(TOKEN, None, &form).await
}

async fn refresh(app: &App, token: &str) -> StatusCode {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", "app"),
        ("refresh_token", token),
    ];
    app.post_form(TOKEN, None, &form).await.status
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = ra_app().await;
    let rows: Vec<(Method, &str, StatusCode, Value)> = vec![
        (
            Method::GET,
            "realms/ra/no-such-thing",
            StatusCode::NOT_FOUND,
            json!({"error": "HTTP 404 Not Found"}),
        ),
        (
            Method::GET,
            "nothing/here/at/all",
            StatusCode::NOT_FOUND,
            json!({"error": "HTTP 404 Not Found"}),
        ),
        (
            Method::DELETE,
            "serverinfo",
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "HTTP 405 Method Not Allowed"}),
        ),
        (
            Method::PATCH,
            "realms/ra/users",
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "HTTP 405 Method Not Allowed"}),
        ),
    ];
    for (method, path, status, body) in rows {
        let reply = app.send(method.clone(), path, Some(&app.admin), None).await;
        assert_eq!(reply.status, status, "{method} {path}");
        assert_eq!(reply.json(), body, "{method} {path}");
        assert!(reply.header(header::CONTENT_TYPE).contains("json"));
    }
    let reply = app
        .send(Method::DELETE, "serverinfo", Some(&app.admin), None)
        .await;
    assert!(
        reply.header(header::ALLOW).contains("GET"),
        "{:?}",
        reply.headers
    );

    let client = app.client_uuid("ra", "app").await;
    let unsupported = [
        (
            format!("realms/ra/clients/{client}/authz/resource-server/resource"),
            "Authorization services",
        ),
        ("realms/ra/organizations".to_string(), "Organizations"),
        (
            "realms/ra/organizations/x/members".to_string(),
            "Organizations",
        ),
        (
            "realms/ra/client-policies/policies".to_string(),
            "Client policies",
        ),
        (
            "realms/ra/client-policies/profiles".to_string(),
            "Client policies",
        ),
        (
            "realms/ra/users-management-permissions".to_string(),
            "Fine-grained",
        ),
        (
            format!("realms/ra/clients/{client}/management/permissions"),
            "Fine-grained",
        ),
        ("api/ra/clients/v2".to_string(), "admin API v2"),
    ];
    for (path, says) in unsupported {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{path}");
        let message = reply.json()["errorMessage"].as_str().unwrap().to_string();
        assert!(
            message.contains(says) && message.contains("not supported"),
            "{path}: {message}"
        );
    }
    // Existing endpoints keep their own answers.
    assert_eq!(app.get("realms/ra/users").await.status, StatusCode::OK);
    let missing = app.get("realms/nope/users").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({"error": "Realm not found."}));
}

#[tokio::test]
async fn keys_and_key_components() {
    let app = ra_app().await;
    let reply = app.get(&ra("keys")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let keys = reply.json();
    let kid = keys["active"]["RS256"].as_str().unwrap().to_string();
    let certs = app
        .get("/auth/realms/ra/protocol/openid-connect/certs")
        .await
        .json();
    let published: Vec<&str> = certs["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(published.contains(&kid.as_str()), "{published:?} {kid}");
    let rsa = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .unwrap()
        .clone();
    assert_eq!(rsa["type"], "RSA");
    assert_eq!(rsa["algorithm"], "RS256");
    assert_eq!(rsa["status"], "ACTIVE");
    assert_eq!(rsa["use"], "SIG");
    assert!(rsa["providerPriority"].is_i64());
    assert!(rsa["publicKey"].as_str().unwrap().starts_with("MII"));
    assert!(rsa["certificate"].as_str().unwrap().starts_with("MII"));
    let provider = rsa["providerId"].as_str().unwrap();

    let list = app
        .get(&ra("components?type=org.keycloak.keys.KeyProvider"))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    let component = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == provider)
        .unwrap();
    assert_eq!(component["providerId"], "rsa-generated");
    assert_eq!(component["providerType"], "org.keycloak.keys.KeyProvider");
    assert_eq!(component["config"]["active"], json!(["true"]));
    assert!(component["config"].get("privateKey").is_none());
    assert_eq!(
        app.get(&ra(
            "components?type=org.keycloak.storage.UserStorageProvider"
        ))
        .await
        .json(),
        json!([])
    );
    assert_eq!(
        app.get(&ra(&format!("components/{provider}"))).await.json()["id"],
        provider
    );
    let missing = app.get(&ra("components/nope")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json(), json!({"error": "Could not find component"}));
    let create = app
        .post(&ra("components"), json!({"providerId": "rsa-generated"}))
        .await;
    assert_eq!(create.status, StatusCode::NOT_IMPLEMENTED);
    assert!(
        create.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("not supported")
    );

    // view-realm reads them; manage-users does not; neither may edit.
    assert_eq!(
        as_user(&app, "realmviewer", Method::GET, &ra("keys"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        as_user(&app, "usermanager", Method::GET, &ra("keys"), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let edit = as_user(
        &app,
        "realmviewer",
        Method::DELETE,
        &ra(&format!("components/{provider}")),
        None,
    )
    .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("realms/nope/keys").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn events_config_is_stored_and_honoured() {
    let app = ra_app().await;
    let config = app.get(&ra("events/config")).await;
    assert_eq!(config.status, StatusCode::OK);
    let config = config.json();
    assert_eq!(config["eventsEnabled"], true);
    assert_eq!(config["adminEventsEnabled"], true);
    assert_eq!(config["eventsListeners"], json!(["jboss-logging"]));

    // Login events recorded, then turned off, then only the chosen types.
    assert_eq!(
        password_grant(&app, "vic", "vic-password-1", "openid")
            .await
            .status,
        StatusCode::OK
    );
    app.state.flush_events().await;
    let events = app.get(&ra("events")).await.json();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");

    let reply = app
        .put(
            &ra("events/config"),
            json!({"eventsEnabled": false, "eventsExpiration": 3600}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let stored = app.get(&ra("events/config")).await.json();
    assert_eq!(stored["eventsEnabled"], false);
    assert_eq!(stored["eventsExpiration"], 3600);
    assert_eq!(app.get("realms/ra").await.json()["eventsEnabled"], false);
    password_grant(&app, "vic", "vic-password-1", "openid").await;
    app.state.flush_events().await;
    assert_eq!(
        app.get(&ra("events"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    app.put(
        &ra("events/config"),
        json!({"eventsEnabled": true, "enabledEventTypes": ["LOGIN_ERROR"]}),
    )
    .await;
    password_grant(&app, "vic", "vic-password-1", "openid").await;
    password_grant(&app, "vic", "wrong", "openid").await;
    app.state.flush_events().await;
    let events = app.get(&ra("events")).await.json();
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types.len(), 2, "{types:?}");
    assert_eq!(types[0], "LOGIN_ERROR");

    // DELETE events empties the log.
    assert_eq!(
        app.delete(&ra("events")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&ra("events")).await.json(), json!([]));

    // Admin events off: changes are no longer recorded; details off: no representation.
    app.put(
        &ra("events/config"),
        json!({"adminEventsDetailsEnabled": false}),
    )
    .await;
    app.post(&ra("roles"), json!({"name": "with-details-off"}))
        .await;
    let latest = &app.events("ra").await[0];
    assert_eq!(latest["resourcePath"], "roles/with-details-off");
    assert!(latest.get("representation").is_none(), "{latest}");
    app.put(&ra("events/config"), json!({"adminEventsEnabled": false}))
        .await;
    let before = app.events("ra").await.len();
    app.post(&ra("roles"), json!({"name": "unrecorded"})).await;
    assert_eq!(app.events("ra").await.len(), before);

    // Validation and authorization.
    let bad = app
        .put(&ra("events/config"), json!({"eventsListeners": ["email"]}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let unknown = app.put(&ra("events/config"), json!({"bogus": true})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let viewer = as_user(&app, "eventviewer", Method::GET, &ra("events/config"), None).await;
    assert_eq!(viewer.status, StatusCode::OK);
    let viewer_put = as_user(
        &app,
        "eventviewer",
        Method::PUT,
        &ra("events/config"),
        Some(json!({"eventsEnabled": true})),
    )
    .await;
    assert_eq!(viewer_put.status, StatusCode::FORBIDDEN);
    let delete = as_user(&app, "eventviewer", Method::DELETE, &ra("events"), None).await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    assert_eq!(
        as_user(&app, "realmviewer", Method::GET, &ra("events/config"), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn group_id(app: &App, path: &str) -> String {
    let reply = app.get(&ra(&format!("group-by-path/{path}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn default_groups_are_joined_by_new_users() {
    let app = ra_app().await;
    let web = group_id(&app, "eng/web").await;
    let staff = group_id(&app, "staff").await;
    assert_eq!(app.get(&ra("default-groups")).await.json(), json!([]));
    for id in [&web, &staff] {
        let reply = app
            .put(&ra(&format!("default-groups/{id}")), json!({}))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    }
    // Twice is fine.
    assert_eq!(
        app.put(&ra(&format!("default-groups/{web}")), json!({}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let list = app.get(&ra("default-groups")).await.json();
    assert_eq!(names(&list, "path"), ["/eng/web", "/staff"]);

    let created = app
        .post(&ra("users"), json!({"username": "newbie", "enabled": true}))
        .await;
    let id = created.created_id();
    let groups = app.get(&ra(&format!("users/{id}/groups"))).await.json();
    assert_eq!(names(&groups, "path"), ["/eng/web", "/staff"]);

    assert_eq!(
        app.delete(&ra(&format!("default-groups/{staff}")))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let again = app.delete(&ra(&format!("default-groups/{staff}"))).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert!(again.json()["error"].is_string());
    let unknown = app.put(&ra("default-groups/nope"), json!({})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json(), json!({"error": "Group not found"}));
    let second = app
        .post(&ra("users"), json!({"username": "second", "enabled": true}))
        .await
        .created_id();
    let groups = app.get(&ra(&format!("users/{second}/groups"))).await.json();
    assert_eq!(names(&groups, "path"), ["/eng/web"]);

    // Deleting a default group removes it from the list.
    app.delete(&ra(&format!("groups/{web}"))).await;
    assert_eq!(app.get(&ra("default-groups")).await.json(), json!([]));

    // view-realm reads, manage-realm changes.
    assert_eq!(
        as_user(
            &app,
            "realmviewer",
            Method::GET,
            &ra("default-groups"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    let put = as_user(
        &app,
        "realmviewer",
        Method::PUT,
        &ra(&format!("default-groups/{staff}")),
        None,
    )
    .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN);
    let boss = as_user(
        &app,
        "boss",
        Method::PUT,
        &ra(&format!("default-groups/{staff}")),
        None,
    )
    .await;
    assert_eq!(boss.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn clear_realm_cache_reloads_what_changed_in_the_database() {
    let app = ra_app().await;
    let lifespan = |reply: Reply| reply.json()["expires_in"].as_i64().unwrap();
    let first = password_grant(&app, "vic", "vic-password-1", "openid").await;
    assert_eq!(lifespan(first), 300);
    // Behind the server's back: the cached snapshot still has the old lifespan.
    app.store
        .connection()
        .execute_unprepared("UPDATE realm SET access_token_lifespan = 120 WHERE name = 'ra'")
        .await
        .unwrap();
    assert_eq!(
        lifespan(password_grant(&app, "vic", "vic-password-1", "openid").await),
        300
    );
    for path in ["clear-keys-cache", "clear-user-cache"] {
        let reply = as_user(&app, "realmviewer", Method::POST, &ra(path), None).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            app.post(&ra(path), json!({})).await.status,
            StatusCode::NO_CONTENT
        );
    }
    app.store
        .connection()
        .execute_unprepared("UPDATE realm SET access_token_lifespan = 90 WHERE name = 'ra'")
        .await
        .unwrap();
    assert_eq!(
        app.post(&ra("clear-realm-cache"), json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        lifespan(password_grant(&app, "vic", "vic-password-1", "openid").await),
        90
    );
    assert_eq!(
        app.post("realms/nope/clear-realm-cache", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let actions: Vec<String> = app
        .events("ra")
        .await
        .iter()
        .filter(|e| e["operationType"] == "ACTION")
        .filter_map(|e| e["resourcePath"].as_str().map(str::to_string))
        .collect();
    assert!(
        actions.contains(&"clear-realm-cache".to_string()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn logout_all_ends_every_sign_in() {
    let app = ra_app().await;
    let online = password_grant(&app, "vic", "vic-password-1", "openid")
        .await
        .json();
    let offline = password_grant(&app, "vic", "vic-password-1", "openid offline_access")
        .await
        .json();
    let refresh_token = online["refresh_token"].as_str().unwrap();
    let offline_token = offline["refresh_token"].as_str().unwrap();
    let access = online["access_token"].as_str().unwrap();
    assert_eq!(refresh(&app, refresh_token).await, StatusCode::OK);

    let stats = app.get(&ra("client-session-stats")).await;
    assert_eq!(stats.status, StatusCode::OK);
    let app_uuid = app.client_uuid("ra", "app").await;
    assert_eq!(
        stats.json(),
        json!([{"id": app_uuid, "clientId": "app", "active": "1", "offline": "1"}])
    );
    assert_eq!(
        as_user(
            &app,
            "realmviewer",
            Method::GET,
            &ra("client-session-stats"),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        as_user(
            &app,
            "eventviewer",
            Method::GET,
            &ra("client-session-stats"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // manage-realm alone may not end users' sessions; manage-users may.
    let refused = as_user(&app, "realmviewer", Method::POST, &ra("logout-all"), None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let reply = as_user(&app, "usermanager", Method::POST, &ra("logout-all"), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"successRequests": [], "failedRequests": []})
    );
    assert_ne!(refresh(&app, refresh_token).await, StatusCode::OK);
    assert_ne!(refresh(&app, offline_token).await, StatusCode::OK);
    let kit: &portcullis_testkit::TestApp = &app;
    let userinfo = kit
        .get(
            "/auth/realms/ra/protocol/openid-connect/userinfo",
            Some(&portcullis_testkit::bearer(access)),
        )
        .await;
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&ra("client-session-stats")).await.json(), json!([]));
    // A new sign-in works.
    assert_eq!(
        password_grant(&app, "vic", "vic-password-1", "openid")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn push_revocation_reports_clients_with_a_management_url() {
    let app = ra_app().await;
    let reply = app.post(&ra("push-revocation"), json!({})).await;
    assert_eq!(
        reply.json(),
        json!({"successRequests": [], "failedRequests": []})
    );
    let created = app
        .post(
            &ra("clients"),
            json!({"clientId": "managed", "adminUrl": "http://backend.test/admin"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let reply = app.post(&ra("push-revocation"), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"successRequests": [], "failedRequests": ["http://backend.test/admin"]})
    );
    let refused = as_user(
        &app,
        "usermanager",
        Method::POST,
        &ra("push-revocation"),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn whoami_names_the_caller_and_their_admin_realms() {
    let app = ra_app().await;
    let reply = app.get("/auth/admin/master/console/whoami").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let who = reply.json();
    assert_eq!(who["realm"], "master");
    assert_eq!(who["userId"], app.user_id("master", "admin").await.as_str());
    assert_eq!(who["displayName"], "admin");
    assert_eq!(who["createRealm"], true);
    for realm in ["master", "acme", "ra"] {
        let roles = who["realm_access"][realm].as_array().unwrap();
        assert!(roles.contains(&json!("manage-realm")), "{realm}: {roles:?}");
    }

    let token = app.access_token("ra", "eventviewer").await;
    let reply = app
        .send(
            Method::GET,
            "/auth/admin/ra/console/whoami",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let who = reply.json();
    assert_eq!(who["createRealm"], false);
    assert_eq!(who["realm_access"], json!({"ra": ["view-events"]}));
    // A token of another realm is not this console's caller.
    let reply = app
        .send(
            Method::GET,
            "/auth/admin/master/console/whoami",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let reply = app
        .send(Method::GET, "/auth/admin/ra/console/whoami", None, None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}
