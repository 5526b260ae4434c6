//! Identity brokering end to end, in a real browser (headless chromium over WebDriver) between
//! two real Portcullis processes: the upstream serves realm `corp`, where alice is a member of
//! group `platform` and the client `downstream` puts her group names in the ID token; the
//! server under test serves realm `acme`, which brokers `corp` and maps its `groups` claim onto
//! realm groups, and whose registry lets group `/platform` push `platform/**`.
//!
//! Alice signs in through the broker, reviews what the new account may do and lands in group
//! `/platform` of `acme`, linked to her upstream account; the admin console says the membership
//! came from the provider's mapper. In the account console she makes an app password limited
//! to push on `platform/**`; `skopeo` and the docker CLI (against a private `dockerd`) push with
//! it through the real `docker-registry` and are refused at `other/**`. The upstream drops her
//! from `platform`: her next login through the broker (the upstream may reuse its own session)
//! removes the realm group, and the same app password no longer pushes, though it still signs
//! in. Revoked in the account console, it stops working at once. The pages are photographed
//! into `docs/broker/` and checked with axe-core.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine as _;
use portcullis_tests::browser::{Browser, WAIT};
use portcullis_tests::dockerd::Dockerd;
use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{ADMIN_PASSWORD, Server, TempDir, require};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

const TEST: &str = "brokered_user_pushes_with_an_app_password_until_the_upstream_drops_them";
const UPSTREAM_REALM: &str = "corp";
const REALM: &str = "acme";
/// The alias of the upstream in `acme`.
const ALIAS: &str = "corp";
/// The registry: the docker-v2 client's `clientId` is its `service`.
const SERVICE: &str = "registry.acme.test";
/// The client `acme` is at the upstream.
const BROKER_CLIENT: &str = "downstream";
const BROKER_SECRET: &str = "downstream-broker-secret-e2e-0123456789";
const ALICE_PASSWORD: &str = "Alice-upstream-pw-42!";
const APP_PASSWORD_NAME: &str = "CI of platform";

/// The upstream's realm: alice, verified e-mail, member of `platform`. Its client for `acme`
/// is created once the server under test has a port (its redirect URI names it).
fn corp_realm() -> String {
    json!({
        "realm": UPSTREAM_REALM,
        "displayName": "Corp",
        "enabled": true,
        "groups": [{"name": "platform"}],
        "users": [{"username": "alice", "enabled": true, "email": "alice@corp.test",
                   "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
                   "groups": ["/platform"],
                   "credentials": [{"type": "password", "value": ALICE_PASSWORD}]}]
    })
    .to_string()
}

/// The upstream's confidential client for `acme`, with the group names (not paths) in the ID
/// token.
fn broker_client(callback: &str) -> Value {
    json!({
        "clientId": BROKER_CLIENT, "enabled": true, "protocol": "openid-connect",
        "publicClient": false, "secret": BROKER_SECRET, "standardFlowEnabled": true,
        "redirectUris": [callback],
        "protocolMappers": [{
            "name": "groups", "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {"claim.name": "groups", "full.path": "false",
                       "id.token.claim": "true", "access.token.claim": "true",
                       "userinfo.token.claim": "true"}
        }]
    })
}

