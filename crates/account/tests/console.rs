//! The account console on the real router (the test kit): every page for a signed-in user,
//! every form's effect, the errors beside their fields, CSRF, and that nobody can act on
//! another user's sessions, docker logins, app passwords or links by changing an id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::{StatusCode, header};
use portcullis_testkit::jwt::part;
use portcullis_testkit::{Browser, HtmlForm, Reply, TestApp, basic, bearer};
use serde_json::{Value, json};

const NOW: i64 = 1_795_000_000;
const REGISTRY: &str = "registry.acme.test";
const ALICE_PW: &str = "alice-password-1";
const BOB_PW: &str = "bob-password-12";
const DAY: i64 = 86_400;

fn realm() -> Value {
    let rule = |name: &str, config: Value| {
        json!({"name": name, "protocol": "docker-v2",
               "protocolMapper": "docker-v2-repository-access-mapper", "config": config})
    };
    json!({
        "realm": "acme",
        "displayName": "Acme",
        "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
        "enabled": true,
        "passwordPolicy": "length(12) and notUsername",
        "groups": [{"name": "platform"}],
        "attributes": {"appPasswordMaxLifespan": (30 * DAY).to_string()},
        "identityProviders": [provider("corp"), provider("github")],
        "users": [
            {"username": "alice", "enabled": true, "email": "alice@acme.test",
             "emailVerified": true, "firstName": "Alice", "lastName": "Liddell",
             "groups": ["/platform"],
             "credentials": [{"type": "password", "value": ALICE_PW}]},
            {"username": "bob", "enabled": true, "email": "bob@acme.test",
             "credentials": [{"type": "password", "value": BOB_PW}]},
            {"username": "carol", "enabled": true},
            {"username": "dave", "enabled": true}
        ],
        "clients": [
            {"clientId": REGISTRY, "protocol": "docker-v2", "enabled": true, "publicClient": true,
             "protocolMappers": [
                rule("platform-push", json!({"repository": "platform/**", "actions": "push", "group": "/platform"})),
                rule("public-pull", json!({"repository": "public/**", "actions": "pull", "subject": "authenticated"}))
             ]},
            {"clientId": "web", "enabled": true, "publicClient": true,
             "directAccessGrantsEnabled": true}
        ]
    })
}

/// An OpenID Connect identity provider the users' links can name (its endpoints are never called).
fn provider(alias: &str) -> serde_json::Value {
    json!({"alias": alias, "providerId": "oidc", "enabled": true,
           "config": {"clientId": "c", "clientSecret": "s",
                      "authorizationUrl": format!("https://{alias}.test/auth"),
                      "tokenUrl": format!("https://{alias}.test/token"),
                      "jwksUrl": format!("https://{alias}.test/certs"), "useJwksUrl": "true"}})
}

/// The realm, with links to identity-provider accounts (alice: corp; carol: corp; dave: corp
/// and github) made through the admin API, and the realm's `editUsernameAllowed`.
async fn app_with(edit_username: bool) -> TestApp {
    let app = TestApp::builder()
        .realm(realm())
        .master_admin("admin", "admin-password")
        .now(NOW)
        .peer("192.0.2.7:5000")
        .build()
        .await;
    let token = bearer(&app.admin_token().await);
    let links = [
        ("alice", "corp", "a-1", "alice.corp"),
        ("carol", "corp", "c-1", "carol"),
        ("dave", "corp", "d-1", "dave"),
        ("dave", "github", "d-2", "dave-gh"),
    ];
    for (user, provider, id, name) in links {
        let user_id = app.user_id("acme", user).await;
        let reply = app
            .post_json(
                &format!("/auth/admin/realms/acme/users/{user_id}/federated-identity/{provider}"),
                Some(&token),
                &json!({"identityProvider": provider, "userId": id, "userName": name}),
            )
            .await;
        assert!(reply.status.is_success(), "{}", reply.text());
    }
    let reply = app
        .put_json(
            "/auth/admin/realms/acme",
            Some(&token),
            &json!({"editUsernameAllowed": edit_username}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text());
    app
}

async fn app() -> TestApp {
    app_with(false).await
}

async fn signed_in<'a>(app: &'a TestApp, username: &str, password: &str) -> (Browser<'a>, String) {
    let mut browser = Browser::new(app);
    let base = browser.sign_in_to_account("acme", username, password).await;
    (browser, base)
}

