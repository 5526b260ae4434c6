//! The upstream client against real upstreams: npm `oidc-provider` (a third-party OpenID
//! Connect provider, also used in its OAuth 2.0 role with a user-info URL) and a second
//! Portcullis served on a port; logins driven through their HTML pages with a cookie jar.
//! Then the same logins carried out on a real database: the first-login policy, the mappers,
//! provenance, and reconciliation when the upstream's groups change. And upstreams that hang,
//! answer garbage or redirect, on real sockets.
//!
//! Needs `node` and `npm ci --prefix tests/interop`; skipped with a message without them, a
//! failure when `PORTCULLIS_REQUIRE_E2E=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use portcullis_broker::{
    BrokerError, BrokeredLogin, FirstLogin, Http, Limits, Outcome, PendingUpstream, Plan, Upstream,
    sign_in,
};
use portcullis_core::model::{FirstLoginPolicy, IdentityProvider};
use portcullis_store::broker as provenance;
use portcullis_testkit::{TestApp, TestDatabase, parse_forms};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const REDIRECT: &str = "http://127.0.0.1:9/auth/realms/acme/broker/corp/endpoint";
const NOW: i64 = 1_795_000_000;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn e2e_required() -> bool {
    std::env::var("PORTCULLIS_REQUIRE_E2E").as_deref() == Ok("1")
}

fn skip(test: &str, why: &str) {
    assert!(!e2e_required(), "{test}: {why}");
    eprintln!("SKIPPED {test}: {why}");
}

/// A running npm `oidc-provider`; killed when dropped.
struct OidcProvider {
    issuer: String,
    accounts: PathBuf,
    _child: Child,
}

impl OidcProvider {
    /// Starts one, with `alice` as its account; None (the test skips) without node or the
    /// npm packages.
    async fn start(test: &str) -> Option<OidcProvider> {
        let interop = workspace_root().join("tests/interop");
        if !interop.join("node_modules/oidc-provider").is_dir() {
            skip(
                test,
                "npm packages not installed (npm ci --prefix tests/interop)",
            );
            return None;
        }
        let accounts = std::env::temp_dir().join(format!(
            "portcullis-accounts-{}.json",
            portcullis_core::secrets::random_token::<8>()
        ));
        std::fs::write(&accounts, json!({"alice": default_alice()}).to_string()).unwrap();
        let spawned = Command::new("node")
            .arg(interop.join("oidc-provider.mjs"))
            .env("REDIRECT_URIS", REDIRECT)
            .env("ACCOUNTS", &accounts)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&accounts);
                skip(test, &format!("node cannot be started ({e})"));
                return None;
            }
        };
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("oidc-provider starts within 20 s")
            .unwrap()
            .expect("oidc-provider prints its issuer");
        let ready: Value = serde_json::from_str(&line).unwrap();
        // Whatever it prints later is read and dropped, so it never writes into a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(OidcProvider {
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            accounts,
            _child: child,
        })
    }

    /// Replaces the accounts with this one; the provider reads them at every request.
    fn set_account(&self, id: &str, claims: Value) {
        std::fs::write(&self.accounts, json!({ id: claims }).to_string()).unwrap();
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.accounts);
    }
}

fn default_alice() -> Value {
    json!({"email": "Alice@Corp.test", "email_verified": true, "preferred_username": "alice",
           "given_name": "Alice", "family_name": "Liddell", "groups": ["platform", "web"]})
}

fn provider(provider_id: &str, config: Value) -> IdentityProvider {
    IdentityProvider {
        id: "corp-id".into(),
        alias: "corp".into(),
        display_name: None,
        provider_id: provider_id.into(),
        enabled: true,
        hide_on_login: false,
        trust_email: true,
        link_only: false,
        first_login: FirstLoginPolicy::LinkVerified,
        config: serde_json::from_value(config).unwrap(),
        mappers: Vec::new(),
    }
}

