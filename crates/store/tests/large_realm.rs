//! Realm files imported a batch of users at a time and realms exported a page at a time, on a
//! SQLite file or PostgreSQL (`PORTCULLIS_TEST_DATABASE_URL`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{NOW, TestDb};
use portcullis_store::representation::stream::RealmJsonWriter;
use portcullis_store::{ImportOutcome, RealmFile, Store, StoreError};
use portcullis_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

const REALM_ID: &str = "big-id";

/// A Keycloak pbkdf2-sha256 credential of `password`, as Keycloak's export writes it.
fn pbkdf2(password: &str) -> Value {
    let salt = format!("salt-{password}");
    let mut hash = [0u8; 64];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(27_500).unwrap(),
        salt.as_bytes(),
        password.as_bytes(),
        &mut hash,
    );
    json!({
        "type": "password",
        "secretData": json!({"value": STANDARD.encode(hash), "salt": STANDARD.encode(&salt)})
            .to_string(),
        "credentialData": json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256"})
            .to_string(),
    })
}

/// The realm without users; `users` sits before `clients`, as in Keycloak's exports.
fn realm(users: Vec<Value>) -> Value {
    json!({
        "id": REALM_ID,
        "realm": "big",
        "roles": {"realm": [{"name": "staff"}, {"name": "ops"}],
                  "client": {"app": [{"name": "viewer"}]}},
        "groups": [{"name": "eng", "subGroups": [{"name": "platform"}]}, {"name": "sales"}],
        "users": users,
        "clients": [{"clientId": "app", "publicClient": true}],
    })
}

/// `n` users, `user0000, ...`, each with a pbkdf2 credential of one of four passwords (hashing
/// is slow in a test), attributes, realm and client roles, and groups.
fn users(n: usize, credentials: &[Value]) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "username": format!("user{i:04}"),
                "email": format!("user{i:04}@example.com"),
                "enabled": true,
                "totp": false,
                "attributes": {"n": [i.to_string()]},
                "credentials": [credentials[i % credentials.len()]],
                "realmRoles": [if i % 2 == 0 { "staff" } else { "ops" }],
                "clientRoles": if i % 3 == 0 { json!({"app": ["viewer"]}) } else { json!({}) },
                "groups": [if i % 2 == 0 { "/eng/platform" } else { "/sales" }],
            })
        })
        .collect()
}

