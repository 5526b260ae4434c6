//! `execute-actions-email` and `send-verify-email`: a clear error without SMTP settings, and
//! with them a real SMTP delivery (to a small SMTP server run by the test) whose link runs the
//! actions once.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::common::{App, BASE, app};

/// A minimal SMTP server: accepts every message and keeps its DATA.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = mails.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.to_ascii_uppercase();
                    let reply: &[u8] = if verb.starts_with("EHLO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if verb.starts_with("DATA") {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        kept.lock().unwrap().push(data);
                        b"250 queued\r\n"
                    } else if verb.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

/// The link in a quoted-printable mail, as a path of the app.
fn link_in(mail: &str) -> String {
    let text = mail.replace("=\n", "").replace("=3D", "=");
    let start = text.find(&format!("{BASE}/auth/realms/")).unwrap();
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link.trim_start_matches(BASE).to_string()
}

fn mail_realm() -> Value {
    json!({
        "realm": "mail",
        "enabled": true,
        "clients": [{"clientId": "app", "publicClient": true, "directAccessGrantsEnabled": true}],
        "users": [
            {"username": "una", "enabled": true, "email": "una@mail.test",
             "requiredActions": ["UPDATE_PASSWORD", "VERIFY_EMAIL"],
             "credentials": [{"type": "password", "value": "old-password-1"}]},
            {"username": "nomail", "enabled": true},
            {"username": "helper", "enabled": true,
             "clientRoles": {"realm-management": ["view-users"]}}
        ]
    })
}

