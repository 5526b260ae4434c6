//! Test databases from the test kit: a temporary SQLite file by default; a fresh PostgreSQL
//! database per test when `PORTCULLIS_TEST_DATABASE_URL` names a PostgreSQL server.

#![allow(dead_code)]

pub mod oidc;

use portcullis_store::Store;
use portcullis_testkit::TestDatabase;

pub const NOW: i64 = 1_764_000_000;

/// A store on a fresh database, removed when this is dropped.
pub struct TestDb {
    pub store: Store,
    database: TestDatabase,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let database = TestDatabase::create().await;
        let store = database.connect().await;
        TestDb { store, database }
    }

    /// Closes the store's connections, then removes the database.
    pub async fn finish(self) {
        let TestDb { store, database } = self;
        store.connection().clone().close().await.expect("close");
        drop(database);
    }
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A `LOGIN` event with nothing but its id, realm and time (milliseconds).
pub fn login_event(
    id: &str,
    realm: &str,
    time: i64,
) -> portcullis_store::entity::login_event::Model {
    portcullis_store::entity::login_event::Model {
        id: id.into(),
        realm_id: realm.into(),
        time,
        event_type: "LOGIN".into(),
        client_id: None,
        user_id: None,
        username: None,
        session_id: None,
        ip_address: None,
        error: None,
        details: None,
    }
}
