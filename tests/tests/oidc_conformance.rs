//! The OpenID Foundation's Basic OP, Config OP and RP-initiated logout modules that apply to what
//! Portcullis builds, reproduced against the real binary (reference: oidc-conformance.md §1).
//! A cookie-jar agent plays the browser; the `openidconnect` crate plays the relying party where
//! ID-token validation matters. Module names are in the test names and comments.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use portcullis_tests::Server;
use portcullis_tests::agent::{Agent, Outcome};
use reqwest::StatusCode;
use serde_json::{Value, json};

const ORIGIN: &str = "http://127.0.0.1:9/";
const R1: &str = "http://127.0.0.1:9/cb1";
const R1B: &str = "http://127.0.0.1:9/cb1b";
const R2: &str = "http://127.0.0.1:9/cb2";
const R3: &str = "http://127.0.0.1:9/cb3";
const LOGGED_OUT: &str = "http://127.0.0.1:9/logged-out";
const USER: (&str, &str) = ("buffy", "buffy-pw");

fn realm() -> String {
    let client = |id: &str, secret: &str, uris: &[&str]| {
        json!({"clientId": id, "secret": secret, "publicClient": false, "redirectUris": uris,
               "standardFlowEnabled": true,
               "optionalClientScopes": ["offline_access", "address", "phone"],
               "attributes": {"post.logout.redirect.uris": LOGGED_OUT}})
    };
    json!({
        "realm": "conf",
        "enabled": true,
        "roles": {"realm": [{"name": "offline_access"}]},
        "clients": [client("client1", "secret1", &[R1, R1B]), client("client2", "secret2", &[R2]),
                    client("client3", "secret3", &[R3])],
        "users": [{"username": "buffy", "enabled": true, "email": "buffy@example.test",
                   "emailVerified": true, "firstName": "Buffy", "lastName": "Summers",
                   "realmRoles": ["offline_access"],
                   "credentials": [{"type": "password", "value": "buffy-pw"}]}]
    })
    .to_string()
}

struct Op {
    server: Server,
    issuer: String,
    http: reqwest::Client,
}

