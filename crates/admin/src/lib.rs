//! The Keycloak-compatible admin REST API under `{relative}/admin`, so python-keycloak,
//! @keycloak/keycloak-admin-client and the Terraform provider manage Portcullis unchanged:
//! Keycloak's paths, representations, status codes, `Location` headers and error shapes
//! (reference `keycloak-surface.md` sections 2 and 3).
//!
//! Every request is authorized as Keycloak does ([`auth`]), every change runs in one
//! transaction with its admin event ([`context::Change`]), and every error becomes a response in
//! one place ([`AdminError`]).

mod api;
pub mod auth;
mod console;
mod context;
mod error;
mod extract;
pub(crate) mod ops;
mod rep;

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::{Extension, Router};
#[cfg(test)]
use portcullis_web::Protocol;
use portcullis_web::{AppState, MapperType, Protocols};

pub use error::AdminError;
/// What a user holds in the realm's registries, for pages outside the admin API.
pub use ops::access::{Grant, grants_for};
pub use ops::self_service;

/// The protocol-mapper types each protocol offers, for `/admin/serverinfo`.
#[derive(Debug, Clone, Default)]
pub struct ProtocolCatalog {
    pub protocols: Vec<(String, Vec<MapperType>)>,
}

impl ProtocolCatalog {
    /// The catalog of the given protocols; a protocol that lists no mapper types (the OIDC
    /// provider while it grows) gets Keycloak's common ones.
    pub fn of(protocols: &Protocols) -> Self {
        let protocols = protocols
            .iter()
            .map(|p| {
                let mut types = p.mapper_types();
                if types.is_empty() && p.name() == rep::client::OPENID_CONNECT {
                    types = api::serverinfo::keycloak_oidc_mapper_types();
                }
                (p.name().to_string(), types)
            })
            .collect();
        Self { protocols }
    }
}

/// The admin API and the admin console, knowing the protocols the binary serves only through
/// [`Protocols`].
pub fn routes_with_protocols(relative: &str, protocols: &Protocols) -> Router<AppState> {
    routes_with_catalog(relative, ProtocolCatalog::of(protocols))
        .merge(console::routes(relative))
        .layer(Extension(protocols.clone()))
}

fn routes_with_catalog(relative: &str, catalog: ProtocolCatalog) -> Router<AppState> {
    let admin = format!("{relative}/admin");
    let realm = format!("{admin}/realms/{{realm}}");
    let r = |path: &str| format!("{realm}{path}");
    use api::{attack, events, mappings, partial, realms, roles, serverinfo};
    serverinfo::mark_started();
    let router = Router::new()
        .route(&format!("{admin}/serverinfo"), get(serverinfo::get_info))
        .route(
            &format!("{admin}/realms"),
            get(realms::list).post(realms::create),
        )
        .route(
            &realm,
            get(realms::get).put(realms::update).delete(realms::delete),
        )
        .route(&r("/partial-export"), post(partial::export))
        .route(&r("/partialImport"), post(partial::import))
        .route(&r("/admin-events"), get(events::list).delete(events::clear))
        .merge(user_routes(&realm))
        .merge(mappings::routes(&realm))
        .merge(roles::routes(&realm))
        .merge(group_routes(&realm))
        .merge(client_routes(&realm))
        .merge(api::client_scopes::routes(&realm))
        .merge(identity_provider_routes(&realm))
        .merge(realm_admin_routes(&admin, &realm))
        .merge(authentication_routes(&realm))
        .merge(user_and_client_action_routes(&realm))
        .merge(fallback_routes(&admin, &realm))
        .route(
            &r("/attack-detection/brute-force/users"),
            axum::routing::delete(attack::clear_all),
        )
        .route(
            &r("/attack-detection/brute-force/users/{id}"),
            get(attack::status).delete(attack::clear),
        )
        .route(&r("/events"), get(events::login_events))
        .route(
            &r("/sessions/{id}"),
            axum::routing::delete(api::grants::delete_session),
        );
    router
        .layer(Extension(Arc::new(catalog)))
        .layer(axum::middleware::map_response(api::fallback::json_errors))
        .layer(axum::middleware::map_response(no_store))
}

