//! Harness for end-to-end tests: the real `portcullis` binary on a free port with a fresh
//! database, and the outside programs (registry, skopeo) the tests drive.
//!
//! Tests that need an outside program call [`require`]: when it is missing they print that they
//! were skipped, unless `PORTCULLIS_REQUIRE_E2E=1`, where a missing program fails the test.

// Test support: a failed step is a failed test, so panicking on it is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod agent;
pub mod browser;
pub mod dockerd;
pub mod registry;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether a missing outside program must fail the run (set by `.ci/run`).
pub fn e2e_required() -> bool {
    std::env::var("PORTCULLIS_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// `Some(path)` when `program` is on the PATH. Otherwise the test is skipped (returns `None`
/// after saying so), or fails when end-to-end tests are required.
pub fn require(program: &str, test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !e2e_required(),
            "{test}: `{program}` is missing and PORTCULLIS_REQUIRE_E2E=1"
        );
        eprintln!("SKIPPED {test}: `{program}` is not installed");
    }
    found
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `RssAnon` of a process in KiB (anonymous resident memory: heap and stacks, not the mapped
/// executable), from `/proc/<pid>/status`.
pub fn rss_anon_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("RssAnon in /proc/<pid>/status")
}

/// Raises this process's open-file limit to at least `want` (soft and hard; root may raise the
/// hard limit), so a test can hold many sockets. Children inherit it.
pub fn raise_open_file_limit(want: u64) {
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("getrlimit");
    if hard < want {
        rlimit::Resource::NOFILE
            .set(want, want)
            .unwrap_or_else(|e| panic!("raising the open-file limit to {want}: {e}"));
    } else if soft < want {
        rlimit::Resource::NOFILE
            .set(hard, hard)
            .unwrap_or_else(|e| panic!("raising the open-file limit to {hard}: {e}"));
    }
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let bytes = portcullis_core::secrets::random_bytes::<8>();
        let name = format!("portcullis-{tag}-{}", hex(&bytes));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub use portcullis_core::secrets::hex;

/// The release or debug `portcullis` binary, built once per test run so it matches the source.
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| built("PORTCULLIS_BIN", "portcullis", "portcullis"))
        .clone()
}

/// The `docker-credential-portcullis` binary, built once per test run.
pub fn credential_helper_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        built(
            "PORTCULLIS_CREDENTIAL_HELPER_BIN",
            "docker-credential-portcullis",
            "docker-credential-portcullis",
        )
    })
    .clone()
}

/// The binary `bin` of `package`: the path in `env` if set, else built with cargo.
fn built(env: &str, package: &str, bin: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(workspace_root())
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the {bin} binary failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join(bin)
}

/// A database for one server: a SQLite file in `dir`, or a fresh PostgreSQL database when
/// `PORTCULLIS_TEST_DATABASE_URL` names a server (the suite's PostgreSQL run).
pub fn fresh_database_url(dir: &Path) -> String {
    match std::env::var("PORTCULLIS_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => fresh_postgres_database(&url),
        _ => format!("sqlite://{}?mode=rwc", dir.join("portcullis.db").display()),
    }
}

fn fresh_postgres_database(url: &str) -> String {
    let bytes = portcullis_core::secrets::random_bytes::<6>();
    let name = format!("pc_e2e_{}", hex(&bytes));
    let status = Command::new("psql")
        .args([url, "-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql (postgresql-client) must be installed for the PostgreSQL run");
    assert!(status.success(), "creating database {name} failed");
    let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
    format!("{base}/{name}")
}

/// A running `portcullis serve`, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub base: String,
    pub database_url: String,
    /// Whether the database was made for this server (and goes with it).
    owns_database: bool,
    pub dir: TempDir,
}

/// How to start a [`Server`] beyond the defaults.
#[derive(Default)]
pub struct ServerOptions<'a> {
    /// Realm files (name, JSON) in the import directory.
    pub realm_files: &'a [(&'a str, String)],
    /// Environment variables, applied after (so overriding) the harness's own.
    pub env: &'a [(&'a str, &'a str)],
    /// A program and its arguments that run the binary, such as
    /// `["prlimit", "--nofile=256:256", "--"]`; it must exec the binary (same process).
    pub wrapper: &'a [&'a str],
    /// HTTPS: readiness is read from the log instead of probed over plain HTTP.
    pub tls: bool,
    /// The address to bind, with the harness's free port [default: 127.0.0.1]; the harness
    /// talks to 127.0.0.1 on that port, so `0.0.0.0` works too.
    pub bind_host: Option<&'a str>,
    /// Another server's database, to run a second instance on it [default: a fresh one].
    pub database_url: Option<&'a str>,
}

/// Master's admin password in every server the tests start.
pub const ADMIN_PASSWORD: &str = "admin-e2e-password";

