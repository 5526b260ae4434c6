//! The authorization endpoint (`auth`, GET and POST): validate, then log in, ask for consent,
//! or issue a code, depending on the SSO session and `prompt`, `max_age` and `id_token_hint`.

use async_trait::async_trait;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::model::Client;
use portcullis_store::AuthCode;
use portcullis_web::login::{
    self, ConsentView, Continuation, LiveSession, LoginError, LoginHints, LoginView, Pending,
    RealmCtx, current_session, login_page, with_cookies,
};

use super::consent::{client_gone, consent_scopes, scope_labels};
use super::params::Params;
use super::request::{self, AuthRequest, ErrorResponse, Rejection};
use super::response::{self, Via};
use crate::tokens::{hash_secret, new_secret, verify_own_jwt};

/// `GET|POST .../protocol/openid-connect/auth`.
pub(crate) async fn authorize(
    ctx: RealmCtx,
    method: Method,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<Response, LoginError> {
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
) -> Result<Response, LoginError> {
    let Some(client) = pending_client(ctx, &req) else {
        return Ok(client_gone(ctx));
    };
    let live = current_session(ctx, headers).await?;
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
            login_page(ctx, &pending(req)?, headers, view, StatusCode::OK)
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

/// The pending login of an authorization request.
pub(crate) fn pending(req: AuthRequest) -> Result<Pending, LoginError> {
    let hints = LoginHints {
        client_id: Some(req.client_id.clone()),
        login_hint: req.login_hint.clone(),
        idp_hint: req.idp_hint.clone(),
        force_login: req.prompt.login,
    };
    Ok(Pending::new(AuthorizationLogin::KIND, &req)?.with_hints(hints))
}

/// The "Grant access to ...?" page for an authorization request.
pub(crate) fn consent_page(
    ctx: &RealmCtx,
    request: AuthRequest,
    live: &LiveSession,
    headers: &HeaderMap,
) -> Result<Response, LoginError> {
    let Some(client) = pending_client(ctx, &request) else {
        return Ok(client_gone(ctx));
    };
    let view = ConsentView {
        client_id: request.client_id.clone(),
        scopes: scope_labels(&consent_scopes(ctx, client, &request.scope, live)),
        device: false,
    };
    login::consent_page(ctx, pending(request)?, live, headers, view)
}

/// Finishes a login for an authorization request: consent when it is missing, else the code.
pub struct AuthorizationLogin;

impl AuthorizationLogin {
    pub const KIND: &'static str = "oidc-authorization";
}

/// The request a pending login holds, with its client; `None` when the request is no longer
/// usable (its client or redirect URI changed meanwhile).
fn usable_request<'a>(
    ctx: &'a RealmCtx,
    pending: &Pending,
) -> Result<Option<(AuthRequest, &'a Client)>, LoginError> {
    let request: AuthRequest = pending.state_as()?;
    Ok(pending_client(ctx, &request).map(|client| (request, client)))
}

#[async_trait]
impl Continuation for AuthorizationLogin {
    fn kind(&self) -> &'static str {
        Self::KIND
    }

    fn check(&self, ctx: &RealmCtx, pending: &Pending) -> Option<Response> {
        match usable_request(ctx, pending) {
            Ok(Some(_)) => None,
            Ok(None) => Some(client_gone(ctx)),
            Err(e) => Some(e.into_response()),
        }
    }

    async fn resume(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let Some((request, client)) = usable_request(ctx, &pending)? else {
            return Ok(client_gone(ctx));
        };
        if consent_missing(ctx, client, &request, live).await? {
            consent_page(ctx, request, live, headers)
        } else {
            issue_code(ctx, &request, live, Via::Post, []).await
        }
    }

    async fn decide(
        &self,
        ctx: &RealmCtx,
        live: &LiveSession,
        pending: Pending,
        accept: bool,
        _headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let Some((request, client)) = usable_request(ctx, &pending)? else {
            return Ok(client_gone(ctx));
        };
        if !accept {
            let denied = ErrorResponse {
                destination: request.destination(),
                error: "access_denied",
                description: "The user denied access".into(),
            };
            return Ok(refuse(ctx, &denied, Via::Post));
        }
        let scopes = consent_scopes(ctx, client, &request.scope, live);
        let realm_id = &ctx.snapshot.realm.id;
        ctx.state
            .store()
            .grant_scopes(realm_id, &live.user.id, &client.client_id, &scopes, ctx.now)
            .await?;
        issue_code(ctx, &request, live, Via::Post, []).await
    }

    async fn restart(
        &self,
        ctx: &RealmCtx,
        pending: Pending,
        headers: &HeaderMap,
    ) -> Result<Response, LoginError> {
        let request: AuthRequest = pending.state_as()?;
        proceed(ctx, request, headers, Via::Post).await
    }
}

/// Whether the consent page must be shown: always for `prompt=consent`; for clients that
/// require consent, until the user granted every scope of this request.
async fn consent_missing(
    ctx: &RealmCtx,
    client: &Client,
    req: &AuthRequest,
    live: &LiveSession,
) -> Result<bool, LoginError> {
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

/// Issues an authorization code for the session and sends it to the client. The code is stored
/// only as its hash and lives `accessCodeLifespan` seconds; using it refreshes the session.
pub(crate) async fn issue_code(
    ctx: &RealmCtx,
    req: &AuthRequest,
    live: &LiveSession,
    via: Via,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Result<Response, LoginError> {
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
            idp_hint: None,
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
}
