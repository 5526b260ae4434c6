//! Registries: create, rules with access diff, try it, setup, logins.

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

#[tokio::test]
async fn creates_a_registry_and_refuses_a_bad_one() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/registries/new")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let form = page.form_to("/registries");

    let empty = browser.submit(&form.clone().with("service", " ")).await;
    assert_eq!(empty.status.as_u16(), 400);
    assert!(
        empty.text().contains(r#"aria-describedby="service-error""#),
        "{}",
        empty.text()
    );
    let taken = browser
        .submit(&form.clone().with("service", "registry.shop.test"))
        .await;
    assert_eq!(taken.status.as_u16(), 400);
    assert!(taken.text().contains("already exists"), "{}", taken.text());
    let bad_lifespan = form
        .clone()
        .with("service", "other.test")
        .with("tokenLifespan", "soon");
    let refused = browser.submit(&bad_lifespan).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.text().contains(r#"id="tokenLifespan-error""#),
        "{}",
        refused.text()
    );

    let good = form
        .with("service", "new.shop.test")
        .with("algorithm", "ES256");
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let rules = follow_with_flash(&mut browser, &created).await;
    assert!(rules.text().contains("new.shop.test"));
    assert!(rules.text().contains("No rules"), "an empty state");
    let list = browser.get(&format!("{realm}/registries")).await;
    assert_eq!(
        list.text().matches("new.shop.test").count(),
        1,
        "created once"
    );
}

/// The registry's rules page for the master admin.
async fn rules_page(browser: &mut portcullis_testkit::Browser<'_>, realm: &str) -> String {
    let list = browser.get(&format!("{realm}/registries")).await;
    let text = list.text();
    let end = text.find("/rules\"").expect("a link to a registry's rules") + "/rules".len();
    let start = text[..end].rfind('"').unwrap() + 1;
    text[start..end].to_string()
}

#[tokio::test]
async fn a_rule_is_previewed_with_its_access_diff_and_saved_only_on_confirm() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let page = browser.get(&rules).await;
    let form = page
        .form_to("/rules/preview")
        .without("actions")
        .with("pattern", "team-b/**")
        .with("subjectKind", "group")
        .with("subject", "/team-a");
    let mut form = form;
    form.fields.push(("actions".into(), "push".into()));

    let preview = browser.submit(&form).await;
    assert_eq!(preview.status.as_u16(), 200, "{}", preview.text());
    let text = preview.text();
    assert!(text.contains(r#"id="access-diff""#));
    assert!(text.contains("+push on team-b/** for 1 user"), "{text}");
    assert!(text.contains("+pull on team-b/** for 1 user"), "{text}");
    // Nothing saved yet.
    let unchanged = browser.get(&rules).await;
    assert!(!unchanged.text().contains("team-b/**"));

    let confirm = preview.form_to("/rules");
    let saved = post_with_csrf_checks(&mut browser, &confirm).await;
    let after = follow_with_flash(&mut browser, &saved).await;
    assert!(
        after.text().contains("<code>team-b/**</code>"),
        "{}",
        after.text()
    );

    // Deleting previews the loss first.
    let delete = after
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with("/delete"))
        .unwrap();
    let review = browser.submit(&delete).await;
    assert!(
        review.text().contains("−push on team-a/** for 1 user")
            || review.text().contains("−push on team-b/** for 1 user"),
        "{}",
        review.text()
    );
    let gone = browser.submit(&review.form_to("/delete")).await;
    follow_with_flash(&mut browser, &gone).await;
}

