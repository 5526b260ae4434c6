//! The admin console at `{relative}/admin/{realm}/console/`: server-rendered pages over the
//! same operations as the REST API ([`crate::ops`]), so the console can never allow what the
//! API forbids.
//!
//! Sign-in is OpenID Connect code + PKCE through the realm's own login page with the built-in
//! `security-admin-console` client ([`session`]); the console's cookie is bound to that SSO
//! session and checked against it on every request. Every form carries a CSRF token bound to
//! the cookie; every page is sent with a strict Content-Security-Policy (scripts and styles
//! only from the console's own static files, no inline script) and works without JavaScript;
//! the vendored htmx only makes searches and the group tree answer in place.

mod app_passwords;
mod ci_rules;
mod client_scopes;
mod client_setup;
mod clients;
mod events;
mod groups;
mod keys;
mod mappers;
mod page;
mod realms;
mod registries;
mod robots;
mod roles;
mod scope_mappings;
mod session;
mod sessions;
mod settings;
mod users;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use portcullis_web::AppState;

/// The console's static files: stylesheet, htmx and favicon, built into the binary.
const STATIC: &[(&str, &str, &str)] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/console.css"),
    ),
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/htmx-2.0.11.min.js"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_str!("../../assets/favicon.svg"),
    ),
];

/// The console's routes for every realm: `{relative}/admin/{console}/console/...`.
pub fn routes(relative: &str) -> Router<AppState> {
    let base = format!("{relative}/admin/{{console}}/console");
    let r = |path: &str| format!("{base}{path}");
    let realm = |path: &str| format!("{base}/realms/{{realm}}{path}");
    Router::new()
        .route(&base, get(realms::home))
        .route(&r("/callback"), get(session::callback))
        .route(&r("/logout"), post(session::logout))
        .route(&r("/static/{file}"), get(static_file))
        .route(&r("/realms"), get(realms::list).post(realms::create))
        .route(&r("/switch"), get(realms::switch))
        .route(&realm(""), get(realms::overview))
        .merge(clients::routes(&realm("")))
        .merge(client_setup::routes(&realm("")))
        .merge(client_scopes::routes(&realm("")))
        .merge(registries::routes(&realm("")))
        .merge(ci_rules::routes(&realm("")))
        .merge(users::routes(&realm("")))
        .merge(roles::routes(&realm("")))
        .merge(groups::routes(&realm("")))
        .merge(settings::routes(&realm("")))
        .merge(keys::routes(&realm("")))
        .merge(events::routes(&realm("")))
        .merge(sessions::routes(&realm("")))
        .merge(robots::routes(&realm("")))
        .merge(app_passwords::routes(&realm("")))
}

async fn static_file(
    axum::extract::Path((_console, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let Some((_, content_type, body)) = STATIC.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The names carry the version (htmx) or change with the binary; a day is safe either way.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
