//! The OpenID Connect provider's state in the store (migration m20261124_000002_oidc): realm
//! and client settings, service accounts, sessions, codes, refresh tokens, device codes,
//! consents and login failures. A SQLite file, or PostgreSQL when
//! `PORTCULLIS_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeSet;

use common::oidc::{REALM, code, device, imported, oidc_realm, refresh, session};
use common::{NOW, TestDb};
use portcullis_core::model::{BruteForcePolicy, Client, Realm};
use portcullis_core::resolve::resolve_user;
use portcullis_migrations::{Migrator, MigratorTrait};
use portcullis_store::representation::{RealmRepresentation, deserialize_reporting_unknown};
use portcullis_store::{
    CodeRedemption, DeviceCodeStatus, FailureAt, ImportOutcome, Store, StoreError, UserSession,
    parse_realm_json,
};
use sea_orm::ConnectionTrait;

#[tokio::test]
async fn imports_realm_and_client_settings() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.import_realm(oidc_realm(), false, NOW).await.unwrap();
    let minimal: RealmRepresentation = serde_json::from_str(
        r#"{"realm": "plain", "clients": [{"clientId": "app"}, {"clientId": "reg", "protocol": "docker-v2"}]}"#,
    )
    .unwrap();
    store.import_realm(minimal, false, NOW).await.unwrap();

    let snap = store.load_realm_snapshot("oidc").await.unwrap().unwrap();
    let want = Realm {
        id: REALM.into(),
        name: "oidc".into(),
        access_token_lifespan: 120,
        password_policy: snap.realm.password_policy.clone(),
        sso_session_idle_timeout: 900,
        sso_session_max_lifespan: 7200,
        offline_session_idle_timeout: 86400,
        access_code_lifespan: 30,
        access_code_lifespan_login: 600,
        revoke_refresh_token: true,
        refresh_token_max_reuse: 2,
        device_code_lifespan: 300,
        device_polling_interval: 10,
        brute_force: BruteForcePolicy {
            enabled: true,
            permanent_lockout: true,
            max_failures: 5,
            wait_increment_secs: 120,
            max_wait_secs: 1800,
            quick_login_check_millis: 500,
            minimum_quick_login_wait_secs: 30,
            max_delta_time_secs: 3600,
        },
        disabled_required_actions: keycloaks_disabled_actions(),
        ..Realm::default()
    };
    assert_eq!(snap.realm, want);
    let plain = store.load_realm_snapshot("plain").await.unwrap().unwrap();
    let defaults = Realm {
        id: plain.realm.id.clone(),
        name: "plain".into(),
        disabled_required_actions: keycloaks_disabled_actions(),
        ..Realm::default()
    };
    assert_eq!(plain.realm, defaults, "Keycloak's defaults when absent");

    let web = snap.client("web").unwrap();
    assert_eq!(web.name.as_deref(), Some("Web app"));
    assert!(web.consent_required && web.standard_flow_enabled);
    assert!(!web.direct_access_grants_enabled && !web.service_accounts_enabled);
    assert_eq!(web.web_origins, ["https://app.example.com"]);
    assert_eq!(web.default_client_scopes, ["profile", "email"]);
    assert_eq!(web.optional_client_scopes, ["offline_access"]);
    assert_eq!(web.attributes["post.logout.redirect.uris"], "+");
    let cli = snap.client("cli").unwrap();
    assert!(cli.public_client && cli.direct_access_grants_enabled && !cli.standard_flow_enabled);
    assert!(snap.client("api").unwrap().bearer_only);
    assert!(snap.client("worker").unwrap().service_accounts_enabled);

    let app = plain.client("app").unwrap();
    let keycloak = Client::default();
    assert_eq!(
        (&app.default_client_scopes, &app.optional_client_scopes),
        (
            &keycloak.default_client_scopes,
            &keycloak.optional_client_scopes
        ),
        "empty scope lists get the realm's defaults, Keycloak's"
    );
    let mut scopes: Vec<&str> = plain
        .client_scopes
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    scopes.sort_unstable();
    assert_eq!(
        scopes,
        [
            "acr",
            "address",
            "basic",
            "email",
            "microprofile-jwt",
            "offline_access",
            "phone",
            "profile",
            "roles",
            "web-origins"
        ],
        "a realm file without client scopes gets Keycloak's built-in ones"
    );
    assert!(app.standard_flow_enabled && !app.consent_required);
    let reg = plain.client("reg").unwrap();
    assert!(reg.default_client_scopes.is_empty() && reg.optional_client_scopes.is_empty());
    db.finish().await;
}

