//! HTTPS without a proxy: `--tls-cert`/`--tls-key`, ALPN http/1.1, the certificate re-read on
//! SIGHUP without dropping the listener (a bad file keeps the old one), and the start-up
//! warning for plain HTTP off loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_tests::{Server, ServerOptions, free_port, require};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A self-signed certificate for 127.0.0.1, written as PEM to `cert` and `key`; its DER.
fn write_cert(cert: &Path, key: &Path) -> CertificateDer<'static> {
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".into()])
            .unwrap();
    std::fs::write(cert, generated.cert.pem()).unwrap();
    std::fs::write(key, generated.signing_key.serialize_pem()).unwrap();
    generated.cert.der().clone()
}

/// One HTTPS GET; the negotiated ALPN protocol, the server's certificate and the response.
fn https_get(
    port: u16,
    trusted: &[&CertificateDer<'static>],
    path: &str,
) -> Result<(Option<Vec<u8>>, CertificateDer<'static>, String), String> {
    let mut roots = RootCertStore::empty();
    for cert in trusted {
        roots.add((*cert).clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Offering h2 first: the server must pick http/1.1, the only protocol it serves.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let connection = ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = StreamOwned::new(connection, tcp);
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // A close without close_notify is fine here; the response is what matters.
    let _ = stream.read_to_end(&mut response);
    let alpn = stream.conn.alpn_protocol().map(<[u8]>::to_vec);
    let cert = stream
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no server certificate")?
        .clone()
        .into_owned();
    Ok((alpn, cert, String::from_utf8_lossy(&response).into_owned()))
}

#[test]
fn https_with_the_certificate_reloaded_on_sighup() {
    let Some(_) = require("kill", "https_with_the_certificate_reloaded_on_sighup") else {
        return;
    };
    let dir = portcullis_tests::TempDir::new("tls");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first = write_cert(&cert, &key);
    let (cert_s, key_s) = (cert.display().to_string(), key.display().to_string());
    let server = Server::start_opts(ServerOptions {
        env: &[
            ("PORTCULLIS_TLS_CERT", &cert_s),
            ("PORTCULLIS_TLS_KEY", &key_s),
        ],
        tls: true,
        ..ServerOptions::default()
    });

    let (alpn, served, response) = https_get(server.port, &[&first], "/auth/health/live").unwrap();
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(served, first);
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(
        !server.log().contains("use --tls-cert/--tls-key"),
        "no plain-HTTP warning with TLS"
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /auth/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/1.1 200"));

    // A new certificate, picked up on SIGHUP by new connections on the same listener.
    let second = write_cert(&cert, &key);
    server.signal("HUP");
    server.wait_for_log(
        "SIGHUP: reloaded the TLS certificate",
        Duration::from_secs(10),
    );
    let (_, served, response) =
        https_get(server.port, &[&first, &second], "/auth/health/live").unwrap();
    assert_eq!(served, second, "the reloaded certificate is served");
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");

    // A broken key: an error in the log, and the previous certificate stays.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nnot a key\n").unwrap();
    server.signal("HUP");
    server.wait_for_log(
        "reloading the TLS certificate failed",
        Duration::from_secs(10),
    );
    // A key that does not belong to the certificate is refused too.
    let stray = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key, stray.serialize_pem()).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server
        .log()
        .matches("reloading the TLS certificate failed")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (_, served, response) =
        https_get(server.port, &[&first, &second], "/auth/health/live").unwrap();
    assert_eq!(
        served, second,
        "a bad reload keeps the previous certificate"
    );
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
}

#[test]
fn a_bad_certificate_fails_start_up() {
    let dir = portcullis_tests::TempDir::new("tls-bad");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    write_cert(&cert, &key);
    std::fs::write(&key, "nonsense").unwrap();
    let log = dir.path().join("stderr");
    let mut child = std::process::Command::new(portcullis_tests::binary())
        .arg("serve")
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{}", free_port()))
        .env("PORTCULLIS_DATABASE_URL", "sqlite::memory:")
        .env("PORTCULLIS_IMPORT_DIR", dir.path().join("none"))
        .env("PORTCULLIS_TLS_CERT", &cert)
        .env("PORTCULLIS_TLS_KEY", &key)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.is_some_and(|s| !s.success()),
        "start-up must fail: {status:?}\n{stderr}"
    );
    assert!(stderr.contains("--tls-key"), "{stderr}");
}

#[test]
fn plain_http_warns_only_off_loopback() {
    let warning = "use --tls-cert/--tls-key or a TLS proxy";
    let loopback = Server::start(&[]);
    assert!(!loopback.log().contains(warning), "{}", loopback.log());
    drop(loopback);

    let public = Server::start_opts(ServerOptions {
        bind_host: Some("0.0.0.0"),
        ..ServerOptions::default()
    });
    let log = public.log();
    assert_eq!(log.matches(warning).count(), 1, "warned once:\n{log}");
}
