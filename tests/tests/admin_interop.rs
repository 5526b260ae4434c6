//! Keycloak's own admin libraries against the real binary: python-keycloak and npm
//! @keycloak/keycloak-admin-client build a realm (roles, composites, groups, users, role mappings,
//! a docker-v2 client with access rules), and the docker tokens then reflect exactly that. The
//! Python journey also partial-imports a Keycloak export whose users then log in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_tests::{ADMIN_PASSWORD, Server, e2e_required, require, workspace_root};
use serde_json::{Value, json};

fn interop() -> std::path::PathBuf {
    workspace_root().join("tests/interop")
}

/// The actions a docker token grants `user` on `repository`.
async fn docker_actions(
    server: &Server,
    realm: &str,
    service: &str,
    user: (&str, &str),
    repository: &str,
) -> Value {
    let resp = reqwest::Client::new()
        .get(server.url(&format!("/auth/realms/{realm}/protocol/docker-v2/auth")))
        .query(&[
            ("service", service),
            (
                "scope",
                &format!("repository:{repository}:pull,push,delete"),
            ),
        ])
        .basic_auth(user.0, Some(user.1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{user:?} {repository}");
    let body: Value = resp.json().await.unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(body["token"].as_str().unwrap().split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    claims["access"][0]["actions"].clone()
}

fn run(program: &str, script: &str, server: &Server, env: &[(&str, String)]) -> Value {
    let mut command = Command::new(program);
    command
        .arg(interop().join(script))
        .env("PORTCULLIS_URL", &server.base)
        .env("ADMIN_PASSWORD", ADMIN_PASSWORD);
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn python_keycloak_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import keycloak"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn python_keycloak_builds_a_realm_that_docker_tokens_reflect() {
    const TEST: &str = "python_keycloak_builds_a_realm_that_docker_tokens_reflect";
    if require("python3", TEST).is_none() {
        return;
    }
    if !python_keycloak_installed() {
        assert!(
            !e2e_required(),
            "{TEST}: pip install -r tests/interop/requirements.txt"
        );
        eprintln!("SKIPPED {TEST}: python-keycloak is not installed");
        return;
    }
    let server = Server::start(&[]);
    let export = workspace_root().join("tests/fixtures/keycloak-legacy-realm.json");
    let r = run(
        "python3",
        "python_keycloak.py",
        &server,
        &[("KEYCLOAK_EXPORT", export.display().to_string())],
    );
    assert!(
        r["serverinfo_version"]
            .as_str()
            .is_some_and(|v| v.split('.').count() >= 3)
    );
    assert_eq!(r["lead_composites"], json!(["writer"]));
    assert_eq!(r["platform_path"], true);
    assert_eq!(r["duplicate_user"], 409);
    let effective = r["alice_effective"].as_array().unwrap();
    assert!(
        effective.contains(&json!("lead")) && effective.contains(&json!("writer")),
        "{effective:?}"
    );
    assert_eq!(r["alice_lookup"], true);
    assert_eq!(r["registry_lookup"], true);
    assert_eq!(r["registry_mappers"], json!(["readers", "writers"]));
    assert_eq!(r["invalid_mapper"], 400);
    assert_eq!(r["backend_secret"], "s3cret");
    assert_eq!(r["alice_client_roles"], json!(["viewer"]));
    assert!(r["partial_import_added"].as_i64().unwrap() >= 3, "{r}");
    // python-keycloak's logout(refresh_token) ends the session's tokens.
    assert_eq!(r["userinfo_user"], "alice", "{r}");
    assert_eq!(r["refresh_after_logout"], 400, "{r}");
    assert_eq!(r["userinfo_after_logout"], 401, "{r}");

    // alice: lead → writer (composite) → push (implies pull). bob: /eng/platform → rule on /eng → pull.
    let svc = "registry.py";
    assert_eq!(
        docker_actions(&server, "pyrealm", svc, ("alice", "alice-pw"), "apps/api").await,
        json!(["pull", "push"])
    );
    assert_eq!(
        docker_actions(&server, "pyrealm", svc, ("bob", "bob-pw"), "apps/api").await,
        json!(["pull"])
    );
    // Keycloak users arriving through partialImport log in with their pbkdf2 passwords.
    assert_eq!(
        docker_actions(
            &server,
            "pyrealm",
            svc,
            ("ben", "ben-legacy-pw"),
            "apps/api"
        )
        .await,
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_admin_client_builds_a_realm_that_docker_tokens_reflect() {
    const TEST: &str = "keycloak_admin_client_builds_a_realm_that_docker_tokens_reflect";
    if require("node", TEST).is_none() {
        return;
    }
    if !interop()
        .join("node_modules/@keycloak/keycloak-admin-client")
        .is_dir()
    {
        assert!(
            !e2e_required(),
            "{TEST}: run `npm ci --prefix tests/interop` first"
        );
        eprintln!("SKIPPED {TEST}: npm packages not installed (npm ci --prefix tests/interop)");
        return;
    }
    let server = Server::start(&[]);
    let r = run("node", "keycloak-admin-client.mjs", &server, &[]);
    assert_eq!(r["realm_name"], "jsrealm");
    assert_eq!(r["lead_composites"], json!(["writer"]));
    let effective = r["carol_effective"].as_array().unwrap();
    assert!(
        effective.contains(&json!("lead")) && effective.contains(&json!("writer")),
        "{effective:?}"
    );
    assert_eq!(r["dan_groups"], json!(["/eng/platform"]));
    assert_eq!(r["user_count"], 2);
    assert_eq!(r["found"], json!([true]));
    assert_eq!(r["duplicate_user"], 409);
    assert_eq!(r["registry_mappers"], json!(["personal", "writers"]));
    assert_eq!(r["registry_found"], json!([true]));

    let svc = "registry.js";
    assert_eq!(
        docker_actions(&server, "jsrealm", svc, ("carol", "carol-pw"), "apps/web").await,
        json!(["pull", "push"])
    );
    // dan is in /eng/platform; /eng carries writer.
    assert_eq!(
        docker_actions(&server, "jsrealm", svc, ("dan", "dan-pw"), "apps/web").await,
        json!(["pull", "push"])
    );
    assert_eq!(
        docker_actions(&server, "jsrealm", svc, ("dan", "dan-pw"), "dan/tools").await,
        json!(["delete", "pull", "push"])
    );
    assert_eq!(
        docker_actions(&server, "jsrealm", svc, ("dan", "dan-pw"), "carol/tools").await,
        json!([])
    );
}

/// python-keycloak's user-profile, user-search, installation and certificate calls, and a
/// generated client key authenticating with private_key_jwt.
#[tokio::test(flavor = "multi_thread")]
async fn python_keycloak_manages_user_profiles_and_client_keys() {
    const TEST: &str = "python_keycloak_manages_user_profiles_and_client_keys";
    if require("python3", TEST).is_none() {
        return;
    }
    if !python_keycloak_installed() {
        assert!(
            !e2e_required(),
            "{TEST}: pip install -r tests/interop/requirements.txt"
        );
        eprintln!("SKIPPED {TEST}: python-keycloak is not installed");
        return;
    }
    let server = Server::start(&[]);
    let r = run("python3", "kc_users_clients.py", &server, &[]);
    assert_eq!(
        r["profile_attributes"],
        json!(["email", "firstName", "lastName", "username"]),
        "{r}"
    );
    assert_eq!(r["profile_policy"], "ADMIN_EDIT", "{r}");
    assert_eq!(r["profile_has_department"], true, "{r}");
    assert_eq!(r["invalid_user"], 400, "{r}");
    assert_eq!(
        r["invalid_user_message"], "error-invalid-length-too-long",
        "{r}"
    );
    assert_eq!(r["q_email"], json!(["nils", "nora"]), "{r}");
    assert_eq!(r["q_custom"], json!(["sam"]), "{r}");
    assert_eq!(r["nora_department"], json!(["ops"]), "{r}");
    assert_eq!(r["installation_resource"], "svc", "{r}");
    assert_eq!(r["installation_realm"], "usersclients", "{r}");
    assert_eq!(r["generated_has_private_key"], true, "{r}");
    assert_eq!(r["stored_matches"], true, "{r}");
    assert_eq!(r["stored_private_key"], false, "{r}");
    assert_eq!(r["jwt_grant"], 200, "{r}");
    assert_eq!(r["jwt_replay"], 401, "{r}");
    assert_eq!(r["uploaded_matches"], true, "{r}");
}
