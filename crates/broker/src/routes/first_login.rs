//! After the upstream said who the user is: sign in a linked account, or show the first
//! login before anything is written — the account to be created or linked and the registry
//! access it brings (`broker_review.html`), or the password proof an existing account needs
//! before it is linked (`broker_link.html`) — and carry it out when the user agrees.

use std::net::IpAddr;

use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use portcullis_core::broker::UpstreamIdentity;
use portcullis_core::broker::mappers::evaluate;
use portcullis_core::model::{IdentityProvider, User};
use portcullis_web::login::{
    self, Checked, Continuations, FormNonce, LoginError, LoginView, Pending, RealmCtx,
    finish_authenticated, login_page, with_cookies,
};
use portcullis_web::{Attempt, ClientIp, LoginEvent, Sources, Verification};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Broker, enabled_provider, no_provider, upstream_failed};
use crate::BrokerError;
use crate::login::{BrokeredLogin, FirstLogin, Outcome, Plan, link_confirmed, sign_in};

/// Form purposes of the two first-login pages.
const REVIEW: &str = "broker-review";
const CONFIRM: &str = "broker-link";

const INVALID_PASSWORD: &str = "Invalid password.";
const TOO_MANY_ATTEMPTS: &str = "Too many failed attempts. Please wait a moment and try again.";
const PAGE_TIMED_OUT: &str = "The page was open too long. Please sign in again.";

/// A brokered login arriving back: what every step after the upstream needs.
#[derive(Clone, Copy)]
pub(super) struct Arrival<'a> {
    pub ctx: &'a RealmCtx,
    pub broker: &'a Broker,
    pub continuations: &'a Continuations,
    pub headers: &'a HeaderMap,
    pub ip: Option<IpAddr>,
    pub provider: &'a IdentityProvider,
}

impl Arrival<'_> {
    /// Records `event` of this realm and address, with the provider and upstream account.
    pub fn record(&self, mut event: LoginEvent, identity: &UpstreamIdentity) {
        event.realm = self.ctx.snapshot.realm.name.clone();
        event.ip_address = self.ip.map(|ip| ip.to_string());
        event
            .details
            .insert("identity_provider", self.provider.alias.clone());
        event.details.insert(
            "identity_provider_identity",
            identity
                .username
                .clone()
                .unwrap_or_else(|| identity.subject.clone()),
        );
        self.ctx.state.record_event(event);
    }

    /// Records a failed brokered login (`LOGIN_ERROR` with `error`).
    pub fn record_error(&self, pending: &Pending, error: &str) {
        let mut event = LoginEvent {
            realm: self.ctx.snapshot.realm.name.clone(),
            kind: "LOGIN_ERROR",
            client_id: pending.hints.client_id.clone(),
            ip_address: self.ip.map(|ip| ip.to_string()),
            error: Some(error.to_string()),
            ..LoginEvent::default()
        };
        event
            .details
            .insert("identity_provider", self.provider.alias.clone());
        self.ctx.state.record_event(event);
    }
}

/// What the first-login pages' forms carry, signed: the upstream's word about the user (it
/// was verified at the callback) and what the login is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FirstLoginState {
    alias: String,
    identity: UpstreamIdentity,
    pending: Pending,
    /// The existing account to prove (the link page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
}

