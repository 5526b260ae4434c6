//! The browser side of brokering: the login page's buttons (and `kc_idp_hint`) lead to
//! [`start::login`], the account console's "Link" to [`start::link`]; both send the browser
//! upstream with what must survive the trip sealed in a cookie bound to the browser. The
//! upstream sends it back to [`callback::endpoint`], which signs the user in, or shows the
//! first-login pages of [`first_login`] (review, or proving an existing account).
//!
//! Every refusal is a page that says what happened, with a 4xx status for what the browser
//! brought (a forged, replayed or stale callback) and 502 for an upstream that failed.

mod callback;
mod first_login;
mod start;

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use portcullis_core::model::IdentityProvider;
use portcullis_web::login::{LoginError, Pending, RealmCtx};
use portcullis_web::{AppState, Protocols};
use serde::{Deserialize, Serialize};

use crate::BrokerError;
use crate::http::Http;
use crate::upstream::PendingUpstream;

/// The cookie holding the login in flight between the upstream and its return.
const IN_FLIGHT_COOKIE: &str = "PORTCULLIS_BROKER";
/// The form-token purpose of that cookie's value.
const IN_FLIGHT: &str = "broker-in-flight";

/// The brokering routes: `broker/{alias}/login`, `broker/{alias}/link`,
/// `broker/{alias}/endpoint`, and the first-login pages' posts under `login-actions/`.
/// `protocols` tells which registries' access the first-login page shows.
pub fn routes(relative_path: &str, protocols: &Protocols) -> Router<AppState> {
    let http = match Http::new() {
        Ok(http) => Some(http),
        Err(e) => {
            tracing::error!(error = %e, "identity brokering is unavailable: no HTTP client");
            None
        }
    };
    let realm = format!("{relative_path}/realms/{{realm}}");
    Router::new()
        .route(
            &format!("{realm}/broker/{{alias}}/login"),
            get(start::login),
        )
        .route(&format!("{realm}/broker/{{alias}}/link"), post(start::link))
        .route(
            &format!("{realm}/broker/{{alias}}/endpoint"),
            get(callback::endpoint),
        )
        .route(
            &format!("{realm}/login-actions/broker-review"),
            post(first_login::review),
        )
        .route(
            &format!("{realm}/login-actions/broker-link"),
            post(first_login::confirm),
        )
        .layer(Extension(Broker {
            http,
            protocols: protocols.clone(),
        }))
}

/// What the brokering handlers share.
#[derive(Clone)]
struct Broker {
    /// `None` only when no TLS client could be built; every brokered login then fails with a
    /// page saying so.
    http: Option<Http>,
    protocols: Protocols,
}

/// A brokered login between leaving for the upstream and coming back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InFlight {
    upstream: PendingUpstream,
    /// What the login is for, finished by its continuation.
    pending: Pending,
    /// Set when a signed-in user links the provider from the account console: the user
    /// the link is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link_for: Option<String>,
}

/// The provider `alias` if it is enabled.
fn enabled_provider<'a>(ctx: &'a RealmCtx, alias: &str) -> Option<&'a IdentityProvider> {
    ctx.snapshot
        .identity_provider(alias)
        .filter(|provider| provider.enabled)
}

/// The page for an unknown or disabled provider.
fn no_provider(ctx: &RealmCtx) -> Response {
    ctx.error_page(
        StatusCode::NOT_FOUND,
        "This identity provider is not available.",
        "unknown or disabled identity provider",
    )
}

/// The page for a brokered login that failed; `Err` for the server's own failures.
fn upstream_failed(
    ctx: &RealmCtx,
    provider: &IdentityProvider,
    error: BrokerError,
) -> Result<Response, LoginError> {
    let cause = format!("brokered login with {}: {error}", provider.alias);
    let label = provider.label();
    let (status, message) = match error {
        BrokerError::Store(e) => return Err(LoginError::Store(e)),
        BrokerError::Config(_) => (
            StatusCode::BAD_GATEWAY,
            format!(
                "Signing in with {label} is not set up correctly. Please tell an administrator."
            ),
        ),
        BrokerError::Unreachable(_) => (
            StatusCode::BAD_GATEWAY,
            format!("{label} could not be reached. Please try again later."),
        ),
        BrokerError::Upstream(_) => (
            StatusCode::BAD_GATEWAY,
            format!(
                "{label} answered in a way that could not be understood. Please try again later."
            ),
        ),
        BrokerError::Refused(_) => (
            StatusCode::UNAUTHORIZED,
            format!("{label} refused the sign-in. Please start again."),
        ),
        BrokerError::InvalidToken(_) => (
            StatusCode::UNAUTHORIZED,
            format!("The answer from {label} could not be verified. Please start again."),
        ),
        BrokerError::NotAllowed(why) => (StatusCode::FORBIDDEN, why),
    };
    Ok(ctx.error_page(status, &message, &cause))
}
