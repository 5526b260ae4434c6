//! Configuration: command-line flags, each with an environment variable, over an optional TOML
//! file (`--config`), over defaults (design section 2).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use portcullis_web::{ProxyHeader, TrustedProxies};
use serde::Deserialize;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Identity server: OpenID Connect and the Docker Registry v2 token protocol"
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Flags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Import Keycloak realm JSON files: one file, or every *.json in a directory.
    Import {
        path: PathBuf,
        /// Replace realms that already exist (otherwise they are skipped).
        #[arg(long)]
        r#override: bool,
    },
    /// Print a realm as Keycloak realm JSON.
    Export {
        #[arg(long)]
        realm: String,
        /// Include users and their credentials.
        #[arg(long)]
        users: bool,
    },
}

/// Every setting, optional here so that the TOML file can fill what the command line left out.
#[derive(Debug, Args, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Flags {
    /// TOML file with the same keys as the long flags (bind, database-url, ...).
    #[arg(long, env = "PORTCULLIS_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "PORTCULLIS_BIND", global = true)]
    pub bind: Option<String>,
    /// sqlite://... or postgres://... [default: sqlite://data/portcullis.db?mode=rwc]
    #[arg(long, env = "PORTCULLIS_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Realm files imported at start-up [default: realms]
    #[arg(long, env = "PORTCULLIS_IMPORT_DIR", global = true)]
    pub import_dir: Option<PathBuf>,
    /// Public URL used for issuers and links [default: http://<bind>]
    #[arg(long, env = "PORTCULLIS_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Path prefix of every URL [default: /auth]
    #[arg(long, env = "PORTCULLIS_HTTP_RELATIVE_PATH", global = true)]
    pub http_relative_path: Option<String>,
    /// Bootstrap admin of the master realm [default: admin]
    #[arg(long, env = "PORTCULLIS_ADMIN_USER", global = true)]
    pub admin_user: Option<String>,
    /// Bootstrap admin password [default: generated and printed once]
    #[arg(
        long,
        env = "PORTCULLIS_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub admin_password: Option<String>,
    /// Passwords hashed at once; each busy hashing thread holds argon2's working memory (7 MiB
    /// with Keycloak's policy) until it has been idle 2 s [default: one per core]
    #[arg(long, env = "PORTCULLIS_HASHING_THREADS", global = true)]
    pub hashing_threads: Option<usize>,
    /// Seconds a client has to send a request's headers, counted from the connection's accept
    /// (including the TLS handshake) or from the first byte of a later request [default: 10]
    #[arg(
        long,
        env = "PORTCULLIS_HEADER_READ_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub header_read_timeout: Option<u64>,
    /// Seconds an idle keep-alive connection may wait for its next request [default: 60]
    #[arg(
        long,
        env = "PORTCULLIS_KEEP_ALIVE_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub keep_alive_timeout: Option<u64>,
    /// Seconds a client has to send a whole request body, counted from the end of its headers;
    /// a late body gets 408 and the connection is closed [default: 30]
    #[arg(
        long,
        env = "PORTCULLIS_BODY_READ_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub body_read_timeout: Option<u64>,
    /// Open client connections at most; never more than the open-file limit less a reserve for
    /// the database and files. At the cap, a new connection evicts the one that has waited
    /// longest without sending a complete request [default: 4096, lowered to fit the limit]
    #[arg(long, env = "PORTCULLIS_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
    /// Seconds SIGTERM or Ctrl-C waits for requests in flight before closing every connection
    /// [default: 10]
    #[arg(
        long,
        env = "PORTCULLIS_SHUTDOWN_TIMEOUT",
        global = true,
        value_name = "SECONDS"
    )]
    pub shutdown_timeout: Option<u64>,
    /// PEM certificate chain: serve HTTPS (with --tls-key); re-read on SIGHUP
    #[arg(long, env = "PORTCULLIS_TLS_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert; re-read on SIGHUP
    #[arg(long, env = "PORTCULLIS_TLS_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Comma list of proxy addresses or CIDRs (10.0.0.0/8, ::1) whose forwarding header names
    /// the client address; from other peers it is ignored [default: none]
    #[arg(long, env = "PORTCULLIS_TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,
    /// The header the trusted proxies set: `xforwarded` (X-Forwarded-For) or `forwarded`
    /// (RFC 7239) [default: xforwarded]
    #[arg(long, env = "PORTCULLIS_PROXY_HEADERS", global = true)]
    pub proxy_headers: Option<String>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub import_dir: PathBuf,
    pub base_url: String,
    pub relative_path: String,
    pub admin_user: String,
    pub admin_password: Option<String>,
    /// `None`: one per core.
    pub hashing_threads: Option<usize>,
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub body_read_timeout: Duration,
    /// `None`: the default, fitted to the open-file limit at start-up.
    pub max_connections: Option<usize>,
    pub shutdown_timeout: Duration,
    pub tls: Option<TlsFiles>,
    pub trusted_proxies: Option<Arc<TrustedProxies>>,
}