/// Goes on from what [`sign_in`] or [`link_confirmed`] decided.
pub(super) async fn act(
    arrival: Arrival<'_>,
    identity: &UpstreamIdentity,
    pending: Pending,
    outcome: Result<Outcome, BrokerError>,
) -> Result<Response, LoginError> {
    let Arrival { ctx, provider, .. } = arrival;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            arrival.record_error(&pending, "identity_provider_error");
            return upstream_failed(ctx, provider, e);
        }
    };
    let state = |user_id: Option<String>, username: Option<String>| FirstLoginState {
        alias: provider.alias.clone(),
        identity: identity.clone(),
        pending: pending.clone(),
        user_id,
        username,
    };
    match outcome {
        Outcome::SignedIn {
            user_id, created, ..
        } => signed_in(arrival, identity, pending, &user_id, created).await,
        Outcome::Review(plan) => {
            let (create, user_id, username) = match plan {
                Plan::Create { username } => (true, None, username),
                Plan::Link { user_id, username } => (false, Some(user_id), username),
            };
            let grants = access_preview(arrival, identity, user_id.as_deref()).await?;
            let view = json!({
                "create": create,
                "username": username,
                "grants": grants,
            });
            review_page(arrival, &state(None, None), view)
        }
        Outcome::ConfirmLink { user_id, username } => {
            let grants = access_preview(arrival, identity, Some(&user_id)).await?;
            let state = state(Some(user_id), Some(username));
            link_page(arrival, &state, grants, None, StatusCode::OK)
        }
        Outcome::Refused(why) => {
            arrival.record_error(&pending, "identity_provider_login_refused");
            Ok(ctx.error_page(
                StatusCode::FORBIDDEN,
                &why.to_string(),
                &format!("first login refused: {why:?}"),
            ))
        }
    }
}

/// Signed in as `user_id`: the user's cached roles are dropped (the mappers may have changed
/// their groups), then the login flow takes over (required actions, SSO session, what the
/// login was for).
async fn signed_in(
    arrival: Arrival<'_>,
    identity: &UpstreamIdentity,
    pending: Pending,
    user_id: &str,
    created: bool,
) -> Result<Response, LoginError> {
    let ctx = arrival.ctx;
    ctx.state.invalidate_user(&ctx.snapshot.realm.name, user_id);
    let Some(user) = ctx.state.resolve_user_by_id(&ctx.snapshot, user_id).await? else {
        return Ok(ctx.error_page(
            StatusCode::FORBIDDEN,
            "The account is disabled.",
            "brokered login of a user that is gone or disabled",
        ));
    };
    let client_id = pending.hints.client_id.clone();
    if created {
        arrival.record(
            LoginEvent {
                kind: "REGISTER",
                client_id: client_id.clone(),
                user_id: Some(user.id.clone()),
                username: Some(user.username.clone()),
                ..LoginEvent::default()
            },
            identity,
        );
    }
    let mut event = LoginEvent {
        realm: ctx.snapshot.realm.name.clone(),
        kind: "LOGIN",
        client_id,
        username: Some(user.username.clone()),
        ip_address: arrival.ip.map(|ip| ip.to_string()),
        ..LoginEvent::default()
    };
    event
        .details
        .insert("identity_provider", arrival.provider.alias.clone());
    let continuations = arrival.continuations;
    finish_authenticated(ctx, continuations, arrival.headers, user, pending, event).await
}

/// One row of the access preview.
#[derive(Debug, Serialize)]
struct PreviewGrant {
    registry: String,
    pattern: String,
    actions: String,
    through: String,
}

/// The registry access the user will have once the login is carried out: the existing
/// account's (if any) with what the provider's mappers assert now.
async fn access_preview(
    arrival: Arrival<'_>,
    identity: &UpstreamIdentity,
    existing: Option<&str>,
) -> Result<Vec<PreviewGrant>, LoginError> {
    let snapshot = &arrival.ctx.snapshot;
    let mut user = match existing {
        Some(id) => arrival
            .ctx
            .state
            .store()
            .find_user_by_id(&snapshot.realm.id, id)
            .await?
            .unwrap_or_default(),
        None => User::default(),
    };
    if user.username.is_empty() {
        user.username = identity.username.clone().unwrap_or_default();
    }
    let asserted = evaluate(snapshot, arrival.provider, &identity.claims);
    for group in asserted.groups.into_keys() {
        if !user.group_ids.contains(&group) {
            user.group_ids.push(group);
        }
    }
    for role in asserted.roles.into_keys() {
        if !user.role_ids.contains(&role) {
            user.role_ids.push(role);
        }
    }
    Ok(
        portcullis_admin::grants_for(snapshot, &arrival.broker.protocols, &user)
            .into_iter()
            .map(|g| PreviewGrant {
                registry: g.registry,
                pattern: g.pattern,
                actions: g.actions.join(", "),
                through: g.through,
            })
            .collect(),
    )
}

