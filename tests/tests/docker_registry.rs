//! The docker-v2 token protocol end to end: the real server, the Debian `docker-registry` (2.8)
//! configured from our `registry-config` endpoint, and `skopeo` pushing and pulling as realm
//! users. Each assertion is about what the registry let a real client do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{Server, TempDir, require};
use serde_json::{Value, json};

const SERVICE: &str = "registry.e2e";

fn mapper(name: &str, config: Value) -> Value {
    json!({"name": name, "protocol": "docker-v2",
           "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
}

fn user(name: &str, roles: &[&str], groups: &[&str]) -> Value {
    json!({"username": name, "enabled": true, "realmRoles": roles, "groups": groups,
           "credentials": [{"type": "password", "value": format!("{name}-pw"), "temporary": false}]})
}

fn realm_json() -> String {
    json!({
        "realm": "e2e",
        "enabled": true,
        "roles": {"realm": [{"name": "writer"}, {"name": "reader"}, {"name": "cataloger"},
                            {"name": "registry-admin", "composite": true,
                             "composites": {"realm": ["cataloger"]}}]},
        "groups": [{"name": "teams", "subGroups": [{"name": "platform"}]}],
        "clients": [{
            "clientId": SERVICE, "protocol": "docker-v2", "enabled": true,
            "protocolMappers": [
                mapper("writers", json!({"repository": "team-a/**", "actions": "push", "role": "writer"})),
                mapper("readers", json!({"repository": "team-a/**", "actions": "pull", "role": "reader"})),
                mapper("personal", json!({"repository": "${username}/**", "actions": "*", "subject": "authenticated"})),
                mapper("public", json!({"repository": "public/**", "actions": "pull", "subject": "anonymous"})),
                mapper("teams", json!({"repository": "platform/**", "actions": "pull,push", "group": "/teams"})),
                mapper("catalog", json!({"type": "registry", "repository": "catalog", "actions": "*", "role": "cataloger"})),
                mapper("admins", json!({"repository": "**", "actions": "*", "role": "registry-admin"})),
            ]
        }],
        "users": [
            user("alice", &["writer"], &[]),
            user("bob", &["reader"], &[]),
            user("carol", &[], &[]),
            user("dave", &["registry-admin"], &[]),
            user("erin", &[], &["/teams/platform"]),
        ]
    })
    .to_string()
}

/// A token from our endpoint for `scope`, as a registry client would ask for it.
async fn token(server: &Server, creds: Option<(&str, &str)>, scope: &str) -> String {
    let client = reqwest::Client::new();
    let mut req = client
        .get(server.url("/auth/realms/e2e/protocol/docker-v2/auth"))
        .query(&[("service", SERVICE), ("scope", scope)]);
    if let Some((u, p)) = creds {
        req = req.basic_auth(u, Some(p));
    }
    let body: Value = req.send().await.unwrap().json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_pushes_and_pulls_with_realm_accounts() {
    const TEST: &str = "skopeo_pushes_and_pulls_with_realm_accounts";
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

    // A writer pushes; a reader pulls but cannot push; an outsider gets nothing.
    assert_ok(
        "alice pushes team-a/app",
        &skopeo.push(&image, &at("team-a/app:v1"), Some("alice:alice-pw")),
    );
    assert_ok(
        "bob pulls team-a/app",
        &skopeo.inspect(&at("team-a/app:v1"), Some("bob:bob-pw")),
    );
    assert_denied(
        "bob pushes team-a/app",
        &skopeo.push(&image, &at("team-a/other:v1"), Some("bob:bob-pw")),
    );
    assert_denied(
        "carol pulls team-a/app",
        &skopeo.inspect(&at("team-a/app:v1"), Some("carol:carol-pw")),
    );
    assert_denied(
        "anonymous pulls team-a/app",
        &skopeo.inspect(&at("team-a/app:v1"), None),
    );

    // Bad credentials are refused at the token endpoint, with its message.
    let wrong = skopeo.inspect(&at("team-a/app:v1"), Some("alice:nope"));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("invalid username/password"));

    // A personal namespace ${username}/**, for everyone signed in.
    assert_ok(
        "carol pushes carol/tools",
        &skopeo.push(&image, &at("carol/tools:v1"), Some("carol:carol-pw")),
    );
    assert_ok(
        "carol pulls carol/tools",
        &skopeo.inspect(&at("carol/tools:v1"), Some("carol:carol-pw")),
    );
    assert_denied(
        "bob pulls carol/tools",
        &skopeo.inspect(&at("carol/tools:v1"), Some("bob:bob-pw")),
    );

    // Group rules: erin is in /teams/platform, the rule names /teams.
    assert_ok(
        "erin pushes platform/svc",
        &skopeo.push(&image, &at("platform/svc:v1"), Some("erin:erin-pw")),
    );

    // Anonymous pull of a public pattern works; anonymous push does not.
    assert_ok(
        "dave pushes public/base",
        &skopeo.push(&image, &at("public/base:v1"), Some("dave:dave-pw")),
    );
    assert_ok(
        "anonymous pulls public/base",
        &skopeo.inspect(&at("public/base:v1"), None),
    );
    assert_denied(
        "anonymous pushes public/x",
        &skopeo.push(&image, &at("public/x:v1"), None),
    );

    // The catalog only for its role (dave holds cataloger through a composite).
    let http = reqwest::Client::new();
    let catalog = format!("http://{}/v2/_catalog", registry.addr);
    let admin_token = token(&server, Some(("dave", "dave-pw")), "registry:catalog:*").await;
    let resp = http
        .get(&catalog)
        .bearer_auth(admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let repos: Value = resp.json().await.unwrap();
    let names: Vec<&str> = repos["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"team-a/app") && names.contains(&"carol/tools"),
        "{names:?}"
    );
    let alice_token = token(&server, Some(("alice", "alice-pw")), "registry:catalog:*").await;
    let resp = http
        .get(&catalog)
        .bearer_auth(alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "alice has no catalog rule");

    // Deleting needs `delete`: the writer cannot, the admin can, and the image is then gone.
    assert_denied(
        "alice deletes team-a/app",
        &skopeo.delete(&at("team-a/app:v1"), "alice:alice-pw"),
    );
    assert_ok(
        "dave deletes team-a/app",
        &skopeo.delete(&at("team-a/app:v1"), "dave:dave-pw"),
    );
    let gone = skopeo.inspect(&at("team-a/app:v1"), Some("dave:dave-pw"));
    assert!(!gone.status.success(), "deleted image still there");
}

/// podman with its own auth file; `login` stores the credentials, as a user would.
struct Podman {
    auth_file: PathBuf,
    _dir: TempDir,
}

impl Podman {
    fn new() -> Podman {
        let dir = TempDir::new("podman");
        let auth_file = dir.path().join("auth.json");
        std::fs::write(&auth_file, "{}").unwrap();
        Podman {
            auth_file,
            _dir: dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new("podman");
        command.args(args);
        if matches!(args.first(), Some(&("login" | "push" | "pull"))) {
            command.arg(format!("--authfile={}", self.auth_file.display()));
        }
        command.output().unwrap()
    }

    fn login(&self, registry: &str, user: &str, password: &str) -> Output {
        self.run(&[
            "login",
            "--tls-verify=false",
            "-u",
            user,
            "-p",
            password,
            registry,
        ])
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn podman_logs_in_pushes_and_pulls() {
    const TEST: &str = "podman_logs_in_pushes_and_pulls";
    if require("docker-registry", TEST).is_none()
        || require("podman", TEST).is_none()
        || require("tar", TEST).is_none()
    {
        return;
    }
    let server = Server::start(&[("e2e.json", realm_json())]);
    let registry = Registry::for_client(&server, "e2e", SERVICE).await;
    let work = TempDir::new("podman-image");
    let layout = oci_image(work.path());
    let local = format!(
        "localhost/portcullis-e2e-{}:latest",
        registry.addr.replace([':', '.'], "-")
    );
    let alice = Podman::new();
    let pulled = alice.run(&["pull", "-q", &format!("oci:{}:latest", layout.display())]);
    assert_ok("podman loads the test image", &pulled);
    let id = String::from_utf8_lossy(&pulled.stdout).trim().to_string();
    assert_ok("podman tags it", &alice.run(&["tag", &id, &local]));
    let remote = format!("{}/team-a/podman:v1", registry.addr);

    let wrong = alice.login(&registry.addr, "alice", "wrong");
    assert!(
        !wrong.status.success(),
        "login with a wrong password must fail"
    );
    assert_ok(
        "alice logs in",
        &alice.login(&registry.addr, "alice", "alice-pw"),
    );
    assert_ok(
        "alice pushes",
        &alice.run(&["push", "--tls-verify=false", &local, &remote]),
    );

    let bob = Podman::new();
    assert_ok("bob logs in", &bob.login(&registry.addr, "bob", "bob-pw"));
    assert_ok(
        "bob pulls",
        &bob.run(&["pull", "-q", "--tls-verify=false", &remote]),
    );
    let bob_push = bob.run(&[
        "push",
        "--tls-verify=false",
        &local,
        &format!("{}/team-a/bob:v1", registry.addr),
    ]);
    assert_denied("bob pushes", &bob_push);
    let _ = alice.run(&["rmi", "-f", &local, &remote]);
}

/// A stored docker login (the identity token `docker login` keeps, which containers/image uses
/// through the refresh grant) keeps a real client working until an admin resets the user's
/// password: then the registry refuses it at once, though the token had 30 days to live.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_password_reset_ends_a_stored_docker_login() {
    const TEST: &str = "an_admin_password_reset_ends_a_stored_docker_login";
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
    let pushed = skopeo.push(
        &image,
        &registry.image("team-a/stored:1"),
        Some("alice:alice-pw"),
    );
    assert_ok("alice pushes with her password", &pushed);

    // What `docker login` stores: an identity (refresh) token from the OAuth2 password grant.
    let http = reqwest::Client::new();
    let tokens: Value = http
        .post(server.url("/auth/realms/e2e/protocol/docker-v2/auth"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-pw"),
            ("service", SERVICE),
            ("client_id", "docker"),
            ("access_type", "offline"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let identity = tokens["refresh_token"].as_str().unwrap();
    let auth = json!({"auths": {registry.addr.clone(): {
        "auth": base64_basic("<token>", ""), "identitytoken": identity}}});
    std::fs::write(&skopeo.auth_file, auth.to_string()).unwrap();
    let stored = registry.image("team-a/stored:1");
    assert_ok(
        "the stored docker login reads",
        &skopeo.run(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--retry-times=0",
            &stored,
        ]),
    );

    // The admin resets alice's password.
    let admin = server.admin_token().await;
    let users: Value = http
        .get(server.url("/auth/admin/realms/e2e/users?username=alice&exact=true"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice = users[0]["id"].as_str().unwrap();
    let reset = http
        .put(server.url(&format!(
            "/auth/admin/realms/e2e/users/{alice}/reset-password"
        )))
        .bearer_auth(&admin)
        .json(&json!({"type": "password", "value": "alice-new-pw", "temporary": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status().as_u16(), 204);
    assert_denied(
        "the stored docker login after the reset",
        &skopeo.run(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--retry-times=0",
            &stored,
        ]),
    );
    assert_ok(
        "the new password",
        &skopeo.inspect(&stored, Some("alice:alice-new-pw")),
    );
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// An app password made through the admin API: skopeo pushes with it inside its restriction,
/// is refused outside it (even where the owner could push with their password), and once
/// revoked is refused at once.
#[tokio::test(flavor = "multi_thread")]
async fn skopeo_pushes_with_an_app_password_until_it_is_revoked() {
    const TEST: &str = "skopeo_pushes_with_an_app_password_until_it_is_revoked";
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

    let http = reqwest::Client::new();
    let admin = server.admin_token().await;
    let users: Value = http
        .get(server.url("/auth/admin/realms/e2e/users?username=erin&exact=true"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let erin = users[0]["id"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let passwords = server.url(&format!(
        "/auth/admin/realms/e2e/users/{erin}/app-passwords"
    ));
    let made = http
        .post(&passwords)
        .bearer_auth(&admin)
        .json(
            &json!({"name": "ci", "expiresAt": now + 3600, "registry": SERVICE,
                      "repositories": ["platform/**"], "actions": ["push"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let made: Value = made.json().await.unwrap();
    let secret = made["secret"].as_str().unwrap();
    let creds = format!("erin:{secret}");

    assert_ok(
        "erin pushes platform/svc with her app password",
        &skopeo.push(&image, &at("platform/svc:v1"), Some(&creds)),
    );
    assert_ok(
        "erin's own password still pushes her personal repository",
        &skopeo.push(&image, &at("erin/own:v1"), Some("erin:erin-pw")),
    );
    assert_denied(
        "the app password is limited to platform/**",
        &skopeo.push(&image, &at("erin/own:v2"), Some(&creds)),
    );
    assert_denied(
        "nor does it lend rights erin lacks",
        &skopeo.push(&image, &at("team-a/x:v1"), Some(&creds)),
    );

    let revoked = http
        .delete(format!("{passwords}/{}", made["id"].as_str().unwrap()))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    assert_denied(
        "revoked: refused at once",
        &skopeo.push(&image, &at("platform/svc:v2"), Some(&creds)),
    );
    let listed: Value = http
        .get(&passwords)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["status"], "revoked");
    assert!(listed[0]["lastUsedAt"].is_number(), "{listed}");
    assert!(
        listed[0]["lastUsedUserAgent"]
            .as_str()
            .is_some_and(|ua| !ua.is_empty()),
        "{listed}"
    );
}
