//! `password-history` credentials: kept when a password is replaced, trimmed to the realm
//! policy's depth, left alone by a re-hash, deleted with the user. SQLite in memory, or
//! PostgreSQL when `PORTCULLIS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::{NOW, TestDb};
use portcullis_core::password::{
    HashScratch, INVALID_PASSWORD_HISTORY_MESSAGE, PasswordHistory, PasswordPolicy, StoredPassword,
};
use portcullis_store::admin::users;
use portcullis_store::{Store, StoreError, parse_realm_json};
use sea_orm::{ConnectionTrait, Statement};

const USER: &str = "hedy-id";

/// A realm with the given policy and one user, `hedy`, whose password is `pw0`.
async fn realm(db: &TestDb, policy: &str) {
    let json = format!(
        r#"{{
            "id": "history-realm-id",
            "realm": "history",
            "enabled": true,
            "passwordPolicy": "{policy}",
            "users": [
                {{
                    "id": "{USER}",
                    "username": "hedy",
                    "enabled": true,
                    "credentials": [{{ "type": "password", "value": "pw0" }}]
                }},
                {{
                    "id": "other-id",
                    "username": "other",
                    "enabled": true,
                    "credentials": [{{ "type": "password", "value": "other-pw" }}]
                }}
            ]
        }}"#
    );
    db.store
        .import_realm(parse_realm_json(&json).unwrap(), false, NOW)
        .await
        .unwrap();
}

fn hash(password: &str) -> StoredPassword {
    let fast = PasswordPolicy {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
        ..PasswordPolicy::default()
    };
    StoredPassword::hash(&fast, password).unwrap()
}

/// Which of `candidates` each stored hash verifies, current first: `["pw3", "pw2", "pw1"]`.
fn names(history: &PasswordHistory, candidates: &[&str]) -> (Option<String>, Vec<String>) {
    let name = |stored: &StoredPassword| {
        candidates
            .iter()
            .find(|c| stored.verify(c))
            .map_or_else(|| "?".to_owned(), |c| c.to_string())
    };
    (
        history.current.as_ref().map(name),
        history.previous.iter().map(name).collect(),
    )
}

const ALL: &[&str] = &["pw0", "pw1", "pw2", "pw3", "pw4", "pw5", "other-pw"];

