//! The authorization endpoint (`auth`, GET and POST): validate, then log in, ask for consent,
//! or issue a code, depending on the SSO session and `prompt`, `max_age` and `id_token_hint`.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use portcullis_core::model::Client;
use portcullis_store::AuthCode;
use portcullis_web::AppState;
use serde_json::json;

use super::flow::{self, ConsentState, FormNonce, Pending};
use super::params::Params;
use super::request::{self, AuthRequest, ErrorResponse, Rejection};
use super::response::{self, Via};
use super::sso::{self, LiveSession};
use super::{BrowserError, RealmCtx, device, with_cookies};
use crate::tokens::{hash_secret, new_secret, scopes, verify_own_jwt};

/// `GET|POST .../protocol/openid-connect/auth`.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, BrowserError> {
    let ctx = match RealmCtx::load(&state, &path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    let Ok(Form(pairs)) = form else {
        let message = "The authorization request could not be read.";
        return Ok(ctx.error_page(StatusCode::BAD_REQUEST, message, "unreadable request"));
    };
    let via = if method == Method::POST {
        Via::Post
    } else {
        Via::Get
    };
    let mut req = match request::validate(&ctx.snapshot, &Params::new(pairs)) {
        Ok(req) => req,
        Err(Rejection::Page { message }) => {
            return Ok(ctx.error_page(StatusCode::BAD_REQUEST, &message, &message));
        }
        Err(Rejection::Redirect(e)) => return Ok(refuse(&ctx, &e, via)),
    };
    if let Some(hint) = req.id_token_hint.take() {
        match hint_subject(&ctx, &hint) {
            Some(sub) => req.hint_subject = Some(sub),
            None => {
                let e = error_for(&req, "invalid_request", "Invalid id_token_hint");
                return Ok(refuse(&ctx, &e, via));
            }
        }
    }
    proceed(&ctx, req, &headers, via).await
}

/// The `sub` of an ID token we issued (expired ones included, as OIDC allows for hints).
fn hint_subject(ctx: &RealmCtx, hint: &str) -> Option<String> {
    let claims = verify_own_jwt(&ctx.state, &ctx.snapshot, hint)?;
    if claims["typ"] != "ID" {
        return None;
    }
    claims["sub"].as_str().map(str::to_string)
}

/// What happens next for a validated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Login,
    Consent,
    Issue,
    /// `prompt=none` could not be honoured: `login_required` or `consent_required`.
    Refuse(&'static str),
}

/// The decision, as a pure function of the request, the session (user id and `auth_time`), the
/// time and whether consent is missing.
pub(crate) fn decide(
    req: &AuthRequest,
    session: Option<(&str, i64)>,
    now: i64,
    consent_missing: bool,
) -> Next {
    let must_login = match session {
        None => true,
        Some((user_id, auth_time)) => {
            req.prompt.login
                || req.max_age.is_some_and(|max| now - auth_time > max)
                || req
                    .hint_subject
                    .as_deref()
                    .is_some_and(|sub| sub != user_id)
        }
    };
    match (must_login, consent_missing, req.prompt.none) {
        (true, _, true) => Next::Refuse("login_required"),
        (true, _, false) => Next::Login,
        (false, true, true) => Next::Refuse("consent_required"),
        (false, true, false) => Next::Consent,
        (false, false, _) => Next::Issue,
    }
}