fn access_rule(name: &str, config: Value) -> Value {
    json!({"name": name, "protocol": "docker-v2",
           "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
}

/// The realm under test: the registry's rules, group `platform`, the upstream as provider
/// `corp` found through discovery, and its `groups` claim mapped onto realm groups.
fn acme_realm(upstream_issuer: &str) -> String {
    json!({
        "realm": REALM,
        "displayName": "Acme",
        "enabled": true,
        "groups": [{"name": "platform"}],
        "clients": [{
            "clientId": SERVICE, "protocol": "docker-v2", "enabled": true,
            "protocolMappers": [
                access_rule("platform-push", json!({"repository": "platform/**", "actions": "push", "group": "/platform"})),
                // Every signed-in user may push here: an app password limited to
                // platform/** still may not.
                access_rule("other-push", json!({"repository": "other/**", "actions": "push", "subject": "authenticated"})),
            ]
        }],
        "identityProviders": [{
            "alias": ALIAS, "displayName": "Corp SSO", "providerId": "keycloak-oidc",
            "enabled": true, "trustEmail": true,
            "config": {
                "clientId": BROKER_CLIENT, "clientSecret": BROKER_SECRET,
                "useMetadataDescriptorUrl": "true",
                "metadataDescriptorUrl": format!("{upstream_issuer}/.well-known/openid-configuration"),
                "issuer": upstream_issuer,
                "syncMode": "FORCE"
            }
        }],
        "identityProviderMappers": [{
            "name": "upstream groups", "identityProviderAlias": ALIAS,
            "identityProviderMapper": "upstream-groups-idp-mapper",
            "config": {"claim": "groups", "syncMode": "FORCE"}
        }]
    })
    .to_string()
}

/// One realm's admin REST API as master's admin. A token per request: the journey outlives a
/// master admin token.
struct Admin<'a> {
    server: &'a Server,
    realm: &'static str,
    http: reqwest::Client,
}

impl<'a> Admin<'a> {
    fn new(server: &'a Server, realm: &'static str) -> Admin<'a> {
        Admin {
            server,
            realm,
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = self
            .server
            .url(&format!("/auth/admin/realms/{}/{path}", self.realm));
        let mut request = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.server.admin_token().await);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The id of the user `username`; panics when there is none.
    async fn user_id(&self, username: &str) -> String {
        let (status, users) = self
            .send(
                Method::GET,
                &format!("users?username={username}&exact=true"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{}: listing users: {users}", self.realm);
        let found: Vec<&Value> = users
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["username"] == username)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{}: one user {username}: {users}",
            self.realm
        );
        found[0]["id"].as_str().unwrap().to_string()
    }

    /// Whether the realm has a user `username`.
    async fn has_user(&self, username: &str) -> bool {
        let (status, users) = self
            .send(
                Method::GET,
                &format!("users?username={username}&exact=true"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{}: listing users: {users}", self.realm);
        users
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u["username"] == username)
    }

    /// The paths of the user's groups, sorted.
    async fn group_paths(&self, user: &str) -> Vec<String> {
        let (status, groups) = self
            .send(Method::GET, &format!("users/{user}/groups"), None)
            .await;
        assert_eq!(status, 200, "{}: the user's groups: {groups}", self.realm);
        let mut paths: Vec<String> = groups
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| g["path"].as_str().unwrap_or_default().to_string())
            .collect();
        paths.sort();
        paths
    }

    async fn group_id(&self, path: &str) -> String {
        let (status, group) = self
            .send(Method::GET, &format!("group-by-path/{path}"), None)
            .await;
        assert_eq!(status, 200, "{}: group {path}: {group}", self.realm);
        group["id"].as_str().unwrap().to_string()
    }
}

/// The hidden fields and the action of the form `id` in `page`, as a browser would post it.
fn form(page: &str, id: &str) -> (String, Vec<(String, String)>) {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form #{id} in: {page}"));
    let tag_start = page[..start].rfind('<').unwrap();
    let end = start + page[start..].find("</form>").unwrap();
    let html = &page[tag_start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let len = tag[at..].find('"')?;
        Some(
            tag[at..at + len]
                .replace("&amp;", "&")
                .replace("&#x2F;", "/")
                .replace("&#x3D;", "="),
        )
    };
    let form_tag = &html[..html.find('>').unwrap()];
    let action = attr(form_tag, "action").expect("a form action");
    let mut fields = Vec::new();
    for piece in html.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if attr(tag, "type").as_deref() == Some("hidden")
            && let Some(name) = attr(tag, "name")
        {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    (action, fields)
}

/// Checks the upstream on its own, before the broker uses it: alice signs in to `downstream`
/// with the authorization code flow (a cookie jar and the login form, no browser), and the ID
/// token carries `groups`. Returns that claim, so a broken upstream setup fails here and not
/// as a broker failure.
async fn upstream_groups_claim(upstream: &Server, callback: &str) -> Value {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let realm = upstream.url(&format!("/auth/realms/{UPSTREAM_REALM}"));
    let mut authorize = Url::parse(&format!("{realm}/protocol/openid-connect/auth")).unwrap();
    authorize
        .query_pairs_mut()
        .append_pair("client_id", BROKER_CLIENT)
        .append_pair("redirect_uri", callback)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", "setup-check-state-0123456789")
        .append_pair("nonce", "setup-check-nonce-0123456789");
    let response = http.get(authorize.clone()).send().await.unwrap();
    let status = response.status();
    let page = response.text().await.unwrap();
    assert_eq!(
        status, 200,
        "the upstream's login page at {authorize}: {page}"
    );
    let (action, mut fields) = form(&page, "kc-form-login");
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), ALICE_PASSWORD.into()));
    let action = authorize.join(&action).unwrap();
    let response = http
        .post(action.clone())
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let Some(location) = location.filter(|l| l.starts_with(callback)) else {
        panic!(
            "the upstream should send alice back to {callback} after her login, answered \
             {status}: {}\nupstream log:\n{}",
            response.text().await.unwrap_or_default(),
            upstream.log()
        );
    };
    let back = Url::parse(&location).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens: Value = http
        .post(format!("{realm}/protocol/openid-connect/token"))
        .basic_auth(BROKER_CLIENT, Some(BROKER_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", callback),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an ID token from the upstream: {tokens}"));
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["groups"].clone()
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn assert_cli_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} should succeed: {}",
        text_of(out)
    );
}

