//! In-process tests of the browser flows on the real router (the test kit): a fresh database
//! (SQLite, or PostgreSQL in the suite's PostgreSQL run), a realm imported from JSON, a fixed
//! clock, and the kit's cookie-jar "browser" that drives the pages through
//! `tower::ServiceExt::oneshot`, parsing forms out of the HTML as a script would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{StatusCode, header};
use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
use portcullis_store::{AuthCode, CodeRedemption, DeviceCode, DeviceCodeStatus};
use portcullis_testkit::{Browser, HtmlForm, Reply, TestApp, sha256_hex};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "https://id.test/auth/realms/acme";
const PROTO: &str = "/auth/realms/acme/protocol/openid-connect";
const APP_CB: &str = "https://app.test/cb";
/// RFC 7636 appendix B.
const VERIFIER_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn realm_json() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        "displayName": "Acme Corp",
        "users": [
            {"username": "alice", "enabled": true, "email": "alice@acme.test",
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "bob", "enabled": true,
             "credentials": [{"type": "password", "value": "bob-pw"}]},
            {"username": "carol", "enabled": false,
             "credentials": [{"type": "password", "value": "carol-pw"}]}
        ],
        "clients": [
            {"clientId": "app", "enabled": true, "secret": "app-secret",
             "redirectUris": [APP_CB],
             "attributes": {"post.logout.redirect.uris": "https://app.test/bye##+"}},
            {"clientId": "spa", "enabled": true, "publicClient": true,
             "redirectUris": ["https://spa.test/*"]},
            {"clientId": "consent-app", "enabled": true, "secret": "c-secret",
             "consentRequired": true, "name": "Consent <App>",
             "redirectUris": ["https://c.test/cb"]},
            {"clientId": "two", "enabled": true, "secret": "t",
             "redirectUris": ["https://a.two.test/cb", "https://b.two.test/cb"]},
            {"clientId": "off", "enabled": false, "secret": "o",
             "redirectUris": ["https://off.test/cb"]},
            {"clientId": "api", "enabled": true, "bearerOnly": true,
             "redirectUris": ["https://api.test/cb"]},
            {"clientId": "tv", "enabled": true, "publicClient": true, "name": "Living room TV",
             "attributes": {"oauth2.device.authorization.grant.enabled": "true"}}
        ]
    })
}

async fn app() -> TestApp {
    TestApp::builder()
        .realm(realm_json())
        .now(NOW)
        .base_url("https://id.test")
        .build()
        .await
}

