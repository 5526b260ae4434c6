//! The browser side of brokering, in process against a second Portcullis served on a port as
//! the upstream: the login page's button, the first-login review with its registry access,
//! signing in again without it, reconciliation when the upstream's groups change, proving an
//! existing account with its password, linking from the account console, `kc_idp_hint`; and
//! what a forged, replayed or cancelled callback and a broken upstream get: clear pages,
//! nothing created.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use portcullis_testkit::{Browser, Reply, TestApp, bearer, parse_forms};
use serde_json::{Value, json};

const DOWNSTREAM: &str = "http://downstream.test";

fn endpoint(alias: &str) -> String {
    format!("{DOWNSTREAM}/auth/realms/acme/broker/{alias}/endpoint")
}

/// The company's identity provider: realm `company`, bob in `platform`, carol and dave.
fn company() -> Value {
    let user = |name: &str, groups: Value| {
        json!({"username": name, "email": format!("{name}@company.test"), "emailVerified": true,
               "firstName": name, "groups": groups,
               "credentials": [{"type": "password", "value": format!("{name}-pw")}]})
    };
    json!({
        "realm": "company",
        "groups": [{"name": "platform"}],
        "clients": [{
            "clientId": "portcullis-broker", "secret": "broker-secret",
            "redirectUris": [endpoint("corp"), endpoint("hidden")], "standardFlowEnabled": true,
            "protocolMappers": [{
                "name": "groups", "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {"claim.name": "groups", "full.path": "false",
                           "id.token.claim": "true", "userinfo.token.claim": "true",
                           "access.token.claim": "true"}
            }]
        }],
        "users": [user("bob", json!(["/platform"])), user("carol", json!([])),
                  user("dave", json!([]))]
    })
}

/// The realm under test: a registry granting `/platform` push on `platform/**`, the provider
/// `corp` on the login page and `hidden` only for `kc_idp_hint`; carol has an account with the
/// upstream's e-mail (not verified here), dave a plain one.
fn acme(upstream: &str) -> Value {
    let provider = |alias: &str, hidden: bool| {
        json!({"alias": alias, "displayName": format!("{alias} SSO"), "providerId": "keycloak-oidc",
               "trustEmail": true, "hideOnLogin": hidden,
               "firstBrokerLoginFlowAlias": "link-verified",
               "config": {"clientId": "portcullis-broker", "clientSecret": "broker-secret",
                          "issuer": format!("{upstream}/auth/realms/company"),
                          "clientAuthMethod": "client_secret_basic",
                          "defaultScope": "openid email profile"}})
    };
    json!({
        "realm": "acme",
        "groups": [{"name": "platform"}],
        "clients": [{
            "clientId": "registry", "protocol": "docker-v2",
            "protocolMappers": [{
                "name": "platform push", "protocol": "docker-v2",
                "protocolMapper": "docker-v2-repository-access-mapper",
                "config": {"repository": "platform/**", "actions": "push", "group": "/platform"}
            }]
        }],
        "users": [
            {"username": "carol", "email": "carol@company.test", "emailVerified": false,
             "credentials": [{"type": "password", "value": "carol-local"}]},
            {"username": "dave", "credentials": [{"type": "password", "value": "dave-local"}]}
        ],
        "identityProviders": [provider("corp", false), provider("hidden", true)],
        "identityProviderMappers": [
            {"name": "groups", "identityProviderAlias": "corp",
             "identityProviderMapper": "upstream-groups-idp-mapper", "config": {}}
        ]
    })
}

