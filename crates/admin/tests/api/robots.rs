//! `groups/{id}/robots`: create (secret shown once), what a robot gets at the docker endpoint
//! (its rules ∩ what a member of its group gets now), rotation with a grace period, source
//! addresses, disable, revoke and delete (refused at once), validation, and who may manage
//! robots (realm admins; members of the group or a group above it with `manage-robots`).

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use portcullis_testkit::{basic, jwt::part, request, with_peer};
use serde_json::{Value, json};

use crate::common::{App, NOW, app};

const TOKEN: &str = "/auth/realms/reg/protocol/docker-v2/auth?service=registry";

fn member(name: &str, roles: &[&str], groups: &[&str]) -> Value {
    json!({"username": name, "enabled": true, "realmRoles": roles, "groups": groups,
           "credentials": [{"type": "password", "value": format!("{name}-pw")}]})
}

fn reg() -> Value {
    json!({
        "realm": "reg",
        "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
        "enabled": true,
        "attributes": {"robotMaxLifespan": "86400"},
        "roles": {"realm": [{"name": "writer"}, {"name": "manage-robots"}]},
        "groups": [
            {"name": "platform", "realmRoles": ["writer"], "subGroups": [{"name": "ci"}]},
            {"name": "other"}
        ],
        "users": [
            member("pam", &["manage-robots"], &["/platform"]),
            member("cid", &["manage-robots"], &["/platform/ci"]),
            member("otto", &["manage-robots"], &["/other"]),
            member("plain", &[], &["/platform"]),
            // Named like a robot before robots existed: keeps signing in with a password.
            member("robot.legacy", &[], &[]),
            {"username": "viewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-users"]}},
            {"username": "helpdesk", "enabled": true,
             "clientRoles": {"realm-management": ["manage-users", "view-users"]}}
        ],
        "clients": [
            {"clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [
                {"name": "platform", "protocol": "docker-v2",
                 "protocolMapper": "docker-v2-repository-access-mapper",
                 "config": {"repository": "platform/**", "actions": "pull,push", "group": "/platform"}},
                {"name": "writers", "protocol": "docker-v2",
                 "protocolMapper": "docker-v2-repository-access-mapper",
                 "config": {"repository": "shared/**", "actions": "push", "role": "writer"}},
                {"name": "personal", "protocol": "docker-v2",
                 "protocolMapper": "docker-v2-repository-access-mapper",
                 "config": {"repository": "${username}/**", "actions": "*", "subject": "authenticated"}}
             ]},
            {"clientId": "other-registry", "protocol": "docker-v2", "enabled": true, "publicClient": true},
            {"clientId": "web", "publicClient": true, "directAccessGrantsEnabled": true,
             "redirectUris": ["http://web.test/*"]}
        ]
    })
}

struct Setup {
    app: App,
    platform: String,
    ci: String,
    other: String,
}

