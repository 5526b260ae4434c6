//! In-process tests of the token service on the real router (the test kit): a fresh database
//! (SQLite, or PostgreSQL in the suite's PostgreSQL run), realms imported from JSON, a fixed
//! clock, and requests through `tower::ServiceExt::oneshot`.
//! Authorization codes, sessions and device approvals are put in the store directly (the
//! browser flows that create them have their own tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::digest;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::keys::Algorithm;
use portcullis_store::{AuthCode, DeviceCodeStatus, UserSession};
use portcullis_testkit::jwt::{claims, part};
use portcullis_testkit::{Reply, TestApp, basic, bearer, sha256_hex};
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const ISSUER: &str = "http://id.test/auth/realms/acme";
const OIDC: &str = "/auth/realms/acme/protocol/openid-connect";
const TOKEN: &str = "/auth/realms/acme/protocol/openid-connect/token";
const BACKEND: (&str, &str) = ("backend", "backend-secret");
const OTHER_APP: (&str, &str) = ("other-app", "other-secret");
const APP_CB: &str = "https://app.test/cb";
const SPA_CB: &str = "https://spa.test/cb";

fn mapper(name: &str, kind: &str, config: Value) -> Value {
    json!({"name": name, "protocol": "openid-connect", "protocolMapper": kind, "config": config})
}

fn acme() -> Value {
    let device = json!({"oauth2.device.authorization.grant.enabled": "true"});
    json!({
        "realm": "acme",
        "enabled": true,
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "offlineSessionIdleTimeout": 2592000,
        "oauth2DeviceCodeLifespan": 600,
        "oauth2DevicePollingInterval": 5,
        "roles": {
            "realm": [{"name": "staff"}, {"name": "offline_access"}],
            "client": {"api": [{"name": "read"}], "backend": [{"name": "admin"}]}
        },
        "groups": [{"name": "eng", "subGroups": [{"name": "platform"}]}],
        "users": [
            {"username": "alice", "enabled": true, "email": "alice@example.test",
             "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
             "attributes": {"department": ["wonderland"]},
             "realmRoles": ["staff", "offline_access"], "clientRoles": {"api": ["read"]},
             "groups": ["/eng/platform"],
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "bob", "enabled": true, "realmRoles": ["staff"],
             "credentials": [{"type": "password", "value": "bob-pw"}]},
            {"username": "carol", "enabled": false,
             "credentials": [{"type": "password", "value": "carol-pw"}]},
            {"username": "service-account-backend", "enabled": true,
             "serviceAccountClientId": "backend", "realmRoles": ["staff"]}
        ],
        "clients": [
            {"clientId": "backend", "secret": "backend-secret", "publicClient": false,
             "serviceAccountsEnabled": true, "standardFlowEnabled": true,
             "directAccessGrantsEnabled": true, "redirectUris": [APP_CB], "webOrigins": ["+"],
             "attributes": device,
             "protocolMappers": [
                mapper("dept", "oidc-usermodel-attribute-mapper",
                       json!({"user.attribute": "department", "claim.name": "org.dept",
                              "access.token.claim": "true", "id.token.claim": "true",
                              "userinfo.token.claim": "true"})),
                mapper("tier", "oidc-hardcoded-claim-mapper",
                       json!({"claim.name": "tier", "claim.value": "gold",
                              "introspection.token.claim": "false"})),
                mapper("roles", "oidc-usermodel-realm-role-mapper",
                       json!({"claim.name": "roles", "usermodel.realmRoleMapping.rolePrefix": "ROLE_",
                              "multivalued": "true"})),
                mapper("api roles", "oidc-usermodel-client-role-mapper",
                       json!({"usermodel.clientRoleMapping.clientId": "api", "claim.name": "api_roles",
                              "multivalued": "true"})),
                mapper("groups", "oidc-group-membership-mapper",
                       json!({"claim.name": "groups", "full.path": "true", "id.token.claim": "true"})),
                mapper("audience", "oidc-audience-mapper",
                       json!({"included.custom.audience": "https://api.test"})),
                mapper("first", "oidc-usermodel-property-mapper",
                       json!({"user.attribute": "firstName", "claim.name": "first",
                              "access.token.claim": "false", "userinfo.token.claim": "true"}))
             ]},
            {"clientId": "spa", "publicClient": true, "redirectUris": [SPA_CB],
             "attributes": device},
            {"clientId": "cli", "publicClient": true, "directAccessGrantsEnabled": true},
            {"clientId": "other-app", "secret": "other-secret", "publicClient": false,
             "redirectUris": ["https://other.test/cb"], "directAccessGrantsEnabled": true},
            {"clientId": "es", "secret": "es-secret", "publicClient": false,
             "serviceAccountsEnabled": true,
             "attributes": {"client_credentials.use_refresh_token": "true",
                            "access.token.signed.response.alg": "ES256",
                            "access.token.lifespan": "60"}},
            // Direct access grants are on unless a client says otherwise, as in Keycloak.
            {"clientId": "plain", "secret": "plain-secret", "publicClient": false,
             "directAccessGrantsEnabled": false,
             "redirectUris": [APP_CB], "attributes": {"use.refresh.tokens": "false"}},
            {"clientId": "api", "bearerOnly": true, "publicClient": false, "secret": "api-secret"},
            {"clientId": "registry", "protocol": "docker-v2", "publicClient": true}
        ]
    })
}

fn rotating() -> Value {
    json!({
        "realm": "rot",
        "enabled": true,
        "revokeRefreshToken": true,
        "refreshTokenMaxReuse": 1,
        "users": [{"username": "dave", "enabled": true,
                   "credentials": [{"type": "password", "value": "dave-pw"}]}],
        "clients": [{"clientId": "app", "secret": "app-secret", "publicClient": false,
                     "directAccessGrantsEnabled": true}]
    })
}

fn other() -> Value {
    json!({
        "realm": "other",
        "enabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [{"clientId": "backend", "secret": "backend-secret", "publicClient": false,
                     "directAccessGrantsEnabled": true}]
    })
}

/// The test kit's app with the token service's helpers.
struct App(TestApp);

impl Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.0
    }
}

async fn app() -> App {
    App(TestApp::builder()
        .realms([acme(), rotating(), other()])
        .now(NOW)
        .build()
        .await)
}

/// What an authorization code is made of, for [`App::code`].
struct CodeSpec<'a> {
    client: &'a str,
    user: &'a str,
    redirect: &'a str,
    scope: &'a str,
    challenge: Option<(&'a str, &'a str)>,
    nonce: Option<&'a str>,
}

