//! portcullis-store: the database (sea-orm on SQLite or PostgreSQL) and realm import/export in
//! Keycloak's JSON representation. Knows SQL, nothing about HTTP.

pub mod admin;
pub mod broker;
pub mod client_scopes;
pub mod entity;
pub mod error;
mod export;
mod import;
pub mod key_component;
pub mod notify;
mod plan;
mod queries;
mod realm_file;
pub mod representation;
mod transaction;

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::brute_force::CountedFailure;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::{PasswordHistory, StoredPassword};
use portcullis_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use error::StoreError;
pub use export::{EXPORT_PAGE, RealmExport};
pub use import::{ImportOutcome, ImportProgress, UserSource};
pub use plan::DEFAULT_ACCESS_TOKEN_LIFESPAN;
/// App passwords: queries that also run inside an admin change's transaction.
pub use queries::app_password as app_passwords;
pub use queries::app_password::{AppPassword, AppPasswordUse};
pub use queries::device::{DeviceCode, DeviceCodeStatus};
pub use queries::docker::DockerRefreshToken;
pub use queries::login_failure::{FailureAt, LoginFailures};
pub use queries::revocation::RefreshRevocation;
/// Robots: queries that also run inside an admin change's transaction.
pub use queries::robot as robots;
pub use queries::robot::{Robot, RobotSecret, RobotUse};
pub use queries::session::{
    AuthCode, CodeRedemption, RefreshTokenRecord, SessionDevice, UserSession,
};
pub use queries::sweep::{LOGIN_EVENT_RETENTION_SECS, SWEEP_BATCH, SWEEP_GRACE_SECS, SweepReport};
pub use realm_file::RealmFile;
pub use representation::stream::USER_BATCH;
pub use representation::{RealmRepresentation, parse_realm_json};

use representation::{
    ClientRepresentation, CredentialRepresentation, RoleRepresentation, RolesRepresentation,
    UserRepresentation,
};

/// The realm created on first start.
pub const MASTER_REALM: &str = "master";
/// The master realm role that may administer every realm.
pub const ADMIN_ROLE: &str = "admin";
/// The public client admin tools log in with.
pub const ADMIN_CLI_CLIENT: &str = "admin-cli";

/// Connections for a SQLite file: WAL lets readers run beside the one writer. Each costs about
/// 0.4 MiB (its own thread, lookaside, schema and page cache); two were measured to halve
/// full OIDC logins (several reads and writes each) under 16 concurrent clients.
const SQLITE_FILE_CONNECTIONS: u32 = 4;
/// Page cache per SQLite connection, in KiB when negative. SQLite's default (2 MiB each) would
/// grow every connection to 2 MiB under a login load; the kernel's page cache already holds
/// the file, so a small private cache costs a copy per page, not a disk read. 64 KiB (16
/// pages) holds the hot index pages; 256 KiB cost 1.3 MiB more under first-time logins over a
/// 24,000-user realm with no measurable speed gain (BENCHMARKS.md, "Memory, session 4").
const SQLITE_CACHE_SIZE: &str = "-64";
/// Prepared statements kept per connection (sqlx's default is 100). The hot queries are few.
const SQLITE_STATEMENT_CACHE: usize = 32;
/// An in-memory SQLite database lives as long as its last connection: never let the pool close it.
const MEMORY_DB_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The database handle; cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// A SQLite file's URL (with `mode`), for connections of their own beside the pool: the
    /// login-event writer's ([`admin::events::LoginEventWriter`]).
    sqlite_file: Option<Arc<str>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// How to open a database URL.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `sqlite::memory:` and friends: one connection, kept open.
    SqliteMemory,
    /// A SQLite file; the URL gains `mode=rwc` unless it sets a mode.
    SqliteFile {
        path: String,
        url: String,
    },
    Other,
}

fn classify(url: &str) -> Target {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Target::Other;
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let params: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    if path == ":memory:" || path.is_empty() || params.contains(&("mode", "memory")) {
        return Target::SqliteMemory;
    }
    let url = if params.iter().any(|(k, _)| *k == "mode") {
        url.to_string()
    } else if query.is_empty() {
        format!("{url}?mode=rwc")
    } else {
        format!("{url}&mode=rwc")
    };
    Target::SqliteFile {
        path: path.to_string(),
        url,
    }
}

