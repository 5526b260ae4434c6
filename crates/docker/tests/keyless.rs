//! Keyless CI in process: a second Portcullis, served on a local port, is the CI platform: its
//! realm `ci` issues client-credentials tokens whose claims come from protocol mappers
//! (hardcoded claims, an audience mapper), and the registry's realm trusts it through
//! `docker-v2-ci-token-mapper` rules. The registry fetches the issuer's discovery document and
//! keys over HTTP, as it would from GitHub or GitLab.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
use portcullis_docker::issuers::MIN_REFETCH_SECS;
use portcullis_testkit::jwt::{claims, header as jwt_header, part};
use portcullis_testkit::{FORM, Reply, TestApp, basic, bearer, with_peer};
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const TOKEN: &str = "/auth/realms/acme/protocol/docker-v2/auth";
const AUDIENCE: &str = "registry.acme.test";

/// A confidential client of the CI realm with a service account whose tokens carry `claims`
/// and, when given, `audience`.
fn ci_client(client_id: &str, claims: &[(&str, &str)], audience: Option<&str>) -> Value {
    let mut mappers: Vec<Value> = claims
        .iter()
        .map(|(name, value)| {
            json!({"name": name, "protocol": "openid-connect",
                   "protocolMapper": "oidc-hardcoded-claim-mapper",
                   "config": {"claim.name": name, "claim.value": value,
                              "jsonType.label": "String", "access.token.claim": "true"}})
        })
        .collect();
    if let Some(audience) = audience {
        mappers.push(json!({"name": "audience", "protocol": "openid-connect",
                            "protocolMapper": "oidc-audience-mapper",
                            "config": {"included.custom.audience": audience,
                                       "access.token.claim": "true"}}));
    }
    json!({"clientId": client_id, "secret": format!("{client_id}-secret"),
           "publicClient": false, "serviceAccountsEnabled": true,
           "standardFlowEnabled": false, "protocolMappers": mappers})
}

fn ci_realm() -> Value {
    let main = [("repository", "acme/api"), ("ref", "refs/heads/main")];
    json!({
        "realm": "ci",
        "enabled": true,
        "accessTokenLifespan": 600,
        "clients": [
            ci_client("api-main", &main, Some(AUDIENCE)),
            ci_client("api-feature", &[("repository", "acme/api"), ("ref", "refs/heads/wip")], Some(AUDIENCE)),
            ci_client("evil", &[("repository", "evil/api"), ("ref", "refs/heads/main")], Some(AUDIENCE)),
            ci_client("wrong-audience", &main, Some("https://github.com/acme")),
        ]
    })
}

fn registry_realm(issuer: &str) -> Value {
    let ci_rule = |name: &str, claims: &str, repository: &str, actions: &str| {
        json!({"name": name, "protocol": "docker-v2",
               "protocolMapper": "docker-v2-ci-token-mapper",
               "config": {"issuer": issuer, "audience": AUDIENCE, "claims": claims,
                          "repository": repository, "actions": actions}})
    };
    json!({
        "realm": "acme",
        "enabled": true,
        "eventsEnabled": true,
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-pw"}]}],
        "clients": [{
            "clientId": "registry", "protocol": "docker-v2", "enabled": true, "publicClient": true,
            "protocolMappers": [
                ci_rule("api main pushes", "repository=acme/api, ref=refs/heads/main", "acme/api/**", "push"),
                ci_rule("api branches pull", "repository=acme/api, ref=refs/heads/*", "acme/**", "pull"),
                {"name": "alice", "protocol": "docker-v2",
                 "protocolMapper": "docker-v2-repository-access-mapper",
                 "config": {"repository": "alice/**", "actions": "*", "subject": "authenticated"}}
            ]
        }]
    })
}

/// The CI platform: a Portcullis serving realm `ci` on a local port.
struct Issuer {
    app: TestApp,
    issuer: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Issuer {
    async fn start() -> Issuer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let app = TestApp::builder()
            .realm(ci_realm())
            .base_url(&base)
            .now(NOW)
            .build()
            .await;
        let router = app.router.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        let issuer = app.issuer("ci");
        Issuer {
            app,
            issuer,
            server,
        }
    }