fn passwords() -> Vec<Value> {
    (0..4).map(|k| pbkdf2(&format!("pw-{k}"))).collect()
}

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("portcullis-large-realm-{name}-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        Files { dir }
    }

    fn write(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

async fn count(store: &Store, table: &str) -> i64 {
    let conn = store.connection();
    let row = conn
        .query_one(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Imports `path` `batch` users at a time; the progress reported after each batch.
async fn import(
    store: &Store,
    path: &Path,
    batch: usize,
    overwrite: bool,
) -> (Result<ImportOutcome, StoreError>, Vec<u64>) {
    let file = RealmFile::open(path).unwrap();
    let seen = Mutex::new(Vec::new());
    let outcome = store
        .import_realm_file(file, overwrite, NOW, batch, &|done| {
            seen.lock().unwrap().push(done)
        })
        .await;
    (outcome, seen.into_inner().unwrap())
}

#[tokio::test]
async fn users_import_in_batches_and_every_password_verifies() {
    let db = TestDb::new().await;
    let files = Files::new("batches");
    let mut users = users(23, &passwords());
    // A plain password, from the environment (PATH is always set), hashed at import.
    users[22]["credentials"] = json!([{"type": "password", "value": "${PATH}"}]);
    let path = files.write("big.json", &realm(users));

    let file = RealmFile::open(&path).unwrap();
    assert_eq!(file.total_users(), 23);
    assert!(file.realm().users.is_none(), "the head holds no users");
    let (outcome, progress) = import(&db.store, &path, 5, false).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Created);
    assert_eq!(progress, [5, 10, 15, 20, 23], "one report per batch");

    assert_eq!(count(&db.store, "user_entity").await, 23);
    for i in 0..22 {
        let (user, password) = db
            .store
            .find_user_by_username(REALM_ID, &format!("user{i:04}"))
            .await
            .unwrap()
            .unwrap();
        let password = password.expect("a password");
        assert_eq!(
            password.algorithm, "pbkdf2-sha256",
            "not re-hashed at import"
        );
        assert!(password.verify(&format!("pw-{}", i % 4)), "user{i:04}");
        assert!(!password.verify("pw-x"));
        assert_eq!(user.attributes["n"], [i.to_string()]);
    }
    let (_, password) = db
        .store
        .find_user_by_username(REALM_ID, "user0022")
        .await
        .unwrap()
        .unwrap();
    let password = password.unwrap();
    assert_eq!(password.algorithm, "argon2");
    assert!(password.verify(&std::env::var("PATH").unwrap()));
    // Memberships, through the realm's snapshot of roles and groups.
    assert_eq!(count(&db.store, "user_group").await, 23);
    assert_eq!(count(&db.store, "user_role").await, 23 + 8);

    // Imported again: skipped, and nothing read.
    let (outcome, progress) = import(&db.store, &path, 5, false).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Skipped);
    assert!(progress.is_empty());
    db.finish().await;
}

#[tokio::test]
async fn a_bad_record_is_named_and_leaves_nothing_behind() {
    let db = TestDb::new().await;
    let files = Files::new("bad");
    let creds = passwords();
    // Each record is past the first batches, which were already written when it is read.
    let cases: [(usize, Value, &[&str]); 4] = [
        (
            11,
            json!({"username": "x", "credentials": [{"type": "password", "createdDate": "soon"}]}),
            &["users[11].credentials[0].createdDate", "invalid"],
        ),
        (
            9,
            json!({"username": "x", "enabled": {"no": 1}}),
            &["users[9].enabled"],
        ),
        (
            12,
            json!({"username": "x", "realmRoles": ["ghost"]}),
            &["users[12]", "ghost"],
        ),
        (
            10,
            json!({"username": "x", "credentials": [{"type": "password",
                "secretData": "{\"value\":\"AA==\",\"salt\":\"AA==\"}",
                "credentialData": "{\"hashIterations\":\"many\",\"algorithm\":\"pbkdf2-sha256\"}"}]}),
            &["users[10]", "credentials[0]"],
        ),
    ];
    for (index, record, wanted) in cases {
        let mut users = users(14, &creds);
        users[index] = record;
        let path = files.write("bad.json", &realm(users));
        let (outcome, progress) = import(&db.store, &path, 3, false).await;
        let message = outcome.unwrap_err().to_string();
        for want in wanted {
            assert!(message.contains(want), "{want:?} in {message}");
        }
        assert!(message.contains("bad.json"), "names the file: {message}");
        assert!(
            progress.len() >= 3,
            "batches before the bad one were written"
        );
        assert!(!db.store.realm_exists("big").await.unwrap());
        for table in [
            "realm",
            "user_entity",
            "credential",
            "user_role",
            "user_group",
            "role",
        ] {
            assert_eq!(count(&db.store, table).await, 0, "{table} after {message}");
        }
    }

    // Over an existing realm, a bad file leaves the old realm as it was.
    let good = files.write("good.json", &realm(users(4, &creds)));
    let (outcome, _) = import(&db.store, &good, 3, false).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Created);
    let mut bad = users(8, &creds);
    bad[6] = json!({"username": "x", "groups": ["/nowhere"]});
    let path = files.write("bad.json", &realm(bad));
    let (outcome, _) = import(&db.store, &path, 3, true).await;
    assert!(outcome.unwrap_err().to_string().contains("users[6]"));
    assert_eq!(count(&db.store, "user_entity").await, 4);
    assert!(
        db.store
            .find_user_by_username(REALM_ID, "user0003")
            .await
            .unwrap()
            .is_some()
    );
    db.finish().await;
}

/// Writes an export the way `portcullis export` does: the realm, then its users page by page.
async fn export_to_bytes(store: &Store, realm: &str) -> Vec<u8> {
    let mut export = store
        .export_realm_paged(realm, true)
        .await
        .unwrap()
        .unwrap();
    let mut out = RealmJsonWriter::begin(Vec::new(), export.realm(), true).unwrap();
    let mut pages = 0;
    while let Some(page) = store.export_next_page(&mut export).await.unwrap() {
        assert!(page.len() as u64 <= portcullis_store::EXPORT_PAGE);
        out.users(&page).unwrap();
        pages += 1;
    }
    assert!(pages >= 1);
    out.finish().unwrap()
}

