//! The login flow's seam, on the real router pieces and database (the test kit): a continuation
//! of a kind no protocol knows (a probe, as brokering or the account console will add theirs)
//! goes through the login page, the required action, the SSO session and the consent page, and
//! is resumed at once on the next visit while the session lives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use async_trait::async_trait;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use portcullis_testkit::{Browser, Reply, TestApp};
use portcullis_web::AppState;
use portcullis_web::login::{
    self, ConsentView, Continuation, Continuations, LiveSession, LoginError, LoginHints, Pending,
    RealmCtx,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

const PROBE: &str = "/auth/realms/acme/probe";

/// Finishes a login by naming what it was for, who is signed in and in which session; for the
/// page `/consent`, it asks first and reports the answer.
struct Probe;

#[derive(Debug, Serialize, Deserialize)]
struct ProbeState {
    page: String,
}

#[async_trait]
impl Continuation for Probe {
    fn kind(&self) -> &'static str {
        "test-probe"
    }

    fn check(&self, ctx: &RealmCtx, pending: &Pending) -> Option<Response> {
        let state: ProbeState = pending.state_as().ok()?;
        (state.page == "/gone").then(|| ctx.message(StatusCode::GONE, "Gone", "probe gone"))
    }

    async fn resume(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: ProbeState = pending.state_as()?;
        if state.page == "/consent" {
            let view = ConsentView {
                client_id: "probe-client".into(),
                scopes: vec!["Read the probe".into()],
                device: false,
            };
            return login::consent_page(ctx, pending, live, headers, view);
        }
        Ok(resumed(&state.page, live, "signed in"))
    }

    async fn decide(
        &self,
        _ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        accept: bool,
        _headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let state: ProbeState = pending.state_as()?;
        Ok(resumed(&state.page, live, &format!("accept={accept}")))
    }
}

fn resumed(page: &str, live: &LiveSession, note: &str) -> Response {
    let body = format!(
        "resumed {page} for {} in session {} ({note})",
        live.user.username, live.session.id
    );
    (StatusCode::OK, body).into_response()
}

/// `GET {realm}/probe?page=&force=`: starts a login for the probe.
async fn start(
    State(state): State<AppState>,
    Extension(continuations): Extension<Continuations>,
    Path(path): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, LoginError> {
    let ctx = match RealmCtx::load(&state, &path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    let page = query.get("page").cloned().unwrap_or_default();
    let hints = LoginHints {
        login_hint: query.get("hint").cloned(),
        force_login: query.contains_key("force"),
        ..LoginHints::default()
    };
    let pending = Pending::new("test-probe", &ProbeState { page })?.with_hints(hints);
    login::begin(&ctx, &continuations, &headers, pending).await
}

/// The app with a router of the login flow's routes and the probe, registered as the binary
/// registers its continuations.
async fn app() -> TestApp {
    let mut app = TestApp::with_realms([json!({
        "realm": "acme",
        "enabled": true,
        "users": [
            {"username": "alice", "enabled": true,
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "temp", "enabled": true, "requiredActions": ["UPDATE_PASSWORD"],
             "credentials": [{"type": "password", "value": "temp-pw"}]}
        ],
        "clients": [{"clientId": "probe-client", "enabled": true, "name": "The Probe",
                     "secret": "s", "redirectUris": ["https://probe.test/cb"]}]
    })])
    .await;
    let relative = app.relative_path().to_string();
    app.router = Router::new()
        .merge(login::routes(&relative))
        .route(&format!("{relative}/realms/{{realm}}/probe"), get(start))
        .layer(Extension(Continuations::new(vec![Box::new(Probe)])))
        .with_state(app.state.clone());
    app
}

/// The session id a "resumed" body names.
fn session_of(reply: &Reply) -> String {
    let text = reply.text();
    let (_, rest) = text.split_once(" in session ").expect(&text);
    rest.split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn a_second_continuation_kind_goes_through_login_sso_session_and_resume() {
    let app = app().await;
    let mut browser = Browser::new(&app);

    // No session: the login page, prefilled from the hint.
    let page = browser.get(&format!("{PROBE}?page=/a&hint=alice")).await;
    assert!(page.is_login_page(), "{page:?}");
    assert!(page.text().contains(r#"value="alice""#), "{}", page.text());

    // A wrong password keeps the pending login on the page; the right one resumes it.
    let wrong = browser.log_in(&page, "alice", "nope").await;
    assert!(wrong.is_login_page());
    assert!(wrong.text().contains(login::INVALID_CREDENTIALS));
    let done = browser.log_in(&wrong, "alice", "alice-pw").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert!(
        done.text().starts_with("resumed /a for alice in session "),
        "{}",
        done.text()
    );
    let sid = session_of(&done);
    let session = app.store.find_user_session(&sid).await.unwrap().unwrap();
    assert!(!session.ended);
    assert_eq!(session.user_id, app.user_id("acme", "alice").await);
    assert!(browser.jar.contains_key(login::SESSION_STATUS_COOKIE));

    // The SSO session: the next login for the probe resumes at once, in the same session.
    let again = browser.get(&format!("{PROBE}?page=/b")).await;
    assert_eq!(
        again.text(),
        format!("resumed /b for alice in session {sid} (signed in)")
    );

    // A forced re-authentication asks again, and the new login replaces the session.
    let forced = browser.get(&format!("{PROBE}?page=/c&force=1")).await;
    assert!(forced.is_login_page(), "{forced:?}");
    let done = browser.log_in(&forced, "alice", "alice-pw").await;
    let new_sid = session_of(&done);
    assert_ne!(new_sid, sid);
    assert!(
        app.store
            .find_user_session(&sid)
            .await
            .unwrap()
            .unwrap()
            .ended
    );

    // The consent page is the login flow's; the answer goes to the probe's decision.
    let consent = browser.get(&format!("{PROBE}?page=/consent")).await;
    assert!(
        consent.text().contains("Grant access to The Probe?"),
        "{}",
        consent.text()
    );
    assert!(consent.text().contains("Read the probe"));
    let decided = browser.submit(&consent.form_to("consent")).await;
    assert_eq!(
        decided.text(),
        format!("resumed /consent for alice in session {new_sid} (accept=true)")
    );

    // The continuation's check stops a login before any password is looked at.
    let mut other = Browser::new(&app);
    let page = other.get(&format!("{PROBE}?page=/gone")).await;
    assert_eq!(page.status, StatusCode::GONE);
}

#[tokio::test]
async fn a_required_action_comes_between_the_password_and_the_continuation() {
    let app = app().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&format!("{PROBE}?page=/settings")).await;
    let update = browser.log_in(&page, "temp", "temp-pw").await;
    assert!(update.text().contains("password-new"), "{}", update.text());
    assert!(!browser.jar.contains_key(login::SESSION_STATUS_COOKIE));
    let form = update
        .form()
        .with("password-new", "a-new-pw-1")
        .with("password-confirm", "a-new-pw-1");
    let done = browser.submit(&form).await;
    assert!(
        done.text()
            .starts_with("resumed /settings for temp in session "),
        "{}",
        done.text()
    );
}
