//! What OIDC's consent pages show, shared by the authorization request and the device
//! approval: the scopes a consent covers and how they read, and the page for a client gone.

use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::model::Client;
use portcullis_web::login::{LiveSession, RealmCtx};

use crate::tokens::scopes;

/// The scopes a consent covers: what the grant would hold and the user can understand
/// (`openid` and Keycloak's unlisted technical scopes are left out).
pub(crate) fn consent_scopes(
    ctx: &RealmCtx,
    client: &Client,
    scope: &str,
    live: &LiveSession,
) -> Vec<String> {
    let offline_ok = scopes::offline_allowed(&ctx.snapshot, &live.user);
    scopes::grant(&ctx.snapshot, client, Some(scope), offline_ok)
        .to_claim()
        .split_whitespace()
        .filter(|s| *s != scopes::OPENID)
        .map(str::to_string)
        .collect()
}

/// How the consent page names a scope.
pub(crate) fn scope_label(scope: &str) -> String {
    match scope {
        "profile" => "User profile".into(),
        "email" => "Email address".into(),
        "address" => "Address".into(),
        "phone" => "Phone number".into(),
        "offline_access" => "Offline access".into(),
        "roles" => "User roles".into(),
        "microprofile-jwt" => "MicroProfile JWT".into(),
        other => other.into(),
    }
}

/// The scopes' labels, in order.
pub(crate) fn scope_labels(scopes: &[String]) -> Vec<String> {
    scopes.iter().map(|s| scope_label(s)).collect()
}

pub(crate) fn client_gone(ctx: &RealmCtx) -> Response {
    ctx.error_page(
        StatusCode::BAD_REQUEST,
        "The application is not available any more. Please start again from the application.",
        "client or redirect URI no longer valid for a pending request",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_labels_read_as_keycloak_names_them() {
        assert_eq!(scope_label("email"), "Email address");
        assert_eq!(scope_label("custom"), "custom");
    }
}
