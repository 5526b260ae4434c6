//! OIDC endpoints that applications call directly (TOKENS helper replaces this file).

use axum::Router;
use portcullis_web::AppState;

/// Routes relative to the protocol mount.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

/// The discovery documents, at absolute paths under the relative path.
pub fn well_known_routes(_relative_path: &str) -> Router<AppState> {
    Router::new()
}