/// The certificate chain and key served over HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Config {
    pub fn resolve(flags: Flags) -> anyhow::Result<Config> {
        let file = match &flags.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<Flags>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => Flags::default(),
        };
        let bind = flags
            .bind
            .or(file.bind)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let base_url = flags
            .base_url
            .or(file.base_url)
            .unwrap_or_else(|| format!("http://{bind}"));
        let relative = flags
            .http_relative_path
            .or(file.http_relative_path)
            .unwrap_or_else(|| "/auth".into());
        let config = Config {
            database_url: flags
                .database_url
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://data/portcullis.db?mode=rwc".into()),
            import_dir: flags
                .import_dir
                .or(file.import_dir)
                .unwrap_or_else(|| "realms".into()),
            base_url: base_url.trim_end_matches('/').to_string(),
            relative_path: normalise_relative_path(&relative),
            admin_user: flags
                .admin_user
                .or(file.admin_user)
                .unwrap_or_else(|| "admin".into()),
            admin_password: flags.admin_password.or(file.admin_password),
            hashing_threads: flags.hashing_threads.or(file.hashing_threads),
            header_read_timeout: seconds(
                "header-read-timeout",
                flags.header_read_timeout.or(file.header_read_timeout),
                DEFAULT_HEADER_READ_TIMEOUT,
            )?,
            keep_alive_timeout: seconds(
                "keep-alive-timeout",
                flags.keep_alive_timeout.or(file.keep_alive_timeout),
                DEFAULT_KEEP_ALIVE_TIMEOUT,
            )?,
            body_read_timeout: seconds(
                "body-read-timeout",
                flags.body_read_timeout.or(file.body_read_timeout),
                DEFAULT_BODY_READ_TIMEOUT,
            )?,
            max_connections: flags.max_connections.or(file.max_connections),
            shutdown_timeout: seconds(
                "shutdown-timeout",
                flags.shutdown_timeout.or(file.shutdown_timeout),
                DEFAULT_SHUTDOWN_TIMEOUT,
            )?,
            tls: match (
                flags.tls_cert.or(file.tls_cert),
                flags.tls_key.or(file.tls_key),
            ) {
                (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                (None, None) => None,
                _ => bail!("--tls-cert and --tls-key go together"),
            },
            trusted_proxies: trusted_proxies(
                flags.trusted_proxies.or(file.trusted_proxies).as_deref(),
                flags.proxy_headers.or(file.proxy_headers).as_deref(),
            )?,
            bind,
        };
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            bail!(
                "--base-url must start with http:// or https://, got {:?}",
                self.base_url
            );
        }
        if self.base_url[self.base_url.find("://").map_or(0, |i| i + 3)..].contains('/') {
            bail!(
                "--base-url must not have a path; use --http-relative-path, got {:?}",
                self.base_url
            );
        }
        if self.admin_user.trim().is_empty() {
            bail!("--admin-user must not be empty");
        }
        if self.max_connections == Some(0) {
            bail!("--max-connections must be at least 1");
        }
        if let Some(threads) = self.hashing_threads
            && !(1..=MAX_HASHING_THREADS).contains(&threads)
        {
            bail!("--hashing-threads must be between 1 and {MAX_HASHING_THREADS}, got {threads}");
        }
        Ok(())
    }
}

/// More hashing threads than this would only hold memory: hashing is CPU-bound.
const MAX_HASHING_THREADS: usize = 256;

/// Programs send their headers in one write; 10 s covers a slow network and a TLS handshake.
/// A slow-header client holds its connection at most this long.
const DEFAULT_HEADER_READ_TIMEOUT: u64 = 10;
/// Browsers reuse a connection for the next page; registries and docker clients for the next
/// token. Idle connections are also the first evicted at the connection cap.
const DEFAULT_KEEP_ALIVE_TIMEOUT: u64 = 60;
/// Request bodies are small (forms, JSON up to axum's 2 MB limit): 30 s allows ~70 KB/s.
const DEFAULT_BODY_READ_TIMEOUT: u64 = 30;
const DEFAULT_SHUTDOWN_TIMEOUT: u64 = 10;
/// Longer timeouts than a day are a configuration mistake (a value in milliseconds?).
const MAX_TIMEOUT_SECS: u64 = 24 * 3600;

fn seconds(name: &str, value: Option<u64>, default: u64) -> anyhow::Result<Duration> {
    let secs = value.unwrap_or(default);
    if !(1..=MAX_TIMEOUT_SECS).contains(&secs) {
        bail!("--{name} must be between 1 and {MAX_TIMEOUT_SECS} seconds, got {secs}");
    }
    Ok(Duration::from_secs(secs))
}

