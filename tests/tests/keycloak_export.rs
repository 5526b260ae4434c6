//! A realistic Keycloak 24 realm export (pbkdf2-sha512 and pbkdf2-sha256 password hashes, composite
//! roles, nested groups, an OIDC client with a group mapper, a docker-v2 client, and the many
//! fields Portcullis does not use) imported from `realms/` at start-up: its users log in with the
//! passwords they had in Keycloak, and get the roles the export gave them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_tests::{Server, workspace_root};
use serde_json::Value;

pub fn keycloak_export() -> String {
    std::fs::read_to_string(workspace_root().join("tests/fixtures/keycloak-legacy-realm.json"))
        .unwrap()
}

fn claims(jwt: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

async fn password_grant(server: &Server, user: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url("/auth/realms/legacy/protocol/openid-connect/token"))
        .basic_auth("legacy-app", Some("legacy-app-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_users_log_in_with_their_keycloak_passwords() {
    let server = Server::start(&[("legacy-realm.json", keycloak_export())]);

    let resp = password_grant(&server, "anna", "anna-legacy-pw").await;
    assert_eq!(
        resp.status(),
        200,
        "pbkdf2-sha512 210000 hash from Keycloak"
    );
    let tokens: Value = resp.json().await.unwrap();
    let access = claims(tokens["access_token"].as_str().unwrap());
    let roles: Vec<&str> = access["realm_access"]["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // /engineering/sre gives operator (composite: developer, legacy-app.app-admin); /engineering gives developer.
    for role in [
        "operator",
        "developer",
        "default-roles-legacy",
        "offline_access",
    ] {
        assert!(roles.contains(&role), "{role} in {roles:?}");
    }
    assert_eq!(
        access["resource_access"]["legacy-app"]["roles"],
        serde_json::json!(["app-admin"])
    );
    let id = claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        id["groups"],
        serde_json::json!(["/engineering/sre"]),
        "group membership mapper, full path"
    );

    let resp = password_grant(&server, "ben", "ben-legacy-pw").await;
    assert_eq!(resp.status(), 200, "pbkdf2-sha256 27500 hash from Keycloak");
    assert_eq!(password_grant(&server, "ben", "wrong").await.status(), 401);
    assert_eq!(
        password_grant(&server, "former", "former-pw")
            .await
            .status(),
        401,
        "disabled in the export"
    );

    // The docker-v2 client of the export (Keycloak's allow-all mapper) works with the same account.
    let docker = reqwest::Client::new()
        .get(server.url("/auth/realms/legacy/protocol/docker-v2/auth"))
        .query(&[
            ("service", "registry.legacy"),
            ("scope", "repository:any/thing:pull"),
        ])
        .basic_auth("anna", Some("anna-legacy-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(docker.status(), 200);
    let body: Value = docker.json().await.unwrap();
    assert_eq!(
        claims(body["token"].as_str().unwrap())["access"][0]["actions"],
        serde_json::json!(["pull"])
    );
}
