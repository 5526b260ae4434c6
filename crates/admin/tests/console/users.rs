//! Users and groups: create, search, join a group, registry access, password, enable.

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

#[tokio::test]
async fn creates_a_user_and_shows_field_errors() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/users/new")).await;
    let form = page.form_to("/users");
    let taken = browser.submit(&form.clone().with("username", "bob")).await;
    assert_eq!(taken.status.as_u16(), 400);
    assert!(
        taken
            .text()
            .contains(r#"aria-describedby="username-error""#)
    );
    let weak = app
        .put_json(
            "/auth/admin/realms/shop",
            Some(&portcullis_testkit::bearer(&app.admin_token().await)),
            &serde_json::json!({"passwordPolicy": "length(12)"}),
        )
        .await;
    assert_eq!(weak.status.as_u16(), 204);
    let short = browser
        .submit(
            &form
                .clone()
                .with("username", "dave")
                .with("password", "short"),
        )
        .await;
    assert_eq!(short.status.as_u16(), 400);
    assert!(
        short.text().contains(r#"id="password-error""#),
        "{}",
        short.text()
    );
    let good = form
        .with("username", "Dave")
        .with("email", "dave@shop.test")
        .with("password", "a-long-enough-password");
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let user = follow_with_flash(&mut browser, &created).await;
    assert!(user.text().contains("<h1>dave"), "{}", user.text());
    let search = browser.get(&format!("{realm}/users?q=da")).await;
    assert!(search.text().contains(">dave</a>"));
    let none = browser.get(&format!("{realm}/users?q=zzz")).await;
    assert!(none.text().contains("No user matches"));
}

#[tokio::test]
async fn users_page_by_keyset() {
    let app = app().await;
    let token = app.admin_token().await;
    for i in 0..55 {
        let created = app
            .post_json(
                "/auth/admin/realms/shop/users",
                Some(&portcullis_testkit::bearer(&token)),
                &serde_json::json!({"username": format!("u{i:03}"), "enabled": true}),
            )
            .await;
        assert_eq!(created.status.as_u16(), 201);
    }
    let (mut browser, realm) = master(&app).await;
    let first = browser.get(&format!("{realm}/users?q=u")).await;
    assert!(first.text().contains(">u000</a>") && first.text().contains(">u049</a>"));
    assert!(!first.text().contains(">u050</a>"));
    let text = first.text();
    let at = text.find("Next page").unwrap();
    let href = &text[text[..at].rfind("href=\"").unwrap() + 6..at];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = browser.get(&href).await;
    assert!(second.text().contains(">u050</a>") && second.text().contains(">u054</a>"));
    assert!(!second.text().contains(">u049</a>"));
}

#[tokio::test]
async fn joining_a_group_shows_on_the_registry_access_tab() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let carol = app.user_id("shop", "carol").await;
    let access = browser.get(&format!("{realm}/users/{carol}/access")).await;
    assert!(
        access.text().contains("gets nothing from any registry"),
        "{}",
        access.text()
    );
    let groups = browser.get(&format!("{realm}/users/{carol}/groups")).await;
    let form = groups.form_to("/groups");
    let unknown = browser.submit(&form.clone().with("group", "/nope")).await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains("There is no group /nope"));
    let joined = post_with_csrf_checks(&mut browser, &form.with("group", "/team-a")).await;
    follow_with_flash(&mut browser, &joined).await;
    let access = browser.get(&format!("{realm}/users/{carol}/access")).await;
    let text = access.text();
    assert!(
        text.contains(r#"data-registry="registry.shop.test" data-pattern="team-a/**" data-actions="pull,push""#),
        "{text}"
    );
    assert!(text.contains("group /team-a"), "{text}");
    // Bob is in a subgroup: the path says so.
    let bob = app.user_id("shop", "bob").await;
    let access = browser.get(&format!("{realm}/users/{bob}/access")).await;
    assert!(
        access
            .text()
            .contains("group /team-a ← member of /team-a/backend"),
        "{}",
        access.text()
    );
}

#[tokio::test]
async fn resetting_a_password_and_disabling_end_the_users_docker_logins() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let bob = app.user_id("shop", "bob").await;
    let page = browser.get(&format!("{realm}/users/{bob}")).await;
    let reset = page.form_to("/password").with("password", "new-password-2");
    let done = post_with_csrf_checks(&mut browser, &reset).await;
    follow_with_flash(&mut browser, &done).await;
    let old = app
        .get(
            "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test",
            Some(&portcullis_testkit::basic("bob", PASSWORD)),
        )
        .await;
    assert_eq!(old.status.as_u16(), 401, "the old password is gone");
    let page = browser.get(&format!("{realm}/users/{bob}")).await;
    let disable = page.form_to("/enabled");
    assert_eq!(disable.field("enabled"), Some("false"));
    let done = browser.submit(&disable).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(page.text().contains("badge off"));
}

#[tokio::test]
async fn group_tree_creates_and_pages_children() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let top = browser.get(&format!("{realm}/groups")).await;
    assert!(
        top.text().contains("team-a") && top.text().contains("1 subgroups"),
        "{}",
        top.text()
    );
    let form = top.form_to("/groups");
    let dup = browser.submit(&form.clone().with("name", "team-a")).await;
    assert_eq!(dup.status.as_u16(), 400);
    assert!(dup.text().contains(r#"id="name-error""#));
    let slash = browser.submit(&form.clone().with("name", "a/b")).await;
    assert_eq!(slash.status.as_u16(), 400);
    let created = post_with_csrf_checks(&mut browser, &form.with("name", "team-c")).await;
    let page = follow_with_flash(&mut browser, &created).await;
    assert!(page.text().contains("team-c"));
}

#[tokio::test]
async fn user_forms_are_refused_to_viewers() {
    let app = app().await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let list = viewer.get(&format!("{base}/realms/shop/users")).await;
    assert_eq!(list.status.as_u16(), 200);
    assert!(!list.text().contains("Create user"));
    let new = viewer.get(&format!("{base}/realms/shop/users/new")).await;
    assert_eq!(new.status.as_u16(), 403);
    let csrf = list.form_to("/logout").field("csrf").unwrap().to_string();
    let post = viewer
        .post(
            &format!("{base}/realms/shop/users"),
            &[("csrf", csrf.as_str()), ("username", "mallory")],
        )
        .await;
    assert_eq!(post.status.as_u16(), 403, "{}", post.text());
    let bob = app.user_id("shop", "bob").await;
    let post = viewer
        .post(
            &format!("{base}/realms/shop/users/{bob}/groups"),
            &[("csrf", csrf.as_str()), ("group", "/team-b")],
        )
        .await;
    assert_eq!(post.status.as_u16(), 403);
}