impl<'a> CodeSpec<'a> {
    fn new(client: &'a str, redirect: &'a str) -> Self {
        Self {
            client,
            user: "alice",
            redirect,
            scope: "openid",
            challenge: None,
            nonce: Some("n-0S6"),
        }
    }
}

impl App {
    /// The token endpoint with client_secret_basic.
    async fn token(&self, client: (&str, &str), form: &[(&str, &str)]) -> Reply {
        self.post_form(TOKEN, Some(&basic(client.0, client.1)), form)
            .await
    }

    async fn password(&self, client: (&str, &str), user: &str, pw: &str, scope: &str) -> Reply {
        self.token(
            client,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", pw),
                ("scope", scope),
            ],
        )
        .await
    }

    async fn refresh(&self, client: (&str, &str), token: &str) -> Reply {
        self.token(
            client,
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    async fn introspect(&self, token: &str) -> Value {
        let reply = self
            .post_form(
                &format!("{OIDC}/token/introspect"),
                Some(&basic(BACKEND.0, BACKEND.1)),
                &[("token", token)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.json()
    }

    async fn userinfo(&self, token: &str) -> Reply {
        self.get(&format!("{OIDC}/userinfo"), Some(&bearer(token)))
            .await
    }

    /// A live SSO session of an acme user, as the login page would create it.
    async fn session(&self, username: &str) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let id = format!("session-{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        let now = self.now();
        let session = UserSession {
            id: id.clone(),
            realm_id: self.realm_id("acme").await,
            user_id: self.user_id("acme", username).await,
            auth_time: now - 5,
            created_at: now - 5,
            last_seen_at: now - 5,
            ended: false,
        };
        self.store.create_user_session(&session).await.unwrap();
        id
    }

    /// Stores an authorization code (in a new session) and returns it with the session id.
    async fn code(&self, spec: CodeSpec<'_>) -> (String, String) {
        let session = self.session(spec.user).await;
        let code = self.code_in(&session, spec).await;
        (code, session)
    }

    /// Stores an authorization code in an existing session (another login of the same browser).
    async fn code_in(&self, session: &str, spec: CodeSpec<'_>) -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let code = format!("code-{}-xyz", COUNTER.fetch_add(1, Ordering::SeqCst));
        let now = self.now();
        let record = AuthCode {
            code_hash: sha256_hex(&code),
            realm_id: self.realm_id("acme").await,
            client_id: spec.client.into(),
            user_id: self.user_id("acme", spec.user).await,
            session_id: session.to_owned(),
            redirect_uri: spec.redirect.into(),
            scope: spec.scope.into(),
            nonce: spec.nonce.map(str::to_owned),
            code_challenge: spec.challenge.map(|c| c.0.to_owned()),
            code_challenge_method: spec.challenge.map(|c| c.1.to_owned()),
            auth_time: now - 5,
            created_at: now,
            expires_at: now + 60,
        };
        self.store.insert_auth_code(&record).await.unwrap();
        code
    }

    /// A token of the docker-v2 shape (no `typ`, `aud` = the registry) signed with the realm key.
    async fn docker_token(&self) -> String {
        let claims = json!({"iss": ISSUER, "sub": "alice", "aud": "registry", "exp": NOW + 300,
                            "nbf": NOW - 5, "iat": NOW, "jti": "j", "access": []});
        self.sign("acme", Algorithm::Rs256, &claims).await
    }

    /// Checks a token's signature with the realm key its header names.
    async fn assert_signed(&self, jwt: &str, alg: &str) {
        let header = part(jwt, 0);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "JWT");
        let snapshot = self
            .store
            .load_realm_snapshot("acme")
            .await
            .unwrap()
            .unwrap();
        let key = snapshot
            .keys
            .iter()
            .find(|k| Some(k.thumbprint_kid()) == header["kid"].as_str())
            .expect("kid names a realm key");
        assert!(key.verify_jws(jwt));
        let certs = self.get(&format!("{OIDC}/certs"), None).await.json();
        assert!(
            certs["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kid"] == header["kid"]),
            "the JWKS publishes the kid"
        );
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

#[tokio::test]
async fn discovery_documents() {
    let app = app().await;
    for path in [
        "/auth/realms/acme/.well-known/openid-configuration",
        "/auth/.well-known/oauth-authorization-server/realms/acme",
    ] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(
            reply
                .header(header::CONTENT_TYPE)
                .starts_with("application/json")
        );
        let doc = reply.json();
        assert_eq!(doc["issuer"], ISSUER);
        assert_eq!(
            doc["token_endpoint"],
            format!("{ISSUER}/protocol/openid-connect/token")
        );
        assert_eq!(
            doc["jwks_uri"],
            format!("{ISSUER}/protocol/openid-connect/certs")
        );
        assert_eq!(
            doc["device_authorization_endpoint"],
            format!("{ISSUER}/protocol/openid-connect/auth/device")
        );
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["code_challenge_methods_supported"][0], "S256");
    }
    for path in [
        "/auth/realms/nope/.well-known/openid-configuration",
        "/auth/.well-known/oauth-authorization-server/realms/nope",
    ] {
        assert_eq!(app.get(path, None).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn client_credentials_grant() {
    let app = app().await;
    let reply = app
        .token(BACKEND, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(reply.header(header::PRAGMA), "no-cache");
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_expires_in"], 0);
    assert_eq!(body["not-before-policy"], 0);
    assert_eq!(body["scope"], "profile email");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    app.assert_signed(access, "RS256").await;
    let c = claims(access);
    let service_account = app.user_id("acme", "service-account-backend").await;
    assert_eq!(c["sub"], service_account.as_str());
    assert_eq!(c["typ"], "Bearer");
    assert_eq!(c["azp"], "backend");
    assert_eq!(c["client_id"], "backend");
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["exp"], NOW + 300);
    assert_eq!(c["preferred_username"], "service-account-backend");
    assert_eq!(c["realm_access"]["roles"], json!(["staff"]));
    assert_eq!(c["roles"], json!(["ROLE_staff"]));
    assert_eq!(c["aud"], "https://api.test");
    for absent in ["sid", "auth_time", "nonce"] {
        assert!(c.get(absent).is_none(), "{absent}");
    }

    // client_secret_post works too; scope=openid gives no ID token for a service account.
    let reply = app
        .post_form(
            TOKEN,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "backend"),
                ("client_secret", "backend-secret"),
                ("scope", "openid offline_access phone"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["scope"], "openid profile email phone");
    assert!(body.get("id_token").is_none());

    // ES256 with a refresh token by client attribute.
    let body = app
        .token(("es", "es-secret"), &[("grant_type", "client_credentials")])
        .await
        .json();
    app.assert_signed(body["access_token"].as_str().unwrap(), "ES256")
        .await;
    assert_eq!(body["expires_in"], 60);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(claims(refresh)["typ"], "Refresh");
    let again = app.refresh(("es", "es-secret"), refresh).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        claims(again.json()["access_token"].as_str().unwrap())["client_id"],
        "es"
    );
}

/// A service account's user, roles and claims are remembered between grants (per realm
/// snapshot), but an admin's change to the user (a role taken away, disabled) holds from the
/// next grant on.
#[tokio::test]
async fn service_account_changes_hold_at_the_next_grant() {
    let app = App(TestApp::builder()
        .realms([acme()])
        .master_admin("root", "root-pw")
        .now(NOW)
        .build()
        .await);
    let admin = bearer(&app.admin_token().await);
    let cc = [("grant_type", "client_credentials")];
    let roles = |reply: Reply| {
        claims(reply.json()["access_token"].as_str().unwrap())["realm_access"]["roles"].clone()
    };
    assert_eq!(roles(app.token(BACKEND, &cc).await), json!(["staff"]));

    let account = app.user_id("acme", "service-account-backend").await;
    let user = format!("/auth/admin/realms/acme/users/{account}");
    let staff = app
        .get("/auth/admin/realms/acme/roles/staff", Some(&admin))
        .await
        .json();
    let mappings = format!("{user}/role-mappings/realm");
    let taken = app
        .send_body(
            Method::DELETE,
            &mappings,
            Some(&admin),
            portcullis_testkit::JSON,
            json!([staff]).to_string(),
        )
        .await;
    assert_eq!(taken.status, StatusCode::NO_CONTENT, "{}", taken.text());
    let reply = app.token(BACKEND, &cc).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(roles(reply), Value::Null);

    let disabled = app
        .put_json(&user, Some(&admin), &json!({"enabled": false}))
        .await;
    assert_eq!(
        disabled.status,
        StatusCode::NO_CONTENT,
        "{}",
        disabled.text()
    );
    app.token(BACKEND, &cc)
        .await
        .assert_oauth_error(400, "unauthorized_client");
    let enabled = app
        .put_json(&user, Some(&admin), &json!({"enabled": true}))
        .await;
    assert_eq!(enabled.status, StatusCode::NO_CONTENT);
    assert_eq!(app.token(BACKEND, &cc).await.status, StatusCode::OK);
}

/// Every grant is a login event (Keycloak's `CLIENT_LOGIN` for client credentials, and its
/// `_ERROR`), with the client (the one claimed, when it failed to authenticate), the caller's
/// address and the grant type.
#[tokio::test]
async fn grants_are_recorded_as_login_events() {
    let app = App(TestApp::builder()
        .realms([acme()])
        .master_admin("root", "root-pw")
        .peer("192.0.2.7:5000")
        .now(NOW)
        .build()
        .await);
    let cc = [("grant_type", "client_credentials")];
    assert_eq!(app.token(BACKEND, &cc).await.status, StatusCode::OK);
    app.token(("backend", "nope"), &cc)
        .await
        .assert_oauth_error(401, "invalid_client");
    app.state.flush_events().await;
    let admin = bearer(&app.admin_token().await);
    let reply = app
        .get("/auth/admin/realms/acme/events", Some(&admin))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let events = reply.json();
    let found = |kind: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {events}"))
            .clone()
    };
    let ok = found("CLIENT_LOGIN");
    assert_eq!(ok["clientId"], "backend");
    assert_eq!(ok["ipAddress"], "192.0.2.7");
    assert_eq!(ok["details"]["grant_type"], "client_credentials");
    assert_eq!(ok["details"]["username"], "service-account-backend");
    assert!(ok.get("error").is_none(), "{ok}");
    // A failed attempt is recorded against the client it names.
    let failed = found("CLIENT_LOGIN_ERROR");
    assert_eq!(failed["clientId"], "backend");
    assert_eq!(failed["error"], "invalid_client");
    assert_eq!(failed["details"]["grant_type"], "client_credentials");
}

#[tokio::test]
async fn client_authentication_and_grant_errors() {
    let app = app().await;
    let cc = [("grant_type", "client_credentials")];
    let wrong = app.token(("backend", "nope"), &cc).await;
    wrong.assert_oauth_error(401, "invalid_client");
    assert_eq!(
        wrong.header(header::WWW_AUTHENTICATE),
        "Basic realm=\"acme\""
    );
    let unknown = app.token(("ghost", "x"), &cc).await;
    unknown.assert_oauth_error(401, "invalid_client");
    let post_wrong = app
        .post_form(
            TOKEN,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "backend"),
                ("client_secret", "nope"),
            ],
        )
        .await;
    post_wrong.assert_oauth_error(401, "invalid_client");
    assert_eq!(post_wrong.header(header::WWW_AUTHENTICATE), "");
    let both = app
        .post_form(
            TOKEN,
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", "backend-secret"),
            ],
        )
        .await;
    both.assert_oauth_error(400, "invalid_request");
    app.post_form(TOKEN, None, &cc)
        .await
        .assert_oauth_error(401, "invalid_client");
    app.post_form(
        TOKEN,
        None,
        &[("grant_type", "client_credentials"), ("client_id", "spa")],
    )
    .await
    .assert_oauth_error(400, "unauthorized_client");
    app.token(("other-app", "other-secret"), &cc)
        .await
        .assert_oauth_error(400, "unauthorized_client");
    app.post_form(
        TOKEN,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "registry"),
        ],
    )
    .await
    .assert_oauth_error(401, "invalid_client");
    app.token(BACKEND, &[("grant_type", "urn:x:custom")])
        .await
        .assert_oauth_error(400, "unsupported_grant_type");
    app.token(BACKEND, &[])
        .await
        .assert_oauth_error(400, "invalid_request");
    app.token(
        BACKEND,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "password"),
        ],
    )
    .await
    .assert_oauth_error(400, "invalid_request");
    let reply = app
        .post_form("/auth/realms/nope/protocol/openid-connect/token", None, &cc)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // Oversized and malformed bodies are refused, never a panic.
    let big = "x".repeat(100 * 1024);
    app.post_form(TOKEN, None, &[("grant_type", &big)])
        .await
        .assert_oauth_error(413, "invalid_request");
    let raw = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(vec![0xff, 0xfe, b'=', 0x80]))
        .unwrap();
    let reply = app.send(raw).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
}