/// Follows the upstream's pages as a browser would, filling every login form with
/// `fields` and pressing every other form's button, until the upstream redirects to
/// [`REDIRECT`]; returns that redirect's query.
async fn browse(start: &str, fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut url = reqwest::Url::parse(start).unwrap();
    let mut response = browser.get(url.clone()).send().await.unwrap();
    for _ in 0..20 {
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_string();
            let next = url.join(&location).unwrap();
            if next.as_str().starts_with(REDIRECT) {
                return next.query_pairs().into_owned().collect();
            }
            url = next;
            response = browser.get(url.clone()).send().await.unwrap();
            continue;
        }
        let page = response.text().await.unwrap();
        assert!(status.is_success(), "{status} at {url}: {page}");
        let form = parse_forms(&page)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no form at {url}: {page}"));
        let mut values = form.fields.clone();
        for (name, value) in fields {
            if let Some(slot) = values.iter_mut().find(|(k, _)| k == name) {
                slot.1 = value.to_string();
            }
        }
        let action = url.join(&form.action).unwrap();
        url = action.clone();
        response = browser.post(action).form(&values).send().await.unwrap();
    }
    panic!("no redirect back after 20 pages");
}

const ALICE: &[(&str, &str)] = &[("login", "alice"), ("password", "any")];

/// A login through `upstream`: started, driven, finished.
async fn login(
    upstream: &Upstream<'_>,
    fields: &[(&str, &str)],
) -> (
    PendingUpstream,
    String,
    Result<portcullis_core::broker::UpstreamIdentity, BrokerError>,
) {
    let started = upstream.start(REDIRECT, Some("alice")).await.unwrap();
    let query = browse(&started.url, fields).await;
    assert!(
        started.pending.state_matches(&query["state"]),
        "the state comes back"
    );
    let code = query["code"].clone();
    let identity = upstream.finish(&code, &started.pending, NOW).await;
    (started.pending, code, identity)
}

#[tokio::test]
async fn oidc_provider_signs_in_through_discovery_with_pkce_state_and_nonce() {
    const TEST: &str = "oidc_provider_signs_in_through_discovery_with_pkce_state_and_nonce";
    let Some(op) = OidcProvider::start(TEST).await else {
        return;
    };
    let http = Http::new().unwrap();
    let corp = provider(
        "oidc",
        json!({"clientId": "portcullis", "clientSecret": "upstream-secret",
               "issuer": op.issuer, "clientAuthMethod": "client_secret_basic",
               "defaultScope": "openid email profile groups"}),
    );
    let upstream = Upstream::new(&http, &corp).unwrap();
    let started = upstream.start(REDIRECT, None).await.unwrap();
    let auth = reqwest::Url::parse(&started.url).unwrap();
    let params: BTreeMap<String, String> = auth.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["scope"], "openid email profile groups");
    assert_eq!(params["state"].len(), 43, "256 bits");
    assert!(params["nonce"].len() >= 43);

    let (pending, code, identity) = login(&upstream, ALICE).await;
    let identity = identity.unwrap();
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.username.as_deref(), Some("alice"));
    assert_eq!(identity.email.as_deref(), Some("Alice@Corp.test"));
    assert!(identity.email_verified);
    assert_eq!(identity.first_name.as_deref(), Some("Alice"));
    assert_eq!(identity.groups, ["platform", "web"], "from the user info");
    assert_eq!(
        identity.claims["iss"],
        op.issuer.as_str(),
        "the ID token's claims"
    );

    // The same code again: the upstream refuses it.
    match upstream.finish(&code, &pending, NOW).await {
        Err(BrokerError::Refused(why)) => assert!(why.contains("invalid_grant"), "{why}"),
        other => panic!("a replayed code: {other:?}"),
    }

    // A login whose nonce is not the ID token's.
    let started = upstream.start(REDIRECT, None).await.unwrap();
    let query = browse(&started.url, ALICE).await;
    let mut forged = started.pending.clone();
    forged.nonce = Some("another-nonce".into());
    assert!(matches!(
        upstream.finish(&query["code"], &forged, NOW).await,
        Err(BrokerError::InvalidToken(_))
    ));

    // A PKCE verifier that is not the one of the challenge.
    let started = upstream.start(REDIRECT, None).await.unwrap();
    let query = browse(&started.url, ALICE).await;
    let mut forged = started.pending.clone();
    forged.pkce_verifier = Some(portcullis_core::secrets::random_token::<32>());
    assert!(matches!(
        upstream.finish(&query["code"], &forged, NOW).await,
        Err(BrokerError::Refused(_))
    ));

    // A login started for another provider is refused before anything is sent.
    let started = upstream.start(REDIRECT, None).await.unwrap();
    let query = browse(&started.url, ALICE).await;
    let mut other = started.pending.clone();
    other.alias = "github".into();
    assert!(matches!(
        upstream.finish(&query["code"], &other, NOW).await,
        Err(BrokerError::Refused(_))
    ));
    // ... and the code, unused, still works with its own login.
    assert!(
        upstream
            .finish(&query["code"], &started.pending, NOW)
            .await
            .is_ok()
    );

    // An ID token judged a day later has expired.
    let (_, _, late) = {
        let started = upstream.start(REDIRECT, None).await.unwrap();
        let query = browse(&started.url, ALICE).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let late = upstream
            .finish(&query["code"], &started.pending, now + 86_400)
            .await;
        ((), (), late)
    };
    assert!(
        matches!(late, Err(BrokerError::InvalidToken(_))),
        "{late:?}"
    );
}

