//! The account console in a real browser (headless chromium over WebDriver), end to end: alice
//! opens her account, is sent to the realm's login and back, goes through every page, sees what
//! she may push in the registry and tries a repository, creates an app password limited to
//! push on `platform/**` in the registry and reads its secret once; `skopeo` then pushes with
//! it through the real `docker-registry` to `platform/` and is refused elsewhere. She revokes
//! it, and it stops working at once. Every page is checked with axe-core (also at 375 px) and
//! photographed into `docs/account/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_tests::browser::{Browser, WIDTH};
use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{Server, TempDir, require};
use serde_json::{Value, json};

const TEST: &str = "account_console_journey_app_password_and_push";
const REALM: &str = "shop";
const SERVICE: &str = "registry.shop.test";
const ALICE_PASSWORD: &str = "Alice-e2e-pw-42!";

fn mapper(name: &str, config: Value) -> Value {
    json!({"name": name, "protocol": "docker-v2",
           "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
}

fn realm_json() -> String {
    json!({
        "realm": REALM,
        "displayName": "Shop",
        "enabled": true,
        "passwordPolicy": "length(12)",
        "groups": [{"name": "platform"}],
        "users": [{"username": "alice", "enabled": true, "email": "alice@shop.test",
                   "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
                   "groups": ["/platform"],
                   "credentials": [{"type": "password", "value": ALICE_PASSWORD}]}],
        "clients": [{
            "clientId": SERVICE, "protocol": "docker-v2", "enabled": true,
            "protocolMappers": [
                mapper("platform-push", json!({"repository": "platform/**", "actions": "push", "group": "/platform"})),
                mapper("other-push", json!({"repository": "other/**", "actions": "push", "subject": "authenticated"})),
            ]
        }]
    })
    .to_string()
}

fn actions(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn account_console_journey_app_password_and_push() {
    let with_registry = require("docker-registry", TEST).is_some()
        && require("skopeo", TEST).is_some()
        && require("tar", TEST).is_some();
    let Some(mut browser) = Browser::start(TEST).await else {
        return;
    };
    browser.save_screenshots_in("docs/account");
    let server = Server::start(&[("shop.json", realm_json())]);
    browser.show_log_on_failure(&server.dir.path().join("server.log"));
    let base = format!("/auth/realms/{REALM}/account");
    let account = |path: &str| server.url(&format!("{base}{path}"));
    let b = &browser;

    // --- Sign in: the console sends a browser without a session to the realm's login, and the
    // login comes back to the page asked for.
    b.goto(&account("/sessions")).await;
    b.wait_for("input#username").await;
    b.wait_for("input#password").await;
    b.page("login").await;
    b.fill("input#username", "alice").await;
    b.fill("input#password", ALICE_PASSWORD).await;
    b.submit("form:has(#password)").await;
    b.wait_for_url("the sessions page after the login", |u| {
        u.path() == format!("{base}/sessions")
    })
    .await;
    b.wait_for(r#"#sessions tr[data-current="true"]"#).await;
    if !b.text("#sessions").await.contains("Chrome") {
        b.fail("the session should show the browser it was started from")
            .await;
    }
    b.page("sessions").await;

    // --- Personal info, with an error beside its field, then saved.
    b.goto(&account("/")).await;
    b.wait_for("form#profile").await;
    b.page("profile").await;
    b.fill("#profile #email", "not-an-address").await;
    b.submit("#profile").await;
    b.wait_for(r#"#email[aria-invalid="true"]"#).await;
    b.wait_for("#email-error").await;
    b.page("profile-error").await;
    b.fill("#profile #email", "alice@shop.test").await;
    b.fill("#profile #firstName", "Alicia").await;
    b.submit("#profile").await;
    b.wait_for(".flash[role=status]").await;

    // --- The other pages.
    for (path, name, ready) in [
        ("/password", "password", "form#password"),
        ("/linked", "linked", "#no-links"),
        ("/docker-logins", "docker-logins", "#no-docker-logins"),
    ] {
        b.goto(&account(path)).await;
        b.wait_for(ready).await;
        b.page(name).await;
    }
    // A password the realm's policy refuses, and the error beside the field.
    b.goto(&account("/password")).await;
    b.fill("#password #password-current", ALICE_PASSWORD).await;
    b.fill("#password #password-new", "short").await;
    b.fill("#password #password-confirm", "short").await;
    b.submit("#password").await;
    b.wait_for(r#"#password-new[aria-invalid="true"]"#).await;
    let error = b.text("#password-new-error").await;
    if !error.contains("minimum length 12") {
        b.fail(&format!("the policy's message beside the field: {error:?}"))
            .await;
    }
    b.page("password-error").await;

    // --- My registry access: push on platform/** through group /platform, and a try.
    b.goto(&account("/registry-access")).await;
    let row = b
        .wait_for(&format!(
            r#"tr[data-registry="{SERVICE}"][data-pattern="platform/**"]"#
        ))
        .await;
    let row_actions = b.attr(&row, "data-actions").await.unwrap_or_default();
    if !actions(&row_actions).contains(&"push") {
        b.fail(&format!("platform/** should grant push: {row_actions:?}"))
            .await;
    }
    b.fill("#try-repository #repository", "platform/api").await;
    b.submit("#try-repository").await;
    let result = b.wait_for("section#try-result").await;
    let granted = b.attr(&result, "data-granted").await.unwrap_or_default();
    if !actions(&granted).contains(&"push") {
        b.fail(&format!("try platform/api should grant push: {granted:?}"))
            .await;
    }
    b.wait_for("#try-verdicts li.hit").await;
    b.page("registry-access").await;

    // --- An app password limited to push on platform/** in the registry.
    b.goto(&account("/app-passwords")).await;
    b.wait_for("#no-app-passwords").await;
    b.page("app-passwords-empty").await;
    b.fill("#create-app-password #name", "CI of platform").await;
    b.select("#create-app-password #registry", SERVICE).await;
    b.fill("#create-app-password #repositories", "platform/**")
        .await;
    b.set_checked("#create-app-password #action-push", true)
        .await;
    b.submit("#create-app-password").await;
    let secret_field = b.wait_for("#app-password-secret").await;
    let secret = b
        .prop(&secret_field, "textContent")
        .await
        .trim()
        .to_string();
    let login = b.text("pre#docker-login").await;
    if !secret.starts_with("pcp_") || login.trim() != format!("docker login -u alice {SERVICE}") {
        b.fail(&format!(
            "the secret should be shown once with a docker login line: {secret:?}, {login:?}"
        ))
        .await;
    }
    b.page("app-password-created").await;
    b.set_width(375).await;
    b.page("app-password-created-375").await;
    b.set_width(WIDTH).await;

    // --- skopeo with the app password through the real registry.
    if with_registry {
        let registry = Registry::for_client(&server, REALM, SERVICE).await;
        let work = TempDir::new("account-image");
        let image = oci_image(work.path());
        let skopeo = Skopeo::new();
        let creds = format!("alice:{secret}");
        assert_ok(
            "the app password pushes platform/api",
            &skopeo.push(&image, &registry.image("platform/api:v1"), Some(&creds)),
        );
        assert_denied(
            "the app password may not push other/api, though alice may",
            &skopeo.push(&image, &registry.image("other/api:v1"), Some(&creds)),
        );
        assert_ok(
            "alice's password pushes other/api",
            &skopeo.push(
                &image,
                &registry.image("other/api:v1"),
                Some(&format!("alice:{ALICE_PASSWORD}")),
            ),
        );

        // The list shows its last use; revoked, it stops working at once.
        b.goto(&account("/app-passwords")).await;
        let row = b
            .wait_for(r#"#app-passwords tr[data-name="CI of platform"][data-status="active"]"#)
            .await;
        let used = b.prop(&row, "textContent").await;
        if used.contains("Never") {
            b.fail(&format!(
                "the list should show the push as its last use: {used}"
            ))
            .await;
        }
        b.page("app-passwords").await;
        b.set_width(375).await;
        b.page("app-passwords-375").await;
        b.set_width(WIDTH).await;
        b.submit(r#"#app-passwords tr[data-name="CI of platform"] form"#)
            .await;
        b.wait_for(r#"#app-passwords tr[data-name="CI of platform"][data-status="revoked"]"#)
            .await;
        assert_denied(
            "the revoked app password pushes nothing",
            &skopeo.push(&image, &registry.image("platform/api:v2"), Some(&creds)),
        );
        drop(registry);
    } else {
        b.goto(&account("/app-passwords")).await;
        b.wait_for(r#"#app-passwords tr[data-name="CI of platform"]"#)
            .await;
        b.page("app-passwords").await;
    }

    // --- Sessions at 375 px, then sign out: the console asks for the login again.
    b.goto(&account("/sessions")).await;
    b.wait_for("#sessions").await;
    b.set_width(375).await;
    b.page("sessions-375").await;
    b.set_width(WIDTH).await;
    b.submit("#sign-out").await;
    b.wait_for("#kc-page-title").await;
    if !b.text("#kc-page-title").await.contains("signed out") {
        b.fail("signing out should say so").await;
    }
    b.goto(&account("/")).await;
    b.wait_for("input#username").await;

    browser.assert_accessible();
    browser.close().await;
}
