//! Client scopes: the realm's list with types, create, settings, delete, mappers and role scope
//! mappings; a client's Client scopes tab with Evaluate, and its Scope tab.

use portcullis_testkit::{Browser, HtmlForm, Reply, TestApp, bearer};
use serde_json::{Value, json};

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

const API: &str = "/auth/admin/realms/shop";

async fn api_get(app: &TestApp, path: &str) -> Value {
    let token = app.admin_token().await;
    let reply = app
        .get(&format!("{API}{path}"), Some(&bearer(&token)))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{path}: {}", reply.text());
    reply.json()
}

async fn api_post(app: &TestApp, path: &str, body: Value) -> Reply {
    let token = app.admin_token().await;
    app.post_json(&format!("{API}{path}"), Some(&bearer(&token)), &body)
        .await
}

/// The id of the realm's scope `name`, or `None`.
async fn scope_id(app: &TestApp, name: &str) -> Option<String> {
    let list = api_get(app, "/client-scopes").await;
    list.as_array()?
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["id"].as_str())
        .map(str::to_string)
}

/// Names of the realm's default (or optional) scopes for new clients.
async fn realm_defaults(app: &TestApp, kind: &str) -> Vec<String> {
    let list = api_get(app, &format!("/default-{kind}-client-scopes")).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

async fn create_client(app: &TestApp, body: Value) -> String {
    let created = api_post(app, "/clients", body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    created.created_id()
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

/// The page's CSRF token (from the sign-out form every page has).
fn csrf_of(page: &Reply) -> String {
    page.form_to("/logout").field("csrf").unwrap().to_string()
}

/// The id at the end of a redirect's location.
fn id_of(reply: &Reply) -> String {
    reply
        .location()
        .unwrap_or_default()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A form on `page` whose action contains `part` and ends with `suffix`.
fn form_with(page: &Reply, part: &str, suffix: &str) -> HtmlForm {
    page.forms()
        .into_iter()
        .find(|f| f.action.contains(part) && f.action.ends_with(suffix))
        .unwrap_or_else(|| panic!("no form {part}…{suffix}: {}", page.text()))
}

/// Creates scope `name` through the console's form; returns its id.
async fn create_scope(browser: &mut Browser<'_>, realm: &str, name: &str, kind: &str) -> String {
    let page = browser.get(&format!("{realm}/client-scopes/new")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let form = page
        .form_to("/client-scopes")
        .with("name", name)
        .with("description", "Shop <tier>")
        .with("protocol", "openid-connect")
        .with("type", kind);
    let created = browser.submit(&form).await;
    assert_eq!(created.status.as_u16(), 303, "{}", created.text());
    id_of(&created)
}

#[tokio::test]
async fn lists_creates_edits_and_deletes_client_scopes() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let list = browser.get(&format!("{realm}/client-scopes")).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.text());
    let text = list.text();
    assert!(
        text.contains(r#"aria-current="page">Client scopes</a>"#),
        "in the navigation"
    );
    assert!(text.contains(r#"data-scope="profile""#) && text.contains(r#"data-scope="phone""#));
    let filtered = browser.get(&format!("{realm}/client-scopes?q=PHO")).await;
    assert!(filtered.text().contains(r#"data-scope="phone""#));
    assert!(!filtered.text().contains(r#"data-scope="profile""#));
    let none = browser.get(&format!("{realm}/client-scopes?q=zzz")).await;
    assert!(none.text().contains("No client scope's name contains"));

    let page = browser.get(&format!("{realm}/client-scopes/new")).await;
    let form = page.form_to("/client-scopes");
    for (name, field) in [(" ", "name"), ("has space", "name"), ("profile", "name")] {
        let refused = browser.submit(&form.clone().with("name", name)).await;
        assert_field_error(&refused, field);
    }
    let bad_type = browser
        .submit(&form.clone().with("name", "tier").with("type", "sometimes"))
        .await;
    assert_field_error(&bad_type, "type");
    assert!(scope_id(&app, "tier").await.is_none(), "nothing created");

    let good = form
        .with("name", "tier")
        .with("description", "Shop <tier>")
        .with("type", "optional")
        .with("consent", "on")
        .without("includeInToken");
    let created = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &created).await;
    assert!(page.text().contains("<h1>tier"), "{}", page.text());
    assert!(page.text().contains("Shop &lt;tier&gt;"), "escaped");
    let id = id_of(&created);
    let rep = api_get(&app, &format!("/client-scopes/{id}")).await;
    assert_eq!(rep["protocol"], "openid-connect");
    assert_eq!(rep["attributes"]["include.in.token.scope"], "false");
    assert_eq!(rep["attributes"]["display.on.consent.screen"], "true");
    assert!(
        realm_defaults(&app, "optional")
            .await
            .contains(&"tier".to_string())
    );

    // Settings: rename, type default, consent text.
    let form = page.form_to(&format!("/client-scopes/{id}"));
    assert_field_error(
        &browser.submit(&form.clone().with("name", "phone")).await,
        "name",
    );
    let saved = post_with_csrf_checks(
        &mut browser,
        &form
            .with("name", "tiers")
            .with("type", "default")
            .with("consentText", "Your tier")
            .with("includeInToken", "on"),
    )
    .await;
    follow_with_flash(&mut browser, &saved).await;
    let rep = api_get(&app, &format!("/client-scopes/{id}")).await;
    assert_eq!(rep["name"], "tiers");
    assert_eq!(rep["attributes"]["consent.screen.text"], "Your tier");
    assert_eq!(rep["attributes"]["include.in.token.scope"], "true");
    assert!(
        realm_defaults(&app, "default")
            .await
            .contains(&"tiers".to_string())
    );
    assert!(
        !realm_defaults(&app, "optional")
            .await
            .contains(&"tiers".to_string())
    );

    // Delete: a confirmation first.
    let ask = browser
        .get(&format!("{realm}/client-scopes/{id}/delete"))
        .await;
    assert_eq!(ask.status.as_u16(), 200, "{}", ask.text());
    assert!(ask.text().contains("Delete the client scope tiers?"));
    let done = post_with_csrf_checks(&mut browser, &ask.form_to("/delete")).await;
    let list = follow_with_flash(&mut browser, &done).await;
    assert!(!list.text().contains(r#"data-scope="tiers""#));
    assert!(scope_id(&app, "tiers").await.is_none());
}

#[tokio::test]
async fn changes_the_realm_type_from_the_list() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let phone = scope_id(&app, "phone").await.unwrap();
    let list = browser.get(&format!("{realm}/client-scopes")).await;
    let form = form_with(&list, &phone, "/type");
    assert_eq!(form.field("from"), Some("list"));
    let done = post_with_csrf_checks(&mut browser, &form.clone().with("type", "default")).await;
    assert!(
        done.location()
            .unwrap_or_default()
            .ends_with("/client-scopes")
    );
    let list = follow_with_flash(&mut browser, &done).await;
    assert!(
        realm_defaults(&app, "default")
            .await
            .contains(&"phone".to_string())
    );
    assert!(
        !realm_defaults(&app, "optional")
            .await
            .contains(&"phone".to_string())
    );
    let form = form_with(&list, &phone, "/type");
    let done = browser.submit(&form.clone().with("type", "none")).await;
    assert_eq!(done.status.as_u16(), 303);
    assert!(
        !realm_defaults(&app, "default")
            .await
            .contains(&"phone".to_string())
    );
    assert!(
        !realm_defaults(&app, "optional")
            .await
            .contains(&"phone".to_string())
    );
    let bad = browser.submit(&form.with("type", "always")).await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text());
}

#[tokio::test]
async fn adds_edits_and_deletes_scope_mappers() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let id = create_scope(&mut browser, &realm, "tier", "none").await;
    let base = format!("{realm}/client-scopes/{id}/mappers");
    let page = browser.get(&base).await;
    assert!(
        page.text().contains("adds no claims yet"),
        "{}",
        page.text()
    );
    assert!(
        page.text()
            .contains(r#"value="oidc-hardcoded-claim-mapper""#)
    );
    assert_field_error(&browser.get(&format!("{base}/new?type=nope")).await, "type");
    let page = browser
        .get(&format!("{base}/new?type=oidc-hardcoded-claim-mapper"))
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(
        page.text().contains(r#"id="add-mapper""#),
        "the shared mapper form"
    );
    let form = page.form_to(&format!("/client-scopes/{id}/mappers"));
    assert_field_error(
        &browser.submit(&form.clone().with("name", " ")).await,
        "name",
    );
    let good = form
        .with("name", "tier")
        .with("config-0", "tier")
        .with("config-1", "gold");
    let added = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(page.text().contains(r#"data-mapper="tier""#));
    assert_field_error(&browser.submit(&good).await, "name");
    let mappers = api_get(
        &app,
        &format!("/client-scopes/{id}/protocol-mappers/models"),
    )
    .await;
    assert_eq!(mappers[0]["config"]["claim.value"], "gold");
    let mapper_id = mappers[0]["id"].as_str().unwrap().to_string();

    let edit = browser.get(&format!("{base}/{mapper_id}")).await;
    assert_eq!(edit.status.as_u16(), 200, "{}", edit.text());
    let form = edit.form_to(&format!("/mappers/{mapper_id}"));
    assert_eq!(form.field("config-1"), Some("gold"));
    assert_field_error(
        &browser.submit(&form.clone().with("name", "")).await,
        "name",
    );
    let saved = post_with_csrf_checks(&mut browser, &form.with("config-1", "silver")).await;
    follow_with_flash(&mut browser, &saved).await;
    let mappers = api_get(
        &app,
        &format!("/client-scopes/{id}/protocol-mappers/models"),
    )
    .await;
    assert_eq!(mappers[0]["config"]["claim.value"], "silver");

    let page = browser.get(&base).await;
    let ask = post_with_csrf_checks(&mut browser, &form_with(&page, "/mappers/", "/delete")).await;
    assert_eq!(ask.status.as_u16(), 200, "{}", ask.text());
    assert!(ask.text().contains("Delete the mapper tier?"));
    let done = post_with_csrf_checks(&mut browser, &form_with(&ask, "/mappers/", "/delete")).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(page.text().contains("adds no claims yet"));
}

#[tokio::test]
async fn maps_realm_and_client_roles_into_a_scope() {
    let app = app().await;
    let shop_api = create_client(&app, json!({"clientId": "shop-api"})).await;
    let role = api_post(
        &app,
        &format!("/clients/{shop_api}/roles"),
        json!({"name": "editor"}),
    )
    .await;
    assert_eq!(role.status.as_u16(), 201);
    let (mut browser, realm) = master(&app).await;
    let id = create_scope(&mut browser, &realm, "tier", "none").await;
    let base = format!("{realm}/client-scopes/{id}/scope");
    let page = browser.get(&base).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains("No realm role is mapped."));
    let form = page.form_to("/scope/realm");
    assert_field_error(
        &browser.submit(&form.clone().with("role", "nope")).await,
        "role",
    );
    let added = post_with_csrf_checks(&mut browser, &form.with("role", "ci")).await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(page.text().contains(r#"data-role="ci""#));
    let realm_roles = api_get(&app, &format!("/client-scopes/{id}/scope-mappings/realm")).await;
    assert_eq!(realm_roles[0]["name"], "ci");

    let unknown = browser.get(&format!("{base}?client=nope")).await;
    assert_field_error(&unknown, "client");
    let chosen = browser.get(&format!("{base}?client=shop-api")).await;
    let form = chosen.form_to("/scope/client");
    assert_eq!(form.field("client"), Some("shop-api"));
    assert_field_error(
        &browser.submit(&form.clone().with("role", "nope")).await,
        "client-role",
    );
    let added = post_with_csrf_checks(&mut browser, &form.with("role", "editor")).await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(page.text().contains(r#"data-role="shop-api.editor""#));
    let client_roles = api_get(
        &app,
        &format!("/client-scopes/{id}/scope-mappings/clients/{shop_api}"),
    )
    .await;
    assert_eq!(client_roles[0]["name"], "editor");

    let remove = form_with(&page, "/scope/", "/remove");
    let done = post_with_csrf_checks(&mut browser, &remove).await;
    let page = follow_with_flash(&mut browser, &done).await;
    let remove = form_with(&page, "/scope/", "/remove");
    browser.submit(&remove).await;
    let realm_roles = api_get(&app, &format!("/client-scopes/{id}/scope-mappings/realm")).await;
    let client_roles = api_get(
        &app,
        &format!("/client-scopes/{id}/scope-mappings/clients/{shop_api}"),
    )
    .await;
    assert_eq!((realm_roles, client_roles), (json!([]), json!([])));
}

/// Names of a client's default (or optional) scopes.
async fn client_scope_names(app: &TestApp, client: &str, kind: &str) -> Vec<String> {
    let list = api_get(app, &format!("/clients/{client}/{kind}-client-scopes")).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn assigns_client_scopes_to_a_client_and_evaluates_them() {
    let app = app().await;
    let client = create_client(
        &app,
        json!({"clientId": "shop-web", "defaultClientScopes": ["profile"], "optionalClientScopes": ["phone"]}),
    )
    .await;
    let (mut browser, realm) = master(&app).await;
    let scope = create_scope(&mut browser, &realm, "tier", "none").await;
    let mapper = browser
        .get(&format!(
            "{realm}/client-scopes/{scope}/mappers/new?type=oidc-hardcoded-claim-mapper"
        ))
        .await
        .form_to("/mappers")
        .with("name", "tier")
        .with("config-0", "tier")
        .with("config-1", "gold");
    assert_eq!(browser.submit(&mapper).await.status.as_u16(), 303);

    let base = format!("{realm}/clients/{client}/client-scopes");
    let page = browser.get(&base).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert!(
        text.contains(r#"data-scope="profile" data-type="Default""#),
        "{text}"
    );
    assert!(text.contains(r#"data-scope="phone" data-type="Optional""#));
    assert!(text.contains(&format!(r#"<option value="{scope}">tier</option>"#)));
    let form = page.form_to(&format!("/clients/{client}/client-scopes"));
    let refused = browser
        .submit(&form.clone().with("scope", &scope).with("type", "sometimes"))
        .await;
    assert_field_error(&refused, "type");
    let refused = browser
        .submit(
            &form
                .clone()
                .with("scope", "no-such-scope")
                .with("type", "default"),
        )
        .await;
    assert_field_error(&refused, "scope");
    let added = post_with_csrf_checks(
        &mut browser,
        &form.with("scope", &scope).with("type", "optional"),
    )
    .await;
    let page = follow_with_flash(&mut browser, &added).await;
    assert!(
        page.text()
            .contains(r#"data-scope="tier" data-type="Optional""#)
    );
    assert!(
        client_scope_names(&app, &client, "optional")
            .await
            .contains(&"tier".to_string())
    );

    // Type change and removal.
    let phone = scope_id(&app, "phone").await.unwrap();
    let change = form_with(&page, &phone, "/type").with("type", "default");
    let done = post_with_csrf_checks(&mut browser, &change).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(
        client_scope_names(&app, &client, "default")
            .await
            .contains(&"phone".to_string())
    );
    assert!(
        !client_scope_names(&app, &client, "optional")
            .await
            .contains(&"phone".to_string())
    );
    let done = post_with_csrf_checks(&mut browser, &form_with(&page, &phone, "/remove")).await;
    follow_with_flash(&mut browser, &done).await;
    assert!(
        !client_scope_names(&app, &client, "default")
            .await
            .contains(&"phone".to_string())
    );

    // Evaluate: a user search that offers matches, then the user with and without `tier`.
    let evaluate = format!("{base}/evaluate");
    let page = browser.get(&evaluate).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains("Choose a user to see"));
    assert!(
        page.text()
            .contains(r#"<code id="scope-parameter">openid</code>"#)
    );
    let search = browser.get(&format!("{evaluate}?user=ca&scope=tier")).await;
    assert!(search.text().contains(">carol</a>"), "{}", search.text());
    let nobody = browser.get(&format!("{evaluate}?user=zed")).await;
    assert!(nobody.text().contains(r#"id="user-error""#));
    let without = browser.get(&format!("{evaluate}?user=carol")).await;
    let text = without.text();
    assert!(text.contains(r#"id="access-token""#), "{text}");
    assert!(
        !text.contains("&quot;tier&quot;: &quot;gold&quot;"),
        "not asked for"
    );
    assert!(!text.contains(r#"data-mapper="tier""#));
    let with = browser
        .get(&format!("{evaluate}?user=carol&scope=tier"))
        .await;
    let text = with.text();
    assert!(
        text.contains(r#"<code id="scope-parameter">openid tier</code>"#),
        "{text}"
    );
    assert!(text.contains(r#"data-mapper="tier""#));
    assert!(
        text.contains("&quot;tier&quot;: &quot;gold&quot;"),
        "{text}"
    );
    assert!(text.contains("&quot;preferred_username&quot;: &quot;carol&quot;"));
    assert!(text.contains(r#"id="id-token""#) && text.contains(r#"id="userinfo""#));
    assert!(
        text.contains(r#"data-role="ci""#),
        "full scope: carol's ci role"
    );
    // The same answers as the REST evaluate-scopes endpoints.
    let rest = api_get(
        &app,
        &format!("/clients/{client}/evaluate-scopes/protocol-mappers?scope=openid%20tier"),
    )
    .await;
    assert!(
        rest.as_array()
            .unwrap()
            .iter()
            .any(|m| m["mapperName"] == "tier")
    );
}

#[tokio::test]
async fn full_scope_switch_and_client_role_scope_mappings() {
    let app = app().await;
    let client = create_client(&app, json!({"clientId": "shop-web"})).await;
    let (mut browser, realm) = master(&app).await;
    let base = format!("{realm}/clients/{client}/scope");
    let page = browser.get(&base).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains("needs no role scope mappings"));
    let off = page.form_to("/scope/full").without("full");
    let done = post_with_csrf_checks(&mut browser, &off).await;
    let page = follow_with_flash(&mut browser, &done).await;
    let rep = api_get(&app, &format!("/clients/{client}")).await;
    assert_eq!(rep["fullScopeAllowed"], false);
    let form = page.form_to("/scope/realm");
    assert_field_error(
        &browser.submit(&form.clone().with("role", "")).await,
        "role",
    );
    let done = post_with_csrf_checks(&mut browser, &form.with("role", "ci")).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(page.text().contains(r#"data-role="ci""#));
    let mapped = api_get(&app, &format!("/clients/{client}/scope-mappings/realm")).await;
    assert_eq!(mapped[0]["name"], "ci");
    let evaluate = browser
        .get(&format!("{realm}/clients/{client}/client-scopes/evaluate"))
        .await;
    assert!(evaluate.text().contains(r#"data-role="ci""#));
    assert!(
        !evaluate.text().contains(r#"data-role="offline_access""#),
        "not in scope"
    );
    let done = post_with_csrf_checks(&mut browser, &form_with(&page, "/scope/", "/remove")).await;
    follow_with_flash(&mut browser, &done).await;
    let mapped = api_get(&app, &format!("/clients/{client}/scope-mappings/realm")).await;
    assert_eq!(mapped, json!([]));
    let on = browser
        .get(&base)
        .await
        .form_to("/scope/full")
        .with("full", "on");
    let done = browser.submit(&on).await;
    assert_eq!(done.status.as_u16(), 303);
    let rep = api_get(&app, &format!("/clients/{client}")).await;
    assert_eq!(rep["fullScopeAllowed"], true);
}

/// Posts `fields` with a CSRF token to `path`; returns the status.
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
async fn client_scope_forms_are_refused_to_viewers_and_other_realms() {
    let app = app().await;
    let client = create_client(&app, json!({"clientId": "shop-web"})).await;
    let phone = scope_id(&app, "phone").await.unwrap();
    // A viewer (view-clients, view-users) sees, but changes nothing.
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let list = viewer.get(&format!("{realm}/client-scopes")).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.text());
    assert!(list.text().contains(r#"data-scope="phone""#));
    assert!(!list.text().contains("Create client scope"));
    assert!(!list.text().contains("/type\""), "no type forms");
    let page = viewer.get(&format!("{realm}/client-scopes/{phone}")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(!page.text().contains(r#"id="client-scope-settings""#));
    let evaluate = viewer
        .get(&format!(
            "{realm}/clients/{client}/client-scopes/evaluate?user=carol"
        ))
        .await;
    assert_eq!(evaluate.status.as_u16(), 200, "{}", evaluate.text());
    for path in [
        "/client-scopes/new".to_string(),
        format!("/client-scopes/{phone}/delete"),
        format!("/client-scopes/{phone}/mappers/new?type=oidc-hardcoded-claim-mapper"),
    ] {
        let page = viewer.get(&format!("{realm}{path}")).await;
        assert_eq!(page.status.as_u16(), 403, "{path}");
    }
    let csrf = csrf_of(&list);
    let scope = format!("{realm}/client-scopes/{phone}");
    let client_base = format!("{realm}/clients/{client}");
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (format!("{realm}/client-scopes"), vec![("name", "mallory")]),
        (scope.clone(), vec![("name", "phone2")]),
        (format!("{scope}/type"), vec![("type", "default")]),
        (format!("{scope}/delete"), vec![("confirm", "yes")]),
        (
            format!("{scope}/mappers"),
            vec![("type", "oidc-hardcoded-claim-mapper"), ("name", "x")],
        ),
        (format!("{scope}/scope/realm"), vec![("role", "ci")]),
        (
            format!("{client_base}/client-scopes"),
            vec![("scope", &phone), ("type", "default")],
        ),
        (format!("{client_base}/scope/full"), vec![]),
        (format!("{client_base}/scope/realm"), vec![("role", "ci")]),
    ];
    for (path, fields) in &posts {
        assert_eq!(
            post_as(&mut viewer, &csrf, path, fields).await,
            403,
            "{path}"
        );
    }
    assert!(scope_id(&app, "mallory").await.is_none());
    assert!(scope_id(&app, "phone").await.is_some(), "not deleted");
    let rep = api_get(&app, &format!("/clients/{client}")).await;
    assert_eq!(rep["fullScopeAllowed"], true, "unchanged");

    // Without a console session: sent to sign in.
    let mut anonymous = Browser::new(&app);
    let page = anonymous
        .get("/auth/admin/shop/console/realms/shop/client-scopes")
        .await;
    assert_eq!(page.status.as_u16(), 303, "{}", page.text());
    // A user of shop with no admin role sees nothing and changes nothing.
    let (mut bob, base) = signed_in(&app, "shop", "bob", PASSWORD).await;
    let page = bob.get(&format!("{base}/realms/shop/client-scopes")).await;
    assert_eq!(page.status.as_u16(), 403, "{}", page.text());
    let page = bob
        .get(&format!(
            "{base}/realms/shop/clients/{client}/client-scopes/evaluate"
        ))
        .await;
    assert_eq!(page.status.as_u16(), 403, "{}", page.text());
    for (path, fields) in &posts {
        let path = path.replace(&realm, &format!("{base}/realms/shop"));
        // Refused either way: bob has no form token of his own and no right.
        let status = post_as(&mut bob, &csrf, &path, fields).await;
        assert!(matches!(status, 400 | 403), "bob: {path}: {status}");
    }

    // shop's realm admin cannot reach master's client scopes.
    let (mut boss, base) = signed_in(&app, "shop", "boss", PASSWORD).await;
    let own = boss.get(&format!("{base}/realms/shop/client-scopes")).await;
    assert_eq!(own.status.as_u16(), 200, "{}", own.text());
    let master_scopes = boss
        .get(&format!("{base}/realms/master/client-scopes"))
        .await;
    assert_eq!(
        master_scopes.status.as_u16(),
        403,
        "{}",
        master_scopes.text()
    );
    let csrf = csrf_of(&own);
    assert_eq!(
        post_as(
            &mut boss,
            &csrf,
            &format!("{base}/realms/master/client-scopes"),
            &[("name", "mallory")]
        )
        .await,
        403
    );
}