/// The upstream app served on a port, and the downstream app in process.
struct Apps {
    upstream: TestApp,
    upstream_base: String,
    downstream: TestApp,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Apps {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn apps() -> Apps {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let upstream = TestApp::builder()
        .realm(company())
        .base_url(&upstream_base)
        .master_admin("root", "root-pw")
        .build()
        .await;
    let router = upstream.router.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let downstream = TestApp::builder()
        .realm(acme(&upstream_base))
        .base_url(DOWNSTREAM)
        .master_admin("root", "root-pw")
        .build()
        .await;
    Apps {
        upstream,
        upstream_base,
        downstream,
        server,
    }
}

/// A browser at the upstream: a real HTTP client with its own cookies.
fn upstream_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Follows the upstream from its authorization URL, signing in as `user` when it asks, until
/// it sends the browser back to the downstream; returns that URL as a local path.
async fn at_upstream(browser: &reqwest::Client, authorize: &str, user: &str) -> String {
    let mut response = browser.get(authorize).send().await.unwrap();
    for _ in 0..5 {
        if response.status().is_redirection() {
            let location = response.headers()["location"].to_str().unwrap().to_string();
            assert!(
                location.starts_with(DOWNSTREAM),
                "the upstream sends the browser back: {location}"
            );
            return location.strip_prefix(DOWNSTREAM).unwrap().to_string();
        }
        let url = response.url().clone();
        let page = response.text().await.unwrap();
        let form = parse_forms(&page).into_iter().next().expect("a login form");
        let mut fields = form.fields.clone();
        fields.retain(|(k, _)| k != "username" && k != "password");
        fields.push(("username".into(), user.into()));
        fields.push(("password".into(), format!("{user}-pw")));
        let action = url.join(&form.action).unwrap();
        response = browser.post(action).form(&fields).send().await.unwrap();
    }
    panic!("the upstream never sent the browser back");
}

/// The `href` of the element with `id` on a page.
fn href_of(page: &Reply, id: &str) -> String {
    let text = page.text();
    let at = text
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {}", text));
    let tag_start = text[..at].rfind('<').unwrap();
    let tag = &text[tag_start..at + text[at..].find('>').unwrap()];
    let start = tag.find(r#"href=""#).unwrap() + 6;
    let end = tag[start..].find('"').unwrap() + start;
    tag[start..end].replace("&amp;", "&").replace("&#x2F;", "/")
}

/// The account console's login page, then the provider's button: the upstream's URL.
async fn start_at_account(browser: &mut Browser<'_>, alias: &str) -> String {
    let login = browser.get("/auth/realms/acme/account/").await;
    assert!(login.is_login_page(), "{login:?}");
    let start = browser
        .get(&href_of(&login, &format!("social-{alias}")))
        .await;
    assert_eq!(start.status.as_u16(), 303, "{}", start.text());
    assert!(browser.jar.contains_key("PORTCULLIS_BROKER"));
    start.location().unwrap().to_string()
}

async fn groups_of(app: &TestApp, realm: &str, username: &str) -> Vec<String> {
    let token = bearer(&app.admin_token().await);
    let id = app.user_id(realm, username).await;
    let groups = app
        .get(
            &format!("/auth/admin/realms/{realm}/users/{id}/groups"),
            Some(&token),
        )
        .await
        .json();
    groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["path"].as_str().unwrap().to_string())
        .collect()
}

async fn user_exists(app: &TestApp, realm: &str, username: &str) -> bool {
    let token = bearer(&app.admin_token().await);
    let found = app
        .get(
            &format!("/auth/admin/realms/{realm}/users?username={username}&exact=true"),
            Some(&token),
        )
        .await
        .json();
    !found.as_array().unwrap().is_empty()
}

#[tokio::test]
async fn first_login_is_reviewed_then_memberships_follow_the_upstream() {
    let apps = apps().await;
    let down = &apps.downstream;
    let mut browser = Browser::new(down);
    let upstream = upstream_browser();

    let authorize = start_at_account(&mut browser, "corp").await;
    assert!(authorize.starts_with(&apps.upstream_base), "{authorize}");
    let callback = at_upstream(&upstream, &authorize, "bob").await;
    let review = browser.get(&callback).await;
    assert_eq!(review.status.as_u16(), 200, "{}", review.text());
    let text = review.text();
    assert!(text.contains(r#"id="kc-broker-review""#), "{text}");
    assert!(
        text.contains(r#"id="broker-access""#) && text.contains("platform/**"),
        "{text}"
    );
    assert!(
        !user_exists(down, "acme", "bob").await,
        "nothing is written before the review"
    );
    assert!(
        !browser.jar.contains_key("PORTCULLIS_BROKER"),
        "the login in flight is used up"
    );

    // The callback replayed: no login in flight any more.
    let replayed = browser.get(&callback).await;
    assert_eq!(replayed.status.as_u16(), 400);
    assert!(replayed.is_error_page());

    let form = review
        .form_to("/login-actions/broker-review")
        .without("cancel");
    let done = browser.submit(&form).await;
    assert_eq!(done.status.as_u16(), 303, "{}", done.text());
    assert_eq!(
        done.location().map(|l| browser.local(l)),
        Some("/auth/realms/acme/account/".to_string())
    );
    assert!(browser.jar.contains_key("PORTCULLIS_SESSION"));
    let account = browser.get("/auth/realms/acme/account/").await;
    assert_eq!(account.status.as_u16(), 200);
    assert!(account.text().contains("bob"));
    assert_eq!(groups_of(down, "acme", "bob").await, ["/platform"]);
    let token = bearer(&down.admin_token().await);
    let bob = down.user_id("acme", "bob").await;
    let links = down
        .get(
            &format!("/auth/admin/realms/acme/users/{bob}/federated-identity"),
            Some(&token),
        )
        .await
        .json();
    assert_eq!(links[0]["identityProvider"], "corp");
    assert_eq!(links[0]["userName"], "bob");

    // Removed from the group upstream: the next login drops the realm group, with no review.
    let up_token = bearer(&apps.upstream.admin_token().await);
    let up_bob = apps.upstream.user_id("company", "bob").await;
    let up_groups = apps
        .upstream
        .get(
            &format!("/auth/admin/realms/company/users/{up_bob}/groups"),
            Some(&up_token),
        )
        .await
        .json();
    let platform = up_groups[0]["id"].as_str().unwrap();
    let removed = apps
        .upstream
        .delete(
            &format!("/auth/admin/realms/company/users/{up_bob}/groups/{platform}"),
            Some(&up_token),
        )
        .await;
    assert_eq!(removed.status.as_u16(), 204);
    let mut again = Browser::new(down);
    let authorize = start_at_account(&mut again, "corp").await;
    let callback = at_upstream(&upstream, &authorize, "bob").await;
    let back = again.get(&callback).await;
    assert_eq!(
        back.status.as_u16(),
        303,
        "a linked account signs in at once: {}",
        back.text()
    );
    assert!(groups_of(down, "acme", "bob").await.is_empty());

    // The first review page posted again: it signs in, but its claims are as old as the page
    // and are not applied.
    let replayed = browser.submit(&form).await;
    assert_eq!(replayed.status.as_u16(), 303, "{}", replayed.text());
    assert!(
        groups_of(down, "acme", "bob").await.is_empty(),
        "a replayed review page brings no group back"
    );
}

#[tokio::test]
async fn an_existing_account_is_linked_only_with_its_password() {
    let apps = apps().await;
    let down = &apps.downstream;
    let mut browser = Browser::new(down);
    let upstream = upstream_browser();
    let authorize = start_at_account(&mut browser, "corp").await;
    let callback = at_upstream(&upstream, &authorize, "carol").await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(
        page.text().contains(r#"id="kc-broker-link""#),
        "{}",
        page.text()
    );

    let form = page.form_to("/login-actions/broker-link").without("cancel");
    let wrong = browser.submit(&form.clone().with("password", "nope")).await;
    assert_eq!(wrong.status.as_u16(), 200);
    assert!(wrong.text().contains("Invalid password."));
    assert!(wrong.text().contains(r#"aria-invalid="true""#));
    let carol = down.user_id("acme", "carol").await;
    let token = bearer(&down.admin_token().await);
    let links_path = format!("/auth/admin/realms/acme/users/{carol}/federated-identity");
    let links = down.get(&links_path, Some(&token)).await.json();
    assert_eq!(links, json!([]));

    let form = wrong
        .form_to("/login-actions/broker-link")
        .without("cancel");
    let done = browser.submit(&form.with("password", "carol-local")).await;
    assert_eq!(done.status.as_u16(), 303, "{}", done.text());
    let links = down.get(&links_path, Some(&token)).await.json();
    assert_eq!(links[0]["identityProvider"], "corp");
}

#[tokio::test]
async fn a_signed_in_user_links_a_provider_from_the_account_console() {
    let apps = apps().await;
    let down = &apps.downstream;
    let mut browser = Browser::new(down);
    let base = browser
        .sign_in_to_account("acme", "dave", "dave-local")
        .await;
    let linked = browser.get(&format!("{base}/linked")).await;
    assert!(
        linked.text().contains(r#"id="link-corp""#),
        "{}",
        linked.text()
    );
    let form = linked.form_to("/broker/corp/link");
    let start = browser.submit(&form).await;
    assert_eq!(start.status.as_u16(), 303, "{}", start.text());
    let callback = at_upstream(&upstream_browser(), start.location().unwrap(), "dave").await;
    let back = browser.get(&callback).await;
    assert_eq!(back.status.as_u16(), 303, "{}", back.text());
    assert_eq!(
        back.location().map(|l| browser.local(l)),
        Some(format!("{base}/linked"))
    );
    let page = browser.get(&format!("{base}/linked")).await;
    assert!(
        page.text().contains(r#"data-provider="corp""#),
        "{}",
        page.text()
    );
    assert!(!page.text().contains(r#"id="link-corp""#));

    // A link request from another browser (no session) is refused.
    let mut stranger = Browser::new(down);
    let refused = stranger.submit(&form).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
}

#[tokio::test]
async fn kc_idp_hint_goes_straight_to_the_provider_even_a_hidden_one() {
    let apps = apps().await;
    let down = &apps.downstream;
    let mut browser = Browser::new(down);
    let login = browser.get("/auth/realms/acme/account/").await;
    assert!(login.text().contains(r#"id="social-corp""#));
    assert!(
        !login.text().contains(r#"id="social-hidden""#),
        "hidden on the login page"
    );

    let authorize = "/auth/realms/acme/protocol/openid-connect/auth?client_id=account-console\
        &redirect_uri=http%3A%2F%2Fdownstream.test%2Fauth%2Frealms%2Facme%2Faccount%2F\
        &response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
        &code_challenge_method=S256&kc_idp_hint=hidden";
    let hinted = browser.get(authorize).await;
    assert_eq!(hinted.status.as_u16(), 303, "{}", hinted.text());
    let to_broker = hinted.location().unwrap().to_string();
    assert!(
        to_broker.contains("/broker/hidden/login?flow="),
        "{to_broker}"
    );
    let upstream = browser.get(&browser.local(&to_broker)).await;
    assert_eq!(upstream.status.as_u16(), 303);
    let in_flight = browser.jar["PORTCULLIS_BROKER"].len();
    assert!(
        in_flight < 3500,
        "an authorization request in flight fits a cookie: {in_flight} bytes"
    );
    assert!(
        upstream
            .location()
            .unwrap()
            .starts_with(&apps.upstream_base)
    );

    let unknown = browser.get(&authorize.replace("hidden", "nobody")).await;
    assert!(
        unknown.is_login_page(),
        "an unknown hint shows the login page"
    );
}

#[tokio::test]
async fn forged_replayed_and_cancelled_callbacks_create_nothing() {
    let apps = apps().await;
    let down = &apps.downstream;
    let upstream = upstream_browser();

    // No login in flight in this browser.
    let mut stranger = Browser::new(down);
    let forged = stranger
        .get("/auth/realms/acme/broker/corp/endpoint?code=abc&state=xyz")
        .await;
    assert_eq!(forged.status.as_u16(), 400);
    assert!(forged.is_error_page());

    // Another state: refused, and the login in flight survives it.
    let mut browser = Browser::new(down);
    let authorize = start_at_account(&mut browser, "corp").await;
    let callback = at_upstream(&upstream, &authorize, "bob").await;
    let wrong_state = callback.replace("state=", "state=x");
    let refused = browser.get(&wrong_state).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
    assert!(browser.jar.contains_key("PORTCULLIS_BROKER"));

    // The right answer at another provider's endpoint.
    let elsewhere = browser
        .get(&callback.replace("/broker/corp/", "/broker/hidden/"))
        .await;
    assert_eq!(elsewhere.status.as_u16(), 400, "{}", elsewhere.text());

    // A forged code with the right state: the upstream refuses it.
    let state = callback
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let bad_code = browser
        .get(&format!(
            "/auth/realms/acme/broker/corp/endpoint?code=forged&state={state}"
        ))
        .await;
    assert_eq!(bad_code.status.as_u16(), 401, "{}", bad_code.text());
    assert!(bad_code.is_error_page());
    assert!(!user_exists(down, "acme", "bob").await);

    // Cancelled at the upstream: back to the login page, saying so.
    let authorize = start_at_account(&mut browser, "corp").await;
    let state = reqwest::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let cancelled = browser
        .get(&format!(
            "/auth/realms/acme/broker/corp/endpoint?error=access_denied&state={state}"
        ))
        .await;
    assert!(cancelled.is_login_page(), "{}", cancelled.text());
    assert!(cancelled.text().contains("was cancelled"));

    // A forged start: no valid login form token.
    let forged_start = browser
        .get("/auth/realms/acme/broker/corp/login?flow=forged")
        .await;
    assert_eq!(forged_start.status.as_u16(), 400);
    // A forged review post.
    let review = browser
        .post(
            "/auth/realms/acme/login-actions/broker-review",
            &[("flow", "forged")],
        )
        .await;
    assert_eq!(review.status.as_u16(), 400);
    assert!(!user_exists(down, "acme", "bob").await);
    // An unknown provider.
    let unknown = browser
        .get("/auth/realms/acme/broker/nobody/endpoint?code=a&state=b")
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
}

/// An upstream that answers garbage: a clear 502 page, the server alive.
#[tokio::test]
async fn an_upstream_answering_garbage_gets_a_clear_page() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnonsense!")
                .await;
        }
    });
    let down = TestApp::builder().realm(acme(&garbage)).build().await;
    let mut browser = Browser::new(&down);
    let login = browser.get("/auth/realms/acme/account/").await;
    let start = browser.get(&href_of(&login, "social-corp")).await;
    assert_eq!(start.status.as_u16(), 502, "{}", start.text());
    assert!(start.is_error_page());
    assert!(start.text().contains("corp SSO"), "{}", start.text());
    let alive = down.get("/auth/health/live", None).await;
    assert_eq!(alive.status.as_u16(), 200);
}
