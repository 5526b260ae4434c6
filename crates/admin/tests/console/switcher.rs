//! The layout's realm switcher: a `<select>` of the realms the admin may see, and the route it
//! submits to.

use portcullis_testkit::{TestApp, bearer};
use serde_json::json;

use crate::common::{PASSWORD, app, signed_in};

/// A master user `limited` who may only view the users of `shop`, and a realm `other`.
async fn with_limited_admin(app: &TestApp) {
    let token = app.admin_token().await;
    let auth = bearer(&token);
    let created = app
        .post_json(
            "/auth/admin/realms",
            Some(&auth),
            &json!({"realm": "other", "enabled": true}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let user = json!({
        "username": "limited",
        "enabled": true,
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": false}],
    });
    let created = app
        .post_json("/auth/admin/realms/master/users", Some(&auth), &user)
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let user_id = app.user_id("master", "limited").await;
    // Keycloak's per-realm admin client in master, with one of its roles.
    let client = app
        .post_json(
            "/auth/admin/realms/master/clients",
            Some(&auth),
            &json!({"clientId": "shop-realm", "bearerOnly": true}),
        )
        .await
        .created_id();
    let created = app
        .post_json(
            &format!("/auth/admin/realms/master/clients/{client}/roles"),
            Some(&auth),
            &json!({"name": "view-users"}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let role = app
        .get(
            &format!("/auth/admin/realms/master/clients/{client}/roles/view-users"),
            Some(&auth),
        )
        .await
        .json();
    let mapped = app
        .post_json(
            &format!("/auth/admin/realms/master/users/{user_id}/role-mappings/clients/{client}"),
            Some(&auth),
            &json!([role]),
        )
        .await;
    assert_eq!(mapped.status.as_u16(), 204, "{}", mapped.text());
}

/// The `<option>` values of the layout's realm switcher.
fn switcher_options(html: &str) -> Vec<String> {
    let start = html
        .find(r#"<select id="realm-switch-select""#)
        .expect("a realm switcher");
    let end = start + html[start..].find("</select>").unwrap();
    html[start..end]
        .split(r#"<option value=""#)
        .skip(1)
        .map(|o| o[..o.find('"').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn the_switcher_lists_only_the_realms_the_admin_may_see() {
    let app = app().await;
    with_limited_admin(&app).await;

    let (mut admin, base) = signed_in(&app, "master", "admin", crate::common::ADMIN_PASSWORD).await;
    let page = admin.get(&format!("{base}/realms/shop/")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert_eq!(switcher_options(&text), ["master", "other", "shop"]);
    assert!(text.contains(r#"<label for="realm-switch-select">Realm</label>"#));
    assert!(text.contains(r#"<option value="shop" selected>shop</option>"#));
    assert!(text.contains(&format!(
        r#"<form id="realm-switch" class="realm-switch" method="get" action="{base}/switch">"#
    )));
    assert!(!text.contains("onchange"), "no inline script with the CSP");

    let (mut limited, base) = signed_in(&app, "master", "limited", PASSWORD).await;
    let home = limited.get(&format!("{base}/realms")).await;
    assert_eq!(home.status.as_u16(), 200, "{}", home.text());
    assert_eq!(
        switcher_options(&home.text()),
        ["", "shop"],
        "a prompt, then only shop"
    );
    let shop = limited.get(&format!("{base}/realms/shop/users")).await;
    assert_eq!(shop.status.as_u16(), 200, "{}", shop.text());
    assert!(
        !shop.text().contains("realm-switch-select"),
        "nothing to switch to"
    );
    assert!(shop.text().contains("Realm: <strong>shop</strong>"));

    // A realm's own console offers only that realm.
    let (mut boss, base) = signed_in(&app, "shop", "boss", PASSWORD).await;
    let page = boss.get(&format!("{base}/realms/shop/")).await;
    assert!(!page.text().contains("realm-switch-select"));
}

#[tokio::test]
async fn the_switcher_goes_to_the_chosen_realm() {
    let app = app().await;
    with_limited_admin(&app).await;
    let (mut admin, base) = signed_in(&app, "master", "admin", crate::common::ADMIN_PASSWORD).await;

    let switched = admin.get(&format!("{base}/switch?realm=other")).await;
    assert_eq!(switched.status.as_u16(), 303, "{}", switched.text());
    let location = switched.location().unwrap_or_default().to_string();
    assert_eq!(location, format!("{base}/realms/other/"));
    let page = admin.get(&location).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(
        page.text()
            .contains(r#"<option value="other" selected>other</option>"#)
    );

    let none = admin.get(&format!("{base}/switch?realm=")).await;
    assert_eq!(none.status.as_u16(), 303);
    assert_eq!(none.location(), Some(format!("{base}/realms").as_str()));

    let unknown = admin.get(&format!("{base}/switch?realm=nope")).await;
    assert_eq!(unknown.status.as_u16(), 404, "{}", unknown.text());
    assert!(
        unknown.text().contains("There is no realm nope."),
        "{}",
        unknown.text()
    );

    // A realm the admin may not see is refused, not shown.
    let (mut limited, base) = signed_in(&app, "master", "limited", PASSWORD).await;
    let refused = limited.get(&format!("{base}/switch?realm=other")).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.text());
    let allowed = limited.get(&format!("{base}/switch?realm=shop")).await;
    assert_eq!(allowed.status.as_u16(), 303);
}

#[tokio::test]
async fn the_switcher_is_bounded_and_links_to_the_realm_list() {
    let app = app().await;
    let token = app.admin_token().await;
    let auth = bearer(&token);
    // With master and shop, 100 more realms make 102: two past what the switcher lists.
    for n in 0..100 {
        let created = app
            .post_json(
                "/auth/admin/realms",
                Some(&auth),
                &json!({"realm": format!("r{n:03}"), "enabled": true}),
            )
            .await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    }
    let (mut admin, base) = signed_in(&app, "master", "admin", crate::common::ADMIN_PASSWORD).await;
    let page = admin.get(&format!("{base}/realms")).await;
    let text = page.text();
    let options = switcher_options(&text);
    assert_eq!(options.len(), 101, "a prompt and the first 100 realms");
    assert_eq!(options[1], "master");
    assert_eq!(options[100], "r098");
    assert!(!options.contains(&"shop".to_string()), "past the first 100");
    assert!(text.contains(&format!(r#"<a href="{base}/realms">All realms</a>"#)));

    // The realm a page is about is offered even past the first 100.
    let shop = admin.get(&format!("{base}/realms/shop/")).await;
    let options = switcher_options(&shop.text());
    assert_eq!(options[0], "shop");
    assert_eq!(options.len(), 101);
    assert!(
        shop.text()
            .contains(r#"<option value="shop" selected>shop</option>"#)
    );
}