#[track_caller]
fn assert_cli_denied(what: &str, out: &Output) {
    let text = text_of(out);
    assert!(!out.status.success(), "{what} should be refused: {text}");
    assert!(
        text.contains("denied") || text.contains("unauthorized"),
        "{what} should fail on authorization, not something else: {text}"
    );
}

/// Whether `url` is a page of the server on `port`.
fn on(url: &Url, port: u16) -> bool {
    url.port_or_known_default() == Some(port)
}

/// From the downstream login page: the broker's button, then the upstream's login form when
/// it asks (it may reuse its own session and send the browser straight back).
async fn sign_in_through_the_broker(
    b: &Browser,
    downstream: &Server,
    upstream: &Server,
    photograph: bool,
) {
    let button = b
        .wait_for(&format!("#kc-social-providers a#social-{ALIAS}"))
        .await;
    let href = b.prop(&button, "href").await;
    if !href.contains(&format!("/auth/realms/{REALM}/broker/{ALIAS}/login")) {
        b.fail(&format!(
            "#social-{ALIAS} should start the broker's login: {href}"
        ))
        .await;
    }
    if photograph {
        b.page("login").await;
    }
    b.click_and_wait(&format!("a#social-{ALIAS}")).await;
    // Either the upstream's login form or, with its session reused, back at the downstream.
    let deadline = Instant::now() + WAIT;
    loop {
        let url = b.url().await;
        if on(&url, upstream.port)
            && url
                .path()
                .starts_with(&format!("/auth/realms/{UPSTREAM_REALM}/"))
            && !b.find_all("#kc-form-login input#username").await.is_empty()
        {
            if photograph {
                b.page("upstream-login").await;
            }
            eprintln!("the upstream asks alice to sign in");
            b.fill("#kc-form-login #username", "alice").await;
            b.fill("#kc-form-login #password", ALICE_PASSWORD).await;
            b.click_and_wait("#kc-form-login #kc-login").await;
            break;
        }
        if on(&url, downstream.port) && !url.path().contains(&format!("/broker/{ALIAS}/login")) {
            eprintln!("the upstream reused its session: back without its login form");
            break;
        }
        if Instant::now() >= deadline {
            b.fail(&format!(
                "after #social-{ALIAS}: neither the upstream's login form nor back at the \
                 server under test within {WAIT:?}; upstream log (tail):\n{}",
                tail(&upstream.log(), 15)
            ))
            .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.wait_for_url("back at the server under test", |u| on(u, downstream.port))
        .await;
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn brokered_user_pushes_with_an_app_password_until_the_upstream_drops_them() {
    if require("docker-registry", TEST).is_none()
        || require("skopeo", TEST).is_none()
        || require("tar", TEST).is_none()
        || require("gzip", TEST).is_none()
        || require("dockerd", TEST).is_none()
        || require("docker", TEST).is_none()
    {
        return;
    }
    let Some(mut browser) = Browser::start(TEST).await else {
        return;
    };
    browser.save_screenshots_in("docs/broker");

    // --- The upstream, then the server under test brokering it, then the upstream's client
    // for it (its redirect URI names the server under test's port).
    let upstream = Server::start(&[("corp.json", corp_realm())]);
    let issuer = upstream.url(&format!("/auth/realms/{UPSTREAM_REALM}"));
    let discovery: Value = reqwest::get(format!("{issuer}/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str(), "{discovery}");
    let downstream = Server::start(&[("acme.json", acme_realm(&issuer))]);
    browser.show_log_on_failure(&downstream.dir.path().join("server.log"));
    let callback = downstream.url(&format!("/auth/realms/{REALM}/broker/{ALIAS}/endpoint"));
    let corp = Admin::new(&upstream, UPSTREAM_REALM);
    let acme = Admin::new(&downstream, REALM);
    let (status, made) = corp
        .send(Method::POST, "clients", Some(broker_client(&callback)))
        .await;
    assert_eq!(status, 201, "the upstream's client for the broker: {made}");
    assert_eq!(
        upstream_groups_claim(&upstream, &callback).await,
        json!(["platform"]),
        "the upstream's ID token should carry alice's group names"
    );
    let (status, provider) = acme
        .send(
            Method::GET,
            &format!("identity-provider/instances/{ALIAS}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "the provider was imported: {provider}");
    assert!(!acme.has_user("alice").await, "no alice before her login");

    let registry = Registry::for_client(&downstream, REALM, SERVICE).await;
    let work = TempDir::new("broker-image");
    let image = oci_image(work.path());
    let skopeo = Skopeo::new();
    let b = &browser;
    let account = |path: &str| downstream.url(&format!("/auth/realms/{REALM}/account{path}"));
    let account_base = format!("/auth/realms/{REALM}/account");

    // --- First login through the broker: the review page, then the account console.
    b.goto(&account("/")).await;
    b.wait_for("#kc-form-login input#username").await;
    sign_in_through_the_broker(b, &downstream, &upstream, true).await;
    b.wait_for("form#kc-broker-review").await;
    let title = b.text("h2#kc-page-title").await;
    if !title.contains("Finish signing in") {
        b.fail(&format!("the review page's title: {title:?}")).await;
    }
    let access = b.text("#broker-access").await;
    if !(access.contains("platform/**") && access.contains("push") && access.contains(SERVICE)) {
        b.fail(&format!(
            "the review page should say the new account may push platform/** at {SERVICE}: \
             {access:?}"
        ))
        .await;
    }
    let review_action = b
        .attr(&b.wait_for("form#kc-broker-review").await, "action")
        .await
        .unwrap_or_default();
    if !review_action.ends_with(&format!("/auth/realms/{REALM}/login-actions/broker-review")) {
        b.fail(&format!("the review form posts to {review_action:?}"))
            .await;
    }
    b.wait_for("#kc-broker-cancel").await;
    b.page("review").await;
    b.click_and_wait("#kc-broker-continue").await;
    b.wait_for_url("the account console after the review", |u| {
        on(u, downstream.port) && u.path().starts_with(&account_base)
    })
    .await;
    b.wait_for("form#profile").await;

    // The new user: in group /platform through the mapper, linked to the upstream account.
    let alice = acme.user_id("alice").await;
    assert_eq!(
        acme.group_paths(&alice).await,
        ["/platform"],
        "the upstream's `platform` became realm group /platform"
    );
    let upstream_alice = corp.user_id("alice").await;
    let (status, links) = acme
        .send(
            Method::GET,
            &format!("users/{alice}/federated-identity"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{links}");
    assert_eq!(
        links,
        json!([{"identityProvider": ALIAS, "userId": upstream_alice, "userName": "alice"}]),
        "alice is linked to her upstream account"
    );
    let (_, user) = acme
        .send(Method::GET, &format!("users/{alice}"), None)
        .await;
    assert_eq!(user["email"], "alice@corp.test", "{user}");
    assert_eq!(
        user["emailVerified"], true,
        "a trusted provider's e-mail: {user}"
    );

    // The admin console shows where the membership came from (signed in as master's admin in
    // the same browser: other cookies than alice's).
    let console = |path: &str| downstream.url(&format!("/auth/admin/master/console{path}"));
    b.goto(&console("/")).await;
    b.wait_for("#kc-form-login input#username").await;
    b.fill("#kc-form-login #username", "admin").await;
    b.fill("#kc-form-login #password", ADMIN_PASSWORD).await;
    b.click_and_wait("#kc-form-login #kc-login").await;
    b.wait_for_url("the admin console after its login", |u| {
        on(u, downstream.port) && u.path().starts_with("/auth/admin/master/console")
    })
    .await;
    b.goto(&console(&format!("/realms/{REALM}/users/{alice}/groups")))
        .await;
    let groups = b.text("#user-groups").await;
    if !(groups.contains("/platform") && groups.contains("from corp (upstream groups)")) {
        b.fail(&format!(
            "the console should say /platform came from corp's mapper: {groups:?}"
        ))
        .await;
    }
    b.page("console-user-groups").await;

    // The account console says the same.
    b.goto(&account("/linked")).await;
    b.wait_for(&format!(r#"#linked tr[data-provider="{ALIAS}"]"#))
        .await;
    b.page("linked").await;
    b.goto(&account("/registry-access")).await;
    let row = b
        .wait_for(&format!(
            r#"tr[data-registry="{SERVICE}"][data-pattern="platform/**"]"#
        ))
        .await;
    let actions = b.attr(&row, "data-actions").await.unwrap_or_default();
    if !actions.split(',').any(|a| a.trim() == "push") {
        b.fail(&format!("platform/** should grant push: {actions:?}"))
            .await;
    }

    // --- An app password limited to push on platform/** at the registry.
    b.goto(&account("/app-passwords")).await;
    b.fill("#create-app-password #name", APP_PASSWORD_NAME)
        .await;
    b.select("#create-app-password #registry", SERVICE).await;
    b.fill("#create-app-password #repositories", "platform/**")
        .await;
    b.set_checked("#create-app-password #action-push", true)
        .await;
    b.submit("#create-app-password").await;
    let secret = b.text("#app-password-secret").await.trim().to_string();
    if !secret.starts_with("pcp_") {
        b.fail(&format!("the secret shown once: {secret:?}")).await;
    }
    let creds = format!("alice:{secret}");

    // --- skopeo and the docker CLI push with it inside its limit, and not outside.
    assert_ok(
        "skopeo with the app password pushes platform/app",
        &skopeo.push(&image, &registry.image("platform/app:v1"), Some(&creds)),
    );
    assert_denied(
        "the app password is limited to platform/**, though alice may push other/**",
        &skopeo.push(&image, &registry.image("other/app:v1"), Some(&creds)),
    );
    let daemon = Dockerd::start();
    let local = daemon.tiny_image("portcullis-e2e/broker:latest");
    let tagged = |name: &str| {
        let remote = format!("{}/{name}", registry.addr);
        assert_cli_ok("docker tag", &daemon.docker(&["tag", &local, &remote]));
        remote
    };
    assert_cli_ok(
        "docker login with the app password",
        &daemon.login(&registry.addr, "alice", &secret),
    );
    assert_cli_ok(
        "docker pushes platform/docker with the app password",
        &daemon.docker(&["push", &tagged("platform/docker:v1")]),
    );
    assert_cli_denied(
        "docker with the app password pushes other/docker",
        &daemon.docker(&["push", &tagged("other/docker:v1")]),
    );

    // --- The upstream drops alice from `platform`.
    let upstream_platform = corp.group_id("platform").await;
    let (status, body) = corp
        .send(
            Method::DELETE,
            &format!("users/{upstream_alice}/groups/{upstream_platform}"),
            None,
        )
        .await;
    assert_eq!(
        status, 204,
        "removing alice from the upstream group: {body}"
    );
    assert!(corp.group_paths(&upstream_alice).await.is_empty());

    // Nothing changes downstream before her next login (the broker learns of it then).
    assert_eq!(acme.group_paths(&alice).await, ["/platform"]);

    // --- She signs out of the account console and in again through the broker: signed in at
    // once (a linked account), the realm group gone.
    b.goto(&account("/")).await;
    b.submit("#sign-out").await;
    b.goto(&account("/")).await;
    b.wait_for("#kc-form-login input#username").await;
    sign_in_through_the_broker(b, &downstream, &upstream, false).await;
    b.wait_for_url("the account console after the second login", |u| {
        on(u, downstream.port) && u.path().starts_with(&account_base)
    })
    .await;
    if !b.find_all("form#kc-broker-review").await.is_empty() {
        b.fail("a linked account should not be asked to review again")
            .await;
    }
    b.wait_for("form#profile").await;
    assert_eq!(
        acme.user_id("alice").await,
        alice,
        "the same account, not a new one"
    );
    assert_eq!(
        acme.group_paths(&alice).await,
        Vec::<String>::new(),
        "the upstream no longer asserts `platform`: its login removed the realm group"
    );
    b.goto(&account("/registry-access")).await;
    b.wait_for("#content").await;
    if !b
        .find_all(&format!(
            r#"tr[data-registry="{SERVICE}"][data-pattern="platform/**"]"#
        ))
        .await
        .is_empty()
    {
        b.fail("platform/** should no longer be listed").await;
    }
    b.page("access-after-removal").await;

    // The app password still signs in, but grants no push on platform/** any more.
    assert_denied(
        "skopeo with the app password after the group was removed",
        &skopeo.push(&image, &registry.image("platform/app:v2"), Some(&creds)),
    );
    assert_cli_denied(
        "docker pushes platform/docker after the group was removed",
        &daemon.docker(&["push", &tagged("platform/docker:v2")]),
    );
    assert_cli_ok(
        "docker login with the app password, which is still valid",
        &daemon.login(&registry.addr, "alice", &secret),
    );

    // --- Revoked in the account console: refused at once.
    b.goto(&account("/app-passwords")).await;
    let row = format!(r#"#app-passwords tr[data-name="{APP_PASSWORD_NAME}"]"#);
    b.wait_for(&format!(r#"{row}[data-status="active"]"#)).await;
    b.submit(&format!("{row} form")).await;
    b.wait_for(&format!(r#"{row}[data-status="revoked"]"#))
        .await;
    b.page("app-password-revoked").await;
    assert_cli_denied(
        "docker login with the revoked app password",
        &daemon.login(&registry.addr, "alice", &secret),
    );
    assert_denied(
        "skopeo with the revoked app password",
        &skopeo.inspect(&registry.image("platform/app:v1"), Some(&creds)),
    );
    let (status, listed) = acme
        .send(Method::GET, &format!("users/{alice}/app-passwords"), None)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed[0]["status"], "revoked", "{listed}");

    drop(daemon);
    drop(registry);
    browser.assert_accessible();
    browser.close().await;
}