/// Runs a validated request against the browser's session.
pub(crate) async fn proceed(
    ctx: &RealmCtx,
    req: AuthRequest,
    headers: &HeaderMap,
    via: Via,
) -> Result<Response, BrowserError> {
    let Some(client) = pending_client(ctx, &req) else {
        return Ok(client_gone(ctx));
    };
    let live = sso::current(ctx, headers).await?;
    let consent_missing = match &live {
        Some(live) => consent_missing(ctx, client, &req, live).await?,
        None => false,
    };
    let session = live
        .as_ref()
        .map(|l| (l.session.user_id.as_str(), l.session.auth_time));
    let next = decide(&req, session, ctx.now, consent_missing);
    match (next, live) {
        (Next::Refuse(error), _) => {
            let description = match error {
                "consent_required" => "Consent required",
                _ => "Login required",
            };
            Ok(refuse(ctx, &error_for(&req, error, description), via))
        }
        (Next::Issue, Some(live)) => issue_code(ctx, &req, &live, via, []).await,
        (Next::Consent, Some(live)) => consent_page(ctx, req, &live, headers),
        // `Login`; `decide` only answers `Issue` or `Consent` when there is a session.
        (_, _) => {
            let view = LoginView {
                username: req.login_hint.clone().unwrap_or_default(),
                ..LoginView::default()
            };
            login_page(
                ctx,
                &Pending::Authorize {
                    request: Box::new(req),
                },
                headers,
                view,
                StatusCode::OK,
            )
        }
    }
}

/// The client of a pending request, if it may still use the flow with that redirect URI (it
/// may have been changed since the request was validated).
pub(crate) fn pending_client<'a>(ctx: &'a RealmCtx, req: &AuthRequest) -> Option<&'a Client> {
    request::check_client(&ctx.snapshot, &req.client_id)
        .ok()
        .filter(|c| crate::tokens::redirect_uri_allowed(c, &req.redirect_uri))
}

pub(crate) fn client_gone(ctx: &RealmCtx) -> Response {
    ctx.error_page(
        StatusCode::BAD_REQUEST,
        "The application is not available any more. Please start again from the application.",
        "client or redirect URI no longer valid for a pending request",
    )
}

fn error_for(req: &AuthRequest, error: &'static str, description: &str) -> ErrorResponse {
    ErrorResponse {
        destination: req.destination(),
        error,
        description: description.to_string(),
    }
}

/// Sends an error to the client, and logs it.
pub(crate) fn refuse(ctx: &RealmCtx, e: &ErrorResponse, via: Via) -> Response {
    tracing::info!(
        realm = %ctx.snapshot.realm.name,
        error = e.error,
        description = %e.description,
        "authorization request refused"
    );
    response::error(e, &ctx.issuer, via)
}

/// What the login form shows besides its fields.
#[derive(Debug, Default)]
pub(crate) struct LoginView {
    pub username: String,
    pub error: Option<&'static str>,
    pub info: Option<&'static str>,
}

/// The login page for a pending request, with a fresh form token.
pub(crate) fn login_page(
    ctx: &RealmCtx,
    pending: &Pending,
    headers: &HeaderMap,
    view: LoginView,
    status: StatusCode,
) -> Result<Response, BrowserError> {
    let nonce = FormNonce::of(headers);
    let token = flow::sign(ctx, flow::LOGIN, &nonce, pending)?;
    login_page_with(ctx, &nonce, &token, view, status)
}

