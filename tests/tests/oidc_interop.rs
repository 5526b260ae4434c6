//! npm `openid-client` (the most used OIDC relying-party library for Node) against the real
//! server: discovery, authorization code + PKCE through the login form, userinfo, refresh,
//! introspection, revocation and client credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use portcullis_tests::{Server, e2e_required, require, workspace_root};
use serde_json::{Value, json};

const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub fn apps_realm() -> String {
    json!({
        "realm": "apps",
        "enabled": true,
        "roles": {"realm": [{"name": "staff"}]},
        "clients": [
            {"clientId": "spa", "publicClient": true, "redirectUris": [REDIRECT],
             "standardFlowEnabled": true},
            {"clientId": "backend", "publicClient": false, "secret": "backend-secret",
             "redirectUris": [REDIRECT], "standardFlowEnabled": true, "serviceAccountsEnabled": true},
        ],
        "users": [{"username": "alice", "enabled": true, "email": "alice@example.test",
                   "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
                   "realmRoles": ["staff"],
                   "credentials": [{"type": "password", "value": "alice-pw"}]}]
    })
    .to_string()
}

#[test]
fn openid_client_library_works_against_the_realm() {
    const TEST: &str = "openid_client_library_works_against_the_realm";
    if require("node", TEST).is_none() {
        return;
    }
    let interop = workspace_root().join("tests/interop");
    if !interop.join("node_modules/openid-client").is_dir() {
        assert!(
            !e2e_required(),
            "{TEST}: run `npm ci --prefix tests/interop` first"
        );
        eprintln!("SKIPPED {TEST}: npm packages not installed (npm ci --prefix tests/interop)");
        return;
    }
    let server = Server::start(&[("apps.json", apps_realm())]);
    let issuer = server.url("/auth/realms/apps");
    let out = Command::new("node")
        .arg(interop.join("openid-client.mjs"))
        .env("ISSUER", &issuer)
        .env("REDIRECT_URI", REDIRECT)
        .env("PUBLIC_CLIENT", "spa")
        .env("CONF_CLIENT", "backend")
        .env("CONF_SECRET", "backend-secret")
        .env("USERNAME", "alice")
        .env("PASSWORD", "alice-pw")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openid-client failed:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["issuer"], issuer);
    assert_eq!(r["code"]["preferred_username"], "alice");
    assert_eq!(r["code"]["has_refresh"], true);
    assert_eq!(r["userinfo"]["email"], "alice@example.test");
    assert_eq!(r["userinfo"]["sub"], r["code"]["sub"]);
    assert_eq!(r["refresh"]["has_access"], true);
    assert_eq!(r["introspection"]["active"], true);
    assert_eq!(r["introspection"]["client_id"], "backend");
    assert_eq!(r["refresh_after_revoke"], "invalid_grant");
    assert_eq!(r["introspection_after_revoke"]["active"], false);
    assert_eq!(r["client_credentials"]["has_access"], true);
    assert_eq!(r["client_credentials"]["introspection"]["active"], true);
    assert_eq!(
        r["client_credentials"]["introspection"]["username"],
        "service-account-backend"
    );
}
