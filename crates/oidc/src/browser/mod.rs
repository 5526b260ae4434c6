//! Browser flows: the authorization endpoint with its login and consent pages, the SSO session,
//! RP-initiated logout, and the device verification page (RFC 8628).
//!
//! Nothing about a login in progress is kept on the server: each page's form carries a signed
//! form token with the pending request, bound to a cookie nonce (see
//! [`portcullis_web::csrf`]). What must be shared and revocable (SSO sessions, codes, consent,
//! device approvals) is in the database, so instances sharing it behave as one.

mod authorize;
mod device;
mod flow;
mod iframes;
mod login;
mod logout;
mod params;
mod request;
mod required;
mod response;
mod sso;
mod unavailable;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_core::model::RealmSnapshot;
use portcullis_store::StoreError;
use portcullis_web::csrf::CsrfError;
use portcullis_web::session::{CookieScope, encode_path_segment};
use portcullis_web::templates::{self, TemplateError};
use portcullis_web::{AppState, WebError};
use serde_json::Value;

/// Routes relative to the protocol mount `{relative}/realms/{realm}/protocol/openid-connect`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/auth",
            get(authorize::authorize).post(authorize::authorize),
        )
        .route("/logout", get(logout::logout).post(logout::logout))
        .route("/device", get(device::page))
        .route("/registrations", get(unavailable::registrations))
        .merge(iframes::routes())
}

/// The form posts under `{relative}/realms/{realm}/login-actions/`, and the device page at
/// `{relative}/realms/{realm}/device`, where Keycloak's `verification_uri` points.
pub fn login_action_routes(relative_path: &str) -> Router<AppState> {
    let realm = format!("{relative_path}/realms/{{realm}}");
    Router::new()
        .route(
            &format!("{realm}/login-actions/authenticate"),
            post(login::authenticate),
        )
        .route(
            &format!("{realm}/login-actions/consent"),
            post(login::consent),
        )
        .route(
            &format!("{realm}/login-actions/required-action"),
            post(required::update_password),
        )
        .route(
            &format!("{realm}/login-actions/logout"),
            post(logout::confirm),
        )
        .route(
            &format!("{realm}/login-actions/device"),
            post(device::submit),
        )
        .route(&format!("{realm}/device"), get(device::page))
}

/// Server-side failures of the browser flows: shown as the error page with a request id.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BrowserError {
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
}

impl IntoResponse for BrowserError {
    fn into_response(self) -> Response {
        templates::internal_error_page(&self)
    }
}

/// What every browser handler works with: the realm, its issuer, its cookie scope and the time.
pub(crate) struct RealmCtx {
    pub state: AppState,
    pub snapshot: Arc<RealmSnapshot>,
    pub issuer: String,
    pub cookies: CookieScope,
    pub now: i64,
}

impl RealmCtx {
    /// The realm named in the path; `Err` holds the error page for an unknown or disabled one.
    pub(crate) async fn load(
        state: &AppState,
        path: &HashMap<String, String>,
    ) -> Result<Result<Self, Response>, BrowserError> {
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
    pub(crate) fn display_name(&self) -> &str {
        let realm = &self.snapshot.realm;
        realm.display_name.as_deref().unwrap_or(&realm.name)
    }

    /// The path of a `login-actions` form target.
    pub(crate) fn action(&self, name: &str) -> String {
        format!(
            "{}/realms/{}/login-actions/{name}",
            self.state.urls().relative_path,
            encode_path_segment(&self.snapshot.realm.name)
        )
    }

    /// Seconds a page's form stays usable (Keycloak's `accessCodeLifespanLogin`).
    pub(crate) fn form_lifetime(&self) -> i64 {
        self.snapshot.realm.access_code_lifespan_login.max(60)
    }

    /// Renders a page of this realm (`realm_name` is added to the context).
    pub(crate) fn page(&self, status: StatusCode, template: &str, mut context: Value) -> Response {
        if let Some(map) = context.as_object_mut() {
            map.insert("realm_name".into(), self.display_name().into());
        }
        templates::page(status, template, &context)
    }

    /// The error page of this realm; `cause` goes to the log with the request id.
    pub(crate) fn error_page(&self, status: StatusCode, message: &str, cause: &str) -> Response {
        templates::error_page(
            status,
            Some(self.display_name()),
            "We are sorry...",
            message,
            cause,
        )
    }

    /// A page telling the user something (logged out, device connected).
    pub(crate) fn message(&self, status: StatusCode, title: &str, message: &str) -> Response {
        self.page(
            status,
            "message.html",
            serde_json::json!({"title": title, "message": message}),
        )
    }
}

/// Adds `Set-Cookie` headers to a response.
pub(crate) fn with_cookies(
    mut response: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
