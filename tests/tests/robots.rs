//! Robots end to end: the real server, the Debian `docker-registry` and real clients. A robot of
//! group `/platform` pushes with skopeo inside its rules and is refused outside them; after a
//! rotation with a short grace both secrets push, after the grace only the new one; revoked, it
//! is refused at once. Then the docker CLI, against a private `dockerd`, logs in with a robot
//! secret and with an app password and pushes, and is refused outside the allowed
//! repositories.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_tests::dockerd::Dockerd;
use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{Server, TempDir, require};
use serde_json::{Value, json};

const SERVICE: &str = "registry.e2e";

fn mapper(name: &str, config: Value) -> Value {
    json!({"name": name, "protocol": "docker-v2",
           "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
}

fn realm_json() -> String {
    json!({
        "realm": "e2e",
        "enabled": true,
        "groups": [{"name": "platform"}],
        "clients": [{
            "clientId": SERVICE, "protocol": "docker-v2", "enabled": true,
            "protocolMappers": [
                mapper("platform", json!({"repository": "platform/**", "actions": "pull,push", "group": "/platform"})),
                // The group may push here too: a robot limited to platform/** still may not.
                mapper("other", json!({"repository": "other/**", "actions": "pull,push", "group": "/platform"})),
            ]
        }],
        "users": [{"username": "erin", "enabled": true, "groups": ["/platform"],
                   "credentials": [{"type": "password", "value": "erin-pw", "temporary": false}]}]
    })
    .to_string()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The admin API as master's admin.
struct Admin {
    http: reqwest::Client,
    token: String,
    base: String,
}

impl Admin {
    async fn new(server: &Server) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            token: server.admin_token().await,
            base: server.url("/auth/admin/realms/e2e"),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn group(&self, path: &str) -> String {
        let (status, group) = self
            .send(reqwest::Method::GET, &format!("group-by-path/{path}"), None)
            .await;
        assert_eq!(status, 200, "{group}");
        group["id"].as_str().unwrap().to_string()
    }

    /// A robot of the group, limited to push on platform/** at the registry; (id, secret).
    async fn robot(&self, group: &str, name: &str) -> (String, String) {
        let body = json!({"name": name, "expiresAt": now() + 3600, "registry": SERVICE,
                          "repositories": ["platform/**"], "actions": ["push"]});
        let (status, made) = self
            .send(
                reqwest::Method::POST,
                &format!("groups/{group}/robots"),
                Some(body),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["username"], format!("robot.{name}"));
        (
            made["id"].as_str().unwrap().to_string(),
            made["secret"].as_str().unwrap().to_string(),
        )
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_pushes_with_a_robot_through_rotation_and_revocation() {
    const TEST: &str = "skopeo_pushes_with_a_robot_through_rotation_and_revocation";
    if require("docker-registry", TEST).is_none()
        || require("skopeo", TEST).is_none()
        || require("tar", TEST).is_none()
    {
        return;
    }
    let server = Server::start(&[("e2e.json", realm_json())]);
    let registry = Registry::for_client(&server, "e2e", SERVICE).await;
    let work = TempDir::new("image");
    let image = oci_image(work.path());
    let skopeo = Skopeo::new();
    let at = |name: &str| registry.image(name);
    let admin = Admin::new(&server).await;
    let platform = admin.group("platform").await;
    let (id, first) = admin.robot(&platform, "ci-builder").await;
    let creds = |secret: &str| format!("robot.ci-builder:{secret}");

    assert_ok(
        "the robot pushes platform/app",
        &skopeo.push(&image, &at("platform/app:v1"), Some(&creds(&first))),
    );
    assert_ok(
        "and reads it back",
        &skopeo.inspect(&at("platform/app:v1"), Some(&creds(&first))),
    );
    assert_denied(
        "the robot is limited to platform/**, though its group may push other/**",
        &skopeo.push(&image, &at("other/app:v1"), Some(&creds(&first))),
    );
    assert_denied(
        "a wrong robot secret",
        &skopeo.push(
            &image,
            &at("platform/app:x"),
            Some(&creds(&format!("pcr_{}", "A".repeat(43)))),
        ),
    );

    // Rotated with a grace of 3 s: both secrets push during the overlap.
    let rotated_at = Instant::now();
    let (status, rotated) = admin
        .send(
            reqwest::Method::POST,
            &format!("groups/{platform}/robots/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": 3})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ok(
        "the old secret during the grace",
        &skopeo.push(&image, &at("platform/app:v2"), Some(&creds(&first))),
    );
    assert_ok(
        "the new secret",
        &skopeo.push(&image, &at("platform/app:v3"), Some(&creds(&second))),
    );
    assert!(
        rotated_at.elapsed() < Duration::from_secs(3),
        "the overlap checks took longer than the grace: the test proves nothing"
    );
    // The grace ends within 3 s of the rotation (whole seconds on the server's clock).
    let wait = Duration::from_millis(4_100).saturating_sub(rotated_at.elapsed());
    tokio::time::sleep(wait).await;
    assert_denied(
        "the old secret after the grace",
        &skopeo.push(&image, &at("platform/app:v4"), Some(&creds(&first))),
    );
    assert_ok(
        "the new secret after the grace",
        &skopeo.push(&image, &at("platform/app:v5"), Some(&creds(&second))),
    );

    // Its use is recorded, per secret too.
    let (_, listed) = admin
        .send(
            reqwest::Method::GET,
            &format!("groups/{platform}/robots/{id}"),
            None,
        )
        .await;
    assert!(listed["lastUsedAt"].is_number(), "{listed}");
    assert!(
        listed["lastUsedUserAgent"]
            .as_str()
            .is_some_and(|ua| !ua.is_empty()),
        "{listed}"
    );
    assert_eq!(listed["secrets"][0]["status"], "active", "{listed}");
    assert_eq!(listed["secrets"][1]["status"], "expired", "{listed}");

    // Revoked: refused at once (its verification was cached a moment ago).
    let (status, _) = admin
        .send(
            reqwest::Method::POST,
            &format!("groups/{platform}/robots/{id}/revoke"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 204);
    assert_denied(
        "revoked: refused at once",
        &skopeo.push(&image, &at("platform/app:v6"), Some(&creds(&second))),
    );
}

#[track_caller]
fn assert_cli_ok(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
fn assert_cli_denied(what: &str, out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{what} should be refused: {text}");
    assert!(
        text.contains("denied") || text.contains("unauthorized"),
        "{what} should fail on authorization, not something else: {text}"
    );
}

/// The docker CLI through a private dockerd: `docker login` with a robot secret, then with an
/// app password; each pushes inside its rules and is refused outside them.
#[tokio::test(flavor = "multi_thread")]
async fn docker_cli_logs_in_with_a_robot_and_an_app_password_and_pushes() {
    const TEST: &str = "docker_cli_logs_in_with_a_robot_and_an_app_password_and_pushes";
    if require("docker-registry", TEST).is_none()
        || require("dockerd", TEST).is_none()
        || require("docker", TEST).is_none()
        || require("tar", TEST).is_none()
    {
        return;
    }
    let server = Server::start(&[("e2e.json", realm_json())]);
    let registry = Registry::for_client(&server, "e2e", SERVICE).await;
    let daemon = Dockerd::start();
    let admin = Admin::new(&server).await;
    let platform = admin.group("platform").await;
    let (_, robot_secret) = admin.robot(&platform, "ci-builder").await;
    let (_, users) = admin
        .send(reqwest::Method::GET, "users?username=erin&exact=true", None)
        .await;
    let erin = users[0]["id"].as_str().unwrap().to_string();
    let (status, made) = admin
        .send(
            reqwest::Method::POST,
            &format!("users/{erin}/app-passwords"),
            Some(
                json!({"name": "laptop", "expiresAt": now() + 3600, "registry": SERVICE,
                        "repositories": ["platform/**"], "actions": ["push"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let app_password = made["secret"].as_str().unwrap().to_string();

    let local = daemon.tiny_image("portcullis-e2e/hello:latest");
    let tagged = |name: &str| {
        let remote = format!("{}/{name}", registry.addr);
        assert_cli_ok("docker tag", &daemon.docker(&["tag", &local, &remote]));
        remote
    };

    // A robot secret.
    assert_cli_denied(
        "docker login with a wrong robot secret",
        &daemon.login(
            &registry.addr,
            "robot.ci-builder",
            &format!("pcr_{}", "A".repeat(43)),
        ),
    );
    assert_cli_ok(
        "docker login as the robot",
        &daemon.login(&registry.addr, "robot.ci-builder", &robot_secret),
    );
    assert_cli_ok(
        "the robot pushes platform/robot",
        &daemon.docker(&["push", &tagged("platform/robot:v1")]),
    );
    assert_cli_denied(
        "the robot pushes other/robot",
        &daemon.docker(&["push", &tagged("other/robot:v1")]),
    );
    assert_cli_ok("docker logout", &daemon.docker(&["logout", &registry.addr]));

    // An app password.
    assert_cli_ok(
        "docker login with erin's app password",
        &daemon.login(&registry.addr, "erin", &app_password),
    );
    assert_cli_ok(
        "erin's app password pushes platform/erin",
        &daemon.docker(&["push", &tagged("platform/erin:v1")]),
    );
    assert_cli_denied(
        "erin's app password is limited to platform/**, though erin may push other/**",
        &daemon.docker(&["push", &tagged("other/erin:v1")]),
    );
}