    /// A client-credentials access token of `client_id`.
    async fn token(&self, client_id: &str) -> String {
        let reply = self
            .app
            .send_body(
                Method::POST,
                "/auth/realms/ci/protocol/openid-connect/token",
                Some(&basic(client_id, &format!("{client_id}-secret"))),
                FORM,
                "grant_type=client_credentials".to_owned(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Adds a new RS256 key to realm `ci` and makes it the signing one (the old key stays
    /// published), as an operator rotating keys does.
    async fn rotate_keys(&self) {
        let realm_id = self.app.realm_id("ci").await;
        let material = KeyMaterial::generate(Algorithm::Rs256, "ci", NOW).unwrap();
        let db = self.app.store.connection();
        let id = portcullis_store::admin::keys::add(db, &realm_id, material, 0, NOW)
            .await
            .unwrap();
        portcullis_store::admin::keys::set_priority(db, &realm_id, &id, i64::MAX / 2)
            .await
            .unwrap();
        self.app.state.invalidate_realm("ci");
    }
}

async fn registry(issuer: &str) -> TestApp {
    TestApp::builder()
        .realm(registry_realm(issuer))
        .master_admin("admin", "admin-pw")
        .now(NOW)
        .build()
        .await
}

async fn get(app: &TestApp, query: &str, auth: &str) -> Reply {
    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("{TOKEN}?service=registry&{query}"))
        .header(header::AUTHORIZATION, auth)
        .body(Body::empty())
        .unwrap();
    app.send(with_peer(request, "192.0.2.7:4000")).await
}

/// The actions granted per resource name, from a 200 reply's token.
fn granted(reply: &Reply) -> Vec<(String, Vec<String>)> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    part(&token, 1)["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let actions = a["actions"].as_array().unwrap();
            let actions = actions.iter().map(|x| x.as_str().unwrap().to_owned());
            (a["name"].as_str().unwrap().to_owned(), actions.collect())
        })
        .collect()
}

fn row(name: &str, actions: &[&str]) -> (String, Vec<String>) {
    (
        name.to_owned(),
        actions.iter().map(|a| (*a).to_owned()).collect(),
    )
}

const SCOPES: &str = "scope=repository:acme/api/app:pull,push&scope=repository:acme/web:pull,push&scope=repository:alice/x:pull";

async fn events(app: &TestApp, kind: &str) -> Vec<Value> {
    app.state.flush_events().await;
    let reply = app
        .get(
            &format!("/auth/admin/realms/acme/events?type={kind}&max=100"),
            Some(&bearer(&app.admin_token().await)),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json().as_array().unwrap().clone()
}

#[tokio::test]
async fn a_ci_token_of_a_trusted_issuer_gets_what_its_rules_grant() {
    let issuer = Issuer::start().await;
    let registry = registry(&issuer.issuer).await;
    let token = issuer.token("api-main").await;
    assert_eq!(claims(&token)["repository"], "acme/api");
    assert_eq!(claims(&token)["aud"], json!(AUDIENCE));

    // Any username; no user's rights (alice/** is for signed-in users); no refresh token.
    let reply = get(
        &registry,
        &format!("{SCOPES}&offline_token=true"),
        &basic("ci", &token),
    )
    .await;
    assert_eq!(
        granted(&reply),
        [
            row("acme/api/app", &["pull", "push"]),
            row("acme/web", &["pull"]),
            row("alice/x", &[]),
        ]
    );
    assert!(reply.json().get("refresh_token").is_none());
    let registry_token = reply.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        claims(&registry_token)["sub"],
        claims(&token)["sub"],
        "the registry token names the CI token's subject"
    );

    // A replay inside the token's lifetime works (CI jobs reuse their token), by POST too.
    let replay = get(&registry, SCOPES, &basic("ci", &token)).await;
    assert_eq!(granted(&replay)[0], row("acme/api/app", &["pull", "push"]));
    let form = format!(
        "grant_type=password&service=registry&access_type=offline&username=ci&password={token}&scope=repository:acme/api/app:push"
    );
    let posted = registry
        .send_body(Method::POST, TOKEN, None, FORM, form)
        .await;
    assert_eq!(granted(&posted), [row("acme/api/app", &["push"])]);
    assert!(posted.json().get("refresh_token").is_none());

    // A login without scopes (docker login) succeeds.
    let login = get(&registry, "", &basic("ci", &token)).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());

    // Another branch of the same repository: pull only.
    let feature = issuer.token("api-feature").await;
    let reply = get(&registry, SCOPES, &basic("ci", &feature)).await;
    assert_eq!(
        granted(&reply),
        [
            row("acme/api/app", &["pull"]),
            row("acme/web", &["pull"]),
            row("alice/x", &[]),
        ]
    );

    // Passwords keep working beside it.
    let alice = get(&registry, SCOPES, &basic("alice", "alice-pw")).await;
    assert_eq!(granted(&alice)[2], row("alice/x", &["pull"]));

    let issued = events(&registry, "DOCKER_TOKEN").await;
    assert!(
        issued
            .iter()
            .any(|e| e["details"]["credential"] == "ci_token"
                && e["details"]["ci_issuer"] == issuer.issuer.as_str()
                && e["details"]["ci_rules"].as_str().is_some_and(|r| r
                    .contains("api main pushes")
                    && r.contains("api branches pull"))),
        "{issued:?}"
    );
}

