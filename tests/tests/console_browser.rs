//! The admin console in a real browser (headless chromium over WebDriver), end to end: the
//! master admin signs in, makes a realm, a group, a registry with one access rule (previewing
//! its access diff), a user in the group; the registry's try-it page and the user's Registry
//! access tab say what she may do; the registry's setup page hands out the bundle that a real
//! `docker-registry` then trusts, and `skopeo` gets exactly the answer try-it gave. Every page is
//! checked with axe-core and photographed into `docs/console/`.
//!
//! The markup it relies on is the console's URL and HTML contract (ids, `data-*` attributes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_tests::browser::{Browser, WIDTH};
use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{ADMIN_PASSWORD, Server, TempDir, require};

const TEST: &str = "console_journey_realm_registry_rule_user_and_push";
const CONSOLE: &str = "/auth/admin/master/console";
const REALM: &str = "shop";
const SERVICE: &str = "registry.shop.test";
const ALICE_PASSWORD: &str = "Alice-e2e-pw-42!";
const GRANTED_SCOPE: &str = "repository:team-a/api:push";
const DENIED_SCOPE: &str = "repository:team-b/api:push";

/// The path of `url` with the console prefix removed, when it is in the console.
fn console_path(url: &url::Url) -> Option<String> {
    url.path().strip_prefix(CONSOLE).map(str::to_string)
}

/// The id in a console path such as `/realms/shop/users/{id}`, after `prefix`.
fn id_after(path: &str, prefix: &str) -> Option<String> {
    let rest = path.strip_prefix(prefix)?;
    let id = rest.split('/').next()?;
    (!id.is_empty() && id != "new").then(|| id.to_string())
}