/// `None` without `--trusted-proxies`: the peer address is the client address.
fn trusted_proxies(
    list: Option<&str>,
    header: Option<&str>,
) -> anyhow::Result<Option<Arc<TrustedProxies>>> {
    let header = match header.map(str::trim) {
        None | Some("xforwarded") => ProxyHeader::XForwardedFor,
        Some("forwarded") => ProxyHeader::Forwarded,
        Some(other) => {
            bail!("--proxy-headers must be `xforwarded` or `forwarded`, got {other:?}")
        }
    };
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    let proxies = TrustedProxies::parse(list, header)
        .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
    Ok(Some(Arc::new(proxies)))
}

/// `/auth`, `auth/`, `/auth/` all mean `/auth`; `/` and `` mean no prefix.
fn normalise_relative_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_normalise() {
        for (input, want) in [
            ("/auth", "/auth"),
            ("auth/", "/auth"),
            ("/", ""),
            ("", ""),
            ("/a/b/", "/a/b"),
        ] {
            assert_eq!(normalise_relative_path(input), want, "{input}");
        }
    }

    #[test]
    fn defaults_follow_the_design() {
        let c = Config::resolve(Flags::default()).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.base_url, "http://127.0.0.1:8080");
        assert_eq!(c.relative_path, "/auth");
        assert_eq!(c.database_url, "sqlite://data/portcullis.db?mode=rwc");
        assert_eq!(c.admin_user, "admin");
    }

    #[test]
    fn connection_settings_default_validate_and_come_from_the_file() {
        let c = Config::resolve(Flags::default()).unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.keep_alive_timeout, Duration::from_secs(60));
        assert_eq!(c.body_read_timeout, Duration::from_secs(30));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(c.max_connections, None);
        assert!(c.tls.is_none() && c.trusted_proxies.is_none());

        let dir = std::env::temp_dir().join(format!("pc-conn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.toml");
        std::fs::write(
            &file,
            "header-read-timeout = 3\nkeep-alive-timeout = 4\nbody-read-timeout = 5\n\
             shutdown-timeout = 6\nmax-connections = 7\ntls-cert = \"c.pem\"\n\
             tls-key = \"k.pem\"\ntrusted-proxies = \"10.0.0.0/8, ::1\"\n\
             proxy-headers = \"forwarded\"\n",
        )
        .unwrap();
        let from_file = |file: &PathBuf| {
            Config::resolve(Flags {
                config: Some(file.clone()),
                ..Flags::default()
            })
        };
        let c = from_file(&file).unwrap();
        assert_eq!(c.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.keep_alive_timeout, Duration::from_secs(4));
        assert_eq!(c.body_read_timeout, Duration::from_secs(5));
        assert_eq!(c.shutdown_timeout, Duration::from_secs(6));
        assert_eq!(c.max_connections, Some(7));
        assert_eq!(c.tls.unwrap().key, PathBuf::from("k.pem"));
        let proxies = c.trusted_proxies.unwrap();
        assert_eq!(proxies.to_string(), "10.0.0.0/8,::1/128");
        assert_eq!(proxies.header(), ProxyHeader::Forwarded);

        for bad in [
            "header-read-timeout = 0\n",
            "shutdown-timeout = 86401\n",
            "max-connections = 0\n",
            "tls-cert = \"c.pem\"\n",
            "trusted-proxies = \"10.0.0.0/33\"\n",
            "trusted-proxies = \"10.0.0.1\"\nproxy-headers = \"x-real-ip\"\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(from_file(&file).is_err(), "{bad}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn hashing_threads_from_the_file_and_bounded() {
        assert_eq!(
            Config::resolve(Flags::default()).unwrap().hashing_threads,
            None
        );
        let dir = std::env::temp_dir().join(format!("pc-hashing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.toml");
        std::fs::write(&file, "hashing-threads = 1\n").unwrap();
        let from_file = |file: &PathBuf| {
            Config::resolve(Flags {
                config: Some(file.clone()),
                ..Flags::default()
            })
        };
        assert_eq!(from_file(&file).unwrap().hashing_threads, Some(1));
        for bad in [
            "hashing-threads = 0\n",
            "hashing-threads = 257\n",
            "hashing-threads = -1\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            assert!(from_file(&file).is_err(), "{bad}");
        }
        let flag = Flags {
            hashing_threads: Some(3),
            ..Flags::default()
        };
        assert_eq!(Config::resolve(flag).unwrap().hashing_threads, Some(3));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn flags_win_over_the_file_and_bad_urls_are_refused() {
        let dir = std::env::temp_dir().join(format!("pc-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\nbase-url = \"https://id.example.test/\"\n",
        )
        .unwrap();
        let flags = Flags {
            config: Some(file.clone()),
            bind: Some("127.0.0.1:1".into()),
            ..Flags::default()
        };
        let c = Config::resolve(flags).unwrap();
        assert_eq!(c.bind, "127.0.0.1:1");
        assert_eq!(c.base_url, "https://id.example.test");
        let bad = Flags {
            base_url: Some("id.example.test".into()),
            ..Flags::default()
        };
        assert!(Config::resolve(bad).is_err());
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        assert!(
            Config::resolve(Flags {
                config: Some(file),
                ..Flags::default()
            })
            .is_err()
        );
    }
}
