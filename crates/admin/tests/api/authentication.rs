//! `authentication/`: required actions (listed, updated, ordered, registered; a disabled one
//! is not enforced, a default one goes to new users) and the built-in flows, read-only.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::App;
use crate::realm_admin::{password_grant, ra_app};

fn auth(path: &str) -> String {
    format!("realms/ra/authentication/{path}")
}

async fn as_user(
    app: &App,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> StatusCode {
    let token = app.access_token("ra", user).await;
    let body = body.map(|b| axum::body::Body::from(b.to_string()));
    app.send(method, path, Some(&token), body).await.status
}

fn aliases(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["alias"].as_str().map(str::to_string))
        .collect()
}

async fn order(app: &App) -> Vec<String> {
    aliases(&app.get(&auth("required-actions")).await.json())
}

#[tokio::test]
async fn required_actions_list_update_and_order() {
    let app = ra_app().await;
    let list = app.get(&auth("required-actions")).await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json();
    assert_eq!(
        aliases(&list),
        [
            "CONFIGURE_TOTP",
            "TERMS_AND_CONDITIONS",
            "UPDATE_PASSWORD",
            "UPDATE_PROFILE",
            "VERIFY_EMAIL"
        ]
    );
    let update_password = app
        .get(&auth("required-actions/UPDATE_PASSWORD"))
        .await
        .json();
    assert_eq!(
        update_password,
        json!({"alias": "UPDATE_PASSWORD", "name": "Update Password",
               "providerId": "UPDATE_PASSWORD", "enabled": true, "defaultAction": false,
               "priority": 30, "config": {}})
    );
    let missing = app.get(&auth("required-actions/NOPE")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"error": "Failed to find required action"})
    );

    // Update, as python-keycloak does: the representation read, changed, put back.
    let mut totp = app
        .get(&auth("required-actions/CONFIGURE_TOTP"))
        .await
        .json();
    totp["enabled"] = json!(false);
    totp["config"] = json!({"x": "1"});
    let reply = app
        .put(&auth("required-actions/CONFIGURE_TOTP"), totp)
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let stored = app
        .get(&auth("required-actions/CONFIGURE_TOTP"))
        .await
        .json();
    assert_eq!(
        (stored["enabled"].clone(), stored["config"].clone()),
        (json!(false), json!({"x": "1"}))
    );

    // Validation: 404 first, then the body.
    let unknown = app
        .put(&auth("required-actions/NOPE"), json!({"bogus": 1}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for body in [
        json!({"bogus": 1}),
        json!({"enabled": "yes"}),
        json!({"alias": "OTHER"}),
        json!({"enabled": false, "defaultAction": true}),
    ] {
        let reply = app
            .put(&auth("required-actions/VERIFY_EMAIL"), body.clone())
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }

    // Order: raise moves up one place, lower down one.
    assert_eq!(
        app.post(
            &auth("required-actions/UPDATE_PASSWORD/raise-priority"),
            json!({})
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(order(&app).await[1], "UPDATE_PASSWORD");
    app.post(
        &auth("required-actions/CONFIGURE_TOTP/lower-priority"),
        json!({}),
    )
    .await;
    assert_eq!(
        order(&app).await[..2],
        ["UPDATE_PASSWORD", "CONFIGURE_TOTP"]
    );
    assert_eq!(
        app.post(&auth("required-actions/NOPE/raise-priority"), json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Unregister and register again.
    assert_eq!(
        app.get(&auth("unregistered-required-actions")).await.json(),
        json!([])
    );
    assert_eq!(
        app.delete(&auth("required-actions/UPDATE_PROFILE"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&auth("unregistered-required-actions")).await.json(),
        json!([{"providerId": "UPDATE_PROFILE", "name": "Update Profile"}])
    );
    let register = app
        .post(
            &auth("register-required-action"),
            json!({"providerId": "UPDATE_PROFILE", "name": "Update Profile"}),
        )
        .await;
    assert_eq!(
        register.status,
        StatusCode::NO_CONTENT,
        "{}",
        register.text()
    );
    assert_eq!(order(&app).await.last().unwrap(), "UPDATE_PROFILE");
    let again = app
        .post(
            &auth("register-required-action"),
            json!({"providerId": "UPDATE_PROFILE"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unknown = app
        .post(
            &auth("register-required-action"),
            json!({"providerId": "webauthn-register"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let empty = app.post(&auth("register-required-action"), json!({})).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);

    // view-realm reads, manage-realm changes.
    assert_eq!(
        as_user(
            &app,
            "realmviewer",
            Method::GET,
            &auth("required-actions"),
            None
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        as_user(
            &app,
            "usermanager",
            Method::GET,
            &auth("required-actions"),
            None
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_user(
            &app,
            "realmviewer",
            Method::PUT,
            &auth("required-actions/VERIFY_EMAIL"),
            Some(json!({"enabled": false}))
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        as_user(
            &app,
            "boss",
            Method::PUT,
            &auth("required-actions/VERIFY_EMAIL"),
            Some(json!({"enabled": false}))
        )
        .await,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_disabled_required_action_is_not_enforced() {
    let app = ra_app().await;
    // `pending` must verify an e-mail address, which blocks sign-in here.
    let refused = password_grant(&app, "pending", "pending-password-1", "openid").await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    let reply = app
        .put(
            &auth("required-actions/VERIFY_EMAIL"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let allowed = password_grant(&app, "pending", "pending-password-1", "openid").await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text());
    app.put(
        &auth("required-actions/VERIFY_EMAIL"),
        json!({"enabled": true}),
    )
    .await;
    let refused = password_grant(&app, "pending", "pending-password-1", "openid").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_default_action_goes_to_new_users() {
    let app = ra_app().await;
    let reply = app
        .put(
            &auth("required-actions/TERMS_AND_CONDITIONS"),
            json!({"enabled": true, "defaultAction": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let id = app
        .post(
            "realms/ra/users",
            json!({"username": "fresh", "enabled": true,
                   "credentials": [{"type": "password", "value": "fresh-password-1"}]}),
        )
        .await
        .created_id();
    let user = app.get(&format!("realms/ra/users/{id}")).await.json();
    assert_eq!(user["requiredActions"], json!(["TERMS_AND_CONDITIONS"]));
    let refused = password_grant(&app, "fresh", "fresh-password-1", "openid").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // Not retroactive: existing users do not get it.
    assert_eq!(
        password_grant(&app, "vic", "vic-password-1", "openid")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn flows_are_listed_read_only() {
    let app = ra_app().await;
    let flows = app.get(&auth("flows")).await;
    assert_eq!(flows.status, StatusCode::OK);
    let flows = flows.json();
    let mut listed = aliases(&flows);
    listed.sort();
    assert_eq!(
        listed,
        [
            "browser",
            "clients",
            "direct grant",
            "docker auth",
            "first broker login",
            "registration",
            "reset credentials"
        ]
    );
    let browser = flows
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["alias"] == "browser")
        .unwrap()
        .clone();
    assert_eq!(browser["topLevel"], true);
    assert_eq!(browser["builtIn"], true);
    assert_eq!(browser["providerId"], "basic-flow");
    let id = browser["id"].as_str().unwrap();
    assert_eq!(app.get(&auth(&format!("flows/{id}"))).await.json(), browser);
    // Ids are stable.
    assert_eq!(app.get(&auth("flows")).await.json(), flows);

    let executions = app.get(&auth("flows/browser/executions")).await;
    assert_eq!(executions.status, StatusCode::OK);
    let executions = executions.json();
    let rows: Vec<(String, i64)> = executions
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["displayName"].as_str().unwrap().to_string(),
                e["level"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Cookie".to_string(), 0),
            ("Identity Provider Redirector".to_string(), 0),
            ("forms".to_string(), 0),
            ("Username Password Form".to_string(), 1),
        ]
    );
    let form = &executions[3];
    assert_eq!(form["providerId"], "auth-username-password-form");
    assert_eq!(form["requirement"], "REQUIRED");
    let execution = app
        .get(&auth(&format!(
            "executions/{}",
            form["id"].as_str().unwrap()
        )))
        .await
        .json();
    assert_eq!(execution["authenticator"], "auth-username-password-form");
    assert_eq!(executions[2]["flowId"].as_str().unwrap().len(), 36);
    let direct = app
        .get(&auth("flows/direct%20grant/executions"))
        .await
        .json();
    assert_eq!(direct.as_array().unwrap().len(), 2);
    let missing = app.get(&auth("flows/nope/executions")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"].is_string());
    assert_eq!(
        app.get(&auth("flows/nope")).await.status,
        StatusCode::NOT_FOUND
    );

    let providers = app.get(&auth("authenticator-providers")).await.json();
    assert!(
        providers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "auth-username-password-form")
    );
    let clients = app
        .get(&auth("client-authenticator-providers"))
        .await
        .json();
    assert!(
        clients
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "client-secret")
    );
    assert_eq!(
        app.get(&auth("form-providers")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&auth("form-action-providers")).await.status,
        StatusCode::OK
    );

    // Every edit: 501 saying why.
    let edits = [
        (
            Method::POST,
            auth("flows"),
            json!({"alias": "mine", "providerId": "basic-flow"}),
        ),
        (
            Method::POST,
            auth("flows/browser/copy"),
            json!({"newName": "copy"}),
        ),
        (Method::PUT, auth(&format!("flows/{id}")), browser.clone()),
        (Method::DELETE, auth(&format!("flows/{id}")), json!({})),
        (Method::PUT, auth("flows/browser/executions"), json!({})),
        (
            Method::POST,
            auth("flows/browser/executions/execution"),
            json!({"provider": "x"}),
        ),
        (
            Method::POST,
            auth("flows/browser/executions/flow"),
            json!({}),
        ),
        (Method::POST, auth("executions/x/raise-priority"), json!({})),
        (Method::POST, auth("executions/x/config"), json!({})),
        (Method::DELETE, auth("executions/x"), json!({})),
    ];
    for (method, path, body) in edits {
        let reply = app.send_json(method.clone(), &path, body).await;
        assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{method} {path}");
        let message = reply.json()["errorMessage"].as_str().unwrap().to_string();
        assert!(message.contains("not supported"), "{message}");
        // Without manage-realm: 403 before 501.
        assert_eq!(
            as_user(&app, "realmviewer", method.clone(), &path, Some(json!({}))).await,
            StatusCode::FORBIDDEN,
            "{method} {path}"
        );
    }
    let unknown_read = app.get(&auth("config/nope")).await;
    assert_eq!(unknown_read.status, StatusCode::NOT_FOUND);
    assert_eq!(
        as_user(&app, "realmviewer", Method::GET, &auth("flows"), None).await,
        StatusCode::OK
    );
    assert_eq!(
        as_user(&app, "usermanager", Method::GET, &auth("flows"), None).await,
        StatusCode::FORBIDDEN
    );
}

/// A script signs in as it does against Keycloak: it reads the login form's `action` (an
/// absolute URL carrying the state in its query) and posts only username and password.
#[tokio::test]
async fn a_scripted_form_login_posts_to_the_forms_action() {
    let app = ra_app().await;
    let kit: &portcullis_testkit::TestApp = &app;
    let mut browser = portcullis_testkit::Browser::new(kit);
    let auth_url = "/auth/realms/ra/protocol/openid-connect/auth?client_id=app\
        &redirect_uri=http%3A%2F%2Fapp.test%2Fcb&response_type=code&scope=openid&state=s1\
        &code_challenge=ZtNPunH49FD35FWYhT5Tv8I7vRKQJ8uxMaL0_9eHjNA&code_challenge_method=S256";
    let page = browser.get(auth_url).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{:?} {}",
        page.location(),
        page.text()
    );
    let html = page.text();
    let start = html.find("id=\"kc-form-login\" action=\"").unwrap() + 27;
    let raw = &html[start..start + html[start..].find('"').unwrap()];
    // Only `&` is escaped, as in Keycloak's page.
    assert!(!raw.contains("&#x2F;"), "{raw}");
    let action = raw.replace("&amp;", "&");
    assert!(
        action
            .starts_with("http://id.test/auth/realms/ra/login-actions/authenticate?session_code="),
        "{action}"
    );
    let realm_id = app.realm_id("ra").await;
    let execution = portcullis_core::flows::login_form_execution_id(&realm_id);
    for part in [
        format!("execution={execution}"),
        "client_id=app".into(),
        "tab_id=".into(),
    ] {
        assert!(action.contains(&part), "{action} lacks {part}");
    }
    // Without the form's cookie the state in the URL is worth nothing.
    let mut stranger = portcullis_testkit::Browser::new(kit);
    let forged = stranger
        .post(
            &action,
            &[("username", "vic"), ("password", "vic-password-1")],
        )
        .await;
    assert!(
        forged.location().is_none_or(|l| !l.contains("code=")),
        "{:?}",
        forged.location()
    );

    let reply = browser
        .post(
            &action,
            &[("username", "vic"), ("password", "vic-password-1")],
        )
        .await;
    assert!(
        reply.status.is_redirection(),
        "{} {}",
        reply.status,
        reply.text()
    );
    let location = reply.location().unwrap();
    assert!(location.starts_with("http://app.test/cb?"), "{location}");
    assert!(
        location.contains("code=") && location.contains("state=s1"),
        "{location}"
    );

    // A wrong password shows the form again, still posting to a URL with the state.
    let mut other = portcullis_testkit::Browser::new(kit);
    let html = other.get(auth_url).await.text();
    let start = html.find("id=\"kc-form-login\" action=\"").unwrap() + 27;
    let action = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
    let wrong = other
        .post(&action, &[("username", "vic"), ("password", "nope")])
        .await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(wrong.text().contains("Invalid username or password."));
    assert!(
        wrong
            .text()
            .contains("login-actions/authenticate?session_code=")
    );
}