#[tokio::test]
async fn oidc_provider_with_explicit_endpoints_and_the_oauth2_type() {
    const TEST: &str = "oidc_provider_with_explicit_endpoints_and_the_oauth2_type";
    let Some(op) = OidcProvider::start(TEST).await else {
        return;
    };
    let http = Http::new().unwrap();
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", op.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let explicit = provider(
        "oidc",
        json!({"clientId": "portcullis-post", "clientSecret": "upstream-secret",
               "clientAuthMethod": "client_secret_post", "issuer": op.issuer,
               "authorizationUrl": discovery["authorization_endpoint"],
               "tokenUrl": discovery["token_endpoint"],
               "jwksUrl": discovery["jwks_uri"],
               "userInfoUrl": discovery["userinfo_endpoint"],
               "defaultScope": "openid email groups"}),
    );
    let upstream = Upstream::new(&http, &explicit).unwrap();
    let (_, _, identity) = login(&upstream, ALICE).await;
    let identity = identity.unwrap();
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.groups, ["platform", "web"]);
    assert_eq!(identity.username, None, "no profile scope asked for");

    // A wrong client secret: the upstream refuses the code.
    let mut wrong = explicit.clone();
    wrong
        .config
        .insert("clientSecret".into(), "not-the-secret".into());
    let upstream = Upstream::new(&http, &wrong).unwrap();
    let (_, _, refused) = login(&upstream, ALICE).await;
    match refused {
        Err(BrokerError::Refused(why)) => assert!(why.contains("invalid_client"), "{why}"),
        other => panic!("{other:?}"),
    }

    // OAuth 2.0: the token exchange, then the user-info URL with the configured claims.
    let oauth2 = provider(
        "oauth2",
        json!({"clientId": "portcullis", "clientSecret": "upstream-secret",
               "clientAuthMethod": "client_secret_basic",
               "authorizationUrl": discovery["authorization_endpoint"],
               "tokenUrl": discovery["token_endpoint"],
               "userInfoUrl": discovery["userinfo_endpoint"],
               "defaultScope": "openid email profile groups",
               "userIDClaim": "sub", "userNameClaim": "preferred_username"}),
    );
    let upstream = Upstream::new(&http, &oauth2).unwrap();
    let started = upstream.start(REDIRECT, None).await.unwrap();
    assert!(!started.url.contains("nonce="), "no nonce in OAuth 2.0");
    let (pending, _, identity) = login(&upstream, ALICE).await;
    assert_eq!(pending.nonce, None);
    let identity = identity.unwrap();
    assert_eq!(identity.subject, "alice");
    assert_eq!(identity.username.as_deref(), Some("alice"));
    assert_eq!(identity.email.as_deref(), Some("Alice@Corp.test"));
    assert!(identity.email_verified);
    assert_eq!(identity.groups, ["platform", "web"]);

    // Discovery that names another issuer than the configured one is a config error.
    let mismatch = provider(
        "oidc",
        json!({"clientId": "portcullis", "issuer": format!("{}/other", op.issuer),
               "useMetadataDescriptorUrl": "true",
               "metadataDescriptorUrl": format!("{}/.well-known/openid-configuration", op.issuer)}),
    );
    let upstream = Upstream::new(&http, &mismatch).unwrap();
    assert!(matches!(
        upstream.start(REDIRECT, None).await,
        Err(BrokerError::Config(_))
    ));
}