/// The name the pages give the upstream account.
fn upstream_name(identity: &UpstreamIdentity) -> String {
    identity
        .username
        .clone()
        .or_else(|| identity.email.clone())
        .unwrap_or_else(|| identity.subject.clone())
}

fn review_page(
    arrival: Arrival<'_>,
    state: &FirstLoginState,
    mut view: serde_json::Value,
) -> Result<Response, LoginError> {
    let ctx = arrival.ctx;
    let nonce = FormNonce::of(arrival.headers);
    let token = login::seal(ctx, REVIEW, &nonce, state)?;
    if let Some(map) = view.as_object_mut() {
        map.insert("action".into(), ctx.action("broker-review").into());
        map.insert("flow".into(), token.into());
        map.insert("provider".into(), arrival.provider.label().into());
        map.insert(
            "upstream_name".into(),
            upstream_name(&state.identity).into(),
        );
    }
    let page = ctx.page(StatusCode::OK, "broker_review.html", view);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

fn link_page(
    arrival: Arrival<'_>,
    state: &FirstLoginState,
    grants: Vec<PreviewGrant>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, LoginError> {
    let ctx = arrival.ctx;
    let nonce = FormNonce::of(arrival.headers);
    let token = login::seal(ctx, CONFIRM, &nonce, state)?;
    let matched_by = match (&state.identity.email, &state.username) {
        (Some(email), Some(username)) if !email.eq_ignore_ascii_case(username) => "e-mail",
        _ => "name",
    };
    let view = json!({
        "action": ctx.action("broker-link"),
        "flow": token,
        "provider": arrival.provider.label(),
        "username": state.username,
        "matched_by": matched_by,
        "grants": grants,
        "error": error,
    });
    let page = ctx.page(status, "broker_link.html", view);
    Ok(with_cookies(page, nonce.cookie(ctx)?))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct FirstLoginForm {
    flow: Option<String>,
    password: Option<String>,
    cancel: Option<String>,
}

/// A posted first-login form, checked: its state and provider, or the page to answer with.
fn checked(
    ctx: &RealmCtx,
    purpose: &str,
    form: &FirstLoginForm,
    headers: &HeaderMap,
) -> Result<FirstLoginState, Box<Response>> {
    match login::check::<FirstLoginState>(ctx, purpose, form.flow.as_deref(), headers) {
        Checked::Valid(state) => Ok(state),
        Checked::Expired(_) => Err(Box::new(ctx.error_page(
            StatusCode::BAD_REQUEST,
            PAGE_TIMED_OUT,
            "stale first-login page",
        ))),
        Checked::Invalid(e) => Err(Box::new(ctx.invalid_form(&e))),
    }
}

/// The login page again, after the user cancelled a first login.
fn cancelled(
    ctx: &RealmCtx,
    headers: &HeaderMap,
    provider: &IdentityProvider,
    mut pending: Pending,
) -> Result<Response, LoginError> {
    pending.hints.idp_hint = None;
    let view = LoginView {
        info: Some(format!(
            "Signing in with {} was cancelled.",
            provider.label()
        )),
        ..LoginView::default()
    };
    login_page(ctx, &pending, headers, view, StatusCode::OK)
}

/// `POST login-actions/broker-review`: carry out the first login the user reviewed (it is
/// decided again: the accounts may have changed meanwhile), or cancel it.
pub(super) async fn review(
    ctx: RealmCtx,
    Extension(broker): Extension<Broker>,
    Extension(continuations): Extension<Continuations>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<FirstLoginForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let request = Posted {
        ctx,
        broker,
        continuations,
        ip,
        headers,
    };
    posted(Step::Review, request, form).await
}

/// `POST login-actions/broker-link`: the existing account's password, then the link.
/// Failed passwords count toward the account's brute-force protection like a login's.
pub(super) async fn confirm(
    ctx: RealmCtx,
    Extension(broker): Extension<Broker>,
    Extension(continuations): Extension<Continuations>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<FirstLoginForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let request = Posted {
        ctx,
        broker,
        continuations,
        ip,
        headers,
    };
    posted(Step::Confirm, request, form).await
}

/// Which first-login page was posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Review,
    Confirm,
}

/// What a first-login post brings besides its form.
struct Posted {
    ctx: RealmCtx,
    broker: Broker,
    continuations: Continuations,
    ip: Option<IpAddr>,
    headers: HeaderMap,
}

/// A first-login page's post: its form token checked for that page, then cancel, or the step.
async fn posted(
    step: Step,
    request: Posted,
    form: Result<Form<FirstLoginForm>, FormRejection>,
) -> Result<Response, LoginError> {
    let Posted {
        ctx,
        broker,
        continuations,
        ip,
        headers,
    } = request;
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let purpose = match step {
        Step::Review => REVIEW,
        Step::Confirm => CONFIRM,
    };
    let first = match checked(&ctx, purpose, &form, &headers) {
        Ok(first) => first,
        Err(page) => return Ok(*page),
    };
    let Some(provider) = enabled_provider(&ctx, &first.alias) else {
        return Ok(no_provider(&ctx));
    };
    if form.cancel.is_some() {
        return cancelled(&ctx, &headers, provider, first.pending);
    }
    let arrival = Arrival {
        ctx: &ctx,
        broker: &broker,
        continuations: &continuations,
        headers: &headers,
        ip,
        provider,
    };
    match step {
        Step::Review => {
            let login = BrokeredLogin {
                realm: &ctx.snapshot,
                provider,
                identity: &first.identity,
                now: ctx.now,
            };
            let outcome = sign_in(ctx.state.store(), login, FirstLogin::Confirmed).await;
            act(arrival, &first.identity, first.pending, outcome).await
        }
        Step::Confirm => prove_and_link(arrival, first, form.password.unwrap_or_default()).await,
    }
}

/// The existing account's password checked like a login's (brute-force protection counts a
/// wrong one); right, the link is made and the user signed in.
async fn prove_and_link(
    arrival: Arrival<'_>,
    first: FirstLoginState,
    password: String,
) -> Result<Response, LoginError> {
    let Arrival { ctx, provider, .. } = arrival;
    let (Some(user_id), Some(username)) = (first.user_id.clone(), first.username.clone()) else {
        return Ok(ctx.unreadable());
    };
    let verification = if password.is_empty() {
        Verification::Refused
    } else {
        ctx.state
            .authenticate(Attempt {
                realm: &ctx.snapshot,
                username: &username,
                secret: &password,
                client: arrival.ip,
                user_agent: None,
                sources: Sources::PASSWORD,
            })
            .await?
    };
    let (error, status) = match verification {
        Verification::Verified(verified) if verified.user.id == user_id => {
            let login = BrokeredLogin {
                realm: &ctx.snapshot,
                provider,
                identity: &first.identity,
                now: ctx.now,
            };
            let outcome = link_confirmed(ctx.state.store(), login, &user_id).await;
            return act(arrival, &first.identity, first.pending, outcome).await;
        }
        Verification::Verified(_) | Verification::Refused => (INVALID_PASSWORD, StatusCode::OK),
        Verification::RateLimited { .. } => (TOO_MANY_ATTEMPTS, StatusCode::TOO_MANY_REQUESTS),
    };
    arrival.record_error(&first.pending, "invalid_user_credentials");
    let grants = access_preview(arrival, &first.identity, Some(&user_id)).await?;
    link_page(arrival, &first, grants, Some(error), status)
}