fn auth_url(params: &[(&str, &str)]) -> String {
    format!(
        "{PROTO}/auth?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

fn app_request(extra: &[(&'static str, &'static str)]) -> String {
    let mut params = vec![
        ("client_id", "app"),
        ("redirect_uri", APP_CB),
        ("response_type", "code"),
        ("scope", "openid email"),
        ("state", "st-1"),
        ("nonce", "n-1"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    auth_url(&params)
}

/// Checks a code redirect to `redirect_uri` and redeems the code in the store.
async fn redeem(app: &TestApp, page: &Reply, redirect_uri: &str, state: &str) -> AuthCode {
    assert!(
        matches!(page.status, StatusCode::FOUND | StatusCode::SEE_OTHER),
        "{page:?}"
    );
    let location = page.location().unwrap();
    assert!(location.starts_with(redirect_uri), "{location}");
    let params = page.redirect_params();
    assert_eq!(params.get("state").map(String::as_str), Some(state));
    assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
    assert!(!params.contains_key("error"), "{params:?}");
    code_in_store(app, &params["code"]).await
}

async fn code_in_store(app: &TestApp, code: &str) -> AuthCode {
    assert!(code.len() >= 43, "at least 256 bits: {code}");
    match app.store.redeem_auth_code(&sha256_hex(code)).await.unwrap() {
        CodeRedemption::Fresh(c) => c,
        other => panic!("code not fresh: {other:?}"),
    }
}

/// Logs alice in through `app` and returns the code record.
async fn login_alice(app: &TestApp, browser: &mut Browser<'_>) -> AuthCode {
    let page = browser.get(&app_request(&[])).await;
    let done = browser.log_in(&page, "alice", "alice-pw").await;
    redeem(app, &done, APP_CB, "st-1").await
}

#[tokio::test]
async fn full_login_with_pkce_issues_a_single_use_code() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let url = app_request(&[
        ("code_challenge", VERIFIER_CHALLENGE),
        ("code_challenge_method", "S256"),
        ("ui_locales", "se"),
        ("display", "page"),
        ("unknown", "ignored"),
    ]);
    let page = browser.get(&url).await;
    assert!(page.is_login_page(), "{page:?}");
    assert!(page.text().contains("Acme Corp"));
    assert_eq!(page.headers[header::X_FRAME_OPTIONS], "DENY");
    let form = page.form();
    // Absolute, with the form's state in the query, as Keycloak's login form posts.
    assert!(
        form.action
            .contains("/auth/realms/acme/login-actions/authenticate?session_code="),
        "{}",
        form.action
    );
    assert!(form.field("flow").is_some_and(|f| f.len() > 40));
    assert!(browser.jar.contains_key("PORTCULLIS_FORM"));

    let done = browser.log_in(&page, "alice", "alice-pw").await;
    assert_eq!(
        done.status,
        StatusCode::SEE_OTHER,
        "a post is answered with 303"
    );
    let set_cookies = done.set_cookies();
    let session_cookie = set_cookies
        .iter()
        .find(|c| c.starts_with("PORTCULLIS_SESSION="))
        .expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/auth/realms/acme/",
    ] {
        assert!(session_cookie.contains(attribute), "{session_cookie}");
    }
    let params = done.redirect_params();
    let code = redeem(&app, &done, APP_CB, "st-1").await;
    assert_eq!(code.client_id, "app");
    assert_eq!(code.user_id, app.user_id("acme", "alice").await);
    assert_eq!(code.redirect_uri, APP_CB);
    assert_eq!(code.scope, "openid email");
    assert_eq!(code.nonce.as_deref(), Some("n-1"));
    assert_eq!(code.code_challenge.as_deref(), Some(VERIFIER_CHALLENGE));
    assert_eq!(code.code_challenge_method.as_deref(), Some("S256"));
    assert_eq!(code.auth_time, NOW);
    assert_eq!(code.expires_at, NOW + 60);
    let session = app
        .store
        .find_user_session(&code.session_id)
        .await
        .unwrap()
        .expect("the session row");
    assert_eq!(session.id, sha256_hex(&browser.jar["PORTCULLIS_SESSION"]));
    assert!(!session.ended);
    // single use
    assert!(matches!(
        app.store
            .redeem_auth_code(&sha256_hex(&params["code"]))
            .await
            .unwrap(),
        CodeRedemption::Replayed(_)
    ));
}

#[tokio::test]
async fn a_plain_oauth2_request_may_omit_the_sole_redirect_uri() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    // OpenID Connect requires redirect_uri even when the client registered only one.
    let page = browser.get(&app_request(&[("redirect_uri", "")])).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{page:?}");
    assert!(page.location().is_none());
    // Plain OAuth2 does not: the code goes to the sole registered URI, and the code records
    // that none was named, so the exchange is not asked for one (Keycloak's rule).
    let page = browser
        .get(&app_request(&[
            ("redirect_uri", ""),
            ("scope", "profile"),
            ("nonce", ""),
        ]))
        .await;
    let done = browser.log_in(&page, "alice", "alice-pw").await;
    let code = redeem(&app, &done, APP_CB, "st-1").await;
    assert_eq!(code.redirect_uri, "");
    assert_eq!(code.scope, "profile");
}

#[tokio::test]
async fn the_authorization_endpoint_accepts_post() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let fields: Vec<(String, String)> = [
        ("client_id", "app"),
        ("redirect_uri", APP_CB),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "posted"),
    ]
    .iter()
    .map(|(k, v)| ((*k).into(), (*v).into()))
    .collect();
    let page = browser.post(&format!("{PROTO}/auth"), &fields).await;
    assert!(page.is_login_page(), "{page:?}");
    let done = browser.log_in(&page, "alice", "alice-pw").await;
    redeem(&app, &done, APP_CB, "posted").await;
}