async fn mail_app(port: u16) -> App {
    let app = app().await;
    app.import_realm(&mail_realm()).await;
    let reply = app
        .put(
            "realms/mail",
            json!({"smtpServer": {"host": "127.0.0.1", "port": port.to_string(),
                                  "from": "id@mail.test", "fromDisplayName": "Mail Realm"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    app
}

fn kit(app: &App) -> &portcullis_testkit::TestApp {
    app
}

async fn form_post(app: &App, path: &str, form: &[(&str, &str)]) -> portcullis_testkit::Reply {
    app.post_form(path, None, form).await
}

#[tokio::test]
async fn execute_actions_email_sends_a_link_that_runs_the_actions_once() {
    let (port, mails) = smtp_sink().await;
    let app = mail_app(port).await;
    let una = app.user_id("mail", "una").await;
    let reply = app
        .put(
            &format!("realms/mail/users/{una}/execute-actions-email?lifespan=3600&client_id=app"),
            json!(["UPDATE_PASSWORD", "VERIFY_EMAIL"]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let mail = mails.lock().unwrap().pop().expect("a mail was delivered");
    assert!(mail.contains("Subject: Update Your Account"), "{mail}");
    assert!(mail.contains("To: una@mail.test"), "{mail}");
    assert!(mail.contains("Mail Realm"), "{mail}");
    assert!(mail.contains("1 hour"), "{mail}");
    let link = link_in(&mail);
    assert!(link.starts_with("/auth/realms/mail/login-actions/action-token?key="));

    let page = kit(&app).get(&link, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("password-new"), "{}", page.text());
    let key = link
        .split("key=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let action = "/auth/realms/mail/login-actions/action-token";
    // Passwords that differ change nothing.
    let reply = form_post(
        &app,
        action,
        &[
            ("flow", &key),
            ("password-new", "new-password-2"),
            ("password-confirm", "x"),
        ],
    )
    .await;
    assert!(reply.text().contains("Passwords don"), "{}", reply.text());
    let form = [
        ("flow", key.as_str()),
        ("password-new", "new-password-2"),
        ("password-confirm", "new-password-2"),
    ];
    let reply = form_post(&app, action, &form).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.text().contains("Your account has been updated."));
    let user = app.get(&format!("realms/mail/users/{una}")).await.value();
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["requiredActions"], json!([]));
    let grant = |password: &'static str| {
        [
            ("grant_type", "password"),
            ("client_id", "app"),
            ("username", "una"),
            ("password", password),
        ]
    };
    let token = "/auth/realms/mail/protocol/openid-connect/token";
    assert_eq!(
        app.post_form(token, None, &grant("new-password-2"))
            .await
            .status,
        StatusCode::OK
    );
    assert_ne!(
        app.post_form(token, None, &grant("old-password-1"))
            .await
            .status,
        StatusCode::OK
    );
    // Used once only; a forged key is refused.
    let again = form_post(&app, action, &form).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.text().contains("already used"), "{}", again.text());
    let forged = format!("{}x", &key[..key.len() - 1]);
    let reply = kit(&app).get(&format!("{action}?key={forged}"), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn send_verify_email_confirms_the_address() {
    let (port, mails) = smtp_sink().await;
    let app = mail_app(port).await;
    let una = app.user_id("mail", "una").await;
    let path = format!("realms/mail/users/{una}/send-verify-email");
    let reply = app.send(Method::PUT, &path, Some(&app.admin), None).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text());
    let mail = mails.lock().unwrap().pop().expect("a mail was delivered");
    assert!(mail.contains("Subject: Verify email"), "{mail}");
    let link = link_in(&mail);
    let page = kit(&app).get(&link, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("una@mail.test"));
    let user = app.get(&format!("realms/mail/users/{una}")).await.value();
    assert_eq!(
        user["emailVerified"], false,
        "opening the link changes nothing"
    );
    let key = link.split("key=").nth(1).unwrap().to_string();
    let reply = form_post(
        &app,
        "/auth/realms/mail/login-actions/action-token",
        &[("flow", &key)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let user = app.get(&format!("realms/mail/users/{una}")).await.value();
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["requiredActions"], json!(["UPDATE_PASSWORD"]));
}

#[tokio::test]
async fn action_emails_refuse_what_keycloak_refuses() {
    let (port, mails) = smtp_sink().await;
    let app = mail_app(port).await;
    let una = app.user_id("mail", "una").await;
    let nomail = app.user_id("mail", "nomail").await;
    let helper = app.access_token("mail", "helper").await;
    let put = |token: String, path: String, body: Option<Value>| {
        let app = &app;
        async move {
            let body = body.map(|b| Body::from(b.to_string()));
            app.send(Method::PUT, &path, Some(&token), body).await
        }
    };
    let execute =
        |user: &str, query: &str| format!("realms/mail/users/{user}/execute-actions-email{query}");
    let admin = app.admin.clone();
    let cases = [
        (
            execute(&nomail, ""),
            json!(["UPDATE_PASSWORD"]),
            StatusCode::BAD_REQUEST,
            "User email missing",
        ),
        (
            execute(&una, "?client_id=nope"),
            json!(["UPDATE_PASSWORD"]),
            StatusCode::BAD_REQUEST,
            "Client doesn't exist",
        ),
        (
            execute(&una, "?redirect_uri=http://x.test/"),
            json!(["UPDATE_PASSWORD"]),
            StatusCode::BAD_REQUEST,
            "Client id missing",
        ),
        (
            execute(&una, ""),
            json!(["CONFIGURE_TOTP"]),
            StatusCode::BAD_REQUEST,
            "Provided invalid required actions",
        ),
    ];
    for (path, body, status, message) in cases {
        let reply = put(admin.clone(), path.clone(), Some(body)).await;
        assert_eq!(reply.status, status, "{path}");
        assert!(
            reply.value()["errorMessage"]
                .as_str()
                .unwrap()
                .contains(message),
            "{path}: {}",
            reply.text()
        );
    }
    let reply = put(helper, execute(&una, ""), Some(json!(["UPDATE_PASSWORD"]))).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = put(
        admin.clone(),
        execute("nobody", ""),
        Some(json!(["UPDATE_PASSWORD"])),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(mails.lock().unwrap().is_empty());

    // A realm without SMTP settings: a 500 that says so.
    let alice = app.user_id("acme", "alice").await;
    for path in [
        format!("realms/acme/users/{alice}/execute-actions-email"),
        format!("realms/acme/users/{alice}/send-verify-email"),
    ] {
        let body = path
            .ends_with("execute-actions-email")
            .then(|| json!(["UPDATE_PASSWORD"]));
        let reply = put(admin.clone(), path.clone(), body).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let message = reply.value()["errorMessage"].as_str().unwrap().to_string();
        assert!(message.contains("no SMTP server configured"), "{message}");
    }
    // An SMTP server that is not there: a 500 naming the failure.
    drop(mails);
    let reply = app
        .put(
            "realms/mail",
            json!({"smtpServer": {"host": "127.0.0.1", "port": "1", "from": "id@mail.test"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = put(admin, execute(&una, ""), Some(json!(["UPDATE_PASSWORD"]))).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        reply.value()["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Failed to send execute actions email: sending through 127.0.0.1")
    );
}
