//! Store behaviour against a real database (a SQLite file, or PostgreSQL when
//! `PORTCULLIS_TEST_DATABASE_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::collections::BTreeSet;

use common::{NOW, TestDb, fixture};
use portcullis_core::keys::Algorithm;
use portcullis_core::password::{PasswordPolicy, StoredPassword};
use portcullis_core::resolve::resolve_user;
use portcullis_store::representation::{RealmRepresentation, deserialize_reporting_unknown};
use portcullis_store::{DockerRefreshToken, ImportOutcome, StoreError, parse_realm_json};
use sea_orm::{ConnectionTrait, Statement};

fn acme() -> RealmRepresentation {
    parse_realm_json(&fixture("acme-realm.json")).expect("fixture parses")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    let conn = db.store.connection();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get::<i64>("", "n").expect("n")
}

const TABLES: [&str; 12] = [
    "realm",
    "realm_key",
    "user_entity",
    "credential",
    "client",
    "protocol_mapper",
    "role",
    "composite_role",
    "realm_group",
    "group_role",
    "user_group",
    "user_role",
];

async fn counts(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for table in TABLES {
        out.push(count(db, table).await);
    }
    out
}

#[tokio::test]
async fn imports_a_realm_and_loads_its_snapshot() {
    let db = TestDb::new().await;
    let store = &db.store;
    assert_eq!(
        store.import_realm(acme(), false, NOW).await.unwrap(),
        ImportOutcome::Created
    );
    assert!(store.realm_exists("acme").await.unwrap());
    assert!(!store.realm_exists("other").await.unwrap());
    assert_eq!(store.realm_names().await.unwrap(), ["acme"]);

    let snap = store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .expect("realm");
    assert_eq!(snap.realm.id, "acme-realm-id");
    assert_eq!(snap.realm.display_name.as_deref(), Some("ACME"));
    assert_eq!(snap.realm.access_token_lifespan, 600);
    assert_eq!(snap.realm.password_policy.iterations, 2);
    // The importer adds the realm-management client and its 16 roles (15 admin roles and
    // realm-admin) to every realm.
    let management = snap
        .roles
        .iter()
        .filter(|r| r.client_id.as_deref() == Some("realm-management"));
    assert_eq!(management.count(), 16);
    // And Keycloak's account client with its 8 roles, and the account console's client.
    let account = snap
        .roles
        .iter()
        .filter(|r| r.client_id.as_deref() == Some("account"));
    assert_eq!(account.count(), 8);
    assert!(snap.client("account-console").is_some());
    let role_names: BTreeSet<String> = snap
        .roles
        .iter()
        .filter(|r| !matches!(r.client_id.as_deref(), Some("realm-management" | "account")))
        .map(|r| r.qualified_name())
        .collect();
    assert_eq!(
        role_names,
        // Keycloak's offline_access, uma_authorization and broker's read-token are added.
        set(&[
            "admin",
            "broker.read-token",
            "default-roles-acme",
            "offline_access",
            "reader",
            "registry.local.catalog",
            "registry.local.pusher",
            "uma_authorization",
            "writer"
        ])
    );
    let reader = snap.roles.iter().find(|r| r.name == "reader").unwrap();
    assert_eq!(
        reader.description.as_deref(),
        Some("${role_reader}"),
        "unset placeholders stay"
    );
    let paths: BTreeSet<String> = snap.groups.iter().map(|g| g.path.clone()).collect();
    assert_eq!(paths, set(&["/ops", "/teams", "/teams/platform"]));

    let registry = snap.client("registry.local").expect("docker client");
    assert_eq!(registry.protocol, "docker-v2");
    assert_eq!(registry.secret.as_deref(), Some("registry-secret"));
    assert_eq!(registry.protocol_mappers.len(), 2);
    let own = registry
        .protocol_mappers
        .iter()
        .find(|m| m.name == "own namespace")
        .unwrap();
    assert_eq!(
        own.protocol, "docker-v2",
        "mapper protocol defaults to the client's"
    );
    assert_eq!(own.config["repository"], "${username}/**");
    let web = snap.client("web").unwrap();
    assert_eq!(web.protocol, "openid-connect");
    assert_eq!(
        web.secret.as_deref(),
        Some("portcullis-store"),
        "set placeholders substitute"
    );
    assert_eq!(web.redirect_uris, ["https://app.example.com/*"]);
    assert_eq!(web.attributes["pkce.code.challenge.method"], "S256");
    let spa = snap.client("spa").unwrap();
    assert!(spa.public_client && spa.secret.is_none());

    let algorithms: BTreeSet<&str> = snap.keys.iter().map(|k| k.algorithm().as_str()).collect();
    assert_eq!(algorithms, BTreeSet::from(["ES256", "RS256"]));
    assert!(snap.signing_key(Algorithm::Rs256).is_some());

    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            "alice",
            &["reader", "registry.local.pusher", "writer"],
            &["/teams", "/teams/platform"],
        ),
        (
            "CAROL",
            &["admin", "reader", "registry.local.catalog", "writer"],
            &[],
        ),
        // The file's default role gains what the import adds, as Keycloak's import does.
        (
            "bob",
            &[
                "default-roles-acme",
                "offline_access",
                "uma_authorization",
                "account.view-profile",
                "account.manage-account",
                "account.manage-account-links",
            ],
            &["/ops"],
        ),
        ("Dave", &["registry.local.catalog"], &[]),
    ];
    for (username, roles, groups) in cases {
        let (user, _) = store
            .find_user_by_username(&snap.realm.id, username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{username} exists"));
        assert_eq!(user.username, username.to_lowercase());
        let resolved = resolve_user(&snap, &user);
        assert_eq!(resolved.roles, set(roles), "{username}");
        assert_eq!(resolved.group_paths, set(groups), "{username}");
    }
    db.finish().await;
}

