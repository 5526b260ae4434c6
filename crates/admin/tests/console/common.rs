//! The console fixture: `master` (admin `admin`) and realm `shop` with a registry, group
//! `/team-a` (member `bob`), a realm admin `boss` and a user `viewer` who may only view users.

use portcullis_testkit::{Browser, HtmlForm, Reply, TestApp};
use serde_json::json;

pub const ADMIN_PASSWORD: &str = "admin-pw";
pub const PASSWORD: &str = "user-pw-1";

pub async fn app() -> TestApp {
    let user = |name: &str, extra: serde_json::Value| {
        let mut user = json!({
            "username": name,
            "enabled": true,
            "credentials": [{"type": "password", "value": PASSWORD}],
        });
        if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
            u.extend(e.clone());
        }
        user
    };
    TestApp::builder()
        .master_admin("admin", ADMIN_PASSWORD)
        .realm(json!({
            "realm": "shop",
            "enabled": true,
            "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
            "roles": {"realm": [{"name": "ci"}]},
            "groups": [{"name": "team-a", "subGroups": [{"name": "backend"}]}, {"name": "team-b"}],
            "users": [
                user("bob", json!({"groups": ["/team-a/backend"]})),
                user("carol", json!({"realmRoles": ["ci"]})),
                user("boss", json!({"clientRoles": {"realm-management": ["realm-admin"]}})),
                user("viewer", json!({"clientRoles": {"realm-management": ["view-users", "view-clients"]}})),
            ],
            "clients": [{
                "clientId": "registry.shop.test",
                "protocol": "docker-v2",
                "protocolMappers": [{
                    "name": "team-a pushes",
                    "protocol": "docker-v2",
                    "protocolMapper": "docker-v2-repository-access-mapper",
                    "config": {"repository": "team-a/**", "actions": "push", "group": "/team-a"}
                }]
            }]
        }))
        .build()
        .await
}

/// A browser signed in to `console`'s console as `username`; returns it with the base path.
pub async fn signed_in<'a>(
    app: &'a TestApp,
    console: &str,
    username: &str,
    password: &str,
) -> (Browser<'a>, String) {
    let mut browser = Browser::new(app);
    let base = browser
        .sign_in_to_console(console, username, password)
        .await;
    (browser, base)
}

/// The master admin's browser and the base path of `shop` in the master console.
pub async fn master(app: &TestApp) -> (Browser<'_>, String) {
    let (browser, base) = signed_in(app, "master", "admin", ADMIN_PASSWORD).await;
    (browser, format!("{base}/realms/shop"))
}

/// Posts `form` as is, and again with a forged and a missing CSRF token: both refused (400)
/// and nothing changed by them (the caller checks the state after the first, real, post).
pub async fn post_with_csrf_checks(browser: &mut Browser<'_>, form: &HtmlForm) -> Reply {
    let forged = form.clone().with("csrf", "eyJhbGciOiJub25lIn0.e30.");
    let refused = browser.submit(&forged).await;
    assert_eq!(
        refused.status.as_u16(),
        400,
        "forged CSRF token: {}",
        refused.text()
    );
    let missing = form.clone().without("csrf");
    let refused = browser.submit(&missing).await;
    assert_eq!(
        refused.status.as_u16(),
        400,
        "missing CSRF token: {}",
        refused.text()
    );
    browser.submit(form).await
}

/// Follows a 303 and returns the page, which must show a flash message.
pub async fn follow_with_flash(browser: &mut Browser<'_>, reply: &Reply) -> Reply {
    assert_eq!(
        reply.status.as_u16(),
        303,
        "expected a redirect: {}",
        reply.text()
    );
    let location = browser.local(reply.location().unwrap_or_default());
    let page = browser.get(&location).await;
    assert_eq!(page.status.as_u16(), 200, "{location}: {}", page.text());
    assert!(
        page.text().contains(r#"class="flash" role="status""#),
        "no flash on {location}"
    );
    page
}