#[tokio::test]
async fn imports_users_with_verification_and_creation_time() {
    let db = imported().await;
    let (alice, _) = db
        .store
        .find_user_by_username(REALM, "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(alice.email_verified);
    assert_eq!(alice.created_at, 1_700_000_000, "Keycloak's milliseconds");
    assert_eq!(alice.service_account_client_id, None);
    let bob = db.store.find_user_by_id(REALM, "bob-id").await.unwrap();
    let bob = bob.unwrap();
    assert!(!bob.email_verified);
    assert_eq!(bob.created_at, NOW, "no createdTimestamp: the import time");
    db.finish().await;
}

#[tokio::test]
async fn service_accounts() {
    let db = imported().await;
    let store = &db.store;
    let snap = store.load_realm_snapshot("oidc").await.unwrap().unwrap();

    /// (clientId, the service account's username and roles; None: no service account)
    type Case = (
        &'static str,
        Option<(&'static str, &'static [&'static str])>,
    );
    let cases: [Case; 5] = [
        (
            "worker",
            Some(("service-account-worker", &["batch", "worker.run"])),
        ),
        ("Reporter", Some(("service-account-reporter", &[]))),
        ("web", None),
        ("api", None),
        ("missing", None),
    ];
    for (client_id, want) in cases {
        let found = store.find_service_account(REALM, client_id).await.unwrap();
        match (found, want) {
            (Some(user), Some((username, roles))) => {
                assert_eq!(user.username, username, "{client_id}");
                assert_eq!(
                    user.service_account_client_id.as_deref(),
                    Some(client_id),
                    "{client_id}"
                );
                let resolved = resolve_user(&snap, &user);
                let roles: BTreeSet<String> = roles.iter().map(|r| r.to_string()).collect();
                assert_eq!(resolved.roles, roles, "{client_id}");
            }
            (None, None) => {}
            (found, want) => panic!("{client_id}: found {found:?}, want {want:?}"),
        }
    }
    let worker = store.find_service_account(REALM, "worker").await.unwrap();
    assert_eq!(
        worker.unwrap().id,
        "worker-sa-id",
        "the file's user is used"
    );
    assert!(
        store
            .find_service_account("other-realm", "worker")
            .await
            .unwrap()
            .is_none()
    );
    db.finish().await;
}

#[tokio::test]
async fn service_account_errors_roll_back() {
    let db = TestDb::new().await;
    type Edit = fn(&mut RealmRepresentation);
    let cases: [(&str, Edit); 3] = [
        ("does not exist", |r| {
            users(r)[0].service_account_client_id = Some("nope".into());
        }),
        ("more than one service-account user", |r| {
            users(r)[0].service_account_client_id = Some("worker".into());
        }),
        ("not the service account", |r| {
            users(r)[1].username = Some("Service-Account-Reporter".into());
        }),
    ];
    for (want, edit) in cases {
        let mut rep = oidc_realm();
        edit(&mut rep);
        let err = db.store.import_realm(rep, false, NOW).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Invalid(m) if m.contains(want)),
            "{want}: {err}"
        );
        assert!(!db.store.realm_exists("oidc").await.unwrap());
    }
    db.finish().await;
}

fn users(
    rep: &mut RealmRepresentation,
) -> &mut Vec<portcullis_store::representation::UserRepresentation> {
    rep.users.as_mut().expect("fixture has users")
}

#[tokio::test]
async fn export_then_import_round_trips_oidc_settings() {
    let db = imported().await;
    let first = db.store.export_realm("oidc", true).await.unwrap().unwrap();
    let json = serde_json::to_string_pretty(&first).unwrap();
    let (_, unknown) = deserialize_reporting_unknown(serde_json::from_str(&json).unwrap()).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    for field in [
        "\"ssoSessionIdleTimeout\": 900",
        "\"oauth2DevicePollingInterval\": 10",
        "\"quickLoginCheckMilliSeconds\": 500",
        "\"failureFactor\": 5",
        "\"consentRequired\": true",
        "\"serviceAccountClientId\": \"Reporter\"",
        "\"createdTimestamp\": 1700000000000",
    ] {
        assert!(json.contains(field), "{field} in {json}");
    }

    let other = TestDb::new().await;
    let reparsed = parse_realm_json(&json).unwrap();
    let outcome = other.store.import_realm(reparsed, false, NOW + 60).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Created);
    let second = other
        .store
        .export_realm("oidc", true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, second);

    // Without users, service accounts still travel with their clients.
    let without = db.store.export_realm("oidc", false).await.unwrap().unwrap();
    let names: Vec<_> = without
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.username.unwrap(), u.service_account_client_id.unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "service-account-reporter".to_string(),
                "Reporter".to_string()
            ),
            ("service-account-worker".to_string(), "worker".to_string()),
        ]
    );
    other.finish().await;
    db.finish().await;
}

