//! The self-service account console at `{relative}/realms/{realm}/account/` ([`console`]),
//! where a user signed in through the realm's login manages their profile, password, linked
//! identity providers, sessions, docker logins and app passwords, and sees what they may pull
//! and push; and Keycloak's account REST basics at `{relative}/realms/{realm}/account`
//! ([`rest`]), which keycloak-js's `loadUserProfile()` reads.
//!
//! Both are adapters: what they show and change goes through the self-service operations of
//! [`portcullis_admin::self_service`], which act only on the signed-in user.

mod console;
pub mod rest;

pub use console::signin::AccountPage;

use axum::extract::{FromRequestParts, Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use portcullis_web::{AppState, Protocols, cors};

/// The account console and the account REST basics, with the protocols the server serves
/// (the registry access pages need the one with access rules).
pub fn routes(relative: &str, protocols: &Protocols) -> Router<AppState> {
    let account = format!("{relative}/realms/{{realm}}/account");
    Router::new()
        .route(&account, get(account_root).options(cors::preflight))
        .merge(console::routes(relative))
        .route_layer(axum::middleware::from_fn(no_store_pages))
        .layer(Extension(protocols.clone()))
}

/// `GET {realm}/account`: the profile as JSON for keycloak-js (`Accept: application/json`),
/// the console's first page for a browser. (`{realm}/account/` is the same path: the server
/// trims trailing slashes.)
async fn account_root(State(state): State<AppState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    if rest::wants_json(&parts.headers) {
        let realm = match Path::<String>::from_request_parts(&mut parts, &state).await {
            Ok(Path(realm)) => realm,
            Err(rejection) => return rejection.into_response(),
        };
        return rest::profile(&state, &realm, &parts.headers).await;
    }
    match console::Console::from_request_parts(&mut parts, &state).await {
        Ok(console) => console::profile_page(console).await.into_response(),
        Err(error) => error.into_response(),
    }
}

/// The console's answers are about one user: no cache may keep them.
async fn no_store_pages(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