/// The realm of the store-level test: the upstream as provider `corp`, groups and mappers.
fn acme(issuer: &str) -> Value {
    json!({
        "realm": "acme",
        "roles": {"realm": [{"name": "sso-user"}]},
        "groups": [{"name": "platform"}, {"name": "web"}, {"name": "ops"}],
        "users": [
            {"username": "carol", "email": "carol@acme.test", "emailVerified": true,
             "credentials": [{"type": "password", "value": "carol-pw"}]}
        ],
        "identityProviders": [{
            "alias": "corp", "providerId": "oidc", "trustEmail": true,
            "firstBrokerLoginFlowAlias": "link-verified",
            "config": {"clientId": "portcullis", "clientSecret": "upstream-secret",
                       "issuer": issuer, "clientAuthMethod": "client_secret_basic",
                       "defaultScope": "openid email profile groups"}
        }],
        "identityProviderMappers": [
            {"name": "groups", "identityProviderAlias": "corp",
             "identityProviderMapper": "upstream-groups-idp-mapper", "config": {}},
            {"name": "sso", "identityProviderAlias": "corp",
             "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "sso-user"}}
        ]
    })
}

#[tokio::test]
async fn a_real_upstream_creates_the_user_and_its_groups_follow_the_upstream() {
    const TEST: &str = "a_real_upstream_creates_the_user_and_its_groups_follow_the_upstream";
    let Some(op) = OidcProvider::start(TEST).await else {
        return;
    };
    let database = TestDatabase::create().await;
    let store = database.connect().await;
    let realm = portcullis_store::parse_realm_json(&acme(&op.issuer).to_string()).unwrap();
    store.import_realm(realm, false, NOW).await.unwrap();
    let ops = store.load_realm_snapshot("acme").await.unwrap().unwrap();
    let corp = ops.identity_provider("corp").unwrap().clone();
    let http = Http::new().unwrap();
    let upstream = Upstream::new(&http, &corp).unwrap();
    let group_paths = |ids: Vec<String>| {
        let mut paths: Vec<String> = ids
            .iter()
            .map(|id| ops.group(id).unwrap().path.clone())
            .collect();
        paths.sort();
        paths
    };

    // First login: a new user, in /platform and /web, with the hardcoded role.
    let (_, _, identity) = login(&upstream, ALICE).await;
    let identity = identity.unwrap();
    let review = sign_in(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &corp,
            identity: &identity,
            now: NOW,
        },
        FirstLogin::Review,
    )
    .await
    .unwrap();
    assert_eq!(
        review,
        Outcome::Review(Plan::Create {
            username: "alice".into()
        }),
        "a first login to review writes nothing yet"
    );
    assert!(
        store
            .find_user_by_username(&ops.realm.id, "alice")
            .await
            .unwrap()
            .is_none()
    );
    let outcome = sign_in(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &corp,
            identity: &identity,
            now: NOW,
        },
        FirstLogin::CarryOut,
    )
    .await
    .unwrap();
    let Outcome::SignedIn {
        user_id,
        created: true,
        linked: true,
        reconciled,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        group_paths(reconciled.added_groups.clone()),
        ["/platform", "/web"]
    );
    assert_eq!(reconciled.added_roles.len(), 1);
    let user = store
        .find_user_by_id(&ops.realm.id, &user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.email.as_deref(), Some("alice@corp.test"));
    assert!(user.email_verified, "trusted provider, verified upstream");
    assert_eq!(group_paths(user.group_ids.clone()), ["/platform", "/web"]);
    let rows = provenance::provenance(store.connection(), &user_id)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.provider_alias == "corp" && r.last_seen_at == NOW)
    );
    // An admin adds /ops by hand.
    let ops_group = ops.group_by_path("/ops").unwrap().id.clone();
    portcullis_store::admin::users::join_group(store.connection(), &user_id, &ops_group)
        .await
        .unwrap();

    // The upstream drops alice from /web: the next login removes it, not the admin's /ops.
    op.set_account(
        "alice",
        json!({"email": "alice@corp.test", "email_verified": true,
                                   "preferred_username": "alice", "groups": ["platform"]}),
    );
    let (_, _, identity) = login(&upstream, ALICE).await;
    let identity = identity.unwrap();
    let outcome = sign_in(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &corp,
            identity: &identity,
            now: NOW + 60,
        },
        FirstLogin::CarryOut,
    )
    .await
    .unwrap();
    let Outcome::SignedIn {
        user_id: again,
        created: false,
        linked: false,
        reconciled,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(again, user_id, "the link finds the same user");
    assert_eq!(group_paths(reconciled.removed_groups), ["/web"]);
    assert!(reconciled.added_groups.is_empty());
    let user = store
        .find_user_by_id(&ops.realm.id, &user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(group_paths(user.group_ids), ["/ops", "/platform"]);
    let platform = provenance::provenance(store.connection(), &user_id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.mapper_name == "groups")
        .unwrap();
    assert_eq!(
        (platform.created_at, platform.last_seen_at),
        (NOW, NOW + 60)
    );

    // A second upstream account with carol's (verified) e-mail links to carol at once: the
    // provider is trusted and both e-mails are verified.
    op.set_account(
        "carol-up",
        json!({"email": "carol@acme.test", "email_verified": true,
                                      "groups": []}),
    );
    let (_, _, identity) = login(&upstream, &[("login", "carol-up"), ("password", "x")]).await;
    let identity = identity.unwrap();
    let outcome = sign_in(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &corp,
            identity: &identity,
            now: NOW,
        },
        FirstLogin::CarryOut,
    )
    .await
    .unwrap();
    let carol = store
        .find_user_by_username(&ops.realm.id, "carol")
        .await
        .unwrap()
        .unwrap()
        .0;
    assert!(
        matches!(&outcome, Outcome::SignedIn { user_id, created: false, linked: true, .. } if *user_id == carol.id),
        "{outcome:?}"
    );
    // With the upstream's e-mail unverified, the same match needs carol's password.
    let mut unverified = identity.clone();
    unverified.subject = "carol-2".into();
    unverified.email_verified = false;
    let mut other = corp.clone();
    other.alias = "corp2".into();
    let outcome = sign_in(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &other,
            identity: &unverified,
            now: NOW,
        },
        FirstLogin::CarryOut,
    )
    .await
    .unwrap();
    assert_eq!(
        outcome,
        Outcome::ConfirmLink {
            user_id: carol.id.clone(),
            username: "carol".into()
        }
    );
    let confirmed = portcullis_broker::link_confirmed(
        &store,
        BrokeredLogin {
            realm: &ops,
            provider: &other,
            identity: &unverified,
            now: NOW,
        },
        &carol.id,
    )
    .await
    .unwrap();
    assert!(matches!(confirmed, Outcome::SignedIn { linked: true, .. }));
    store.connection().clone().close().await.unwrap();
    drop(database);
}