async fn connect_options(url: &str) -> Result<ConnectOptions, StoreError> {
    let target = classify(url);
    let mut options = match &target {
        Target::SqliteFile { path, url } => {
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                tokio::fs::create_dir_all(parent).await.map_err(|e| {
                    StoreError::Invalid(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            if url.contains("mode=rwc") {
                create_private_file(std::path::Path::new(path))?;
            }
            let mut options = ConnectOptions::new(url.clone());
            options
                .max_connections(SQLITE_FILE_CONNECTIONS)
                .map_sqlx_sqlite_opts(sqlite_file_settings);
            options
        }
        Target::SqliteMemory => {
            let mut options = ConnectOptions::new(url.to_string());
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(MEMORY_DB_LIFETIME)
                .max_lifetime(MEMORY_DB_LIFETIME)
                .map_sqlx_sqlite_opts(|o| o.foreign_keys(true));
            options
        }
        Target::Other => ConnectOptions::new(url.to_string()),
    };
    // Statement logging would put every query (and bound values) in the request logs.
    options.sqlx_logging(false);
    Ok(options)
}

/// The settings of every connection to a SQLite file: the pool's, and the login-event
/// writer's own (`admin::events::LoginEventWriter`), which changes only its cache.
pub(crate) fn sqlite_file_settings(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .pragma("cache_size", SQLITE_CACHE_SIZE)
        .statement_cache_capacity(SQLITE_STATEMENT_CACHE)
}

/// The database file holds signing keys and client secrets: create it readable by its owner
/// only, before SQLite does (with 0644 less the umask). SQLite gives the -wal and -shm files the
/// main file's mode. An existing file keeps its mode; a readable-by-others one is reported.
fn create_private_file(path: &std::path::Path) -> Result<(), StoreError> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        file = %path.display(),
                        mode = format!("{:o}", mode & 0o777),
                        "the database file (keys, client secrets) is accessible to other users; \
                         chmod 600 it"
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(StoreError::Invalid(format!(
            "cannot create {}: {e}",
            path.display()
        ))),
    }
}

/// How long start-up waits for PostgreSQL to accept a connection. The pool would retry a
/// refused connection for its whole acquire timeout (30 s) and then report only that it timed
/// out; one direct attempt fails fast and says why.
const STARTUP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One direct connection to a PostgreSQL URL, so that an unreachable server fails start-up
/// within seconds with the cause ("Connection refused", "password authentication failed")
/// and the address it tried.
async fn probe_postgres(url: &str) -> Result<(), StoreError> {
    use sea_orm::sqlx::ConnectOptions as _;
    use sea_orm::sqlx::Connection as _;
    use std::str::FromStr;

    let fail = |message: String| {
        StoreError::Db(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::Internal(message)))
    };
    let options = sea_orm::sqlx::postgres::PgConnectOptions::from_str(url)
        .map_err(|e| fail(format!("invalid PostgreSQL URL: {e}")))?;
    let target = format!("{}:{}", options.get_host(), options.get_port());
    match tokio::time::timeout(STARTUP_CONNECT_TIMEOUT, options.connect()).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(fail(format!(
            "cannot connect to PostgreSQL at {target}: {e}"
        ))),
        Err(_) => Err(fail(format!(
            "cannot connect to PostgreSQL at {target}: no answer within {} s",
            STARTUP_CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

impl Store {
    /// Connects (creating the SQLite file and its parent directory if needed) and applies
    /// migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            probe_postgres(url).await?;
        }
        let db = Database::connect(connect_options(url).await?).await?;
        let sqlite_file = match classify(url) {
            Target::SqliteFile { url, .. } => Some(Arc::from(url)),
            _ => None,
        };
        let store = Store { db, sqlite_file };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing connection without migrating (tests, tools).
    pub fn from_connection(db: DatabaseConnection) -> Store {
        Store {
            db,
            sqlite_file: None,
        }
    }

    /// Applies pending migrations (connect already does).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Round-trips to the database (`SELECT 1`), for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub async fn realm_exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(queries::realm::realm_by_name(&self.db, name)
            .await?
            .is_some())
    }

    /// All realm names, sorted.
    pub async fn realm_names(&self) -> Result<Vec<String>, StoreError> {
        queries::realm::realm_names(&self.db).await
    }

    /// Everything but users, with parsed signing keys (highest priority first). None if no such
    /// realm.
    pub async fn load_realm_snapshot(
        &self,
        name: &str,
    ) -> Result<Option<RealmSnapshot>, StoreError> {
        match queries::realm::load_rows(&self.db, name).await? {
            Some(rows) => Ok(Some(rows.into_snapshot()?)),
            None => Ok(None),
        }
    }

    /// Case-insensitive username lookup; with role and group ids, and the password credential
    /// if any.
    pub async fn find_user_by_username(
        &self,
        realm_id: &str,
        username: &str,
    ) -> Result<Option<(User, Option<StoredPassword>)>, StoreError> {
        queries::user::find_by_username(&self.db, realm_id, username).await
    }

    pub async fn find_user_by_id(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<Option<User>, StoreError> {
        queries::user::find_by_id(&self.db, realm_id, user_id).await
    }

    /// Re-hash on login: a new hash of the same password replaces the user's password
    /// credential, which keeps its id, label and creation time; the password history is left
    /// alone. Use [`Store::change_password`] for a new password.
    pub async fn set_password(
        &self,
        user_id: &str,
        password: &StoredPassword,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        queries::user::set_password(
            &self.db,
            user_id,
            password,
            now_unix,
            queries::user::History::Rehash,
        )
        .await
    }

    /// Sets a new password, atomically. The replaced password becomes a `password-history`
    /// credential and, newest first, at most `history_depth` of those are kept (the realm
    /// policy's [`PasswordPolicy::history_depth`]; 0 keeps none and deletes any there are).
    ///
    /// [`PasswordPolicy::history_depth`]: portcullis_core::password::PasswordPolicy::history_depth
    pub async fn change_password(
        &self,
        user_id: &str,
        password: &StoredPassword,
        now_unix: i64,
        history_depth: usize,
    ) -> Result<(), StoreError> {
        queries::user::set_password(
            &self.db,
            user_id,
            password,
            now_unix,
            queries::user::History::Keep(history_depth),
        )
        .await
    }

    /// A self-service password change (the update-password page): the new password (keeping
    /// `history_depth` replaced ones), the `UPDATE_PASSWORD` action done, and every credential
    /// issued before `now` ended, in one transaction.
    pub async fn change_own_password(
        &self,
        realm_id: &str,
        user_id: &str,
        password: &StoredPassword,
        now_unix: i64,
        history_depth: usize,
    ) -> Result<(), StoreError> {
        let txn = crate::transaction::begin_write(&self.db).await?;
        queries::user::set_password(
            &txn,
            user_id,
            password,
            now_unix,
            queries::user::History::Keep(history_depth),
        )
        .await?;
        queries::user::complete_required_action(
            &txn,
            realm_id,
            user_id,
            portcullis_core::model::UPDATE_PASSWORD,
        )
        .await?;
        queries::sign_out::end_everything(&txn, realm_id, user_id, now_unix).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Marks a single-use token (an e-mailed action token, a client assertion's `jti`) used
    /// until `expires_at`; false if it was used before. `key` must contain a `:` so it can never
    /// equal an access token's `jti` (a UUID) kept in the same table.
    pub async fn use_once(
        &self,
        realm_id: &str,
        key: &str,
        now_unix: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        queries::revocation::use_once(&self.db, realm_id, key, now_unix, expires_at).await
    }

    /// Carries out an e-mailed action token in one transaction: marks it used (false, and
    /// nothing changes, if it was used before), sets the new password (ending every credential
    /// issued before and the `UPDATE_PASSWORD` action), and with `verify_email` marks the
    /// e-mail verified and the `VERIFY_EMAIL` action done.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_action_token(
        &self,
        realm_id: &str,
        user_id: &str,
        key: &str,
        expires_at: i64,
        password: Option<(&StoredPassword, usize)>,
        verify_email: bool,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let txn = crate::transaction::begin_write(&self.db).await?;
        if !queries::revocation::use_once(&txn, realm_id, key, now_unix, expires_at).await? {
            return Ok(false);
        }
        if let Some((password, history_depth)) = password {
            queries::user::set_password(
                &txn,
                user_id,
                password,
                now_unix,
                queries::user::History::Keep(history_depth),
            )
            .await?;
            queries::user::complete_required_action(
                &txn,
                realm_id,
                user_id,
                portcullis_core::model::UPDATE_PASSWORD,
            )
            .await?;
            queries::sign_out::end_everything(&txn, realm_id, user_id, now_unix).await?;
        }
        if verify_email {
            queries::user::mark_email_verified(&txn, realm_id, user_id).await?;
            queries::user::complete_required_action(&txn, realm_id, user_id, "VERIFY_EMAIL")
                .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// The user's current password and kept `password-history` hashes, newest first, for the
    /// `passwordHistory` check ([`PasswordPolicy::check_history`]). Empty for an unknown user.
    ///
    /// [`PasswordPolicy::check_history`]: portcullis_core::password::PasswordPolicy::check_history
    pub async fn password_history(&self, user_id: &str) -> Result<PasswordHistory, StoreError> {
        queries::user::password_history(&self.db, user_id).await
    }

    /// Stores a docker refresh token (by the SHA-256 hex of the token, never the token) and
    /// revokes the user's oldest live ones for the same service beyond `keep`, in one
    /// transaction; returns how many were revoked.
    pub async fn insert_docker_refresh_token(
        &self,
        t: &DockerRefreshToken,
        keep: u64,
        now_unix: i64,
    ) -> Result<u64, StoreError> {
        let txn = crate::transaction::begin_write(&self.db).await?;
        queries::docker::insert(&txn, t).await?;
        let revoked = queries::docker::keep_newest(&txn, t, keep, now_unix).await?;
        txn.commit().await?;
        Ok(revoked)
    }

    pub async fn find_docker_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<DockerRefreshToken>, StoreError> {
        queries::docker::find(&self.db, token_hash).await
    }

    /// Records a use of a docker refresh token, and the address it came from.
    pub async fn touch_docker_refresh_token(
        &self,
        id: &str,
        now_unix: i64,
        address: Option<&str>,
    ) -> Result<(), StoreError> {
        queries::docker::touch(&self.db, id, now_unix, address).await
    }

    /// The app password whose secret hashes to `secret_hash` (hex SHA-256), in any realm.
    pub async fn find_app_password(
        &self,
        secret_hash: &str,
    ) -> Result<Option<AppPassword>, StoreError> {
        queries::app_password::find_by_hash(&self.db, secret_hash).await
    }

    /// Records a use of an app password: when, from which address, with which client.
    pub async fn touch_app_password(&self, used: AppPasswordUse<'_>) -> Result<(), StoreError> {
        queries::app_password::touch(&self.db, used).await
    }

    /// The robot and secret whose secret hashes to `secret_hash` (hex SHA-256), in any realm.
    pub async fn find_robot_by_secret(
        &self,
        secret_hash: &str,
    ) -> Result<Option<(Robot, RobotSecret)>, StoreError> {
        queries::robot::find_by_secret_hash(&self.db, secret_hash).await
    }

    /// Records a use of a robot: when, from which address, with which client, which secret.
    pub async fn touch_robot(&self, used: RobotUse<'_>) -> Result<(), StoreError> {
        queries::robot::touch(&self.db, used).await
    }

    /// Revokes every live docker refresh token of a user; returns how many.
    pub async fn revoke_docker_refresh_tokens(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<u64, StoreError> {
        queries::docker::revoke_for_user(&self.db, realm_id, user_id).await
    }

    /// Revokes one docker refresh token (a docker login) by its id; returns how many (0 or 1).
    pub async fn revoke_docker_refresh_token(
        &self,
        realm_id: &str,
        id: &str,
    ) -> Result<u64, StoreError> {
        admin::grants::revoke_docker_logins(
            &self.db,
            realm_id,
            admin::grants::DockerLogins::One(id),
        )
        .await
    }

    /// Starts a server-side SSO session.
    pub async fn create_user_session(&self, session: &UserSession) -> Result<(), StoreError> {
        let unknown = SessionDevice::default();
        queries::session::create_session(&self.db, session, &unknown).await
    }

    /// Creates a session started from `device` (the browser's address and user agent).
    pub async fn create_user_session_from(
        &self,
        session: &UserSession,
        device: &SessionDevice,
    ) -> Result<(), StoreError> {
        queries::session::create_session(&self.db, session, device).await
    }

    /// A user's sessions that were not ended, oldest first, with where each was started from
    /// (the caller applies the realm's idle and max timeouts).
    pub async fn list_user_session_devices(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<Vec<(UserSession, SessionDevice)>, StoreError> {
        queries::session::list_session_devices(&self.db, realm_id, user_id).await
    }

    /// The session, ended or not (the caller applies the realm's idle and max timeouts).
    pub async fn find_user_session(&self, id: &str) -> Result<Option<UserSession>, StoreError> {
        queries::session::find_session(&self.db, id).await
    }

    /// Records activity on a session (`last_seen_at = now`).
    pub async fn touch_user_session(&self, id: &str, now_unix: i64) -> Result<(), StoreError> {
        queries::session::touch_session(&self.db, id, now_unix).await
    }

    /// Ends a session and revokes its online refresh tokens (offline tokens outlive it, as in
    /// Keycloak). Ending an unknown or ended session is a no-op.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn end_user_session(&self, id: &str) -> Result<(), StoreError> {
        queries::session::end_session(&self.db, id).await
    }

    /// Revokes the offline tokens of one offline session (its SSO session id, or the token id
    /// of an offline token issued without one); returns how many.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn revoke_offline_session(
        &self,
        realm_id: &str,
        session_id: &str,
    ) -> Result<u64, StoreError> {
        let which = admin::grants::OfflineTokens::Session(session_id);
        admin::grants::revoke_offline_tokens(&self.db, realm_id, which).await
    }

    /// Ends every live session of a user and revokes their online refresh tokens; returns how
    /// many sessions were live.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn end_user_sessions(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<u64, StoreError> {
        queries::session::end_sessions(&self.db, realm_id, user_id).await
    }

    /// Ends every credential the user holds (sessions, refresh and offline tokens, docker
    /// logins) and moves the user's `notBefore` to `now`: a self-service password change.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn end_everything_of_user(
        &self,
        realm_id: &str,
        user_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        queries::sign_out::end_everything(&self.db, realm_id, user_id, now).await
    }

    /// A user's sessions that were not ended, oldest first.
    pub async fn list_user_sessions(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<Vec<UserSession>, StoreError> {
        queries::session::list_sessions(&self.db, realm_id, user_id).await
    }

    /// Stores an authorization code (by `code_hash`, the hex SHA-256 of the code).
    pub async fn insert_auth_code(&self, code: &AuthCode) -> Result<(), StoreError> {
        queries::session::insert_code(&self.db, code).await
    }

    /// Atomically marks the code used: the first call gets `Fresh`, every later one (also a
    /// concurrent one) `Replayed`. Expiry is the caller's to check.
    pub async fn redeem_auth_code(&self, code_hash: &str) -> Result<CodeRedemption, StoreError> {
        queries::session::redeem_code(&self.db, code_hash).await
    }

    pub async fn insert_refresh_token(&self, token: &RefreshTokenRecord) -> Result<(), StoreError> {
        queries::session::insert_refresh(&self.db, token).await
    }

    /// The record behind a refresh token's `jti`.
    pub async fn find_refresh_token(
        &self,
        id: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        queries::session::find_refresh(&self.db, id).await
    }

    /// Revokes one refresh token.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn revoke_refresh_token(&self, id: &str) -> Result<(), StoreError> {
        queries::session::revoke_refresh(&self.db, id).await
    }

    /// Pushes a refresh token row's expiry forward to `until` (a continued grant outlives it).
    pub async fn extend_refresh_token(&self, id: &str, until: i64) -> Result<(), StoreError> {
        queries::session::extend_refresh(&self.db, id, until).await
    }

    /// Counts one use of a refresh token and returns the new count (refreshTokenMaxReuse).
    /// An unknown id is [`StoreError::NotFound`].
    pub async fn increment_refresh_token_use(&self, id: &str) -> Result<i64, StoreError> {
        queries::session::increment_refresh_use(&self.db, id).await
    }

    /// Revokes every refresh token of a session, offline ones included (say, after a code
    /// replay); returns how many were live.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn revoke_session_refresh_tokens(&self, session_id: &str) -> Result<u64, StoreError> {
        queries::session::revoke_session_refresh(&self.db, session_id).await
    }

    /// Revokes an access token (RFC 7009) by its `jti`, remembered until `expires_at` (its
    /// `exp`); see [`Store::is_access_token_revoked`].
    pub async fn revoke_access_token(
        &self,
        realm_id: &str,
        jti: &str,
        now_unix: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        queries::revocation::revoke_access_token(&self.db, realm_id, jti, now_unix, expires_at)
            .await
    }

    /// Revokes a refresh token and ends its client session, as Keycloak does: the client's
    /// other refresh tokens of the same SSO session (offline ones too when the token is offline)
    /// and the client's access tokens from that session issued until now. Returns how many
    /// refresh tokens were revoked.
    ///
    /// Instances cache live sessions and refresh-token rows: callers move the cache epoch once
    /// this returns (`AppState::invalidate_credentials`).
    pub async fn revoke_refresh_grant(
        &self,
        revocation: &RefreshRevocation<'_>,
    ) -> Result<u64, StoreError> {
        queries::revocation::revoke_refresh_grant(&self.db, revocation).await
    }

    /// Whether an access token was revoked, by its `jti` or by the end of its client session
    /// (`(sid, client's internal id)`) at or after `issued_at`. One primary-key lookup.
    pub async fn is_access_token_revoked(
        &self,
        jti: &str,
        client_session: Option<(&str, &str)>,
        issued_at: i64,
    ) -> Result<bool, StoreError> {
        queries::revocation::access_token_revoked(&self.db, jti, client_session, issued_at).await
    }

    /// Deletes, `batch` rows per statement, what expired more than [`SWEEP_GRACE_SECS`] before
    /// `now_unix`: SSO sessions no reader accepts (unless a live offline token needs them),
    /// authorization and device codes, OIDC and docker refresh tokens, revoked-token records,
    /// and login failures brute-force detection no longer counts. Never deletes anything valid.
    pub async fn sweep_expired(
        &self,
        now_unix: i64,
        batch: u64,
    ) -> Result<SweepReport, StoreError> {
        queries::sweep::sweep(&self.db, now_unix, batch).await
    }

    /// Stores a device authorization; a user code taken in the realm is
    /// [`StoreError::Conflict`] (draw another).
    pub async fn insert_device_code(&self, code: &DeviceCode) -> Result<(), StoreError> {
        queries::device::insert(&self.db, code).await
    }

    pub async fn find_device_code(
        &self,
        device_code_hash: &str,
    ) -> Result<Option<DeviceCode>, StoreError> {
        queries::device::find(&self.db, device_code_hash).await
    }

    /// By the normalised user code (expired ones too: the caller checks `expires_at`).
    pub async fn find_device_code_by_user_code(
        &self,
        realm_id: &str,
        user_code: &str,
    ) -> Result<Option<DeviceCode>, StoreError> {
        queries::device::find_by_user_code(&self.db, realm_id, user_code).await
    }

    /// Approves or denies; `Consumed` is final ([`StoreError::Conflict`] afterwards).
    pub async fn set_device_code_status(
        &self,
        device_code_hash: &str,
        status: &DeviceCodeStatus,
    ) -> Result<(), StoreError> {
        queries::device::set_status(&self.db, device_code_hash, status).await
    }

    /// Records a token-endpoint poll at `now` and returns the previous poll time, for
    /// `slow_down`. An unknown code is [`StoreError::NotFound`].
    pub async fn record_device_poll(
        &self,
        device_code_hash: &str,
        now_unix: i64,
    ) -> Result<Option<i64>, StoreError> {
        queries::device::record_poll(&self.db, device_code_hash, now_unix).await
    }

    /// Approved -> Consumed, atomically: true for exactly one caller of an approved code.
    pub async fn consume_device_code(&self, device_code_hash: &str) -> Result<bool, StoreError> {
        queries::device::consume(&self.db, device_code_hash).await
    }

    /// The scopes the user consented to for the client (`clientId`), sorted.
    pub async fn granted_scopes(
        &self,
        realm_id: &str,
        user_id: &str,
        client_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        queries::consent::granted(&self.db, realm_id, user_id, client_id).await
    }

    /// Adds to the user's consent for the client (a union with what was granted before).
    pub async fn grant_scopes(
        &self,
        realm_id: &str,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now_unix: i64,
    ) -> Result<(), StoreError> {
        let key = (realm_id, user_id, client_id);
        queries::consent::grant(&self.db, key, scopes, now_unix).await
    }

    /// The user's brute-force record, if any failure is remembered.
    pub async fn login_failures(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<Option<LoginFailures>, StoreError> {
        queries::login_failure::find(&self.db, realm_id, user_id).await
    }

    /// Counts one failed login atomically: concurrent failures each count.
    pub async fn count_login_failure(
        &self,
        failure: FailureAt<'_>,
    ) -> Result<CountedFailure, StoreError> {
        queries::login_failure::count(&self.db, failure).await
    }

    /// Locks the user until `until` (unix seconds), unless already locked longer.
    pub async fn lock_user(
        &self,
        realm_id: &str,
        user_id: &str,
        until: i64,
    ) -> Result<(), StoreError> {
        queries::login_failure::lock(&self.db, realm_id, user_id, until).await
    }

    /// Forgets the user's failures (a successful login, or an admin unlocking the user).
    pub async fn clear_login_failures(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<(), StoreError> {
        queries::login_failure::clear(&self.db, realm_id, user_id).await
    }

    /// The service-account user of a client (`clientId`), if the client has one.
    pub async fn find_service_account(
        &self,
        realm_id: &str,
        client_id: &str,
    ) -> Result<Option<User>, StoreError> {
        queries::user::find_service_account(&self.db, realm_id, client_id).await
    }

    /// Imports a Keycloak RealmRepresentation in one transaction. Existing realm: Skipped unless
    /// overwrite, then the old realm is deleted first. New realms get an RS256 and an ES256 key
    /// unless the file carries keys.
    pub async fn import_realm(
        &self,
        rep: RealmRepresentation,
        overwrite: bool,
        now_unix: i64,
    ) -> Result<ImportOutcome, StoreError> {
        import::import_realm(&self.db, rep, overwrite, now_unix).await
    }

    /// Imports a realm file (with its users files), reading `batch` users at a time: memory
    /// follows the batch, not the file. One transaction, as [`Store::import_realm`]: a record
    /// that does not parse or refers to nothing fails the import, naming it
    /// (`users[5123].credentials[0]...`), and leaves nothing behind. `progress` is told how many
    /// users are written after every batch.
    pub async fn import_realm_file(
        &self,
        file: RealmFile,
        overwrite: bool,
        now_unix: i64,
        batch: usize,
        progress: ImportProgress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let (rep, users) = file.into_parts(batch);
        import::import_realm_streamed(&self.db, rep, users, overwrite, now_unix, progress).await
    }

    /// Imports `rep` with users that come from `users` a batch at a time, as
    /// [`Store::import_realm_file`] does for a file.
    pub async fn import_realm_with_users(
        &self,
        rep: RealmRepresentation,
        users: UserSource,
        overwrite: bool,
        now_unix: i64,
        progress: ImportProgress<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        import::import_realm_streamed(&self.db, rep, users, overwrite, now_unix, progress).await
    }

    /// The realm in Keycloak's representation (keys as key-provider components); users only
    /// with `include_users`. None if no such realm.
    pub async fn export_realm(
        &self,
        name: &str,
        include_users: bool,
    ) -> Result<Option<RealmRepresentation>, StoreError> {
        export::export_realm(&self.db, name, include_users).await
    }

    /// Starts an export that gives the users a page at a time ([`Store::export_next_page`]):
    /// everything but the users is loaded; `None` if there is no realm `name`. Without
    /// `include_users` the pages hold only service-account users, as [`Store::export_realm`].
    pub async fn export_realm_paged(
        &self,
        name: &str,
        include_users: bool,
    ) -> Result<Option<RealmExport>, StoreError> {
        RealmExport::start(&self.db, name, include_users).await
    }

    /// The next page of an export's users, in username order; `None` after the last.
    pub async fn export_next_page(
        &self,
        export: &mut RealmExport,
    ) -> Result<Option<Vec<UserRepresentation>>, StoreError> {
        export.next_page(&self.db).await
    }

    /// First start: creates `master` with realm role `admin`, user `admin_user` holding it
    /// (password hashed with the realm policy), and public client `admin-cli` (openid-connect,
    /// direct access grants). No-op if master exists; returns whether it created it.
    pub async fn bootstrap_master(
        &self,
        admin_user: &str,
        admin_password: &str,
        now_unix: i64,
    ) -> Result<bool, StoreError> {
        let rep = master_representation(admin_user, admin_password);
        let outcome = self.import_realm(rep, false, now_unix).await?;
        Ok(outcome == ImportOutcome::Created)
    }
}

fn master_representation(admin_user: &str, admin_password: &str) -> RealmRepresentation {
    RealmRepresentation {
        realm: Some(MASTER_REALM.to_string()),
        display_name: Some("Portcullis".to_string()),
        enabled: Some(true),
        roles: Some(RolesRepresentation {
            realm: vec![RoleRepresentation {
                name: Some(ADMIN_ROLE.to_string()),
                description: Some("Administers every realm".to_string()),
                ..Default::default()
            }],
            client: Default::default(),
        }),
        clients: vec![ClientRepresentation {
            client_id: Some(ADMIN_CLI_CLIENT.to_string()),
            name: Some("Admin CLI".to_string()),
            protocol: Some("openid-connect".to_string()),
            enabled: Some(true),
            public_client: Some(true),
            standard_flow_enabled: Some(false),
            direct_access_grants_enabled: Some(true),
            ..Default::default()
        }],
        users: Some(vec![UserRepresentation {
            username: Some(admin_user.to_string()),
            enabled: Some(true),
            // What Keycloak's bootstrap admin holds: `admin` and the realm's default role.
            realm_roles: vec![
                ADMIN_ROLE.to_string(),
                admin::default_role_name(MASTER_REALM),
            ],
            credentials: vec![CredentialRepresentation {
                credential_type: Some("password".to_string()),
                value: Some(admin_password.to_string()),
                temporary: Some(false),
                ..Default::default()
            }],
            ..Default::default()
        }]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!(
            "pc-store-mode-{}-{}",
            std::process::id(),
            portcullis_core::secrets::random_token::<6>()
        ));
        let db = dir.join("sub").join("p.db");
        let store = Store::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        store.ping().await.unwrap();
        for file in [db.clone(), dir.join("sub").join("p.db-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
        store.connection().clone().close().await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_postgres_fails_fast_and_says_why() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = std::time::Instant::now();
        let error = Store::connect(&format!("postgres://u:p@127.0.0.1:{port}/db"))
            .await
            .unwrap_err()
            .to_string();
        assert!(started.elapsed() < STARTUP_CONNECT_TIMEOUT + Duration::from_secs(5));
        assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
        assert!(error.to_lowercase().contains("refused"), "{error}");
    }

    #[test]
    fn classifies_database_urls() {
        let file = |path: &str, url: &str| Target::SqliteFile {
            path: path.into(),
            url: url.into(),
        };
        let cases = [
            ("sqlite::memory:", Target::SqliteMemory),
            ("sqlite://:memory:", Target::SqliteMemory),
            ("sqlite://x.db?mode=memory", Target::SqliteMemory),
            (
                "sqlite://data/portcullis.db?mode=rwc",
                file("data/portcullis.db", "sqlite://data/portcullis.db?mode=rwc"),
            ),
            (
                "sqlite://data/p.db",
                file("data/p.db", "sqlite://data/p.db?mode=rwc"),
            ),
            ("sqlite:p.db", file("p.db", "sqlite:p.db?mode=rwc")),
            (
                "sqlite:///tmp/a/p.db?mode=ro",
                file("/tmp/a/p.db", "sqlite:///tmp/a/p.db?mode=ro"),
            ),
            (
                "sqlite://p.db?cache=shared",
                file("p.db", "sqlite://p.db?cache=shared&mode=rwc"),
            ),
            ("postgres://postgres@127.0.0.1/test", Target::Other),
        ];
        for (url, want) in cases {
            assert_eq!(classify(url), want, "{url}");
        }
    }
}