#[tokio::test]
async fn sessions_end_and_revoke_their_online_refresh_tokens() {
    let db = imported().await;
    let store = &db.store;
    store
        .create_user_session(&session("s1", "alice-id", NOW))
        .await
        .unwrap();
    store
        .create_user_session(&session("s2", "alice-id", NOW + 1))
        .await
        .unwrap();
    store
        .create_user_session(&session("s3", "bob-id", NOW))
        .await
        .unwrap();
    let tokens = [
        refresh("t1", Some("s1"), false),
        refresh("t1-offline", Some("s1"), true),
        refresh("t2", Some("s2"), false),
        refresh("t-cc", None, false),
    ];
    for t in &tokens {
        store.insert_refresh_token(t).await.unwrap();
    }
    assert_eq!(
        store.find_user_session("s1").await.unwrap(),
        Some(session("s1", "alice-id", NOW))
    );
    assert_eq!(store.find_user_session("nope").await.unwrap(), None);
    store.touch_user_session("s1", NOW + 30).await.unwrap();
    let s1 = store.find_user_session("s1").await.unwrap().unwrap();
    assert_eq!((s1.last_seen_at, s1.auth_time), (NOW + 30, NOW));
    let ids = |sessions: Vec<UserSession>| -> Vec<String> {
        sessions.into_iter().map(|s| s.id).collect()
    };
    let listed = store.list_user_sessions(REALM, "alice-id").await.unwrap();
    assert_eq!(ids(listed), ["s1", "s2"]);

    store.end_user_session("s1").await.unwrap();
    assert!(store.find_user_session("s1").await.unwrap().unwrap().ended);
    let listed = store.list_user_sessions(REALM, "alice-id").await.unwrap();
    assert_eq!(ids(listed), ["s2"]);
    let revoked = |id: &'static str| async move {
        store.find_refresh_token(id).await.unwrap().unwrap().revoked
    };
    assert!(revoked("t1").await, "the session's refresh token");
    assert!(!revoked("t1-offline").await, "offline tokens outlive it");
    assert!(!revoked("t2").await && !revoked("t-cc").await);

    assert_eq!(store.end_user_sessions(REALM, "alice-id").await.unwrap(), 1);
    assert_eq!(store.end_user_sessions(REALM, "alice-id").await.unwrap(), 0);
    assert!(revoked("t2").await);
    assert!(!revoked("t1-offline").await && !revoked("t-cc").await);
    assert!(
        store
            .list_user_sessions(REALM, "alice-id")
            .await
            .unwrap()
            .is_empty()
    );
    let bob = store.list_user_sessions(REALM, "bob-id").await.unwrap();
    assert_eq!(ids(bob), ["s3"], "other users keep theirs");
    db.finish().await;
}

#[tokio::test]
async fn refresh_tokens_count_uses_and_revoke() {
    let db = imported().await;
    let store = &db.store;
    let token = refresh("jti-1", Some("s1"), false);
    store.insert_refresh_token(&token).await.unwrap();
    store
        .insert_refresh_token(&refresh("jti-2", Some("s1"), true))
        .await
        .unwrap();
    assert_eq!(
        store.find_refresh_token("jti-1").await.unwrap(),
        Some(token)
    );
    assert_eq!(store.find_refresh_token("nope").await.unwrap(), None);
    assert_eq!(store.increment_refresh_token_use("jti-1").await.unwrap(), 1);
    assert_eq!(store.increment_refresh_token_use("jti-1").await.unwrap(), 2);
    assert!(matches!(
        store.increment_refresh_token_use("nope").await,
        Err(StoreError::NotFound(_))
    ));

    // Concurrent uses each see their own count.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store.increment_refresh_token_use("jti-1").await.unwrap()
        }));
    }
    let mut counts = BTreeSet::new();
    for handle in handles {
        counts.insert(handle.await.unwrap());
    }
    assert_eq!(counts, (3..=10).collect());

    store.revoke_refresh_token("jti-1").await.unwrap();
    let stored = store.find_refresh_token("jti-1").await.unwrap().unwrap();
    assert!(stored.revoked && stored.use_count == 10);
    assert_eq!(
        store.revoke_session_refresh_tokens("s1").await.unwrap(),
        1,
        "the offline one; jti-1 was revoked already"
    );
    assert!(
        store
            .find_refresh_token("jti-2")
            .await
            .unwrap()
            .unwrap()
            .revoked
    );
    assert_eq!(store.revoke_session_refresh_tokens("s1").await.unwrap(), 0);
    db.finish().await;
}