#[tokio::test]
async fn a_paged_export_imports_back_the_same() {
    let db = TestDb::new().await;
    let files = Files::new("round-trip");
    // More users than a page, so the export goes over several.
    let n = portcullis_store::EXPORT_PAGE as usize * 2 + 7;
    let users = users(n, &passwords());
    let path = files.write("big.json", &realm(users));
    let (outcome, _) = import(&db.store, &path, 400, false).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Created);

    let bytes = export_to_bytes(&db.store, "big").await;
    let exported: Value = serde_json::from_slice(&bytes).expect("the export is JSON");
    let whole =
        serde_json::to_value(db.store.export_realm("big", true).await.unwrap().unwrap()).unwrap();
    assert_eq!(exported, whole, "paged and whole exports agree");
    let listed = exported["users"].as_array().unwrap();
    assert_eq!(listed.len(), n);
    let user7 = listed.iter().find(|u| u["username"] == "user0007").unwrap();
    assert_eq!(user7["attributes"]["n"], json!(["7"]));
    assert_eq!(user7["realmRoles"], json!(["ops"]));
    assert_eq!(user7["groups"], json!(["/sales"]));
    assert!(user7["credentials"][0]["secretData"].is_string());
    assert_eq!(listed[0]["username"], "user0000");
    assert_eq!(listed[0]["clientRoles"], json!({"app": ["viewer"]}));

    // Into a fresh database, through a file, and out again: the same.
    let copy_db = TestDatabase::create().await;
    let copy = copy_db.connect().await;
    let copy_path = files.dir.join("copy.json");
    std::fs::write(&copy_path, &bytes).unwrap();
    let (outcome, _) = import(&copy, &copy_path, 333, false).await;
    assert_eq!(outcome.unwrap(), ImportOutcome::Created);
    let again: Value = serde_json::from_slice(&export_to_bytes(&copy, "big").await).unwrap();
    assert_eq!(again, exported);
    let (_, password) = copy
        .find_user_by_username(REALM_ID, "user2005")
        .await
        .unwrap()
        .unwrap();
    assert!(password.unwrap().verify("pw-1"));
    copy.connection().clone().close().await.unwrap();
    drop(copy_db);
    db.finish().await;
}

#[tokio::test]
async fn keycloak_users_files_import_with_their_realm() {
    let db = TestDb::new().await;
    let files = Files::new("split");
    let creds = passwords();
    let all = users(9, &creds);
    let mut head = realm(Vec::new());
    head.as_object_mut().unwrap().remove("users");
    let realm_path = files.write("big-realm.json", &head);
    let first = files.write(
        "big-users-0.json",
        &json!({"realm": "big", "users": all[..5]}),
    );
    let second = files.write(
        "big-users-1.json",
        &json!({"realm": "big", "users": all[5..]}),
    );
    let other = files.write("x-users-0.json", &json!({"realm": "x", "users": []}));

    let mut file = RealmFile::open(&realm_path).unwrap();
    let refused = file.add_users_file(&other).unwrap_err().to_string();
    assert!(refused.contains("x-users-0.json"), "{refused}");
    file.add_users_file(&first).unwrap();
    file.add_users_file(&second).unwrap();
    assert_eq!(file.total_users(), 9);
    let seen = Mutex::new(Vec::new());
    let outcome = db
        .store
        .import_realm_file(file, false, NOW, 2, &|done| seen.lock().unwrap().push(done))
        .await
        .unwrap();
    assert_eq!(outcome, ImportOutcome::Created);
    assert_eq!(seen.into_inner().unwrap().last(), Some(&9));
    for i in [0, 4, 5, 8] {
        let (_, password) = db
            .store
            .find_user_by_username(REALM_ID, &format!("user{i:04}"))
            .await
            .unwrap()
            .unwrap();
        assert!(password.unwrap().verify(&format!("pw-{}", i % 4)));
    }

    // A bad record in a users file names the file and the record there; nothing stays.
    let mut broken = all[5..].to_vec();
    broken[2]["realmRoles"] = json!(["ghost"]);
    let second = files.write(
        "big-users-1.json",
        &json!({"realm": "big", "users": broken}),
    );
    let other_db = TestDb::new().await;
    let mut file = RealmFile::open(&realm_path).unwrap();
    file.add_users_file(&first).unwrap();
    file.add_users_file(&second).unwrap();
    let message = other_db
        .store
        .import_realm_file(file, false, NOW, 2, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("big-users-1.json") && message.contains("users[2]"),
        "{message}"
    );
    assert!(!other_db.store.realm_exists("big").await.unwrap());
    other_db.finish().await;
    db.finish().await;
}
