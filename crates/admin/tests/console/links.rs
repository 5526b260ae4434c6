//! A user's links to upstream identity providers on the user page, unlinking them, and the
//! provenance of the memberships identity-provider mappers made.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_store::broker::{self, Login};
use portcullis_testkit::{TestApp, bearer};
use serde_json::{Value, json};

use crate::common::{PASSWORD, app, follow_with_flash, master, post_with_csrf_checks, signed_in};

/// When the mappers last asserted bob's memberships: an hour before the clock's time.
const SEEN: &str = "last seen 2026-11-18 10:06 UTC";

/// Adds provider `company` with a group mapper (`/team-b`) and a role mapper (`ci`), links bob
/// to his `company` account through the admin REST API, and records a login through it that
/// gave him both; returns bob's id.
async fn bob_from_company(app: &TestApp) -> String {
    let token = app.admin_token().await;
    let auth = Some(bearer(&token));
    let admin = "/auth/admin/realms/shop";
    let created = app
        .post_json(
            &format!("{admin}/identity-provider/instances"),
            auth.as_deref(),
            &json!({
                "alias": "company",
                "providerId": "oidc",
                "config": {
                    "clientId": "portcullis",
                    "clientSecret": "s3cret",
                    "issuer": "https://idp.company.test/realms/corp",
                    "clientAuthMethod": "client_secret_basic"
                }
            }),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let mapper = |body: Value| {
        let auth = auth.clone();
        async move {
            let reply = app
                .post_json(
                    &format!("{admin}/identity-provider/instances/company/mappers"),
                    auth.as_deref(),
                    &body,
                )
                .await;
            assert_eq!(reply.status.as_u16(), 201, "{}", reply.text());
            reply.created_id()
        }
    };
    let group_mapper = mapper(json!({"name": "team-b member",
        "identityProviderMapper": "hardcoded-group-idp-mapper", "config": {"group": "/team-b"}}))
    .await;
    let role_mapper = mapper(json!({"name": "ci role",
        "identityProviderMapper": "hardcoded-role-idp-mapper", "config": {"role": "ci"}}))
    .await;
    let bob = app.user_id("shop", "bob").await;
    let linked = app
        .post_json(
            &format!("{admin}/users/{bob}/federated-identity/company"),
            auth.as_deref(),
            &json!({"userId": "u-77", "userName": "bob.upstream"}),
        )
        .await;
    assert_eq!(linked.status.as_u16(), 204, "{}", linked.text());
    let snapshot = app
        .store
        .load_realm_snapshot("shop")
        .await
        .unwrap()
        .unwrap();
    let provider = snapshot.identity_provider("company").unwrap();
    let team_b = snapshot.group_by_path("/team-b").unwrap().id.clone();
    let ci = snapshot.role_by_qualified_name("ci").unwrap().id.clone();
    let reconciled = broker::reconcile(
        app.store.connection(),
        Login {
            realm_id: &snapshot.realm.id,
            user_id: &bob,
            provider_id: &provider.id,
            now: app.now() - 3600,
        },
        &BTreeMap::from([(team_b, BTreeSet::from([group_mapper]))]),
        &BTreeMap::from([(ci, BTreeSet::from([role_mapper]))]),
    )
    .await
    .unwrap();
    assert!(reconciled.changed(), "{reconciled:?}");
    bob
}

/// bob's links, as the admin REST API lists them.
async fn rest_links(app: &TestApp, bob: &str) -> Value {
    let token = app.admin_token().await;
    let reply = app
        .get(
            &format!("/auth/admin/realms/shop/users/{bob}/federated-identity"),
            Some(&bearer(&token)),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    reply.json()
}

#[tokio::test]
async fn the_user_page_shows_links_and_where_memberships_come_from() {
    let app = app().await;
    let bob = bob_from_company(&app).await;
    let (mut browser, realm) = master(&app).await;
    let page = browser.get(&format!("{realm}/users/{bob}")).await;
    let text = page.text();
    assert!(
        text.contains("<h2 id=\"identity-provider-links-heading\">Identity provider links</h2>"),
        "{text}"
    );
    assert!(
        text.contains(r#"<tr data-provider="company"><td>company</td><td><code class="wrap">u-77</code></td><td>bob.upstream</td>"#),
        "{text}"
    );
    assert!(
        text.contains(r#"aria-label="Unlink bob from company">Unlink</a>"#),
        "{text}"
    );
    let groups = browser.get(&format!("{realm}/users/{bob}/groups")).await;
    let text = groups.text();
    assert!(
        text.contains(&format!(
            "<td>/team-b<br><span class=\"hint\">from company (team-b member), {SEEN}</span></td>"
        )),
        "{text}"
    );
    assert!(
        text.contains("<td>/team-a/backend</td>"),
        "the admin's membership carries no provenance: {text}"
    );
    let roles = browser.get(&format!("{realm}/users/{bob}/roles")).await;
    assert!(
        roles.text().contains(&format!(
            "<td>ci<br><span class=\"hint\">from company (ci role), {SEEN}</span></td>"
        )),
        "{}",
        roles.text()
    );
    // Someone linked to nothing: the empty state.
    let carol = app.user_id("shop", "carol").await;
    let page = browser.get(&format!("{realm}/users/{carol}")).await;
    assert!(
        page.text()
            .contains("carol is linked to no identity provider."),
        "{}",
        page.text()
    );
    let roles = browser.get(&format!("{realm}/users/{carol}/roles")).await;
    assert!(roles.text().contains("<td>ci</td>"), "{}", roles.text());
    assert!(!roles.text().contains("from company"), "{}", roles.text());
}

#[tokio::test]
async fn unlinking_asks_first_then_removes_the_link() {
    let app = app().await;
    let bob = bob_from_company(&app).await;
    let (mut browser, realm) = master(&app).await;
    let confirm = browser
        .get(&format!(
            "{realm}/users/{bob}/links/unlink?provider=company"
        ))
        .await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.text());
    let text = confirm.text();
    assert!(text.contains("Unlink bob from company?"), "{text}");
    assert!(
        text.contains("The account bob.upstream (u-77) at company no longer signs in as bob."),
        "{text}"
    );
    assert!(
        !text.contains("only way to sign in"),
        "bob has a password: {text}"
    );
    let form = confirm.form_to("/links/unlink");
    assert_eq!(form.field("provider"), Some("company"));
    let unknown = browser.submit(&form.clone().with("provider", "nope")).await;
    assert_eq!(unknown.status.as_u16(), 404, "{}", unknown.text());
    assert_eq!(rest_links(&app, &bob).await.as_array().unwrap().len(), 1);
    // A forged and a missing CSRF token change nothing; the real form unlinks.
    let done = post_with_csrf_checks(&mut browser, &form).await;
    let page = follow_with_flash(&mut browser, &done).await;
    assert!(
        page.text()
            .contains("bob is linked to no identity provider."),
        "{}",
        page.text()
    );
    assert_eq!(rest_links(&app, &bob).await, json!([]));
    let again = browser.submit(&form).await;
    assert_eq!(again.status.as_u16(), 404, "{}", again.text());
}

#[tokio::test]
async fn the_last_way_to_sign_in_is_called_out() {
    let app = app().await;
    let token = app.admin_token().await;
    let created = app
        .post_json(
            "/auth/admin/realms/shop/users",
            Some(&bearer(&token)),
            &json!({"username": "erin", "enabled": true}),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text());
    let erin = app.user_id("shop", "erin").await;
    // Only links to providers the realm has are listed, as in Keycloak.
    let provider = app
        .post_json(
            "/auth/admin/realms/shop/identity-provider/instances",
            Some(&bearer(&token)),
            &json!({"alias": "github", "providerId": "github",
                    "config": {"clientId": "c", "clientSecret": "s"}}),
        )
        .await;
    assert_eq!(provider.status.as_u16(), 201, "{}", provider.text());
    let linked = app
        .post_json(
            &format!("/auth/admin/realms/shop/users/{erin}/federated-identity/github"),
            Some(&bearer(&token)),
            &json!({"userId": "9", "userName": "erin-gh"}),
        )
        .await;
    assert_eq!(linked.status.as_u16(), 204, "{}", linked.text());
    let (mut browser, realm) = master(&app).await;
    let confirm = browser
        .get(&format!(
            "{realm}/users/{erin}/links/unlink?provider=github"
        ))
        .await;
    assert!(
        confirm
            .text()
            .contains("It is erin&#x27;s only way to sign in"),
        "{}",
        confirm.text()
    );
}

#[tokio::test]
async fn viewers_see_links_and_provenance_but_cannot_unlink() {
    let app = app().await;
    let bob = bob_from_company(&app).await;
    let (mut viewer, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let user = format!("{base}/realms/shop/users/{bob}");
    let page = viewer.get(&user).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    let text = page.text();
    assert!(
        text.contains(r#"<tr data-provider="company"><td>company</td>"#),
        "{text}"
    );
    assert!(
        !text.contains(">Unlink</a>"),
        "no unlink for viewers: {text}"
    );
    let groups = viewer.get(&format!("{user}/groups")).await;
    assert!(
        groups
            .text()
            .contains("from company (team-b member), last seen"),
        "{}",
        groups.text()
    );
    let confirm = viewer
        .get(&format!("{user}/links/unlink?provider=company"))
        .await;
    assert_eq!(confirm.status.as_u16(), 403, "{}", confirm.text());
    // A form the viewer builds with its own valid CSRF token: the operation refuses it.
    let csrf = page.form_to("/logout").field("csrf").unwrap().to_string();
    let forged = viewer
        .post(
            &format!("{user}/links/unlink"),
            &[("csrf", csrf.as_str()), ("provider", "company")],
        )
        .await;
    assert_eq!(forged.status.as_u16(), 403, "{}", forged.text());
    let no_csrf = viewer
        .post(&format!("{user}/links/unlink"), &[("provider", "company")])
        .await;
    assert_eq!(no_csrf.status.as_u16(), 400, "{}", no_csrf.text());
    assert_eq!(
        rest_links(&app, &bob).await,
        json!([{"identityProvider": "company", "userId": "u-77", "userName": "bob.upstream"}])
    );
}