#[tokio::test]
async fn codes_redeem_once() {
    let db = imported().await;
    let store = &db.store;
    store.insert_auth_code(&code("h1")).await.unwrap();
    assert_eq!(
        store.redeem_auth_code("h1").await.unwrap(),
        CodeRedemption::Fresh(code("h1"))
    );
    assert_eq!(
        store.redeem_auth_code("h1").await.unwrap(),
        CodeRedemption::Replayed(code("h1"))
    );
    assert_eq!(
        store.redeem_auth_code("h1").await.unwrap(),
        CodeRedemption::Replayed(code("h1"))
    );
    assert_eq!(
        store.redeem_auth_code("nope").await.unwrap(),
        CodeRedemption::Unknown
    );
    let mut bare = code("h2");
    (bare.nonce, bare.code_challenge, bare.code_challenge_method) = (None, None, None);
    store.insert_auth_code(&bare).await.unwrap();
    assert_eq!(
        store.redeem_auth_code("h2").await.unwrap(),
        CodeRedemption::Fresh(bare)
    );
    assert!(
        store.insert_auth_code(&code("h1")).await.is_err(),
        "hashes are unique"
    );
    db.finish().await;
}

/// Concurrent redemptions of one code: exactly one is `Fresh`, on the test database and on a
/// pooled SQLite file.
#[tokio::test]
async fn concurrent_redemptions_yield_one_fresh() {
    let db = imported().await;
    let dir = std::env::temp_dir().join(format!("pc-oidc-{}", uuid::Uuid::new_v4().simple()));
    let file = Store::connect(&format!("sqlite://{}/p.db", dir.display()))
        .await
        .unwrap();
    file.import_realm(oidc_realm(), false, NOW).await.unwrap();
    for store in [&db.store, &file] {
        for round in 0..5 {
            let hash = format!("race-{round}");
            store.insert_auth_code(&code(&hash)).await.unwrap();
            let mut handles = Vec::new();
            for _ in 0..6 {
                let (store, hash) = (store.clone(), hash.clone());
                handles.push(tokio::spawn(async move {
                    store.redeem_auth_code(&hash).await.unwrap()
                }));
            }
            let mut fresh = 0;
            for handle in handles {
                match handle.await.unwrap() {
                    CodeRedemption::Fresh(_) => fresh += 1,
                    CodeRedemption::Replayed(_) => {}
                    CodeRedemption::Unknown => panic!("the code exists"),
                }
            }
            assert_eq!(fresh, 1, "round {round}");
        }
    }
    file.connection().clone().close().await.unwrap();
    std::fs::remove_dir_all(dir).unwrap();
    db.finish().await;
}

