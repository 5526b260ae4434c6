//! The binary's subcommands and start-up, run as a user would run them: `migrate`, `import`
//! (with placeholders and Keycloak-hashed passwords), `export`, and a realm directory at start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_tests::{Server, TempDir, binary, fresh_database_url};
use serde_json::{Value, json};

fn portcullis(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env("PORTCULLIS_DATABASE_URL", database_url)
        .env("PORTCULLIS_ADMIN_PASSWORD", "cli-admin");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A Keycloak pbkdf2-sha256 credential, the way a Keycloak export writes it.
fn keycloak_pbkdf2(password: &str) -> Value {
    let salt = b"0123456789abcdef";
    let mut hash = [0u8; 64];
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(27_500).unwrap(),
        salt,
        password.as_bytes(),
        &mut hash,
    );
    json!({
        "type": "password",
        "secretData": json!({"value": STANDARD.encode(hash), "salt": STANDARD.encode(salt),
                             "additionalParameters": {}}).to_string(),
        "credentialData": json!({"hashIterations": 27500, "algorithm": "pbkdf2-sha256",
                                 "additionalParameters": {}}).to_string(),
    })
}

fn realm_file() -> String {
    json!({
        "realm": "cli",
        "enabled": true,
        "roles": {"realm": [{"name": "pusher"}, {"name": "lead", "composite": true,
                              "composites": {"realm": ["pusher"]}}]},
        "groups": [{"name": "eng", "realmRoles": ["pusher"], "subGroups": [{"name": "platform"}]}],
        "clients": [{"clientId": "registry.cli", "protocol": "docker-v2",
                     "attributes": {"access.token.lifespan": "120"},
                     "protocolMappers": [{"name": "push", "protocol": "docker-v2",
                         "protocolMapper": "docker-v2-repository-access-mapper",
                         "config": {"repository": "apps/**", "actions": "push", "role": "pusher"}}]}],
        "users": [
            {"username": "Migrated", "enabled": true, "groups": ["/eng/platform"],
             "credentials": [keycloak_pbkdf2("from-keycloak")]},
            {"username": "fresh", "enabled": true, "realmRoles": ["lead"],
             "credentials": [{"type": "password", "value": "${CLI_FRESH_PASSWORD}"}]},
        ]
    })
    .to_string()
}

#[test]
fn migrate_import_export_round_trip() {
    let dir = TempDir::new("cli");
    let db = fresh_database_url(dir.path());
    let out = portcullis(&db, &["migrate"], &[]);
    assert!(out.status.success(), "migrate: {}", stderr(&out));

    let file = dir.path().join("cli.json");
    std::fs::write(&file, realm_file()).unwrap();
    let env = [("CLI_FRESH_PASSWORD", "fresh-pw")];
    let out = portcullis(&db, &["import", file.to_str().unwrap()], &env);
    assert!(out.status.success(), "import: {}", stderr(&out));
    // A second import skips the existing realm.
    let out = portcullis(&db, &["import", file.to_str().unwrap()], &env);
    assert!(
        out.status.success() && stderr(&out).contains("skipped"),
        "{}",
        stderr(&out)
    );

    let out = portcullis(&db, &["export", "--realm", "cli", "--users"], &[]);
    assert!(out.status.success(), "export: {}", stderr(&out));
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(exported["realm"], "cli");
    let users = exported["users"].as_array().unwrap();
    let fresh = users.iter().find(|u| u["username"] == "fresh").unwrap();
    let credential = &fresh["credentials"][0];
    assert!(
        credential.get("value").is_none(),
        "plain passwords are never exported"
    );
    let data: Value = serde_json::from_str(credential["credentialData"].as_str().unwrap()).unwrap();
    assert_eq!(
        data["algorithm"], "argon2",
        "plain values are hashed with the realm policy"
    );
    let lead = exported["roles"]["realm"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "lead")
        .unwrap();
    assert_eq!(lead["composites"]["realm"], json!(["pusher"]));

    // The export imports into a fresh database and exports the same again.
    let other = TempDir::new("cli-copy");
    let db2 = fresh_database_url(other.path());
    let copy = other.path().join("export.json");
    std::fs::write(&copy, &out.stdout).unwrap();
    let out2 = portcullis(&db2, &["import", copy.to_str().unwrap(), "--override"], &[]);
    assert!(out2.status.success(), "re-import: {}", stderr(&out2));
    let again = portcullis(&db2, &["export", "--realm", "cli", "--users"], &[]);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again, exported);

    let missing = portcullis(&db, &["export", "--realm", "nope"], &[]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("nope"), "{}", stderr(&missing));
}

