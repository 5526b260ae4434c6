//! A page for what keycloak-js links to and this server does not offer: self-registration
//! (`keycloak.register()`, `protocol/openid-connect/registrations`). A user who follows such a
//! link gets a page of the realm saying so, not a bare 404.

use axum::http::StatusCode;
use axum::response::Response;
use portcullis_web::login::{LoginError, RealmCtx};

/// `GET .../protocol/openid-connect/registrations`: Keycloak's answer for a realm without
/// user registration, its error page with 400 and "Registration not allowed".
pub(crate) async fn registrations(ctx: RealmCtx) -> Result<Response, LoginError> {
    Ok(ctx.error_page(
        StatusCode::BAD_REQUEST,
        "Registration not allowed. Ask an administrator of this realm for an account.",
        "registration is not available",
    ))
}