#[tokio::test]
async fn device_code_lifecycle() {
    let db = imported().await;
    let store = &db.store;
    let pending = device("d1", "BCDFGHJK");
    store.insert_device_code(&pending).await.unwrap();
    assert_eq!(
        store.find_device_code("d1").await.unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store
            .find_device_code_by_user_code(REALM, "BCDFGHJK")
            .await
            .unwrap(),
        Some(pending.clone())
    );
    assert_eq!(
        store
            .find_device_code_by_user_code("other", "BCDFGHJK")
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.insert_device_code(&device("d2", "BCDFGHJK")).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(store.record_device_poll("d1", NOW + 5).await.unwrap(), None);
    assert_eq!(
        store.record_device_poll("d1", NOW + 11).await.unwrap(),
        Some(NOW + 5)
    );
    assert!(matches!(
        store.record_device_poll("nope", NOW).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(!store.consume_device_code("d1").await.unwrap(), "pending");

    let approved = DeviceCodeStatus::Approved {
        user_id: "alice-id".into(),
        session_id: "s1".into(),
        auth_time: NOW + 8,
    };
    store.set_device_code_status("d1", &approved).await.unwrap();
    let found = store.find_device_code("d1").await.unwrap().unwrap();
    assert_eq!(
        (found.status, found.last_polled_at),
        (approved, Some(NOW + 11))
    );

    let mut handles = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            store.consume_device_code("d1").await.unwrap()
        }));
    }
    let mut consumed = 0;
    for handle in handles {
        consumed += usize::from(handle.await.unwrap());
    }
    assert_eq!(consumed, 1, "consumed exactly once");
    let found = store.find_device_code("d1").await.unwrap().unwrap();
    assert_eq!(found.status, DeviceCodeStatus::Consumed);
    assert!(matches!(
        store
            .set_device_code_status("d1", &DeviceCodeStatus::Pending)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .set_device_code_status("nope", &DeviceCodeStatus::Denied)
            .await,
        Err(StoreError::NotFound(_))
    ));

    store
        .insert_device_code(&device("d3", "LMNPQRST"))
        .await
        .unwrap();
    store
        .set_device_code_status("d3", &DeviceCodeStatus::Denied)
        .await
        .unwrap();
    let denied = store.find_device_code("d3").await.unwrap().unwrap();
    assert_eq!(denied.status, DeviceCodeStatus::Denied);
    assert!(!store.consume_device_code("d3").await.unwrap());
    db.finish().await;
}

#[tokio::test]
async fn consent_is_a_union() {
    let db = imported().await;
    let store = &db.store;
    let granted = |client: &'static str| async move {
        store
            .granted_scopes(REALM, "alice-id", client)
            .await
            .unwrap()
    };
    assert!(granted("web").await.is_empty());
    let scopes = |s: &[&str]| -> Vec<String> { s.iter().map(|x| x.to_string()).collect() };
    // (scopes granted now, everything granted afterwards)
    let steps: [(&[&str], &[&str]); 4] = [
        (&["profile", "email"], &["email", "profile"]),
        (
            &["email", "offline_access"],
            &["email", "offline_access", "profile"],
        ),
        (&[], &["email", "offline_access", "profile"]),
        (
            &["address"],
            &["address", "email", "offline_access", "profile"],
        ),
    ];
    for (grant, want) in steps {
        store
            .grant_scopes(REALM, "alice-id", "web", &scopes(grant), NOW)
            .await
            .unwrap();
        assert_eq!(granted("web").await, scopes(want), "after {grant:?}");
    }
    assert!(granted("cli").await.is_empty(), "per client");
    let bob = store.granted_scopes(REALM, "bob-id", "web").await.unwrap();
    assert!(bob.is_empty(), "per user");

    // Concurrent grants never drop each other's scopes.
    let mut handles = Vec::new();
    for i in 0..6 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let scope = vec![format!("scope-{i}")];
            store
                .grant_scopes(REALM, "bob-id", "cli", &scope, NOW)
                .await
                .unwrap()
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let all = store.granted_scopes(REALM, "bob-id", "cli").await.unwrap();
    assert_eq!(all.len(), 6, "{all:?}");
    db.finish().await;
}

fn failure_at(now_ms: i64, ip: Option<&'static str>, forget: Option<i64>) -> FailureAt<'static> {
    FailureAt {
        realm_id: REALM,
        user_id: "alice-id",
        now_ms,
        ip,
        forget_after_ms: forget,
    }
}

#[tokio::test]
async fn login_failures_count_lock_and_clear() {
    let db = imported().await;
    let store = &db.store;
    assert_eq!(store.login_failures(REALM, "alice-id").await.unwrap(), None);
    let ms = NOW * 1000;
    let first = store
        .count_login_failure(failure_at(ms, Some("192.0.2.7"), Some(60_000)))
        .await
        .unwrap();
    assert_eq!((first.failures, first.previous_failure_ms), (1, None));
    let second = store
        .count_login_failure(failure_at(ms + 400, None, Some(60_000)))
        .await
        .unwrap();
    assert_eq!((second.failures, second.previous_failure_ms), (2, Some(ms)));
    // Failures older than the window are forgotten; without a window they never are.
    let later = ms + 400 + 60_001;
    let reset = store
        .count_login_failure(failure_at(later, None, Some(60_000)))
        .await
        .unwrap();
    assert_eq!(reset.failures, 1);
    let kept = store
        .count_login_failure(failure_at(later + 120_000, Some("2001:db8::1"), None))
        .await
        .unwrap();
    assert_eq!(kept.failures, 2);
    store.lock_user(REALM, "alice-id", NOW + 63).await.unwrap();
    store.lock_user(REALM, "alice-id", NOW + 10).await.unwrap();
    let stored = store
        .login_failures(REALM, "alice-id")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.failures, 2);
    assert_eq!(stored.record.last_failure_ms, later + 120_000);
    assert_eq!(
        stored.record.locked_until,
        Some(NOW + 63),
        "a shorter lock never wins"
    );
    assert_eq!(stored.last_ip.as_deref(), Some("2001:db8::1"));
    assert_eq!(store.login_failures(REALM, "bob-id").await.unwrap(), None);
    store.clear_login_failures(REALM, "alice-id").await.unwrap();
    assert_eq!(store.login_failures(REALM, "alice-id").await.unwrap(), None);
    store.clear_login_failures(REALM, "alice-id").await.unwrap();
    db.finish().await;
}

