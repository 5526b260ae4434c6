//! `docker-credential-portcullis` end to end: the real server, the real `docker-registry`, the
//! docker CLI against a private `dockerd`, skopeo and buildah, and headless chromium as the
//! user's browser.
//!
//! `setup` writes docker's `config.json` with nothing but `credHelpers`. The first `docker push`
//! runs the helper's `get`, which starts the device grant and prints a user code; alice opens
//! the verification page, signs in on the realm's login page and approves the device; the push
//! goes through with the identity token the helper got from the token exchange, and no
//! password is stored anywhere. `docker pull`, skopeo and buildah then use the same stored
//! identity token. Alice revokes the docker login in the account console: the next push does
//! not push but starts a new device grant (a new user code), and approving it makes the push
//! succeed again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use portcullis_tests::browser::Browser;
use portcullis_tests::dockerd::Dockerd;
use portcullis_tests::registry::{Registry, oci_image};
use portcullis_tests::{Server, TempDir, credential_helper_binary, require};
use serde_json::{Value, json};

const TEST: &str = "docker_push_and_pull_through_the_device_grant_credential_helper";
const REALM: &str = "acme";
const SERVICE: &str = "registry.acme.test";
const ALICE_PASSWORD: &str = "Alice-helper-pw-42!";
/// How long a device login may wait for the browser.
const DEVICE_WAIT: Duration = Duration::from_secs(90);

fn acme_realm() -> String {
    json!({
        "realm": REALM,
        "enabled": true,
        "roles": {"realm": [{"name": "pusher"}]},
        "users": [{"username": "alice", "enabled": true, "email": "alice@acme.test",
                   "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
                   "realmRoles": ["pusher"],
                   "credentials": [{"type": "password", "value": ALICE_PASSWORD}]}],
        "clients": [{
            "clientId": SERVICE, "protocol": "docker-v2", "enabled": true,
            "protocolMappers": [{
                "name": "team push", "protocol": "docker-v2",
                "protocolMapper": "docker-v2-repository-access-mapper",
                "config": {"repository": "team/**", "actions": "pull,push", "role": "pusher"}
            }]
        }]
    })
    .to_string()
}

/// Where the helper lives and keeps its files; every client below runs with this environment.
struct Helper {
    bin_dir: PathBuf,
    config_home: PathBuf,
    _dir: TempDir,
}

impl Helper {
    fn new() -> Helper {
        let dir = TempDir::new("credhelper");
        let bin_dir = dir.path().join("bin");
        std::fs::create_dir_all(&bin_dir).unwrap();
        std::os::unix::fs::symlink(
            credential_helper_binary(),
            bin_dir.join("docker-credential-portcullis"),
        )
        .unwrap();
        let config_home = dir.path().join("config");
        Helper {
            bin_dir,
            config_home,
            _dir: dir,
        }
    }

    /// The helper first on the PATH, its files in a private config home, no browser opened.
    fn apply(&self, command: &mut Command) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![self.bin_dir.clone()];
        dirs.extend(std::env::split_paths(&path));
        command
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .env("XDG_CONFIG_HOME", &self.config_home)
            .env("PORTCULLIS_NO_BROWSER", "1");
    }

    fn run(&self, args: &[&str], docker_config: &Path, input: &str) -> Output {
        let mut command = Command::new(self.bin_dir.join("docker-credential-portcullis"));
        command
            .args(args)
            .env("DOCKER_CONFIG", docker_config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.apply(&mut command);
        let mut child = command.spawn().unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.as_bytes()).unwrap();
        }
        child.wait_with_output().unwrap()
    }

    /// Every file the helper and docker keep, for the "no password anywhere" check.
    fn files_text(&self, docker_config: &Path) -> String {
        let mut text = String::new();
        for dir in [
            self.config_home.join("portcullis"),
            docker_config.to_owned(),
        ] {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.path().is_file() {
                    text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        text
    }
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn assert_cli_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}",
        text_of(out)
    );
}