/// Admin responses carry client secrets, keys and user data: no cache may keep them.
async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// Realm-wide endpoints beside the realm's settings, and the console's `whoami`.
fn realm_admin_routes(admin: &str, realm: &str) -> Router<AppState> {
    use api::realm_admin as ra;
    use axum::routing::delete;
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/keys"), get(ra::keys))
        .route(
            &r("/components"),
            get(ra::components).post(ra::edit_component),
        )
        .route(
            &r("/components/{id}"),
            get(ra::get_component)
                .put(ra::edit_component)
                .delete(ra::edit_component),
        )
        .route(
            &r("/events/config"),
            get(ra::events_config).put(ra::set_events_config),
        )
        .route(&r("/events"), delete(ra::clear_events))
        .route(&r("/default-groups"), get(ra::default_groups))
        .route(
            &r("/default-groups/{group}"),
            put(ra::add_default_group).delete(ra::remove_default_group),
        )
        .route(&r("/clear-realm-cache"), post(ra::clear_realm_cache))
        .route(&r("/clear-user-cache"), post(ra::clear_user_cache))
        .route(&r("/clear-keys-cache"), post(ra::clear_keys_cache))
        .route(&r("/logout-all"), post(ra::logout_all))
        .route(&r("/push-revocation"), post(ra::push_revocation))
        .route(&r("/client-session-stats"), get(ra::client_session_stats))
        // `{console}`: the admin console's routes name this segment so.
        .route(
            &format!("{admin}/{{console}}/console/whoami"),
            get(ra::whoami),
        )
}

/// `authentication/`: required actions, and the built-in flows read-only.
fn authentication_routes(realm: &str) -> Router<AppState> {
    use api::authentication as a;
    let r = |path: &str| format!("{realm}/authentication{path}");
    let edit = a::not_editable;
    Router::new()
        .route(&r("/required-actions"), get(a::list_actions))
        .route(
            &r("/required-actions/{alias}"),
            get(a::get_action)
                .put(a::update_action)
                .delete(a::delete_action),
        )
        .route(
            &r("/required-actions/{alias}/config"),
            get(a::action_config)
                .put(a::update_action_config)
                .delete(a::action_config),
        )
        .route(
            &r("/required-actions/{alias}/config-description"),
            get(a::action_config_description),
        )
        .route(
            &r("/required-actions/{alias}/raise-priority"),
            post(a::raise_action),
        )
        .route(
            &r("/required-actions/{alias}/lower-priority"),
            post(a::lower_action),
        )
        .route(
            &r("/unregistered-required-actions"),
            get(a::unregistered_actions),
        )
        .route(&r("/register-required-action"), post(a::register_action))
        .route(&r("/flows"), get(a::list_flows).post(edit))
        .route(&r("/flows/{flow}"), get(a::get_flow).put(edit).delete(edit))
        .route(
            &r("/flows/{flow}/executions"),
            get(a::flow_executions).put(edit),
        )
        .route(&r("/executions/{id}"), get(a::get_execution).delete(edit))
        .route(
            &r("/authenticator-providers"),
            get(a::authenticator_providers),
        )
        .route(
            &r("/client-authenticator-providers"),
            get(a::client_authenticator_providers),
        )
        .route(&r("/form-providers"), get(a::form_providers))
        .route(&r("/form-action-providers"), get(a::form_action_providers))
        .route(&r("/{*rest}"), axum::routing::any(edit))
}

/// Everything else under `{relative}/admin/`: the areas of Keycloak this server leaves out
/// answer 501 saying so, unknown paths a JSON 404.
fn fallback_routes(admin: &str, realm: &str) -> Router<AppState> {
    use api::fallback::Unsupported;
    use axum::routing::any;
    let r = |path: &str| format!("{realm}{path}");
    let unsupported = |area: Unsupported| any(move || async move { area.reply() });
    let permissions = unsupported(Unsupported::FineGrainedPermissions);
    Router::new()
        .route(
            &r("/clients/{id}/authz/{*rest}"),
            unsupported(Unsupported::AuthorizationServices),
        )
        .route(
            &r("/organizations"),
            unsupported(Unsupported::Organizations),
        )
        .route(
            &r("/organizations/{*rest}"),
            unsupported(Unsupported::Organizations),
        )
        .route(
            &r("/client-policies/{*rest}"),
            unsupported(Unsupported::ClientPolicies),
        )
        .route(&r("/users-management-permissions"), permissions.clone())
        .route(
            &r("/clients/{id}/management/permissions"),
            permissions.clone(),
        )
        .route(
            &r("/groups/{id}/management/permissions"),
            permissions.clone(),
        )
        .route(
            &r("/roles-by-id/{id}/management/permissions"),
            permissions.clone(),
        )
        .route(
            &r("/identity-provider/instances/{alias}/management/permissions"),
            permissions,
        )
        .route(
            &r("/client-description-converter"),
            unsupported(Unsupported::ClientDescriptionConverter),
        )
        .route(
            &format!("{admin}/api/{{*rest}}"),
            unsupported(Unsupported::AdminApiV2),
        )
}