/// Twenty failures at once count twenty: the count is one atomic upsert, not a read and a
/// write (which counted one or two).
#[tokio::test]
async fn concurrent_login_failures_all_count() {
    let db = imported().await;
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let store = db.store.clone();
            tokio::spawn(async move {
                store
                    .count_login_failure(failure_at(NOW * 1000 + i, None, Some(60_000)))
                    .await
                    .unwrap()
                    .failures
            })
        })
        .collect();
    let mut counts = Vec::new();
    for handle in handles {
        counts.push(handle.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (1..=20).collect::<Vec<i64>>());
    let stored = db
        .store
        .login_failures(REALM, "alice-id")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.failures, 20);
    db.finish().await;
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let conn = db.store.connection();
    let row = conn
        .query_one(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

const OIDC_TABLES: [&str; 6] = [
    "user_session",
    "auth_code",
    "oidc_refresh_token",
    "device_code",
    "user_consent",
    "login_failure",
];

/// Fills every new table for alice.
async fn fill(store: &Store) {
    store
        .create_user_session(&session("s1", "alice-id", NOW))
        .await
        .unwrap();
    store.insert_auth_code(&code("h1")).await.unwrap();
    store
        .insert_refresh_token(&refresh("t1", Some("s1"), false))
        .await
        .unwrap();
    store
        .insert_device_code(&device("d1", "BCDFGHJK"))
        .await
        .unwrap();
    let approved = DeviceCodeStatus::Approved {
        user_id: "alice-id".into(),
        session_id: "s1".into(),
        auth_time: NOW,
    };
    store.set_device_code_status("d1", &approved).await.unwrap();
    let scopes = ["email".to_string()];
    store
        .grant_scopes(REALM, "alice-id", "web", &scopes, NOW)
        .await
        .unwrap();
    store
        .count_login_failure(failure_at(NOW * 1000, None, None))
        .await
        .unwrap();
}

#[tokio::test]
async fn everything_goes_with_the_realm() {
    let db = imported().await;
    fill(&db.store).await;
    for table in OIDC_TABLES {
        assert_eq!(count(&db, table).await, 1, "{table}");
    }
    let outcome = db.store.import_realm(oidc_realm(), true, NOW + 10).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Replaced);
    for table in OIDC_TABLES {
        assert_eq!(count(&db, table).await, 0, "{table} after overwrite");
    }
    // The new realm works as before, service account included.
    fill(&db.store).await;
    assert!(
        db.store
            .find_service_account(REALM, "Reporter")
            .await
            .unwrap()
            .is_some()
    );
    db.finish().await;
}

