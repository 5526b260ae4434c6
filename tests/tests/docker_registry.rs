//! The docker-v2 token protocol end to end: the real server, the Debian `docker-registry` (2.8)
//! configured from our `registry-config` endpoint, and `skopeo` pushing and pulling as realm
//! users. Each assertion is about what the registry let a real client do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use portcullis_tests::{Server, TempDir, free_port, hex, require};
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

/// The Debian registry, configured from what Portcullis says about the client.
struct Registry {
    child: Child,
    addr: String,
    _dir: TempDir,
}

impl Registry {
    async fn start(server: &Server) -> Registry {
        let dir = TempDir::new("registry");
        let client_url = |file: &str| {
            server.url(&format!(
                "/auth/realms/e2e/protocol/docker-v2/clients/{SERVICE}/{file}"
            ))
        };
        let snippet = get_text(&client_url("registry-config")).await;
        let bundle = get_text(&client_url("bundle.pem")).await;
        assert!(bundle.contains("BEGIN CERTIFICATE"), "bundle: {bundle}");
        let bundle_path = dir.path().join("bundle.pem");
        std::fs::write(&bundle_path, bundle).unwrap();
        let auth = use_bundle(&snippet, &bundle_path);
        assert!(
            auth.contains(&format!("service: \"{SERVICE}\"")),
            "{snippet}"
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: e2e-secret\n{auth}\n",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            addr,
            _dir: dir,
        };
        registry.wait_ready().await;
        registry
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("http://{}/v2/", self.addr)).await
                && r.status() == 401
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("docker-registry did not start");
    }

    fn image(&self, name: &str) -> String {
        format!("docker://{}/{name}", self.addr)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The snippet names a suggested bundle path; point it at the file we wrote.
fn use_bundle(snippet: &str, bundle: &Path) -> String {
    snippet
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| match l.find("rootcertbundle:") {
            Some(i) => format!("{}rootcertbundle: {}", &l[..i], bundle.display()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.text().await.unwrap()
}

/// A one-layer OCI image layout on disk, made with `tar` and `gzip`, for skopeo to push.
fn oci_image(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello from portcullis\n").unwrap();
    let tar = dir.join("layer.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg("hello.txt"),
    );
    let tar_bytes = std::fs::read(&tar).unwrap();
    run_ok(Command::new("gzip").arg("-n").arg("-f").arg(&tar));
    let layer = std::fs::read(dir.join("layer.tar.gz")).unwrap();

    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> String {
        let digest = hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref());
        std::fs::write(blobs.join(&digest), bytes).unwrap();
        format!("sha256:{digest}")
    };
    let diff_id = format!(
        "sha256:{}",
        hex(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &tar_bytes).as_ref())
    );
    let config = json!({"architecture": "amd64", "os": "linux", "config": {},
                        "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    .to_string();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put(config.as_bytes()), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": put(&layer), "size": layer.len()}]
    })
    .to_string();
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": put(manifest.as_bytes()), "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    layout
}

fn run_ok(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// skopeo with its own empty auth file, so nothing on the machine leaks in.
struct Skopeo {
    auth_file: PathBuf,
    _dir: TempDir,
}

impl Skopeo {
    fn new() -> Skopeo {
        let dir = TempDir::new("skopeo");
        let auth_file = dir.path().join("auth.json");
        std::fs::write(&auth_file, "{}").unwrap();
        Skopeo {
            auth_file,
            _dir: dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("skopeo")
            .args(args)
            .env("REGISTRY_AUTH_FILE", &self.auth_file)
            .output()
            .unwrap()
    }

    fn push(&self, image: &Path, dest: &str, creds: Option<&str>) -> Output {
        let src = format!("oci:{}:latest", image.display());
        let mut args = vec!["copy", "--dest-tls-verify=false", "--retry-times=0"];
        let creds_arg;
        match creds {
            Some(c) => {
                creds_arg = format!("--dest-creds={c}");
                args.push(&creds_arg);
            }
            None => args.push("--dest-no-creds"),
        }
        args.extend([src.as_str(), dest]);
        self.run(&args)
    }

    fn inspect(&self, image: &str, creds: Option<&str>) -> Output {
        let creds_arg;
        let mut args = vec!["inspect", "--raw", "--tls-verify=false", "--retry-times=0"];
        match creds {
            Some(c) => {
                creds_arg = format!("--creds={c}");
                args.push(&creds_arg);
            }
            None => args.push("--no-creds"),
        }
        args.push(image);
        self.run(&args)
    }

    fn delete(&self, image: &str, creds: &str) -> Output {
        let creds_arg = format!("--creds={creds}");
        self.run(&[
            "delete",
            "--tls-verify=false",
            "--retry-times=0",
            &creds_arg,
            image,
        ])
    }
}

#[track_caller]
fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
fn assert_denied(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} should be denied");
    assert!(
        stderr.contains("denied")
            || stderr.contains("unauthorized")
            || stderr.contains("authentication required"),
        "{what} should fail on authorization, not something else: {stderr}"
    );
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
    let registry = Registry::start(&server).await;
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
    let registry = Registry::start(&server).await;
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
    let registry = Registry::start(&server).await;
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
    let admin: Value = http
        .post(server.url("/auth/realms/master/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "admin-cli"),
            ("username", "admin"),
            ("password", "admin-e2e-password"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = admin["access_token"].as_str().unwrap();
    let users: Value = http
        .get(server.url("/auth/admin/realms/e2e/users?username=alice&exact=true"))
        .bearer_auth(admin)
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
        .bearer_auth(admin)
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