/// The login page with a given form token (a failed attempt re-uses the posted one).
pub(crate) fn login_page_with(
    ctx: &RealmCtx,
    nonce: &FormNonce,
    token: &str,
    view: LoginView,
    status: StatusCode,
) -> Result<Response, BrowserError> {
    let context = json!({
        "action": ctx.action("authenticate"),
        "flow": token,
        "username": view.username,
        "error": view.error,
        "info": view.info,
    });
    let page = ctx.page(status, "login.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// After the user authenticated (or re-entered with a live session): consent or the code for
/// an authorization request, the approval page for a device.
pub(crate) async fn continue_pending(
    ctx: &RealmCtx,
    pending: Pending,
    live: &LiveSession,
    headers: &HeaderMap,
    session_cookies: Vec<HeaderValue>,
) -> Result<Response, BrowserError> {
    let response = match pending {
        Pending::Authorize { request } => {
            let Some(client) = pending_client(ctx, &request) else {
                return Ok(client_gone(ctx));
            };
            if consent_missing(ctx, client, &request, live).await? {
                consent_page(ctx, *request, live, headers)?
            } else {
                issue_code(ctx, &request, live, Via::Post, []).await?
            }
        }
        Pending::Device { user_code } => {
            device::approval_page(ctx, &user_code, live, headers).await?
        }
    };
    Ok(with_cookies(response, session_cookies))
}

/// The scopes a consent covers: what the grant would hold and the user can understand
/// (`openid` and Keycloak's unlisted technical scopes are left out).
pub(crate) fn consent_scopes(
    ctx: &RealmCtx,
    client: &Client,
    scope: &str,
    live: &LiveSession,
) -> Vec<String> {
    let offline_ok = scopes::offline_allowed(&ctx.snapshot, &live.user);
    scopes::grant(client, Some(scope), offline_ok)
        .to_claim()
        .split_whitespace()
        .filter(|s| *s != scopes::OPENID)
        .map(str::to_string)
        .collect()
}

/// Whether the consent page must be shown: always for `prompt=consent`; for clients that
/// require consent, until the user granted every scope of this request.
async fn consent_missing(
    ctx: &RealmCtx,
    client: &Client,
    req: &AuthRequest,
    live: &LiveSession,
) -> Result<bool, BrowserError> {
    if req.prompt.consent {
        return Ok(true);
    }
    if !client.consent_required {
        return Ok(false);
    }
    let needed = consent_scopes(ctx, client, &req.scope, live);
    let granted = ctx
        .state
        .store()
        .granted_scopes(&ctx.snapshot.realm.id, &live.user.id, &client.client_id)
        .await?;
    Ok(!needed.iter().all(|s| granted.contains(s)))
}

/// How the consent page names a scope.
fn scope_label(scope: &str) -> String {
    match scope {
        "profile" => "User profile".into(),
        "email" => "Email address".into(),
        "address" => "Address".into(),
        "phone" => "Phone number".into(),
        "offline_access" => "Offline access".into(),
        "roles" => "User roles".into(),
        "microprofile-jwt" => "MicroProfile JWT".into(),
        other => other.into(),
    }
}

/// The "Grant access to ...?" page for an authorization request.
pub(crate) fn consent_page(
    ctx: &RealmCtx,
    request: AuthRequest,
    live: &LiveSession,
    headers: &HeaderMap,
) -> Result<Response, BrowserError> {
    let Some(client) = pending_client(ctx, &request) else {
        return Ok(client_gone(ctx));
    };
    let scopes = consent_scopes(ctx, client, &request.scope, live);
    let client_id = request.client_id.clone();
    let pending = Pending::Authorize {
        request: Box::new(request),
    };
    render_consent(ctx, pending, live, headers, &client_id, &scopes, false)
}

/// Renders the consent form for `pending` on behalf of `client_id`.
pub(crate) fn render_consent(
    ctx: &RealmCtx,
    pending: Pending,
    live: &LiveSession,
    headers: &HeaderMap,
    client_id: &str,
    scopes: &[String],
    device: bool,
) -> Result<Response, BrowserError> {
    let client_name = ctx
        .snapshot
        .client(client_id)
        .and_then(|c| c.name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| client_id.to_string());
    let state = ConsentState {
        pending,
        session_id: live.session.id.clone(),
        user_id: live.user.id.clone(),
    };
    let nonce = FormNonce::of(headers);
    let token = flow::sign(ctx, flow::CONSENT, &nonce, &state)?;
    let labels: Vec<String> = scopes.iter().map(|s| scope_label(s)).collect();
    let context = json!({
        "action": ctx.action("consent"),
        "flow": token,
        "client_name": client_name,
        "username": live.user.username,
        "scopes": labels,
        "device": device,
    });
    let page = ctx.page(StatusCode::OK, "consent.html", context);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

/// Issues an authorization code for the session and sends it to the client. The code is stored
/// only as its hash and lives `accessCodeLifespan` seconds; using it refreshes the session.
pub(crate) async fn issue_code(
    ctx: &RealmCtx,
    req: &AuthRequest,
    live: &LiveSession,
    via: Via,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Result<Response, BrowserError> {
    let code = new_secret();
    let record = AuthCode {
        code_hash: hash_secret(&code),
        realm_id: ctx.snapshot.realm.id.clone(),
        client_id: req.client_id.clone(),
        user_id: live.session.user_id.clone(),
        session_id: live.session.id.clone(),
        // What the request sent, as Keycloak keeps it: empty when it named none.
        redirect_uri: if req.redirect_uri_omitted {
            String::new()
        } else {
            req.redirect_uri.clone()
        },
        scope: req.scope.clone(),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        code_challenge_method: req.code_challenge_method.clone(),
        auth_time: live.session.auth_time,
        created_at: ctx.now,
        expires_at: ctx.now + ctx.snapshot.realm.access_code_lifespan,
    };
    let store = ctx.state.store();
    store.insert_auth_code(&record).await?;
    // A session that was just created needs no touch (one write less per login).
    if live.session.last_seen_at < ctx.now {
        store.touch_user_session(&live.session.id, ctx.now).await?;
    }
    tracing::info!(
        realm = %ctx.snapshot.realm.name,
        client = %req.client_id,
        user = %live.user.id,
        "authorization code issued"
    );
    let response = response::code(&req.destination(), &ctx.issuer, &code, via);
    Ok(with_cookies(response, cookies))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::request::{Prompt, ResponseMode};
    use super::*;

    fn req(prompt: Prompt, max_age: Option<i64>, hint: Option<&str>) -> AuthRequest {
        AuthRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.test/cb".into(),
            redirect_uri_omitted: false,
            response_mode: ResponseMode::Query,
            scope: "openid".into(),
            state: None,
            nonce: None,
            code_challenge: None,
            code_challenge_method: None,
            login_hint: None,
            max_age,
            prompt,
            id_token_hint: None,
            hint_subject: hint.map(String::from),
        }
    }

    #[test]
    fn decision_table() {
        let none = Prompt {
            none: true,
            ..Prompt::default()
        };
        let login = Prompt {
            login: true,
            ..Prompt::default()
        };
        let plain = Prompt::default();
        let alice = Some(("alice", 1000));
        // (request, session, now, consent missing, expected)
        let cases = [
            (req(plain, None, None), None, 1000, false, Next::Login),
            (
                req(none, None, None),
                None,
                1000,
                false,
                Next::Refuse("login_required"),
            ),
            (req(plain, None, None), alice, 1000, false, Next::Issue),
            (req(none, None, None), alice, 1000, false, Next::Issue),
            (req(login, None, None), alice, 1000, false, Next::Login),
            (req(plain, Some(10), None), alice, 1010, false, Next::Issue),
            (req(plain, Some(10), None), alice, 1011, false, Next::Login),
            (
                req(none, Some(10), None),
                alice,
                1011,
                false,
                Next::Refuse("login_required"),
            ),
            (req(plain, Some(0), None), alice, 1001, false, Next::Login),
            (
                req(none, None, Some("alice")),
                alice,
                1000,
                false,
                Next::Issue,
            ),
            (
                req(none, None, Some("bob")),
                alice,
                1000,
                false,
                Next::Refuse("login_required"),
            ),
            (
                req(plain, None, Some("bob")),
                alice,
                1000,
                false,
                Next::Login,
            ),
            (req(plain, None, None), alice, 1000, true, Next::Consent),
            (
                req(none, None, None),
                alice,
                1000,
                true,
                Next::Refuse("consent_required"),
            ),
            (
                req(none, None, None),
                None,
                1000,
                true,
                Next::Refuse("login_required"),
            ),
        ];
        for (i, (r, session, now, consent, expected)) in cases.into_iter().enumerate() {
            assert_eq!(decide(&r, session, now, consent), expected, "case {i}");
        }
    }

    #[test]
    fn scope_labels() {
        assert_eq!(scope_label("email"), "Email address");
        assert_eq!(scope_label("custom"), "custom");
    }
}
