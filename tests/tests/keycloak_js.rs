//! keycloak-js 26 with its defaults against the real server, in headless chromium: an
//! application page served by this test on another port (another origin) loads keycloak-js from
//! `tests/interop/node_modules`. `init({onLoad: 'login-required'})` signs alice in through the
//! realm's login page (PKCE S256, fragment response mode, the third-party-cookie probe and the
//! session iframe, all defaults); `check-sso` with `silentCheckSsoRedirectUri` in a new tab is
//! authenticated without a login page or a redirect; `updateToken(-1)` refreshes;
//! `loadUserProfile()` reads the account profile; `logout()` ends the session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use portcullis_tests::browser::Browser;
use portcullis_tests::{Server, e2e_required, workspace_root};
use serde_json::{Value, json};

const TEST: &str = "keycloak_js_26_with_defaults";
const WAIT: Duration = Duration::from_secs(15);

fn realm(app_origin: &str) -> String {
    json!({
        "realm": "apps",
        "enabled": true,
        "clients": [{"clientId": "spa", "enabled": true, "publicClient": true,
                     "redirectUris": [format!("{app_origin}/*")], "webOrigins": ["+"],
                     "attributes": {"post.logout.redirect.uris": "+"}}],
        // Keycloak's default roles give every user these account roles (a Keycloak export
        // lists them); `loadUserProfile()` needs a token meant for the account.
        "users": [{"username": "alice", "enabled": true, "email": "alice@example.test",
                   "firstName": "Alice", "lastName": "Liddell",
                   "clientRoles": {"account": ["view-profile", "manage-account"]},
                   "credentials": [{"type": "password", "value": "alice-pw"}]}]
    })
    .to_string()
}

/// The application: `?mode=login` runs `login-required`, `?mode=check` runs `check-sso` with
/// a silent check page. `#status` says how `init` ended; `sessionStorage.loads` counts the
/// documents this tab loaded (a redirect through the server adds one).
fn app_page(server: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>keycloak-js app</title></head>
<body><pre id="status">loading</pre>
<script type="module">
import Keycloak from "/keycloak.js";
sessionStorage.loads = String(Number(sessionStorage.loads || 0) + 1);
const mode = new URLSearchParams(location.search).get("mode");
const kc = new Keycloak({{ url: "{server}/auth", realm: "apps", clientId: "spa" }});
window.kc = kc;
const options = mode === "check"
  ? {{ onLoad: "check-sso", silentCheckSsoRedirectUri: location.origin + "/silent-check-sso.html" }}
  : {{ onLoad: "login-required" }};
const status = document.getElementById("status");
kc.init(options).then(
  (ok) => {{ status.textContent = ok ? "authenticated" : "anonymous"; }},
  (e) => {{ status.textContent = "error: " + (e && e.message ? e.message : JSON.stringify(e)); }});
</script></body></html>"#
    )
}

const SILENT_CHECK_SSO: &str = r#"<!doctype html>
<html><body><script>parent.postMessage(location.href, location.origin);</script></body></html>"#;

/// Serves the application on `listener` until the test ends.
fn serve_app(listener: tokio::net::TcpListener, server: String, keycloak_js: String) {
    let page = app_page(&server);
    let app = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/silent-check-sso.html",
            get(|| async { Html(SILENT_CHECK_SSO) }),
        )
        .route(
            "/keycloak.js",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/javascript")], keycloak_js).into_response()
            }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

/// Runs `script` (its last argument is the callback) and returns what it passed.
async fn call(b: &Browser, what: &str, script: &str) -> Value {
    match b.client().execute_async(script, vec![]).await {
        Ok(value) => value,
        Err(e) => b.fail(&format!("{what}: {e}")).await,
    }
}

