//! A fresh database per test: a temporary SQLite file, or a new PostgreSQL database on the
//! server `PORTCULLIS_TEST_DATABASE_URL` names. Either is removed when the value is dropped.

use std::path::PathBuf;
use std::time::Duration;

use portcullis_store::Store;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

/// The variable that switches the tests to PostgreSQL: a `postgres://` URL of a server on which
/// the tests may create and drop databases (CI: `postgres://postgres@127.0.0.1:5432/test`).
pub const DATABASE_URL_VAR: &str = "PORTCULLIS_TEST_DATABASE_URL";

/// A database of one test. Dropping it removes the SQLite file (with its `-wal` and `-shm`) or
/// drops the PostgreSQL database, terminating connections still open to it.
pub struct TestDatabase {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(PathBuf),
    Postgres { server: String, name: String },
}

impl TestDatabase {
    /// A PostgreSQL database when `PORTCULLIS_TEST_DATABASE_URL` names a server, else a SQLite
    /// file. Panics when the variable is set to something that is not a PostgreSQL URL, so that
    /// a mistyped variable cannot quietly run the suite on SQLite again.
    pub async fn create() -> TestDatabase {
        match std::env::var(DATABASE_URL_VAR) {
            Ok(server) if server.is_empty() => Self::sqlite(),
            Ok(server) => {
                assert!(
                    server.starts_with("postgres://") || server.starts_with("postgresql://"),
                    "{DATABASE_URL_VAR} must be a postgres:// URL, not {server:?}"
                );
                Self::postgres(&server).await
            }
            Err(_) => Self::sqlite(),
        }
    }

    /// A new SQLite file in the temporary directory (created on first connection).
    pub fn sqlite() -> TestDatabase {
        let path = std::env::temp_dir().join(format!(
            "portcullis-test-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        TestDatabase {
            url: format!("sqlite://{}", path.display()),
            kind: Kind::Sqlite(path),
        }
    }

    /// A new, uniquely named database on the PostgreSQL server `server` (a URL naming any
    /// database the role can connect to; the new one replaces it in [`TestDatabase::url`]).
    pub async fn postgres(server: &str) -> TestDatabase {
        let name = format!("pc_test_{}", uuid::Uuid::new_v4().simple());
        let admin = admin_connection(server).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("creating database {name} on {server}: {e}"));
        let _ = admin.close().await;
        TestDatabase {
            url: with_database(server, &name),
            kind: Kind::Postgres {
                server: server.to_owned(),
                name,
            },
        }
    }

    /// The URL to connect to.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// A store on this database, migrated.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to the test database {}: {e}", self.url))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut path = path.clone().into_os_string();
                    path.push(suffix);
                    let _ = std::fs::remove_file(path);
                }
            }
            // Drop may run on the test's runtime, which cannot wait for a future here: a thread
            // with a runtime of its own drops the database.
            Kind::Postgres { server, name } => {
                let (server, name) = (server.clone(), name.clone());
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime to drop the test database");
                    runtime.block_on(async {
                        let admin = admin_connection(&server).await;
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        if let Err(e) = admin.execute_unprepared(&sql).await {
                            eprintln!("warning: test database {name} was not dropped: {e}");
                        }
                        let _ = admin.close().await;
                    });
                });
                let _ = dropped.join();
            }
        }
    }
}

/// One connection to the server, for creating and dropping databases.
async fn admin_connection(server: &str) -> DatabaseConnection {
    let mut options = ConnectOptions::new(server.to_owned());
    options
        .max_connections(1)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("connecting to the PostgreSQL server {server}: {e}"))
}

/// `postgres://u@h:5432/test?x=y` with the database replaced by `name` (added when the URL
/// names none); the query is kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/pc_x",
            ),
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432/pc_x",
            ),
            (
                "postgres://h/test?sslmode=disable",
                "postgres://h/pc_x?sslmode=disable",
            ),
            (
                "postgresql://u:p@h/?application_name=t",
                "postgresql://u:p@h/pc_x?application_name=t",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "pc_x"), want);
        }
    }

    #[tokio::test]
    async fn sqlite_files_are_removed_on_drop() {
        let db = super::TestDatabase::sqlite();
        let store = db.connect().await;
        store.ping().await.unwrap();
        let super::Kind::Sqlite(path) = &db.kind else {
            unreachable!()
        };
        let path = path.clone();
        assert!(path.exists());
        drop(store);
        drop(db);
        assert!(!path.exists());
    }

    /// In the PostgreSQL run: the database exists while the value lives and is gone after,
    /// even with a store still connected to it.
    #[tokio::test]
    async fn postgres_databases_are_dropped_on_drop() {
        use sea_orm::{ConnectionTrait, Statement};

        let server = match std::env::var(super::DATABASE_URL_VAR) {
            Ok(server) if !server.is_empty() => server,
            _ => {
                eprintln!("skipped: {} is not set", super::DATABASE_URL_VAR);
                return;
            }
        };
        let db = super::TestDatabase::postgres(&server).await;
        let super::Kind::Postgres { name, .. } = &db.kind else {
            unreachable!()
        };
        let name = name.clone();
        assert!(db.url().ends_with(&format!("/{name}")), "{}", db.url());
        let store = db.connect().await;
        store.ping().await.unwrap();
        let admin = super::admin_connection(&server).await;
        let exists = || {
            let admin = &admin;
            let sql = format!("SELECT COUNT(*) AS n FROM pg_database WHERE datname = '{name}'");
            async move {
                let statement = Statement::from_string(admin.get_database_backend(), sql);
                let row = admin.query_one(statement).await.unwrap().unwrap();
                row.try_get::<i64>("", "n").unwrap() == 1
            }
        };
        assert!(exists().await);
        drop(db);
        assert!(!exists().await);
        drop(store);
    }
}