#[tokio::test]
async fn refused_ci_tokens_get_a_challenge_and_nothing_else() {
    let issuer = Issuer::start().await;
    let registry = registry(&issuer.issuer).await;
    let good = issuer.token("api-main").await;
    let good_claims = claims(&good);
    let with = |changes: Value| {
        let mut c = good_claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let stranger = {
        let material = KeyMaterial::generate(Algorithm::Rs256, "stranger", NOW).unwrap();
        SigningKey::from_material(&material).unwrap()
    };
    let stranger_signed = {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": stranger.thumbprint_kid()});
        stranger
            .sign_jws(
                header.to_string().as_bytes(),
                with(json!({})).to_string().as_bytes(),
            )
            .unwrap()
    };
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        use base64::Engine as _;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(with(json!({"repository": "acme/api", "sub": "root"})).to_string());
        parts.join(".")
    };
    let rows = [
        (
            "wrong audience",
            issuer.token("wrong-audience").await,
            "ci_wrong_audience",
        ),
        (
            "claims matching no rule",
            issuer.token("evil").await,
            "ci_no_matching_rule",
        ),
        (
            "expired",
            issuer
                .app
                .sign(
                    "ci",
                    Algorithm::Rs256,
                    &with(json!({"exp": NOW - 120, "iat": NOW - 720})),
                )
                .await,
            "ci_expired",
        ),
        (
            "not valid yet",
            issuer
                .app
                .sign("ci", Algorithm::Rs256, &with(json!({"nbf": NOW + 300})))
                .await,
            "ci_not_yet_valid",
        ),
        ("unknown key", stranger_signed, "ci_unknown_key"),
        ("tampered claims", tampered, "ci_bad_signature"),
        (
            "untrusted issuer",
            issuer
                .app
                .sign(
                    "ci",
                    Algorithm::Rs256,
                    &with(json!({"iss": "https://ci.evil.test"})),
                )
                .await,
            "ci_untrusted_issuer",
        ),
    ];
    for (what, token, _) in &rows {
        let reply = get(&registry, SCOPES, &basic("ci", token)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.text()
        );
        assert!(
            reply
                .header(header::WWW_AUTHENTICATE)
                .starts_with("Basic realm=\"acme\""),
            "{what}"
        );
        assert!(reply.json().get("token").is_none(), "{what}");
        assert!(
            !reply.text().contains(token.as_str()),
            "{what}: the token is echoed"
        );
        assert_eq!(reply.json()["errors"][0]["code"], "UNAUTHORIZED", "{what}");
    }
    let failures = events(&registry, "DOCKER_TOKEN_ERROR").await;
    for (what, token, code) in &rows {
        assert!(
            failures
                .iter()
                .any(|e| e["error"] == *code && e["details"]["credential"] == "ci_token"),
            "{what}: no {code} event in {failures:?}"
        );
        assert!(
            !serde_json::to_string(&failures)
                .unwrap()
                .contains(token.as_str()),
            "{what}: an event holds the token"
        );
    }
    // The issuer's keys were fetched once for all of these, not per token.
    assert_eq!(jwt_header(&good)["alg"], "RS256");
}

#[tokio::test]
async fn the_issuer_rotating_its_keys_keeps_ci_working() {
    let issuer = Issuer::start().await;
    let registry = registry(&issuer.issuer).await;
    let before = issuer.token("api-main").await;
    let reply = get(&registry, SCOPES, &basic("ci", &before)).await;
    assert_eq!(granted(&reply)[0], row("acme/api/app", &["pull", "push"]));

    issuer.rotate_keys().await;
    let after = issuer.token("api-main").await;
    assert_ne!(jwt_header(&before)["kid"], jwt_header(&after)["kid"]);

    // Within the refetch interval the cached key set is kept: the new key is unknown yet.
    let early = get(&registry, SCOPES, &basic("ci", &after)).await;
    assert_eq!(early.status, StatusCode::UNAUTHORIZED, "{}", early.text());

    // Once the interval has passed, the unknown kid fetches the keys again.
    registry.clock.advance(MIN_REFETCH_SECS);
    let reply = get(&registry, SCOPES, &basic("ci", &after)).await;
    assert_eq!(granted(&reply)[0], row("acme/api/app", &["pull", "push"]));
    // Tokens of the previous key, still published, keep working.
    let reply = get(&registry, SCOPES, &basic("ci", &before)).await;
    assert_eq!(granted(&reply)[0], row("acme/api/app", &["pull", "push"]));
}

#[tokio::test]
async fn ci_rules_are_checked_when_stored() {
    let issuer = Issuer::start().await;
    let registry = registry(&issuer.issuer).await;
    let admin = bearer(&registry.admin_token().await);
    let clients = registry
        .get(
            "/auth/admin/realms/acme/clients?clientId=registry",
            Some(&admin),
        )
        .await
        .json();
    let id = clients[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/auth/admin/realms/acme/clients/{id}/protocol-mappers/models");
    let bad = json!({"name": "everyone on github", "protocol": "docker-v2",
                     "protocolMapper": "docker-v2-ci-token-mapper",
                     "config": {"issuer": "https://token.actions.githubusercontent.com",
                                "audience": AUDIENCE, "repository": "**", "actions": "push"}});
    let reply = registry.post_json(&path, Some(&admin), &bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.text().contains("claims"), "{}", reply.text());
    let mut good = bad.clone();
    good["config"]["claims"] = json!("repository=acme/api");
    let reply = registry.post_json(&path, Some(&admin), &good).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let mappers = registry.get(&path, Some(&admin)).await.json();
    assert!(
        mappers
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["protocolMapper"] == "docker-v2-ci-token-mapper"
                && m["config"]["claims"] == "repository=acme/api")
    );
}