#[tokio::test]
async fn untrusted_clients_and_redirect_uris_get_an_error_page_never_a_redirect() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let cases: Vec<(&str, String)> = vec![
        ("unknown client", app_request(&[("client_id", "nope")])),
        (
            "no client",
            auth_url(&[("redirect_uri", APP_CB), ("response_type", "code")]),
        ),
        (
            "disabled client",
            app_request(&[
                ("client_id", "off"),
                ("redirect_uri", "https://off.test/cb"),
            ]),
        ),
        (
            "bearer-only client",
            app_request(&[
                ("client_id", "api"),
                ("redirect_uri", "https://api.test/cb"),
            ]),
        ),
        (
            "unregistered redirect",
            app_request(&[("redirect_uri", "https://evil.test/cb")]),
        ),
        (
            "appended path",
            app_request(&[("redirect_uri", "https://app.test/cb/callback/x")]),
        ),
        (
            "added query",
            app_request(&[("redirect_uri", "https://app.test/cb?foo=bar")]),
        ),
        (
            "omitted with two registered",
            auth_url(&[
                ("client_id", "two"),
                ("response_type", "code"),
                ("scope", "openid"),
            ]),
        ),
        (
            "bad everything",
            app_request(&[
                ("redirect_uri", "https://evil.test/cb"),
                ("response_type", "token"),
            ]),
        ),
    ];
    for (name, url) in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}: {page:?}");
        assert!(page.location().is_none(), "{name}");
        assert!(page.is_error_page(), "{name}: {}", page.text());
        assert!(!page.text().contains("evil.test"), "{name}");
    }
    let page = browser
        .get("/auth/realms/nope/protocol/openid-connect/auth?client_id=app")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.location().is_none());
}

#[tokio::test]
async fn request_errors_go_back_to_the_client_with_state_and_iss() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "token",
            app_request(&[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (
            "missing response_type",
            app_request(&[("response_type", "")]),
            "invalid_request",
        ),
        (
            "request object",
            app_request(&[("request", "e30.e30.")]),
            "request_not_supported",
        ),
        (
            "request uri",
            app_request(&[("request_uri", "https://x.test/r")]),
            "request_uri_not_supported",
        ),
        (
            "public without pkce",
            auth_url(&[
                ("client_id", "spa"),
                ("redirect_uri", "https://spa.test/cb"),
                ("response_type", "code"),
                ("state", "st-1"),
            ]),
            "invalid_request",
        ),
        (
            "public with plain",
            auth_url(&[
                ("client_id", "spa"),
                ("redirect_uri", "https://spa.test/cb"),
                ("response_type", "code"),
                ("state", "st-1"),
                ("code_challenge", VERIFIER_CHALLENGE),
                ("code_challenge_method", "plain"),
            ]),
            "invalid_request",
        ),
        (
            "forged hint",
            app_request(&[("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]),
            "invalid_request",
        ),
    ];
    for (name, url, error) in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::FOUND, "{name}: {page:?}");
        let params = page.redirect_params();
        assert_eq!(
            params.get("error").map(String::as_str),
            Some(error),
            "{name}"
        );
        assert_eq!(params["state"], "st-1", "{name}");
        assert_eq!(params["iss"], ISSUER, "{name}");
        assert!(!params.contains_key("code"), "{name}");
        let description = params.get("error_description").cloned().unwrap_or_default();
        assert!(!description.contains(['"', '\\']), "{name}");
    }
    // A wildcard client gets the error at the exact URI it sent.
    let page = browser
        .get(&auth_url(&[
            ("client_id", "spa"),
            ("redirect_uri", "https://spa.test/deep/cb"),
            ("response_type", "code"),
        ]))
        .await;
    assert!(
        page.location()
            .unwrap()
            .starts_with("https://spa.test/deep/cb?error=invalid_request")
    );
}

#[tokio::test]
async fn wrong_passwords_show_the_same_message_for_every_failure() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&app_request(&[("login_hint", "ali\"ce")]))
        .await;
    assert_eq!(
        page.form().field("username"),
        Some("ali\"ce"),
        "login_hint prefills"
    );
    for (username, password) in [
        ("alice", "wrong"),
        ("nobody", "alice-pw"),
        ("carol", "carol-pw"),
        ("alice", ""),
        ("", "x"),
    ] {
        let again = browser.log_in(&page, username, password).await;
        assert!(again.is_login_page(), "{username}: {again:?}");
        assert!(
            again.text().contains("Invalid username or password."),
            "{username}"
        );
        assert!(
            !browser.jar.contains_key("PORTCULLIS_SESSION"),
            "{username}"
        );
        assert_eq!(again.form().field("username"), Some(username));
    }
    // the page still works after failures
    let done = browser.log_in(&page, "Alice", "alice-pw").await;
    redeem(&app, &done, APP_CB, "st-1").await;
}

