//! Transactions that read before they write succeed while other connections keep writing (the
//! login-event writer commits every 50 ms under load). On SQLite a deferred transaction whose
//! snapshot another commit overtook cannot write (`SQLITE_BUSY_SNAPSHOT`, at once, whatever the
//! busy timeout): every store transaction takes the write lock at its start instead.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{NOW, TestDb, login_event};
use portcullis_core::password::{PasswordPolicy, StoredPassword};
use portcullis_store::parse_realm_json;
use sea_orm::{ConnectionTrait, Statement};

const REALM_ID: &str = "busy-realm-id";
const USER_ID: &str = "busy-user-id";

async fn realm(db: &TestDb) {
    let json = format!(
        r#"{{"id": "{REALM_ID}", "realm": "busy", "enabled": true,
             "users": [{{"id": "{USER_ID}", "username": "busy", "enabled": true}}]}}"#
    );
    db.store
        .import_realm(parse_realm_json(&json).unwrap(), false, NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_transaction_that_read_first_writes_after_another_connection_wrote() {
    let db = TestDb::new().await;
    realm(&db).await;
    let txn = db.store.begin().await.unwrap();
    let users = txn
        .query_one(Statement::from_string(
            txn.get_database_backend(),
            "SELECT count(*) FROM user_entity",
        ))
        .await
        .unwrap();
    assert!(users.is_some());
    let other = {
        let store = db.store.clone();
        tokio::spawn(async move {
            let mut writer = store.login_event_writer();
            writer.write(vec![login_event("busy-0", REALM_ID, 0)]).await
        })
    };
    // Long enough for the other write to have committed, had nothing held it back.
    tokio::time::sleep(Duration::from_millis(200)).await;
    txn.execute_unprepared("UPDATE user_entity SET enabled = NOT enabled")
        .await
        .expect("the transaction still writes");
    txn.commit().await.unwrap();
    other
        .await
        .unwrap()
        .expect("the other write waited and then ran");
    db.finish().await;
}

/// A password replacement (read the user, then write its credentials) next to a stream of
/// login-event commits, as a sign-in that re-hashes a password meets them.
#[tokio::test]
async fn password_replacements_beside_a_stream_of_commits_all_succeed() {
    let db = TestDb::new().await;
    realm(&db).await;
    let fast = PasswordPolicy {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        ..PasswordPolicy::default()
    };
    let stored = StoredPassword::hash(&fast, "busy-password").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (db.store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut writer = store.login_event_writer();
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) {
                writer
                    .write(vec![login_event(
                        &format!("busy-{written}"),
                        REALM_ID,
                        written,
                    )])
                    .await
                    .unwrap();
                written += 1;
            }
            written
        })
    };
    for _ in 0..100 {
        db.store
            .set_password(USER_ID, &stored, NOW)
            .await
            .expect("a concurrent commit never fails the replacement");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(writer.await.unwrap() > 0, "the other writer committed");
    db.finish().await;
}
