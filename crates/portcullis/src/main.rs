//! The `portcullis` binary: parses the configuration and runs a subcommand.

mod config;
mod progress;
mod realm_files;
mod serving;
mod sweeper;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Extension;
use clap::Parser;
use portcullis_core::clock::{Clock, SystemClock};
use portcullis_store::Store;
use portcullis_store::representation::stream::RealmJsonWriter;
use portcullis_web::{AppState, Urls};
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, Config};

fn main() -> anyhow::Result<()> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(run(started));
    // Whatever is still running (a password hash, a database call of a closed connection) must
    // not hold the process past the shutdown deadline.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn run(started: Instant) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn")
        }))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let config = Config::resolve(cli.settings)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config, started).await,
        Command::Migrate => {
            connect(&config).await?;
            eprintln!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Import { path, r#override } => {
            let store = connect(&config).await?;
            realm_files::import_path(&store, &path, r#override, SystemClock.now_unix()).await
        }
        Command::Export { realm, users } => {
            let store = connect(&config).await?;
            export(&store, &realm, users).await
        }
    }
}

/// Writes a realm to standard output, its users a page at a time as they are read.
async fn export(store: &Store, realm: &str, users: bool) -> anyhow::Result<()> {
    let mut export = store
        .export_realm_paged(realm, users)
        .await?
        .with_context(|| format!("realm {realm:?} does not exist"))?;
    let total = export.user_count();
    let stdout = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout());
    // Without `--users` the export still carries service-account users, as Keycloak's does.
    let mut out = RealmJsonWriter::begin(stdout, export.realm(), users || total > 0)
        .context("writing the export")?;
    let progress = progress::Progress::new("exporting", realm, total);
    let mut done = 0;
    while let Some(page) = store.export_next_page(&mut export).await? {
        out.users(&page).context("writing the export")?;
        done += page.len() as u64;
        progress.update(done);
    }
    out.finish().context("writing the export")?;
    progress.finish(done);
    Ok(())
}

async fn connect(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url)))
}

async fn serve(config: Config, started: Instant) -> anyhow::Result<()> {
    let max_connections = connection_cap(&config);
    let tls = match &config.tls {
        Some(files) => Some(serving::tls::ReloadableCert::load(&files.cert, &files.key)?),
        None => None,
    };
    let store = connect(&config).await?;
    let clock = Arc::new(SystemClock);
    bootstrap_master(&store, &config, clock.now_unix()).await?;
    realm_files::import_dir(&store, &config.import_dir, clock.now_unix()).await?;
    let urls = Urls {
        base_url: config.base_url.clone(),
        relative_path: config.relative_path.clone(),
    };
    sweeper::spawn(store.clone(), clock.clone());
    let state = AppState::with_hashing_threads(store, clock, urls, config.hashing_threads);
    // Instances on one PostgreSQL database tell each other what to drop from their caches.
    state.start_cluster_sync();
    let mut router = portcullis::router(state, &config.relative_path);
    if let Some(proxies) = &config.trusted_proxies {
        tracing::info!(
            trusted_proxies = %proxies,
            header = ?proxies.header(),
            "client addresses from the forwarding header of trusted proxies"
        );
        router = router.layer(Extension(proxies.clone()));
    }
    let listener = serving::bind(&config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let local = listener.local_addr().context("reading the bound address")?;
    if tls.is_none() && !local.ip().is_loopback() {
        tracing::warn!(
            bind = %local,
            "serving plain HTTP on a non-loopback address: docker clients send Basic \
             credentials to the token endpoint; use --tls-cert/--tls-key or a TLS proxy"
        );
    }
    let settings = serving::Settings {
        header_read_timeout: config.header_read_timeout,
        keep_alive_timeout: config.keep_alive_timeout,
        body_read_timeout: config.body_read_timeout,
        max_connections,
        shutdown_timeout: config.shutdown_timeout,
    };
    let base = format!("{}{}", config.base_url, config.relative_path);
    tracing::info!(
        bind = %config.bind,
        tls = tls.is_some(),
        max_connections,
        header_read_timeout_secs = settings.header_read_timeout.as_secs(),
        keep_alive_timeout_secs = settings.keep_alive_timeout.as_secs(),
        body_read_timeout_secs = settings.body_read_timeout.as_secs(),
        ready_ms = started.elapsed().as_millis() as u64,
        "Portcullis ready: realms at {base}/realms/<realm>, health at {base}/health/ready"
    );
    serving::serve(listener, router, settings, tls, shutdown_signal())
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}

/// Raises the open-file limit and fits the connection cap under it.
fn connection_cap(config: &Config) -> usize {
    let soft = match serving::limits::raise_open_file_limit() {
        Ok(limits) => {
            tracing::info!(
                soft_before = limits.soft_before,
                soft = limits.soft,
                hard = limits.hard,
                "open-file limit (soft raised to the hard limit)"
            );
            Some(limits.soft)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-file limit");
            None
        }
    };
    let (cap, lowered) = serving::limits::connection_cap(config.max_connections, soft);
    if lowered {
        tracing::warn!(
            requested = config.max_connections,
            max_connections = cap,
            "--max-connections lowered to fit under the open-file limit"
        );
    }
    cap
}

/// Creates `master` and its admin on first start. A generated password is printed once, to
/// standard error, and never logged.
async fn bootstrap_master(store: &Store, config: &Config, now: i64) -> anyhow::Result<()> {
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), false),
        // 144 random bits, URL-safe so it can be pasted anywhere.
        None => (portcullis_core::secrets::random_token::<18>(), true),
    };
    let created = store
        .bootstrap_master(&config.admin_user, &password, now)
        .await
        .context("creating the master realm")?;
    if created {
        tracing::info!(admin = %config.admin_user, "created the master realm and its admin");
        if generated {
            eprintln!(
                "\n  Bootstrap admin of realm master: {}\n  Password (shown once): {password}\n",
                config.admin_user
            );
        }
    }
    Ok(())
}

/// Hides a password in a database URL before printing it.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            super::redact("sqlite://data/p.db?mode=rwc"),
            "sqlite://data/p.db?mode=rwc"
        );
    }
}