#[tokio::test]
async fn imports_users_and_credentials() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.import_realm(acme(), false, NOW).await.unwrap();
    let realm_id = "acme-realm-id";

    let (alice, password) = store
        .find_user_by_username(realm_id, "Alice")
        .await
        .unwrap()
        .unwrap();
    let password = password.expect("alice has a password");
    assert_eq!(password.algorithm, "argon2");
    assert!(password.verify("alice-password"));
    assert!(!password.verify("wrong"));
    assert!(!password.needs_rehash(&PasswordPolicy::from_keycloak("hashIterations(2)")));
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.first_name.as_deref(), Some("Alice"));
    assert_eq!(alice.attributes["locale"], ["en"]);

    let (bob, password) = store
        .find_user_by_username(realm_id, "bob")
        .await
        .unwrap()
        .unwrap();
    let password = password.expect("bob has an imported hash");
    assert_eq!(bob.id, "bob-id");
    assert_eq!(
        (password.algorithm.as_str(), password.iterations),
        ("pbkdf2-sha256", 27_500)
    );
    assert!(password.verify("bob-pw"));

    let (dave, password) = store
        .find_user_by_username(realm_id, "dave")
        .await
        .unwrap()
        .unwrap();
    assert!(!dave.enabled && password.is_none());

    assert_eq!(
        store
            .find_user_by_id(realm_id, "bob-id")
            .await
            .unwrap()
            .unwrap()
            .username,
        "bob"
    );
    assert!(
        store
            .find_user_by_id("other-realm", "bob-id")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_user_by_username("other-realm", "bob")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_user_by_username(realm_id, "nobody")
            .await
            .unwrap()
            .is_none()
    );

    // Re-hash on login replaces the credential.
    let policy = PasswordPolicy::from_keycloak("hashIterations(2)");
    let new = StoredPassword::hash(&policy, "bob-new").unwrap();
    store.set_password("bob-id", &new, NOW + 5).await.unwrap();
    let (_, stored) = store
        .find_user_by_username(realm_id, "bob")
        .await
        .unwrap()
        .unwrap();
    let stored = stored.unwrap();
    assert!(stored.verify("bob-new") && !stored.verify("bob-pw"));
    assert_eq!(count(&db, "credential").await, 2, "alice's and bob's only");
    assert!(matches!(
        store.set_password("nobody", &new, NOW).await,
        Err(StoreError::NotFound(_))
    ));
    db.finish().await;
}