#[tokio::test]
async fn login_posts_without_a_matching_form_token_are_rejected() {
    let app = app().await;
    let mut victim = Browser::new(&app);
    let mut attacker = Browser::new(&app);
    let page = attacker.get(&app_request(&[])).await;
    let attacker_form = page
        .form()
        .with("username", "alice")
        .with("password", "alice-pw");
    let victim_page = victim.get(&app_request(&[])).await;
    let victim_form = victim_page
        .form()
        .with("username", "alice")
        .with("password", "alice-pw");

    let mut tampered = victim_form.field("flow").unwrap().to_string();
    tampered.insert(tampered.len() - 5, 'A');
    let cases: Vec<(&str, HtmlForm)> = vec![
        ("missing token", {
            // Neither in the field nor in the URL.
            let mut form = victim_form.clone().without("flow");
            form.action = form
                .action
                .split('?')
                .next()
                .unwrap_or_default()
                .to_string();
            form
        }),
        ("another browser's token", attacker_form.clone()),
        (
            "tampered token",
            victim_form.clone().with("flow", &tampered),
        ),
    ];
    for (name, form) in cases {
        let page = victim.submit(&form).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}: {page:?}");
        assert!(page.is_error_page(), "{name}");
        assert!(!victim.jar.contains_key("PORTCULLIS_SESSION"), "{name}");
    }
    // no form cookie at all
    let mut cookieless = Browser::new(&app);
    let page = cookieless.submit(&victim_form).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // the genuine form still works
    let done = victim.submit(&victim_form).await;
    redeem(&app, &done, APP_CB, "st-1").await;
}

#[tokio::test]
async fn a_stale_login_page_restarts_instead_of_failing() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&app_request(&[])).await;
    app.clock.advance(1800);
    let again = browser.log_in(&page, "alice", "alice-pw").await;
    assert!(again.is_login_page(), "{again:?}");
    assert!(again.text().contains("timed out"));
    assert!(!browser.jar.contains_key("PORTCULLIS_SESSION"));
    let done = browser.log_in(&again, "alice", "alice-pw").await;
    redeem(&app, &done, APP_CB, "st-1").await;
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&app_request(&[("prompt", "none")])).await;
    assert_eq!(page.status, StatusCode::FOUND);
    let params = page.redirect_params();
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "st-1");
    assert_eq!(params["iss"], ISSUER);
}

#[tokio::test]
async fn sso_prompt_login_and_max_age() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let first = login_alice(&app, &mut browser).await;

    // A second authorization needs no login; prompt=none works silently.
    app.clock.advance(10);
    for extra in [
        &[][..],
        &[("prompt", "none")][..],
        &[("max_age", "15000")][..],
    ] {
        let page = browser.get(&app_request(extra)).await;
        assert_eq!(page.status, StatusCode::FOUND, "{extra:?}: {page:?}");
        let code = redeem(&app, &page, APP_CB, "st-1").await;
        assert_eq!(code.session_id, first.session_id);
        assert_eq!(code.auth_time, first.auth_time);
    }

    // prompt=login forces a new login, which moves auth_time.
    app.clock.advance(10);
    let page = browser.get(&app_request(&[("prompt", "login")])).await;
    assert!(page.is_login_page());
    let done = browser.log_in(&page, "alice", "alice-pw").await;
    let relogged = redeem(&app, &done, APP_CB, "st-1").await;
    assert_eq!(relogged.auth_time, NOW + 20);
    assert_ne!(relogged.session_id, first.session_id);
    let old = app
        .store
        .find_user_session(&first.session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(old.ended, "the replaced session is ended");

    // max_age: older than allowed means a new login.
    app.clock.advance(5);
    let page = browser.get(&app_request(&[("max_age", "1")])).await;
    assert!(page.is_login_page(), "{page:?}");
    let page = browser
        .get(&app_request(&[("max_age", "1"), ("prompt", "none")]))
        .await;
    assert_eq!(page.redirect_params()["error"], "login_required");
    let page = browser.get(&app_request(&[("max_age", "5")])).await;
    redeem(&app, &page, APP_CB, "st-1").await;

    // Idle timeout: 1800 s without use ends the SSO.
    app.clock.advance(1800);
    let page = browser.get(&app_request(&[])).await;
    assert!(page.is_login_page(), "idle session: {page:?}");
}

#[tokio::test]
async fn id_token_hint_with_prompt_none() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let code = login_alice(&app, &mut browser).await;
    let alice = id_token(&app, &code.user_id, &code.session_id).await;
    let page = browser
        .get(&app_request(&[
            ("prompt", "none"),
            ("id_token_hint", leak(alice)),
        ]))
        .await;
    redeem(&app, &page, APP_CB, "st-1").await;
    let bob = id_token(&app, &app.user_id("acme", "bob").await, "other").await;
    let page = browser
        .get(&app_request(&[
            ("prompt", "none"),
            ("id_token_hint", leak(bob)),
        ]))
        .await;
    assert_eq!(page.redirect_params()["error"], "login_required");
}

