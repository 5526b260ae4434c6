//! `GET broker/{alias}/endpoint`: the upstream's answer. It must come to the browser that
//! started the login (the in-flight cookie), for the provider it was started with, with that
//! login's `state`; only then is the code exchanged.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use portcullis_web::login::{
    self, Checked, Continuations, LoginError, LoginView, RealmCtx, login_page, with_cookies,
};
use portcullis_web::session::read_cookie;
use portcullis_web::{ClientIp, LoginEvent};
use serde::Deserialize;

use super::first_login::{self, Arrival};
use super::start::not_signed_in;
use super::{Broker, IN_FLIGHT, IN_FLIGHT_COOKIE, InFlight, enabled_provider, upstream_failed};
use crate::login::{BrokeredLogin, FirstLogin, Outcome, link_confirmed, sign_in};
use crate::upstream::Upstream;

#[derive(Debug, Default, Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub(super) async fn endpoint(
    Extension(broker): Extension<Broker>,
    Extension(continuations): Extension<Continuations>,
    ctx: RealmCtx,
    Path(path): Path<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Result<Response, LoginError> {
    let Ok(Query(query)) = query else {
        return Ok(ctx.unreadable());
    };
    let alias = path.get("alias").map(String::as_str).unwrap_or_default();
    let flight = match in_flight(&ctx, &headers, alias, &query) {
        Ok(flight) => flight,
        Err(page) => return Ok(*page),
    };
    // From here the login in flight is used up, whatever the outcome.
    let spent = ctx.cookies.clear(IN_FLIGHT_COOKIE);
    let Some(provider) = enabled_provider(&ctx, alias) else {
        return Ok(with_cookies(super::no_provider(&ctx), spent));
    };
    let arrival = Arrival {
        ctx: &ctx,
        broker: &broker,
        continuations: &continuations,
        headers: &headers,
        ip,
        provider,
    };
    let response = answer(arrival, flight, query).await?;
    Ok(with_cookies(response, spent))
}

/// The login in flight this answer belongs to, or the page refusing it. Nothing is used up
/// by a refused answer: a forged callback cannot end the login the browser has in progress.
fn in_flight(
    ctx: &RealmCtx,
    headers: &HeaderMap,
    alias: &str,
    query: &CallbackQuery,
) -> Result<InFlight, Box<Response>> {
    let refuse = |message: &str, cause: &str| {
        Err(Box::new(ctx.error_page(
            StatusCode::BAD_REQUEST,
            message,
            cause,
        )))
    };
    let sealed = read_cookie(headers, IN_FLIGHT_COOKIE);
    let flight: InFlight = match login::check(ctx, IN_FLIGHT, sealed, headers) {
        Checked::Valid(flight) => flight,
        Checked::Expired(_) => {
            return refuse(
                "Signing in took too long. Please start again from the application.",
                "stale brokered login",
            );
        }
        Checked::Invalid(_) => {
            return refuse(
                "No sign-in with this identity provider is in progress in this browser. Please \
                 start again from the application.",
                "callback without a login in flight",
            );
        }
    };
    if flight.upstream.alias != alias {
        return refuse(
            "This answer belongs to a sign-in with another identity provider. Please start again.",
            "callback at another provider's endpoint",
        );
    }
    if !flight
        .upstream
        .state_matches(query.state.as_deref().unwrap_or_default())
    {
        return refuse(
            "This answer does not belong to the sign-in in progress (it may have been started \
             again in another tab). Please start again.",
            "callback with another state",
        );
    }
    Ok(flight)
}

/// The answer of the upstream, for the login in flight.
async fn answer(
    arrival: Arrival<'_>,
    flight: InFlight,
    query: CallbackQuery,
) -> Result<Response, LoginError> {
    let Arrival { ctx, provider, .. } = arrival;
    if let Some(error) = query.error {
        return upstream_error(arrival, flight, &error, query.error_description.as_deref()).await;
    }
    let Some(code) = query.code.filter(|c| !c.is_empty()) else {
        return Ok(ctx.error_page(
            StatusCode::BAD_REQUEST,
            "The identity provider sent no authorization code. Please start again.",
            "callback without a code",
        ));
    };
    let identity = async {
        let http = arrival.broker.http.as_ref().ok_or_else(|| {
            crate::BrokerError::Config("no HTTP client could be built (TLS)".into())
        })?;
        Upstream::new(http, provider)?
            .finish(&code, &flight.upstream, ctx.now)
            .await
    };
    let identity = match identity.await {
        Ok(identity) => identity,
        Err(e) => {
            arrival.record_error(&flight.pending, "identity_provider_error");
            return upstream_failed(ctx, provider, e);
        }
    };
    let login = BrokeredLogin {
        realm: &ctx.snapshot,
        provider,
        identity: &identity,
        now: ctx.now,
    };
    match flight.link_for {
        Some(user_id) => link_signed_in(arrival, flight.pending, login, &user_id).await,
        None => {
            let outcome = sign_in(ctx.state.store(), login, FirstLogin::Review).await;
            first_login::act(arrival, &identity, flight.pending, outcome).await
        }
    }
}

