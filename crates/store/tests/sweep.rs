//! Revocation records and the sweeper (migration m20261124_000004_revoked_token): revoking a
//! refresh grant ends exactly its client session, and sweeping deletes what expired and keeps
//! everything still valid. A SQLite file, or PostgreSQL when `PORTCULLIS_TEST_DATABASE_URL`
//! is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use common::oidc::{self, REALM, imported};
use common::{NOW, login_event};
use portcullis_store::{
    AuthCode, DeviceCode, DockerRefreshToken, FailureAt, RefreshRevocation, RefreshTokenRecord,
    SWEEP_GRACE_SECS, Store, SweepReport, UserSession,
};

/// The fixture realm: `ssoSessionIdleTimeout` 900, `ssoSessionMaxLifespan` 7200,
/// `maxDeltaTimeSeconds` 3600; users alice-id, bob-id and worker-sa-id.
const IDLE: i64 = 900;
const MAX: i64 = 7200;
const FAILURE_WINDOW: i64 = 3600;
/// When the sweep runs.
const T: i64 = NOW + 100_000;
/// Past this, a row expired longer ago than the grace.
const GONE: i64 = T - SWEEP_GRACE_SECS - 1;

/// A session of alice's seen last at `last_seen_at`.
fn session(id: &str, created_at: i64, last_seen_at: i64, ended: bool) -> UserSession {
    UserSession {
        last_seen_at,
        ended,
        ..oidc::session(id, "alice-id", created_at)
    }
}

fn refresh(id: &str, client: &str, session: Option<&str>, offline: bool) -> RefreshTokenRecord {
    RefreshTokenRecord {
        client_id: client.into(),
        scope: "openid".into(),
        ..oidc::refresh(id, session, offline)
    }
}

fn expiring(mut token: RefreshTokenRecord, expires_at: i64) -> RefreshTokenRecord {
    token.expires_at = expires_at;
    token
}

/// A code issued 60 s before it expires, without nonce or PKCE.
fn code(hash: &str, expires_at: i64) -> AuthCode {
    AuthCode {
        session_id: "s-live".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: expires_at - 60,
        created_at: expires_at - 60,
        expires_at,
        ..oidc::code(hash)
    }
}

fn device(hash: &str, user_code: &str, expires_at: i64) -> DeviceCode {
    DeviceCode {
        created_at: expires_at - 600,
        expires_at,
        ..oidc::device(hash, user_code)
    }
}

fn docker(id: &str, expires_at: i64) -> DockerRefreshToken {
    DockerRefreshToken {
        id: id.into(),
        token_hash: format!("hash-{id}"),
        realm_id: REALM.into(),
        user_id: "alice-id".into(),
        service: "registry".into(),
        created_at: NOW,
        last_used_at: NOW,
        expires_at,
        revoked: false,
        last_address: None,
    }
}

/// Three failures of `user`, the last at `last_failure_at`, and a lock until `locked_until`.
async fn fail(store: &Store, user: &str, last_failure_at: i64, locked_until: Option<i64>) {
    for _ in 0..3 {
        let failure = FailureAt {
            realm_id: REALM,
            user_id: user,
            now_ms: last_failure_at * 1000,
            ip: None,
            forget_after_ms: None,
        };
        store.count_login_failure(failure).await.unwrap();
    }
    if let Some(until) = locked_until {
        store.lock_user(REALM, user, until).await.unwrap();
    }
}

async fn revoked(store: &Store, id: &str) -> bool {
    store.find_refresh_token(id).await.unwrap().unwrap().revoked
}