async fn credential_rows(store: &Store, user_id: &str, credential_type: &str) -> i64 {
    let conn = store.connection();
    let row = conn
        .query_one(Statement::from_sql_and_values(
            conn.get_database_backend(),
            match conn.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    "SELECT COUNT(*) AS n FROM credential WHERE user_id = $1 AND type = $2"
                }
                _ => "SELECT COUNT(*) AS n FROM credential WHERE user_id = ? AND type = ?",
            },
            [user_id.into(), credential_type.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn change_password_keeps_the_replaced_hashes_up_to_the_depth() {
    let db = TestDb::new().await;
    realm(&db, "passwordHistory(3)").await;
    let store = &db.store;
    let policy = PasswordPolicy::from_keycloak("passwordHistory(3)");
    let depth = policy.history_depth();
    assert_eq!(depth, 2);

    let initial = store.password_history(USER).await.unwrap();
    assert_eq!(names(&initial, ALL), (Some("pw0".into()), vec![]));

    // (new password, seconds after NOW, expected current and history, newest first)
    let rows: [(&str, i64, &str, &[&str]); 4] = [
        ("pw1", 10, "pw1", &["pw0"]),
        ("pw2", 20, "pw2", &["pw1", "pw0"]),
        ("pw3", 30, "pw3", &["pw2", "pw1"]),
        ("pw4", 40, "pw4", &["pw3", "pw2"]),
    ];
    for (password, at, current, previous) in rows {
        store
            .change_password(USER, &hash(password), NOW + at, depth)
            .await
            .unwrap();
        let history = store.password_history(USER).await.unwrap();
        let previous: Vec<String> = previous.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            names(&history, ALL),
            (Some(current.into()), previous),
            "{password}"
        );
        assert_eq!(credential_rows(store, USER, "password").await, 1);
        assert_eq!(
            credential_rows(store, USER, "password-history").await,
            history.previous.len() as i64
        );
    }

    // What the policy makes of it: the current and the two newest replaced ones are taken.
    let history = store.password_history(USER).await.unwrap();
    let mut scratch = HashScratch::default();
    for (candidate, rejected) in [("pw4", true), ("pw3", true), ("pw2", true), ("pw1", false)] {
        let result = policy.check_history(candidate, &history, &mut scratch);
        assert_eq!(result.is_err(), rejected, "{candidate}");
        if let Err(violation) = result {
            assert_eq!(violation.key, INVALID_PASSWORD_HISTORY_MESSAGE);
        }
    }

    // The other user's credentials are untouched.
    let other = store.password_history("other-id").await.unwrap();
    assert_eq!(names(&other, ALL), (Some("other-pw".into()), vec![]));
    db.finish().await;
}

#[tokio::test]
async fn a_smaller_depth_trims_and_zero_deletes_the_history() {
    let db = TestDb::new().await;
    realm(&db, "passwordHistory(4)").await;
    let store = &db.store;
    for (i, password) in ["pw1", "pw2", "pw3"].into_iter().enumerate() {
        store
            .change_password(USER, &hash(password), NOW + 10 * (i as i64 + 1), 3)
            .await
            .unwrap();
    }
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(
        names(&history, ALL),
        (
            Some("pw3".into()),
            vec!["pw2".into(), "pw1".into(), "pw0".into()]
        )
    );

    // The realm lowered its policy to passwordHistory(2): one replaced hash stays.
    store
        .change_password(USER, &hash("pw4"), NOW + 50, 1)
        .await
        .unwrap();
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(
        names(&history, ALL),
        (Some("pw4".into()), vec!["pw3".into()])
    );

    // No passwordHistory clause any more: the next change deletes the history.
    store
        .change_password(USER, &hash("pw5"), NOW + 60, 0)
        .await
        .unwrap();
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(names(&history, ALL), (Some("pw5".into()), vec![]));
    assert_eq!(credential_rows(store, USER, "password-history").await, 0);
    db.finish().await;
}

#[tokio::test]
async fn changes_within_one_second_stay_newest_first() {
    let db = TestDb::new().await;
    realm(&db, "passwordHistory(5)").await;
    let store = &db.store;
    for password in ["pw1", "pw2", "pw3", "pw4"] {
        store
            .change_password(USER, &hash(password), NOW, 4)
            .await
            .unwrap();
    }
    let history = store.password_history(USER).await.unwrap();
    let expected: Vec<String> = ["pw3", "pw2", "pw1", "pw0"].map(String::from).to_vec();
    assert_eq!(names(&history, ALL), (Some("pw4".into()), expected));

    // Trimming drops the oldest, not an arbitrary one of the same second.
    store
        .change_password(USER, &hash("pw5"), NOW, 2)
        .await
        .unwrap();
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(
        names(&history, ALL),
        (Some("pw5".into()), vec!["pw4".into(), "pw3".into()])
    );
    db.finish().await;
}

#[tokio::test]
async fn a_rehash_keeps_the_history_and_the_credential() {
    let db = TestDb::new().await;
    realm(&db, "passwordHistory(3)").await;
    let store = &db.store;
    store
        .change_password(USER, &hash("pw1"), NOW + 10, 2)
        .await
        .unwrap();
    store
        .change_password(USER, &hash("pw2"), NOW + 20, 2)
        .await
        .unwrap();
    let before = users::credentials(store.connection(), USER).await.unwrap();

    // The re-hash after a login: same password, new hash.
    store
        .set_password(USER, &hash("pw2"), NOW + 99)
        .await
        .unwrap();
    let after = users::credentials(store.connection(), USER).await.unwrap();
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.id, &b.credential_type, b.created_at),
            (&a.id, &a.credential_type, a.created_at)
        );
    }
    let current = |rows: &[portcullis_store::entity::credential::Model]| {
        rows.iter()
            .find(|r| r.credential_type == "password")
            .map(|r| r.secret.clone())
            .unwrap()
    };
    assert_ne!(current(&before), current(&after), "the hash was replaced");
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(
        names(&history, ALL),
        (Some("pw2".into()), vec!["pw1".into(), "pw0".into()])
    );
    assert!(matches!(
        store.set_password("nobody", &hash("x"), NOW).await,
        Err(StoreError::NotFound(_))
    ));
    db.finish().await;
}

#[tokio::test]
async fn the_admin_set_password_keeps_what_the_realm_policy_asks() {
    let db = TestDb::new().await;
    realm(
        &db,
        "length(3) and passwordHistory(2) and hashIterations(1)",
    )
    .await;
    let store = &db.store;
    let conn = store.connection();
    for (i, password) in ["pw1", "pw2", "pw3"].into_iter().enumerate() {
        users::set_password(conn, USER, &hash(password), NOW + i as i64)
            .await
            .unwrap();
    }
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(
        names(&history, ALL),
        (Some("pw3".into()), vec!["pw2".into()])
    );

    // The realm drops the clause: the next admin change deletes the history.
    conn.execute(Statement::from_string(
        conn.get_database_backend(),
        "UPDATE realm SET password_policy = 'length(3)' WHERE id = 'history-realm-id'",
    ))
    .await
    .unwrap();
    users::set_password(conn, USER, &hash("pw4"), NOW + 10)
        .await
        .unwrap();
    let history = store.password_history(USER).await.unwrap();
    assert_eq!(names(&history, ALL), (Some("pw4".into()), vec![]));
    db.finish().await;
}

#[tokio::test]
async fn deleting_a_user_deletes_their_history() {
    let db = TestDb::new().await;
    realm(&db, "passwordHistory(3)").await;
    let store = &db.store;
    store
        .change_password(USER, &hash("pw1"), NOW + 1, 2)
        .await
        .unwrap();
    store
        .change_password(USER, &hash("pw2"), NOW + 2, 2)
        .await
        .unwrap();
    assert_eq!(credential_rows(store, USER, "password-history").await, 2);

    users::delete(store.connection(), USER).await.unwrap();
    assert_eq!(credential_rows(store, USER, "password").await, 0);
    assert_eq!(credential_rows(store, USER, "password-history").await, 0);
    assert_eq!(
        store.password_history(USER).await.unwrap(),
        PasswordHistory::default()
    );
    assert_eq!(credential_rows(store, "other-id", "password").await, 1);
    assert!(matches!(
        store.change_password(USER, &hash("pw3"), NOW + 3, 2).await,
        Err(StoreError::NotFound(_))
    ));
    db.finish().await;
}