impl Op {
    fn start() -> Op {
        let server = Server::start(&[("conf.json", realm())]);
        let issuer = server.url("/auth/realms/conf");
        Op {
            server,
            issuer,
            http: reqwest::Client::new(),
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/protocol/openid-connect/{name}", self.issuer)
    }

    fn auth_url(
        &self,
        client: &str,
        redirect: &str,
        extra: &[(&str, &str)],
    ) -> (String, String, String) {
        let state = random();
        let nonce = random();
        let mut url = url::Url::parse(&self.endpoint("auth")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("client_id", client)
                .append_pair("redirect_uri", redirect);
            if !extra.iter().any(|(k, _)| *k == "response_type") {
                q.append_pair("response_type", "code");
            }
            if !extra.iter().any(|(k, _)| *k == "scope") {
                q.append_pair("scope", "openid");
            }
            q.append_pair("state", &state).append_pair("nonce", &nonce);
            for (k, v) in extra {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
        }
        (url.to_string(), state, nonce)
    }

    /// Code → tokens at the token endpoint with client_secret_basic.
    async fn redeem(
        &self,
        client: &str,
        secret: &str,
        redirect: &str,
        code: &str,
    ) -> reqwest::Response {
        self.http
            .post(self.endpoint("token"))
            .basic_auth(client, Some(secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect),
            ])
            .send()
            .await
            .unwrap()
    }

    /// A full login for client1 with extra parameters; returns the token response JSON.
    async fn login(
        &self,
        agent: &Agent,
        extra: &[(&str, &str)],
    ) -> (Value, HashMap<String, String>) {
        let (url, state, _) = self.auth_url("client1", R1, extra);
        let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
        let params = outcome.params();
        assert_eq!(params.get("state"), Some(&state), "{outcome:?}");
        let code = params
            .get("code")
            .unwrap_or_else(|| panic!("no code: {outcome:?}"));
        let resp = self.redeem("client1", "secret1", R1, code).await;
        assert_eq!(resp.status(), 200);
        (resp.json().await.unwrap(), params)
    }

    async fn userinfo(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.endpoint("userinfo"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }
}

fn random() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    URL_SAFE_NO_PAD.encode(b)
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header(jwt: &str) -> Value {
    let part = jwt.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// An OP page, not a redirect to the client (the suite's "show an error page").
#[track_caller]
fn assert_page(what: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Page { status, .. } => {
            assert!(status.is_client_error(), "{what}: status {status}")
        }
        other => panic!("{what}: must not redirect, got {other:?}"),
    }
}

/// RFC 6749 §4.1.2.1: error_description in %x20-21 / %x23-5B / %x5D-7E.
#[track_caller]
fn assert_error_charset(params: &HashMap<String, String>) {
    if let Some(d) = params.get("error_description") {
        assert!(
            d.chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
            "{d:?}"
        );
    }
}

/// `oidcc-server` with the `openidconnect` crate as the relying party: discovery, code + PKCE,
/// ID token signature/iss/aud/nonce/at_hash, userinfo sub, iss in the response (RFC 9207),
/// code entropy, no-store on the token response; plus `oidcc-idtoken-signature` and
/// `oidcc-userinfo-*`.
#[tokio::test(flavor = "multi_thread")]
async fn oidcc_server_happy_path_with_the_openidconnect_crate() {
    let op = Op::start();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(op.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("client1".into()),
        Some(ClientSecret::new("secret1".into())),
    )
    .set_redirect_uri(RedirectUrl::new(R1.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let agent = Agent::new(ORIGIN);
    let (outcome, trace) = agent.authorize(url.as_str(), Some(USER), true).await;
    assert_eq!(trace.login_pages, 1);
    let params = outcome.params();
    assert_eq!(
        params.get("state").map(String::as_str),
        Some(csrf.secret().as_str())
    );
    assert_eq!(params.get("iss"), Some(&op.issuer), "RFC 9207 iss");
    let code = params["code"].clone();
    assert!(
        URL_SAFE_NO_PAD
            .decode(&code)
            .map_or(code.len() * 6, |b| b.len() * 8)
            >= 128
    );

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let id_claims = id_token
        .claims(&verifier, &nonce)
        .expect("ID token validates");
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(id_claims.access_token_hash(), Some(&expected_hash));
    assert!(id_claims.auth_time().is_some());
    let raw_id = id_token.to_string();
    assert_eq!(header(&raw_id)["alg"], "RS256", "oidcc-idtoken-signature");
    assert!(header(&raw_id)["kid"].is_string());

    // userinfo: GET, POST with the header, POST with the token in the body.
    let access = tokens.access_token().secret().clone();
    let sub = id_claims.subject().to_string();
    let get = op.userinfo(&access).await;
    assert_eq!(get.status(), 200);
    assert!(
        get.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let info: Value = get.json().await.unwrap();
    assert_eq!(info["sub"], sub);
    assert_eq!(info["email"], "buffy@example.test", "oidcc-scope-email");
    assert_eq!(info["given_name"], "Buffy", "oidcc-scope-profile");
    let post: Value = op
        .http
        .post(op.endpoint("userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(post["sub"], sub);
    let body: Value = op
        .http
        .post(op.endpoint("userinfo"))
        .form(&[("access_token", access.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["sub"], sub);

    // The raw token response carries no-store.
    let (url, _, _) = op.auth_url("client1", R1, &[]);
    let (outcome, trace) = agent.authorize(&url, Some(USER), true).await;
    assert_eq!(trace.login_pages, 0, "SSO: no second login");
    let resp = op
        .redeem("client1", "secret1", R1, &outcome.params()["code"])
        .await;
    assert_eq!(resp.headers()["cache-control"], "no-store");
}

/// Parameters that must not break a login: `oidcc-ensure-request-without-nonce-succeeds-for-code-flow`,
/// `oidcc-alternate-happy-flow`, `oidcc-display-page`, `oidcc-display-popup`,
/// `oidcc-ensure-request-with-unknown-parameter-succeeds`, `oidcc-login-hint`, `oidcc-ui-locales`,
/// `oidcc-claims-locales`, `oidcc-ensure-request-with-acr-values-succeeds`, `oidcc-claims-essential`,
/// `oidcc-scope-all`.
#[tokio::test(flavor = "multi_thread")]
async fn harmless_parameters_succeed() {
    let op = Op::start();
    let rows: &[(&str, &[(&str, &str)])] = &[
        ("alternate-happy-flow", &[("scope", "email profile openid")]),
        ("display-page", &[("display", "page")]),
        ("display-popup", &[("display", "popup")]),
        ("unknown-parameter", &[("extra", "foobar")]),
        ("login-hint", &[("login_hint", "buffy@example.test")]),
        ("ui-locales", &[("ui_locales", "se")]),
        ("claims-locales", &[("claims_locales", "se")]),
        ("acr-values", &[("acr_values", "1 2")]),
        (
            "claims-essential",
            &[("claims", r#"{"userinfo":{"name":{"essential":true}}}"#)],
        ),
        (
            "scope-all",
            &[("scope", "openid profile email address phone")],
        ),
    ];
    for (module, extra) in rows {
        let agent = Agent::new(ORIGIN);
        let (tokens, _) = op.login(&agent, extra).await;
        assert!(tokens["id_token"].is_string(), "{module}");
        assert_eq!(
            op.userinfo(tokens["access_token"].as_str().unwrap())
                .await
                .status(),
            200,
            "{module}"
        );
    }
    // Without nonce: succeeds, and the ID token has none.
    let agent = Agent::new(ORIGIN);
    let (url, _, _) = op.auth_url("client1", R1, &[]);
    let url = url.split("&nonce=").next().unwrap().to_string()
        + &url
            .split("&nonce=")
            .nth(1)
            .unwrap()
            .split_once('&')
            .map(|(_, r)| format!("&{r}"))
            .unwrap_or_default();
    assert!(!url.contains("nonce="));
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    let resp = op
        .redeem("client1", "secret1", R1, &outcome.params()["code"])
        .await;
    let tokens: Value = resp.json().await.unwrap();
    assert!(
        claims(tokens["id_token"].as_str().unwrap())
            .get("nonce")
            .is_none()
    );
}

/// `oidcc-response-type-missing`, `oidcc-ensure-registered-redirect-uri`,
/// `oidcc-ensure-redirect-uri-in-authorization-request`, unknown client, and
/// request objects (`oidcc-unsigned-request-object-...`, `oidcc-request-uri-unsigned-...`).
#[tokio::test(flavor = "multi_thread")]
async fn bad_authorization_requests() {
    let op = Op::start();
    let agent = Agent::new(ORIGIN);

    let (url, state, _) = op.auth_url("client1", R1, &[("response_type", "")]);
    let url = url.replace("response_type=code&", "");
    assert!(!url.contains("response_type"));
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    if !outcome.is_page() {
        let p = outcome.params();
        assert!(!p.contains_key("code"));
        assert!(matches!(
            p.get("error").map(String::as_str),
            Some("invalid_request" | "unsupported_response_type")
        ));
        assert_eq!(p.get("state"), Some(&state));
        assert_error_charset(&p);
    }

    let mangled = format!("{R1}/callback/{}", random());
    let (url, _, _) = op.auth_url("client1", &mangled, &[]);
    assert_page(
        "registered redirect uri",
        &agent.authorize(&url, Some(USER), true).await.0,
    );
    let (url, _, _) = op.auth_url("client1", &format!("{R1}?foo=bar"), &[]);
    assert_page(
        "query added to redirect uri",
        &agent.authorize(&url, Some(USER), true).await.0,
    );

    // Two registered URIs and none sent: the OP cannot know where to go.
    let (url, _, _) = op.auth_url("client1", R1, &[]);
    let url = url.replace(&format!("redirect_uri={}&", urlencode(R1)), "");
    assert!(!url.contains("redirect_uri"));
    assert_page(
        "redirect_uri missing",
        &agent.authorize(&url, Some(USER), true).await.0,
    );

    let (url, _, _) = op.auth_url("nobody", R1, &[]);
    assert_page(
        "unknown client",
        &agent.authorize(&url, Some(USER), true).await.0,
    );

    for (param, error) in [
        ("request", "request_not_supported"),
        ("request_uri", "request_uri_not_supported"),
    ] {
        let (url, _, _) = op.auth_url("client1", R1, &[(param, "eyJhbGciOiJub25lIn0.e30.")]);
        let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
        if !outcome.is_page() {
            assert_eq!(
                outcome.params().get("error").map(String::as_str),
                Some(error)
            );
        }
    }
}

/// `oidcc-prompt-none-not-logged-in`, `oidcc-prompt-none-logged-in`, `oidcc-prompt-login`,
/// `oidcc-max-age-1`, `oidcc-max-age-10000`, `oidcc-id-token-hint`, `oidcc-ensure-post-request-succeeds`.
#[tokio::test(flavor = "multi_thread")]
async fn silent_authentication_prompt_and_max_age() {
    let op = Op::start();
    let agent = Agent::new(ORIGIN);
    let (url, state, _) = op.auth_url("client1", R1, &[("prompt", "none")]);
    let (outcome, _) = agent.authorize(&url, None, true).await;
    let p = outcome.params();
    assert_eq!(
        p.get("error").map(String::as_str),
        Some("login_required"),
        "{outcome:?}"
    );
    assert_eq!(p.get("state"), Some(&state));
    assert_eq!(p.get("iss"), Some(&op.issuer));
    assert_error_charset(&p);

    let (first, _) = op.login(&agent, &[]).await;
    let first_id = claims(first["id_token"].as_str().unwrap());

    let (silent, _) = op.login(&agent, &[("prompt", "none")]).await;
    let silent_id = claims(silent["id_token"].as_str().unwrap());
    assert_eq!(silent_id["sub"], first_id["sub"]);
    assert_eq!(silent_id["auth_time"], first_id["auth_time"]);

    let (hinted, _) = op
        .login(
            &agent,
            &[
                ("prompt", "none"),
                ("id_token_hint", first["id_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(
        claims(hinted["id_token"].as_str().unwrap())["sub"],
        first_id["sub"]
    );

    let (kept, _) = op.login(&agent, &[("max_age", "10000")]).await;
    assert_eq!(
        claims(kept["id_token"].as_str().unwrap())["auth_time"],
        first_id["auth_time"]
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (url, _, _) = op.auth_url("client1", R1, &[("max_age", "1")]);
    let (outcome, trace) = agent.authorize(&url, Some(USER), true).await;
    assert_eq!(
        trace.login_pages, 1,
        "max_age=1 after 2 s must show the login page"
    );
    let resp = op
        .redeem("client1", "secret1", R1, &outcome.params()["code"])
        .await;
    let aged: Value = resp.json().await.unwrap();
    let aged_time = claims(aged["id_token"].as_str().unwrap())["auth_time"]
        .as_i64()
        .unwrap();
    assert!(aged_time > first_id["auth_time"].as_i64().unwrap());

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (url, _, _) = op.auth_url("client1", R1, &[("prompt", "login")]);
    let (outcome, trace) = agent.authorize(&url, Some(USER), true).await;
    assert_eq!(
        trace.login_pages, 1,
        "prompt=login must show the login page"
    );
    let resp = op
        .redeem("client1", "secret1", R1, &outcome.params()["code"])
        .await;
    let relogged: Value = resp.json().await.unwrap();
    assert!(
        claims(relogged["id_token"].as_str().unwrap())["auth_time"]
            .as_i64()
            .unwrap()
            > aged_time
    );

    // The authorization request as a form POST.
    let state = random();
    let (outcome, _) = agent
        .authorize_post(
            &op.endpoint("auth"),
            &[
                ("client_id", "client1"),
                ("redirect_uri", R1),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", &state),
            ],
            Some(USER),
        )
        .await;
    assert_eq!(outcome.params().get("state"), Some(&state));
    assert!(outcome.params().contains_key("code"));
}

/// `oidcc-codereuse` and `oidcc-codereuse-30seconds` (without the wait: the revocation is immediate).
#[tokio::test(flavor = "multi_thread")]
async fn code_reuse_is_refused_and_revokes_the_first_tokens() {
    let op = Op::start();
    let agent = Agent::new(ORIGIN);
    let (url, _, _) = op.auth_url("client1", R1, &[]);
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    let code = outcome.params()["code"].clone();
    let first: Value = op
        .redeem("client1", "secret1", R1, &code)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(op.userinfo(access).await.status(), 200);
    let again = op.redeem("client1", "secret1", R1, &code).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        op.userinfo(access).await.status().is_client_error(),
        "the first access token is revoked"
    );
}

/// `oidcc-server-client-secret-post`, `oidcc-refresh-token` (scope on refresh, ID token claims kept,
/// cross-client refresh refused) and `oidcc-ensure-request-with-valid-pkce-succeeds`.
#[tokio::test(flavor = "multi_thread")]
async fn client_secret_post_refresh_and_pkce() {
    let op = Op::start();
    let agent = Agent::new(ORIGIN);
    let (url, _, _) = op.auth_url("client3", R3, &[]);
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    let resp = op
        .http
        .post(op.endpoint("token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &outcome.params()["code"]),
            ("redirect_uri", R3),
            ("client_id", "client3"),
            ("client_secret", "secret3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "client_secret_post");

    let (tokens, _) = op
        .login(
            &agent,
            &[("scope", "openid offline_access"), ("prompt", "consent")],
        )
        .await;
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    assert!(refresh.bytes().all(|b| (0x20..=0x7e).contains(&b)));
    let first_id = claims(tokens["id_token"].as_str().unwrap());
    let resp = op
        .http
        .post(op.endpoint("token"))
        .basic_auth("client1", Some("secret1"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("scope", "openid offline_access"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let refreshed: Value = resp.json().await.unwrap();
    assert_eq!(refreshed["token_type"], "Bearer");
    let new_id = claims(refreshed["id_token"].as_str().unwrap());
    for claim in ["iss", "sub", "aud", "auth_time", "azp"] {
        if first_id.get(claim).is_some() {
            assert_eq!(new_id[claim], first_id[claim], "{claim} kept on refresh");
        }
    }
    let cross = op
        .http
        .post(op.endpoint("token"))
        .basic_auth("client2", Some("secret2"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        cross.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let verifier = random() + &random();
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let (url, _, _) = op.auth_url(
        "client1",
        R1,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    let code = outcome.params()["code"].clone();
    let wrong = op
        .http
        .post(op.endpoint("token"))
        .basic_auth("client1", Some("secret1"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", R1),
            ("code_verifier", &random()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST, "a wrong verifier");
    let (url, _, _) = op.auth_url(
        "client1",
        R1,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let (outcome, _) = agent.authorize(&url, Some(USER), true).await;
    let ok = op
        .http
        .post(op.endpoint("token"))
        .basic_auth("client1", Some("secret1"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &outcome.params()["code"]),
            ("redirect_uri", R1),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "valid PKCE");
}

/// Config OP: `oidcc-discovery-endpoint-verification` (but for https, which a loopback test cannot
/// have), and the RFC 8414 path-insert form.
#[tokio::test(flavor = "multi_thread")]
async fn discovery_endpoint_verification() {
    let op = Op::start();
    let resp = op
        .http
        .get(format!("{}/.well-known/openid-configuration", op.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let d: Value = resp.json().await.unwrap();
    assert_eq!(d["issuer"], op.issuer);
    for key in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        assert!(
            d[key].as_str().is_some_and(|u| u.starts_with(&op.issuer)),
            "{key}"
        );
    }
    assert!(
        d["response_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("code"))
    );
    assert!(
        d["subject_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("public"))
    );
    let algs = d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("RS256")) && !algs.contains(&json!("none")));
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("openid"))
    );
    assert!(d["code_challenge_methods_supported"].is_array());
    assert!(d["claims_supported"].is_array());
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    let jwks: Value = op
        .http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids = std::collections::HashSet::new();
    for key in jwks["keys"].as_array().unwrap() {
        assert!(
            key.get("d").is_none() && key["kty"] != "oct",
            "no private or symmetric keys"
        );
        assert!(
            kids.insert(key["kid"].as_str().unwrap().to_string()),
            "distinct kids"
        );
    }
    let rfc8414: Value = op
        .http
        .get(
            op.server
                .url("/auth/.well-known/oauth-authorization-server/realms/conf"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rfc8414["issuer"], op.issuer);
}

/// The RP-initiated logout plan: happy path with state, no state, only state / no params (a
/// logged-out page), and the variants that must never redirect.
#[tokio::test(flavor = "multi_thread")]
async fn rp_initiated_logout() {
    let op = Op::start();
    let logout = op.endpoint("logout");

    // oidcc-rp-initiated-logout: redirect with state, then prompt=none fails.
    let agent = Agent::new(ORIGIN);
    let (tokens, _) = op.login(&agent, &[]).await;
    let hint = tokens["id_token"].as_str().unwrap().to_string();
    let url = format!(
        "{logout}?id_token_hint={hint}&post_logout_redirect_uri={}&state=xyz",
        urlencode(LOGGED_OUT)
    );
    let (outcome, _) = agent.authorize(&url, None, true).await;
    match &outcome {
        Outcome::Redirect(u) => {
            assert!(u.as_str().starts_with(LOGGED_OUT));
            assert_eq!(
                outcome.params().get("state").map(String::as_str),
                Some("xyz")
            );
        }
        other => panic!("logout should redirect: {other:?}"),
    }
    let (url, _, _) = op.auth_url("client1", R1, &[("prompt", "none")]);
    let (outcome, _) = agent.authorize(&url, None, true).await;
    assert_eq!(
        outcome.params().get("error").map(String::as_str),
        Some("login_required")
    );
    assert!(
        op.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status()
            .is_client_error()
    );

    // -no-state
    let agent = Agent::new(ORIGIN);
    let (tokens, _) = op.login(&agent, &[]).await;
    let url = format!(
        "{logout}?id_token_hint={}&post_logout_redirect_uri={}",
        tokens["id_token"].as_str().unwrap(),
        urlencode(LOGGED_OUT)
    );
    let (outcome, _) = agent.authorize(&url, None, true).await;
    assert!(
        matches!(&outcome, Outcome::Redirect(u) if u.query().is_none_or(|q| !q.contains("state"))),
        "{outcome:?}"
    );

    // Must not redirect: unregistered URI, query added, no id_token_hint, a tampered or foreign hint.
    let agent = Agent::new(ORIGIN);
    let (tokens, _) = op.login(&agent, &[]).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let mut parts: Vec<&str> = hint.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    parts[0] = &none_header;
    let unsigned = format!("{}.{}.", parts[0], parts[1]);
    let foreign = {
        let key = portcullis_core::keys::KeyMaterial::generate(
            portcullis_core::keys::Algorithm::Rs256,
            "evil",
            1_800_000_000,
        )
        .unwrap();
        let key = portcullis_core::keys::SigningKey::from_material(&key).unwrap();
        let h = json!({"alg": "RS256", "kid": key.thumbprint_kid()}).to_string();
        key.sign_jws(
            h.as_bytes(),
            &URL_SAFE_NO_PAD
                .decode(hint.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let rows = [
        (
            "bad-post-logout-redirect-uri",
            format!(
                "{logout}?id_token_hint={hint}&post_logout_redirect_uri={}",
                urlencode("http://127.0.0.1:9/evil")
            ),
        ),
        (
            "query-added",
            format!(
                "{logout}?id_token_hint={hint}&post_logout_redirect_uri={}",
                urlencode(&format!("{LOGGED_OUT}?foo=bar"))
            ),
        ),
        (
            "no-id-token-hint",
            format!(
                "{logout}?post_logout_redirect_uri={}&state=s",
                urlencode(LOGGED_OUT)
            ),
        ),
        (
            "modified-id-token-hint",
            format!(
                "{logout}?id_token_hint={unsigned}&post_logout_redirect_uri={}",
                urlencode(LOGGED_OUT)
            ),
        ),
        (
            "bad-id-token-hint",
            format!(
                "{logout}?id_token_hint={foreign}&post_logout_redirect_uri={}",
                urlencode(LOGGED_OUT)
            ),
        ),
    ];
    for (module, url) in rows {
        let (outcome, _) = agent.authorize(&url, None, true).await;
        assert!(
            !matches!(outcome, Outcome::Redirect(_)),
            "{module} must not redirect: {outcome:?}"
        );
    }

    // -no-params / -only-state: the user is logged out and sees a page (possibly after confirming).
    let agent = Agent::new(ORIGIN);
    op.login(&agent, &[]).await;
    let (url, _, _) = op.auth_url("client1", R1, &[("prompt", "none")]);
    assert!(
        agent
            .authorize(&url, None, true)
            .await
            .0
            .params()
            .contains_key("code"),
        "still logged in"
    );
    let (outcome, _) = agent
        .authorize(&format!("{logout}?state=only"), None, true)
        .await;
    match outcome {
        Outcome::Page { status, .. } => assert!(status.is_success(), "logged-out page: {status}"),
        other => panic!("no redirect expected: {other:?}"),
    }
    let (url, _, _) = op.auth_url("client1", R1, &[("prompt", "none")]);
    assert_eq!(
        agent
            .authorize(&url, None, true)
            .await
            .0
            .params()
            .get("error")
            .map(String::as_str),
        Some("login_required")
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