/// A database made by the first migration, with a realm in it, gains Keycloak's defaults; the
/// migration also goes down and up again.
#[tokio::test]
async fn upgrades_an_existing_database() {
    let test_db = TestDb::new().await;
    let db = test_db.store.connection();
    // Back to the first migration: undo client scopes, the realm admin settings, the realm defaults, the docker-cli client, session devices, account clients, identity
    // providers, robots, app passwords,
    // lowercase emails, login events, admin-console client, credential-state, revoked-token,
    // admin and OIDC ones.
    let after_first = u32::try_from(Migrator::migrations().len() - 1).unwrap();
    Migrator::down(db, Some(after_first)).await.unwrap();
    for sql in [
        "INSERT INTO realm (id, name, enabled, access_token_lifespan, attributes, created_at) \
         VALUES ('r', 'old', true, 300, '{}', 1)",
        "INSERT INTO client (id, realm_id, client_id, protocol, enabled, public_client, \
         bearer_only, redirect_uris, web_origins, attributes, standard_flow_enabled, \
         direct_access_grants_enabled, service_accounts_enabled, created_at) VALUES \
         ('c1', 'r', 'app', 'openid-connect', true, true, false, '[]', '[]', '{}', true, false, false, 1), \
         ('c2', 'r', 'reg', 'docker-v2', true, true, false, '[]', '[]', '{}', true, false, false, 1)",
        "INSERT INTO user_entity (id, realm_id, username, email, email_verified, enabled, \
         attributes, created_at) VALUES ('u', 'r', 'old-user', 'Old.User@Example.TEST', true, \
         true, '{\"site\":[\"paris\"]}', 7)",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    let store = &test_db.store;
    store.migrate().await.unwrap();
    let snap = store.load_realm_snapshot("old").await.unwrap().unwrap();
    let want = Realm {
        id: "r".into(),
        name: "old".into(),
        disabled_required_actions: keycloaks_disabled_actions(),
        ..Realm::default()
    };
    assert_eq!(snap.realm, want);
    let app = snap.client("app").unwrap();
    let keycloak = Client::default();
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort_unstable();
        list
    };
    assert_eq!(
        sorted(&app.default_client_scopes),
        sorted(&keycloak.default_client_scopes)
    );
    assert_eq!(app.optional_client_scopes, keycloak.optional_client_scopes);
    assert!(app.full_scope_allowed && app.scope_role_ids.is_empty());
    // The realm got Keycloak's built-in client scopes and realm defaults.
    assert_eq!(snap.client_scopes.len(), 10);
    assert_eq!(
        sorted(&snap.realm_scope_names(
            portcullis_core::model::RealmScopeType::Default,
            "openid-connect"
        )),
        sorted(&keycloak.default_client_scopes)
    );
    assert!(!app.consent_required);
    assert!(snap.client("reg").unwrap().default_client_scopes.is_empty());
    let console = snap
        .client("security-admin-console")
        .expect("the console's client");
    assert!(console.public_client && console.standard_flow_enabled);
    assert_eq!(console.redirect_uris, ["/admin/old/console/*"]);
    assert_eq!(console.attributes["pkce.code.challenge.method"], "S256");
    let account = snap
        .client("account-console")
        .expect("the account console's client");
    assert!(account.public_client && account.standard_flow_enabled);
    assert_eq!(account.redirect_uris, ["/realms/old/account/*"]);
    assert_eq!(account.attributes["pkce.code.challenge.method"], "S256");
    assert!(snap.client("account").is_some());
    let docker_cli = snap
        .client("docker-cli")
        .expect("the credential helper's client");
    assert!(docker_cli.public_client && !docker_cli.standard_flow_enabled);
    assert_eq!(
        docker_cli.attributes["oauth2.device.authorization.grant.enabled"],
        "true"
    );
    let account_roles: Vec<String> = snap
        .roles
        .iter()
        .map(|r| r.qualified_name())
        .filter(|n| n.starts_with("account."))
        .collect();
    assert_eq!(account_roles.len(), 8, "{account_roles:?}");
    let manage = snap
        .roles
        .iter()
        .find(|r| r.qualified_name() == "account.manage-account")
        .unwrap();
    let child = snap.role(&manage.composite_ids[0]).unwrap();
    assert_eq!(child.qualified_name(), "account.manage-account-links");
    let user = store.find_user_by_id("r", "u").await.unwrap().unwrap();
    assert!(user.email_verified && user.created_at == 7);
    assert_eq!(
        user.email.as_deref(),
        Some("old.user@example.test"),
        "emails kept lowercase"
    );
    assert_eq!(user.service_account_client_id, None);
    assert_eq!((user.not_before, user.required_actions.len()), (0, 0));
    // Attributes written before the attribute table are searchable after the upgrade.
    let filter = portcullis_store::admin::users::UserFilter {
        attributes: vec![("site".into(), "paris".into())],
        ..Default::default()
    };
    let found = portcullis_store::admin::users::search(db, "r", &filter, Default::default())
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    Migrator::down(db, Some(1)).await.unwrap();
    Migrator::up(db, None).await.unwrap();
    assert!(store.load_realm_snapshot("old").await.unwrap().is_some());
    test_db.finish().await;
}