/// A client command running in the background whose stderr is read as it comes, so the test
/// can see the helper's user code while the command waits for the approval.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn spawn(mut command: Command) -> Running {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stdout.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The user code and verification link the helper printed; panics with everything the
    /// command said when it exits or takes too long first.
    async fn device_prompt(&mut self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let (mut code, mut link) = (None, None);
        while Instant::now() < deadline {
            while let Ok(line) = self.lines.try_recv() {
                if let Some(c) = line.split("enter the code ").nth(1) {
                    code = Some(c.trim().to_string());
                }
                if let Some(l) = line.split("(or open ").nth(1) {
                    link = Some(l.trim_end_matches(')').trim().to_string());
                }
                self.seen.push(line);
            }
            if let (Some(code), Some(link)) = (&code, &link) {
                return (code.clone(), link.clone());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                while let Ok(line) = self.lines.try_recv() {
                    self.seen.push(line);
                }
                panic!(
                    "the command exited ({status}) without a device prompt:\n{}",
                    self.seen.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no device prompt within 60 s:\n{}", self.seen.join("\n"));
    }

    /// Waits for the command to end; returns whether it succeeded and all it said.
    async fn finish(mut self) -> (bool, String) {
        let deadline = Instant::now() + DEVICE_WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the command did not finish:\n{}", self.seen.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        std::thread::sleep(Duration::from_millis(200));
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        (status.success(), self.seen.join("\n"))
    }
}

/// Alice approves the device in the browser: the code form (prefilled by the link), the
/// realm's login page when the browser has no session yet, then the approval page.
async fn approve_device(b: &Browser, link: &str, code: &str) {
    b.goto(link).await;
    let field = b
        .wait_for("form#kc-device-form input#device-user-code")
        .await;
    let prefilled = b.prop(&field, "value").await;
    if prefilled != code {
        b.fail(&format!(
            "the code form should be prefilled with {code}: {prefilled:?}"
        ))
        .await;
    }
    b.click_and_wait("form#kc-device-form #kc-login").await;
    if !b.find_all("#kc-form-login input#username").await.is_empty() {
        b.fill("#kc-form-login #username", "alice").await;
        b.fill("#kc-form-login #password", ALICE_PASSWORD).await;
        b.click_and_wait("#kc-form-login #kc-login").await;
    }
    b.wait_for("form#kc-oauth-accept").await;
    let title = b.text("h2#kc-page-title").await;
    if !title.contains("Docker credential helper") {
        b.fail(&format!(
            "the approval page should name the docker-cli client: {title:?}"
        ))
        .await;
    }
    b.click_and_wait("form#kc-oauth-accept #kc-login").await;
    let done = b.text("h2#kc-page-title").await;
    if !done.contains("successful") {
        b.fail(&format!("the device login should succeed: {done:?}"))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_push_and_pull_through_the_device_grant_credential_helper() {
    if require("docker-registry", TEST).is_none()
        || require("dockerd", TEST).is_none()
        || require("docker", TEST).is_none()
        || require("skopeo", TEST).is_none()
        || require("tar", TEST).is_none()
        || require("gzip", TEST).is_none()
    {
        return;
    }
    let Some(mut browser) = Browser::start(TEST).await else {
        return;
    };
    let server = Server::start(&[("acme.json", acme_realm())]);
    browser.show_log_on_failure(&server.dir.path().join("server.log"));
    let registry = Registry::for_client(&server, REALM, SERVICE).await;
    let daemon = Dockerd::start();
    let helper = Helper::new();
    let realm_url = server.url(&format!("/auth/realms/{REALM}"));
    let b = &browser;

    // --- setup: docker's config names the helper for the registry, and nothing else.
    let out = helper.run(
        &["setup", &registry.addr, &realm_url, "--service", SERVICE],
        daemon.config_dir(),
        "",
    );
    assert_cli_ok("docker-credential-portcullis setup", &out);
    let docker_config: Value = serde_json::from_str(
        &std::fs::read_to_string(daemon.config_dir().join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        docker_config,
        json!({"credHelpers": {registry.addr.clone(): "portcullis"}}),
        "only credHelpers in docker's config.json"
    );
    // Nothing stored yet: docker is told "not found" for other registries too.
    let out = helper.run(&["get"], daemon.config_dir(), "elsewhere.test:5000");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("credentials not found"),
        "{}",
        text_of(&out)
    );

    // --- The first push: a device login, approved in the browser, then the push.
    let local = daemon.tiny_image("local/hello:1");
    let remote = format!("{}/team/hello:1", registry.addr);
    assert_cli_ok("docker tag", &daemon.docker(&["tag", &local, &remote]));
    let push = |tag: &str| {
        let mut command = daemon.command(&["push", tag]);
        helper.apply(&mut command);
        Running::spawn(command)
    };
    let mut first = push(&remote);
    let (first_code, link) = first.device_prompt().await;
    assert!(
        link.contains(&format!("/auth/realms/{REALM}/device?user_code=")),
        "{link}"
    );
    approve_device(b, &link, &first_code).await;
    let (ok, said) = first.finish().await;
    assert!(ok, "the first push after the device login: {said}");

    // No password anywhere; the identity token is private to the user.
    let stored = helper.files_text(daemon.config_dir());
    assert!(!stored.contains(ALICE_PASSWORD), "a password was stored");
    assert!(stored.contains("identityToken"), "{stored}");
    let tokens = helper
        .config_home
        .join("portcullis/docker-identity-tokens.json");
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(&tokens).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode, 0o600, "the token file is the user's only");
    let out = helper.run(&["list"], daemon.config_dir(), "");
    assert_cli_ok("list", &out);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, json!({registry.addr.clone(): "alice"}));

    // `get` now answers at once with the identity token.
    let out = helper.run(&["get"], daemon.config_dir(), &registry.addr);
    assert_cli_ok("get with a stored docker login", &out);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["Username"], "<token>");
    assert_eq!(answer["ServerURL"], registry.addr.as_str());
    assert!(answer["Secret"].as_str().is_some_and(|s| s.len() > 20));

    // --- docker pull, skopeo and buildah go through the same helper, without a new login.
    assert_cli_ok("docker rmi", &daemon.docker(&["rmi", &remote]));
    let mut pull = daemon.command(&["pull", &remote]);
    helper.apply(&mut pull);
    let out = pull.output().unwrap();
    assert_cli_ok("docker pull", &out);
    assert!(
        !text_of(&out).contains("enter the code"),
        "{}",
        text_of(&out)
    );

    let work = TempDir::new("credhelper-image");
    let auth_file = work.path().join("auth.json");
    std::fs::write(
        &auth_file,
        json!({"credHelpers": {registry.addr.clone(): "portcullis"}}).to_string(),
    )
    .unwrap();
    let image = oci_image(work.path());
    let mut skopeo = Command::new("skopeo");
    skopeo
        .args([
            "copy",
            "--dest-tls-verify=false",
            "--retry-times=0",
            "--authfile",
        ])
        .arg(&auth_file)
        .arg(format!("oci:{}:latest", image.display()))
        .arg(format!("docker://{}/team/skopeo:1", registry.addr))
        .env("REGISTRY_AUTH_FILE", &auth_file);
    helper.apply(&mut skopeo);
    let out = skopeo.output().unwrap();
    assert_cli_ok("skopeo copy with the helper", &out);
    assert!(
        !text_of(&out).contains("enter the code"),
        "{}",
        text_of(&out)
    );

    if which("buildah") {
        let storage = work.path().join("buildah");
        let buildah = |args: &[&str]| {
            let mut command = Command::new("buildah");
            command
                .arg("--root")
                .arg(storage.join("root"))
                .arg("--runroot")
                .arg(storage.join("run"))
                .args(["--storage-driver", "vfs"])
                .args(args)
                .env("REGISTRY_AUTH_FILE", &auth_file);
            helper.apply(&mut command);
            command.output().unwrap()
        };
        let auth = auth_file.display().to_string();
        let source = format!("docker://{}/team/skopeo:1", registry.addr);
        let out = buildah(&["pull", "--tls-verify=false", "--authfile", &auth, &source]);
        assert_cli_ok("buildah pull with the helper", &out);
        let dest = format!("docker://{}/team/buildah:1", registry.addr);
        let out = buildah(&[
            "push",
            "--tls-verify=false",
            "--authfile",
            &auth,
            &source["docker://".len()..],
            &dest,
        ]);
        assert_cli_ok("buildah push with the helper", &out);
    } else {
        assert!(
            !portcullis_tests::e2e_required(),
            "{TEST}: buildah is not installed (PORTCULLIS_REQUIRE_E2E=1)"
        );
        eprintln!("{TEST}: buildah is not installed; its part is left out");
    }

    // --- Revoked in the account console: the next push starts a new device login.
    b.goto(&server.url(&format!("/auth/realms/{REALM}/account/docker-logins")))
        .await;
    let row = format!(r#"#docker-logins tr[data-registry="{SERVICE}"]"#);
    b.wait_for(&row).await;
    b.click_and_wait(&format!("{row} button[type=submit]"))
        .await;
    b.wait_for("#no-docker-logins").await;

    let second_tag = format!("{}/team/hello:2", registry.addr);
    assert_cli_ok("docker tag", &daemon.docker(&["tag", &local, &second_tag]));
    let mut second = push(&second_tag);
    let (second_code, link) = second.device_prompt().await;
    assert_ne!(
        second_code, first_code,
        "a new device login, with a new code"
    );
    assert!(
        second
            .seen
            .iter()
            .any(|l| l.contains("revoked or has expired")),
        "the helper says why it signs in again: {:?}",
        second.seen
    );
    assert!(
        second.child.try_wait().unwrap().is_none(),
        "the push waits for the new approval instead of pushing"
    );
    // The browser still has alice's session: the code and the approval are enough.
    approve_device(b, &link, &second_code).await;
    let (ok, said) = second.finish().await;
    assert!(ok, "the push after the second device login: {said}");

    // --- erase: revoked at the realm and forgotten here.
    let out = helper.run(&["erase"], daemon.config_dir(), &registry.addr);
    assert_cli_ok("erase", &out);
    let out = helper.run(&["list"], daemon.config_dir(), "");
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!({})
    );
    b.goto(&server.url(&format!("/auth/realms/{REALM}/account/docker-logins")))
        .await;
    b.wait_for("#no-docker-logins").await;
    browser.close().await;
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