#[tokio::test]
async fn password_grant() {
    let app = app().await;
    let reply = app
        .password(BACKEND, "alice", "alice-pw", "openid phone")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    let access = claims(body["access_token"].as_str().unwrap());
    let id = claims(body["id_token"].as_str().unwrap());
    let alice = app.user_id("acme", "alice").await;
    assert_eq!(access["sub"], alice.as_str());
    assert_eq!(access["sid"], body["session_state"]);
    assert_eq!(access["auth_time"], NOW);
    assert_eq!(access["acr"], "1");
    assert_eq!(access["scope"], "openid profile email phone");
    assert_eq!(access["email"], "alice@example.test");
    assert_eq!(
        access["realm_access"]["roles"],
        json!(["offline_access", "staff"])
    );
    assert_eq!(access["resource_access"]["api"]["roles"], json!(["read"]));
    assert_eq!(access["aud"], json!(["api", "https://api.test"]));
    assert_eq!(access["allowed-origins"], json!(["https://app.test"]));
    assert_eq!(access["org"], json!({"dept": "wonderland"}));
    assert_eq!(access["api_roles"], json!(["read"]));
    assert_eq!(access["groups"], json!(["/eng/platform"]));
    assert_eq!(access["tier"], "gold");
    assert!(access.get("first").is_none());
    assert_eq!(id["typ"], "ID");
    assert_eq!(id["aud"], "backend");
    assert_eq!(id["name"], "Alice Liddell");
    assert_eq!(id["groups"], json!(["/eng/platform"]));
    assert_eq!(id["org"]["dept"], "wonderland");
    assert!(id.get("realm_access").is_none() && id.get("tier").is_none());
    assert_eq!(
        claims(body["refresh_token"].as_str().unwrap())["typ"],
        "Refresh"
    );

    // Without openid there is no ID token; a public client may use the grant when enabled.
    let reply = app
        .post_form(
            TOKEN,
            None,
            &[
                ("grant_type", "password"),
                ("client_id", "cli"),
                ("username", "ALICE"),
                ("password", "alice-pw"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json().get("id_token").is_none());

    app.password(BACKEND, "alice", "wrong", "openid")
        .await
        .assert_oauth_error(401, "invalid_grant");
    app.password(BACKEND, "nobody", "x", "openid")
        .await
        .assert_oauth_error(401, "invalid_grant");
    app.password(BACKEND, "carol", "carol-pw", "openid")
        .await
        .assert_oauth_error(401, "invalid_grant");
    app.password(("plain", "plain-secret"), "alice", "alice-pw", "openid")
        .await
        .assert_oauth_error(400, "unauthorized_client");
    app.token(BACKEND, &[("grant_type", "password"), ("password", "x")])
        .await
        .assert_oauth_error(400, "invalid_request");
}

#[tokio::test]
async fn authorization_code_grant_and_pkce() {
    let app = app().await;
    let (code, session) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let form = |code: &str| {
        vec![
            ("grant_type".to_owned(), "authorization_code".to_owned()),
            ("code".to_owned(), code.to_owned()),
            ("redirect_uri".to_owned(), APP_CB.to_owned()),
        ]
    };
    let as_refs = |f: &[(String, String)]| -> Vec<(String, String)> { f.to_vec() };
    let send = |form: Vec<(String, String)>, client: (&'static str, &'static str)| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            app.token(client, &pairs).await
        }
    };
    let reply = send(as_refs(&form(&code)), BACKEND).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let body = reply.json();
    assert_eq!(body["session_state"], session.as_str());
    let access = body["access_token"].as_str().unwrap();
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["auth_time"], NOW - 5);
    assert_eq!(id["sid"], session.as_str());
    let expected_hash = {
        let h = digest::digest(&digest::SHA256, access.as_bytes());
        URL_SAFE_NO_PAD.encode(&h.as_ref()[..16])
    };
    assert_eq!(id["at_hash"], expected_hash);
    app.assert_signed(body["id_token"].as_str().unwrap(), "RS256")
        .await;

    // A plain OAuth2 request that named no redirect URI (its code records none) is not asked
    // for one at the exchange; one that named it must repeat it (below).
    let (c, _) = app
        .code(CodeSpec {
            scope: "profile",
            nonce: None,
            ..CodeSpec::new("backend", "")
        })
        .await;
    let mut f = form(&c);
    f.remove(2);
    assert_eq!(send(f, BACKEND).await.status, StatusCode::OK);

    // Error cases, each with a fresh code.
    let (c, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let mut f = form(&c);
    f[2].1 = "https://app.test/other".into();
    send(f, BACKEND)
        .await
        .assert_oauth_error(400, "invalid_grant");
    let (c, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let mut f = form(&c);
    f.remove(2);
    send(f, BACKEND)
        .await
        .assert_oauth_error(400, "invalid_grant");
    let (c, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    send(form(&c), ("other-app", "other-secret"))
        .await
        .assert_oauth_error(400, "invalid_grant");
    send(form("never-issued"), BACKEND)
        .await
        .assert_oauth_error(400, "invalid_grant");
    let mut f = form("x");
    f.remove(1);
    send(f, BACKEND)
        .await
        .assert_oauth_error(400, "invalid_request");
    let (c, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    app.clock.advance(61);
    send(form(&c), BACKEND)
        .await
        .assert_oauth_error(400, "invalid_grant");
    app.clock.advance(-61);
    // A verifier without a challenge (PKCE downgrade).
    let (c, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let mut f = form(&c);
    f.push(("code_verifier".into(), "a".repeat(43)));
    send(f, BACKEND)
        .await
        .assert_oauth_error(400, "invalid_grant");

    // PKCE S256 with the public client: right, wrong, missing, and no challenge at all.
    let verifier = "x".repeat(20) + &"y".repeat(30);
    let challenge = s256(&verifier);
    let spa_form = |code: &str, verifier: Option<&str>| {
        let mut f = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", SPA_CB.to_owned()),
            ("client_id", "spa".to_owned()),
        ];
        if let Some(v) = verifier {
            f.push(("code_verifier", v.to_owned()));
        }
        f
    };
    let post_spa = |f: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(TOKEN, None, &pairs).await
        }
    };
    let spec = || CodeSpec {
        challenge: Some((challenge.as_str(), "S256")),
        ..CodeSpec::new("spa", SPA_CB)
    };
    let (c, _) = app.code(spec()).await;
    let ok = post_spa(spa_form(&c, Some(&verifier))).await;
    assert_eq!(ok.status, StatusCode::OK);
    let (c, _) = app.code(spec()).await;
    post_spa(spa_form(&c, Some(&"z".repeat(50))))
        .await
        .assert_oauth_error(400, "invalid_grant");
    let (c, _) = app.code(spec()).await;
    post_spa(spa_form(&c, None))
        .await
        .assert_oauth_error(400, "invalid_grant");
    let (c, _) = app.code(CodeSpec::new("spa", SPA_CB)).await;
    post_spa(spa_form(&c, None))
        .await
        .assert_oauth_error(400, "invalid_grant");
    // plain is refused unless the client allows it.
    let (c, _) = app
        .code(CodeSpec {
            challenge: Some((verifier.as_str(), "plain")),
            ..CodeSpec::new("spa", SPA_CB)
        })
        .await;
    post_spa(spa_form(&c, Some(&verifier)))
        .await
        .assert_oauth_error(400, "invalid_grant");

    // A client without refresh tokens gets none.
    let (c, _) = app.code(CodeSpec::new("plain", APP_CB)).await;
    let body = send(form(&c), ("plain", "plain-secret")).await.json();
    assert!(body.get("refresh_token").is_none());
    assert_eq!(body["refresh_expires_in"], 0);
}

#[tokio::test]
async fn replayed_code_is_refused_and_kills_the_first_tokens() {
    let app = app().await;
    let (code, _) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", APP_CB),
    ];
    let first = app.token(BACKEND, &form).await.json();
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);
    app.token(BACKEND, &form)
        .await
        .assert_oauth_error(400, "invalid_grant");
    app.userinfo(access)
        .await
        .assert_oauth_error(401, "invalid_token");
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    app.refresh(BACKEND, refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn refresh_grant() {
    let app = app().await;
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid phone")
        .await
        .json();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let first_id = claims(body["id_token"].as_str().unwrap());
    let r = claims(&refresh);
    assert_eq!(r["aud"], ISSUER);
    assert_eq!(r["exp"], NOW + 1800);
    assert_eq!(body["refresh_expires_in"], 1800);

    app.clock.advance(100);
    let reply = app.refresh(BACKEND, &refresh).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let refreshed = reply.json();
    let new_id = claims(refreshed["id_token"].as_str().unwrap());
    for claim in ["iss", "sub", "aud", "auth_time", "azp", "sid"] {
        assert_eq!(new_id[claim], first_id[claim], "{claim} kept");
    }
    assert!(new_id.get("nonce").is_none());
    assert_eq!(refreshed["scope"], "openid profile email phone");
    // Without rotation the old refresh token keeps working; the new one slides the idle time
    // and continues the same grant (its row, hence its jti).
    let next = claims(refreshed["refresh_token"].as_str().unwrap());
    assert_eq!(next["exp"], NOW + 1900);
    assert_eq!(next["jti"], r["jti"]);
    assert_eq!(app.refresh(BACKEND, &refresh).await.status, StatusCode::OK);
    // Refresh tokens carry an HS512 tag, as Keycloak's do, never the realm's signature.
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(refresh.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "HS512");
    assert!(header["kid"].as_str().unwrap().starts_with("mac-"));

    // Narrowing the scope, and asking for more than was granted.
    let narrowed = app
        .token(
            BACKEND,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("scope", "openid"),
            ],
        )
        .await
        .json();
    assert_eq!(narrowed["scope"], "openid profile email");
    // The continued refresh token keeps the original grant (RFC 6749 §6).
    let kept = claims(narrowed["refresh_token"].as_str().unwrap());
    assert_eq!(kept["scope"], "openid profile email phone");
    app.token(
        BACKEND,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "openid address"),
        ],
    )
    .await
    .assert_oauth_error(400, "invalid_scope");

    // Bound to its client; garbage, access tokens and missing tokens are refused.
    app.refresh(("other-app", "other-secret"), &refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
    let access = body["access_token"].as_str().unwrap();
    for bad in ["garbage", access, refresh.trim_end_matches(|c| c != '.')] {
        app.refresh(BACKEND, bad)
            .await
            .assert_oauth_error(400, "invalid_grant");
    }
    app.token(BACKEND, &[("grant_type", "refresh_token")])
        .await
        .assert_oauth_error(400, "invalid_request");

    // Expired once the session idles out.
    app.clock.advance(1900);
    app.refresh(BACKEND, &refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn revocation_and_session_end_stop_refresh() {
    let app = app().await;
    let revoke = format!("{OIDC}/revoke");
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let refresh = body["refresh_token"].as_str().unwrap();
    // Another client cannot revoke it: Keycloak's 400 "Unmatching clients", and no effect.
    app.post_form(
        &revoke,
        Some(&basic("other-app", "other-secret")),
        &[("token", refresh)],
    )
    .await
    .assert_oauth_error(400, "invalid_request");
    assert_eq!(app.introspect(refresh).await["active"], true);
    // Its own client can.
    let reply = app
        .post_form(
            &revoke,
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[("token", refresh)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    app.refresh(BACKEND, refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert_eq!(app.introspect(refresh).await, json!({"active": false}));
    // Garbage and access tokens: 200; ID tokens are not revocable; the token is required.
    for token in ["garbage", body["access_token"].as_str().unwrap()] {
        let reply = app
            .post_form(
                &revoke,
                Some(&basic(BACKEND.0, BACKEND.1)),
                &[("token", token)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    app.post_form(
        &revoke,
        Some(&basic(BACKEND.0, BACKEND.1)),
        &[("token", body["id_token"].as_str().unwrap())],
    )
    .await
    .assert_oauth_error(400, "unsupported_token_type");
    app.post_form(&revoke, Some(&basic(BACKEND.0, BACKEND.1)), &[])
        .await
        .assert_oauth_error(400, "invalid_request");
    app.post_form(&revoke, Some(&basic(BACKEND.0, "x")), &[("token", refresh)])
        .await
        .assert_oauth_error(401, "invalid_client");

    // Ending the SSO session ends its online refresh tokens and access tokens.
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let sid = body["session_state"].as_str().unwrap();
    app.store.end_user_session(sid).await.unwrap();
    app.refresh(BACKEND, body["refresh_token"].as_str().unwrap())
        .await
        .assert_oauth_error(400, "invalid_grant");
    app.userinfo(body["access_token"].as_str().unwrap())
        .await
        .assert_oauth_error(401, "invalid_token");
}

#[tokio::test]
async fn revoked_access_tokens_fail_at_userinfo_and_introspection() {
    let app = app().await;
    let revoke = format!("{OIDC}/revoke");
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);
    assert_eq!(app.introspect(access).await["active"], true);
    // Only the client it was issued to may revoke it.
    app.post_form(
        &revoke,
        Some(&basic("other-app", "other-secret")),
        &[("token", access)],
    )
    .await
    .assert_oauth_error(400, "invalid_request");
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);

    let reply = app
        .post_form(
            &revoke,
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[("token", access), ("token_type_hint", "access_token")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let refused = app.userinfo(access).await;
    refused.assert_oauth_error(401, "invalid_token");
    assert_eq!(
        refused.header(header::WWW_AUTHENTICATE),
        "Bearer realm=\"acme\", error=\"invalid_token\""
    );
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    // As in Keycloak, the refresh token lives on, and so do the access tokens it brings.
    let refreshed = app.refresh(BACKEND, refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let fresh = refreshed.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.userinfo(&fresh).await.status, StatusCode::OK);
    // Revoking again changes nothing.
    let again = app
        .post_form(
            &revoke,
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[("token", access)],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);

    // A service account's token (no session) is revocable too.
    let cc = app
        .token(BACKEND, &[("grant_type", "client_credentials")])
        .await
        .json();
    let cc = cc["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(cc).await["active"], true);
    let reply = app
        .post_form(
            &revoke,
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[("token", cc)],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(app.introspect(cc).await, json!({"active": false}));
}

#[tokio::test]
async fn revoked_refresh_tokens_end_their_client_session() {
    let app = app().await;
    let redeem = |code: String, client: (&'static str, &'static str), redirect: &'static str| {
        let app = &app;
        async move {
            let reply = app
                .token(
                    client,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", redirect),
                    ],
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK);
            reply.json()
        }
    };
    // One browser session: two logins of backend (one with offline access), one of other-app.
    let (code, sid) = app.code(CodeSpec::new("backend", APP_CB)).await;
    let first = redeem(code, BACKEND, APP_CB).await;
    let code = app.code_in(&sid, CodeSpec::new("backend", APP_CB)).await;
    let second = redeem(code, BACKEND, APP_CB).await;
    let offline_spec = CodeSpec {
        scope: "openid offline_access",
        ..CodeSpec::new("backend", APP_CB)
    };
    let code = app.code_in(&sid, offline_spec).await;
    let offline = redeem(code, BACKEND, APP_CB).await;
    let other_spec = CodeSpec::new("other-app", "https://other.test/cb");
    let code = app.code_in(&sid, other_spec).await;
    let other_client = ("other-app", "other-secret");
    let other = redeem(code, other_client, "https://other.test/cb").await;
    let token = |body: &Value, name: &str| body[name].as_str().unwrap().to_owned();
    let (revoked, sibling) = (
        token(&first, "refresh_token"),
        token(&second, "refresh_token"),
    );
    assert_eq!(claims(&sibling)["sid"], sid.as_str());
    assert_eq!(claims(&token(&offline, "refresh_token"))["typ"], "Offline");
    assert_eq!(app.introspect(&sibling).await["active"], true);
    assert_eq!(
        app.introspect(&token(&second, "access_token")).await["active"],
        true
    );

    let reply = app
        .post_form(
            &format!("{OIDC}/revoke"),
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[("token", &revoked), ("token_type_hint", "refresh_token")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    // Every refresh token backend holds in the session is dead, and so are its access tokens.
    for refresh in [&revoked, &sibling] {
        app.refresh(BACKEND, refresh)
            .await
            .assert_oauth_error(400, "invalid_grant");
        assert_eq!(app.introspect(refresh).await, json!({"active": false}));
    }
    for body in [&first, &second] {
        let access = token(body, "access_token");
        app.userinfo(&access)
            .await
            .assert_oauth_error(401, "invalid_token");
        assert_eq!(app.introspect(&access).await, json!({"active": false}));
    }
    // Another client's tokens in the same session still work.
    let other_refresh = token(&other, "refresh_token");
    assert_eq!(app.introspect(&other_refresh).await["active"], true);
    let refreshed = app.refresh(other_client, &other_refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK);
    assert_eq!(
        app.userinfo(&token(&other, "access_token")).await.status,
        StatusCode::OK
    );
    // Keycloak keeps the offline share of the client session when an online token is revoked;
    // what it issues later works.
    app.clock.advance(1);
    let reply = app
        .refresh(BACKEND, &token(&offline, "refresh_token"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let later = token(&reply.json(), "access_token");
    assert_eq!(claims(&later)["sid"], sid.as_str());
    assert_eq!(app.userinfo(&later).await.status, StatusCode::OK);
    // So does a new login of backend in the session.
    let code = app.code_in(&sid, CodeSpec::new("backend", APP_CB)).await;
    let again = redeem(code, BACKEND, APP_CB).await;
    assert_eq!(
        app.introspect(&token(&again, "refresh_token")).await["active"],
        true
    );
    assert_eq!(
        app.userinfo(&token(&again, "access_token")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn offline_tokens_outlive_the_session() {
    let app = app().await;
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid offline_access")
        .await
        .json();
    assert_eq!(body["scope"], "openid profile email offline_access");
    let offline = body["refresh_token"].as_str().unwrap();
    let c = claims(offline);
    assert_eq!(c["typ"], "Offline");
    assert_eq!(c["exp"], NOW + 2_592_000);
    app.store
        .end_user_session(body["session_state"].as_str().unwrap())
        .await
        .unwrap();
    app.clock.advance(7200);
    let reply = app.refresh(BACKEND, offline).await;
    assert_eq!(reply.status, StatusCode::OK);
    let refreshed = reply.json();
    let access = refreshed["access_token"].as_str().unwrap();
    assert!(
        claims(access).get("sid").is_none(),
        "the ended session is not named"
    );
    assert_eq!(
        claims(refreshed["refresh_token"].as_str().unwrap())["typ"],
        "Offline"
    );
    assert_eq!(app.userinfo(access).await.status, StatusCode::OK);
    // The realm has an offline_access role that bob lacks: he gets an online token.
    let body = app
        .password(BACKEND, "bob", "bob-pw", "openid offline_access")
        .await
        .json();
    assert_eq!(
        claims(body["refresh_token"].as_str().unwrap())["typ"],
        "Refresh"
    );
    assert_eq!(body["scope"], "openid profile email");
}

#[tokio::test]
async fn rotation_counts_reuse_and_revokes_the_grant_on_theft() {
    let app = app().await;
    let token = "/auth/realms/rot/protocol/openid-connect/token";
    let client = basic("app", "app-secret");
    let login = app
        .post_form(
            token,
            Some(&client),
            &[
                ("grant_type", "password"),
                ("username", "dave"),
                ("password", "dave-pw"),
            ],
        )
        .await
        .json();
    let first = login["refresh_token"].as_str().unwrap();
    let refresh = |t: &str| {
        let (app, client, t) = (&app, client.clone(), t.to_owned());
        async move {
            app.post_form(
                token,
                Some(&client),
                &[("grant_type", "refresh_token"), ("refresh_token", &t)],
            )
            .await
        }
    };
    // refreshTokenMaxReuse = 1: two uses are fine, each giving a new token.
    let a = refresh(first).await.json();
    let b = refresh(first).await.json();
    let a_token = a["refresh_token"].as_str().unwrap();
    assert_ne!(a_token, first);
    assert_ne!(a_token, b["refresh_token"].as_str().unwrap());
    // A third use is theft: refused, and the grant's other tokens die with it.
    refresh(first)
        .await
        .assert_oauth_error(400, "invalid_grant");
    refresh(a_token)
        .await
        .assert_oauth_error(400, "invalid_grant");
}

#[tokio::test]
async fn public_clients_refresh_tokens_always_rotate() {
    let app = app().await;
    let public = |extra: &[(&'static str, String)]| {
        let mut form = vec![("client_id", "cli".to_owned())];
        form.extend_from_slice(extra);
        form
    };
    let post = |form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(TOKEN, None, &pairs).await
        }
    };
    let login = post(public(&[
        ("grant_type", "password".into()),
        ("username", "alice".into()),
        ("password", "alice-pw".into()),
    ]))
    .await
    .json();
    let first = login["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| {
        public(&[
            ("grant_type", "refresh_token".into()),
            ("refresh_token", token.to_owned()),
        ])
    };
    let next = post(refresh(&first)).await;
    assert_eq!(next.status, StatusCode::OK);
    let second = next.json()["refresh_token"].as_str().unwrap().to_owned();
    // The realm does not rotate (revokeRefreshToken false), but a public client's token is
    // single use all the same: reuse revokes the grant.
    post(refresh(&first))
        .await
        .assert_oauth_error(400, "invalid_grant");
    post(refresh(&second))
        .await
        .assert_oauth_error(400, "invalid_grant");
    // A confidential client's token in the same realm is reusable.
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let token = body["refresh_token"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(app.refresh(BACKEND, token).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn userinfo_endpoint() {
    let app = app().await;
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let access = body["access_token"].as_str().unwrap();
    let alice = app.user_id("acme", "alice").await;
    let expected = json!({
        "sub": alice, "preferred_username": "alice", "name": "Alice Liddell",
        "given_name": "Alice", "family_name": "Liddell", "email": "alice@example.test",
        "email_verified": true, "org": {"dept": "wonderland"}, "groups": ["/eng/platform"],
        "first": "Alice",
    });
    let get = app.userinfo(access).await;
    assert_eq!(get.status, StatusCode::OK);
    assert!(
        get.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    assert_eq!(get.json(), expected);
    let userinfo = format!("{OIDC}/userinfo");
    let post_header = app.post_form(&userinfo, Some(&bearer(access)), &[]).await;
    assert_eq!(post_header.json(), expected);
    let post_body = app
        .post_form(&userinfo, None, &[("access_token", access)])
        .await;
    assert_eq!(post_body.json(), expected);

    let missing = app.get(&userinfo, None).await;
    missing.assert_oauth_error(401, "invalid_request");
    assert_eq!(
        missing.header(header::WWW_AUTHENTICATE),
        "Bearer realm=\"acme\""
    );
    let bad = app.userinfo("garbage").await;
    bad.assert_oauth_error(401, "invalid_token");
    assert_eq!(
        bad.header(header::WWW_AUTHENTICATE),
        "Bearer realm=\"acme\", error=\"invalid_token\""
    );
    app.post_form(
        &userinfo,
        Some(&bearer(access)),
        &[("access_token", access)],
    )
    .await
    .assert_oauth_error(400, "invalid_request");
    for token in [
        app.docker_token().await.as_str(),
        body["id_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
    ] {
        app.userinfo(token)
            .await
            .assert_oauth_error(401, "invalid_token");
    }
    // A token without the openid scope.
    let cc = app
        .token(BACKEND, &[("grant_type", "client_credentials")])
        .await
        .json();
    app.userinfo(cc["access_token"].as_str().unwrap())
        .await
        .assert_oauth_error(403, "insufficient_scope");
    // A token of another realm, and an expired one.
    let other = app
        .post_form(
            "/auth/realms/other/protocol/openid-connect/token",
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-pw"),
                ("scope", "openid"),
            ],
        )
        .await
        .json();
    app.userinfo(other["access_token"].as_str().unwrap())
        .await
        .assert_oauth_error(401, "invalid_token");
    app.clock.advance(301);
    app.userinfo(access)
        .await
        .assert_oauth_error(401, "invalid_token");
}

#[tokio::test]
async fn introspection_endpoint() {
    let app = app().await;
    let body = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    let active = app.introspect(access).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "backend");
    assert_eq!(active["username"], "alice");
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["sub"], claims(access)["sub"]);
    assert_eq!(active["exp"], NOW + 300);
    assert!(
        active.get("tier").is_none(),
        "introspection.token.claim=false"
    );
    assert_eq!(
        active["roles"],
        json!(["ROLE_offline_access", "ROLE_staff"])
    );
    let r = app.introspect(refresh).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "Refresh");

    let cc = app
        .token(BACKEND, &[("grant_type", "client_credentials")])
        .await
        .json();
    let service = app.introspect(cc["access_token"].as_str().unwrap()).await;
    assert_eq!(service["active"], true);
    assert_eq!(service["username"], "service-account-backend");

    let other = app
        .post_form(
            "/auth/realms/other/protocol/openid-connect/token",
            Some(&basic(BACKEND.0, BACKEND.1)),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", "alice-pw"),
            ],
        )
        .await
        .json();
    let inactive = [
        app.docker_token().await,
        other["access_token"].as_str().unwrap().to_owned(),
        body["id_token"].as_str().unwrap().to_owned(),
        "garbage".to_owned(),
    ];
    for token in &inactive {
        assert_eq!(
            app.introspect(token).await,
            json!({"active": false}),
            "{token}"
        );
    }
    app.clock.advance(301);
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    assert_eq!(app.introspect(refresh).await["active"], true);

    // Callers must be authenticated confidential clients; the token is required.
    let path = format!("{OIDC}/token/introspect");
    app.post_form(&path, None, &[("token", access)])
        .await
        .assert_oauth_error(401, "invalid_client");
    app.post_form(&path, None, &[("token", access), ("client_id", "spa")])
        .await
        .assert_oauth_error(401, "invalid_client");
    app.post_form(&path, Some(&basic(BACKEND.0, BACKEND.1)), &[])
        .await
        .assert_oauth_error(400, "invalid_request");
}

#[tokio::test]
async fn device_authorization_grant() {
    let app = app().await;
    let device = format!("{OIDC}/auth/device");
    let reply = app
        .post_form(&device, None, &[("client_id", "spa"), ("scope", "openid")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header(header::CACHE_CONTROL), "no-store");
    let auth = reply.json();
    let user_code = auth["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .bytes()
            .all(|b| b == b'-' || b"BCDFGHJKLMNPQRSTVWXZ".contains(&b))
    );
    assert_eq!(auth["verification_uri"], format!("{ISSUER}/device"));
    assert_eq!(
        auth["verification_uri_complete"],
        format!("{ISSUER}/device?user_code={user_code}")
    );
    assert_eq!(auth["expires_in"], 600);
    assert_eq!(auth["interval"], 5);
    let device_code = auth["device_code"].as_str().unwrap();
    let hash = sha256_hex(device_code);
    let stored = app.store.find_device_code(&hash).await.unwrap().unwrap();
    assert_eq!(stored.user_code, user_code.replace('-', ""));

    let poll = || {
        let app = &app;
        let device_code = device_code.to_owned();
        async move {
            app.post_form(
                TOKEN,
                None,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                    ("client_id", "spa"),
                ],
            )
            .await
        }
    };
    poll()
        .await
        .assert_oauth_error(400, "authorization_pending");
    app.clock.advance(2);
    poll().await.assert_oauth_error(400, "slow_down");
    app.clock.advance(5);
    poll()
        .await
        .assert_oauth_error(400, "authorization_pending");
    // Another client cannot redeem it.
    app.token(
        BACKEND,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", device_code),
        ],
    )
    .await
    .assert_oauth_error(400, "invalid_grant");

    let session = app.session("alice").await;
    let approved = DeviceCodeStatus::Approved {
        user_id: app.user_id("acme", "alice").await,
        session_id: session.clone(),
        auth_time: NOW - 5,
    };
    app.store
        .set_device_code_status(&hash, &approved)
        .await
        .unwrap();
    let reply = poll().await;
    assert_eq!(reply.status, StatusCode::OK);
    let tokens = reply.json();
    assert_eq!(
        claims(tokens["id_token"].as_str().unwrap())["sid"],
        session.as_str()
    );
    assert_eq!(
        claims(tokens["access_token"].as_str().unwrap())["azp"],
        "spa"
    );
    poll().await.assert_oauth_error(400, "invalid_grant");

    // Denied, and expired.
    let code_of = |reply: Reply| reply.json()["device_code"].as_str().unwrap().to_owned();
    let denied = code_of(app.post_form(&device, None, &[("client_id", "spa")]).await);
    app.store
        .set_device_code_status(&sha256_hex(&denied), &DeviceCodeStatus::Denied)
        .await
        .unwrap();
    let grant = |code: String| {
        let app = &app;
        async move {
            app.post_form(
                TOKEN,
                None,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &code),
                    ("client_id", "spa"),
                ],
            )
            .await
        }
    };
    grant(denied).await.assert_oauth_error(400, "access_denied");
    let expiring = code_of(app.post_form(&device, None, &[("client_id", "spa")]).await);
    app.clock.advance(601);
    grant(expiring)
        .await
        .assert_oauth_error(400, "expired_token");
    grant("unknown".into())
        .await
        .assert_oauth_error(400, "invalid_grant");
    app.post_form(
        TOKEN,
        None,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "spa"),
        ],
    )
    .await
    .assert_oauth_error(400, "invalid_request");

    // Clients without the attribute may not start the flow.
    app.post_form(&device, None, &[("client_id", "cli")])
        .await
        .assert_oauth_error(400, "unauthorized_client");
    app.post_form(&device, None, &[])
        .await
        .assert_oauth_error(401, "invalid_client");
}

#[tokio::test]
async fn cors_for_browser_clients() {
    let app = app().await;
    let request = |origin: &str| {
        Request::post(TOKEN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic(BACKEND.0, BACKEND.1))
            .header(header::ORIGIN, origin)
            .body(Body::from("grant_type=client_credentials"))
            .unwrap()
    };
    let allowed = app.send(request("https://app.test")).await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(
        allowed.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "https://app.test"
    );
    let denied = app.send(request("https://evil.test")).await;
    assert_eq!(denied.status, StatusCode::OK);
    assert_eq!(denied.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), "");
    let preflight = Request::options(TOKEN)
        .header(header::ORIGIN, "https://app.test")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let reply = app.send(preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header(header::ACCESS_CONTROL_ALLOW_ORIGIN),
        "https://app.test"
    );
}

/// Keycloak's back-channel logout (python-keycloak's `logout(refresh_token)`): the client
/// authenticates and posts its refresh token to `logout`; the whole session ends (204), with
/// the tokens of every client in it. Offline tokens end their offline session. Another
/// client's token, or something that is not a refresh token, is 400 `invalid_grant`.
#[tokio::test]
async fn logout_with_a_refresh_token_ends_the_session() {
    let app = app().await;
    let logout = |client: (&'static str, &'static str), token: String| {
        let app = &app;
        async move {
            app.post_form(
                &format!("{OIDC}/logout"),
                Some(&basic(client.0, client.1)),
                &[("refresh_token", token.as_str())],
            )
            .await
        }
    };
    let tokens = app
        .password(BACKEND, "alice", "alice-pw", "openid")
        .await
        .json();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let other = app
        .password(OTHER_APP, "alice", "alice-pw", "openid")
        .await
        .json();
    let other_refresh = other["refresh_token"].as_str().unwrap().to_string();

    let foreign = logout(OTHER_APP, refresh.clone()).await;
    foreign.assert_oauth_error(400, "invalid_grant");
    assert!(foreign.text().contains("don't match"), "{}", foreign.text());
    logout(BACKEND, access.clone())
        .await
        .assert_oauth_error(400, "invalid_grant");
    logout(BACKEND, "garbage".into())
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert_eq!(app.userinfo(&access).await.status, StatusCode::OK);

    let ended = logout(BACKEND, refresh.clone()).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.text());
    assert!(ended.body.is_empty());
    app.refresh(BACKEND, &refresh)
        .await
        .assert_oauth_error(400, "invalid_grant");
    assert_eq!(app.userinfo(&access).await.status, StatusCode::UNAUTHORIZED);
    // The other client's session is another session: it lives on.
    assert_eq!(
        app.refresh(OTHER_APP, &other_refresh).await.status,
        StatusCode::OK
    );
    // Again, and after expiry: still 204.
    assert_eq!(
        logout(BACKEND, refresh.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    app.clock.advance(100_000);
    assert_eq!(
        logout(BACKEND, refresh).await.status,
        StatusCode::NO_CONTENT
    );

    let offline = app
        .password(BACKEND, "alice", "alice-pw", "openid offline_access")
        .await
        .json();
    let offline = offline["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(app.refresh(BACKEND, &offline).await.status, StatusCode::OK);
    assert_eq!(
        logout(BACKEND, offline.clone()).await.status,
        StatusCode::NO_CONTENT
    );
    app.refresh(BACKEND, &offline)
        .await
        .assert_oauth_error(400, "invalid_grant");
}
