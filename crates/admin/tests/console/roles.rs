//! Roles: list realm and client roles, create, composites, users in role (through groups and
//! composites), delete; and what a viewer may not do.

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

#[tokio::test]
async fn creates_a_realm_role_and_shows_field_errors() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let list = browser.get(&format!("{realm}/roles")).await;
    assert_eq!(list.status.as_u16(), 200);
    assert!(list.text().contains(">ci</a>"), "{}", list.text());
    // The client picker is a GET form to the same address: the create form is the one with a
    // CSRF token.
    let form = list
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with("/roles") && f.field("csrf").is_some())
        .unwrap();
    let empty = browser.submit(&form.clone().with("name", " ")).await;
    assert_eq!(empty.status.as_u16(), 400);
    assert!(
        empty.text().contains(r#"aria-describedby="name-error""#),
        "{}",
        empty.text()
    );
    let taken = browser.submit(&form.clone().with("name", "ci")).await;
    assert_eq!(taken.status.as_u16(), 400);
    assert!(
        taken.text().contains("Role with name ci already exists"),
        "{}",
        taken.text()
    );
    let good = form.with("name", "lead").with("description", "Team leads");
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &created).await;
    assert!(
        page.text().contains("<h1>Role lead</h1>"),
        "{}",
        page.text()
    );
    assert!(page.text().contains("Team leads"));
    let list = browser.get(&format!("{realm}/roles")).await;
    assert!(list.text().contains(">lead</a>"));
}

