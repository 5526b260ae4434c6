//! Test databases: in-memory SQLite by default; a fresh PostgreSQL database per test when
//! `PORTCULLIS_TEST_DATABASE_URL` names a PostgreSQL server.

#![allow(dead_code)]

pub mod oidc;

use portcullis_store::Store;
use sea_orm::{ConnectionTrait, Database};

pub const NOW: i64 = 1_764_000_000;

/// A store on a fresh database; `finish` drops the PostgreSQL database again.
pub struct TestDb {
    pub store: Store,
    /// (server URL, database name) when on PostgreSQL.
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("PORTCULLIS_TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => Self::postgres(&url).await,
            Ok(url) if !url.is_empty() => TestDb {
                store: Store::connect(&url).await.expect("connect"),
                postgres: None,
            },
            _ => TestDb {
                store: Store::connect("sqlite::memory:").await.expect("connect"),
                postgres: None,
            },
        }
    }

    async fn postgres(server_url: &str) -> TestDb {
        let name = format!("pc_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(server_url)
            .await
            .expect("connect to postgres");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        admin.close().await.expect("close");
        let store = Store::connect(&with_database(server_url, &name))
            .await
            .expect("connect to the new database");
        TestDb {
            store,
            postgres: Some((server_url.to_string(), name)),
        }
    }

    pub async fn finish(self) {
        let TestDb { store, postgres } = self;
        store.connection().clone().close().await.expect("close");
        if let Some((server_url, name)) = postgres {
            let admin = Database::connect(server_url.as_str())
                .await
                .expect("connect");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop database");
        }
    }
}

/// `postgres://u@h:5432/test?x=y` with the database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

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
    ];
    for (url, want) in cases {
        assert_eq!(with_database(url, "pc_x"), want);
    }
}