#[tokio::test]
async fn export_then_import_round_trips() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.import_realm(acme(), false, NOW).await.unwrap();
    let before = store.load_realm_snapshot("acme").await.unwrap().unwrap();
    let first = store
        .export_realm("acme", true)
        .await
        .unwrap()
        .expect("exported");
    assert!(store.export_realm("nope", true).await.unwrap().is_none());

    // The export uses only fields the importer knows, or keeps.
    let json = serde_json::to_string_pretty(&first.to_json().unwrap()).unwrap();
    assert!(
        json.contains("\"sslRequired\": \"external\""),
        "kept settings are exported"
    );
    let (_, unknown) = deserialize_reporting_unknown(serde_json::from_str(&json).unwrap()).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(json.contains("\"secretData\""), "users carry their hashes");
    assert!(json.contains("org.keycloak.keys.KeyProvider"));

    let other = TestDb::new().await;
    let reparsed = parse_realm_json(&json).unwrap();
    assert_eq!(
        other
            .store
            .import_realm(reparsed, false, NOW + 60)
            .await
            .unwrap(),
        ImportOutcome::Created
    );
    let second = other
        .store
        .export_realm("acme", true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first, second);

    let after = other
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap();
    let kids = |s: &portcullis_core::model::RealmSnapshot| -> Vec<String> {
        s.keys
            .iter()
            .map(|k| k.thumbprint_kid().to_string())
            .collect()
    };
    assert_eq!(
        kids(&before),
        kids(&after),
        "signing keys survive the round trip"
    );
    let (_, password) = other
        .store
        .find_user_by_username("acme-realm-id", "alice")
        .await
        .unwrap()
        .unwrap();
    assert!(password.unwrap().verify("alice-password"));

    let without_users = store.export_realm("acme", false).await.unwrap().unwrap();
    assert!(without_users.users.is_none());
    other.finish().await;
    db.finish().await;
}

/// Settings without a column of their own (events, SMTP, TLS policy, a client's URLs, an
/// identity provider's token storage) are kept from a realm file, reach the realm's behaviour
/// (events off), and are exported again.
#[tokio::test]
async fn realm_settings_kept_as_they_are_survive_import_and_export() {
    let db = TestDb::new().await;
    let store = &db.store;
    let file = serde_json::json!({
        "realm": "kept",
        "enabled": true,
        "eventsEnabled": false,
        "enabledEventTypes": ["LOGIN"],
        "sslRequired": "all",
        "smtpServer": {"host": "mail.example.com", "from": "id@example.com"},
        "clients": [
            {"clientId": "app", "rootUrl": "https://app.example.com", "baseUrl": "/home",
             "frontchannelLogout": true, "attributes": {"pkce.code.challenge.method": "S256"}},
            {"clientId": "plain"}
        ],
        "identityProviders": [
            {"alias": "corp", "providerId": "oidc", "storeToken": true,
             "updateProfileFirstLoginMode": "off",
             "config": {"clientId": "c", "issuer": "https://idp.test"}}
        ],
    });
    let (rep, unknown) = deserialize_reporting_unknown(file.clone()).unwrap();
    assert_eq!(unknown, set(&[]), "kept settings are not reported");
    store.import_realm(rep, false, NOW).await.unwrap();
    let snapshot = store.load_realm_snapshot("kept").await.unwrap().unwrap();
    assert!(!snapshot.realm.events_enabled);
    assert_eq!(
        snapshot.realm.enabled_event_types,
        vec!["LOGIN".to_string()]
    );

    let exported = store.export_realm("kept", false).await.unwrap().unwrap();
    let json = exported.to_json().unwrap();
    for key in [
        "eventsEnabled",
        "enabledEventTypes",
        "sslRequired",
        "smtpServer",
    ] {
        assert_eq!(json[key], file[key], "{key}");
    }
    assert_eq!(
        json["realm"], "kept",
        "modelled fields are written as before"
    );
    let client = |json: &serde_json::Value, id: &str| {
        json["clients"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["clientId"] == id)
            .cloned()
            .unwrap()
    };
    let app = client(&json, "app");
    for key in ["rootUrl", "baseUrl", "frontchannelLogout", "attributes"] {
        assert_eq!(app[key], file["clients"][0][key], "client {key}");
    }
    assert!(client(&json, "plain").get("rootUrl").is_none());
    let corp = &json["identityProviders"][0];
    assert_eq!(corp["alias"], "corp");
    assert_eq!(corp["storeToken"], true);
    assert_eq!(corp["updateProfileFirstLoginMode"], "off");

    // And back again, into another database.
    let other = TestDb::new().await;
    let (again, _) = deserialize_reporting_unknown(json).unwrap();
    other.store.import_realm(again, false, NOW).await.unwrap();
    let snapshot = other
        .store
        .load_realm_snapshot("kept")
        .await
        .unwrap()
        .unwrap();
    assert!(!snapshot.realm.events_enabled);
    let exported = other
        .store
        .export_realm("kept", false)
        .await
        .unwrap()
        .unwrap();
    let json = exported.to_json().unwrap();
    assert_eq!(client(&json, "app")["rootUrl"], "https://app.example.com");
    assert_eq!(json["identityProviders"][0]["storeToken"], true);
    other.finish().await;
    db.finish().await;
}