async fn setup() -> Setup {
    let app = app().await;
    app.import_realm(&reg()).await;
    let group = |path: &'static str| {
        let app = &app;
        async move {
            let reply = app.get(&format!("realms/reg/group-by-path/{path}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            reply.json()["id"].as_str().unwrap().to_string()
        }
    };
    let (platform, ci, other) = (
        group("platform").await,
        group("platform/ci").await,
        group("other").await,
    );
    Setup {
        app,
        platform,
        ci,
        other,
    }
}

fn robots(group: &str) -> String {
    format!("realms/reg/groups/{group}/robots")
}

fn new(name: &str) -> Value {
    json!({"name": name, "expiresAt": NOW + 3600, "registry": "registry",
           "repositories": ["platform/**", "shared/**"], "actions": ["push"]})
}

/// Creates a robot as the master admin; (id, secret).
async fn create(app: &App, group: &str, body: Value) -> (String, String) {
    let reply = app.post(&robots(group), body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let made = reply.json();
    (
        made["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    )
}

/// A docker token request (GET with Basic credentials) from `peer`.
async fn docker_from(
    app: &App,
    user: &str,
    secret: &str,
    scopes: &str,
    peer: &str,
) -> portcullis_testkit::Reply {
    let auth = basic(user, secret);
    let req = request(Method::GET, &format!("{TOKEN}{scopes}"), Some(&auth))
        .body(Body::empty())
        .unwrap();
    std::ops::Deref::deref(app).send(with_peer(req, peer)).await
}

async fn docker(app: &App, user: &str, secret: &str, scopes: &str) -> portcullis_testkit::Reply {
    docker_from(app, user, secret, scopes, "192.0.2.10:4000").await
}

fn access(reply: &portcullis_testkit::Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    part(reply.json()["token"].as_str().unwrap(), 1)["access"].clone()
}

/// The actions granted on each scope, in order.
fn granted(reply: &portcullis_testkit::Reply) -> Vec<Vec<String>> {
    access(reply)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            a["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

const SCOPES: &str = "&scope=repository:platform/app:pull,push&scope=repository:shared/lib:push\
                      &scope=repository:other/x:pull,push&scope=repository:robot.ci/own:pull,push";

async fn as_user(app: &App, method: Method, path: &str, token: &str, body: Option<Value>) -> u16 {
    let body = body.map(|b| Body::from(b.to_string()));
    app.send(method, path, Some(token), body)
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn a_robot_gets_its_rules_intersected_with_its_groups_rights_as_of_now() {
    let Setup { app, platform, .. } = setup().await;
    let reply = app.post(&robots(&platform), new("ci")).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let made = reply.json();
    let (id, secret) = (
        made["id"].as_str().unwrap().to_string(),
        made["secret"].as_str().unwrap().to_string(),
    );
    assert!(secret.starts_with("pcr_") && secret.len() == 47, "{secret}");
    assert_eq!(made["username"], "robot.ci");
    assert_eq!(made["groupPath"], "/platform");
    assert_eq!(made["status"], "active");
    assert_eq!(
        made["dockerLogin"],
        format!(
            "printf '%s' '{secret}' | docker login --username 'robot.ci' --password-stdin registry"
        )
    );
    assert!(
        reply
            .header(header::LOCATION)
            .ends_with(&format!("/groups/{platform}/robots/{id}"))
    );

    // Its rules (platform/** and shared/**, push) ∩ a /platform member's rights: not other/**
    // (no rule), not its personal namespace (outside its rules); no refresh token.
    let reply = docker(
        &app,
        "robot.ci",
        &secret,
        &format!("{SCOPES}&offline_token=true"),
    )
    .await;
    assert_eq!(
        granted(&reply),
        [vec!["pull", "push"], vec!["push"], vec![], vec![]]
    );
    assert!(reply.json().get("refresh_token").is_none());
    assert_eq!(
        part(reply.json()["token"].as_str().unwrap(), 1)["sub"],
        "robot.ci"
    );
    // The POST password grant too, and never a refresh token.
    let form = format!(
        "grant_type=password&service=registry&client_id=ci&access_type=offline\
         &username=robot.ci&password={secret}&scope=repository:platform/app:push"
    );
    let reply = std::ops::Deref::deref(&app)
        .send_body(
            Method::POST,
            "/auth/realms/reg/protocol/docker-v2/auth",
            None,
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.json().get("refresh_token").is_none());
    // Limited to its registry.
    let other = "/auth/realms/reg/protocol/docker-v2/auth?service=other-registry";
    let reply = std::ops::Deref::deref(&app)
        .get(other, Some(&basic("robot.ci", &secret)))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // The group loses the writer role: the robot loses shared/** at once (it was cached).
    let roles = app.get("realms/reg/roles/writer").await.json();
    let unmapped = app
        .delete_with(
            &format!("realms/reg/groups/{platform}/role-mappings/realm"),
            json!([roles]),
        )
        .await;
    assert_eq!(
        unmapped.status,
        StatusCode::NO_CONTENT,
        "{}",
        unmapped.text()
    );
    let reply = docker(&app, "robot.ci", &secret, SCOPES).await;
    assert_eq!(
        granted(&reply),
        [vec!["pull", "push"], vec![], vec![], vec![]]
    );

    // Listed with its last use and secrets, never a secret or its hash; nor in events.
    let listed = app.get(&robots(&platform)).await;
    assert_eq!(listed.status, StatusCode::OK);
    let text = listed.text();
    assert!(!text.contains(&secret) && !text.contains(&portcullis_testkit::sha256_hex(&secret)));
    let row = &listed.json()[0];
    assert_eq!(row["name"], "ci");
    assert_eq!(row["lastUsedAt"], NOW);
    assert_eq!(row["lastUsedAddress"], "192.0.2.10");
    assert_eq!(row["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(row["secrets"][0]["lastUsedAt"], NOW);
    assert_eq!(
        app.get("realms/reg/robots").await.json()[0]["id"],
        id.as_str()
    );
    let events = app.events("reg").await;
    assert!(events.iter().any(|e| e["operationType"] == "CREATE"
        && e["resourcePath"] == format!("groups/{platform}/robots/{id}").as_str()));
    assert!(!serde_json::to_string(&events).unwrap().contains(&secret));

    // Never at the browser login or an OIDC grant.
    let form = format!("grant_type=password&client_id=web&username=robot.ci&password={secret}");
    let reply = std::ops::Deref::deref(&app)
        .send_body(
            Method::POST,
            "/auth/realms/reg/protocol/openid-connect/token",
            None,
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());

    // Deleted: refused at once, and the name is free again.
    assert_eq!(
        app.delete(&format!("{}/{id}", robots(&platform)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = docker(&app, "robot.ci", &secret, SCOPES).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    create(&app, &platform, new("ci")).await;

    app.state.flush_events().await;
    let kinds: Vec<String> = app
        .get("realms/reg/events")
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    for kind in [
        "ROBOT_CREATED",
        "ROBOT_DELETED",
        "DOCKER_TOKEN",
        "DOCKER_TOKEN_ERROR",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
}

/// Rotating with a grace keeps the old secret working until the grace ends (even though the
/// verification was cached), and a second rotation neither kills the newest secret nor
/// extends an older one.
#[tokio::test]
async fn rotation_overlaps_for_the_grace_period_only() {
    let Setup { app, platform, .. } = setup().await;
    let (id, first) = create(&app, &platform, new("ci")).await;
    let rotate = format!("{}/{id}/rotate", robots(&platform));
    let works = |secret: String| {
        let app = &app;
        async move { docker(app, "robot.ci", &secret, SCOPES).await.status == StatusCode::OK }
    };
    assert!(works(first.clone()).await);

    let reply = app.post(&rotate, json!({"gracePeriodSeconds": 30})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let second = reply.json()["secret"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert!(
        reply.json()["dockerLogin"]
            .as_str()
            .unwrap()
            .contains(&second)
    );
    let secrets = reply.json()["secrets"].clone();
    assert_eq!(secrets[0]["expiresAt"], Value::Null, "{secrets}");
    assert_eq!(secrets[1]["expiresAt"], NOW + 30, "{secrets}");
    assert!(works(first.clone()).await && works(second.clone()).await);

    app.clock.advance(10);
    // Rotate again with a longer grace: the first keeps its end (NOW + 30), the second gets
    // NOW + 10 + 60, the third none.
    let reply = app.post(&rotate, json!({"gracePeriodSeconds": 60})).await;
    let third = reply.json()["secret"].as_str().unwrap().to_string();
    let ends: Vec<Value> = reply.json()["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["expiresAt"].clone())
        .collect();
    assert_eq!(ends, [Value::Null, json!(NOW + 70), json!(NOW + 30)]);
    assert!(
        works(first.clone()).await && works(second.clone()).await && works(third.clone()).await
    );

    app.clock.advance(20); // NOW + 30
    assert!(
        !works(first.clone()).await,
        "the first secret's grace is over"
    );
    assert!(works(second.clone()).await && works(third.clone()).await);
    app.clock.advance(40); // NOW + 70
    assert!(
        !works(second.clone()).await,
        "the second secret's grace is over"
    );
    assert!(works(third.clone()).await, "the newest lives on");

    // A grace of 0 ends the older secrets now; bad graces are 400.
    let reply = app.post(&rotate, json!({"gracePeriodSeconds": 0})).await;
    let fourth = reply.json()["secret"].as_str().unwrap().to_string();
    assert!(!works(third).await && works(fourth).await);
    for bad in [
        json!({}),
        json!({"gracePeriodSeconds": -1}),
        json!({"gracePeriodSeconds": 2_592_001}),
    ] {
        assert_eq!(
            app.post(&rotate, bad.clone()).await.status,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    let events = app.events("reg").await;
    assert!(events.iter().any(|e| e["operationType"] == "ACTION"
        && e["resourcePath"] == format!("groups/{platform}/robots/{id}/rotate").as_str()));
}

#[tokio::test]
async fn disabled_revoked_expired_and_out_of_range_robots_are_refused() {
    let Setup { app, platform, .. } = setup().await;
    let mut body = new("mirror");
    // Short-lived, so the test reaches its expiry within the admin token's five minutes.
    body["expiresAt"] = json!(NOW + 200);
    body["sourceCidrs"] = json!(["10.0.0.0/8", "2001:db8::/32"]);
    let (id, secret) = create(&app, &platform, body).await;
    let one = format!("{}/{id}", robots(&platform));
    let from = |peer: &'static str| {
        let (app, secret) = (&app, secret.clone());
        async move {
            docker_from(app, "robot.mirror", &secret, SCOPES, peer)
                .await
                .status
        }
    };
    assert_eq!(from("10.1.2.3:5000").await, StatusCode::OK);
    assert_eq!(from("[2001:db8::7]:5000").await, StatusCode::OK);
    // Cached for 10.1.2.3, still refused from elsewhere.
    assert_eq!(from("192.0.2.1:5000").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get(&one).await.json()["sourceCidrs"],
        json!(["10.0.0.0/8", "2001:db8::/32"])
    );

    // Disabled: refused at once; enabled again: works.
    let reply = app.put(&one, json!({"enabled": false})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["status"], "disabled");
    assert_eq!(from("10.1.2.3:5000").await, StatusCode::UNAUTHORIZED);
    app.put(&one, json!({"enabled": true, "sourceCidrs": []}))
        .await;
    assert_eq!(from("192.0.2.1:5000").await, StatusCode::OK);

    // Narrowed by an update: at once.
    let reply = app
        .put(&one, json!({"repositories": ["platform/app"]}))
        .await;
    assert_eq!(reply.json()["repositories"], json!(["platform/app"]));
    let reply = docker(&app, "robot.mirror", &secret, SCOPES).await;
    assert_eq!(
        granted(&reply),
        [vec!["pull", "push"], vec![], vec![], vec![]]
    );

    // Expired: refused, though cached.
    app.clock.advance(200);
    assert_eq!(from("192.0.2.1:5000").await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&one).await.json()["status"], "expired");
    // Renewed without a new secret (within the maximum from now).
    let reply = app.put(&one, json!({"expiresAt": NOW + 200 + 600})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(from("192.0.2.1:5000").await, StatusCode::OK);

    // Revoked: refused at once, listed as revoked, no more changes.
    assert_eq!(
        app.post(&format!("{one}/revoke"), json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(from("192.0.2.1:5000").await, StatusCode::UNAUTHORIZED);
    let row = app.get(&one).await.json();
    assert_eq!(row["status"], "revoked");
    assert_eq!(row["revokedAt"], NOW + 200);
    assert_eq!(
        app.put(&one, json!({"enabled": true})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(&format!("{one}/rotate"), json!({"gracePeriodSeconds": 0}))
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(&format!("{one}/revoke"), json!({})).await.status,
        StatusCode::NO_CONTENT,
        "again: no-op"
    );
}

/// Failed robot logins count toward the rate limits like wrong passwords.
#[tokio::test]
async fn wrong_robot_secrets_are_rate_limited() {
    let Setup { app, platform, .. } = setup().await;
    let (_, secret) = create(&app, &platform, new("ci")).await;
    let wrong = portcullis_core::robot::new_secret().0;
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(
            docker(&app, "robot.ci", &wrong, SCOPES)
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(statuses[0], 401);
    assert!(statuses.contains(&429), "{statuses:?}");
    // The login name's bucket is spent too: the right secret from another address waits
    // like a user's password would, then works.
    let reply = docker_from(&app, "robot.ci", &secret, SCOPES, "198.51.100.1:1").await;
    assert_eq!(reply.status.as_u16(), 429);
    app.clock.advance(30);
    let reply = docker_from(&app, "robot.ci", &secret, SCOPES, "198.51.100.1:1").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn requests_outside_the_rules_are_400_and_names_are_unique_and_kept_from_users() {
    let Setup { app, platform, .. } = setup().await;
    let with = |field: &str, value: Value| {
        let mut body = new("ci");
        if value.is_null() {
            body.as_object_mut().unwrap().remove(field);
        } else {
            body[field] = value;
        }
        body
    };
    let rows = [
        with("name", Value::Null),
        with("name", json!("CI")),
        with("name", json!("robot$ci")),
        with("name", json!("-ci")),
        with("name", json!("a".repeat(65))),
        with("expiresAt", Value::Null),
        with("expiresAt", json!(NOW)),
        // The realm's maximum is a day here (default 90 days).
        with("expiresAt", json!(NOW + 86_401)),
        with("registry", json!("web")),
        with("actions", json!(["write"])),
        with("repositories", json!(["a/${user}"])),
        with("sourceCidrs", json!(["10.0.0.0/33"])),
        with("sourceCidrs", json!(["somewhere"])),
    ];
    for body in rows {
        let reply = app.post(&robots(&platform), body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
    }
    create(&app, &platform, with("expiresAt", json!(NOW + 86_400))).await;
    // Names are unique in the realm, whatever the group.
    let reply = app.post(&robots(&platform), new("ci")).await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    // A user already named robot.legacy keeps the name: no robot takes it...
    let reply = app.post(&robots(&platform), new("legacy")).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    // ...and keeps signing in with the password.
    let reply = std::ops::Deref::deref(&app)
        .get(TOKEN, Some(&basic("robot.legacy", "robot.legacy-pw")))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // New users may not take robot names, nor be renamed to one.
    let reply = app
        .post(
            "realms/reg/users",
            json!({"username": "robot.sneaky", "enabled": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    let plain = app.user_id("reg", "plain").await;
    let reply = app
        .put(
            &format!("realms/reg/users/{plain}"),
            json!({"username": "robot.ci"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    // Unknown groups and robots are 404 for admins.
    assert_eq!(
        app.post(&robots("nope"), new("x")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("{}/nope", robots(&platform))).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Realm admins manage robots (view-users reads); a member of the group or of a group above
/// it who holds manage-robots manages them with their own token and does nothing else of the
/// admin API; anyone else gets 403.
#[tokio::test]
async fn who_may_manage_robots() {
    let Setup {
        app,
        platform,
        ci,
        other,
    } = setup().await;
    let token = |name: &'static str| {
        let app = &app;
        async move { app.access_token("reg", name).await }
    };
    let (pam, cid, otto, plain, viewer, helpdesk) = (
        token("pam").await,
        token("cid").await,
        token("otto").await,
        token("plain").await,
        token("viewer").await,
        token("helpdesk").await,
    );
    let at = |group: &str| format!("/auth/admin/realms/reg/groups/{group}/robots");

    // pam: a /platform member with manage-robots: /platform, not /platform/ci (whose robots
    // carry /platform/ci's roles, which pam does not hold), not /other.
    assert_eq!(
        as_user(&app, Method::POST, &at(&platform), &pam, Some(new("p1"))).await,
        201
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&ci), &pam, Some(new("p2"))).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&other), &pam, Some(new("p3"))).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::GET, &at(&platform), &pam, None).await,
        200
    );
    // cid: a /platform/ci member holds /platform's rights too: both groups.
    assert_eq!(
        as_user(&app, Method::POST, &at(&ci), &cid, Some(new("c1"))).await,
        201
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&platform), &cid, Some(new("c2"))).await,
        201
    );
    assert_eq!(
        as_user(&app, Method::GET, &at(&platform), &cid, None).await,
        200
    );
    // otto: manage-robots, but of another group.
    assert_eq!(
        as_user(&app, Method::GET, &at(&platform), &otto, None).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&platform), &otto, Some(new("o1"))).await,
        403
    );
    // plain: a member without manage-robots.
    assert_eq!(
        as_user(&app, Method::GET, &at(&platform), &plain, None).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&platform), &plain, Some(new("x1"))).await,
        403
    );
    // Unknown groups tell a non-admin nothing.
    assert_eq!(
        as_user(&app, Method::GET, &at("nope"), &pam, None).await,
        403
    );
    // Realm admins: view-users reads, manage-users changes.
    assert_eq!(
        as_user(&app, Method::GET, &at(&other), &viewer, None).await,
        200
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&other), &viewer, Some(new("v1"))).await,
        403
    );
    assert_eq!(
        as_user(&app, Method::POST, &at(&other), &helpdesk, Some(new("h1"))).await,
        201
    );

    // The realm-wide list shows each caller what they may see.
    let listed = |token: String| {
        let app = &app;
        async move {
            let reply = app
                .send(
                    Method::GET,
                    "/auth/admin/realms/reg/robots",
                    Some(&token),
                    None,
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let mut names: Vec<String> = reply
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(listed(pam.clone()).await, ["c2", "p1"]);
    assert_eq!(listed(cid.clone()).await, ["c1", "c2", "p1"]);
    assert_eq!(listed(viewer.clone()).await, ["c1", "c2", "h1", "p1"]);
    let reply = app
        .send(
            Method::GET,
            "/auth/admin/realms/reg/robots",
            Some(&plain),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    // Every robot operation for pam on /platform's robots; rotate, update, revoke, delete.
    let p1 = app
        .get(&robots(&platform))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "p1")
        .and_then(|r| r["id"].as_str())
        .unwrap()
        .to_string();
    let one = format!("{}/{p1}", at(&platform));
    assert_eq!(as_user(&app, Method::GET, &one, &pam, None).await, 200);
    assert_eq!(
        as_user(
            &app,
            Method::PUT,
            &one,
            &pam,
            Some(json!({"description": "builds"}))
        )
        .await,
        200
    );
    let rotate = format!("{one}/rotate");
    assert_eq!(
        as_user(
            &app,
            Method::POST,
            &rotate,
            &pam,
            Some(json!({"gracePeriodSeconds": 5}))
        )
        .await,
        200
    );
    assert_eq!(
        as_user(
            &app,
            Method::POST,
            &rotate,
            &otto,
            Some(json!({"gracePeriodSeconds": 5}))
        )
        .await,
        403
    );
    assert_eq!(as_user(&app, Method::DELETE, &one, &otto, None).await, 403);
    assert_eq!(as_user(&app, Method::GET, &one, &cid, None).await, 200);
    // The robot id under another group is 404 for an admin, 403 for a manager of another.
    let wrong_group = format!("{}/{p1}", at(&other));
    assert_eq!(
        as_user(&app, Method::GET, &wrong_group, &helpdesk, None).await,
        404
    );
    assert_eq!(
        as_user(&app, Method::GET, &wrong_group, &pam, None).await,
        403
    );
    assert_eq!(
        as_user(
            &app,
            Method::POST,
            &format!("{one}/revoke"),
            &pam,
            Some(json!({}))
        )
        .await,
        204
    );
    assert_eq!(as_user(&app, Method::DELETE, &one, &pam, None).await, 204);

    // manage-robots opens nothing else of the admin API.
    for path in [
        "/auth/admin/realms/reg".to_string(),
        "/auth/admin/realms/reg/users".to_string(),
        "/auth/admin/realms/reg/groups".to_string(),
        format!("/auth/admin/realms/reg/groups/{platform}"),
        format!("/auth/admin/realms/reg/groups/{platform}/members"),
        "/auth/admin/realms/reg/clients".to_string(),
        "/auth/admin/realms/reg/roles".to_string(),
    ] {
        assert_eq!(
            as_user(&app, Method::GET, &path, &pam, None).await,
            403,
            "{path}"
        );
    }
    let pam_id = app.user_id("reg", "pam").await;
    assert_eq!(
        as_user(
            &app,
            Method::GET,
            &format!("/auth/admin/realms/reg/users/{pam_id}/app-passwords"),
            &pam,
            None
        )
        .await,
        403
    );
    // A master admin manages every realm's robots; another realm's token none.
    let acme_boss = app.access_token("acme", "boss").await;
    assert_eq!(
        as_user(&app, Method::GET, &at(&platform), &acme_boss, None).await,
        403
    );
    assert_eq!(app.get(&robots(&platform)).await.status, StatusCode::OK);
}

/// A robot goes with its group: deleting the group refuses the robot at once.
#[tokio::test]
async fn a_robot_goes_with_its_group() {
    let Setup { app, other, .. } = setup().await;
    let mut body = new("mirror");
    body["repositories"] = json!([]);
    let (_, secret) = create(&app, &other, body).await;
    // Rules for every signed-in user hold for robots too: its own namespace.
    let personal = "&scope=repository:robot.mirror/x:push";
    assert_eq!(
        access(&docker(&app, "robot.mirror", &secret, personal).await)[0]["actions"],
        json!(["push"])
    );
    assert_eq!(
        app.delete(&format!("realms/reg/groups/{other}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let reply = docker(&app, "robot.mirror", &secret, personal).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(app.get("realms/reg/robots").await.json(), json!([]));
}
