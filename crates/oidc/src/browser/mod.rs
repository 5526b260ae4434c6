//! Browser flows: login, consent, logout, device verification (BROWSER helper replaces this file).

use axum::Router;
use portcullis_web::AppState;

/// Routes relative to the protocol mount.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
