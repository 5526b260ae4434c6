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

#[tokio::test]
async fn role_mappings_show_effective_roles_and_where_they_come_from() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let bob = app.user_id("shop", "bob").await;
    let tab = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert_eq!(tab.status.as_u16(), 200);
    assert!(tab.text().contains("No role is mapped to bob directly"));
    let form = tab.form_to("/roles");
    let unknown = browser.submit(&form.clone().with("role", "nope")).await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains(r#"aria-describedby="role-error""#));
    assert!(unknown.text().contains("There is no role nope."));
    let mapped = post_with_csrf_checks(&mut browser, &form.clone().with("role", "ci")).await;
    let tab = follow_with_flash(&mut browser, &mapped).await;
    assert!(
        tab.text()
            .contains(r#"<tr data-role="ci"><td>ci</td><td>direct</td></tr>"#),
        "{}",
        tab.text()
    );
    // A client role by `clientId.role`, and its composites show where they come from.
    let mapped = browser
        .submit(&form.with("role", "realm-management.view-users"))
        .await;
    let tab = follow_with_flash(&mut browser, &mapped).await;
    let text = tab.text();
    assert!(
        text.contains("<td>realm-management.view-users</td><td>client role</td>"),
        "{text}"
    );
    assert!(
        text.contains(r#"<td>realm-management.query-users</td><td>composite of realm-management.view-users ← direct</td>"#),
        "{text}"
    );
    let remove = tab.form_to("/remove");
    let removed = post_with_csrf_checks(&mut browser, &remove).await;
    let tab = follow_with_flash(&mut browser, &removed).await;
    assert!(!tab.text().contains(r#"data-role="ci""#), "{}", tab.text());
}

#[tokio::test]
async fn sessions_end_one_at_a_time_or_everywhere() {
    let app = app().await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let viewer_home = format!("{base}/realms/shop/users");
    assert_eq!(viewer.get(&viewer_home).await.status.as_u16(), 200);
    let (mut browser, realm) = master(&app).await;
    let id = app.user_id("shop", "viewer").await;
    let tab = browser.get(&format!("{realm}/users/{id}/sessions")).await;
    assert!(tab.text().contains(r#"id="sessions""#), "{}", tab.text());
    let end = tab.form_to("/end");
    let ended = post_with_csrf_checks(&mut browser, &end).await;
    let tab = follow_with_flash(&mut browser, &ended).await;
    assert!(tab.text().contains("has no live session"), "{}", tab.text());
    assert_ne!(
        viewer.get(&viewer_home).await.status.as_u16(),
        200,
        "the viewer's console session ended with its SSO session"
    );
    // Everywhere: the docker password grant stops working too.
    let bob = app.user_id("shop", "bob").await;
    let login = docker_login(&app).await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.text());
    let tab = browser.get(&format!("{realm}/users/{bob}/sessions")).await;
    let everywhere =
        post_with_csrf_checks(&mut browser, &tab.form_to(&format!("{bob}/logout"))).await;
    follow_with_flash(&mut browser, &everywhere).await;
    let logins = browser.get(&format!("{realm}/users/{bob}/logins")).await;
    assert!(
        logins.text().contains("has no live docker login"),
        "{}",
        logins.text()
    );
}

async fn docker_login(app: &portcullis_testkit::TestApp) -> portcullis_testkit::Reply {
    let form = [
        ("grant_type", "password"),
        ("username", "bob"),
        ("password", PASSWORD),
        ("service", "registry.shop.test"),
        ("client_id", "docker"),
        ("access_type", "offline"),
    ];
    app.post_form("/auth/realms/shop/protocol/docker-v2/auth", None, &form)
        .await
}

#[tokio::test]
async fn docker_logins_are_listed_and_revoked() {
    let app = app().await;
    let login = docker_login(&app).await;
    assert_eq!(login.status.as_u16(), 200, "{}", login.text());
    let (mut browser, realm) = master(&app).await;
    let bob = app.user_id("shop", "bob").await;
    let tab = browser.get(&format!("{realm}/users/{bob}/logins")).await;
    assert!(
        tab.text().contains("<td>registry.shop.test</td>"),
        "{}",
        tab.text()
    );
    let revoke = tab.form_to("/revoke");
    let revoked = post_with_csrf_checks(&mut browser, &revoke).await;
    let tab = follow_with_flash(&mut browser, &revoked).await;
    assert!(
        tab.text().contains("has no live docker login"),
        "{}",
        tab.text()
    );
}

#[tokio::test]
async fn brute_force_status_and_unlock() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let bob = app.user_id("shop", "bob").await;
    let tab = browser.get(&format!("{realm}/users/{bob}/attack")).await;
    assert!(
        tab.text().contains("No failed login is counted"),
        "{}",
        tab.text()
    );
    let realm_id = app.realm_id("shop").await;
    for _ in 0..3 {
        let failure = portcullis_store::FailureAt {
            realm_id: &realm_id,
            user_id: &bob,
            now_ms: (app.now() - 5) * 1000,
            ip: Some("10.0.0.7"),
            forget_after_ms: None,
        };
        app.store.count_login_failure(failure).await.unwrap();
    }
    app.store
        .lock_user(&realm_id, &bob, app.now() + 60)
        .await
        .unwrap();
    let tab = browser.get(&format!("{realm}/users/{bob}/attack")).await;
    let text = tab.text();
    assert!(
        text.contains(r#"<span class="badge off">locked</span>"#),
        "{text}"
    );
    assert!(
        text.contains("<dd>3</dd>") && text.contains("from 10.0.0.7"),
        "{text}"
    );
    let unlocked = post_with_csrf_checks(&mut browser, &tab.form_to("/unlock")).await;
    let tab = follow_with_flash(&mut browser, &unlocked).await;
    assert!(tab.text().contains("not locked"), "{}", tab.text());
}

#[tokio::test]
async fn deleting_a_user_needs_the_username_typed() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let carol = app.user_id("shop", "carol").await;
    let page = browser.get(&format!("{realm}/users/{carol}")).await;
    let form = page.form_to("/delete");
    let wrong = browser.submit(&form.clone().with("confirm", "bob")).await;
    assert_eq!(wrong.status.as_u16(), 400);
    assert!(wrong.text().contains(r#"aria-describedby="confirm-error""#));
    assert!(wrong.text().contains("Type carol to confirm."));
    let deleted = post_with_csrf_checks(&mut browser, &form.with("confirm", "carol")).await;
    let list = follow_with_flash(&mut browser, &deleted).await;
    assert!(!list.text().contains(">carol</a>"), "{}", list.text());
    let gone = browser.get(&format!("{realm}/users/{carol}")).await;
    assert_eq!(gone.status.as_u16(), 404);
}

#[tokio::test]
async fn user_tab_forms_are_refused_to_viewers() {
    let app = app().await;
    let login = docker_login(&app).await;
    assert_eq!(login.status.as_u16(), 200);
    let bob = app.user_id("shop", "bob").await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let user = format!("{base}/realms/shop/users/{bob}");
    for tab in ["roles", "sessions", "logins", "attack"] {
        let page = viewer.get(&format!("{user}/{tab}")).await;
        assert_eq!(page.status.as_u16(), 200, "{tab}: {}", page.text());
        assert!(
            !page
                .text()
                .contains("<button type=\"submit\" class=\"secondary\""),
            "{tab}: no actions"
        );
    }
    let logins = viewer.get(&format!("{user}/logins")).await;
    assert!(logins.text().contains("<td>registry.shop.test</td>"));
    let details = viewer.get(&user).await;
    assert!(!details.text().contains(r#"id="delete-user""#));
    let csrf = details
        .form_to("/logout")
        .field("csrf")
        .unwrap()
        .to_string();
    let csrf = csrf.as_str();
    let ci = {
        let token = app.admin_token().await;
        app.get(
            "/auth/admin/realms/shop/roles/ci",
            Some(&portcullis_testkit::bearer(&token)),
        )
        .await
        .json()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (path, fields) in [
        (
            format!("{user}/roles"),
            vec![("csrf", csrf), ("role", "ci")],
        ),
        (format!("{user}/roles/{ci}/remove"), vec![("csrf", csrf)]),
        (format!("{user}/logout"), vec![("csrf", csrf)]),
        (format!("{user}/unlock"), vec![("csrf", csrf)]),
        (
            format!("{user}/delete"),
            vec![("csrf", csrf), ("confirm", "bob")],
        ),
        (format!("{user}/sessions/nope/end"), vec![("csrf", csrf)]),
        (format!("{user}/logins/nope/revoke"), vec![("csrf", csrf)]),
    ] {
        let refused = viewer.post(&path, &fields).await;
        assert_eq!(refused.status.as_u16(), 403, "{path}: {}", refused.text());
    }
    let logins = viewer.get(&format!("{user}/logins")).await;
    assert!(
        logins.text().contains("<td>registry.shop.test</td>"),
        "the login lives on"
    );
}
