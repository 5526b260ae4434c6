//! A private Docker daemon for one test: Debian's `dockerd` with the vfs storage driver, no
//! iptables and no bridge, its data, state and socket in a temporary directory, and the `docker`
//! CLI pointed at it with its own config directory, so nothing on the machine is touched. The
//! daemon treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default, so the test
//! registry needs no TLS.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::TempDir;

/// How long the daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to stop on SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `dockerd`, stopped (with its containerd) on drop.
pub struct Dockerd {
    child: Child,
    host: String,
    config: PathBuf,
    dir: TempDir,
}

impl Dockerd {
    /// Starts the daemon and waits until `docker version` reaches it.
    pub fn start() -> Dockerd {
        let dir = TempDir::new("dockerd");
        let root = dir.path();
        let socket = root.join("docker.sock");
        let config = root.join("config");
        std::fs::create_dir_all(&config).expect("docker config dir");
        let log = std::fs::File::create(root.join("dockerd.log")).expect("dockerd log");
        let child = Command::new("dockerd")
            .args([
                "--storage-driver=vfs",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ])
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("docker.pid"))
            .arg("-H")
            .arg(format!("unix://{}", socket.display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let daemon = Dockerd {
            child,
            host: format!("unix://{}", socket.display()),
            config,
            dir,
        };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.docker(&["version"]).status.success() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("dockerd did not start; its log:\n{}", self.log());
    }

    /// The daemon's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    /// Runs the `docker` CLI against this daemon with its own config directory.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_with_input(args, None)
    }

    /// The `docker` CLI's configuration directory (`DOCKER_CONFIG`).
    pub fn config_dir(&self) -> &Path {
        &self.config
    }

    /// A `docker` command against this daemon with its own config directory, for a caller that
    /// needs more than [`Dockerd::docker`] (its own environment, reading output as it comes).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("docker");
        command
            .args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", &self.config)
            .env_remove("DOCKER_CONTEXT");
        command
    }

    /// Runs the `docker` CLI with `input` on its standard input (`--password-stdin`).
    pub fn docker_with_input(&self, args: &[&str], input: Option<&str>) -> Output {
        let mut command = self.command(args);
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = command.spawn().expect("run docker");
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write as _;
            stdin
                .write_all(text.as_bytes())
                .expect("write docker's stdin");
        }
        child.wait_with_output().expect("wait for docker")
    }

    /// `docker login <registry> -u <user> --password-stdin`.
    pub fn login(&self, registry: &str, user: &str, secret: &str) -> Output {
        self.docker_with_input(
            &["login", registry, "--username", user, "--password-stdin"],
            Some(secret),
        )
    }

    /// A one-file image made without any network: `docker import` of a tiny tarball. Returns
    /// its local name.
    pub fn tiny_image(&self, name: &str) -> String {
        let work = self.dir.path().join("image");
        std::fs::create_dir_all(&work).expect("image dir");
        std::fs::write(work.join("hello.txt"), "hello from portcullis\n").expect("file");
        let tar = self.dir.path().join("rootfs.tar");
        crate::registry::run_ok(
            Command::new("tar")
                .arg("-C")
                .arg(&work)
                .arg("-cf")
                .arg(&tar)
                .arg("hello.txt"),
        );
        let tar_path = tar.display().to_string();
        let out = self.docker(&["import", &tar_path, name]);
        assert!(
            out.status.success(),
            "docker import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        name.to_string()
    }
}

impl Drop for Dockerd {
    /// SIGTERM, so the daemon stops the containerd it started; SIGKILL if it does not stop.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