fn actions(list: &str) -> Vec<&str> {
    list.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn console_journey_realm_registry_rule_user_and_push() {
    if require("docker-registry", TEST).is_none()
        || require("skopeo", TEST).is_none()
        || require("tar", TEST).is_none()
    {
        return;
    }
    let Some(mut browser) = Browser::start(TEST).await else {
        return;
    };
    let server = Server::start(&[]);
    browser.show_log_on_failure(&server.dir.path().join("server.log"));
    let console = |path: &str| server.url(&format!("{CONSOLE}{path}"));
    let realm = |path: &str| console(&format!("/realms/{REALM}{path}"));
    let b = &browser;

    // --- Sign in: B/ sends a browser without a console cookie to the realm's login page.
    b.goto(&console("/")).await;
    b.wait_for_url(
        "the master realm's login page (via openid-connect/auth)",
        |u| u.path().starts_with("/auth/realms/master/"),
    )
    .await;
    b.wait_for("input#username").await;
    b.wait_for("input#password").await;
    b.page("login").await;
    b.fill("input#username", "admin").await;
    b.fill("input#password", ADMIN_PASSWORD).await;
    b.submit("form:has(#password)").await;
    b.wait_for_url("the console's start page B/ after the callback", |u| {
        console_path(u).as_deref() == Some("/")
    })
    .await;

    // --- Realms: the list, and a new realm.
    b.goto(&console("/realms")).await;
    b.wait_for("form#create-realm").await;
    b.page("realms").await;
    b.fill("#create-realm #realm", REALM).await;
    b.fill("#create-realm #displayName", "Shop").await;
    b.submit("#create-realm").await;
    b.wait_for_url("B/realms/shop/ after creating the realm", |u| {
        console_path(u).as_deref() == Some("/realms/shop/")
    })
    .await;
    b.wait_for(".flash[role=status]").await;
    b.wait_for(r#"nav[aria-label="Realm"]"#).await;
    let mut nav = Vec::new();
    for link in b.find_all(r#"nav[aria-label="Realm"] a"#).await {
        nav.push(b.prop(&link, "textContent").await.trim().to_string());
    }
    let wanted = [
        "Clients",
        "Registries",
        "Roles",
        "Groups",
        "Users",
        "Sessions",
        "Events",
        "Realm settings",
        "Keys",
    ];
    let missing: Vec<_> = wanted
        .iter()
        .filter(|w| !nav.iter().any(|n| n.contains(*w)))
        .collect();
    if !missing.is_empty() {
        b.fail(&format!(
            "the realm nav lacks links {missing:?}; it has {nav:?}"
        ))
        .await;
    }
    b.page("realm-overview").await;

    // --- Groups: team-a, for the rule's subject.
    b.goto(&realm("/groups")).await;
    b.wait_for("form#create-group").await;
    b.fill("#create-group #name", "team-a").await;
    b.submit("#create-group").await;
    b.wait_for(".flash[role=status]").await;
    if !b.text("body").await.contains("team-a") {
        b.fail("the groups page does not list team-a after creating it")
            .await;
    }
    b.page("groups").await;
    let group = b.wait_for("main#content table a").await;
    let group_href = b.prop(&group, "href").await;
    b.goto(&group_href).await;
    b.wait_for("main#content h1").await;
    b.page("group").await;

    // --- A registry: the list, the form, and its rules page.
    b.goto(&realm("/registries")).await;
    b.page("registries").await;
    b.goto(&realm("/registries/new")).await;
    b.wait_for("form#create-registry").await;
    b.fill("#create-registry #service", SERVICE).await;
    b.select("#create-registry #algorithm", "ES256").await;
    b.page("registry-new").await;
    b.submit("#create-registry").await;
    let rules_url = b
        .wait_for_url(
            "B/realms/shop/registries/{clientUuid}/rules after creating the registry",
            |u| {
                console_path(u).is_some_and(|p| {
                    p.ends_with("/rules") && id_after(&p, "/realms/shop/registries/").is_some()
                })
            },
        )
        .await;
    let registry_id = id_after(
        &console_path(&rules_url).unwrap(),
        "/realms/shop/registries/",
    )
    .expect("registry id in the rules URL");
    let registry_page = |path: &str| realm(&format!("/registries/{registry_id}{path}"));
    b.wait_for(".flash[role=status]").await;

    // --- A rule: push on team-a/** for group /team-a, previewed, then confirmed. (With no
    // rules yet the page may show an empty state instead of table#rules.)
    b.wait_for("form#add-rule").await;
    b.fill("#add-rule #pattern", "team-a/**").await;
    b.set_checked("#add-rule #action-push", true).await;
    b.select("#add-rule #subjectKind", "group").await;
    b.fill("#add-rule #subject", "/team-a").await;
    b.submit("#add-rule").await;
    b.wait_for("section#access-diff").await;
    let changes = b
        .find_all("#access-diff li.gain, #access-diff li.loss, #access-diff p.empty")
        .await;
    if changes.is_empty() {
        b.fail("the access diff has neither li.gain/li.loss items nor p.empty")
            .await;
    }
    eprintln!(
        "access diff: {}",
        b.text("section#access-diff").await.trim()
    );
    b.wait_for("form#confirm-rule").await;
    b.page("access-diff").await;
    b.submit("#confirm-rule").await;
    b.wait_for_url("the rules page after confirming the rule", |u| {
        console_path(u).is_some_and(|p| p.ends_with(&format!("/registries/{registry_id}/rules")))
    })
    .await;
    b.wait_for(".flash[role=status]").await;
    let rules = b.text("table#rules").await;
    if !(rules.contains("team-a/**") && rules.contains("/team-a") && rules.contains("push")) {
        b.fail(&format!(
            "table#rules should show the rule team-a/** push for /team-a; it reads: {}",
            rules.split_whitespace().collect::<Vec<_>>().join(" ")
        ))
        .await;
    }
    b.page("registry-rules").await;
    b.set_width(375).await;
    b.page("rules-375").await;
    b.set_width(WIDTH).await;
    // The rule's edit form, reached by its link (saving an edit is covered in-process).
    let edit = b.wait_for("table#rules a[href$='/edit']").await;
    let edit_href = b.prop(&edit, "href").await;
    b.goto(&edit_href).await;
    b.wait_for("form#edit-rule").await;
    b.page("rule-edit").await;

    // --- A user with a password that is not temporary.
    b.goto(&realm("/users/new")).await;
    b.wait_for("form#create-user").await;
    b.fill("#create-user #username", "alice").await;
    b.fill("#create-user #email", "alice@shop.test").await;
    b.fill("#create-user #firstName", "Alice").await;
    b.fill("#create-user #lastName", "Liddell").await;
    b.fill("#create-user #password", ALICE_PASSWORD).await;
    b.set_checked("#create-user #temporary", false).await;
    b.page("user-new").await;
    b.submit("#create-user").await;
    let user_url = b
        .wait_for_url("B/realms/shop/users/{userId} after creating alice", |u| {
            console_path(u).is_some_and(|p| {
                id_after(&p, "/realms/shop/users/").is_some()
                    && p.trim_end_matches('/').matches('/').count() == 4
            })
        })
        .await;
    let user_id = id_after(&console_path(&user_url).unwrap(), "/realms/shop/users/")
        .expect("user id in the URL");
    let user_page = |path: &str| realm(&format!("/users/{user_id}{path}"));
    b.wait_for(".flash[role=status]").await;
    b.page("user-details").await;

    b.goto(&realm("/users")).await;
    if !b.text("body").await.contains("alice") {
        b.fail("the users list does not show alice").await;
    }
    b.page("users").await;
    b.set_width(375).await;
    b.page("users-375").await;
    b.set_width(WIDTH).await;

    // --- Alice joins /team-a on her groups tab.
    b.goto(&user_page("/groups")).await;
    let field = b.wait_for("#join-group [name=group]").await;
    if field.tag_name().await.ok().as_deref() == Some("select") {
        b.select("#join-group [name=group]", "/team-a").await;
    } else {
        b.fill("#join-group [name=group]", "/team-a").await;
    }
    b.submit("#join-group").await;
    b.wait_for(".flash[role=status]").await;
    if !b.text("body").await.contains("team-a") {
        b.fail("alice's groups tab does not show team-a after joining it")
            .await;
    }
    b.page("user-groups").await;

    // --- Try it: alice asks for push on team-a/api and team-b/api.
    b.goto(&registry_page("/try")).await;
    b.wait_for("form#try-it").await;
    b.fill("#try-it [name=username]", "alice").await;
    b.fill(
        "#try-it [name=scope]",
        &format!("{GRANTED_SCOPE}\n{DENIED_SCOPE}"),
    )
    .await;
    b.submit("#try-it").await;
    b.wait_for("table#try-result").await;
    b.wait_for("ul#rule-verdicts").await;
    let row_a = b
        .wait_for(&format!(r#"#try-result tr[data-scope="{GRANTED_SCOPE}"]"#))
        .await;
    let row_b = b
        .wait_for(&format!(r#"#try-result tr[data-scope="{DENIED_SCOPE}"]"#))
        .await;
    let granted_a = b.attr(&row_a, "data-granted").await;
    let granted_b = b.attr(&row_b, "data-granted").await;
    let try_a_push = granted_a
        .as_deref()
        .is_some_and(|g| actions(g).contains(&"push"));
    let try_b_empty = granted_b.as_deref().is_some_and(|g| actions(g).is_empty());
    if !try_a_push || !try_b_empty {
        b.fail(&format!(
            "try-it: {GRANTED_SCOPE} should grant push (data-granted={granted_a:?}) and \
             {DENIED_SCOPE} nothing (data-granted={granted_b:?})"
        ))
        .await;
    }
    if b.find_all("#rule-verdicts li.hit").await.is_empty() {
        b.fail(&format!(
            "ul#rule-verdicts (the verdicts for {GRANTED_SCOPE}) should have an li.hit for the \
             team-a/** rule"
        ))
        .await;
    }
    b.page("try-it").await;

    // --- Alice's Registry access tab.
    b.goto(&user_page("/access")).await;
    b.wait_for("table#registry-access").await;
    let row = b
        .wait_for(r#"#registry-access tr[data-pattern="team-a/**"]"#)
        .await;
    let row_actions = b.attr(&row, "data-actions").await.unwrap_or_default();
    let row_registry = b.attr(&row, "data-registry").await.unwrap_or_default();
    if !actions(&row_actions).contains(&"push") || row_registry != SERVICE {
        b.fail(&format!(
            "the registry-access row for team-a/** should be data-registry={SERVICE:?} with \
             push; it has data-registry={row_registry:?} data-actions={row_actions:?}"
        ))
        .await;
    }
    b.page("user-access").await;

    // --- Setup: the registry config and the bundle a real registry trusts.
    b.goto(&registry_page("/setup")).await;
    let snippet = b.text("pre#registry-config").await;
    let bundle_link = b.wait_for("a#download-bundle").await;
    let bundle_href = b.prop(&bundle_link, "href").await;
    b.wait_for("a#download-jwks").await;
    let docker_login = b.text("code#docker-login").await;
    if !snippet.contains(SERVICE) || !docker_login.trim_start().starts_with("docker login") {
        b.fail(&format!(
            "the setup page should name service {SERVICE} in #registry-config and show \
             `docker login …`; config: {snippet:?}, login: {docker_login:?}"
        ))
        .await;
    }
    b.page("registry-setup").await;
    let http = reqwest::Client::new();
    let resp = http
        .get(&bundle_href)
        .header(reqwest::header::COOKIE, b.cookie_header().await)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {bundle_href}: {e}"));
    let status = resp.status();
    let bundle = resp.text().await.unwrap_or_default();
    assert!(
        status == 200 && bundle.contains("BEGIN CERTIFICATE"),
        "#download-bundle {bundle_href} answered {status}: {bundle}"
    );
    let registry = Registry::start(&snippet, &bundle).await;

    // --- skopeo as alice: the same answer as try-it.
    let work = TempDir::new("console-image");
    let image = oci_image(work.path());
    let skopeo = Skopeo::new();
    let alice = format!("alice:{ALICE_PASSWORD}");
    assert!(try_a_push && try_b_empty);
    assert_ok(
        "alice pushes team-a/api (try-it granted push)",
        &skopeo.push(&image, &registry.image("team-a/api:v1"), Some(&alice)),
    );
    assert_denied(
        "alice pushes team-b/api (try-it granted nothing)",
        &skopeo.push(&image, &registry.image("team-b/api:v1"), Some(&alice)),
    );
    drop(registry);

    // --- Every other area, each checked by axe and photographed.
    let tour = [
        (realm("/clients"), "clients"),
        (realm("/clients/new"), "client-new"),
        (realm("/roles"), "roles"),
        (realm("/sessions"), "sessions"),
        (realm("/events"), "events"),
        (realm("/events/logins"), "login-events"),
        (realm("/settings"), "realm-settings"),
        (realm("/keys"), "keys"),
        (registry_page("/logins"), "registry-logins"),
        (user_page("/roles"), "user-roles"),
        (user_page("/sessions"), "user-sessions"),
        (user_page("/logins"), "user-logins"),
        (user_page("/attack"), "user-brute-force"),
        (user_page("/app-passwords"), "user-app-passwords"),
        (realm("/robots"), "robots"),
    ];
    for (url, name) in tour {
        b.goto(&url).await;
        b.wait_for("main#content h1").await;
        b.page(name).await;
    }
    // --- Client scopes: a scope with a mapper, a client that may ask for it, the evaluation.
    b.goto(&realm("/client-scopes/new")).await;
    b.wait_for("form#create-client-scope").await;
    b.fill("#create-client-scope #name", "tier").await;
    // Type None: new clients do not get it, so shop-web adds it below.
    b.page("client-scope-new").await;
    b.submit("#create-client-scope").await;
    let scope_url = b
        .wait_for_url(
            "B/realms/shop/client-scopes/{id} after creating tier",
            |u| {
                console_path(u)
                    .is_some_and(|p| id_after(&p, "/realms/shop/client-scopes/").is_some())
            },
        )
        .await;
    let scope_id = id_after(
        &console_path(&scope_url).unwrap(),
        "/realms/shop/client-scopes/",
    )
    .expect("scope id in the URL");
    let scope_page = |path: &str| realm(&format!("/client-scopes/{scope_id}{path}"));
    b.wait_for(".flash[role=status]").await;
    b.page("client-scope-settings").await;
    b.goto(&scope_page("/mappers/new?type=oidc-hardcoded-claim-mapper"))
        .await;
    b.wait_for("form#add-mapper").await;
    b.fill("#add-mapper #name", "tier").await;
    b.fill("#add-mapper #config-0", "tier").await;
    b.fill("#add-mapper #config-1", "gold").await;
    b.page("client-scope-mapper-new").await;
    b.submit("#add-mapper").await;
    b.wait_for(r#"table#mappers tr[data-mapper="tier"]"#).await;
    b.page("client-scope-mappers").await;
    b.goto(&scope_page("/scope")).await;
    b.wait_for("form#add-scope-realm-role").await;
    b.page("client-scope-scope").await;
    b.goto(&realm("/clients/new")).await;
    b.wait_for("form#create-client").await;
    b.fill("#create-client #clientId", "shop-web").await;
    b.submit("#create-client").await;
    let client_url = b
        .wait_for_url("B/realms/shop/clients/{id} after creating shop-web", |u| {
            console_path(u).is_some_and(|p| id_after(&p, "/realms/shop/clients/").is_some())
        })
        .await;
    let client_id = id_after(&console_path(&client_url).unwrap(), "/realms/shop/clients/")
        .expect("client id in the URL");
    let client_page = |path: &str| realm(&format!("/clients/{client_id}{path}"));
    b.goto(&client_page("/client-scopes")).await;
    b.wait_for("form#add-client-scope").await;
    b.select("#add-client-scope #scope", &scope_id).await;
    b.select("#add-client-scope #add-type", "optional").await;
    b.submit("#add-client-scope").await;
    b.wait_for(r#"table#client-client-scopes tr[data-scope="tier"]"#)
        .await;
    b.page("client-client-scopes").await;
    b.goto(&client_page(
        "/client-scopes/evaluate?user=alice&scope=tier",
    ))
    .await;
    b.wait_for("pre#access-token").await;
    if !b.text("pre#access-token").await.contains("gold") {
        b.fail("the evaluated access token lacks the tier claim")
            .await;
    }
    b.page("client-evaluate").await;
    b.goto(&client_page("/scope")).await;
    b.wait_for("form#full-scope").await;
    b.page("client-scope").await;
    b.goto(&realm("/client-scopes")).await;
    b.wait_for(r#"table#client-scopes tr[data-scope="tier"]"#)
        .await;
    b.page("client-scopes").await;
    b.set_width(375).await;
    b.page("client-scopes-375").await;
    b.goto(&client_page(
        "/client-scopes/evaluate?user=alice&scope=tier",
    ))
    .await;
    b.wait_for("pre#access-token").await;
    b.page("client-evaluate-375").await;
    b.goto(&client_page("/client-scopes")).await;
    b.wait_for("form#add-client-scope").await;
    b.page("client-client-scopes-375").await;
    b.set_width(WIDTH).await;

    // The push and the refused push are login events with the scopes asked for and granted.
    b.goto(&realm("/events/logins?type=DOCKER_TOKEN")).await;
    b.wait_for(r#"table#login-events tr[data-type="DOCKER_TOKEN"]"#)
        .await;

    // --- Sign out: B/ asks for the login again.
    b.goto(&realm("/")).await;
    b.wait_for("form#sign-out").await;
    b.submit("#sign-out").await;
    b.goto(&console("/")).await;
    b.wait_for_url("the master realm's login page after signing out", |u| {
        u.path().starts_with("/auth/realms/master/")
    })
    .await;
    b.wait_for("input#username").await;
    b.wait_for("input#password").await;

    browser.assert_accessible();
    browser.close().await;
}
