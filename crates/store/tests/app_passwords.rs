//! App passwords in the store, against a real database (a SQLite file, or PostgreSQL when
//! `PORTCULLIS_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{NOW, TestDb, fixture};
use portcullis_core::app_password::{Restriction, new_secret};
use portcullis_store::{AppPassword, AppPasswordUse, StoreError, app_passwords, parse_realm_json};

fn password(id: &str, user: &str, created_at: i64) -> (String, AppPassword) {
    let (secret, secret_hash) = new_secret();
    let record = AppPassword {
        id: id.into(),
        realm_id: "acme-realm-id".into(),
        user_id: user.into(),
        name: format!("ci {id}"),
        secret_hash,
        restriction: Restriction {
            service: Some("registry.local".into()),
            repositories: vec!["platform/**".into(), "users/${username}/*".into()],
            actions: vec!["push".into()],
            expires_at: NOW + 3600,
        },
        created_at,
        revoked_at: None,
        last_used_at: None,
        last_used_address: None,
        last_used_user_agent: None,
    };
    (secret, record)
}

#[tokio::test]
async fn app_passwords_are_stored_by_hash_listed_touched_and_revoked() {
    let db = TestDb::new().await;
    let store = &db.store;
    let realm = parse_realm_json(&fixture("acme-realm.json")).unwrap();
    store.import_realm(realm, false, NOW).await.unwrap();
    let conn = store.connection();
    let bob = store
        .find_user_by_username("acme-realm-id", "bob")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;

    let (secret, first) = password("p1", &bob, NOW);
    app_passwords::insert(conn, &first).await.unwrap();
    // Nothing limited: the lists are stored as NULL and read back empty.
    let (_, mut second) = password("p2", &bob, NOW + 5);
    second.restriction = Restriction {
        expires_at: NOW + 60,
        ..Restriction::default()
    };
    app_passwords::insert(conn, &second).await.unwrap();
    let duplicate = AppPassword {
        id: "p3".into(),
        ..first.clone()
    };
    assert!(matches!(
        app_passwords::insert(conn, &duplicate).await,
        Err(StoreError::Conflict(_))
    ));

    let hash = portcullis_core::secrets::hash_secret(&secret);
    assert_eq!(
        store.find_app_password(&hash).await.unwrap(),
        Some(first.clone())
    );
    assert!(
        store
            .find_app_password(&"00".repeat(32))
            .await
            .unwrap()
            .is_none()
    );
    let listed = app_passwords::list(conn, "acme-realm-id", &bob)
        .await
        .unwrap();
    assert_eq!(listed, [second.clone(), first.clone()], "newest first");
    assert!(
        app_passwords::list(conn, "acme-realm-id", "nobody")
            .await
            .unwrap()
            .is_empty()
    );

    store
        .touch_app_password(AppPasswordUse {
            id: "p1",
            now: NOW + 30,
            address: Some("192.0.2.7"),
            user_agent: Some(&"skopeo/1.9 ".repeat(40)),
        })
        .await
        .unwrap();
    let used = app_passwords::find(conn, "acme-realm-id", &bob, "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.last_used_at, Some(NOW + 30));
    assert_eq!(used.last_used_address.as_deref(), Some("192.0.2.7"));
    assert_eq!(
        used.last_used_user_agent.as_ref().map(String::len),
        Some(255)
    );
    assert!(used.is_live(NOW + 3599) && !used.is_live(NOW + 3600));

    assert!(
        app_passwords::find(conn, "other-realm", &bob, "p1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !app_passwords::revoke(conn, "acme-realm-id", "someone-else", "p1", NOW)
            .await
            .unwrap()
    );
    assert!(
        app_passwords::revoke(conn, "acme-realm-id", &bob, "p1", NOW + 40)
            .await
            .unwrap()
    );
    assert!(
        !app_passwords::revoke(conn, "acme-realm-id", &bob, "p1", NOW + 50)
            .await
            .unwrap(),
        "once"
    );
    let revoked = store.find_app_password(&hash).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(NOW + 40));
    assert!(!revoked.is_live(NOW + 41));

    // Ending everything a user holds revokes the rest; the rows stay listed.
    store
        .end_everything_of_user("acme-realm-id", &bob, NOW + 45)
        .await
        .unwrap();
    let listed = app_passwords::list(conn, "acme-realm-id", &bob)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|p| p.revoked_at).collect::<Vec<_>>(),
        [Some(NOW + 45), Some(NOW + 40)]
    );
    db.finish().await;
}
