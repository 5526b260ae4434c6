//! SQLite specifics: file creation, persistence across connections, foreign keys on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::NOW;
use portcullis_store::Store;
use sea_orm::{ConnectionTrait, Statement};

#[tokio::test]
async fn creates_the_file_and_its_directory_and_keeps_data() {
    let dir = std::env::temp_dir().join(format!("pc-store-{}", uuid::Uuid::new_v4().simple()));
    let path = dir.join("nested").join("portcullis.db");
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url)
        .await
        .expect("connect creates the file");
    assert!(path.exists());
    assert!(
        store
            .bootstrap_master("admin", "pw-1234567", NOW)
            .await
            .unwrap()
    );
    store.ping().await.unwrap();
    let fk = store
        .connection()
        .query_one(Statement::from_string(
            store.connection().get_database_backend(),
            "PRAGMA foreign_keys",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i32>(0)
        .unwrap();
    assert_eq!(
        fk, 1,
        "foreign keys are enforced, so realm deletion cascades"
    );
    store.connection().clone().close().await.unwrap();

    let again = Store::connect(&url).await.expect("reconnect");
    again.migrate().await.expect("migrating twice is a no-op");
    assert_eq!(again.realm_names().await.unwrap(), ["master"]);
    assert!(
        !again
            .bootstrap_master("admin", "pw-1234567", NOW)
            .await
            .unwrap()
    );
    again.connection().clone().close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn memory_databases_are_separate() {
    let a = Store::connect("sqlite::memory:").await.unwrap();
    let b = Store::connect("sqlite::memory:").await.unwrap();
    a.bootstrap_master("admin", "pw", NOW).await.unwrap();
    assert_eq!(a.realm_names().await.unwrap(), ["master"]);
    assert!(b.realm_names().await.unwrap().is_empty());
}
