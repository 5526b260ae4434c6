//! Pages for what keycloak-js links to and this server does not offer (yet): self-registration
//! (`keycloak.register()`, `protocol/openid-connect/registrations`) and the account console
//! (`keycloak.accountManagement()`, `{realm}/account`). A user who follows such a link gets a
//! page of the realm saying so, not a bare 404.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_web::AppState;
use portcullis_web::login::{LoginError, RealmCtx};

/// `GET .../protocol/openid-connect/registrations`: Keycloak's answer for a realm without
/// user registration, its error page with 400 and "Registration not allowed".
pub(crate) async fn registrations(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, LoginError> {
    let ctx = match RealmCtx::load(&state, &path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    Ok(ctx.error_page(
        StatusCode::BAD_REQUEST,
        "Registration not allowed. Ask an administrator of this realm for an account.",
        "registration is not available",
    ))
}

/// `GET {realm}/account` in a browser: the account console is not part of this server yet.
pub(crate) async fn account_page(
    state: &AppState,
    path: &HashMap<String, String>,
) -> Result<Response, LoginError> {
    let ctx = match RealmCtx::load(state, path).await? {
        Ok(ctx) => ctx,
        Err(page) => return Ok(page),
    };
    Ok(ctx.message(
        StatusCode::NOT_FOUND,
        "Account console not available",
        "This server does not offer an account console yet. To change your password or \
         profile, ask an administrator of this realm.",
    ))
}