/// Waits until the app's `#status` is no longer `loading` and returns it.
async fn init_status(b: &Browser) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = b
            .client()
            .execute(
                "const s = document.getElementById('status'); return s ? s.textContent : '';",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !status.is_empty() && status != "loading" {
            return status;
        }
        if Instant::now() >= deadline {
            b.fail(&format!("keycloak-js init did not finish within {WAIT:?}"))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn loads(b: &Browser) -> i64 {
    let value = b
        .client()
        .execute("return Number(sessionStorage.loads || 0);", vec![])
        .await
        .unwrap();
    value.as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn keycloak_js_26_with_defaults() {
    let keycloak_js_path =
        workspace_root().join("tests/interop/node_modules/keycloak-js/lib/keycloak.js");
    let Ok(keycloak_js) = std::fs::read_to_string(&keycloak_js_path) else {
        assert!(
            !e2e_required(),
            "{TEST}: {} is missing (npm ci --prefix tests/interop) and PORTCULLIS_REQUIRE_E2E=1",
            keycloak_js_path.display()
        );
        eprintln!("SKIPPED {TEST}: keycloak-js is not installed (npm ci --prefix tests/interop)");
        return;
    };
    let Some(mut browser) = Browser::start(TEST).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_origin = format!("http://{}", listener.local_addr().unwrap());
    let server = Server::start(&[("apps.json", realm(&app_origin))]);
    browser.show_log_on_failure(&server.dir.path().join("server.log"));
    let base = server.url("");
    serve_app(listener, base.clone(), keycloak_js);
    let b = &browser;

    // --- login-required: the realm's login page, then back in the app, authenticated.
    b.goto(&format!("{app_origin}/?mode=login")).await;
    b.wait_for_url("the realm's login page", |u| {
        u.path().starts_with("/auth/realms/apps/")
    })
    .await;
    b.fill("input#username", "alice").await;
    b.fill("input#password", "alice-pw").await;
    b.submit("form:has(#password)").await;
    b.wait_for_url("the application after the login", |u| {
        u.as_str().starts_with(&app_origin)
    })
    .await;
    let status = init_status(b).await;
    if status != "authenticated" {
        b.fail(&format!("login-required ended as {status:?}")).await;
    }
    let parsed = call(
        b,
        "reading the token",
        "const done = arguments[0]; done({user: kc.tokenParsed.preferred_username, \
         token: kc.token, sid: kc.sessionId});",
    )
    .await;
    assert_eq!(parsed["user"], "alice", "{parsed}");
    let first_token = parsed["token"].as_str().unwrap().to_string();
    assert!(
        parsed["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "{parsed}"
    );

    // The third-party-cookie probe said "supported", so the session iframe is in place.
    let frames = call(
        b,
        "listing keycloak-js's frames",
        "arguments[0](Array.from(document.querySelectorAll('iframe')).map(f => f.title));",
    )
    .await;
    if !frames
        .as_array()
        .is_some_and(|f| f.contains(&json!("keycloak-session-iframe")))
    {
        b.fail(&format!("no session iframe; frames: {frames}"))
            .await;
    }

    // --- updateToken(-1): the session iframe says "unchanged" (else keycloak-js would clear
    // the tokens), then a refresh grant (CORS).
    let refreshed = call(
        b,
        "updateToken(-1)",
        "const done = arguments[0]; kc.updateToken(-1).then(\
           (r) => done({refreshed: r, token: kc.token, authenticated: kc.authenticated}), \
           (e) => done({error: String(e && e.message || e)}));",
    )
    .await;
    if refreshed["refreshed"] != true || refreshed["authenticated"] != true {
        b.fail(&format!("updateToken(-1) answered {refreshed}"))
            .await;
    }
    assert_ne!(refreshed["token"].as_str().unwrap(), first_token);

    // --- loadUserProfile(): the account profile JSON, cross-origin with the bearer token.
    let profile = call(
        b,
        "loadUserProfile()",
        "const done = arguments[0]; kc.loadUserProfile().then(\
           (p) => done(p), (e) => done({error: String(e && e.message || e)}));",
    )
    .await;
    if profile["username"] != "alice" || profile["email"] != "alice@example.test" {
        b.fail(&format!("loadUserProfile() answered {profile}"))
            .await;
    }

    // --- check-sso in a new tab: authenticated through the silent iframe, no login page and
    // no redirect of the tab.
    let tab = b.client().new_window(true).await.unwrap();
    b.client().switch_to_window(tab.handle).await.unwrap();
    b.goto(&format!("{app_origin}/?mode=check")).await;
    let status = init_status(b).await;
    if status != "authenticated" {
        b.fail(&format!("check-sso in a new tab ended as {status:?}"))
            .await;
    }
    assert_eq!(loads(b).await, 1, "check-sso went through a redirect");
    let user = call(
        b,
        "the check-sso token",
        "arguments[0](kc.tokenParsed.preferred_username);",
    )
    .await;
    assert_eq!(user, "alice");
    let token = call(b, "the check-sso token", "arguments[0](kc.token);").await;
    let token = token.as_str().unwrap().to_string();

    // --- logout(): through the server's logout and back; the session is over.
    let _ = b
        .client()
        .execute(
            "kc.logout({redirectUri: location.origin + '/?mode=check'});",
            vec![],
        )
        .await;
    b.wait_for_url("the application after logout", |u| {
        u.as_str().starts_with(&app_origin) && u.query() == Some("mode=check")
    })
    .await;
    let deadline = Instant::now() + WAIT;
    while loads(b).await < 2 {
        if Instant::now() >= deadline {
            b.fail("logout did not come back to the application").await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = init_status(b).await;
    if status != "anonymous" {
        b.fail(&format!("after logout check-sso ended as {status:?}"))
            .await;
    }
    let account = reqwest::Client::new()
        .get(format!("{base}/auth/realms/apps/account"))
        .header("accept", "application/json")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        account.status().as_u16(),
        401,
        "the access token outlived the logout"
    );
    browser.close().await;
}