impl Server {
    /// Starts the binary with `realm_files` (name, JSON) in its import directory and waits until
    /// `/auth/health/ready` answers 200.
    pub fn start(realm_files: &[(&str, String)]) -> Server {
        Self::start_with(realm_files, &[])
    }

    pub fn start_with(realm_files: &[(&str, String)], env: &[(&str, &str)]) -> Server {
        Self::start_opts(ServerOptions {
            realm_files,
            env,
            ..ServerOptions::default()
        })
    }

    pub fn start_opts(options: ServerOptions<'_>) -> Server {
        let ServerOptions {
            realm_files,
            env,
            wrapper,
            tls,
            bind_host,
            database_url: shared_database,
        } = options;
        let dir = TempDir::new("server");
        let import = dir.path().join("realms");
        std::fs::create_dir_all(&import).expect("import dir");
        for (name, json) in realm_files {
            std::fs::write(import.join(name), json).expect("write realm file");
        }
        let port = free_port();
        let database_url = match shared_database {
            Some(url) => url.to_string(),
            None => fresh_database_url(dir.path()),
        };
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary());
                command
            }
            None => Command::new(binary()),
        };
        command
            .arg("serve")
            .env(
                "PORTCULLIS_BIND",
                format!("{}:{port}", bind_host.unwrap_or("127.0.0.1")),
            )
            .env("PORTCULLIS_DATABASE_URL", &database_url)
            .env("PORTCULLIS_IMPORT_DIR", &import)
            .env("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("PORTCULLIS_BASE_URL")
            .env_remove("PORTCULLIS_HTTP_RELATIVE_PATH")
            .env_remove("PORTCULLIS_CONFIG")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start portcullis");
        let server = Server {
            child,
            port,
            base: format!("http://127.0.0.1:{port}"),
            database_url,
            owns_database: shared_database.is_none(),
            dir,
        };
        if tls {
            server.wait_for_log("Portcullis ready", Duration::from_secs(60));
        } else {
            server.wait_ready();
        }
        server
    }

    /// Waits until the log contains `needle`; panics with the log after `within`.
    pub fn wait_for_log(&self, needle: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{needle:?} not in the log within {within:?}; log:\n{}",
            self.log()
        );
    }

    /// The server's process id (the wrapper's, which exec'd the binary).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `INT`, `HUP`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// The exit status once the process has exited, or `None` after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for portcullis") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/auth/health/ready", self.base);
        while Instant::now() < deadline {
            if let Ok(resp) = probe::status(&url)
                && resp == 200
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("portcullis did not become ready; log:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An access token of master's admin, from `admin-cli`'s password grant.
    pub async fn admin_token(&self) -> String {
        let body: serde_json::Value = reqwest::Client::new()
            .post(self.url("/auth/realms/master/protocol/openid-connect/token"))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", "admin"),
                ("password", ADMIN_PASSWORD),
            ])
            .send()
            .await
            .expect("the token endpoint answers")
            .json()
            .await
            .expect("the token endpoint answers JSON");
        body["access_token"]
            .as_str()
            .expect("the admin gets an access token")
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.owns_database {
            drop_postgres_database(&self.database_url);
        }
    }
}

/// A fresh PostgreSQL database for tests that need one whatever the suite's run (several
/// instances sharing a database), dropped with the value. `None` (the test is skipped) when
/// `psql` is missing or the server does not answer, unless `PORTCULLIS_REQUIRE_E2E=1`.
pub struct TempPostgres {
    pub url: String,
}

impl TempPostgres {
    pub fn create(test: &str) -> Option<TempPostgres> {
        require("psql", test)?;
        let server = std::env::var("PORTCULLIS_TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
        let answers = Command::new("psql")
            .args([server.as_str(), "-q", "-c", "SELECT 1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !answers {
            assert!(
                !e2e_required(),
                "{test}: PostgreSQL at {server} does not answer and PORTCULLIS_REQUIRE_E2E=1"
            );
            eprintln!("SKIPPED {test}: PostgreSQL at {server} does not answer");
            return None;
        }
        Some(TempPostgres {
            url: fresh_postgres_database(&server),
        })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        drop_postgres_database(&self.url);
    }
}

/// Removes a database made by [`fresh_postgres_database`]; SQLite files go with the temp dir.
fn drop_postgres_database(url: &str) {
    let Some((base, name)) = url.rsplit_once('/') else {
        return;
    };
    if !url.starts_with("postgres") || !name.starts_with("pc_e2e_") {
        return;
    }
    let _ = Command::new("psql")
        .args([
            &format!("{base}/postgres"),
            "-q",
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ])
        .stdout(Stdio::null())
        .status();
}

/// A tiny blocking status probe, so the harness needs no async runtime to wait for start-up.
mod probe {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub fn status(url: &str) -> std::io::Result<u16> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut stream = TcpStream::connect(host)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        let status = std::str::from_utf8(&head[9..12]).unwrap_or("0");
        Ok(status.parse().unwrap_or(0))
    }
}
