//! Start-up, run as an operator would: the configuration flags in `--help`, the SQLite file's
//! mode, an unreachable PostgreSQL, unreadable realm files, and client addresses behind a
//! trusted proxy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_tests::{Server, ServerOptions, TempDir, binary, free_port};

/// Runs the binary; its exit status and standard error, or a failure after `within`.
fn run(args: &[&str], env: &[(&str, &str)], within: Duration) -> (bool, String) {
    let dir = TempDir::new("startup-run");
    let stderr_path = dir.path().join("stderr");
    let mut command = Command::new(binary());
    command
        .args(args)
        .env("PORTCULLIS_ADMIN_PASSWORD", "startup-admin")
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{}", free_port()))
        .env_remove("PORTCULLIS_CONFIG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} still running after {within:?}:\n{}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    (status.success(), stderr)
}

#[test]
fn help_lists_the_connection_and_tls_settings() {
    let output = Command::new(binary()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for (flag, env) in [
        ("--header-read-timeout", "PORTCULLIS_HEADER_READ_TIMEOUT"),
        ("--keep-alive-timeout", "PORTCULLIS_KEEP_ALIVE_TIMEOUT"),
        ("--body-read-timeout", "PORTCULLIS_BODY_READ_TIMEOUT"),
        ("--max-connections", "PORTCULLIS_MAX_CONNECTIONS"),
        ("--shutdown-timeout", "PORTCULLIS_SHUTDOWN_TIMEOUT"),
        ("--tls-cert", "PORTCULLIS_TLS_CERT"),
        ("--tls-key", "PORTCULLIS_TLS_KEY"),
        ("--trusted-proxies", "PORTCULLIS_TRUSTED_PROXIES"),
        ("--proxy-headers", "PORTCULLIS_PROXY_HEADERS"),
    ] {
        assert!(help.contains(flag) && help.contains(env), "{flag}:\n{help}");
    }
}

#[cfg(unix)]
#[test]
fn the_sqlite_file_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("sqlite-mode");
    let db = dir.path().join("data").join("p.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let server = Server::start_opts(ServerOptions {
        env: &[("PORTCULLIS_DATABASE_URL", &url)],
        ..ServerOptions::default()
    });
    let wal = dir.path().join("data").join("p.db-wal");
    for file in [&db, &wal] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: {mode:o}", file.display());
    }
    drop(server);
}

#[test]
fn an_unreachable_postgres_fails_start_up_quickly_and_names_the_cause() {
    let port = free_port();
    let url = format!("postgres://portcullis:secret@127.0.0.1:{port}/portcullis");
    for command in [&["serve"][..], &["migrate"][..]] {
        let (ok, stderr) = run(
            command,
            &[("PORTCULLIS_DATABASE_URL", &url)],
            Duration::from_secs(20),
        );
        assert!(!ok, "{stderr}");
        assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
        assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
        assert!(
            !stderr.contains("secret"),
            "the password is not printed: {stderr}"
        );
    }
}

#[cfg(unix)]
#[test]
fn unreadable_realm_files_fail_start_up_naming_the_file() {
    let realm = r#"{"realm": "fine", "enabled": true}"#;
    type Make = fn(&std::path::Path);
    let cases: [(&str, Make); 2] = [
        ("broken.json", |dir| {
            std::os::unix::fs::symlink(dir.join("missing-target.json"), dir.join("broken.json"))
                .unwrap()
        }),
        ("folder.json", |dir| {
            std::fs::create_dir(dir.join("folder.json")).unwrap()
        }),
    ];
    for (name, make) in cases {
        let dir = TempDir::new("realm-files");
        let import = dir.path().join("realms");
        std::fs::create_dir(&import).unwrap();
        std::fs::write(import.join("fine.json"), realm).unwrap();
        make(&import);
        let db = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
        let import_s = import.display().to_string();
        let env = [
            ("PORTCULLIS_DATABASE_URL", db.as_str()),
            ("PORTCULLIS_IMPORT_DIR", import_s.as_str()),
        ];
        let (ok, stderr) = run(&["serve"], &env, Duration::from_secs(30));
        assert!(!ok, "{name}: start-up must fail:\n{stderr}");
        assert!(stderr.contains(name), "{name} is named:\n{stderr}");
        let (ok, stderr) = run(&["import", &import_s], &env, Duration::from_secs(30));
        assert!(!ok, "{name}: import must fail:\n{stderr}");
        assert!(stderr.contains(name), "{name} is named:\n{stderr}");
    }

    // Hidden entries (an editor's lock file is a dangling symlink) are not realm files: the
    // import goes on, and says what it left out.
    let dir = TempDir::new("realm-files");
    let import = dir.path().join("realms");
    std::fs::create_dir(&import).unwrap();
    std::fs::write(import.join("fine.json"), realm).unwrap();
    std::os::unix::fs::symlink("root@host.1234", import.join(".#fine.json")).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    let (ok, stderr) = run(
        &["import", &import.display().to_string()],
        &[("PORTCULLIS_DATABASE_URL", &db)],
        Duration::from_secs(30),
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains(".#fine.json"), "{stderr}");
    assert!(stderr.contains("realm=fine"), "{stderr}");
}

/// The docker token endpoint logs the client address; a forwarded one only from a trusted
/// proxy.
#[test]
fn trusted_proxies_name_the_client_and_others_cannot() {
    let request = |server: &Server, forwarded_for: &str| {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /auth/realms/master/protocol/docker-v2/auth?service=nope HTTP/1.1\r\n\
             Host: x\r\nX-Forwarded-For: {forwarded_for}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
    };
    let behind_proxy = Server::start_with(&[], &[("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.0/8")]);
    request(&behind_proxy, "203.0.113.50, 198.51.100.23");
    behind_proxy.wait_for_log("docker-v2 token request", Duration::from_secs(10));
    let log = behind_proxy.log();
    assert!(log.contains("198.51.100.23"), "{log}");
    assert!(
        !log.contains("203.0.113.50"),
        "client-written hops are not believed: {log}"
    );

    let direct = Server::start(&[]);
    request(&direct, "198.51.100.23");
    direct.wait_for_log("docker-v2 token request", Duration::from_secs(10));
    let log = direct.log();
    assert!(
        !log.contains("198.51.100.23"),
        "a spoofed header is ignored: {log}"
    );
    assert!(log.contains("127.0.0.1"), "{log}");
}
