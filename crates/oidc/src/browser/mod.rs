//! The OIDC browser flows: the authorization endpoint, RP-initiated logout, the device
//! verification page (RFC 8628) and keycloak-js's helper frames. The login itself (the SSO
//! session, the login, consent and required-action pages) is the protocol-neutral flow of
//! [`portcullis_web::login`]; this crate's [`AuthorizationLogin`] and [`DeviceApproval`] are
//! the continuations that finish a login for an authorization request and for a device.

mod authorize;
mod consent;
mod device;
mod iframes;
mod logout;
mod params;
mod request;
mod response;
mod unavailable;

pub use authorize::AuthorizationLogin;
pub use device::DeviceApproval;

use axum::Router;
use axum::routing::{get, post};
use portcullis_web::{AppState, Mount};

/// The browser routes, under the protocol mount `{relative}/realms/{realm}/protocol/openid-connect`.
pub(crate) fn routes(mount: &Mount) -> Router<AppState> {
    Router::new()
        .route(
            &mount.at("/auth"),
            get(authorize::authorize).post(authorize::authorize),
        )
        .route(
            &mount.at("/logout"),
            get(logout::logout).post(logout::logout),
        )
        .route(&mount.at("/device"), get(device::page))
        .route(&mount.at("/registrations"), get(unavailable::registrations))
        .merge(iframes::routes(mount))
}

/// OIDC's form posts under `{relative}/realms/{realm}/login-actions/` (logout confirmation,
/// device code), and the device page at `{relative}/realms/{realm}/device`, where Keycloak's
/// `verification_uri` points. The login's own posts are [`portcullis_web::login::routes`].
pub fn login_action_routes(relative_path: &str) -> Router<AppState> {
    let realm = format!("{relative_path}/realms/{{realm}}");
    Router::new()
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
