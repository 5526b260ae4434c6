//! In-process tests of what keycloak-js needs beyond plain OIDC, on the real router (the test
//! kit): the session iframe and its `init` check, the third-party-cookie probe, who may frame
//! them, `check_session_iframe` in discovery, CORS on `certs`, the session-status cookie, and
//! the page for registration. (The account profile JSON is `portcullis-account`'s, tested
//! there.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_lc_rs::digest;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_testkit::{Browser, Reply, TestApp, request};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;
const OIDC: &str = "/auth/realms/acme/protocol/openid-connect";
const SPA: &str = "https://spa.test";

fn acme() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true, "email": "alice@acme.test",
                   "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
                   "attributes": {"department": ["wonderland"]},
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [
            {"clientId": "spa", "enabled": true, "publicClient": true,
             "redirectUris": ["https://spa.test/*"], "webOrigins": ["+"],
             "attributes": {"post.logout.redirect.uris": "+"}},
            {"clientId": "other", "enabled": true, "publicClient": true,
             "redirectUris": ["https://other.test/cb"], "webOrigins": ["https://other.test"]},
            {"clientId": "off", "enabled": false, "publicClient": true,
             "redirectUris": ["https://off.test/cb"], "webOrigins": ["https://off.test"]},
            {"clientId": "sneaky", "enabled": true, "publicClient": true,
             "redirectUris": ["https://sneaky.test/cb"],
             "webOrigins": ["https://x.test; script-src *"]}
        ]
    })
}

fn zeta() -> Value {
    json!({
        "realm": "zeta",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [{"clientId": "spa", "enabled": true, "publicClient": true,
                     "redirectUris": ["https://spa.test/*"], "webOrigins": ["+"]}]
    })
}

async fn app() -> TestApp {
    TestApp::builder()
        .realms([acme(), zeta()])
        .now(NOW)
        .base_url("https://id.test")
        .build()
        .await
}

async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = request(Method::GET, path, None);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    app.send(builder.body(Body::empty()).unwrap()).await
}

fn directive<'a>(csp: &'a str, name: &str) -> &'a str {
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix(name))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {csp}"))
}

