//! portcullis-store: the database (sea-orm on SQLite or PostgreSQL) and realm import/export in
//! Keycloak's JSON representation. Knows SQL, nothing about HTTP.

pub mod entity;
pub mod error;
mod export;
mod import;
pub mod key_component;
mod plan;
mod queries;
pub mod representation;

use std::time::Duration;

use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::StoredPassword;
use portcullis_migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use error::StoreError;
pub use import::ImportOutcome;
pub use plan::DEFAULT_ACCESS_TOKEN_LIFESPAN;
pub use queries::docker::DockerRefreshToken;
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

/// Connections for a SQLite file: WAL lets readers run beside the one writer.
const SQLITE_FILE_CONNECTIONS: u32 = 4;
/// An in-memory SQLite database lives as long as its last connection: never let the pool close it.
const MEMORY_DB_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The database handle; cheap to clone (a connection pool).
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
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
            let mut options = ConnectOptions::new(url.clone());
            options
                .max_connections(SQLITE_FILE_CONNECTIONS)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                });
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

impl Store {
    /// Connects (creating the SQLite file and its parent directory if needed) and applies
    /// migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let db = Database::connect(connect_options(url).await?).await?;
        let store = Store { db };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps an existing connection without migrating (tests, tools).
    pub fn from_connection(db: DatabaseConnection) -> Store {
        Store { db }
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

    /// Re-hash on login: replaces the user's password credential.
    pub async fn set_password(
        &self,
        user_id: &str,
        password: &StoredPassword,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        queries::user::set_password(&self.db, user_id, password, now_unix).await
    }

    /// Docker refresh tokens: stored by SHA-256 hex of the token, never the token.
    pub async fn insert_docker_refresh_token(
        &self,
        t: &DockerRefreshToken,
    ) -> Result<(), StoreError> {
        queries::docker::insert(&self.db, t).await
    }

    pub async fn find_docker_refresh_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<DockerRefreshToken>, StoreError> {
        queries::docker::find(&self.db, token_hash).await
    }

    pub async fn touch_docker_refresh_token(
        &self,
        id: &str,
        now_unix: i64,
    ) -> Result<(), StoreError> {
        queries::docker::touch(&self.db, id, now_unix).await
    }

    /// Revokes every live docker refresh token of a user; returns how many.
    pub async fn revoke_docker_refresh_tokens(
        &self,
        realm_id: &str,
        user_id: &str,
    ) -> Result<u64, StoreError> {
        queries::docker::revoke_for_user(&self.db, realm_id, user_id).await
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

    /// The realm in Keycloak's representation (keys as key-provider components); users only
    /// with `include_users`. None if no such realm.
    pub async fn export_realm(
        &self,
        name: &str,
        include_users: bool,
    ) -> Result<Option<RealmRepresentation>, StoreError> {
        export::export_realm(&self.db, name, include_users).await
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
            realm_roles: vec![ADMIN_ROLE.to_string()],
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
