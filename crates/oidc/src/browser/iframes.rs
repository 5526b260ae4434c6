//! keycloak-js's helper frames, at Keycloak's paths under the protocol mount:
//!
//! - `login-status-iframe.html`, the `check_session_iframe` of OpenID Connect Session
//!   Management: the application posts `"<client_id> <sid>"` and hears `unchanged`, `changed`
//!   or `error`. Its first message asks `login-status-iframe.html/init?client_id=&origin=`,
//!   which answers 204 only when that client (enabled, openid-connect) allows that origin in
//!   its web origins (or the origin is the server's own), else 403, as Keycloak does.
//! - `3p-cookies/step1.html` and `step2.html`, the probe for third-party cookies.
//!
//! Keycloak serves these pages frameable by anyone and relies on the `init` check. Here they
//! may be framed only by the web origins of the realm's clients (which client frames the page is
//! only known from its first message), and `init` still checks the one client: every other
//! page keeps `frame-ancestors 'none'`. Their scripts are separate files under a policy without
//! inline script (`script-src 'self'`).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use portcullis_core::model::RealmSnapshot;
use portcullis_web::{AppState, Mount};
use serde::Deserialize;

use crate::tokens::claims::{allowed_origins, origin_of};

const LOGIN_STATUS_HTML: &str = include_str!("../../assets/login-status-iframe.html");
const LOGIN_STATUS_JS: &str = include_str!("../../assets/login-status-iframe.js");
const STEP1_HTML: &str = include_str!("../../assets/3p-cookies-step1.html");
const STEP1_JS: &str = include_str!("../../assets/3p-cookies-step1.js");
const STEP2_HTML: &str = include_str!("../../assets/3p-cookies-step2.html");
const STEP2_JS: &str = include_str!("../../assets/3p-cookies-step2.js");

const OPENID_CONNECT: &str = "openid-connect";

/// The routes, under the protocol mount.
pub(crate) fn routes(mount: &Mount) -> Router<AppState> {
    Router::new()
        .route(&mount.at("/login-status-iframe.html"), get(login_status))
        .route(&mount.at("/login-status-iframe.html/init"), get(init))
        .route(
            &mount.at("/login-status-iframe.js"),
            get(|| async { script(LOGIN_STATUS_JS) }),
        )
        .route(&mount.at("/3p-cookies/step1.html"), get(step1))
        .route(
            &mount.at("/3p-cookies/step1.js"),
            get(|| async { script(STEP1_JS) }),
        )
        .route(&mount.at("/3p-cookies/step2.html"), get(step2))
        .route(
            &mount.at("/3p-cookies/step2.js"),
            get(|| async { script(STEP2_JS) }),
        )
}

type RealmPath = Path<HashMap<String, String>>;

async fn login_status(State(state): State<AppState>, Path(path): RealmPath) -> Response {
    frame(&state, &path, LOGIN_STATUS_HTML).await
}

async fn step1(State(state): State<AppState>, Path(path): RealmPath) -> Response {
    frame(&state, &path, STEP1_HTML).await
}

async fn step2(State(state): State<AppState>, Path(path): RealmPath) -> Response {
    frame(&state, &path, STEP2_HTML).await
}

/// A helper frame's page, framable by the realm's clients' origins only.
async fn frame(state: &AppState, path: &HashMap<String, String>, body: &'static str) -> Response {
    let Some(snapshot) = enabled_realm(state, path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; frame-ancestors {}; \
         base-uri 'none'; form-action 'none'",
        frame_ancestors(&snapshot)
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        // The allowed ancestors follow the clients' settings: never reuse an old answer.
        (
            header::CACHE_CONTROL,
            "no-store, must-revalidate, max-age=0",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn script(body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[derive(Debug, Deserialize)]
struct InitQuery {
    client_id: Option<String>,
    origin: Option<String>,
}

/// `login-status-iframe.html/init`: 204 when the client allows the origin, else 403 (404 for an
/// unknown or disabled realm).
async fn init(
    State(state): State<AppState>,
    Path(path): RealmPath,
    Query(query): Query<InitQuery>,
) -> Response {
    let Some(snapshot) = enabled_realm(&state, &path).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (Some(client_id), Some(origin)) = (query.client_id, query.origin) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let own_origin = origin_of(&state.urls().base_url);
    let allowed = snapshot
        .client(&client_id)
        .filter(|c| c.enabled && c.protocol == OPENID_CONNECT)
        .is_some_and(|client| {
            own_origin.as_deref() == Some(origin.as_str())
                || allowed_origins(client)
                    .iter()
                    .any(|a| a == "*" || *a == origin)
        });
    tracing::info!(
        endpoint = "login-status-iframe/init",
        realm = %snapshot.realm.name,
        client_id = %crate::endpoints::label(&client_id),
        allowed,
        "openid-connect request"
    );
    if allowed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        StatusCode::FORBIDDEN.into_response()
    }
}

async fn enabled_realm(
    state: &AppState,
    path: &HashMap<String, String>,
) -> Option<std::sync::Arc<RealmSnapshot>> {
    let name = path.get("realm")?;
    match state.realm(name).await {
        Ok(found) => found.filter(|s| s.realm.enabled),
        Err(e) => {
            tracing::warn!(error = %e, "loading a realm for a keycloak-js frame");
            None
        }
    }
}

/// The `frame-ancestors` sources of the helper frames: the page's own origin and the web
/// origins of the realm's enabled openid-connect clients; `*` when one of them allows any.
pub(crate) fn frame_ancestors(snapshot: &RealmSnapshot) -> String {
    let mut sources = vec!["'self'".to_owned()];
    let clients = snapshot
        .clients
        .iter()
        .filter(|c| c.enabled && c.protocol == OPENID_CONNECT);
    for client in clients {
        for origin in allowed_origins(client) {
            if origin == "*" {
                return "*".to_owned();
            }
            if is_source_origin(&origin) && !sources.contains(&origin) {
                sources.push(origin);
            }
        }
    }
    sources.join(" ")
}

/// Whether `origin` can stand in a CSP source list as it is: `http(s)://host[:port]` with
/// nothing that would end the source or the directive.
fn is_source_origin(origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_origins_become_sources() {
        let rows = [
            ("https://app.test", true),
            ("http://127.0.0.1:8081", true),
            ("http://[::1]:3000", true),
            ("https://app.test; script-src *", false),
            ("https://a.test 'unsafe-inline'", false),
            ("javascript://x", false),
            ("https://", false),
            ("app.test", false),
        ];
        for (origin, ok) in rows {
            assert_eq!(is_source_origin(origin), ok, "{origin}");
        }
    }
}
