//! The protocol-neutral login flow: the SSO session, the pending login, and the login, consent,
//! required-action, message and error pages, for every protocol and for brokering and the
//! account console.
//!
//! A login is *for* something: an OIDC authorization request, a device to approve, a page of the
//! account console. That is a [`Pending`] — a kind and a state — and a [`Continuation`] of that
//! kind finishes it once the user is signed in. The binary registers the continuations
//! ([`Continuations`], an axum `Extension`), as it lists the protocols.
//!
//! Nothing about a login in progress is kept on the server: each page's form carries a signed
//! form token with the pending login, bound to a cookie nonce (see [`crate::csrf`] and
//! [`seal`]). What must be shared and revocable (SSO sessions) is in the database, so instances
//! sharing it behave as one.

pub mod action_token;
mod authenticate;
mod broker;
mod consent;
mod continuation;
mod form;
mod page;
mod required;
mod sso;

pub use authenticate::INVALID_CREDENTIALS;
pub use broker::{LINK_REQUEST, LinkRequest, broker_path, link_form};
pub use consent::{ConsentView, consent_page};
pub use continuation::{
    Continuation, Continuations, LoginHints, Pending, begin, finish_authenticated,
};
pub use form::{Checked, FormNonce, LOGIN as LOGIN_FORM, check, seal};
pub use page::{LoginView, ProviderButton, login_page};
pub use sso::{
    LiveSession, SESSION_STATUS_COOKIE, clear_session_cookies, cookie_session, current_session,
    device_of, live_session, session_status, start_session,
};

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use portcullis_core::model::RealmSnapshot;
use portcullis_store::StoreError;
use serde_json::Value;

use crate::csrf::CsrfError;
use crate::session::{CookieScope, encode_path_segment};
use crate::templates::{self, TemplateError};
use crate::{AppState, WebError};

/// The login flow's form posts under `{relative}/realms/{realm}/login-actions/`. Their handlers
/// find the [`Continuations`] in an axum `Extension`.
pub fn routes(relative_path: &str) -> Router<AppState> {
    let realm = format!("{relative_path}/realms/{{realm}}");
    Router::new()
        .route(
            &format!("{realm}/login-actions/authenticate"),
            post(authenticate::authenticate),
        )
        .route(
            &format!("{realm}/login-actions/consent"),
            post(consent::consent),
        )
        .route(
            &format!("{realm}/login-actions/required-action"),
            post(required::update_password),
        )
        .route(
            &format!("{realm}/login-actions/action-token"),
            axum::routing::get(action_token::show).post(action_token::submit),
        )
}