#[tokio::test]
async fn revoking_a_refresh_grant_ends_exactly_its_client_session() {
    let db = imported().await;
    let store = &db.store;
    for s in ["s1", "s2"] {
        store
            .create_user_session(&session(s, NOW, NOW, false))
            .await
            .unwrap();
    }
    let tokens = [
        refresh("web-1", "web", Some("s1"), false),
        refresh("web-2", "web", Some("s1"), false),
        refresh("web-offline", "web", Some("s1"), true),
        refresh("cli-1", "cli", Some("s1"), false),
        refresh("web-s2", "web", Some("s2"), false),
        refresh("web-cc", "web", None, false),
    ];
    for t in &tokens {
        store.insert_refresh_token(t).await.unwrap();
    }
    let online = RefreshRevocation {
        token: &tokens[0],
        client_pk: "web-pk",
        now: NOW + 10,
        access_expires_at: NOW + 310,
    };
    assert_eq!(store.revoke_refresh_grant(&online).await.unwrap(), 2);
    assert!(revoked(store, "web-1").await && revoked(store, "web-2").await);
    for other in ["web-offline", "cli-1", "web-s2", "web-cc"] {
        assert!(!revoked(store, other).await, "{other} lives on");
    }
    // The client's access tokens from that session, issued until the revocation, are revoked.
    let s1_web = Some(("s1", "web-pk"));
    let is_revoked = |jti: &'static str, cs: Option<(&'static str, &'static str)>, iat: i64| async move {
        store.is_access_token_revoked(jti, cs, iat).await.unwrap()
    };
    assert!(is_revoked("a1", s1_web, NOW).await);
    assert!(is_revoked("a1", s1_web, NOW + 10).await, "the same second");
    assert!(!is_revoked("a1", s1_web, NOW + 11).await, "issued later");
    assert!(!is_revoked("a1", Some(("s1", "cli-pk")), NOW).await);
    assert!(!is_revoked("a1", Some(("s2", "web-pk")), NOW).await);
    assert!(!is_revoked("a1", None, NOW).await);

    // An offline token takes the offline share of the client session too.
    let offline = RefreshRevocation {
        token: &tokens[2],
        client_pk: "web-pk",
        now: NOW + 20,
        access_expires_at: NOW + 320,
    };
    assert_eq!(store.revoke_refresh_grant(&offline).await.unwrap(), 1);
    assert!(revoked(store, "web-offline").await);
    assert!(is_revoked("a1", s1_web, NOW + 15).await, "moved forward");
    // A token without a session is only itself.
    let cc = RefreshRevocation {
        token: &tokens[5],
        client_pk: "web-pk",
        now: NOW + 30,
        access_expires_at: NOW + 330,
    };
    assert_eq!(store.revoke_refresh_grant(&cc).await.unwrap(), 1);
    assert!(!revoked(store, "cli-1").await && !revoked(store, "web-s2").await);

    // Access tokens by jti; revoking twice is fine.
    for _ in 0..2 {
        store
            .revoke_access_token(REALM, "a2", NOW, NOW + 300)
            .await
            .unwrap();
    }
    assert!(is_revoked("a2", None, NOW).await);
    assert!(is_revoked("a2", Some(("s2", "web-pk")), NOW + 100).await);
    db.finish().await;
}

