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