/// The upstream answered with an error: the user cancelled there (back to the login page,
/// saying so), or it refused.
async fn upstream_error(
    arrival: Arrival<'_>,
    flight: InFlight,
    error: &str,
    description: Option<&str>,
) -> Result<Response, LoginError> {
    let Arrival { ctx, provider, .. } = arrival;
    // The error code is the upstream's (or a forger's) text: only a plain OAuth code is shown.
    let code = Some(error)
        .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .unwrap_or("invalid_response");
    let description: String = description.unwrap_or_default().chars().take(200).collect();
    tracing::info!(realm = %ctx.snapshot.realm.name, provider = %provider.alias, error = code, description = %description, "identity provider answered with an error");
    arrival.record_error(&flight.pending, code);
    if code == "access_denied" {
        let cancelled = format!("Signing in with {} was cancelled.", provider.label());
        if let Some(user_id) = &flight.link_for {
            return match login::current_session(ctx, arrival.headers).await? {
                Some(live) if &live.user.id == user_id => {
                    let continuation = arrival.continuations.of(&flight.pending)?;
                    continuation
                        .resume(ctx, &live, flight.pending, arrival.headers)
                        .await
                }
                _ => Ok(ctx.message(StatusCode::OK, "Linking cancelled", &cancelled)),
            };
        }
        let mut pending = flight.pending;
        pending.hints.idp_hint = None;
        let view = LoginView {
            error: Some(cancelled),
            ..LoginView::default()
        };
        return login_page(ctx, &pending, arrival.headers, view, StatusCode::OK);
    }
    Ok(ctx.error_page(
        StatusCode::UNAUTHORIZED,
        &format!(
            "{} refused the sign-in ({code}). Please start again.",
            provider.label()
        ),
        "identity provider error",
    ))
}

/// The account console's link: the upstream account is linked to the signed-in user, whose
/// session must still be the one that asked; then back to the console.
async fn link_signed_in(
    arrival: Arrival<'_>,
    pending: login::Pending,
    login: BrokeredLogin<'_>,
    user_id: &str,
) -> Result<Response, LoginError> {
    let Arrival { ctx, provider, .. } = arrival;
    let live = match login::current_session(ctx, arrival.headers).await? {
        Some(live) if live.user.id == user_id => live,
        _ => return Ok(not_signed_in(ctx)),
    };
    let outcome = match link_confirmed(ctx.state.store(), login, user_id).await {
        Ok(outcome) => outcome,
        Err(e) => return upstream_failed(ctx, provider, e),
    };
    match outcome {
        Outcome::SignedIn { .. } => {
            ctx.state.invalidate_user(&ctx.snapshot.realm.name, user_id);
            arrival.record(
                LoginEvent {
                    kind: "FEDERATED_IDENTITY_LINK",
                    user_id: Some(user_id.to_string()),
                    username: Some(live.user.username.clone()),
                    session_id: Some(live.session.id.clone()),
                    client_id: pending.hints.client_id.clone(),
                    ..LoginEvent::default()
                },
                login.identity,
            );
            let continuation = arrival.continuations.of(&pending)?;
            continuation
                .resume(ctx, &live, pending, arrival.headers)
                .await
        }
        _ => {
            arrival.record_error(&pending, "federated_identity_already_linked");
            Ok(ctx.error_page(
                StatusCode::CONFLICT,
                &format!(
                    "This {} account is already linked to an account here, or yours already \
                     has a {} link. Unlink it first.",
                    provider.label(),
                    provider.label()
                ),
                "link refused",
            ))
        }
    }
}
