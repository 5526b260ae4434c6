//! Realm settings, deleting a realm, keys with an overlapping rotation, events and sessions.

use portcullis_testkit::{HtmlForm, Reply, TestApp, basic, bearer, jwt};
use serde_json::json;

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

/// The settings form as the page shows it, checkboxes set as a browser would send them.
fn settings_form(page: &Reply, checked: &[&str]) -> HtmlForm {
    let mut form = page
        .form_to("/settings")
        .without("enabled")
        .without("bruteForceProtected")
        .without("permanentLockout");
    for name in checked {
        form = form.with(name, "on");
    }
    form
}

#[tokio::test]
async fn saves_settings_and_shows_field_errors() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/settings")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(
        page.text()
            .contains(r#"aria-current="page">Realm settings"#)
    );
    let form = settings_form(&page, &["enabled"]);

    let negative = browser
        .submit(&form.clone().with("failureFactor", "-1"))
        .await;
    assert_eq!(negative.status.as_u16(), 400);
    assert!(
        negative
            .text()
            .contains(r#"aria-invalid="true" aria-describedby="failureFactor-error"#),
        "{}",
        negative.text()
    );
    let policy = browser
        .submit(&form.clone().with("passwordPolicy", "lenght(8)"))
        .await;
    assert_eq!(policy.status.as_u16(), 400);
    assert!(
        policy.text().contains(r#"id="passwordPolicy-error""#),
        "{}",
        policy.text()
    );
    assert!(
        policy.text().contains(r#"value="lenght(8)""#),
        "kept as typed"
    );

    let good = form
        .with("bruteForceProtected", "on")
        .with("displayName", "Shop HQ")
        .with("failureFactor", "5")
        .with("accessTokenLifespan", "120")
        .with("passwordPolicy", "length(10)");
    let saved = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &saved).await;
    assert!(page.text().contains(r#"value="Shop HQ""#));
    let token = app.admin_token().await;
    let rep = app
        .get("/auth/admin/realms/shop", Some(&bearer(&token)))
        .await
        .json();
    assert_eq!(rep["displayName"], "Shop HQ");
    assert_eq!(rep["failureFactor"], 5);
    assert_eq!(rep["accessTokenLifespan"], 120);
    assert_eq!(rep["bruteForceProtected"], true);
    assert_eq!(rep["permanentLockout"], false);
    assert_eq!(rep["passwordPolicy"], "length(10)");

    // The master realm cannot be disabled, in the console as through the API.
    let (mut browser, _) = master(&app).await;
    let master_settings = "/auth/admin/master/console/realms/master/settings";
    let page = browser.get(master_settings).await;
    assert!(!page.text().contains("Delete realm…"));
    let disable = browser.submit(&settings_form(&page, &[])).await;
    assert_eq!(disable.status.as_u16(), 400);
    assert!(
        disable.text().contains(r#"id="enabled-error""#),
        "{}",
        disable.text()
    );
}

#[tokio::test]
async fn deletes_a_realm_after_its_name_is_typed() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let settings = browser.get(&format!("{realm}/settings")).await;
    assert!(settings.text().contains("settings/delete"));
    let page = browser.get(&format!("{realm}/settings/delete")).await;
    assert_eq!(page.status.as_u16(), 200);
    let form = page.form_to("/settings/delete");
    let wrong = browser.submit(&form.clone().with("confirm", "sho")).await;
    assert_eq!(wrong.status.as_u16(), 400);
    assert!(wrong.text().contains(r#"aria-describedby="confirm-error""#));
    let token = app.admin_token().await;
    let still = app
        .get("/auth/admin/realms/shop", Some(&bearer(&token)))
        .await;
    assert_eq!(still.status.as_u16(), 200);
    let deleted = post_with_csrf_checks(&mut browser, &form.with("confirm", "shop")).await;
    let list = follow_with_flash(&mut browser, &deleted).await;
    assert!(
        list.text().contains("Realm shop deleted"),
        "{}",
        list.text()
    );
    let gone = app
        .get("/auth/admin/realms/shop", Some(&bearer(&token)))
        .await;
    assert_eq!(gone.status.as_u16(), 404);

    // Master: no form, and a hand-made post is refused by the operation.
    let page = browser
        .get("/auth/admin/master/console/realms/master/settings/delete")
        .await;
    assert!(page.text().contains("cannot be deleted"));
    let csrf = page.form_to("/logout").field("csrf").unwrap().to_string();
    let refused = browser
        .post(
            "/auth/admin/master/console/realms/master/settings/delete",
            &[("csrf", csrf.as_str()), ("confirm", "master")],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
}

/// A key row of the keys page: (id, algorithm, thumbprint kid, libtrust kid, status).
fn key_rows(page: &Reply) -> Vec<[String; 5]> {
    let text = page.text();
    text.split("<tr data-key=\"")
        .skip(1)
        .map(|row| {
            let attr = |name: &str| {
                let at = row.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                row[at..at + row[at..].find('"').unwrap()].to_string()
            };
            let id = row[..row.find('"').unwrap()].to_string();
            [
                id,
                attr("data-algorithm"),
                attr("data-kid"),
                attr("data-libtrust-kid"),
                attr("data-status"),
            ]
        })
        .collect()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let certs = app
        .get("/auth/realms/shop/protocol/openid-connect/certs", None)
        .await
        .json();
    certs["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

async fn bundle_certificates(app: &TestApp) -> usize {
    app.get(
        "/auth/realms/shop/protocol/docker-v2/clients/registry.shop.test/bundle.pem",
        None,
    )
    .await
    .text()
    .matches("BEGIN CERTIFICATE")
    .count()
}

/// The `kid` of a docker token bob gets now.
async fn docker_kid(app: &TestApp) -> String {
    let reply = app
        .get(
            "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test&scope=repository:team-a/api:pull",
            Some(&basic("bob", PASSWORD)),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let token = reply.json()["token"].as_str().unwrap().to_string();
    jwt::header(&token)["kid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn rotates_a_key_with_overlap() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/keys")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let before = key_rows(&page);
    let old = before
        .iter()
        .find(|k| k[1] == "RS256" && k[4] == "active")
        .cloned()
        .expect("an active RS256 key");
    assert_eq!(docker_kid(&app).await, old[3]);
    let bundle_before = bundle_certificates(&app).await;
    // A token of boss signed by the old key, to use after the rotation.
    let old_token = app.access_token("shop", "boss").await;

    let form = page.form_to("/keys");
    let bad = browser.submit(&form.clone().with("type", "rsa-1024")).await;
    assert_eq!(bad.status.as_u16(), 400);
    assert!(bad.text().contains(r#"id="type-error""#), "{}", bad.text());
    let added = post_with_csrf_checks(&mut browser, &form.with("type", "rsa-3072")).await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(page.text().contains("added as passive"), "{}", page.text());
    let new = key_rows(&page)
        .into_iter()
        .find(|k| !before.iter().any(|b| b[0] == k[0]))
        .expect("the new key is listed");
    assert_eq!(new[1], "RS256");
    assert_eq!(new[4], "passive");
    assert!(page.text().contains("RSA 3072"));

    // Published before it signs: in the JWKS and the registry bundle, but tokens still carry
    // the old key.
    let kids = jwks_kids(&app).await;
    assert!(kids.contains(&new[2]) && kids.contains(&old[2]), "{kids:?}");
    assert_eq!(bundle_certificates(&app).await, bundle_before + 1);
    assert_eq!(
        docker_kid(&app).await,
        old[3],
        "the passive key does not sign"
    );

    // Make it active: it signs; the old key still verifies.
    let activate = page.form_to(&format!("/keys/{}/activate", new[0]));
    let done = post_with_csrf_checks(&mut browser, &activate).await;
    let page = follow_with_flash(&mut browser, &done).await;
    let rows = key_rows(&page);
    let status = |id: &str| rows.iter().find(|k| k[0] == id).unwrap()[4].clone();
    assert_eq!(status(&new[0]), "active");
    assert_eq!(status(&old[0]), "passive");
    assert_eq!(docker_kid(&app).await, new[3]);
    let admin_api = app
        .get("/auth/admin/realms/shop/users", Some(&bearer(&old_token)))
        .await;
    assert_eq!(admin_api.status.as_u16(), 200, "the old key still verifies");

    // The signing key cannot be disabled; the old one can, and its tokens stop verifying.
    let refused = browser
        .get(&format!("{realm}/keys/{}/disable", new[0]))
        .await;
    let refused = browser.submit(&refused.form_to("/disable")).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused
            .text()
            .contains("make another RS256 key active first")
    );
    let confirm = browser
        .get(&format!("{realm}/keys/{}/disable", old[0]))
        .await;
    assert_eq!(confirm.status.as_u16(), 200);
    let disabled = post_with_csrf_checks(&mut browser, &confirm.form_to("/disable")).await;
    let page = follow_with_flash(&mut browser, &disabled).await;
    assert!(page.text().contains(r#"data-status="disabled""#));
    assert!(!jwks_kids(&app).await.contains(&old[2]));
    assert_eq!(bundle_certificates(&app).await, bundle_before);
    let admin_api = app
        .get("/auth/admin/realms/shop/users", Some(&bearer(&old_token)))
        .await;
    assert_eq!(admin_api.status.as_u16(), 401);
}

#[tokio::test]
async fn lists_admin_events_filtered_and_paged() {
    let app = app().await;
    let token = app.admin_token().await;
    for i in 0..52 {
        let put = app
            .put_json(
                "/auth/admin/realms/shop",
                Some(&bearer(&token)),
                &json!({"displayName": format!("Shop {i}")}),
            )
            .await;
        assert_eq!(put.status.as_u16(), 204);
    }
    let created = app
        .post_json(
            "/auth/admin/realms/shop/users",
            Some(&bearer(&token)),
            &json!({"username": "erin"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201);
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/events")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert_eq!(text.matches("<tr data-operation=").count(), 50);
    let first = text.find("data-operation=").unwrap();
    assert!(
        text[first..].starts_with(r#"data-operation="CREATE" data-resource="USER""#),
        "newest first"
    );
    assert!(text.contains(">admin</td>"), "by whom");
    let at = text.find("Older events").unwrap();
    let href = &text[text[..at].rfind("href=\"").unwrap() + 6..at];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let older = browser.get(&href).await;
    assert_eq!(older.text().matches("<tr data-operation=").count(), 3);

    let users = browser.get(&format!("{realm}/events?resource=user")).await;
    assert_eq!(users.text().matches("<tr data-operation=").count(), 1);
    let deletes = browser
        .get(&format!("{realm}/events?operation=DELETE"))
        .await;
    assert!(deletes.text().contains("No admin event matches"));
    let by_admin = browser
        .get(&format!("{realm}/events?user=admin&resource=USER"))
        .await;
    assert_eq!(by_admin.text().matches("<tr data-operation=").count(), 1);
    let nobody = browser.get(&format!("{realm}/events?user=nobody")).await;
    assert_eq!(nobody.status.as_u16(), 400);
    assert!(nobody.text().contains(r#"aria-describedby="user-error""#));
}

#[tokio::test]
async fn signs_out_a_session() {
    let app = app().await;
    let (mut viewer, viewer_base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/sessions")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains(">viewer</a>"), "{}", page.text());
    let form = page.form_to("/end");
    let ended = post_with_csrf_checks(&mut browser, &form).await;
    let page = follow_with_flash(&mut browser, &ended).await;
    assert!(page.text().contains("Session of viewer signed out"));
    assert!(page.text().contains("Nobody is signed in"));
    let after = viewer
        .get(&format!("{viewer_base}/realms/shop/users"))
        .await;
    assert_eq!(after.status.as_u16(), 303, "the viewer's console ended too");
}

#[tokio::test]
async fn a_session_of_a_more_powerful_user_is_not_signed_out() {
    let app = app().await;
    let token = app.admin_token().await;
    let created = app
        .post_json(
            "/auth/admin/realms/shop/users",
            Some(&bearer(&token)),
            &json!({"username": "helpdesk", "enabled": true,
                    "credentials": [{"type": "password", "value": PASSWORD, "temporary": false}]}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let id = created.created_id();
    let clients = app
        .get(
            "/auth/admin/realms/shop/clients?clientId=realm-management",
            Some(&bearer(&token)),
        )
        .await
        .json();
    let client = clients[0]["id"].as_str().unwrap().to_string();
    let roles = app
        .get(
            &format!("/auth/admin/realms/shop/clients/{client}/roles"),
            Some(&bearer(&token)),
        )
        .await
        .json();
    let wanted: Vec<_> = roles
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| matches!(r["name"].as_str(), Some("view-users" | "manage-users")))
        .cloned()
        .collect();
    let mapped = app
        .post_json(
            &format!("/auth/admin/realms/shop/users/{id}/role-mappings/clients/{client}"),
            Some(&bearer(&token)),
            &json!(wanted),
        )
        .await;
    assert_eq!(mapped.status.as_u16(), 204, "{}", mapped.text());
    let (_boss, _) = signed_in(&app, "shop", "boss", PASSWORD).await;
    let (mut helpdesk, base) = signed_in(&app, "shop", "helpdesk", PASSWORD).await;
    let page = helpdesk.get(&format!("{base}/realms/shop/sessions")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    let row = text.find(">boss</a>").expect("boss's session is listed");
    let id_at = text[..row].rfind("data-session=\"").unwrap() + 14;
    let id = &text[id_at..id_at + text[id_at..].find('"').unwrap()];
    let form = page.form_to(&format!("/sessions/{id}/end"));
    let refused = helpdesk.submit(&form).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text());
}

#[tokio::test]
async fn realm_pages_are_refused_to_viewers() {
    let app = app().await;
    let (_other, _) = signed_in(&app, "shop", "boss", PASSWORD).await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let home = viewer.get(&format!("{realm}/users")).await;
    let nav = home.text();
    assert!(
        !nav.contains("Realm settings") && !nav.contains(">Keys<") && !nav.contains(">Events<")
    );
    assert!(nav.contains(">Sessions<"), "view-users shows sessions");
    let csrf = home.form_to("/logout").field("csrf").unwrap().to_string();
    for path in ["settings", "settings/delete", "keys", "events"] {
        let page = viewer.get(&format!("{realm}/{path}")).await;
        assert_eq!(page.status.as_u16(), 403, "GET {path}: {}", page.text());
    }
    let posts: [(&str, &[(&str, &str)]); 4] = [
        (
            "settings",
            &[("displayName", "Mine"), ("failureFactor", "3")],
        ),
        ("settings/delete", &[("confirm", "shop")]),
        ("keys", &[("type", "ec-p256")]),
        ("keys/anything/disable", &[]),
    ];
    for (path, fields) in posts {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let refused = viewer.post(&format!("{realm}/{path}"), &all).await;
        assert_eq!(
            refused.status.as_u16(),
            403,
            "POST {path}: {}",
            refused.text()
        );
    }
    let sessions = viewer.get(&format!("{realm}/sessions")).await;
    assert_eq!(sessions.status.as_u16(), 200, "{}", sessions.text());
    assert!(sessions.text().contains(">boss</a>"));
    assert!(
        !sessions.text().contains("/end\""),
        "no sign-out for viewers"
    );
    let text = sessions.text();
    let id_at = text.find("data-session=\"").unwrap() + 14;
    let id = &text[id_at..id_at + text[id_at..].find('"').unwrap()];
    let refused = viewer
        .post(
            &format!("{realm}/sessions/{id}/end"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(refused.status.as_u16(), 403);
    let token = app.admin_token().await;
    let rep = app
        .get("/auth/admin/realms/shop", Some(&bearer(&token)))
        .await
        .json();
    assert_ne!(rep["displayName"], "Mine");
    assert_eq!(jwks_kids(&app).await.len(), 2, "no key added");
}

#[tokio::test]
async fn lists_docker_token_issuances_and_failed_logins() {
    let app = app().await;
    let get = |password: &'static str| {
        let app = &app;
        async move {
            app.get(
                "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test&scope=repository:team-a/api:push",
                Some(&portcullis_testkit::basic("bob", password)),
            )
            .await
        }
    };
    assert_eq!(get(PASSWORD).await.status.as_u16(), 200);
    assert_eq!(get("wrong").await.status.as_u16(), 401);
    app.state.flush_events().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/events/logins")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert!(text.contains(r#"<tr data-type="DOCKER_TOKEN">"#), "{text}");
    assert!(
        text.contains(
            "<code>repository:team-a/api:push</code> → <code>repository:team-a/api:push</code>"
        ),
        "{text}"
    );
    assert!(text.contains(r#"<tr data-type="DOCKER_TOKEN_ERROR">"#));
    let only = browser
        .get(&format!(
            "{realm}/events/logins?type=DOCKER_TOKEN_ERROR&user=bob"
        ))
        .await;
    assert!(!only.text().contains(r#"data-type="DOCKER_TOKEN">"#));
    assert!(only.text().contains(r#"data-type="DOCKER_TOKEN_ERROR""#));
    let bad = browser
        .get(&format!("{realm}/events/logins?type=NOPE"))
        .await;
    assert_eq!(bad.status.as_u16(), 400);
    assert!(bad.text().contains(r#"id="type-error""#));
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let refused = viewer
        .get(&format!("{base}/realms/shop/events/logins"))
        .await;
    assert_eq!(refused.status.as_u16(), 403);
}