#[test]
fn a_broken_realm_file_is_refused_by_name_and_writes_nothing() {
    let dir = TempDir::new("cli-bad");
    let db = fresh_database_url(dir.path());
    let file = dir.path().join("bad.json");
    std::fs::write(
        &file,
        r#"{"realm": "bad", "users": [{"username": "x", "realmRoles": ["ghost"]}]}"#,
    )
    .unwrap();
    let out = portcullis(&db, &["import", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.json") && err.contains("ghost"), "{err}");
    let out = portcullis(&db, &["export", "--realm", "bad"], &[]);
    assert!(
        !out.status.success(),
        "nothing of the broken realm may remain"
    );

    std::fs::write(&file, "{ not json").unwrap();
    let out = portcullis(&db, &["import", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.json"), "{}", stderr(&out));

    // A docker access rule the admin API would refuse is refused in a realm file too.
    std::fs::write(
        &file,
        r#"{"realm": "bad", "clients": [{"clientId": "registry", "protocol": "docker-v2",
             "protocolMappers": [{"name": "typo", "protocol": "docker-v2",
               "protocolMapper": "docker-v2-repository-access-mapper",
               "config": {"repository": "team/**", "actions": "fly", "role": "dev"}}]}]}"#,
    )
    .unwrap();
    let out = portcullis(&db, &["import", file.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.json") && err.contains("typo"), "{err}");
    let out = portcullis(&db, &["export", "--realm", "bad"], &[]);
    assert!(!out.status.success(), "nothing was imported");
}

/// Realm files at start-up, placeholders, and a Keycloak pbkdf2 hash that logs in and is then
/// re-hashed to the realm policy.
#[tokio::test(flavor = "multi_thread")]
async fn start_up_imports_realms_and_migrated_passwords_work() {
    let server = Server::start_with(
        &[("cli.json", realm_file())],
        &[("CLI_FRESH_PASSWORD", "fresh-pw")],
    );
    let http = reqwest::Client::new();
    let token = |user: &'static str, password: &'static str| {
        http.get(server.url("/auth/realms/cli/protocol/docker-v2/auth"))
            .query(&[
                ("service", "registry.cli"),
                ("scope", "repository:apps/api:pull,push"),
            ])
            .basic_auth(user, Some(password))
            .send()
    };
    for (user, password) in [
        ("migrated", "from-keycloak"),
        ("MIGRATED", "from-keycloak"),
        ("fresh", "fresh-pw"),
    ] {
        let resp = token(user, password).await.unwrap();
        assert_eq!(resp.status(), 200, "{user}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["expires_in"], 120);
        let claims = body["token"]
            .as_str()
            .unwrap()
            .split('.')
            .nth(1)
            .unwrap()
            .to_string();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        // Group role (eng → pusher, inherited by /eng/platform) and composite (lead → pusher).
        assert_eq!(
            claims["access"][0]["actions"],
            json!(["pull", "push"]),
            "{user}"
        );
    }
    assert_eq!(token("migrated", "wrong").await.unwrap().status(), 401);
    assert_eq!(
        token("fresh", "${CLI_FRESH_PASSWORD}")
            .await
            .unwrap()
            .status(),
        401
    );

    let out = portcullis(
        &server.database_url,
        &["export", "--realm", "cli", "--users"],
        &[],
    );
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    let migrated = exported["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "migrated")
        .unwrap();
    let data: Value = serde_json::from_str(
        migrated["credentials"][0]["credentialData"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        data["algorithm"], "argon2",
        "the pbkdf2 hash is replaced after a login"
    );
}

/// A realm directory with Keycloak's split users files (`<realm>-users-<n>.json`), imported
/// with plain progress lines because standard error is not a terminal; the export streams the
/// users back, with its own progress lines.
#[test]
fn split_users_files_import_with_progress_lines() {
    let dir = TempDir::new("cli-large");
    let db = fresh_database_url(dir.path());
    let realms = dir.path().join("realms");
    std::fs::create_dir_all(&realms).unwrap();
    let credential = keycloak_pbkdf2("shared-password");
    let users: Vec<Value> = (0..2500)
        .map(|i| {
            json!({"username": format!("u{i:05}"), "enabled": true,
                        "realmRoles": ["staff"], "credentials": [credential]})
        })
        .collect();
    let write = |name: &str, value: Value| {
        std::fs::write(realms.join(name), value.to_string()).unwrap();
    };
    write(
        "big-realm.json",
        json!({"realm": "big", "roles": {"realm": [{"name": "staff"}]}}),
    );
    write(
        "big-users-0.json",
        json!({"realm": "big", "users": users[..1500]}),
    );
    write(
        "big-users-1.json",
        json!({"realm": "big", "users": users[1500..]}),
    );

    let out = portcullis(&db, &["import", realms.to_str().unwrap()], &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "import: {err}");
    for line in ["importing users: 1000/2500", "importing users: 2500/2500"] {
        assert!(err.contains(line), "{line:?} in {err}");
    }
    assert!(
        !err.contains('\r'),
        "no terminal redraws off a terminal: {err}"
    );

    let out = portcullis(&db, &["export", "--realm", "big", "--users"], &[]);
    assert!(out.status.success(), "export: {}", stderr(&out));
    assert!(
        stderr(&out).contains("exporting users: 2500/2500"),
        "{}",
        stderr(&out)
    );
    let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = exported["users"].as_array().unwrap();
    assert_eq!(listed.len(), 2500);
    assert_eq!(listed[1234]["username"], "u01234");
    assert_eq!(listed[1234]["realmRoles"], json!(["staff"]));
    assert!(listed[1234]["credentials"][0]["secretData"].is_string());
}