/// A second Portcullis as the company's identity provider: realm `company` with group
/// `platform` and a group-membership mapper, served on a port.
#[tokio::test]
async fn a_second_portcullis_is_an_upstream() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let company = json!({
        "realm": "company",
        "groups": [{"name": "platform"}],
        "clients": [{
            "clientId": "portcullis-broker", "secret": "broker-secret",
            "redirectUris": [REDIRECT], "standardFlowEnabled": true,
            "protocolMappers": [{
                "name": "groups", "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {"claim.name": "groups", "full.path": "false",
                           "id.token.claim": "true", "userinfo.token.claim": "true",
                           "access.token.claim": "true"}
            }]
        }],
        "users": [{"username": "bob", "email": "bob@company.test", "emailVerified": true,
                   "firstName": "Bob", "groups": ["/platform"],
                   "credentials": [{"type": "password", "value": "bob-pw"}]}]
    });
    let app = TestApp::builder()
        .realm(company)
        .base_url(&base)
        .build()
        .await;
    let router = app.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    let http = Http::new().unwrap();
    let corp = provider(
        "keycloak-oidc",
        json!({"clientId": "portcullis-broker", "clientSecret": "broker-secret",
               "issuer": format!("{base}/auth/realms/company"),
               "clientAuthMethod": "client_secret_basic"}),
    );
    let upstream = Upstream::new(&http, &corp).unwrap();
    let started = upstream.start(REDIRECT, None).await.unwrap();
    let query = browse(&started.url, &[("username", "bob"), ("password", "bob-pw")]).await;
    assert!(started.pending.state_matches(&query["state"]));
    let identity = upstream
        .finish(&query["code"], &started.pending, app.now())
        .await
        .unwrap();
    assert_eq!(identity.username.as_deref(), Some("bob"));
    assert_eq!(identity.email.as_deref(), Some("bob@company.test"));
    assert!(identity.email_verified);
    assert_eq!(identity.groups, ["platform"]);
    assert_eq!(identity.first_name.as_deref(), Some("Bob"));
    server.abort();
}