#[tokio::test]
async fn consent_accept_then_remembered_and_cancel() {
    let app = app().await;
    let consent_request = |extra: &[(&'static str, &'static str)]| {
        let mut params = vec![
            ("client_id", "consent-app"),
            ("redirect_uri", "https://c.test/cb"),
            ("response_type", "code"),
            ("scope", "openid email phone"),
            ("state", "c-1"),
        ];
        params.extend_from_slice(extra);
        auth_url(&params)
    };
    let mut browser = Browser::new(&app);
    let page = browser.get(&consent_request(&[("prompt", "none")])).await;
    assert_eq!(page.redirect_params()["error"], "login_required");

    let page = browser.get(&consent_request(&[])).await;
    let consent = browser.log_in(&page, "alice", "alice-pw").await;
    assert_eq!(consent.status, StatusCode::OK, "{consent:?}");
    assert!(
        consent
            .text()
            .contains("Grant access to Consent &lt;App&gt;?")
    );
    assert!(consent.text().contains("Email address") && consent.text().contains("Phone number"));
    let forms = consent.forms();
    assert_eq!(forms.len(), 2, "accept and cancel");
    assert_eq!(forms[0].field("decision"), Some("accept"));
    assert_eq!(forms[1].field("decision"), Some("deny"));

    // prompt=none while consent is missing
    let page = browser.get(&consent_request(&[("prompt", "none")])).await;
    assert_eq!(page.redirect_params()["error"], "consent_required");

    let done = browser.submit(&forms[0]).await;
    let code = redeem(&app, &done, "https://c.test/cb", "c-1").await;
    let alice = app.user_id("acme", "alice").await;
    let granted = app
        .store
        .granted_scopes(&app.realm_id("acme").await, &alice, "consent-app")
        .await
        .unwrap();
    for scope in ["email", "phone", "profile"] {
        assert!(granted.iter().any(|g| g == scope), "{scope}: {granted:?}");
    }
    assert_eq!(code.scope, "openid email phone");

    // Remembered: no consent page next time, even with prompt=none.
    let page = browser.get(&consent_request(&[("prompt", "none")])).await;
    redeem(&app, &page, "https://c.test/cb", "c-1").await;
    // prompt=consent asks again; cancelling is access_denied.
    let page = browser
        .get(&consent_request(&[("prompt", "consent")]))
        .await;
    let cancel = page.forms()[1].clone();
    let denied = browser.submit(&cancel).await;
    assert_eq!(denied.status, StatusCode::SEE_OTHER);
    let params = denied.redirect_params();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "c-1");
    assert_eq!(params["iss"], ISSUER);

    // A consent form posted from another browser is refused.
    let page = browser
        .get(&consent_request(&[("prompt", "consent")]))
        .await;
    let mut other = Browser::new(&app);
    let refused = other.submit(&page.forms()[0]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // A login form token is no consent token.
    let login_page = browser.get(&app_request(&[("prompt", "login")])).await;
    let crossed = HtmlForm {
        action: page.forms()[0].action.clone(),
        fields: vec![
            (
                "flow".into(),
                login_page.form().field("flow").unwrap().into(),
            ),
            ("decision".into(), "accept".into()),
        ],
    };
    assert_eq!(
        browser.submit(&crossed).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn form_post_and_fragment_response_modes() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&app_request(&[("response_mode", "form_post")]))
        .await;
    let posted = browser.log_in(&page, "alice", "alice-pw").await;
    assert_eq!(posted.status, StatusCode::OK);
    assert!(posted.text().contains("document.forms[0].submit()"));
    let csp = posted.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    let form = posted.form();
    assert_eq!(form.action, APP_CB);
    assert_eq!(form.field("state"), Some("st-1"));
    assert_eq!(form.field("iss"), Some(ISSUER));
    code_in_store(&app, form.field("code").unwrap()).await;

    let page = browser
        .get(&app_request(&[("response_mode", "fragment")]))
        .await;
    let location = page.location().unwrap().to_owned();
    assert!(
        location.starts_with("https://app.test/cb#code="),
        "{location}"
    );
    redeem(&app, &page, APP_CB, "st-1").await;

    let page = browser
        .get(&app_request(&[
            ("response_mode", "form_post"),
            ("prompt", "none"),
            ("client_id", "app"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.form().field("code").is_some());
}

/// An ID token as the token endpoint would mint it, signed with the realm's RS256 key.
async fn id_token(app: &TestApp, sub: &str, sid: &str) -> String {
    let snapshot = app
        .store
        .load_realm_snapshot("acme")
        .await
        .unwrap()
        .unwrap();
    let key = snapshot.signing_key(Algorithm::Rs256).unwrap();
    sign(key, sub, sid, ISSUER)
}

fn sign(key: &SigningKey, sub: &str, sid: &str, issuer: &str) -> String {
    let header =
        json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.thumbprint_kid()});
    let claims = json!({
        "iss": issuer, "sub": sub, "aud": "app", "azp": "app", "typ": "ID", "sid": sid,
        "iat": NOW - 3600, "exp": NOW - 3000, "auth_time": NOW - 3600,
    });
    key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .unwrap()
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn logout_url(params: &[(&str, &str)]) -> String {
    format!(
        "{PROTO}/logout?{}",
        serde_urlencoded::to_string(params).unwrap()
    )
}

#[tokio::test]
async fn logout_with_id_token_hint_redirects_with_state() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let code = login_alice(&app, &mut browser).await;
    let hint = id_token(&app, &code.user_id, &code.session_id).await;
    let page = browser
        .get(&logout_url(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", "https://app.test/bye"),
            ("state", "bye-1"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::FOUND, "{page:?}");
    assert_eq!(page.location(), Some("https://app.test/bye?state=bye-1"));
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("PORTCULLIS_SESSION=;"))
    );
    let session = app
        .store
        .find_user_session(&code.session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(session.ended);
    let page = browser.get(&app_request(&[("prompt", "none")])).await;
    assert_eq!(page.redirect_params()["error"], "login_required");

    // `+` in the attribute allows the redirect URIs too; no state, no state parameter.
    let page = browser
        .get(&logout_url(&[
            ("client_id", "app"),
            ("post_logout_redirect_uri", APP_CB),
        ]))
        .await;
    assert_eq!(page.location(), Some(APP_CB));
}

#[tokio::test]
async fn logout_never_redirects_to_an_unverified_uri() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let code = login_alice(&app, &mut browser).await;
    let hint = id_token(&app, &code.user_id, &code.session_id).await;
    let foreign_key = {
        let material = KeyMaterial::generate(Algorithm::Rs256, "evil", NOW).unwrap();
        SigningKey::from_material(&material).unwrap()
    };
    let forged = sign(&foreign_key, &code.user_id, &code.session_id, ISSUER);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "unregistered",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.test/"),
            ],
        ),
        (
            "query added",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://app.test/bye?foo=bar"),
            ],
        ),
        (
            "no hint, no client",
            vec![("post_logout_redirect_uri", "https://app.test/bye")],
        ),
        (
            "forged hint",
            vec![
                ("id_token_hint", &forged),
                ("post_logout_redirect_uri", "https://app.test/bye"),
            ],
        ),
        (
            "alg none hint",
            vec![
                ("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
                ("post_logout_redirect_uri", "https://app.test/bye"),
            ],
        ),
        (
            "client mismatch",
            vec![
                ("id_token_hint", &hint),
                ("client_id", "spa"),
                ("post_logout_redirect_uri", "https://app.test/bye"),
            ],
        ),
        (
            "unknown client",
            vec![
                ("client_id", "nope"),
                ("post_logout_redirect_uri", "https://app.test/bye"),
            ],
        ),
    ];
    for (name, params) in cases {
        let page = browser.get(&logout_url(&params)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{name}: {page:?}");
        assert!(page.location().is_none(), "{name}");
        assert!(page.is_error_page(), "{name}");
    }
    let session = app
        .store
        .find_user_session(&code.session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!session.ended, "refused logouts end nothing");
}