/// Client scopes, the realm's default scope lists, scope mappings and `fullScopeAllowed` come
/// in from a realm file, reach the snapshot, and go out again unchanged.
#[tokio::test]
async fn client_scopes_and_scope_mappings_round_trip() {
    let db = TestDb::new().await;
    let file = serde_json::json!({
        "realm": "scoped",
        "roles": {
            "realm": [{"name": "dev"}, {"name": "offline_access"}],
            "client": {"api": [{"name": "read"}]}
        },
        "clients": [
            {"clientId": "app", "fullScopeAllowed": false},
            {"clientId": "api", "bearerOnly": true}
        ],
        "clientScopes": [
            {"name": "tier", "protocol": "openid-connect",
             "attributes": {"include.in.token.scope": "false"},
             "protocolMappers": [{"name": "tier", "protocol": "openid-connect",
                                  "protocolMapper": "oidc-hardcoded-claim-mapper",
                                  "config": {"claim.name": "tier", "claim.value": "gold"}}]},
            {"name": "offline_access", "protocol": "openid-connect"}
        ],
        "defaultDefaultClientScopes": ["tier", "profile", "no-such-scope"],
        "defaultOptionalClientScopes": ["offline_access"],
        "scopeMappings": [
            {"client": "app", "roles": ["dev"]},
            {"clientScope": "offline_access", "roles": ["offline_access"]}
        ],
        "clientScopeMappings": {"api": [{"clientScope": "tier", "roles": ["read"]}]}
    });
    let rep: RealmRepresentation = serde_json::from_value(file).unwrap();
    db.store.import_realm(rep, false, NOW).await.unwrap();
    let snap = db
        .store
        .load_realm_snapshot("scoped")
        .await
        .unwrap()
        .unwrap();
    let app = snap.client("app").unwrap();
    assert!(!app.full_scope_allowed);
    let role_id = |name: &str| snap.role_by_qualified_name(name).unwrap().id.clone();
    assert_eq!(app.scope_role_ids, [role_id("dev")]);
    assert_eq!(app.default_client_scopes, ["tier", "profile"]);
    assert_eq!(app.optional_client_scopes, ["offline_access"]);
    let tier = snap.client_scope_by_name("tier").unwrap();
    assert!(!tier.include_in_token_scope());
    assert_eq!(tier.protocol_mappers[0].config["claim.value"], "gold");
    assert_eq!(tier.role_ids, [role_id("api.read")]);
    assert_eq!(
        snap.client_scope_by_name("offline_access")
            .unwrap()
            .role_ids,
        [role_id("offline_access")]
    );
    // The built-in scopes the file lacks are added, outside the realm's lists it gave.
    let email = snap.client_scope_by_name("email").unwrap();
    assert_eq!(
        email.realm_type,
        portcullis_core::model::RealmScopeType::None
    );
    assert!(!email.protocol_mappers.is_empty());

    let first = db
        .store
        .export_realm("scoped", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.default_default_client_scopes.as_deref(),
        Some(&["profile".to_string(), "tier".to_string()][..])
    );
    assert_eq!(
        first.default_optional_client_scopes.as_deref(),
        Some(&["offline_access".to_string()][..])
    );
    let json = serde_json::to_value(&first).unwrap();
    assert!(
        json["scopeMappings"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"client": "app", "roles": ["dev"]}))
    );
    assert_eq!(
        json["clientScopeMappings"]["api"],
        serde_json::json!([{"clientScope": "tier", "roles": ["read"]}])
    );
    let app_rep = first
        .clients
        .iter()
        .find(|c| c.client_id.as_deref() == Some("app"))
        .unwrap();
    assert_eq!(app_rep.full_scope_allowed, Some(false));

    let other = TestDb::new().await;
    let reparsed = parse_realm_json(&serde_json::to_string(&first).unwrap()).unwrap();
    other
        .store
        .import_realm(reparsed, false, NOW)
        .await
        .unwrap();
    let second = other
        .store
        .export_realm("scoped", false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, second);
    other.finish().await;
    db.finish().await;
}

/// The required actions a realm has disabled until an admin enables them, as Keycloak's
/// `TERMS_AND_CONDITIONS` is.
fn keycloaks_disabled_actions() -> Vec<String> {
    vec!["TERMS_AND_CONDITIONS".to_string()]
}
