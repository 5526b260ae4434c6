//! OpenID Connect clients: search, create, settings, secret, roles, mappers, delete.

use portcullis_testkit::{Browser, HtmlForm, Reply, TestApp, bearer};
use serde_json::{Value, json};

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

const API: &str = "/auth/admin/realms/shop/clients";

/// Creates a client through the REST API; returns its id.
async fn create_client(app: &TestApp, body: Value) -> String {
    let token = app.admin_token().await;
    let created = app.post_json(API, Some(&bearer(&token)), &body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    created.created_id()
}

/// The client's representation from the REST API.
async fn client_rep(app: &TestApp, id: &str) -> Reply {
    let token = app.admin_token().await;
    app.get(&format!("{API}/{id}"), Some(&bearer(&token))).await
}

/// A client form with the checkboxes and text areas a browser would send, as given.
fn client_form(form: HtmlForm, fields: &[(&str, &str)]) -> HtmlForm {
    let mut form = form
        .without("standardFlow")
        .without("directAccessGrants")
        .without("serviceAccounts")
        .without("consentRequired")
        .without("access");
    for (name, value) in fields {
        form = form.with(name, value);
    }
    form
}

fn assert_field_error(reply: &Reply, field: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{field}: {}", reply.text());
    let text = reply.text();
    assert!(
        text.contains(&format!(r#"id="{field}-error" class="field-error""#)),
        "no error beside {field}: {text}"
    );
    assert!(
        text.contains(r#"aria-invalid="true""#),
        "{field} not marked invalid"
    );
}

#[tokio::test]
async fn creates_a_client_and_shows_field_errors() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/clients/new")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let form = page.form_to("/clients");
    let refusals = [
        (vec![("clientId", " ")], "clientId"),
        (vec![("clientId", "registry.shop.test")], "clientId"),
        (
            vec![("clientId", "web"), ("redirectUris", "javascript:alert(1)")],
            "redirectUris",
        ),
        (
            vec![("clientId", "web"), ("webOrigins", "https://shop.test/app")],
            "webOrigins",
        ),
        (
            vec![
                ("clientId", "web"),
                ("access", "public"),
                ("serviceAccounts", "on"),
            ],
            "serviceAccounts",
        ),
        (
            vec![("clientId", "web"), ("accessTokenLifespan", "soon")],
            "accessTokenLifespan",
        ),
    ];
    for (fields, field) in refusals {
        let refused = browser.submit(&client_form(form.clone(), &fields)).await;
        assert_field_error(&refused, field);
    }
    let taken = browser
        .submit(&client_form(
            form.clone(),
            &[("clientId", "registry.shop.test")],
        ))
        .await;
    assert!(taken.text().contains("already exists"), "{}", taken.text());

    let good = client_form(
        form,
        &[
            ("clientId", "shop-web"),
            ("name", "Shop <web>"),
            ("access", "confidential"),
            (
                "redirectUris",
                "https://shop.test/callback\r\nhttps://shop.test/silent",
            ),
            ("webOrigins", "+"),
            ("standardFlow", "on"),
            ("serviceAccounts", "on"),
            ("accessTokenLifespan", "300"),
        ],
    );
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &created).await;
    assert!(page.text().contains("<h1>shop-web"), "{}", page.text());
    assert!(page.text().contains("Shop &lt;web&gt;"), "escaped");
    let id = created
        .location()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let rep = client_rep(&app, &id).await.json();
    assert_eq!(rep["clientId"], "shop-web");
    assert_eq!(rep["protocol"], "openid-connect");
    assert_eq!(rep["publicClient"], false);
    assert_eq!(
        rep["redirectUris"],
        json!(["https://shop.test/callback", "https://shop.test/silent"])
    );
    assert_eq!(rep["webOrigins"], json!(["+"]));
    assert_eq!(rep["serviceAccountsEnabled"], true);
    assert_eq!(rep["directAccessGrantsEnabled"], false);
    assert_eq!(rep["attributes"]["access.token.lifespan"], "300");
    assert!(rep["secret"].as_str().is_some_and(|s| s.len() > 20));

    let list = browser.get(&format!("{realm}/clients")).await;
    assert!(list.text().contains(r#"data-client-id="shop-web""#));
    assert!(
        !list.text().contains("registry.shop.test"),
        "registries are not clients here"
    );
    let search = browser.get(&format!("{realm}/clients?q=P-WE")).await;
    assert!(search.text().contains(r#"data-client-id="shop-web""#));
    let none = browser.get(&format!("{realm}/clients?q=zzz")).await;
    assert!(none.text().contains("No client id contains"));
}

#[tokio::test]
async fn clients_page_by_keyset() {
    let app = app().await;
    for i in 0..55 {
        create_client(&app, json!({"clientId": format!("c{i:03}")})).await;
    }
    let (mut browser, realm) = master(&app).await;
    let first = browser.get(&format!("{realm}/clients?q=c0")).await;
    let text = first.text();
    assert!(text.contains(r#"data-client-id="c000""#) && text.contains(r#"data-client-id="c049""#));
    assert!(!text.contains(r#"data-client-id="c050""#));
    let at = text.find("Next page").unwrap();
    let href = &text[text[..at].rfind("href=\"").unwrap() + 6..at];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = browser.get(&href).await;
    let text = second.text();
    assert!(text.contains(r#"data-client-id="c050""#) && text.contains(r#"data-client-id="c054""#));
    assert!(!text.contains(r#"data-client-id="c049""#));
    assert!(text.contains("First page"));
}

#[tokio::test]
async fn edits_a_clients_settings_keeping_other_attributes() {
    let app = app().await;
    let id = create_client(
        &app,
        json!({"clientId": "shop-api", "serviceAccountsEnabled": true,
               "attributes": {"pkce.code.challenge.method": "S256", "access.token.lifespan": "60"}}),
    )
    .await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/clients/{id}")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains(r#"value="60""#), "the lifespan shows");
    let form = page.form_to(&format!("/clients/{id}"));
    assert_eq!(form.field("clientId"), Some("shop-api"));

    let bad = client_form(
        form.clone(),
        &[("clientId", "shop-api"), ("webOrigins", "https://a.test/x")],
    );
    assert_field_error(&browser.submit(&bad).await, "webOrigins");
    let taken = client_form(form.clone(), &[("clientId", "registry.shop.test")]);
    assert_field_error(&browser.submit(&taken).await, "clientId");

    let good = client_form(
        form,
        &[
            ("clientId", "shop-spa"),
            ("name", "Shop SPA"),
            ("access", "public"),
            ("redirectUris", "https://shop.test/*"),
            ("webOrigins", "https://shop.test"),
            ("standardFlow", "on"),
            ("directAccessGrants", "on"),
            ("consentRequired", "on"),
            ("accessTokenLifespan", ""),
        ],
    );
    let saved = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &saved).await;
    assert!(page.text().contains("<h1>shop-spa"));
    let rep = client_rep(&app, &id).await.json();
    assert_eq!(rep["clientId"], "shop-spa");
    assert_eq!(rep["name"], "Shop SPA");
    assert_eq!(rep["publicClient"], true);
    assert_eq!(rep["serviceAccountsEnabled"], false);
    assert_eq!(rep["directAccessGrantsEnabled"], true);
    assert_eq!(rep["consentRequired"], true);
    assert_eq!(rep["webOrigins"], json!(["https://shop.test"]));
    assert_eq!(rep["attributes"]["pkce.code.challenge.method"], "S256");
    assert!(
        rep["attributes"].get("access.token.lifespan").is_none(),
        "cleared: {rep}"
    );
    assert!(
        !page.text().contains("/credentials\""),
        "a public client has no Credentials tab"
    );
}

#[tokio::test]
async fn regenerates_the_secret_only_after_confirmation() {
    let app = app().await;
    let id = create_client(&app, json!({"clientId": "shop-api"})).await;
    let old = client_rep(&app, &id).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut browser, realm) = master(&app).await;
    let page = browser
        .get(&format!("{realm}/clients/{id}/credentials"))
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(
        page.text()
            .contains(&format!(r#"<code id="client-secret">{old}</code>"#))
    );
    let ask = post_with_csrf_checks(&mut browser, &page.form_to("/credentials/regenerate")).await;
    assert_eq!(
        ask.status.as_u16(),
        200,
        "a confirmation first: {}",
        ask.text()
    );
    assert!(ask.text().contains("stops working at once"));
    assert_eq!(
        client_rep(&app, &id).await.json()["secret"].as_str(),
        Some(old.as_str()),
        "nothing changes before the confirmation"
    );
    let confirm = ask.form_to("/credentials/regenerate");
    assert_eq!(confirm.field("confirm"), Some("yes"));
    let done = post_with_csrf_checks(&mut browser, &confirm).await;
    let page = follow_with_flash(&mut browser, &done).await;
    let new = client_rep(&app, &id).await.json()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert!(page.text().contains(&new), "the new secret shows");

    let public = create_client(&app, json!({"clientId": "spa", "publicClient": true})).await;
    let none = browser
        .get(&format!("{realm}/clients/{public}/credentials"))
        .await;
    assert_eq!(none.status.as_u16(), 404);
}

#[tokio::test]
async fn creates_and_deletes_client_roles() {
    let app = app().await;
    let id = create_client(&app, json!({"clientId": "shop-api"})).await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/clients/{id}/roles")).await;
    assert!(page.text().contains("has no roles"), "{}", page.text());
    let form = page.form_to("/roles");
    assert_field_error(
        &browser.submit(&form.clone().with("name", " ")).await,
        "name",
    );
    let good = form
        .clone()
        .with("name", "editor")
        .with("description", "Edits");
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &created).await;
    assert!(page.text().contains(r#"data-role="editor""#));
    let dup = browser.submit(&form.with("name", "editor")).await;
    assert_field_error(&dup, "name");
    assert!(dup.text().contains("already exists"));

    let ask = post_with_csrf_checks(&mut browser, &page.form_to("/roles/editor/delete")).await;
    assert_eq!(ask.status.as_u16(), 200, "{}", ask.text());
    assert!(ask.text().contains("Delete the role editor?"));
    let token = app.admin_token().await;
    let roles = app
        .get(&format!("{API}/{id}/roles"), Some(&bearer(&token)))
        .await;
    assert_eq!(
        roles.json().as_array().map(Vec::len),
        Some(1),
        "still there"
    );
    let done = post_with_csrf_checks(&mut browser, &ask.form_to("/roles/editor/delete")).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(page.text().contains("has no roles"));
    let roles = app
        .get(&format!("{API}/{id}/roles"), Some(&bearer(&token)))
        .await;
    assert_eq!(roles.json(), json!([]));
}

/// The action of the form on `page` deleting a mapper.
fn mapper_delete_form(page: &Reply) -> HtmlForm {
    page.forms()
        .into_iter()
        .find(|f| f.action.contains("/mappers/") && f.action.ends_with("/delete"))
        .unwrap_or_else(|| panic!("no mapper to delete: {}", page.text()))
}

#[tokio::test]
async fn adds_and_deletes_protocol_mappers() {
    let app = app().await;
    let id = create_client(&app, json!({"clientId": "shop-api"})).await;
    let (mut browser, realm) = master(&app).await;
    let base = format!("{realm}/clients/{id}/mappers");
    let page = browser.get(&base).await;
    assert!(page.text().contains("only the realm's default claims"));
    assert!(
        page.text()
            .contains(r#"value="oidc-hardcoded-claim-mapper""#)
    );
    let unknown = browser.get(&format!("{base}/new?type=nope")).await;
    assert_field_error(&unknown, "type");
    let page = browser
        .get(&format!("{base}/new?type=oidc-hardcoded-claim-mapper"))
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains("<code>claim.value</code>"));
    let form = page.form_to("/mappers");
    assert_field_error(
        &browser.submit(&form.clone().with("name", "")).await,
        "name",
    );
    let good = form
        .clone()
        .with("name", "tier")
        .with("config-0", "tier")
        .with("config-1", "gold");
    let added = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(page.text().contains(r#"data-mapper="tier""#));
    let token = app.admin_token().await;
    let mappers = app
        .get(
            &format!("{API}/{id}/protocol-mappers/models"),
            Some(&bearer(&token)),
        )
        .await
        .json();
    assert_eq!(mappers[0]["protocolMapper"], "oidc-hardcoded-claim-mapper");
    assert_eq!(mappers[0]["config"]["claim.name"], "tier");
    assert_eq!(mappers[0]["config"]["claim.value"], "gold");
    let dup = browser.submit(&good).await;
    assert_field_error(&dup, "name");

    let mapper_id = mappers[0]["id"].as_str().unwrap().to_string();
    assert!(
        page.text().contains(&format!("/mappers/{mapper_id}\"")),
        "rows link to their form"
    );
    let edit = browser.get(&format!("{base}/{mapper_id}")).await;
    assert_eq!(edit.status.as_u16(), 200, "{}", edit.text());
    let form = edit.form_to(&format!("/mappers/{mapper_id}"));
    assert_eq!(form.field("config-1"), Some("gold"));
    assert_field_error(
        &browser.submit(&form.clone().with("name", "")).await,
        "name",
    );
    let saved = post_with_csrf_checks(&mut browser, &form.with("config-1", "silver")).await;
    let page = follow_with_flash(&mut browser, &saved).await;
    assert!(
        page.text().contains("Mapper tier saved."),
        "{}",
        page.text()
    );
    let mappers = app
        .get(
            &format!("{API}/{id}/protocol-mappers/models"),
            Some(&bearer(&token)),
        )
        .await
        .json();
    assert_eq!(mappers[0]["config"]["claim.value"], "silver");
    assert_eq!(
        mappers[0]["id"],
        mapper_id.as_str(),
        "the same mapper, edited"
    );
    assert_eq!(
        browser
            .get(&format!("{base}/no-such-mapper"))
            .await
            .status
            .as_u16(),
        404
    );

    let ask = post_with_csrf_checks(&mut browser, &mapper_delete_form(&page)).await;
    assert_eq!(ask.status.as_u16(), 200, "{}", ask.text());
    assert!(ask.text().contains("Delete the mapper tier?"));
    let done = post_with_csrf_checks(&mut browser, &mapper_delete_form(&ask)).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(page.text().contains("only the realm's default claims"));
}

#[tokio::test]
async fn deletes_a_client_after_typing_its_id() {
    let app = app().await;
    let id = create_client(&app, json!({"clientId": "shop-api"})).await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/clients/{id}")).await;
    assert!(page.text().contains(r#"id="delete-client""#));
    let page = browser.get(&format!("{realm}/clients/{id}/delete")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let form = page.form_to(&format!("/clients/{id}/delete"));
    let wrong = browser.submit(&form.clone().with("confirm", "shop")).await;
    assert_field_error(&wrong, "confirm");
    assert_eq!(client_rep(&app, &id).await.status.as_u16(), 200);
    let done = post_with_csrf_checks(&mut browser, &form.with("confirm", "shop-api")).await;
    let list = follow_with_flash(&mut browser, &done).await;
    assert!(!list.text().contains(r#"data-client-id="shop-api""#));
    assert_eq!(client_rep(&app, &id).await.status.as_u16(), 404);
}

/// Posts `fields` with the page's CSRF token to `path`; returns the status.
async fn post_as(
    browser: &mut Browser<'_>,
    csrf: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> u16 {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    browser.post(path, &all).await.status.as_u16()
}

#[tokio::test]
async fn client_forms_are_refused_to_viewers() {
    let app = app().await;
    let id = create_client(&app, json!({"clientId": "shop-api"})).await;
    let token = app.admin_token().await;
    let role = app
        .post_json(
            &format!("{API}/{id}/roles"),
            Some(&bearer(&token)),
            &json!({"name": "editor"}),
        )
        .await;
    assert_eq!(role.status.as_u16(), 201);
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let list = viewer.get(&format!("{realm}/clients")).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.text());
    assert!(list.text().contains(r#"data-client-id="shop-api""#));
    assert!(!list.text().contains("Create client"));
    let page = viewer.get(&format!("{realm}/clients/{id}")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(!page.text().contains(r#"id="client-settings""#));
    assert!(!page.text().contains(r#"id="delete-client""#));
    let roles = viewer.get(&format!("{realm}/clients/{id}/roles")).await;
    assert!(roles.text().contains(r#"data-role="editor""#));
    assert!(!roles.text().contains(r#"id="create-role""#));
    for path in [
        "/clients/new",
        &format!("/clients/{id}/delete"),
        &format!("/clients/{id}/mappers/new?type=oidc-hardcoded-claim-mapper"),
    ] {
        let page = viewer.get(&format!("{realm}{path}")).await;
        assert_eq!(page.status.as_u16(), 403, "{path}");
    }
    let csrf = list.form_to("/logout").field("csrf").unwrap().to_string();
    let client = format!("{realm}/clients/{id}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{realm}/clients"), vec![("clientId", "mallory")]),
        (
            client.clone(),
            vec![("clientId", "shop-api"), ("access", "public")],
        ),
        (
            format!("{client}/credentials/regenerate"),
            vec![("confirm", "yes")],
        ),
        (format!("{client}/roles"), vec![("name", "admin")]),
        (
            format!("{client}/roles/editor/delete"),
            vec![("confirm", "yes")],
        ),
        (
            format!("{client}/mappers"),
            vec![("type", "oidc-hardcoded-claim-mapper"), ("name", "x")],
        ),
        (format!("{client}/mappers/any-mapper"), vec![("name", "x")]),
        (format!("{client}/delete"), vec![("confirm", "shop-api")]),
    ];
    for (path, fields) in posts {
        assert_eq!(
            post_as(&mut viewer, &csrf, &path, &fields).await,
            403,
            "{path}"
        );
    }
    let rep = client_rep(&app, &id).await.json();
    assert_eq!(rep["publicClient"], false, "nothing changed");
    let registry = app
        .get(
            &format!("{API}?clientId=registry.shop.test"),
            Some(&bearer(&token)),
        )
        .await
        .json();
    let registry_id = registry[0]["id"].as_str().unwrap();
    let page = viewer.get(&format!("{realm}/clients/{registry_id}")).await;
    assert_eq!(
        page.status.as_u16(),
        404,
        "a registry is not an OIDC client here"
    );
}