#[tokio::test]
async fn dangling_references_roll_back() {
    type Mutation = fn(&mut RealmRepresentation);
    let cases: [(Mutation, &str); 7] = [
        (
            |r| users(r)[0].realm_roles.push("nope".into()),
            "realm role 'nope'",
        ),
        (
            |r| users(r)[0].groups.push("/teams/missing".into()),
            "group '/teams/missing'",
        ),
        (
            |r| {
                users(r)[0]
                    .client_roles
                    .insert("ghost".into(), vec!["x".into()]);
            },
            "client 'ghost'",
        ),
        (
            |r| {
                r.groups[0]
                    .client_roles
                    .get_or_insert_default()
                    .insert("registry.local".into(), vec!["nope".into()]);
            },
            "client role 'registry.local.nope'",
        ),
        (
            |r| {
                let roles = r.roles.as_mut().unwrap();
                roles.realm[1]
                    .composites
                    .as_mut()
                    .unwrap()
                    .realm
                    .push("ghost-role".into());
            },
            "realm role 'ghost-role'",
        ),
        (
            |r| {
                let roles = r.roles.as_mut().unwrap();
                roles.client.insert("no-such-client".into(), Vec::new());
            },
            "no-such-client",
        ),
        (
            |r| {
                let mut twin = users(r)[0].clone();
                twin.username = Some("ALICE".into());
                users(r).push(twin);
            },
            "defined twice",
        ),
    ];
    let db = TestDb::new().await;
    let empty = counts(&db).await;
    for (mutate, message) in cases {
        let mut rep = acme();
        mutate(&mut rep);
        match db.store.import_realm(rep, false, NOW).await {
            Err(StoreError::Invalid(m)) => {
                assert!(m.contains(message), "{m:?} should name {message}")
            }
            other => panic!("{message}: expected Invalid, got {other:?}"),
        }
        assert!(!db.store.realm_exists("acme").await.unwrap());
        assert_eq!(counts(&db).await, empty, "nothing half-written ({message})");
    }

    // A failed overwrite leaves the existing realm as it was.
    db.store.import_realm(acme(), false, NOW).await.unwrap();
    let full = counts(&db).await;
    let mut broken = acme();
    users(&mut broken)[0].realm_roles.push("nope".into());
    assert!(db.store.import_realm(broken, true, NOW).await.is_err());
    assert_eq!(counts(&db).await, full);
    db.finish().await;
}

fn users(
    rep: &mut RealmRepresentation,
) -> &mut Vec<portcullis_store::representation::UserRepresentation> {
    rep.users.as_mut().expect("fixture has users")
}

