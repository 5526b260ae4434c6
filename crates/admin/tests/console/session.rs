//! Signing in and out: through the realm's login page, bound to the SSO session.

use portcullis_testkit::Browser;

use crate::common::{ADMIN_PASSWORD, PASSWORD, app, signed_in};

#[tokio::test]
async fn signs_in_through_the_realm_login_and_out_again() {
    let app = app().await;
    let (mut browser, base) = signed_in(&app, "master", "admin", ADMIN_PASSWORD).await;
    let home = browser.get(&format!("{base}/")).await;
    assert_eq!(home.status.as_u16(), 200, "{}", home.text());
    let page = home.text();
    assert!(page.contains("shop"), "the realm list names shop");
    let csp = home.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(home.header("x-frame-options"), "DENY");

    let sign_out = home.form_to("/logout");
    let out = browser.submit(&sign_out).await;
    assert_eq!(out.status.as_u16(), 303);
    assert!(
        !browser.jar.contains_key("PORTCULLIS_CONSOLE"),
        "cookie cleared"
    );
    let again = browser.get(&format!("{base}/")).await;
    assert_eq!(again.status.as_u16(), 303, "signed out: back to the login");
    assert!(
        again
            .location()
            .unwrap_or_default()
            .contains("/protocol/openid-connect/auth")
    );
}

#[tokio::test]
async fn signing_out_ends_the_sso_session_and_a_stolen_cookie_with_it() {
    let app = app().await;
    let (mut browser, base) = signed_in(&app, "master", "admin", ADMIN_PASSWORD).await;
    let cookie = browser.jar["PORTCULLIS_CONSOLE"].clone();
    let home = browser.get(&format!("{base}/")).await;
    browser.submit(&home.form_to("/logout")).await;
    // The old cookie, replayed, is worthless: its SSO session ended.
    let mut thief = Browser::new(&app);
    thief.jar.insert("PORTCULLIS_CONSOLE".into(), cookie);
    let replay = thief.get(&format!("{base}/")).await;
    assert_eq!(replay.status.as_u16(), 303, "{}", replay.text());
    // And the realm's own login asks for the password again.
    let start = thief.get(&format!("{base}/")).await;
    let login = thief.get(&thief.local(start.location().unwrap())).await;
    assert!(login.is_login_page(), "{}", login.text());
}

#[tokio::test]
async fn a_forged_or_foreign_cookie_signs_nobody_in() {
    let app = app().await;
    let (browser, _) = signed_in(&app, "shop", "boss", PASSWORD).await;
    let shop_cookie = browser.jar["PORTCULLIS_CONSOLE"].clone();
    let mut thief = Browser::new(&app);
    // A shop cookie is no master cookie: signed by shop's key, for shop's issuer.
    thief.jar.insert("PORTCULLIS_CONSOLE".into(), shop_cookie);
    let master = thief.get("/auth/admin/master/console/").await;
    assert_eq!(master.status.as_u16(), 303);
    thief
        .jar
        .insert("PORTCULLIS_CONSOLE".into(), "not.a.token".into());
    let garbage = thief.get("/auth/admin/shop/console/").await;
    assert_eq!(garbage.status.as_u16(), 303);
}

#[tokio::test]
async fn a_callback_without_the_sign_in_cookie_or_with_a_wrong_state_starts_over() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let start = browser.get("/auth/admin/shop/console/").await;
    let login = browser.get(&browser.local(start.location().unwrap())).await;
    let done = browser.log_in(&login, "boss", PASSWORD).await;
    let callback = browser.local(done.location().unwrap());
    let tampered = callback.replace("state=", "state=x");
    let refused = browser.get(&tampered).await;
    assert_eq!(
        refused.status.as_u16(),
        303,
        "a wrong state restarts the sign-in"
    );
    assert!(!browser.jar.contains_key("PORTCULLIS_CONSOLE"));
    let mut other = Browser::new(&app);
    let replayed = other.get(&callback).await;
    assert_eq!(replayed.status.as_u16(), 303, "no flow cookie: start over");
    assert!(!other.jar.contains_key("PORTCULLIS_CONSOLE"));
}

#[tokio::test]
async fn a_realm_console_shows_only_what_its_admin_may_see() {
    let app = app().await;
    let (mut browser, base) = signed_in(&app, "shop", "viewer", PASSWORD).await;
    let home = browser.get(&format!("{base}/")).await;
    assert_eq!(home.status.as_u16(), 303, "a realm console opens its realm");
    let realm = browser.get(&browser.local(home.location().unwrap())).await;
    assert_eq!(realm.status.as_u16(), 200, "{}", realm.text());
    // Another realm's pages are refused, whatever the link.
    let master = browser.get(&format!("{base}/realms/master/users")).await;
    assert_eq!(master.status.as_u16(), 403, "{}", master.text());
    // A user with no admin role at all sees nothing.
    let (mut nobody, base) = signed_in(&app, "shop", "bob", PASSWORD).await;
    let users = nobody.get(&format!("{base}/realms/shop/users")).await;
    assert_eq!(users.status.as_u16(), 403);
}