/// The answer for a path no route serves: under `{relative}/admin/` a JSON 404 as Keycloak's
/// (client libraries show its message), elsewhere an empty 404. For the application's
/// fallback: a catch-all route cannot sit beside the console's `{realm}/console` segment.
pub fn fallback(
    relative: &str,
) -> impl Fn(axum::http::Uri) -> std::future::Ready<axum::response::Response>
+ Clone
+ Send
+ Sync
+ 'static {
    let prefix = format!("{relative}/admin/");
    move |uri: axum::http::Uri| {
        use axum::response::IntoResponse;
        std::future::ready(if uri.path().starts_with(&prefix) {
            api::fallback::not_found_response()
        } else {
            axum::http::StatusCode::NOT_FOUND.into_response()
        })
    }
}

fn user_routes(realm: &str) -> Router<AppState> {
    use api::{app_passwords, federated, grants, users};
    let r = |path: &str| format!("{realm}/users{path}");
    Router::new()
        .route(&r(""), get(users::list).post(users::create))
        .route(&r("/count"), get(users::count))
        .route(
            &r("/profile"),
            get(users::profile).put(users::update_profile),
        )
        .route(&r("/profile/metadata"), get(users::profile_metadata))
        .route(
            &r("/{id}"),
            get(users::get).put(users::update).delete(users::delete),
        )
        .route(&r("/{id}/reset-password"), put(users::reset_password))
        .route(&r("/{id}/credentials"), get(users::credentials))
        .route(
            &r("/{id}/credentials/{credential}"),
            axum::routing::delete(users::delete_credential),
        )
        .route(&r("/{id}/groups"), get(users::groups))
        .route(&r("/{id}/groups/count"), get(users::group_count))
        .route(
            &r("/{id}/groups/{group}"),
            put(users::join_group).delete(users::leave_group),
        )
        .route(&r("/{id}/sessions"), get(users::sessions))
        .route(&r("/{id}/consents"), get(grants::consents))
        .route(
            &r("/{id}/consents/{client}"),
            axum::routing::delete(grants::revoke_consent),
        )
        .route(
            &r("/{id}/offline-sessions/{client}"),
            get(grants::user_offline_sessions),
        )
        .route(&r("/{id}/logout"), post(users::logout))
        .route(&r("/{id}/federated-identity"), get(federated::list))
        .route(
            &r("/{id}/federated-identity/{provider}"),
            post(federated::link).delete(federated::unlink),
        )
        .route(
            &r("/{id}/app-passwords"),
            get(app_passwords::list).post(app_passwords::create),
        )
        .route(
            &r("/{id}/app-passwords/{pid}"),
            axum::routing::delete(app_passwords::revoke),
        )
}

/// Users' credential labels, impersonation and action e-mails; clients' sessions,
/// certificates and installation files.
fn user_and_client_action_routes(realm: &str) -> Router<AppState> {
    use api::user_actions as ua;
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(
            &r("/users/{id}/credentials/{credential}/userLabel"),
            put(ua::set_credential_label),
        )
        .route(&r("/users/{id}/impersonation"), post(ua::impersonate))
        .route(
            &r("/users/{id}/execute-actions-email"),
            put(ua::execute_actions_email),
        )
        .route(
            &r("/users/{id}/send-verify-email"),
            put(ua::send_verify_email),
        )
        .route(
            &r("/clients/{id}/user-sessions"),
            get(ua::client_user_sessions),
        )
        .route(
            &r("/clients/{id}/session-count"),
            get(ua::client_session_count),
        )
        .route(
            &r("/clients/{id}/certificates/{attr}"),
            get(api::client_keys::get),
        )
        .route(
            &r("/clients/{id}/certificates/{attr}/generate"),
            post(api::client_keys::generate),
        )
        .route(
            &r("/clients/{id}/certificates/{attr}/upload"),
            post(api::client_keys::upload),
        )
        .route(
            &r("/clients/{id}/certificates/{attr}/upload-certificate"),
            post(api::client_keys::upload),
        )
        .route(
            &r("/clients/{id}/certificates/{attr}/download"),
            post(api::client_keys::download),
        )
        .route(
            &r("/clients/{id}/installation/providers/{provider}"),
            get(api::client_keys::installation),
        )
}