#[tokio::test]
async fn existing_realms_are_skipped_or_overwritten() {
    let db = TestDb::new().await;
    let store = &db.store;
    assert_eq!(
        store.import_realm(acme(), false, NOW).await.unwrap(),
        ImportOutcome::Created
    );
    let first = counts(&db).await;
    let mut changed = acme();
    changed.display_name = Some("Changed".into());
    users(&mut changed).truncate(1);

    assert_eq!(
        store
            .import_realm(changed.clone(), false, NOW)
            .await
            .unwrap(),
        ImportOutcome::Skipped
    );
    let snap = store.load_realm_snapshot("acme").await.unwrap().unwrap();
    assert_eq!(snap.realm.display_name.as_deref(), Some("ACME"));
    assert_eq!(counts(&db).await, first);

    assert_eq!(
        store.import_realm(changed, true, NOW).await.unwrap(),
        ImportOutcome::Replaced
    );
    let snap = store.load_realm_snapshot("acme").await.unwrap().unwrap();
    assert_eq!(snap.realm.display_name.as_deref(), Some("Changed"));
    assert_eq!(count(&db, "realm").await, 1);
    assert_eq!(
        count(&db, "user_entity").await,
        1,
        "old users were deleted with the realm"
    );
    assert_eq!(count(&db, "credential").await, 1);
    assert_eq!(
        count(&db, "role").await,
        6 + 16 + 8 + 3,
        "the file's, realm-management's, account's, and Keycloak's offline_access, \
         uma_authorization and broker's read-token"
    );
    assert_eq!(count(&db, "realm_key").await, 2);
    assert!(
        store
            .find_user_by_username("acme-realm-id", "bob")
            .await
            .unwrap()
            .is_none()
    );
    db.finish().await;
}

#[tokio::test]
async fn bootstraps_master_once() {
    let db = TestDb::new().await;
    let store = &db.store;
    assert!(
        store
            .bootstrap_master("Admin", "s3cret-pw", NOW)
            .await
            .unwrap()
    );
    assert!(!store.bootstrap_master("other", "x", NOW).await.unwrap());
    assert_eq!(count(&db, "user_entity").await, 1);

    let snap = store.load_realm_snapshot("master").await.unwrap().unwrap();
    let cli = snap.client("admin-cli").expect("admin-cli");
    assert!(cli.public_client && cli.enabled && cli.secret.is_none());
    assert_eq!(cli.protocol, "openid-connect");
    let (admin, password) = store
        .find_user_by_username(&snap.realm.id, "admin")
        .await
        .unwrap()
        .unwrap();
    assert!(password.unwrap().verify("s3cret-pw"));
    assert!(resolve_user(&snap, &admin).has_role("admin"));
    let exported = store.export_realm("master", false).await.unwrap().unwrap();
    let client = exported
        .clients
        .iter()
        .find(|c| c.client_id.as_deref() == Some("admin-cli"))
        .unwrap();
    assert_eq!(client.direct_access_grants_enabled, Some(true));
    assert_eq!(snap.keys.len(), 2);
    db.finish().await;
}

/// A user's docker logins per registry are bounded: each new one beyond the bound revokes the
/// oldest live one, and other users, registries and dead tokens do not count.
#[tokio::test]
async fn docker_logins_are_bounded_per_user_and_registry() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.import_realm(acme(), false, NOW).await.unwrap();
    let login = |id: &str, user: &str, service: &str, created_at: i64| DockerRefreshToken {
        id: id.into(),
        token_hash: format!("{id:0>64}"),
        realm_id: "acme-realm-id".into(),
        user_id: user.into(),
        service: service.into(),
        created_at,
        last_used_at: created_at,
        expires_at: NOW + 3600,
        revoked: false,
        last_address: None,
    };
    let revoked = |id: &'static str| async move {
        store
            .find_docker_refresh_token(&format!("{id:0>64}"))
            .await
            .unwrap()
            .unwrap()
            .revoked
    };
    for (i, id) in ["a1", "a2", "a3"].into_iter().enumerate() {
        let n = store
            .insert_docker_refresh_token(
                &login(id, "bob-id", "registry.local", NOW + i as i64),
                3,
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(n, 0, "{id}");
    }
    let other_registry = login("b1", "bob-id", "other.registry", NOW + 9);
    assert_eq!(
        store
            .insert_docker_refresh_token(&other_registry, 3, NOW)
            .await
            .unwrap(),
        0
    );
    let fourth = login("a4", "bob-id", "registry.local", NOW + 10);
    assert_eq!(
        store
            .insert_docker_refresh_token(&fourth, 3, NOW)
            .await
            .unwrap(),
        1
    );
    assert!(revoked("a1").await, "the oldest goes");
    for id in ["a2", "a3", "a4", "b1"] {
        assert!(!revoked(id).await, "{id} stays");
    }
    db.finish().await;
}