#[tokio::test]
async fn lists_client_roles_by_client_id() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let roles = browser
        .get(&format!("{realm}/roles?client=realm-management"))
        .await;
    assert_eq!(roles.status.as_u16(), 200);
    assert!(roles.text().contains(">view-users</a>"), "{}", roles.text());
    assert!(!roles.text().contains(">ci</a>"));
    assert!(
        !roles.text().contains(r#"id="create-role""#),
        "client roles are created on the client's page"
    );
    let unknown = browser.get(&format!("{realm}/roles?client=nope")).await;
    assert!(unknown.text().contains(r#"id="client-error""#));
    assert!(unknown.text().contains("There is no client nope."));
}

#[tokio::test]
async fn composites_and_users_in_role_through_groups_and_composites() {
    let app = app().await;
    let token = app.admin_token().await;
    let auth = portcullis_testkit::bearer(&token);
    let created = app
        .post_json(
            "/auth/admin/realms/shop/roles",
            Some(&auth),
            &serde_json::json!({"name": "lead"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201);
    // Bob's group's parent carries `lead`.
    let team_a = app
        .get("/auth/admin/realms/shop/group-by-path/team-a", Some(&auth))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mapped = app
        .post_json(
            &format!("/auth/admin/realms/shop/groups/{team_a}/role-mappings/realm"),
            Some(&auth),
            &serde_json::json!([{"name": "lead"}]),
        )
        .await;
    assert_eq!(mapped.status.as_u16(), 204);

    let (mut browser, realm) = master(&app).await;
    let list = browser.get(&format!("{realm}/roles")).await;
    let text = list.text();
    let at = text.find(">lead</a>").unwrap();
    let href = &text[text[..at].rfind("href=\"").unwrap() + 6..at - 1];
    let lead = browser.get(href).await;
    assert!(lead.text().contains("contains no other role"));
    let form = lead.form_to("/composites");
    let unknown = browser
        .submit(&form.clone().with("composite", "nope"))
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains(r#"id="composite-error""#));
    assert!(unknown.text().contains("There is no role nope."));
    let added = post_with_csrf_checks(&mut browser, &form.with("composite", "ci")).await;
    let lead = follow_with_flash(&mut browser, &added).await;
    assert!(lead.text().contains(">ci</a>"), "{}", lead.text());
    // `lead` is held by bob through /team-a (he is in /team-a/backend).
    assert!(lead.text().contains(">bob</a>"), "{}", lead.text());
    assert!(lead.text().contains("group /team-a"), "{}", lead.text());

    // `ci`: carol directly, bob through the composite; Keycloak would list carol only.
    let list = browser.get(&format!("{realm}/roles")).await;
    let text = list.text();
    let at = text.find(">ci</a>").unwrap();
    let href = &text[text[..at].rfind("href=\"").unwrap() + 6..at - 1];
    let ci = browser.get(href).await;
    let text = ci.text();
    assert!(text.contains(">carol</a></td><td>direct</td>"), "{text}");
    assert!(
        text.contains(">bob</a></td><td>composite of lead ← group /team-a</td>"),
        "{text}"
    );

    // Removing the composite takes bob out of `ci`.
    let lead_page = browser
        .get(&format!(
            "{realm}/roles/{}",
            app.get("/auth/admin/realms/shop/roles/lead", Some(&auth))
                .await
                .json()["id"]
                .as_str()
                .unwrap()
        ))
        .await;
    let remove = lead_page.form_to("/remove");
    let removed = post_with_csrf_checks(&mut browser, &remove).await;
    let lead_page = follow_with_flash(&mut browser, &removed).await;
    assert!(lead_page.text().contains("contains no other role"));
    let ci = browser.get(href).await;
    assert!(!ci.text().contains(">bob</a>"), "{}", ci.text());
}

#[tokio::test]
async fn deletes_a_role_after_confirmation() {
    let app = app().await;
    let token = app.admin_token().await;
    let auth = portcullis_testkit::bearer(&token);
    let ci = app
        .get("/auth/admin/realms/shop/roles/ci", Some(&auth))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut browser, realm) = master(&app).await;
    let confirm = browser.get(&format!("{realm}/roles/{ci}/delete")).await;
    assert_eq!(confirm.status.as_u16(), 200);
    assert!(confirm.text().contains("Delete role ci?"));
    let form = confirm.form_to("/delete");
    let deleted = post_with_csrf_checks(&mut browser, &form).await;
    let list = follow_with_flash(&mut browser, &deleted).await;
    assert!(!list.text().contains(">ci</a>"), "{}", list.text());
    let gone = app
        .get("/auth/admin/realms/shop/roles/ci", Some(&auth))
        .await;
    assert_eq!(gone.status.as_u16(), 404);
}

#[tokio::test]
async fn role_forms_are_refused_to_viewers() {
    let app = app().await;
    let token = app.admin_token().await;
    let auth = portcullis_testkit::bearer(&token);
    let ci = app
        .get("/auth/admin/realms/shop/roles/ci", Some(&auth))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let list = viewer.get(&format!("{realm}/roles")).await;
    assert_eq!(list.status.as_u16(), 200);
    assert!(list.text().contains(">ci</a>"));
    assert!(!list.text().contains(r#"id="create-role""#));
    let page = viewer.get(&format!("{realm}/roles/{ci}")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(!page.text().contains(r#"id="add-composite""#));
    assert!(
        page.text().contains(">carol</a>"),
        "viewers see the holders"
    );
    let csrf = list.form_to("/logout").field("csrf").unwrap().to_string();
    let csrf = csrf.as_str();
    for (path, fields) in [
        (
            format!("{realm}/roles"),
            vec![("csrf", csrf), ("name", "mallory")],
        ),
        (
            format!("{realm}/roles/{ci}/composites"),
            vec![("csrf", csrf), ("composite", "nope")],
        ),
        (format!("{realm}/roles/{ci}/delete"), vec![("csrf", csrf)]),
    ] {
        let refused = viewer.post(&path, &fields).await;
        assert_eq!(refused.status.as_u16(), 403, "{path}: {}", refused.text());
    }
    let confirm = viewer.get(&format!("{realm}/roles/{ci}/delete")).await;
    assert_eq!(confirm.status.as_u16(), 403);
    let still = app
        .get("/auth/admin/realms/shop/roles/ci", Some(&auth))
        .await;
    assert_eq!(still.status.as_u16(), 200);
}