#[tokio::test]
async fn logout_without_a_hint_asks_for_confirmation() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let code = login_alice(&app, &mut browser).await;
    let page = browser
        .get(&logout_url(&[
            ("client_id", "app"),
            ("post_logout_redirect_uri", "https://app.test/bye"),
            ("state", "s"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Do you want to log out"));
    let confirm = page.form();
    assert_eq!(confirm.action, "/auth/realms/acme/login-actions/logout");
    // a confirmation posted by another browser does nothing
    let mut other = Browser::new(&app);
    assert_eq!(other.submit(&confirm).await.status, StatusCode::BAD_REQUEST);
    let session = app
        .store
        .find_user_session(&code.session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!session.ended);

    let done = browser.submit(&confirm).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), Some("https://app.test/bye?state=s"));
    let session = app
        .store
        .find_user_session(&code.session_id)
        .await
        .unwrap()
        .unwrap();
    assert!(session.ended);
    assert!(!browser.jar.contains_key("PORTCULLIS_SESSION"));

    // No parameters and no session: the logged-out page.
    let page = browser.get(&format!("{PROTO}/logout")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("You are logged out"));

    // With a session but no redirect: confirm, then the logged-out page.
    login_alice(&app, &mut browser).await;
    let page = browser.get(&format!("{PROTO}/logout")).await;
    let done = browser.submit(&page.form()).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.text().contains("You are logged out"));
}

