//! Sending the browser upstream: from the login page or `kc_idp_hint` (`GET
//! broker/{alias}/login?flow=`, carrying the login form's token), and from the account console
//! to link a provider to the signed-in user (`POST broker/{alias}/link`).

use std::collections::HashMap;

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use portcullis_core::model::IdentityProvider;
use portcullis_web::login::{
    self, Checked, FormNonce, LINK_REQUEST, LOGIN_FORM, LinkRequest, LoginError, LoginView,
    Pending, RealmCtx, broker_path, login_page, with_cookies,
};
use serde::Deserialize;

use super::{Broker, IN_FLIGHT, IN_FLIGHT_COOKIE, InFlight, enabled_provider, no_provider};
use crate::upstream::Upstream;

const TIMED_OUT: &str = "Your login attempt timed out. Please sign in again.";

#[derive(Debug, Default, Deserialize)]
pub(super) struct FlowParam {
    flow: Option<String>,
}

/// `GET broker/{alias}/login?flow=`: the login form's token says what the login is for.
pub(super) async fn login(
    Extension(broker): Extension<Broker>,
    ctx: RealmCtx,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    query: Result<Query<FlowParam>, QueryRejection>,
) -> Result<Response, LoginError> {
    let Ok(Query(query)) = query else {
        return Ok(ctx.unreadable());
    };
    let pending: Pending = match login::check(&ctx, LOGIN_FORM, query.flow.as_deref(), &headers) {
        Checked::Valid(pending) => pending,
        Checked::Expired(mut pending) => {
            pending.hints.idp_hint = None;
            let view = LoginView {
                info: Some(TIMED_OUT.into()),
                ..LoginView::default()
            };
            return login_page(&ctx, &pending, &headers, view, StatusCode::OK);
        }
        Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
    };
    let alias = path.get("alias").map(String::as_str).unwrap_or_default();
    let Some(provider) = enabled_provider(&ctx, alias).filter(|p| !p.link_only) else {
        return Ok(no_provider(&ctx));
    };
    go_upstream(&ctx, &broker, &headers, provider, pending, None).await
}

/// `POST broker/{alias}/link` (`flow`: the account console's link request): the browser's
/// session must still be the user who asked.
pub(super) async fn link(
    Extension(broker): Extension<Broker>,
    ctx: RealmCtx,
    Path(path): Path<HashMap<String, String>>,
    headers: HeaderMap,
    form: Result<Form<FlowParam>, FormRejection>,
) -> Result<Response, LoginError> {
    let Ok(Form(form)) = form else {
        return Ok(ctx.unreadable());
    };
    let request: LinkRequest =
        match login::check(&ctx, LINK_REQUEST, form.flow.as_deref(), &headers) {
            Checked::Valid(request) => request,
            Checked::Expired(_) => {
                return Ok(ctx.error_page(
                    StatusCode::BAD_REQUEST,
                    "The page was open too long. Go back to your account and try again.",
                    "stale link request",
                ));
            }
            Checked::Invalid(e) => return Ok(ctx.invalid_form(&e)),
        };
    let signed_in = login::current_session(&ctx, &headers).await?;
    if signed_in.is_none_or(|live| live.user.id != request.user_id) {
        return Ok(not_signed_in(&ctx));
    }
    let alias = path.get("alias").map(String::as_str).unwrap_or_default();
    let Some(provider) = enabled_provider(&ctx, alias) else {
        return Ok(no_provider(&ctx));
    };
    let user_id = request.user_id;
    go_upstream(
        &ctx,
        &broker,
        &headers,
        provider,
        request.pending,
        Some(user_id),
    )
    .await
}

/// The page for a link whose browser is no longer signed in as the user who asked.
pub(super) fn not_signed_in(ctx: &RealmCtx) -> Response {
    ctx.error_page(
        StatusCode::FORBIDDEN,
        "You are no longer signed in as the account that asked for the link. Sign in and try again.",
        "link request of another session",
    )
}

/// The authorization request to the upstream, with the login in flight sealed into a cookie
/// of this browser (it holds the PKCE verifier, so it is `HttpOnly`; `SameSite=Lax` still
/// sends it on the upstream's top-level redirect back).
async fn go_upstream(
    ctx: &RealmCtx,
    broker: &Broker,
    headers: &HeaderMap,
    provider: &IdentityProvider,
    pending: Pending,
    link_for: Option<String>,
) -> Result<Response, LoginError> {
    let started = async {
        let http = broker.http.as_ref().ok_or_else(|| {
            crate::BrokerError::Config("no HTTP client could be built (TLS)".into())
        })?;
        let callback = format!(
            "{}{}",
            ctx.state.urls().base_url,
            broker_path(ctx, &provider.alias, "endpoint")
        );
        Upstream::new(http, provider)?
            .start(&callback, pending.hints.login_hint.as_deref())
            .await
    };
    let started = match started.await {
        Ok(started) => started,
        Err(e) => return super::upstream_failed(ctx, provider, e),
    };
    let Ok(location) = HeaderValue::from_str(&started.url) else {
        return super::upstream_failed(
            ctx,
            provider,
            crate::BrokerError::Config("the authorization URL is not a header value".into()),
        );
    };
    let flight = InFlight {
        upstream: started.pending,
        pending,
        link_for,
    };
    let nonce = FormNonce::of(headers);
    let sealed = login::seal(ctx, IN_FLIGHT, &nonce, &flight)?;
    let cookie = ctx
        .cookies
        .set(IN_FLIGHT_COOKIE, &sealed)
        .ok_or(LoginError::Cookie)?;
    tracing::info!(realm = %ctx.snapshot.realm.name, provider = %provider.alias, "brokered login started");
    let redirect = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    Ok(with_cookies(
        redirect,
        nonce.cookie(ctx)?.into_iter().chain(Some(cookie)),
    ))
}