#[tokio::test]
async fn init_answers_204_only_for_an_origin_the_client_allows() {
    let app = app().await;
    // (client_id, origin, status)
    let rows = [
        ("spa", SPA, StatusCode::NO_CONTENT),
        ("other", "https://other.test", StatusCode::NO_CONTENT),
        // The server's own origin, as Keycloak allows it.
        ("spa", "https://id.test", StatusCode::NO_CONTENT),
        ("spa", "https://other.test", StatusCode::FORBIDDEN),
        ("spa", "https://evil.test", StatusCode::FORBIDDEN),
        ("spa", "https://spa.test.evil.test", StatusCode::FORBIDDEN),
        ("other", SPA, StatusCode::FORBIDDEN),
        ("off", "https://off.test", StatusCode::FORBIDDEN),
        ("nobody", SPA, StatusCode::FORBIDDEN),
    ];
    for (client, origin, expected) in rows {
        let query = serde_urlencoded::to_string([("client_id", client), ("origin", origin)]);
        let reply = app
            .get(
                &format!("{OIDC}/login-status-iframe.html/init?{}", query.unwrap()),
                None,
            )
            .await;
        assert_eq!(reply.status, expected, "{client} {origin}");
    }
    let missing = app
        .get(
            &format!("{OIDC}/login-status-iframe.html/init?client_id=spa"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let nowhere = app
        .get(
            "/auth/realms/nowhere/protocol/openid-connect/login-status-iframe.html/init?client_id=spa&origin=https%3A%2F%2Fspa.test",
            None,
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn helper_frames_may_be_framed_only_by_the_clients_web_origins() {
    let app = app().await;
    for page in [
        "login-status-iframe.html",
        "3p-cookies/step1.html",
        "3p-cookies/step2.html",
    ] {
        let reply = app.get(&format!("{OIDC}/{page}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{page}");
        assert_eq!(
            reply.header(header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        let csp = reply.header(header::CONTENT_SECURITY_POLICY);
        // The enabled clients' web origins only: not the disabled client's, not the origin
        // that tries to smuggle a directive in.
        let mut ancestors: Vec<&str> = directive(csp, "frame-ancestors").split(' ').collect();
        ancestors.sort_unstable();
        assert_eq!(
            ancestors,
            ["'self'", "https://other.test", "https://spa.test"],
            "{page}"
        );
        assert_eq!(directive(csp, "script-src"), "'self'", "{page}");
        assert_eq!(directive(csp, "default-src"), "'none'", "{page}");
        assert!(
            !reply.headers.contains_key(header::X_FRAME_OPTIONS),
            "{page}"
        );
        let body = reply.text();
        assert!(!body.contains("<script>"), "no inline script: {body}");
        let script = body
            .split("src=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap();
        let dir = page.rsplit_once('/').map_or("", |(d, _)| d);
        let script_path = if dir.is_empty() {
            format!("{OIDC}/{script}")
        } else {
            format!("{OIDC}/{dir}/{script}")
        };
        let js = app.get(&script_path, None).await;
        assert_eq!(js.status, StatusCode::OK, "{script_path}");
        assert_eq!(
            js.header(header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert!(js.text().contains("postMessage"), "{script_path}");
    }
    let unknown = app
        .get(
            "/auth/realms/nowhere/protocol/openid-connect/login-status-iframe.html",
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // Every other page still refuses to be framed.
    let login = app
        .get(
            &format!(
                "{OIDC}/auth?client_id=spa&redirect_uri=https%3A%2F%2Fspa.test%2Fcb&response_type=code&scope=openid\
                 &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
            ),
            None,
        )
        .await;
    assert_eq!(
        directive(
            login.header(header::CONTENT_SECURITY_POLICY),
            "frame-ancestors"
        ),
        "'none'"
    );
    assert!(login.is_login_page(), "{login:?}");
    assert_eq!(login.header(header::X_FRAME_OPTIONS), "DENY");
}

#[tokio::test]
async fn discovery_names_the_session_iframe_and_certs_allow_any_origin() {
    let app = app().await;
    let discovery = app
        .get("/auth/realms/acme/.well-known/openid-configuration", None)
        .await
        .json();
    assert_eq!(
        discovery["check_session_iframe"],
        format!("https://id.test{OIDC}/login-status-iframe.html")
    );
    let certs = get_with(&app, &format!("{OIDC}/certs"), &[("origin", SPA)]).await;
    assert_eq!(certs.status, StatusCode::OK);
    assert_eq!(certs.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(
        certs.json()["keys"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
}

#[tokio::test]
async fn registration_links_get_a_clear_page() {
    let app = app().await;
    let register = app
        .get(
            &format!("{OIDC}/registrations?client_id=spa&redirect_uri=https%3A%2F%2Fspa.test%2F"),
            None,
        )
        .await;
    assert_eq!(register.status, StatusCode::BAD_REQUEST);
    assert!(register.text().contains("Registration not allowed"));
    assert_eq!(
        directive(
            register.header(header::CONTENT_SECURITY_POLICY),
            "frame-ancestors"
        ),
        "'none'"
    );
}

#[tokio::test]
async fn login_sets_the_session_status_cookie_and_logout_clears_it() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let verifier = "kcjs-test-verifier-0123456789-abcdefghijklmnop";
    let challenge = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()));
    let auth = format!(
        "{OIDC}/auth?{}",
        serde_urlencoded::to_string([
            ("client_id", "spa"),
            ("redirect_uri", "https://spa.test/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .unwrap()
    );
    let page = browser.get(&auth).await;
    let done = browser.log_in(&page, "alice", "alice-pw").await;
    let cookies: Vec<&str> = done
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let status = cookies
        .iter()
        .find(|c| c.starts_with("KEYCLOAK_SESSION="))
        .unwrap_or_else(|| panic!("no KEYCLOAK_SESSION in {cookies:?}"));
    assert!(!status.contains("HttpOnly"), "{status}");
    assert!(status.contains("Path=/auth/realms/acme/"), "{status}");
    assert!(status.contains("SameSite=None; Secure"), "{status}");
    let value = status["KEYCLOAK_SESSION=".len()..]
        .split(';')
        .next()
        .unwrap();

    // The cookie is base64url(SHA-256(sid)), with the sid the tokens carry.
    let code = done.redirect_params()["code"].clone();
    let tokens = app
        .post_form(
            &format!("{OIDC}/token"),
            None,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "spa"),
                ("code", &code),
                ("redirect_uri", "https://spa.test/cb"),
                ("code_verifier", verifier),
            ],
        )
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let sid =
        portcullis_testkit::jwt::claims(tokens.json()["access_token"].as_str().unwrap())["sid"]
            .as_str()
            .unwrap()
            .to_string();
    let hashed = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, sid.as_bytes()));
    assert_eq!(value, hashed);

    let id_token = tokens.json()["id_token"].as_str().unwrap().to_string();
    let logout = browser
        .get(&format!(
            "{OIDC}/logout?{}",
            serde_urlencoded::to_string([
                ("id_token_hint", id_token.as_str()),
                ("post_logout_redirect_uri", "https://spa.test/"),
                ("client_id", "spa"),
            ])
            .unwrap()
        ))
        .await;
    let cleared: Vec<&str> = logout
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("KEYCLOAK_SESSION=;") && c.contains("Max-Age=0")),
        "{cleared:?} ({logout:?})"
    );
}