/// Server-side failures of the login flow: shown as the error page with a request id.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Web(#[from] WebError),
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("form token: {0}")]
    Form(#[from] CsrfError),
    #[error("encoding a form token: {0}")]
    Json(#[from] serde_json::Error),
    #[error("template: {0}")]
    Template(#[from] TemplateError),
    #[error("a cookie could not be built")]
    Cookie,
    /// A pending login of a kind no registered continuation finishes (a server set up wrong).
    #[error("no continuation for pending logins of kind {0:?}")]
    UnknownKind(String),
}

impl IntoResponse for LoginError {
    fn into_response(self) -> Response {
        templates::internal_error_page(&self)
    }
}

/// What every browser handler works with: the realm, its issuer, its cookie scope and the time.
pub struct RealmCtx {
    pub state: AppState,
    pub snapshot: Arc<RealmSnapshot>,
    pub issuer: String,
    pub cookies: CookieScope,
    pub now: i64,
}

/// The realm of the request's path, as handlers of the login flow and its pages take it; an
/// unknown or disabled realm is answered with its error page before the handler runs.
impl axum::extract::FromRequestParts<AppState> for RealmCtx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let axum::extract::Path(path) =
            axum::extract::Path::<HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        match RealmCtx::load(state, &path).await {
            Ok(Ok(ctx)) => Ok(ctx),
            Ok(Err(page)) => Err(page),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl RealmCtx {
    /// The realm named in the path; `Err` holds the error page for an unknown or disabled one.
    pub async fn load(
        state: &AppState,
        path: &HashMap<String, String>,
    ) -> Result<Result<Self, Response>, LoginError> {
        let name = path.get("realm").map(String::as_str).unwrap_or_default();
        let snapshot = match state.realm(name).await? {
            Some(s) if s.realm.enabled => s,
            found => {
                let status = if found.is_some() {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::NOT_FOUND
                };
                return Ok(Err(templates::error_page(
                    status,
                    None,
                    "We are sorry...",
                    "Realm does not exist or is disabled.",
                    "unknown or disabled realm",
                )));
            }
        };
        Ok(Ok(Self {
            issuer: state.issuer(name),
            cookies: CookieScope::for_realm(state.urls(), name),
            now: state.now(),
            state: state.clone(),
            snapshot,
        }))
    }

    /// The name pages show: the display name, else the realm name.
    pub fn display_name(&self) -> &str {
        let realm = &self.snapshot.realm;
        realm.display_name.as_deref().unwrap_or(&realm.name)
    }

    /// The path of a `login-actions` form target.
    pub fn action(&self, name: &str) -> String {
        format!(
            "{}/realms/{}/login-actions/{name}",
            self.state.urls().relative_path,
            encode_path_segment(&self.snapshot.realm.name)
        )
    }

    /// The absolute URL a login-actions form posts to, carrying the form's state in the query
    /// as Keycloak's does (`session_code`, `execution`, `client_id`, `tab_id`), so a script
    /// that reads the form's `action` and posts only the visible fields signs in. HTML-escaped
    /// for an attribute (only `&`, quotes and angle brackets, as Keycloak's templates escape).
    pub fn action_url(&self, name: &str, session_code: &str, client_id: Option<&str>) -> String {
        let execution = portcullis_core::flows::login_form_execution_id(&self.snapshot.realm.id);
        let tab_id = portcullis_core::secrets::random_token::<8>();
        let mut query = vec![
            ("session_code", session_code),
            ("execution", execution.as_str()),
        ];
        if let Some(client_id) = client_id {
            query.push(("client_id", client_id));
        }
        query.push(("tab_id", tab_id.as_str()));
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        let url = format!(
            "{}{}?{query}",
            self.state.urls().base_url,
            self.action(name)
        );
        url.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    /// Seconds a page's form stays usable (Keycloak's `accessCodeLifespanLogin`).
    pub fn form_lifetime(&self) -> i64 {
        self.snapshot.realm.access_code_lifespan_login.max(60)
    }

    /// Renders a page of this realm (`realm_name` is added to the context).
    pub fn page(&self, status: StatusCode, template: &str, mut context: Value) -> Response {
        if let Some(map) = context.as_object_mut() {
            map.insert("realm_name".into(), self.display_name().into());
        }
        templates::page(status, template, &context)
    }

    /// The error page of this realm; `cause` goes to the log with the request id.
    pub fn error_page(&self, status: StatusCode, message: &str, cause: &str) -> Response {
        templates::error_page(
            status,
            Some(self.display_name()),
            "We are sorry...",
            message,
            cause,
        )
    }

    /// A page telling the user something (logged out, device connected).
    pub fn message(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.page(
            status,
            "message.html",
            serde_json::json!({"title": title, "message": message}),
        )
    }

    /// The answer to a post without a valid form token for this browser: a forged cross-site
    /// post, a form from another browser, or a tampered page. Nothing happens.
    pub fn invalid_form(&self, error: &CsrfError) -> Response {
        self.error_page(
            StatusCode::BAD_REQUEST,
            "This form is not valid any more. Please go back to the application and try again.",
            &format!("rejected form post: {error}"),
        )
    }

    /// The answer to a form post that could not be read.
    pub fn unreadable(&self) -> Response {
        self.error_page(
            StatusCode::BAD_REQUEST,
            "The form could not be read.",
            "unreadable form post",
        )
    }
}

/// Adds `Set-Cookie` headers to a response.
pub fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
