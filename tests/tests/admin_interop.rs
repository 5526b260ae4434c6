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

/// python-keycloak on the realm-level surface: flows and executions (read-only), required
/// actions, keys, events settings, an unknown route's JSON error, logout-all, and a scripted
/// form login with requests.
#[tokio::test(flavor = "multi_thread")]
async fn python_keycloak_reads_the_realm_surface() {
    const TEST: &str = "python_keycloak_reads_the_realm_surface";
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
    let r = run("python3", "kc_realm_surface.py", &server, &[]);
    let flows = r["flows"].as_array().unwrap();
    for alias in ["browser", "direct grant", "clients", "docker auth"] {
        assert!(flows.contains(&json!(alias)), "{r}");
    }
    assert!(
        r["browser_executions"]
            .as_array()
            .unwrap()
            .contains(&json!("auth-username-password-form")),
        "{r}"
    );
    assert_eq!(r["create_flow"], 501, "{r}");
    assert!(
        r["required_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("UPDATE_PASSWORD")),
        "{r}"
    );
    assert_eq!(r["verify_email_enabled"], false, "{r}");
    let active = r["active_rs256"].clone();
    assert!(r["key_kids"].as_array().unwrap().contains(&active), "{r}");
    assert!(r["jwks_kids"].as_array().unwrap().contains(&active), "{r}");
    assert_eq!(r["events_enabled_before"], true, "{r}");
    assert_eq!(r["events_put_status"], 204, "{r}");
    assert_eq!(r["events_enabled_after"], false, "{r}");
    assert_eq!(r["unknown_status"], 404, "{r}");
    assert_eq!(
        r["unknown_body"],
        json!({"error": "HTTP 404 Not Found"}),
        "{r}"
    );
    assert_eq!(r["form_action_absolute"], true, "{r}");
    assert_eq!(r["form_action_has_session_code"], true, "{r}");
    assert_eq!(r["form_login_token_status"], 200, "{r}");
    assert_eq!(r["session_stats"][0]["clientId"], "web", "{r}");
    assert_eq!(r["session_stats"][0]["active"], "1", "{r}");
    assert_eq!(r["logout_all_status"], 200, "{r}");
    assert_eq!(
        r["logout_all_body"],
        json!({"successRequests": [], "failedRequests": []}),
        "{r}"
    );
}

/// Keycloak's defaults through @keycloak/keycloak-admin-client: a realm created with only its
/// name has Keycloak's roles, clients and default role; a client created with only its clientId
/// gets a password-grant token for a new user, who holds the default role (so the account API
/// answers keycloak-js's `loadUserProfile()`); an unknown field is refused and not stored; a
/// partial export imports back unchanged, as a new realm and through `partialImport`.
#[tokio::test(flavor = "multi_thread")]
async fn keycloak_admin_client_meets_keycloaks_defaults() {
    const TEST: &str = "keycloak_admin_client_meets_keycloaks_defaults";
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
    let r = run("node", "kc_defaults.mjs", &server, &[]);
    assert_eq!(r["default_role"], "default-roles-kcdefaults", "{r}");
    assert_eq!(r["admin_events_enabled"], false);
    assert_eq!(
        r["roles"],
        json!([
            "default-roles-kcdefaults",
            "offline_access",
            "uma_authorization"
        ])
    );
    let clients = r["clients"].as_array().unwrap();
    for client in [
        "account",
        "account-console",
        "admin-cli",
        "broker",
        "realm-management",
        "security-admin-console",
    ] {
        assert!(clients.contains(&json!(client)), "{client} in {clients:?}");
    }
    assert_eq!(
        r["client"],
        json!({"publicClient": false, "bearerOnly": false, "directAccessGrantsEnabled": false,
               "standardFlowEnabled": true, "frontchannelLogout": false,
               "fullScopeAllowed": true, "protocol": "openid-connect", "has_secret": true})
    );
    assert_eq!(
        r["client_oidc"],
        json!({"publicClient": true, "bearerOnly": false, "directAccessGrantsEnabled": true,
               "standardFlowEnabled": true, "frontchannelLogout": false,
               "fullScopeAllowed": true, "protocol": "openid-connect", "has_secret": false})
    );
    assert_eq!(
        r["password_grant_bare"],
        json!([400, "unauthorized_client"])
    );
    assert_eq!(r["user_roles"], json!(["default-roles-kcdefaults"]));
    assert_eq!(r["password_grant"], 200);
    assert_eq!(r["account_profile"], 200);
    assert_eq!(r["unknown_field"], 400, "{r}");
    assert!(
        r["unknown_field_message"]
            .as_str()
            .unwrap_or_default()
            .contains("Unrecognized field \"emial\""),
        "{r}"
    );
    assert_eq!(r["typo_stored"], 0);
    assert_eq!(r["reimport_same_clients"], true, "{r}");
    assert_eq!(r["reimport_same_roles"], true, "{r}");
    assert_eq!(r["reimport_groups"], json!(["ops"]));
    assert_eq!(r["reimport_default_role"], "default-roles-kcdefaults");
    assert_eq!(r["partial_import_added"], 0, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_keycloak_client_scope_claims_follow_the_scope_parameter() {
    const TEST: &str = "python_keycloak_client_scope_claims_follow_the_scope_parameter";
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
    let r = run("python3", "kc_client_scopes.py", &server, &[]);
    assert_eq!(
        r["realm_scopes"],
        json!([
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
        ]),
        "{r}"
    );
    assert_eq!(
        r["client_defaults"],
        json!(["acr", "basic", "email", "profile", "roles", "web-origins"]),
        "{r}"
    );
    assert_eq!(r["tier_again"], true, "{r}");
    assert!(
        r["client_optional"]
            .as_array()
            .unwrap()
            .contains(&json!("tier")),
        "{r}"
    );
    assert_eq!(r["plain_tier"], Value::Null, "{r}");
    assert_eq!(
        r["plain_scope"],
        json!(["email", "openid", "profile"]),
        "{r}"
    );
    assert_eq!(r["asked_tier"], "gold", "{r}");
    assert_eq!(
        r["asked_scope"],
        json!(["email", "openid", "profile", "tier"]),
        "{r}"
    );
    assert_eq!(r["asked_username"], "alice", "{r}");
    assert_eq!(r["userinfo_tier"], "gold", "{r}");
    assert_eq!(r["example_status"], 200, "{r}");
    assert_eq!(r["example_tier"], "gold", "{r}");
    assert_eq!(r["example_sub"], true, "{r}");
    assert_eq!(r["evaluated_mappers"], json!(["tier"]), "{r}");
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

/// @keycloak/keycloak-admin-client's calls for the combined scope mappings, mappers by protocol,
/// role composites with search/first/max, group members, federated identities, required-action
/// configuration and the user profile carried through partial export and import.
#[tokio::test(flavor = "multi_thread")]
async fn keycloak_admin_client_reads_mappings_members_and_profiles() {
    const TEST: &str = "keycloak_admin_client_reads_mappings_members_and_profiles";
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
    let r = run("node", "kc_surface.mjs", &server, &[]);
    let combined = json!({"realm": ["dev"],
                          "clients": {"app": {"id_matches": true, "client": "app",
                                              "roles": ["reader"]}}});
    assert_eq!(r["client_scope_mappings"], combined, "{r}");
    assert_eq!(r["scope_scope_mappings"], combined, "{r}");
    assert_eq!(r["client_mappers_oidc"], json!(["tier claim"]));
    assert_eq!(r["client_mappers_docker"], json!([]));
    assert_eq!(r["scope_mappers_oidc"], json!(["tier claim"]));
    assert_eq!(r["composites"], json!(["alpha", "beta", "delta", "gamma"]));
    assert_eq!(r["composites_search"], json!(["beta", "delta"]));
    assert_eq!(r["composites_page"], json!(["beta", "delta"]));
    assert_eq!(r["composite_has_attributes"], false);
    assert_eq!(
        r["groups"],
        json!([["access", "id", "name", "path", "subGroupCount", "subGroups"]])
    );
    assert_eq!(r["members"], json!(["pat"]));
    assert_eq!(
        r["members_brief_keys"],
        json!([
            "createdTimestamp",
            "email",
            "emailVerified",
            "enabled",
            "id",
            "username"
        ])
    );
    assert_eq!(r["members_page"], json!([]));
    assert_eq!(r["federated"], json!(["upstream"]));
    assert_eq!(r["federated_after_delete"], json!([]));
    assert_eq!(
        r["ra_config_description"],
        json!([404, {"error": "Could not find configurable RequiredAction provider"}])
    );
    for call in ["ra_config", "ra_config_update", "ra_config_remove"] {
        assert_eq!(
            r[call],
            json!([400, {"error": "RequiredAction is not configurable"}]),
            "{call}: {r}"
        );
    }
    assert_eq!(
        r["profile_component"],
        json!({"providerId": "declarative-user-profile", "has_config": true})
    );
    assert_eq!(
        r["copied_profile_attributes"],
        json!(["department", "email", "firstName", "lastName", "username"])
    );
    assert_eq!(r["serverinfo_oidc_mapper_types"], true);
    assert!(r["serverinfo_version"].is_string(), "{r}");
}