#[tokio::test]
async fn a_bad_rule_is_shown_beside_its_field() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let page = browser.get(&rules).await;
    let form = page
        .form_to("/rules/preview")
        .without("actions")
        .with("pattern", "team-a/**")
        .with("subjectKind", "group");
    let no_actions = browser
        .submit(&form.clone().with("subject", "/team-a"))
        .await;
    assert_eq!(no_actions.status.as_u16(), 400);
    assert!(
        no_actions.text().contains(r#"id="actions-error""#),
        "{}",
        no_actions.text()
    );
    let mut no_subject = form.clone();
    no_subject.fields.push(("actions".into(), "pull".into()));
    let refused = browser.submit(&no_subject).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused
            .text()
            .contains(r#"aria-describedby="subject-hint subject-error""#)
    );
    let mut bad_pattern = form
        .with("subject", "/team-a")
        .with("pattern", "a/${nope}/**");
    bad_pattern.fields.push(("actions".into(), "pull".into()));
    let refused = browser.submit(&bad_pattern).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
    assert!(refused.text().contains(r#"id="pattern-error""#));
}

#[tokio::test]
async fn try_it_answers_as_the_token_endpoint_does() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let try_url = rules.replace("/rules", "/try");
    let scopes = "repository:team-a/api:push\nrepository:team-b/api:push";
    let query = serde_urlencoded::to_string([("username", "bob"), ("scope", scopes)]).unwrap();
    let page = browser.get(&format!("{try_url}?{query}")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert!(
        text.contains(r#"data-scope="repository:team-a/api:push" data-granted="push""#),
        "{text}"
    );
    assert!(
        text.contains(r#"data-scope="repository:team-b/api:push" data-granted="""#),
        "{text}"
    );
    assert!(
        text.contains("Miss: team-a pushes — the name does not match the pattern"),
        "{text}"
    );

    // The token endpoint agrees.
    let token = app
        .get(
            "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test&scope=repository:team-a/api:push&scope=repository:team-b/api:push",
            Some(&portcullis_testkit::basic("bob", PASSWORD)),
        )
        .await;
    let jwt = token.json()["token"].as_str().unwrap().to_string();
    let access = portcullis_testkit::jwt::claims(&jwt)["access"].clone();
    assert_eq!(access[0]["actions"], serde_json::json!(["push"]));
    assert_eq!(access[1]["actions"], serde_json::json!([]));

    let anonymous = browser
        .get(&format!("{try_url}?scope=repository:team-a/api:pull"))
        .await;
    assert!(anonymous.text().contains(r#"data-granted="""#));
    let unknown = browser
        .get(&format!("{try_url}?username=ghost&scope=repository:a:pull"))
        .await;
    assert_eq!(unknown.status.as_u16(), 400);
    assert!(unknown.text().contains("There is no user ghost"));
    let bad = browser.get(&format!("{try_url}?scope=nonsense")).await;
    assert_eq!(bad.status.as_u16(), 400);
}

#[tokio::test]
async fn setup_shows_the_registry_configuration() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let setup = browser.get(&rules.replace("/rules", "/setup")).await;
    assert_eq!(setup.status.as_u16(), 200);
    let text = setup.text();
    assert!(
        text.contains("service: &quot;registry.shop.test&quot;"),
        "{text}"
    );
    assert!(text.contains("/protocol/docker-v2/clients/registry.shop.test/bundle.pem"));
    assert!(text.contains("docker login registry.shop.test"));
}

#[tokio::test]
async fn rules_are_refused_to_admins_without_manage_clients() {
    let app = app().await;
    let (mut admin, realm) = master(&app).await;
    let rules = rules_page(&mut admin, &realm).await;
    let form = admin
        .get(&rules)
        .await
        .form_to("/rules/preview")
        .without("actions");
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let page = viewer.get(&format!("{base}/realms/shop/registries")).await;
    assert_eq!(page.status.as_u16(), 200, "viewer sees the list");
    assert!(
        !page.text().contains("Create registry"),
        "but no create button"
    );
    // The viewer's own CSRF token, and the admin's form: refused by the operation.
    let own = viewer.get(&format!("{base}/realms/shop/registries")).await;
    let csrf = own.form_to("/logout").field("csrf").unwrap().to_string();
    let mut forged = form
        .with("csrf", &csrf)
        .with("pattern", "x/**")
        .with("subjectKind", "anonymous");
    forged.fields.push(("actions".into(), "pull".into()));
    forged.action = forged.action.replace("/auth/admin/master/console", &base);
    let refused = viewer.submit(&forged).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text());
}

/// The href of the first rule's edit page on a rules page.
fn edit_href(page: &portcullis_testkit::Reply) -> String {
    let text = page.text();
    let end = text.find("/edit\"").expect("an edit link") + "/edit".len();
    let start = text[..end].rfind('"').unwrap() + 1;
    text[start..end].replace("&#x2F;", "/")
}

#[tokio::test]
async fn a_rule_is_edited_in_place_after_its_access_diff() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let page = browser.get(&rules).await;
    let edit = edit_href(&page);
    let mapper_id = edit
        .trim_end_matches("/edit")
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    let form_page = browser.get(&edit).await;
    assert_eq!(form_page.status.as_u16(), 200, "{}", form_page.text());
    let text = form_page.text();
    assert!(
        text.contains(r#"value="team-a/**""#),
        "pattern prefilled: {text}"
    );
    assert!(text.contains(r#"value="/team-a""#), "subject prefilled");
    assert!(text.contains(r#"value="team-a pushes""#), "name prefilled");
    assert!(
        text.contains(r#"value="push" checked"#),
        "actions prefilled"
    );
    assert!(
        text.contains(r#"<option value="group" selected>"#),
        "subject kind prefilled"
    );

    // The same pattern, for holders of role ci instead of group /team-a: carol gains what bob
    // loses, shown as one change.
    let mut form = form_page
        .form_to("/edit")
        .without("actions")
        .with("subjectKind", "role")
        .with("subject", "ci");
    form.fields.push(("actions".into(), "push".into()));
    let preview = post_with_csrf_checks(&mut browser, &form).await;
    assert_eq!(preview.status.as_u16(), 200, "{}", preview.text());
    let text = preview.text();
    assert!(text.contains(r#"id="access-diff""#));
    assert!(
        text.contains(
            "Edit: pull, push on team-a/** for group /team-a → push on team-a/** for role ci"
        ),
        "{text}"
    );
    assert!(text.contains("+push on team-a/** for 1 user"), "{text}");
    assert!(text.contains("−push on team-a/** for 1 user"), "{text}");
    assert!(text.contains("−pull on team-a/** for 1 user"), "{text}");
    let unchanged = browser.get(&rules).await;
    assert!(
        unchanged.text().contains("group /team-a"),
        "nothing saved yet"
    );
    assert!(!unchanged.text().contains("role ci"));

    let confirm = preview.form_to("/edit");
    assert_eq!(confirm.field("confirm"), Some("yes"));
    let saved = post_with_csrf_checks(&mut browser, &confirm).await;
    let after = follow_with_flash(&mut browser, &saved).await;
    let text = after.text();
    assert!(text.contains("role ci"), "{text}");
    assert!(
        !text.contains("group /team-a"),
        "replaced, not added: {text}"
    );
    assert_eq!(text.matches("/edit\"").count(), 1, "still one rule");
    assert!(
        text.contains(&format!("/rules/{mapper_id}/edit")),
        "the same mapper id"
    );
    assert!(text.contains("team-a pushes"), "the same name");

    // The token endpoint agrees: carol may push now, bob may not.
    for (user, granted) in [
        ("carol", serde_json::json!(["push"])),
        ("bob", serde_json::json!([])),
    ] {
        let token = app
            .get(
                "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test&scope=repository:team-a/api:push",
                Some(&portcullis_testkit::basic(user, PASSWORD)),
            )
            .await;
        let jwt = token.json()["token"].as_str().unwrap().to_string();
        let access = portcullis_testkit::jwt::claims(&jwt)["access"].clone();
        assert_eq!(access[0]["actions"], granted, "{user}");
    }
}

#[tokio::test]
async fn an_edited_rule_is_checked_beside_its_fields() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let rules = rules_page(&mut browser, &realm).await;
    let edit = edit_href(&browser.get(&rules).await);
    let form = browser
        .get(&edit)
        .await
        .form_to("/edit")
        .without("actions")
        .with("subjectKind", "group");

    let mut no_pattern = form.clone().with("pattern", " ");
    no_pattern.fields.push(("actions".into(), "pull".into()));
    let refused = browser.submit(&no_pattern).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
    let text = refused.text();
    assert!(text.contains(r#"id="pattern-error""#), "{text}");
    assert!(
        text.contains(r#"aria-describedby="pattern-hint pattern-error" aria-invalid="true""#),
        "{text}"
    );
    assert!(text.contains(r#"id="edit-rule""#), "the edit form again");

    let no_actions = browser.submit(&form.clone()).await;
    assert_eq!(no_actions.status.as_u16(), 400);
    assert!(no_actions.text().contains(r#"id="actions-error""#));

    let mut bad_pattern = form.with("pattern", "a/${nope}/**");
    bad_pattern.fields.push(("actions".into(), "pull".into()));
    let refused = browser.submit(&bad_pattern).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
    assert!(refused.text().contains(r#"id="pattern-error""#));
    let refused = browser.submit(&bad_pattern.with("confirm", "yes")).await;
    assert_eq!(refused.status.as_u16(), 400, "saving checks again");

    let page = browser.get(&rules).await;
    assert!(page.text().contains("<code>team-a/**</code>"), "unchanged");
    let mapper_id = edit.trim_end_matches("/edit").rsplit('/').next().unwrap();
    let missing = browser.get(&edit.replace(mapper_id, "no-such-rule")).await;
    assert_eq!(missing.status.as_u16(), 404);
}

#[tokio::test]
async fn editing_a_rule_is_refused_to_admins_without_manage_clients() {
    let app = app().await;
    let (mut admin, realm) = master(&app).await;
    let rules = rules_page(&mut admin, &realm).await;
    let edit = edit_href(&admin.get(&rules).await);
    let mut form = admin
        .get(&edit)
        .await
        .form_to("/edit")
        .without("actions")
        .with("subjectKind", "anonymous");
    form.fields.push(("actions".into(), "pull".into()));

    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let own_edit = edit.replace("/auth/admin/master/console", &base);
    let page = viewer.get(&own_edit).await;
    assert_eq!(page.status.as_u16(), 403, "no edit form for a viewer");
    let own_rules = viewer
        .get(&rules.replace("/auth/admin/master/console", &base))
        .await;
    assert_eq!(own_rules.status.as_u16(), 200);
    assert!(
        !own_rules.text().contains("/edit\""),
        "no edit link for a viewer"
    );

    let csrf = own_rules
        .form_to("/logout")
        .field("csrf")
        .unwrap()
        .to_string();
    let mut forged = form.with("csrf", &csrf);
    forged.action = own_edit.clone();
    let refused = viewer.submit(&forged).await;
    assert_eq!(refused.status.as_u16(), 403, "preview: {}", refused.text());
    let refused = viewer.submit(&forged.clone().with("confirm", "yes")).await;
    assert_eq!(refused.status.as_u16(), 403, "save: {}", refused.text());

    let page = admin.get(&rules).await;
    assert!(page.text().contains("group /team-a"), "unchanged");
    assert!(
        !page
            .text()
            .contains("<td>everyone, anonymous included</td>")
    );
}
