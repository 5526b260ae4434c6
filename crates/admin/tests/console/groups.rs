//! A group's page: rename, move, delete with what it takes away, members and role mappings;
//! and what a viewer may not do.

use portcullis_testkit::{Browser, TestApp};

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

/// The id of the group at `path` (`team-a/backend`).
async fn group_id(app: &TestApp, path: &str) -> String {
    let token = app.admin_token().await;
    app.get(
        &format!("/auth/admin/realms/shop/group-by-path/{path}"),
        Some(&portcullis_testkit::bearer(&token)),
    )
    .await
    .json()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn page(browser: &mut Browser<'_>, realm: &str, id: &str) -> portcullis_testkit::Reply {
    let page = browser.get(&format!("{realm}/groups/{id}")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    page
}

#[tokio::test]
async fn renames_and_moves_a_group() {
    let app = app().await;
    let team_a = group_id(&app, "team-a").await;
    let backend = group_id(&app, "team-a/backend").await;
    let (mut browser, realm) = master(&app).await;
    let tree = browser.get(&format!("{realm}/groups")).await;
    assert!(
        tree.text()
            .contains(&format!(r#"href="{realm}/groups/{team_a}">team-a</a>"#)),
        "{}",
        tree.text()
    );
    let group = page(&mut browser, &realm, &team_a).await;
    assert!(group.text().contains("<h1>Group /team-a</h1>"));
    let rename = group.form_to("/name");
    let taken = browser.submit(&rename.clone().with("name", "team-b")).await;
    assert_eq!(taken.status.as_u16(), 400);
    assert!(
        taken.text().contains(r#"id="name-error""#),
        "{}",
        taken.text()
    );
    let slash = browser.submit(&rename.clone().with("name", "a/b")).await;
    assert_eq!(slash.status.as_u16(), 400);
    let renamed = post_with_csrf_checks(&mut browser, &rename.with("name", "alpha")).await;
    let group = follow_with_flash(&mut browser, &renamed).await;
    assert!(
        group.text().contains("<h1>Group /alpha</h1>"),
        "{}",
        group.text()
    );

    // Under its own subgroup: refused beside the field.
    let moving = group.form_to("/move");
    let inside = browser
        .submit(&moving.clone().with("parent", "/alpha/backend"))
        .await;
    assert_eq!(inside.status.as_u16(), 400);
    assert!(
        inside.text().contains(r#"id="parent-error""#),
        "{}",
        inside.text()
    );
    let unknown = browser
        .submit(&moving.clone().with("parent", "/nope"))
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains("There is no group /nope."));

    // The subgroup moves to the top level, then under /team-b.
    let sub = page(&mut browser, &realm, &backend).await;
    let moving = sub.form_to("/move");
    let moved = post_with_csrf_checks(&mut browser, &moving.clone().with("parent", "")).await;
    let sub = follow_with_flash(&mut browser, &moved).await;
    assert!(
        sub.text().contains("<h1>Group /backend</h1>"),
        "{}",
        sub.text()
    );
    let moved = browser.submit(&moving.with("parent", "team-b")).await;
    let sub = follow_with_flash(&mut browser, &moved).await;
    assert!(sub.text().contains("<h1>Group /team-b/backend</h1>"));
}

#[tokio::test]
async fn members_are_added_by_username_and_removed() {
    let app = app().await;
    let team_b = group_id(&app, "team-b").await;
    let (mut browser, realm) = master(&app).await;
    let group = page(&mut browser, &realm, &team_b).await;
    assert!(group.text().contains("/team-b has no direct members"));
    let add = group.form_to("/members");
    let unknown = browser
        .submit(&add.clone().with("username", "nobody"))
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains(r#"id="username-error""#));
    assert!(unknown.text().contains("There is no user nobody."));
    let added = post_with_csrf_checks(&mut browser, &add.with("username", "Carol")).await;
    let group = follow_with_flash(&mut browser, &added).await;
    assert!(group.text().contains(">carol</a>"), "{}", group.text());
    let remove = group.form_to("/remove");
    let removed = post_with_csrf_checks(&mut browser, &remove).await;
    let group = follow_with_flash(&mut browser, &removed).await;
    assert!(!group.text().contains(">carol</a>"));
}

#[tokio::test]
async fn group_role_mappings_reach_the_members() {
    let app = app().await;
    let team_a = group_id(&app, "team-a").await;
    let bob = app.user_id("shop", "bob").await;
    let (mut browser, realm) = master(&app).await;
    let group = page(&mut browser, &realm, &team_a).await;
    assert!(group.text().contains("No role is mapped to /team-a"));
    let map = group.form_to("/roles");
    let unknown = browser.submit(&map.clone().with("role", "nope")).await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains(r#"id="role-error""#));
    assert!(unknown.text().contains("There is no realm role nope."));
    let mapped = post_with_csrf_checks(&mut browser, &map.with("role", "ci")).await;
    let group = follow_with_flash(&mut browser, &mapped).await;
    assert!(group.text().contains("<td>ci</td>"), "{}", group.text());
    let roles = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert!(
        roles
            .text()
            .contains(r#"<tr data-role="ci"><td>ci</td><td>group /team-a</td></tr>"#),
        "{}",
        roles.text()
    );
    let remove = group.form_to("/remove");
    let removed = post_with_csrf_checks(&mut browser, &remove).await;
    let group = follow_with_flash(&mut browser, &removed).await;
    assert!(group.text().contains("No role is mapped to /team-a"));
    let roles = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert!(!roles.text().contains(r#"data-role="ci""#));
}

#[tokio::test]
async fn deleting_a_group_says_what_it_takes_away() {
    let app = app().await;
    let team_a = group_id(&app, "team-a").await;
    let (mut browser, realm) = master(&app).await;
    let confirm = browser
        .get(&format!("{realm}/groups/{team_a}/delete"))
        .await;
    assert_eq!(confirm.status.as_u16(), 200);
    let text = confirm.text();
    assert!(text.contains("Delete group /team-a?"), "{text}");
    assert!(
        text.contains("Its 1 subgroup is deleted with it."),
        "{text}"
    );
    assert!(
        text.contains("1 member (of the group or a subgroup)"),
        "{text}"
    );
    let deleted = post_with_csrf_checks(&mut browser, &confirm.form_to("/delete")).await;
    let tree = follow_with_flash(&mut browser, &deleted).await;
    assert!(!tree.text().contains(">team-a</a>"), "{}", tree.text());
    let gone = browser.get(&format!("{realm}/groups/{team_a}")).await;
    assert_eq!(gone.status.as_u16(), 404);
}

#[tokio::test]
async fn group_forms_are_refused_to_viewers() {
    let app = app().await;
    let team_a = group_id(&app, "team-a").await;
    let bob = app.user_id("shop", "bob").await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let group = page(&mut viewer, &realm, &team_a).await;
    assert!(!group.text().contains(r#"id="rename-group""#));
    assert!(!group.text().contains(r#"id="add-member""#));
    let csrf = group.form_to("/logout").field("csrf").unwrap().to_string();
    let csrf = csrf.as_str();
    let g = format!("{realm}/groups/{team_a}");
    for (path, fields) in [
        (format!("{g}/name"), vec![("csrf", csrf), ("name", "x")]),
        (
            format!("{g}/move"),
            vec![("csrf", csrf), ("parent", "/team-b")],
        ),
        (
            format!("{g}/members"),
            vec![("csrf", csrf), ("username", "carol")],
        ),
        (format!("{g}/members/{bob}/remove"), vec![("csrf", csrf)]),
        (format!("{g}/roles"), vec![("csrf", csrf), ("role", "ci")]),
        (format!("{g}/delete"), vec![("csrf", csrf)]),
    ] {
        let refused = viewer.post(&path, &fields).await;
        assert_eq!(refused.status.as_u16(), 403, "{path}: {}", refused.text());
    }
    let confirm = viewer.get(&format!("{g}/delete")).await;
    assert_eq!(confirm.status.as_u16(), 403);
    let (mut admin, realm) = master(&app).await;
    let still = page(&mut admin, &realm, &team_a).await;
    assert!(still.text().contains("<h1>Group /team-a</h1>"));
}

/// Gives `registry.shop.test` a client role `deployer`; returns the client's id.
async fn with_client_role(app: &TestApp) -> String {
    let token = app.admin_token().await;
    let auth = portcullis_testkit::bearer(&token);
    let clients = app
        .get(
            "/auth/admin/realms/shop/clients?clientId=registry.shop.test",
            Some(&auth),
        )
        .await;
    let client = clients.json()[0]["id"].as_str().unwrap().to_string();
    let created = app
        .post_json(
            &format!("/auth/admin/realms/shop/clients/{client}/roles"),
            Some(&auth),
            &serde_json::json!({"name": "deployer"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    client
}

#[tokio::test]
async fn group_client_role_mappings_are_chosen_by_client_then_role() {
    let app = app().await;
    let client = with_client_role(&app).await;
    let team_a = group_id(&app, "team-a").await;
    let bob = app.user_id("shop", "bob").await;
    let (mut browser, realm) = master(&app).await;
    let group = page(&mut browser, &realm, &team_a).await;
    let text = group.text();
    assert!(
        text.contains("No client role is mapped to /team-a"),
        "{text}"
    );
    assert!(text.contains(r#"<form id="choose-client" class="card" method="get""#));
    assert!(text.contains(r#"<option value="registry.shop.test">registry.shop.test</option>"#));
    assert!(
        !text.contains(r#"id="map-group-client-role""#),
        "no role list before a client"
    );

    // Step one: the client, by a plain GET.
    let unknown = browser
        .get(&format!("{realm}/groups/{team_a}?client=nope"))
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(
        unknown
            .text()
            .contains(r#"aria-invalid="true" aria-describedby="client-error""#),
        "{}",
        unknown.text()
    );
    assert!(unknown.text().contains("There is no client nope."));
    let chosen = page(
        &mut browser,
        &realm,
        &format!("{team_a}?client=registry.shop.test"),
    )
    .await;
    let text = chosen.text();
    assert!(
        text.contains(r#"<option value="registry.shop.test" selected>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"<option value="deployer">deployer</option>"#),
        "{text}"
    );

    // Step two: one of its roles.
    let form = chosen.form_to("/client-roles");
    assert_eq!(form.field("client"), Some("registry.shop.test"));
    let wrong = browser.submit(&form.clone().with("role", "nope")).await;
    assert_eq!(wrong.status.as_u16(), 400);
    assert!(
        wrong
            .text()
            .contains(r#"aria-invalid="true" aria-describedby="client-role-error""#),
        "{}",
        wrong.text()
    );
    assert!(
        wrong
            .text()
            .contains("registry.shop.test has no role nope.")
    );
    let no_client = browser
        .submit(&form.clone().with("client", "nope").with("role", "deployer"))
        .await;
    assert_eq!(no_client.status.as_u16(), 400);
    assert!(no_client.text().contains(r#"id="client-error""#));
    let realm_role = browser.submit(&form.clone().with("role", "ci")).await;
    assert_eq!(
        realm_role.status.as_u16(),
        400,
        "a realm role is not the client's"
    );

    let mapped = post_with_csrf_checks(&mut browser, &form.with("role", "deployer")).await;
    let group = follow_with_flash(&mut browser, &mapped).await;
    let text = group.text();
    assert!(
        text.contains(r#"<tr data-role="registry.shop.test.deployer"><td>registry.shop.test</td><td>deployer</td>"#),
        "{text}"
    );
    assert!(
        text.contains("No role is mapped to /team-a"),
        "not a realm role"
    );

    // The members hold it, and the REST API sees the same mapping.
    let roles = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert!(
        roles.text().contains(
            r#"<tr data-role="registry.shop.test.deployer"><td>registry.shop.test.deployer</td><td>group /team-a</td></tr>"#
        ),
        "{}",
        roles.text()
    );
    let token = app.admin_token().await;
    let rest = app
        .get(
            &format!("/auth/admin/realms/shop/groups/{team_a}/role-mappings/clients/{client}"),
            Some(&portcullis_testkit::bearer(&token)),
        )
        .await;
    assert_eq!(rest.json()[0]["name"], "deployer", "{}", rest.text());

    let remove = group.form_to("/remove");
    let removed = post_with_csrf_checks(&mut browser, &remove).await;
    let group = follow_with_flash(&mut browser, &removed).await;
    assert!(group.text().contains("No client role is mapped to /team-a"));
    let roles = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert!(!roles.text().contains("registry.shop.test.deployer"));
}

#[tokio::test]
async fn group_client_role_mappings_are_refused_to_viewers() {
    let app = app().await;
    with_client_role(&app).await;
    let team_a = group_id(&app, "team-a").await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let group = page(
        &mut viewer,
        &realm,
        &format!("{team_a}?client=registry.shop.test"),
    )
    .await;
    assert!(!group.text().contains(r#"id="choose-client""#));
    assert!(!group.text().contains(r#"id="map-group-client-role""#));
    let csrf = group.form_to("/logout").field("csrf").unwrap().to_string();
    let fields = [
        ("csrf", csrf.as_str()),
        ("client", "registry.shop.test"),
        ("role", "deployer"),
    ];
    let refused = viewer
        .post(&format!("{realm}/groups/{team_a}/client-roles"), &fields)
        .await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text());

    let (mut admin, realm) = master(&app).await;
    let still = page(&mut admin, &realm, &team_a).await;
    assert!(still.text().contains("No client role is mapped to /team-a"));
}
