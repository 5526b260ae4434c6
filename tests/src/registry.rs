//! The Debian `docker-registry` configured from what Portcullis says about a docker-v2 client,
//! an OCI image to push, and `skopeo` driving it as realm users. Shared by the registry and the
//! console end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Server, TempDir, free_port, hex};

/// A running `docker-registry`, killed on drop.
pub struct Registry {
    child: Child,
    pub addr: String,
    _dir: TempDir,
}

impl Registry {
    /// A registry for the docker-v2 client `service` of `realm`, configured from the client's
    /// `registry-config` snippet and `bundle.pem`.
    pub async fn for_client(server: &Server, realm: &str, service: &str) -> Registry {
        let client_url = |file: &str| {
            server.url(&format!(
                "/auth/realms/{realm}/protocol/docker-v2/clients/{service}/{file}"
            ))
        };
        let snippet = get_text(&client_url("registry-config")).await;
        let bundle = get_text(&client_url("bundle.pem")).await;
        let auth = use_bundle(&snippet, Path::new("bundle.pem"));
        assert!(
            auth.contains(&format!("service: \"{service}\"")),
            "{snippet}"
        );
        Registry::start(&snippet, &bundle).await
    }

    /// A registry whose `auth.token` section is `snippet` (a registry config.yml fragment that
    /// names a `rootcertbundle`), trusting the certificates in `bundle` (PEM).
    pub async fn start(snippet: &str, bundle: &str) -> Registry {
        assert!(bundle.contains("BEGIN CERTIFICATE"), "bundle: {bundle}");
        let dir = TempDir::new("registry");
        let bundle_path = dir.path().join("bundle.pem");
        std::fs::write(&bundle_path, bundle).unwrap();
        let auth = use_bundle(snippet, &bundle_path);
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
        panic!("docker-registry did not start; its log:\n{}", self.log());
    }

    /// The registry's own log (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `docker://<addr>/<name>`, an image reference for skopeo.
    pub fn image(&self, name: &str) -> String {
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
pub fn use_bundle(snippet: &str, bundle: &Path) -> String {
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

/// The body of a GET that must answer 200.
pub async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.text().await.unwrap()
}

/// A one-layer OCI image layout on disk, made with `tar` and `gzip`, for skopeo to push.
pub fn oci_image(dir: &Path) -> PathBuf {
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

/// Runs `command`, failing with its stderr unless it succeeds.
pub fn run_ok(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// skopeo with its own empty auth file, so nothing on the machine leaks in.
pub struct Skopeo {
    pub auth_file: PathBuf,
    _dir: TempDir,
}

impl Default for Skopeo {
    fn default() -> Self {
        Self::new()
    }
}

impl Skopeo {
    pub fn new() -> Skopeo {
        let dir = TempDir::new("skopeo");
        let auth_file = dir.path().join("auth.json");
        std::fs::write(&auth_file, "{}").unwrap();
        Skopeo {
            auth_file,
            _dir: dir,
        }
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("skopeo")
            .args(args)
            .env("REGISTRY_AUTH_FILE", &self.auth_file)
            .output()
            .unwrap()
    }

    /// Copies the OCI layout `image` to `dest` (`docker://…`), as `user:password` or anonymously.
    pub fn push(&self, image: &Path, dest: &str, creds: Option<&str>) -> Output {
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

    pub fn inspect(&self, image: &str, creds: Option<&str>) -> Output {
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

    pub fn delete(&self, image: &str, creds: &str) -> Output {
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
pub fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
pub fn assert_denied(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} should be denied");
    assert!(
        stderr.contains("denied")
            || stderr.contains("unauthorized")
            || stderr.contains("authentication required"),
        "{what} should fail on authorization, not something else: {stderr}"
    );
}