async fn device_code(app: &TestApp, user_code: &str, expires_in: i64) -> String {
    let hash = sha256_hex(&format!("device-secret-{user_code}"));
    app.store
        .insert_device_code(&DeviceCode {
            device_code_hash: hash.clone(),
            user_code: user_code.into(),
            realm_id: app.realm_id("acme").await,
            client_id: "tv".into(),
            scope: "openid profile".into(),
            created_at: NOW,
            expires_at: NOW + expires_in,
            interval: 5,
            last_polled_at: None,
            status: DeviceCodeStatus::Pending,
        })
        .await
        .unwrap();
    hash
}

async fn device_status(app: &TestApp, hash: &str) -> DeviceCodeStatus {
    app.store
        .find_device_code(hash)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn device_verification_login_and_approval() {
    let app = app().await;
    let approved = device_code(&app, "BCDFGHJK", 600).await;
    let denied = device_code(&app, "LMNPQRST", 600).await;
    let _expired = device_code(&app, "VWXZBCDF", 10).await;
    let mut browser = Browser::new(&app);

    let page = browser
        .get("/auth/realms/acme/device?user_code=bcdfghjk")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let form = page.form();
    assert_eq!(form.action, "/auth/realms/acme/login-actions/device");
    assert_eq!(form.field("device_user_code"), Some("BCDF-GHJK"));
    // the protocol-relative page is the same form
    let page2 = browser.get(&format!("{PROTO}/device")).await;
    assert_eq!(page2.form().field("device_user_code"), Some(""));

    // unknown and expired codes
    app.clock.advance(20);
    for code in ["ZZZZ-ZZZZ", "VWXZ-BCDF"] {
        let page = browser
            .submit(&form.clone().with("device_user_code", code))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{code}");
        assert!(page.text().contains("Invalid or expired code"), "{code}");
    }

    // no session: log in, then approve
    let login = browser.submit(&form).await;
    let consent = browser.log_in(&login, "alice", "alice-pw").await;
    assert_eq!(consent.status, StatusCode::OK, "{consent:?}");
    assert!(consent.text().contains("Grant access to Living room TV?"));
    assert_eq!(
        device_status(&app, &approved).await,
        DeviceCodeStatus::Pending
    );
    let done = browser.submit(&consent.forms()[0]).await;
    assert!(done.text().contains("Device login successful"), "{done:?}");
    match device_status(&app, &approved).await {
        DeviceCodeStatus::Approved {
            user_id: approver,
            session_id,
            auth_time,
        } => {
            assert_eq!(approver, app.user_id("acme", "alice").await);
            assert_eq!(session_id, sha256_hex(&browser.jar["PORTCULLIS_SESSION"]));
            assert_eq!(auth_time, NOW + 20);
        }
        other => panic!("{other:?}"),
    }
    // an answered code cannot be answered again
    let again = browser.submit(&consent.forms()[0]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);

    // with a session: straight to the approval page; deny
    let page = browser.get("/auth/realms/acme/device").await;
    let consent = browser
        .submit(&page.form().with("device_user_code", "lmnp-qrst"))
        .await;
    assert!(consent.text().contains("Living room TV"), "{consent:?}");
    let done = browser.submit(&consent.forms()[1]).await;
    assert!(done.text().contains("Access denied"));
    assert_eq!(device_status(&app, &denied).await, DeviceCodeStatus::Denied);

    // the code form is CSRF-protected too
    let mut other = Browser::new(&app);
    assert_eq!(other.submit(&form).await.status, StatusCode::BAD_REQUEST);
}

/// A temporary password: signing in with it shows the update-password page before the login
/// finishes; the new password must match its confirmation and pass the realm policy, then the
/// code is issued, the old password and the used form are worthless, and grants without a
/// browser work again.
#[tokio::test]
async fn a_temporary_password_must_be_replaced_at_login() {
    let app = TestApp::builder()
        .realm(json!({
            "realm": "acme",
            "enabled": true,
            "passwordPolicy": "length(10) and passwordHistory(1)",
            "users": [{"username": "tom", "enabled": true,
                       "credentials": [{"type": "password", "value": "temporary-1",
                                        "temporary": true}]}],
            "clients": [{"clientId": "app", "secret": "app-secret", "redirectUris": [APP_CB],
                         "directAccessGrantsEnabled": true}]
        }))
        .now(NOW)
        .base_url("https://id.test")
        .build()
        .await;
    let token = |password: &'static str| {
        let app = &app;
        async move {
            let form = [
                ("grant_type", "password"),
                ("username", "tom"),
                ("password", password),
                ("client_id", "app"),
                ("client_secret", "app-secret"),
            ];
            app.post_form(&format!("{PROTO}/token"), None, &form).await
        }
    };
    token("temporary-1")
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert!(
        token("temporary-1")
            .await
            .text()
            .contains("Account is not fully set up")
    );

    let mut browser = Browser::new(&app);
    let page = browser.get(&app_request(&[])).await;
    let update = browser.log_in(&page, "tom", "temporary-1").await;
    assert_eq!(update.status, StatusCode::OK, "{update:?}");
    let form = update.form();
    assert!(
        form.action.ends_with("/login-actions/required-action"),
        "{}",
        form.action
    );
    let text = update.text();
    assert!(text.contains("You need to change your password"), "{text}");

    let mismatch = browser
        .submit(
            &form
                .clone()
                .with("password-new", "brand-new-1")
                .with("password-confirm", "other"),
        )
        .await;
    assert!(
        mismatch.text().contains("Passwords don&#x27;t match."),
        "{}",
        mismatch.text()
    );
    assert!(mismatch.text().contains(r#"name="password-confirm" type="password" autocomplete="new-password" required aria-invalid="true""#));
    let short = browser
        .submit(
            &form
                .clone()
                .with("password-new", "short")
                .with("password-confirm", "short"),
        )
        .await;
    assert!(
        short
            .text()
            .contains("Invalid password: minimum length 10."),
        "{}",
        short.text()
    );
    let same = browser
        .submit(
            &form
                .clone()
                .with("password-new", "temporary-1")
                .with("password-confirm", "temporary-1"),
        )
        .await;
    assert!(
        same.text().contains("must not be equal to any of last"),
        "{}",
        same.text()
    );

    let done = browser
        .submit(
            &form
                .clone()
                .with("password-new", "brand-new-1")
                .with("password-confirm", "brand-new-1"),
        )
        .await;
    redeem(&app, &done, APP_CB, "st-1").await;
    // The used form is worthless now: it asks to sign in again.
    let replay = browser
        .submit(
            &form
                .with("password-new", "evil-choice-1")
                .with("password-confirm", "evil-choice-1"),
        )
        .await;
    assert!(replay.is_login_page(), "{replay:?}");
    token("temporary-1")
        .await
        .assert_oauth_error(401, "invalid_grant");
    assert_eq!(
        token("evil-choice-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token("brand-new-1").await.status, StatusCode::OK);
}

/// A registered wildcard does not stretch to URIs whose dot segments lead elsewhere: the
/// authorization endpoint shows its own error page instead of redirecting (no code is issued).
#[tokio::test]
async fn wildcard_redirects_refuse_dot_segments() {
    let app = app().await;
    for uri in [
        "https://spa.test/cb/../../evil",
        "https://spa.test/cb/%2e%2e/%2e%2e/evil",
        "https://spa.test/cb/%252e%252e/evil",
        "https://spa.test/cb/..;/evil",
        "https://spa.test@evil.test/cb",
    ] {
        let url = auth_url(&[
            ("client_id", "spa"),
            ("redirect_uri", uri),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", VERIFIER_CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let reply = app.get(&url, None).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.is_error_page(), "{uri}: {reply:?}");
        assert!(reply.location().is_none(), "{uri}");
    }
    let fine = auth_url(&[
        ("client_id", "spa"),
        ("redirect_uri", "https://spa.test/cb/deep"),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge", VERIFIER_CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    assert!(app.get(&fine, None).await.is_login_page());
}