/// Fills every swept table with rows on both sides of expiry, at time `T`.
async fn fill(store: &Store) {
    let sessions = [
        session("s-live", T - 100, T - 100, false),
        session("s-idle", GONE - IDLE, GONE - IDLE, false),
        // Idle for exactly the timeout plus the grace: still listed by the admin API's `<=`.
        session(
            "s-idle-edge",
            T - SWEEP_GRACE_SECS - IDLE,
            T - SWEEP_GRACE_SECS - IDLE,
            false,
        ),
        session("s-old", GONE - MAX, T - 10, false),
        session("s-ended", T - 100, T - 100, true),
        session("s-offline", NOW, NOW, true),
        session("s-offline-gone", NOW, NOW, true),
    ];
    for s in &sessions {
        store.create_user_session(s).await.unwrap();
    }
    let tokens = [
        expiring(refresh("r-live", "web", Some("s-live"), false), T + 100),
        expiring(refresh("r-gone", "web", Some("s-idle"), false), GONE),
        expiring(refresh("r-just", "web", Some("s-live"), false), T - 1),
        expiring(
            refresh("r-offline", "web", Some("s-offline"), true),
            T + 9000,
        ),
        expiring(
            refresh("r-offline-gone", "web", Some("s-offline-gone"), true),
            GONE,
        ),
    ];
    for t in &tokens {
        store.insert_refresh_token(t).await.unwrap();
    }
    // A revoked but unexpired token is kept: introspection still says why it is inactive.
    let mut revoked = expiring(refresh("r-revoked", "web", None, false), T + 100);
    revoked.revoked = true;
    store.insert_refresh_token(&revoked).await.unwrap();
    for (hash, expires_at) in [
        ("c-live", T + 30),
        ("c-just", T - 1),
        ("c-gone-1", GONE),
        ("c-gone-2", GONE - 1),
        ("c-gone-3", GONE - 500),
    ] {
        store
            .insert_auth_code(&code(hash, expires_at))
            .await
            .unwrap();
    }
    store
        .insert_device_code(&device("d-live", "BCDFGHJK", T + 300))
        .await
        .unwrap();
    store
        .insert_device_code(&device("d-gone", "LMNPQRST", GONE))
        .await
        .unwrap();
    store
        .insert_docker_refresh_token(&docker("k-live", T + 1), 20, NOW)
        .await
        .unwrap();
    store
        .insert_docker_refresh_token(&docker("k-gone", GONE), 20, NOW)
        .await
        .unwrap();
    store
        .revoke_access_token(REALM, "a-live", T - 200, T + 100)
        .await
        .unwrap();
    store
        .revoke_access_token(REALM, "a-gone", GONE - 300, GONE)
        .await
        .unwrap();
    fail(store, "alice-id", GONE - FAILURE_WINDOW, Some(GONE - 500)).await;
    fail(store, "bob-id", GONE - FAILURE_WINDOW, Some(i64::MAX)).await;
    fail(store, "worker-sa-id", T - 10, None).await;
    // Login events: one just past the retention, one just inside it.
    let retention = portcullis_store::LOGIN_EVENT_RETENTION_SECS;
    let event = |id: &str, time_secs: i64| login_event(id, REALM, time_secs * 1000);
    store
        .login_event_writer()
        .write(vec![
            event("e-old", T - retention - 1),
            event("e-new", T - retention + 1),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn sweeping_deletes_what_expired_and_keeps_what_is_valid() {
    let db = imported().await;
    let store = &db.store;
    fill(store).await;
    // Batches of two: three expired codes take two statements.
    let report = store.sweep_expired(T, 2).await.unwrap();
    let want = SweepReport {
        user_sessions: 4,
        auth_codes: 3,
        refresh_tokens: 2,
        device_codes: 1,
        docker_refresh_tokens: 1,
        revoked_tokens: 1,
        login_failures: 1,
        login_events: 1,
        admin_events: 0,
    };
    assert_eq!(report, want);

    let kept = ["s-live", "s-idle-edge", "s-offline"];
    let gone = ["s-idle", "s-old", "s-ended", "s-offline-gone"];
    for id in kept {
        assert!(store.find_user_session(id).await.unwrap().is_some(), "{id}");
    }
    for id in gone {
        assert!(store.find_user_session(id).await.unwrap().is_none(), "{id}");
    }
    for id in ["r-live", "r-just", "r-offline", "r-revoked"] {
        assert!(
            store.find_refresh_token(id).await.unwrap().is_some(),
            "{id}"
        );
    }
    for id in ["r-gone", "r-offline-gone"] {
        assert!(
            store.find_refresh_token(id).await.unwrap().is_none(),
            "{id}"
        );
    }
    // Codes are single use: a kept one still redeems, a swept one is unknown.
    for (hash, found) in [("c-live", true), ("c-just", true), ("c-gone-3", false)] {
        let redemption = store.redeem_auth_code(hash).await.unwrap();
        let unknown = redemption == portcullis_store::CodeRedemption::Unknown;
        assert_eq!(!unknown, found, "{hash}");
    }
    assert!(store.find_device_code("d-live").await.unwrap().is_some());
    assert!(store.find_device_code("d-gone").await.unwrap().is_none());
    let docker_found = |id: &'static str| async move {
        let hash = format!("hash-{id}");
        store
            .find_docker_refresh_token(&hash)
            .await
            .unwrap()
            .is_some()
    };
    assert!(docker_found("k-live").await && !docker_found("k-gone").await);
    assert!(
        store
            .is_access_token_revoked("a-live", None, T)
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_access_token_revoked("a-gone", None, T)
            .await
            .unwrap()
    );
    assert_eq!(store.login_failures(REALM, "alice-id").await.unwrap(), None);
    for user in ["bob-id", "worker-sa-id"] {
        assert!(
            store.login_failures(REALM, user).await.unwrap().is_some(),
            "{user}: locked for good, or failing recently"
        );
    }

    // Nothing left to do; a minute later the edge session and the codes that just expired go.
    assert_eq!(store.sweep_expired(T, 2).await.unwrap().total(), 0);
    let later = store.sweep_expired(T + SWEEP_GRACE_SECS + 1, 500).await;
    let later = later.unwrap();
    assert_eq!((later.user_sessions, later.auth_codes), (1, 1));
    assert_eq!(later.refresh_tokens, 1, "r-just");
    db.finish().await;
}

/// Events go by their realm's settings: login events after `eventsExpiration` (the server's
/// week where a realm has none), admin events after the `adminEventsExpiration` attribute
/// (never where a realm has none); other realms' events are untouched.
#[tokio::test]
async fn events_are_kept_as_long_as_their_realm_says() {
    use portcullis_store::admin::entity::admin_event;
    use portcullis_store::admin::events::record;
    use portcullis_store::entity::login_event;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use serde_json::json;

    let db = imported().await;
    let store = &db.store;
    let other = portcullis_store::parse_realm_json(
        &json!({"realm": "other", "id": "other-id", "enabled": true}).to_string(),
    )
    .unwrap();
    store.import_realm(other, false, NOW).await.unwrap();
    let conn = store.connection();
    // The fixture realm keeps login events 10 minutes and admin events an hour.
    let settings = json!({"eventsExpiration": 600})
        .as_object()
        .unwrap()
        .clone();
    portcullis_store::admin::extras::set(conn, REALM, REALM, &settings)
        .await
        .unwrap();
    let mut row = portcullis_store::entity::realm::Entity::find_by_id(REALM)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    row.attributes = json!({"adminEventsExpiration": "3600"}).to_string();
    portcullis_store::admin::realms::update(conn, row)
        .await
        .unwrap();

    let login = |id: &str, realm: &str, secs: i64| login_event(id, realm, secs * 1000);
    let admin = |id: &str, realm: &str, secs: i64| admin_event::Model {
        id: id.into(),
        realm_id: realm.into(),
        time: secs * 1000,
        operation_type: "UPDATE".into(),
        resource_type: "REALM".into(),
        resource_path: String::new(),
        representation: None,
        error: None,
        auth_realm_id: None,
        auth_client_id: None,
        auth_user_id: None,
        ip_address: None,
    };
    let week = portcullis_store::LOGIN_EVENT_RETENTION_SECS;
    store
        .login_event_writer()
        .write(vec![
            login("l-old", REALM, T - 601),
            login("l-old-2", REALM, T - 700),
            login("l-new", REALM, T - 599),
            login("o-mid", "other-id", T - 601),
            login("o-old", "other-id", T - week - 1),
        ])
        .await
        .unwrap();
    for event in [
        admin("a-old", REALM, T - 3601),
        admin("a-new", REALM, T - 3599),
        admin("o-ancient", "other-id", T - 10 * week),
    ] {
        record(conn, event).await.unwrap();
    }

    // Batches of one: two expired login events of the realm take two statements.
    let report = store.sweep_expired(T, 1).await.unwrap();
    assert_eq!((report.login_events, report.admin_events), (3, 1));
    let login_ids = |realm: &'static str| async move {
        let mut ids: Vec<String> = login_event::Entity::find()
            .filter(login_event::Column::RealmId.eq(realm))
            .all(conn)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(login_ids(REALM).await, ["l-new"]);
    assert_eq!(login_ids("other-id").await, ["o-mid"]);
    let mut admin_ids: Vec<String> = admin_event::Entity::find()
        .all(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    admin_ids.sort();
    assert_eq!(admin_ids, ["a-new", "o-ancient"]);
    assert_eq!(store.sweep_expired(T, 1).await.unwrap().total(), 0);
    db.finish().await;
}

/// A batch of login events comes back as written: every field, absent ones as absent, whatever
/// characters they hold.
#[tokio::test]
async fn login_events_round_trip_through_a_batch() {
    use portcullis_store::entity::login_event;
    use sea_orm::{EntityTrait, QueryOrder};

    let db = imported().await;
    let conn = db.store.connection();
    let full = login_event::Model {
        id: "e-1".into(),
        realm_id: REALM.into(),
        time: 1_795_000_000_123,
        event_type: "CLIENT_LOGIN".into(),
        client_id: Some("cc \"quoted\" \\ client".into()),
        user_id: Some("u-1".into()),
        username: Some("Zoë 🦀 O'Brien".into()),
        session_id: Some("s-1".into()),
        ip_address: Some("2001:db8::1".into()),
        error: Some("invalid_client\nsecond line".into()),
        details: Some(r#"{"grant_type":"client_credentials"}"#.into()),
    };
    let bare = login_event("e-2", REALM, 1);
    let mut writer = db.store.login_event_writer();
    writer
        .write(vec![full.clone(), bare.clone()])
        .await
        .unwrap();
    writer.write(vec![]).await.unwrap();
    let stored = login_event::Entity::find()
        .order_by_asc(login_event::Column::Id)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(stored, vec![full, bare.clone()]);

    // More than one statement's worth: full batches (a kept prepared statement, used twice)
    // and a remainder all land.
    let many = 2 * portcullis_store::admin::events::LOGIN_EVENT_BATCH + 1;
    let rows: Vec<login_event::Model> = (0..many)
        .map(|i| login_event::Model {
            id: format!("m-{i:05}"),
            time: i as i64,
            ..bare.clone()
        })
        .collect();
    writer.write(rows.clone()).await.unwrap();
    let stored = login_event::Entity::find()
        .order_by_asc(login_event::Column::Id)
        .all(conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), many + 2);
    assert_eq!(stored[2..], rows[..]);
}

/// A batch is one transaction: a row the database refuses (here an id the batch holds twice)
/// leaves none of its batch behind, and the writer goes on with the next batch.
#[tokio::test]
async fn a_batch_of_login_events_is_stored_whole_or_not_at_all() {
    let db = imported().await;
    let mut writer = db.store.login_event_writer();
    let many = portcullis_store::admin::events::LOGIN_EVENT_BATCH + 1;
    let mut refused: Vec<_> = (0..many)
        .map(|i| login_event(&format!("r-{i:05}"), REALM, i as i64))
        .collect();
    // In the second statement, so the first one's rows were already inserted.
    refused[many - 1].id = refused[0].id.clone();
    refused[many - 1].time = refused[0].time;
    writer
        .write(refused)
        .await
        .expect_err("a second row with the same key is refused");
    assert_eq!(
        writer
            .write(vec![login_event("after", REALM, 1)])
            .await
            .expect("the next batch is written"),
        1
    );
    assert_eq!(stored_login_event_ids(&db).await, ["after"]);
    db.finish().await;
}

/// Events of a realm that is gone by the time their batch is written (deleted after the server
/// recorded them) are left out; the rest of the batch is stored.
#[tokio::test]
async fn a_batch_keeps_its_events_when_one_of_its_realms_is_gone() {
    let db = imported().await;
    let mut writer = db.store.login_event_writer();
    let mut batch = vec![
        login_event("kept-1", REALM, 1),
        login_event("gone", REALM, 2),
        login_event("kept-2", REALM, 3),
    ];
    batch[1].realm_id = "deleted-realm".into();
    assert_eq!(writer.write(batch).await.unwrap(), 2);
    assert_eq!(stored_login_event_ids(&db).await, ["kept-1", "kept-2"]);
    // A batch of nothing but a deleted realm's events stores nothing and is no error.
    let mut gone = login_event("gone-again", REALM, 4);
    gone.realm_id = "deleted-realm".into();
    assert_eq!(writer.write(vec![gone]).await.unwrap(), 0);
    assert_eq!(stored_login_event_ids(&db).await, ["kept-1", "kept-2"]);
    db.finish().await;
}

/// The writer's own SQLite connection does not enforce foreign keys (it checks the batch's realms
/// itself); deleting a realm, on another connection, still takes the realm's events with it.
#[tokio::test]
async fn deleting_a_realm_deletes_the_events_the_writer_stored() {
    let db = imported().await;
    let mut writer = db.store.login_event_writer();
    let events = vec![login_event("e-1", REALM, 1), login_event("e-2", REALM, 2)];
    assert_eq!(writer.write(events).await.unwrap(), 2);
    portcullis_store::admin::realms::delete(db.store.connection(), REALM)
        .await
        .unwrap();
    assert_eq!(stored_login_event_ids(&db).await, Vec::<String>::new());
    // The realm's later events are left out, not refused.
    assert_eq!(
        writer
            .write(vec![login_event("e-3", REALM, 3)])
            .await
            .unwrap(),
        0
    );
    assert_eq!(stored_login_event_ids(&db).await, Vec::<String>::new());
    db.finish().await;
}

/// A backlog of expired login events goes in batches by time, oldest first: every expired event
/// goes, those sharing a batch's last millisecond with it, and no event inside the retention.
#[tokio::test]
async fn a_login_event_backlog_is_swept_in_batches_by_time() {
    let db = imported().await;
    let retention = portcullis_store::LOGIN_EVENT_RETENTION_SECS;
    let expired_ms = (T - retention - 1) * 1000;
    let mut events: Vec<_> = (0..7)
        .map(|i| login_event(&format!("old-{i}"), REALM, expired_ms - 10 + i))
        .collect();
    // Two events of one millisecond, where a batch of two ends.
    events[2].time = events[1].time;
    events.push(login_event("edge", REALM, (T - retention) * 1000));
    events.push(login_event("new", REALM, T * 1000));
    let written = db.store.login_event_writer().write(events).await.unwrap();
    assert_eq!(written, 9);
    let report = db.store.sweep_expired(T, 2).await.unwrap();
    assert_eq!(report.login_events, 7);
    assert_eq!(stored_login_event_ids(&db).await, ["edge", "new"]);
    db.finish().await;
}

/// The migration that keys login events by `(realm_id, time, id)` keeps every event, and so does
/// its way back; two events of one millisecond stay two.
#[tokio::test]
async fn login_events_keep_their_rows_through_the_rekeying_migration() {
    use portcullis_migrations::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    let db = imported().await;
    let conn = db.store.connection();
    let insert = format!(
        "INSERT INTO login_event (id, realm_id, time, event_type, client_id) VALUES \
         ('e1', '{REALM}', 1000, 'LOGIN', 'app'), ('e2', '{REALM}', 1000, 'LOGIN_ERROR', NULL), \
         ('e0', '{REALM}', 999, 'LOGOUT', NULL)"
    );
    Migrator::down(conn, Some(1)).await.unwrap();
    conn.execute_unprepared(&insert).await.unwrap();
    db.store.migrate().await.unwrap();
    let want = vec![
        ("e2".to_owned(), 1000, "LOGIN_ERROR".to_owned(), None),
        (
            "e1".to_owned(),
            1000,
            "LOGIN".to_owned(),
            Some("app".to_owned()),
        ),
        ("e0".to_owned(), 999, "LOGOUT".to_owned(), None),
    ];
    assert_eq!(
        listed_login_events(&db).await,
        want,
        "newest first, by time then id"
    );
    Migrator::down(conn, Some(1)).await.unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(listed_login_events(&db).await, want);
    db.finish().await;
}

/// The fixture realm's login events as the admin API lists them: id, time, type, client.
async fn listed_login_events(db: &common::TestDb) -> Vec<(String, i64, String, Option<String>)> {
    portcullis_store::admin::events::login_events(
        db.store.connection(),
        REALM,
        &Default::default(),
        Default::default(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| (e.id, e.time, e.event_type, e.client_id))
    .collect()
}

async fn stored_login_event_ids(db: &common::TestDb) -> Vec<String> {
    use portcullis_store::entity::login_event as events;
    use sea_orm::{EntityTrait, QueryOrder};
    events::Entity::find()
        .order_by_asc(events::Column::Id)
        .all(db.store.connection())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}