/// A TCP server on 127.0.0.1 answering every connection with `answer` (nothing: it hangs).
async fn raw_server(answer: Option<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                match answer {
                    Some(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn hanging_garbage_and_redirecting_upstreams_fail_cleanly() {
    let http = Http::with_limits(Limits {
        connect: Duration::from_secs(1),
        total: Duration::from_secs(1),
        max_body: 4096,
    })
    .unwrap();
    let discovered = |issuer: &str| {
        provider(
            "oidc",
            json!({"clientId": "c", "clientSecret": "s", "issuer": issuer}),
        )
    };
    let pending = PendingUpstream {
        alias: "corp".into(),
        state: "s".into(),
        nonce: Some("n".into()),
        pkce_verifier: Some("v".repeat(43)),
        redirect_uri: REDIRECT.into(),
    };

    let hanging = raw_server(None).await;
    let started = Instant::now();
    let result = Upstream::new(&http, &discovered(&hanging))
        .unwrap()
        .start(REDIRECT, None)
        .await;
    match result {
        Err(BrokerError::Unreachable(why)) => assert!(why.contains("no answer in time"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    let ok = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let rows: Vec<(Vec<u8>, &str)> = vec![
        (ok("<html>not json</html>"), "did not answer JSON"),
        (ok(r#"{"issuer": 5}"#), "does not parse"),
        (
            b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest\r\ncontent-length: 0\r\n\r\n"
                .to_vec(),
            "HTTP 302",
        ),
        (ok(&"x".repeat(10_000)), "more than 4096 bytes"),
        (b"garbage\r\n\r\n".to_vec(), "could not be reached"),
    ];
    for (answer, want) in rows {
        let server = raw_server(Some(answer)).await;
        let error = Upstream::new(&http, &discovered(&server))
            .unwrap()
            .start(REDIRECT, None)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(want), "{error} lacks {want}");
        assert!(!error.contains("169.254"), "no redirect target in messages");
    }

    // The token endpoint hangs: the code exchange gives up in time too.
    let explicit = provider(
        "oauth2",
        json!({"clientId": "c", "clientSecret": "s",
               "authorizationUrl": format!("{hanging}/auth"),
               "tokenUrl": format!("{hanging}/token"),
               "userInfoUrl": format!("{hanging}/me")}),
    );
    let started = Instant::now();
    let result = Upstream::new(&http, &explicit)
        .unwrap()
        .finish("code", &pending, NOW)
        .await;
    assert!(
        matches!(result, Err(BrokerError::Unreachable(_))),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A token endpoint answering garbage.
    let garbage = raw_server(Some(ok("nonsense"))).await;
    let explicit = provider(
        "oauth2",
        json!({"clientId": "c", "clientSecret": "s",
               "authorizationUrl": format!("{garbage}/auth"),
               "tokenUrl": format!("{garbage}/token"),
               "userInfoUrl": format!("{garbage}/me")}),
    );
    let result = Upstream::new(&http, &explicit)
        .unwrap()
        .finish("code", &pending, NOW)
        .await;
    assert!(
        matches!(result, Err(BrokerError::Upstream(_))),
        "{result:?}"
    );

    // Nothing listens at all.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let result = Upstream::new(&http, &discovered(&closed))
        .unwrap()
        .start(REDIRECT, None)
        .await;
    match result {
        Err(BrokerError::Unreachable(why)) => assert!(why.contains("connection failed"), "{why}"),
        other => panic!("{other:?}"),
    }
}