#[track_caller]
fn ok(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{:?} {}",
        reply.location(),
        reply.text()
    );
}

/// Posts `form` with the fields changed, as the page's own form would.
async fn submit(b: &mut Browser<'_>, form: HtmlForm, fields: &[(&str, &str)]) -> Reply {
    let mut form = form;
    for (name, value) in fields {
        form = form.with(name, value);
    }
    b.submit(&form).await
}

/// The text of the element whose `id` is `id`, roughly: what follows its start tag.
fn after_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in\n{html}"));
    &html[at..(at + 400).min(html.len())]
}

async fn admin_get(app: &TestApp, path: &str) -> Value {
    app.state.flush_events().await;
    let token = app.admin_token().await;
    let reply = app
        .get(
            &format!("/auth/admin/realms/acme/{path}"),
            Some(&bearer(&token)),
        )
        .await;
    ok(&reply);
    reply.json()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    admin_get(app, "events?max=200")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A docker login (identity token) of `username`, as `docker login` makes one.
async fn docker_login(app: &TestApp, username: &str, password: &str) {
    let reply = app
        .get(
            &format!(
                "/auth/realms/acme/protocol/docker-v2/auth?service={REGISTRY}&offline_token=true"
            ),
            Some(&basic(username, password)),
        )
        .await;
    ok(&reply);
    assert!(
        reply.json()["refresh_token"].is_string(),
        "{}",
        reply.text()
    );
}

/// What a docker token issued with `secret` grants on each requested repository.
async fn docker_grants(app: &TestApp, user: &str, secret: &str, scope: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/auth/realms/acme/protocol/docker-v2/auth?service={REGISTRY}&scope={scope}"),
            Some(&basic(user, secret)),
        )
        .await;
    if reply.status != StatusCode::OK {
        return Vec::new();
    }
    let token = reply.json()["token"].as_str().unwrap().to_string();
    part(&token, 1)["access"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The password grant for alice with `password`.
async fn password_grant(app: &TestApp, password: &str) -> Reply {
    app.post_form(
        "/auth/realms/acme/protocol/openid-connect/token",
        None,
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", password),
        ],
    )
    .await
}

#[tokio::test]
async fn every_page_renders_for_the_signed_in_user_in_the_theme() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let pages = [
        ("/", "Personal info"),
        ("/password", "Password"),
        ("/linked", "Linked accounts"),
        ("/sessions", "Sessions"),
        ("/docker-logins", "Docker logins"),
        ("/app-passwords", "App passwords"),
        ("/registry-access", "My registry access"),
    ];
    for (path, title) in pages {
        let page = b.get(&format!("{base}{path}")).await;
        ok(&page);
        let html = page.text();
        assert!(
            html.contains(&format!(r#"<h1 id="page-title">{title}</h1>"#)),
            "{path}"
        );
        assert!(
            html.contains("Signed in as <strong>alice</strong>"),
            "{path}"
        );
        assert!(
            html.contains(r#"aria-current="page""#),
            "{path}: the nav marks the page"
        );
        assert!(
            html.contains(r##"<a class="skip" href="#content">"##),
            "{path}"
        );
        assert!(html.contains(r#"id="sign-out""#), "{path}");
        assert!(
            page.header(header::CACHE_CONTROL).contains("no-store"),
            "{path}"
        );
        assert_eq!(page.header(header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert!(
            page.header(header::CONTENT_SECURITY_POLICY)
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
    // `{realm}/account` (keycloak-js's account link) is the console.
    let root = b
        .get("/auth/realms/acme/account?referrer=web&referrer_uri=https%3A%2F%2Fweb.test%2F")
        .await;
    ok(&root);
    assert!(
        root.text()
            .contains(r#"<h1 id="page-title">Personal info</h1>"#)
    );
    let profile = b.get(&format!("{base}/")).await.text();
    assert!(profile.contains(r#"value="alice@acme.test""#));
    assert!(profile.contains(r#"id="username" type="text" value="alice" readonly"#));
    assert!(profile.contains("Verified."));
}

#[tokio::test]
async fn the_profile_is_saved_and_errors_sit_beside_their_fields() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/")).await;
    let form = page.form_to("/profile");

    // A malformed e-mail: 400, the page again with the error beside the field.
    let bad = submit(&mut b, form.clone(), &[("email", "not-an-address")]).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let html = bad.text();
    assert!(html.contains(r#"id="email" name="email" type="email" value="not-an-address""#));
    assert!(after_id(&html, "email").contains(r#"aria-invalid="true""#));
    assert!(after_id(&html, "email").contains("email-error"));
    assert!(after_id(&html, "email-error").contains("Please give a valid e-mail address."));

    // Bob's e-mail is taken.
    let taken = submit(&mut b, form.clone(), &[("email", "BOB@acme.test")]).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(after_id(&taken.text(), "email-error").contains("Email already exists."));

    // The username is read-only here: a posted one changes nothing.
    let saved = submit(
        &mut b,
        form.clone(),
        &[
            ("username", "mallory"),
            ("email", "Alice.L@acme.test"),
            ("firstName", " Alicia "),
            ("lastName", ""),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let page = b.get(saved.location().unwrap()).await;
    ok(&page);
    assert!(page.text().contains("Your profile was saved."));
    let realm_id = app.realm_id("acme").await;
    let user = app
        .store
        .find_user_by_id(&realm_id, &app.user_id("acme", "alice").await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.username, "alice");
    assert_eq!(user.email.as_deref(), Some("alice.l@acme.test"));
    assert!(!user.email_verified, "a new e-mail is not verified");
    assert_eq!(user.first_name.as_deref(), Some("Alicia"));
    assert_eq!(user.last_name, None);
    assert!(page.text().contains("Not verified."));
    let types = event_types(&app).await;
    assert!(types.contains(&"UPDATE_PROFILE".to_string()), "{types:?}");
    assert!(types.contains(&"UPDATE_EMAIL".to_string()), "{types:?}");
    let admin_events = admin_get(&app, "admin-events").await;
    let update = admin_events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["operationType"] == "UPDATE" && e["resourceType"] == "USER")
        .expect("an admin event for the update");
    assert_eq!(update["authDetails"]["userId"], user.id.as_str());
}

#[tokio::test]
async fn the_username_changes_where_the_realm_allows_it() {
    let app = app_with(true).await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/")).await;
    assert!(
        page.text()
            .contains(r#"id="username" name="username" type="text""#)
    );
    let form = page.form_to("/profile");
    let taken = submit(&mut b, form.clone(), &[("username", "Bob")]).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(after_id(&taken.text(), "username-error").contains("Username already exists."));
    let saved = submit(&mut b, form, &[("username", "Alice2")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let page = b.get(&format!("{base}/")).await;
    assert!(page.text().contains("Signed in as <strong>alice2</strong>"));
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_the_realm_policy() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let (mut elsewhere, _) = signed_in(&app, "alice", ALICE_PW).await;
    docker_login(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/app-passwords")).await;
    let created = submit(
        &mut b,
        page.form_to("/app-passwords"),
        &[("name", "laptop"), ("expires", "2026-12-01")],
    )
    .await;
    ok(&created);
    let secret = created
        .text()
        .split(r#"id="app-password-secret" aria-labelledby="app-password-label">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();

    let page = b.get(&format!("{base}/password")).await;
    ok(&page);
    let form = page.form_to("/password").without("revoke-app-passwords");
    let cases = [
        (
            "wrong-password-9",
            "NewPassword-2026",
            "NewPassword-2026",
            "password",
            "Invalid existing password.",
        ),
        (
            ALICE_PW,
            "short",
            "short",
            "password-new",
            "Invalid password: minimum length 12.",
        ),
        (
            ALICE_PW,
            "alice",
            "alice",
            "password-new",
            "Invalid password: minimum length 12.",
        ),
        (
            ALICE_PW,
            "NewPassword-2026",
            "NewPassword-2027",
            "password-confirm",
            "Passwords don&#x27;t match.",
        ),
        (
            "",
            "NewPassword-2026",
            "NewPassword-2026",
            "password",
            "Please specify password.",
        ),
    ];
    for (current, new, confirm, field, message) in cases {
        let reply = submit(
            &mut b,
            form.clone(),
            &[
                ("password", current),
                ("password-new", new),
                ("password-confirm", confirm),
            ],
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{field}: {}",
            reply.text()
        );
        let html = reply.text();
        let input_id = if field == "password" {
            "password-current"
        } else {
            field
        };
        assert!(
            after_id(&html, input_id).contains(r#"aria-invalid="true""#),
            "{field} is marked invalid"
        );
        assert!(
            after_id(&html, &format!("{field}-error")).contains(message),
            "{field}: {message} beside the field in\n{html}"
        );
    }
    let types = event_types(&app).await;
    assert!(
        types.contains(&"UPDATE_PASSWORD_ERROR".to_string()),
        "{types:?}"
    );

    let changed = submit(
        &mut b,
        form.clone(),
        &[
            ("password", ALICE_PW),
            ("password-new", "NewPassword-2026"),
            ("password-confirm", "NewPassword-2026"),
        ],
    )
    .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    // This session stays; the other one is over; the docker login is revoked; the app
    // password still works; the new password works and the old one does not.
    let page = b.get(changed.location().unwrap()).await;
    ok(&page);
    assert!(page.text().contains("Your password was changed."));
    let other = elsewhere.get(&format!("{base}/")).await;
    assert!(other.is_login_page(), "the other session ended");
    let logins = b.get(&format!("{base}/docker-logins")).await.text();
    assert!(logins.contains(r#"id="no-docker-logins""#), "{logins}");
    assert!(
        !docker_grants(&app, "alice", &secret, "repository:platform/a:push")
            .await
            .is_empty()
    );
    assert_eq!(
        password_grant(&app, ALICE_PW).await.status,
        StatusCode::UNAUTHORIZED
    );
    ok(&password_grant(&app, "NewPassword-2026").await);
    assert!(
        event_types(&app)
            .await
            .contains(&"UPDATE_PASSWORD".to_string())
    );

    // Again, asking for the app passwords to go too.
    let changed = submit(
        &mut b,
        form,
        &[
            ("password", "NewPassword-2026"),
            ("password-new", "NewerPassword-2026"),
            ("password-confirm", "NewerPassword-2026"),
            ("revoke-app-passwords", "on"),
        ],
    )
    .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.text());
    assert!(
        docker_grants(&app, "alice", &secret, "repository:platform/a:push")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn users_without_a_password_have_none_to_change_and_keep_their_last_way_in() {
    let app = app().await;
    // Carol signs in through a provider; here her session is made as the broker would make it.
    let mut carol = Browser::new(&app);
    let base = sign_in_without_password(&app, &mut carol, "carol").await;
    let page = carol.get(&format!("{base}/password")).await;
    ok(&page);
    assert!(page.text().contains(r#"id="no-password""#));
    assert!(
        page.forms()
            .iter()
            .all(|f| !f.action.ends_with("/password"))
    );
    let csrf = page.form_to("/sign-out").field("csrf").unwrap().to_string();
    let refused = carol
        .post(
            &format!("{base}/password"),
            &[
                ("csrf", csrf.as_str()),
                ("password", "x"),
                ("password-new", "NewPassword-2026"),
                ("password-confirm", "NewPassword-2026"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);

    // Her only link cannot go: no button, and a post is refused.
    let linked = carol.get(&format!("{base}/linked")).await;
    ok(&linked);
    let html = linked.text();
    assert!(html.contains(r#"data-provider="corp""#));
    assert!(html.contains("Your only way to sign in"));
    assert!(
        linked
            .forms()
            .iter()
            .all(|f| !f.action.ends_with("/unlink"))
    );
    let refused = carol
        .post(
            &format!("{base}/linked/unlink"),
            &[("csrf", csrf.as_str()), ("provider", "corp")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("only way to sign in"));
    let links = admin_get(
        &app,
        &format!(
            "users/{}/federated-identity",
            app.user_id("acme", "carol").await
        ),
    )
    .await;
    assert_eq!(links.as_array().unwrap().len(), 1, "the link stays");

    // Dave has two links: either may go, then the last may not.
    let mut dave = Browser::new(&app);
    let base = sign_in_without_password(&app, &mut dave, "dave").await;
    let linked = dave.get(&format!("{base}/linked")).await;
    let unlink = linked
        .forms()
        .into_iter()
        .find(|f| f.field("provider") == Some("github"))
        .unwrap();
    let done = dave.submit(&unlink).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let linked = dave.get(&format!("{base}/linked")).await;
    assert!(!linked.text().contains(r#"data-provider="github""#));
    assert!(linked.text().contains("Your only way to sign in"));
    assert!(
        event_types(&app)
            .await
            .contains(&"REMOVE_FEDERATED_IDENTITY".to_string())
    );
}

/// A live SSO session for a user without a password, as a brokered login starts one: the
/// session row and its cookie.
async fn sign_in_without_password(app: &TestApp, b: &mut Browser<'_>, username: &str) -> String {
    let secret = portcullis_core::secrets::random_token::<32>();
    let session = portcullis_store::UserSession {
        id: portcullis_testkit::sha256_hex(&secret),
        realm_id: app.realm_id("acme").await,
        user_id: app.user_id("acme", username).await,
        auth_time: app.now(),
        created_at: app.now(),
        last_seen_at: app.now(),
        ended: false,
    };
    app.store.create_user_session(&session).await.unwrap();
    b.jar.insert("PORTCULLIS_SESSION".into(), secret);
    "/auth/realms/acme/account".into()
}

#[tokio::test]
async fn a_user_with_a_password_unlinks_a_provider() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let linked = b.get(&format!("{base}/linked")).await;
    assert!(linked.text().contains("alice.corp"));
    let done = b.submit(&linked.form_to("/linked/unlink")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let linked = b.get(&format!("{base}/linked")).await;
    assert!(linked.text().contains(r#"id="no-links""#));
    assert!(linked.text().contains("corp was unlinked."));
}

#[tokio::test]
async fn sessions_are_listed_as_devices_and_signed_out_one_or_all_others_never_another_users() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let (mut phone, _) = signed_in(&app, "alice", ALICE_PW).await;
    let (mut laptop, _) = signed_in(&app, "alice", ALICE_PW).await;
    let (mut bob, _) = signed_in(&app, "bob", BOB_PW).await;
    let bobs_session = portcullis_testkit::sha256_hex(bob.jar.get("PORTCULLIS_SESSION").unwrap());

    let page = b.get(&format!("{base}/sessions")).await;
    ok(&page);
    let html = page.text();
    assert_eq!(html.matches("data-session=").count(), 3, "{html}");
    assert_eq!(html.matches(r#"data-current="true""#).count(), 1);
    assert!(
        html.contains("192.0.2.7"),
        "the address the session started from"
    );
    let phones = portcullis_testkit::sha256_hex(phone.jar.get("PORTCULLIS_SESSION").unwrap());
    let end_phone = page
        .forms()
        .into_iter()
        .find(|f| f.field("id") == Some(phones.as_str()))
        .unwrap();

    // Bob's session id in alice's form: not found, and bob stays signed in.
    let forged = b.submit(&end_phone.clone().with("id", &bobs_session)).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{}", forged.text());
    ok(&bob.get(&format!("{base}/sessions")).await);

    let done = b.submit(&end_phone).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(phone.get(&format!("{base}/")).await.is_login_page());
    ok(&laptop.get(&format!("{base}/")).await);

    let page = b.get(&format!("{base}/sessions")).await;
    assert!(page.text().contains("The session was signed out."));
    let done = b.submit(&page.form_to("/sessions/end-others")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("{base}/sessions")).await;
    assert!(page.text().contains("1 other session was signed out."));
    assert!(page.text().contains(r#"id="no-other-sessions""#));
    assert!(laptop.get(&format!("{base}/")).await.is_login_page());
    ok(&bob.get(&format!("{base}/")).await);

    // Signing out ends this session too.
    let out = b.submit(&page.form_to("/sign-out")).await;
    ok(&out);
    assert!(out.text().contains("You are signed out"));
    assert!(!b.jar.contains_key("PORTCULLIS_SESSION"));
    assert!(b.get(&format!("{base}/")).await.is_login_page());
    assert!(event_types(&app).await.contains(&"LOGOUT".to_string()));
}

#[tokio::test]
async fn docker_logins_are_listed_and_revoked_only_by_their_owner() {
    let app = app().await;
    docker_login(&app, "alice", ALICE_PW).await;
    docker_login(&app, "bob", BOB_PW).await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/docker-logins")).await;
    ok(&page);
    let html = page.text();
    assert_eq!(
        html.matches("data-login=").count(),
        1,
        "only alice's: {html}"
    );
    assert!(html.contains(&format!(r#"data-registry="{REGISTRY}""#)));
    let revoke = page.form_to("/docker-logins/revoke");

    let realm_id = app.realm_id("acme").await;
    let bobs = portcullis_store::admin::grants::docker_logins(
        app.store.connection(),
        &realm_id,
        Some(&app.user_id("acme", "bob").await),
        None,
        app.now(),
    )
    .await
    .unwrap();
    let forged = b.submit(&revoke.clone().with("id", &bobs[0].id)).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);

    let done = b.submit(&revoke).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let page = b.get(&format!("{base}/docker-logins")).await;
    assert!(page.text().contains(r#"id="no-docker-logins""#));
    let left = portcullis_store::admin::grants::docker_logins(
        app.store.connection(),
        &realm_id,
        None,
        None,
        app.now(),
    )
    .await
    .unwrap();
    assert_eq!(left.len(), 1, "bob's stays");
    assert_eq!(left[0].id, bobs[0].id);
}

#[tokio::test]
async fn app_passwords_are_created_shown_once_used_listed_and_revoked_only_by_their_owner() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/app-passwords")).await;
    ok(&page);
    let html = page.text();
    assert!(html.contains(r#"id="no-app-passwords""#));
    assert!(
        html.contains(r#"max="2026-12-18""#),
        "30 days from now at most"
    );
    assert!(html.contains(&format!(r#"<option value="{REGISTRY}">"#)));
    let form = page.form_to("/app-passwords");

    // Field errors, beside their fields.
    /// (fields set, the field in error, its message)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 4] = [
        (&[("name", "  ")], "name", "Give it a name."),
        (
            &[("name", "ci"), ("expires", "2027-06-01")],
            "expires",
            "beyond the realm&#x27;s maximum of 30 days",
        ),
        (
            &[("name", "ci"), ("expires", "2026-11-18")],
            "expires",
            "Choose a date after today.",
        ),
        (
            &[("name", "ci"), ("repositories", "a/${user}")],
            "repositories",
            "repository pattern",
        ),
    ];
    for (fields, field, message) in cases {
        let reply = submit(&mut b, form.clone(), fields).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{field}");
        let html = reply.text();
        assert!(
            after_id(&html, field).contains(r#"aria-invalid="true""#),
            "{field}"
        );
        assert!(
            after_id(&html, &format!("{field}-error")).contains(message),
            "{field}: {html}"
        );
    }

    // Limited to platform/** push on the registry.
    let mut fields = form
        .clone()
        .with("name", "ci platform")
        .with("expires", "2026-12-01")
        .with("registry", REGISTRY)
        .with("repositories", "platform/**");
    fields.fields.retain(|(k, _)| k != "actions");
    fields.fields.push(("actions".into(), "push".into()));
    let created = b.submit(&fields).await;
    ok(&created);
    let html = created.text();
    assert!(created.header(header::CACHE_CONTROL).contains("no-store"));
    let secret = html
        .split(r#"id="app-password-secret" aria-labelledby="app-password-label">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    assert!(secret.starts_with("pcp_") && secret.len() == 47, "{secret}");
    assert!(
        html.contains(&format!("docker login -u alice {REGISTRY}")),
        "{html}"
    );
    assert!(html.contains("Push on platform/** in registry registry.acme.test"));

    // It works, narrowed: push on platform/*, nothing elsewhere.
    let granted = docker_grants(&app, "alice", &secret, "repository:platform/api:push").await;
    assert_eq!(granted[0]["actions"], json!(["push"]), "{granted:?}");
    let public = docker_grants(&app, "alice", &secret, "repository:public/x:pull").await;
    assert!(public.is_empty() || public[0]["actions"].as_array().unwrap().is_empty());

    // Listed without its secret, with its last use.
    let page = b.get(&format!("{base}/app-passwords")).await;
    let html = page.text();
    assert!(!html.contains(&secret), "the secret is shown once");
    assert!(html.contains(r#"data-name="ci platform" data-status="active""#));
    assert!(
        html.contains("2026-11-18 11:06 UTC from"),
        "its last use: {html}"
    );

    // Bob's app password id in alice's revoke form: not found, and it keeps working.
    let (mut bob, bob_base) = signed_in(&app, "bob", BOB_PW).await;
    let bobs_page = bob.get(&format!("{bob_base}/app-passwords")).await;
    let bobs = bob
        .submit(
            &bobs_page
                .form_to("/app-passwords")
                .with("name", "bob ci")
                .with("expires", "2026-12-01"),
        )
        .await;
    ok(&bobs);
    let bob_secret = bobs
        .text()
        .split(r#"id="app-password-secret" aria-labelledby="app-password-label">"#)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    let bobs_id = bob
        .get(&format!("{bob_base}/app-passwords"))
        .await
        .text()
        .split(r#"data-app-password=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let revoke = page.form_to("/app-passwords/revoke");
    let forged = b.submit(&revoke.clone().with("id", &bobs_id)).await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let bob_pull = docker_grants(&app, "bob", &bob_secret, "repository:public/x:pull").await;
    assert!(!bob_pull.is_empty(), "bob's app password still works");

    // Revoked: refused at once, listed as revoked with its last use.
    let done = b.submit(&revoke).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(
        docker_grants(&app, "alice", &secret, "repository:platform/api:push")
            .await
            .is_empty()
    );
    let page = b.get(&format!("{base}/app-passwords")).await;
    let html = page.text();
    assert!(
        html.contains(r#"data-name="ci platform" data-status="revoked""#),
        "{html}"
    );
    assert!(html.contains("The app password was revoked."));

    // A login event and an admin event for its creation and its revocation, by alice.
    let types = event_types(&app).await;
    assert!(
        types.contains(&"APP_PASSWORD_CREATED".to_string()),
        "{types:?}"
    );
    assert!(
        types.contains(&"APP_PASSWORD_REVOKED".to_string()),
        "{types:?}"
    );
    let alice = app.user_id("acme", "alice").await;
    let admin_events = admin_get(&app, "admin-events").await;
    let by_alice: Vec<_> = admin_events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["authDetails"]["userId"] == alice.as_str()
                && e["resourcePath"]
                    .as_str()
                    .unwrap_or("")
                    .contains("/app-passwords/")
        })
        .collect();
    assert_eq!(by_alice.len(), 2, "{admin_events}");
}

#[tokio::test]
async fn my_registry_access_shows_the_granting_rules_and_tries_a_repository() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/registry-access")).await;
    ok(&page);
    let html = page.text();
    assert!(
        html.contains(&format!(
            r#"data-registry="{REGISTRY}" data-pattern="platform/**" data-actions="pull, push""#
        )),
        "{html}"
    );
    assert!(html.contains("group /platform"));
    assert!(html.contains(r#"data-pattern="public/**" data-actions="pull""#));
    assert!(html.contains("every signed-in user"));
    let registry_id = html
        .split(r#"<option value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();

    let tried = b
        .get(&format!(
            "{base}/registry-access?registry={registry_id}&repository=platform%2Fapi"
        ))
        .await;
    ok(&tried);
    let html = tried.text();
    assert!(
        html.contains(r#"data-repository="platform/api" data-granted="pull, push""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<li class="hit">Applies: platform-push"#),
        "{html}"
    );
    let denied = b
        .get(&format!(
            "{base}/registry-access?registry={registry_id}&repository=other%2Fx"
        ))
        .await;
    assert!(denied.text().contains(r#"data-granted="""#));
    let bad = b
        .get(&format!(
            "{base}/registry-access?registry={registry_id}&repository="
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(after_id(&bad.text(), "repository").contains(r#"aria-invalid="true""#));
    let unknown = b
        .get(&format!(
            "{base}/registry-access?registry=nope&repository=a"
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);

    // Bob is in no group: only the rule for everyone signed in.
    let (mut bob, _) = signed_in(&app, "bob", BOB_PW).await;
    let html = bob.get(&format!("{base}/registry-access")).await.text();
    assert!(!html.contains(r#"data-pattern="platform/**""#));
    assert!(html.contains(r#"data-pattern="public/**""#));
}

#[tokio::test]
async fn forms_without_this_browsers_token_for_this_session_change_nothing() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/app-passwords")).await;
    let form = page
        .form_to("/app-passwords")
        .with("name", "forged")
        .with("expires", "2026-12-01");

    let missing = b.submit(&form.clone().without("csrf")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    let garbage = b.submit(&form.clone().with("csrf", "a.b.c")).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);

    // Bob's page's token, posted from alice's browser: another browser's nonce.
    let (mut bob, _) = signed_in(&app, "bob", BOB_PW).await;
    let bobs_token = bob
        .get(&format!("{base}/app-passwords"))
        .await
        .form_to("/app-passwords")
        .field("csrf")
        .unwrap()
        .to_string();
    let foreign = b.submit(&form.clone().with("csrf", &bobs_token)).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);

    // A token rendered for an earlier session of this browser: refused after a new sign-in.
    let old_token = form.field("csrf").unwrap().to_string();
    b.sign_in_to_account("acme", "alice", ALICE_PW).await;
    let stale = b.submit(&form.clone().with("csrf", &old_token)).await;
    assert_eq!(stale.status, StatusCode::BAD_REQUEST);

    let html = b.get(&format!("{base}/app-passwords")).await.text();
    assert!(
        html.contains(r#"id="no-app-passwords""#),
        "nothing was created"
    );
    // Sign-out without a token does not sign out.
    let out = b.post(&format!("{base}/sign-out"), &[("csrf", "")]).await;
    assert_eq!(out.status, StatusCode::BAD_REQUEST);
    ok(&b.get(&format!("{base}/")).await);
}

#[tokio::test]
async fn hostile_input_is_escaped() {
    let app = app().await;
    let (mut b, base) = signed_in(&app, "alice", ALICE_PW).await;
    let page = b.get(&format!("{base}/")).await;
    let saved = submit(
        &mut b,
        page.form_to("/profile"),
        &[("firstName", "<script>alert(1)</script>")],
    )
    .await;
    // Keycloak's default user profile refuses such a name; the form shows it back, escaped.
    assert_ne!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let html = saved.text();
    assert!(html.contains("special characters"), "{html}");
    assert!(!html.contains("<script>alert(1)"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    let stored = b.get(&format!("{base}/")).await.text();
    assert!(!stored.contains("alert(1)"), "nothing was saved");
}

#[tokio::test]
async fn without_a_session_the_realms_login_starts_and_returns_to_the_page_asked_for() {
    let app = app().await;
    let mut b = Browser::new(&app);
    let base = "/auth/realms/acme/account";
    let login = b
        .get(&format!("{base}/registry-access?repository=platform%2Fapi"))
        .await;
    assert!(login.is_login_page(), "{}", login.text());
    assert!(login.text().contains("Acme"), "the realm's login page");
    let wrong = b.log_in(&login, "alice", "not-her-password").await;
    assert!(wrong.is_login_page());
    let done = b.log_in(&login, "alice", ALICE_PW).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(
        done.location(),
        Some("/auth/realms/acme/account/registry-access?repository=platform%2Fapi")
    );
    let page = b.get(done.location().unwrap()).await;
    ok(&page);
    // A form posted without a session (it ended meanwhile) changes nothing and, after the
    // login, comes back to the page it was posted from.
    let form = b
        .get(&format!("{base}/app-passwords"))
        .await
        .form_to("/app-passwords")
        .with("name", "made without a session")
        .with("expires", "2026-12-01");
    b.jar.remove("PORTCULLIS_SESSION");
    let login = b.submit(&form).await;
    assert!(login.is_login_page());
    let done = b.log_in(&login, "alice", ALICE_PW).await;
    assert_eq!(
        done.location(),
        Some("/auth/realms/acme/account/app-passwords")
    );
    let page = b.get(done.location().unwrap()).await;
    assert!(page.text().contains(r#"id="no-app-passwords""#));
    // The login is an event of the account console's client.
    let events = admin_get(&app, "events?type=LOGIN").await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["clientId"] == "account-console"),
        "{events}"
    );

    // A browser signed in through an application goes straight to the console.
    let mut other = Browser::new(&app);
    let token = other
        .get(&format!(
            "/auth/realms/acme/protocol/openid-connect/auth?client_id=account-console&\
             redirect_uri=http%3A%2F%2Fid.test{}%2F&response_type=code&scope=openid&\
             code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            base.replace('/', "%2F")
        ))
        .await;
    let done = other.log_in(&token, "bob", BOB_PW).await;
    assert!(done.status.is_redirection());
    let page = other.get(&format!("{base}/")).await;
    ok(&page);
    assert!(page.text().contains("Signed in as <strong>bob</strong>"));
    // Unknown realms are the realm error page.
    let unknown = other.get("/auth/realms/nope/account/").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