fn group_routes(realm: &str) -> Router<AppState> {
    use api::{groups, robots};
    let r = |path: &str| format!("{realm}{path}");
    Router::new()
        .route(&r("/groups"), get(groups::list).post(groups::create))
        .route(&r("/groups/count"), get(groups::count))
        .route(
            &r("/groups/{id}"),
            get(groups::get).put(groups::update).delete(groups::delete),
        )
        .route(
            &r("/groups/{id}/children"),
            get(groups::children).post(groups::add_child),
        )
        .route(&r("/groups/{id}/members"), get(groups::members))
        .route(
            &r("/groups/{id}/robots"),
            get(robots::list).post(robots::create),
        )
        .route(
            &r("/groups/{id}/robots/{robot}"),
            get(robots::get).put(robots::update).delete(robots::delete),
        )
        .route(
            &r("/groups/{id}/robots/{robot}/rotate"),
            post(robots::rotate),
        )
        .route(
            &r("/groups/{id}/robots/{robot}/revoke"),
            post(robots::revoke),
        )
        .route(&r("/robots"), get(robots::visible))
        .route(&r("/group-by-path/{*path}"), get(groups::by_path))
}

fn identity_provider_routes(realm: &str) -> Router<AppState> {
    use api::identity_providers as idp;
    let r = |path: &str| format!("{realm}/identity-provider{path}");
    Router::new()
        .route(&r("/instances"), get(idp::list).post(idp::create))
        .route(
            &r("/instances/{alias}"),
            get(idp::get).put(idp::update).delete(idp::delete),
        )
        .route(
            &r("/instances/{alias}/mappers"),
            get(idp::mappers).post(idp::create_mapper),
        )
        .route(
            &r("/instances/{alias}/mappers/{id}"),
            get(idp::get_mapper)
                .put(idp::update_mapper)
                .delete(idp::delete_mapper),
        )
        .route(
            &r("/instances/{alias}/mapper-types"),
            get(idp::mapper_types),
        )
        .route(&r("/providers/{provider_id}"), get(idp::provider_type))
}

fn client_routes(realm: &str) -> Router<AppState> {
    use api::clients;
    let r = |path: &str| format!("{realm}/clients{path}");
    Router::new()
        .route(&r(""), get(clients::list).post(clients::create))
        .route(
            &r("/{id}"),
            get(clients::get)
                .put(clients::update)
                .delete(clients::delete),
        )
        .route(
            &r("/{id}/client-secret"),
            get(clients::secret).post(clients::regenerate_secret),
        )
        .route(
            &r("/{id}/service-account-user"),
            get(clients::service_account),
        )
        .route(&r("/{id}/push-revocation"), post(clients::push_revocation))
        .route(
            &r("/{id}/offline-sessions"),
            get(api::grants::client_offline_sessions),
        )
        .route(
            &r("/{id}/offline-session-count"),
            get(api::grants::client_offline_session_count),
        )
        .route(
            &r("/{id}/protocol-mappers/models"),
            get(clients::mappers).post(clients::create_mapper),
        )
        .route(
            &r("/{id}/protocol-mappers/models/{mapper}"),
            get(clients::get_mapper)
                .put(clients::update_mapper)
                .delete(clients::delete_mapper),
        )
        .route(
            &r("/{id}/protocol-mappers/add-models"),
            post(clients::add_mappers),
        )
        .route(
            &r("/{id}/protocol-mappers/protocol/{protocol}"),
            get(clients::mappers_of_protocol),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_web::Mount;

    struct Bare(&'static str);

    impl Protocol for Bare {
        fn name(&self) -> &'static str {
            self.0
        }
        fn routes(&self, _mount: &Mount) -> Router<AppState> {
            Router::new()
        }
        fn mapper_types(&self) -> Vec<MapperType> {
            Vec::new()
        }
    }

    #[test]
    fn catalog_lists_each_protocols_mapper_types() {
        let protocols = Protocols::new(vec![
            Box::new(Bare("openid-connect")),
            Box::new(Bare("saml")),
        ]);
        let catalog = ProtocolCatalog::of(&protocols);
        let count = |name: &str| {
            catalog
                .protocols
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.len())
        };
        assert!(
            count("openid-connect").is_some_and(|n| n > 0),
            "OIDC falls back"
        );
        assert_eq!(count("saml"), Some(0));
    }
}