#[tokio::test]
async fn docker_refresh_tokens() {
    let db = TestDb::new().await;
    let store = &db.store;
    store.import_realm(acme(), false, NOW).await.unwrap();
    let token = DockerRefreshToken {
        id: "t1".into(),
        token_hash: "ab".repeat(32),
        realm_id: "acme-realm-id".into(),
        user_id: "bob-id".into(),
        service: "registry.local".into(),
        created_at: NOW,
        last_used_at: NOW,
        expires_at: NOW + 3600,
        revoked: false,
        last_address: None,
    };
    store
        .insert_docker_refresh_token(&token, 20, NOW)
        .await
        .unwrap();
    let second = DockerRefreshToken {
        id: "t2".into(),
        token_hash: "cd".repeat(32),
        ..token.clone()
    };
    store
        .insert_docker_refresh_token(&second, 20, NOW)
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_docker_refresh_token(
                &DockerRefreshToken {
                    id: "t3".into(),
                    ..token.clone()
                },
                20,
                NOW
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .find_docker_refresh_token(&token.token_hash)
            .await
            .unwrap(),
        Some(token.clone())
    );
    assert!(
        store
            .find_docker_refresh_token("00")
            .await
            .unwrap()
            .is_none()
    );

    store
        .touch_docker_refresh_token("t1", NOW + 10, Some("192.0.2.9"))
        .await
        .unwrap();
    let found = store
        .find_docker_refresh_token(&token.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.last_used_at, NOW + 10);
    assert_eq!(found.last_address.as_deref(), Some("192.0.2.9"));
    assert!(matches!(
        store.touch_docker_refresh_token("missing", NOW, None).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(
        store
            .revoke_docker_refresh_tokens("acme-realm-id", "other")
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .revoke_docker_refresh_tokens("acme-realm-id", "bob-id")
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .revoke_docker_refresh_tokens("acme-realm-id", "bob-id")
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .find_docker_refresh_token(&second.token_hash)
            .await
            .unwrap()
            .unwrap()
            .revoked
    );

    // Tokens go with their user.
    store.import_realm(acme(), true, NOW).await.unwrap();
    assert!(
        store
            .find_docker_refresh_token(&token.token_hash)
            .await
            .unwrap()
            .is_none()
    );
    db.finish().await;
}

#[tokio::test]
async fn imports_the_registry_example() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../realms/registry-example.json"
    );
    let text = std::fs::read_to_string(path).expect("realms/registry-example.json");
    let (_, unknown) = deserialize_reporting_unknown(serde_json::from_str(&text).unwrap()).unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    let db = TestDb::new().await;
    db.store
        .import_realm(parse_realm_json(&text).unwrap(), false, NOW)
        .await
        .unwrap();
    let snap = db
        .store
        .load_realm_snapshot("registry")
        .await
        .unwrap()
        .unwrap();
    let client = snap.client("registry.local").expect("docker client");
    assert_eq!(client.protocol, "docker-v2");
    assert!(client.protocol_mappers.len() >= 6);
    for mapper in &client.protocol_mappers {
        assert_eq!(mapper.protocol, "docker-v2");
        assert_eq!(mapper.mapper_type, "docker-v2-repository-access-mapper");
        let subjects = ["role", "group", "subject"]
            .iter()
            .filter(|k| mapper.config.contains_key(**k))
            .count();
        assert_eq!(
            subjects, 1,
            "mapper {} has exactly one subject",
            mapper.name
        );
    }
    let (alice, stored) = db
        .store
        .find_user_by_username(&snap.realm.id, "alice")
        .await
        .unwrap()
        .expect("alice");
    assert!(
        !alice.enabled && stored.is_none(),
        "the example has no usable account"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_failed_write_rolls_the_transaction_back() {
    let db = TestDb::new().await;
    db.store.import_realm(acme(), false, NOW).await.unwrap();
    let before = counts(&db).await;
    // Same file under another name and realm id: bob's id is taken, and the realm, roles and
    // clients written before the users must disappear with the rollback.
    let mut copy = acme();
    copy.realm = Some("acme-copy".into());
    copy.id = Some("acme-copy-id".into());
    for role in copy.roles.as_mut().unwrap().realm.iter_mut() {
        role.id = None;
    }
    copy.clients.iter_mut().for_each(|c| c.id = None);
    match db.store.import_realm(copy, false, NOW).await {
        Err(StoreError::Conflict(m)) => assert!(m.contains("acme-copy"), "{m}"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(!db.store.realm_exists("acme-copy").await.unwrap());
    assert_eq!(counts(&db).await, before);
    db.finish().await;
}

#[tokio::test]
async fn imported_keys_keep_priority_and_order() {
    use portcullis_core::keys::KeyMaterial;
    use portcullis_store::key_component::{KEY_PROVIDER_TYPE, component_for_key};

    let low = KeyMaterial::generate(Algorithm::Rs256, "keys", NOW).unwrap();
    let high = KeyMaterial::generate(Algorithm::Rs256, "keys", NOW).unwrap();
    let ec = KeyMaterial::generate(Algorithm::Es256, "keys", NOW).unwrap();
    let disabled = KeyMaterial::generate(Algorithm::Es256, "keys", NOW).unwrap();
    let component = |id: &str, m: &KeyMaterial, priority: i64, enabled: bool| {
        component_for_key(
            id,
            m.algorithm,
            &m.private_key_pkcs8,
            &m.certificate_der,
            priority,
            enabled,
        )
    };
    let mut rep = RealmRepresentation {
        realm: Some("keys".into()),
        ..Default::default()
    };
    rep.components.insert(
        KEY_PROVIDER_TYPE.into(),
        vec![
            component("low", &low, 50, true),
            component("disabled", &disabled, 500, false),
            component("high", &high, 200, true),
            component("ec", &ec, 100, true),
        ],
    );
    let db = TestDb::new().await;
    db.store.import_realm(rep, false, NOW).await.unwrap();
    assert_eq!(
        count(&db, "realm_key").await,
        4,
        "nothing generated: both algorithms present"
    );
    let snap = db.store.load_realm_snapshot("keys").await.unwrap().unwrap();
    let certs: Vec<&[u8]> = snap.keys.iter().map(|k| k.certificate_der()).collect();
    assert_eq!(
        certs,
        [
            &high.certificate_der[..],
            &ec.certificate_der[..],
            &low.certificate_der[..]
        ],
        "enabled keys, highest priority first"
    );
    assert_eq!(
        snap.signing_key(Algorithm::Rs256)
            .unwrap()
            .certificate_der(),
        &high.certificate_der[..]
    );

    // Only disabled keys for an algorithm: a fresh one is generated.
    let mut rep = RealmRepresentation {
        realm: Some("keys2".into()),
        ..Default::default()
    };
    rep.components.insert(
        KEY_PROVIDER_TYPE.into(),
        vec![component("d2", &disabled, 1, false)],
    );
    db.store.import_realm(rep, false, NOW).await.unwrap();
    let snap = db
        .store
        .load_realm_snapshot("keys2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.keys.len(), 2);
    assert_ne!(
        snap.signing_key(Algorithm::Es256)
            .unwrap()
            .certificate_der(),
        &disabled.certificate_der[..]
    );
    db.finish().await;
}
