//! OIDC endpoints that applications call directly: the token endpoint with every grant, device
//! authorization, userinfo, introspection, revocation and the discovery documents. Routes are
//! relative to `{relative}/realms/{realm}/protocol/openid-connect`, except discovery.

mod check;
mod client_auth;
mod client_jwks;
pub(crate) mod cors;
mod device;
mod discovery;
mod error;
mod form;
mod grants;
mod introspect;
pub(crate) mod logout;
mod revoke;
mod service_accounts;
mod token;
mod userinfo;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use portcullis_core::model::{Client, RealmSnapshot};
use portcullis_web::{AppState, LoginEvent, Mount};

pub(crate) use error::OAuthError;

/// The routes, under the protocol mount.
pub(crate) fn routes(mount: &Mount) -> Router<AppState> {
    Router::new()
        .route(
            &mount.at("/token"),
            post(token::token).options(cors::preflight),
        )
        .route(
            &mount.at("/token/introspect"),
            post(introspect::introspect).options(cors::preflight),
        )
        .route(
            &mount.at("/revoke"),
            post(revoke::revoke).options(cors::preflight),
        )
        .route(
            &mount.at("/userinfo"),
            get(userinfo::userinfo_get)
                .post(userinfo::userinfo_post)
                .options(cors::preflight),
        )
        .route(
            &mount.at("/auth/device"),
            post(device::device_authorization).options(cors::preflight),
        )
        .layer(Extension(Arc::new(
            service_accounts::ServiceAccounts::default(),
        )))
}

/// The discovery documents, at absolute paths under the relative path: OIDC's path-append form
/// and RFC 8414's path-insert form.
pub fn well_known_routes(relative_path: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{relative_path}/realms/{{realm}}/.well-known/openid-configuration"),
            get(discovery::openid_configuration),
        )
        .route(
            &format!("{relative_path}/.well-known/oauth-authorization-server/realms/{{realm}}"),
            get(discovery::authorization_server_metadata),
        )
}

/// The realm a request addresses, and the request's moment.
pub(crate) struct Ctx {
    pub state: AppState,
    pub snapshot: Arc<RealmSnapshot>,
    pub issuer: String,
    pub now: i64,
}

impl Ctx {
    /// The enabled realm named by the `realm` path parameter.
    pub(crate) async fn load(
        state: &AppState,
        path: &HashMap<String, String>,
    ) -> Result<Self, OAuthError> {
        let name = path.get("realm").ok_or(OAuthError::RealmNotFound)?;
        let snapshot = state
            .realm(name)
            .await?
            .filter(|s| s.realm.enabled)
            .ok_or(OAuthError::RealmNotFound)?;
        Ok(Self {
            issuer: state.issuer(&snapshot.realm.name),
            now: state.now(),
            state: state.clone(),
            snapshot,
        })
    }

    pub(crate) fn realm_name(&self) -> &str {
        &self.snapshot.realm.name
    }
}

/// Client-chosen labels are cut to this many characters in the log.
const MAX_LOGGED_LABEL: usize = 64;

/// Cuts a client-chosen value for the log (never a secret: only ids and names go here).
pub(crate) fn label(value: &str) -> String {
    match value.char_indices().nth(MAX_LOGGED_LABEL) {
        Some((end, _)) => value[..end].to_owned(),
        None => value.to_owned(),
    }
}

/// The one log line per request, filled in as the request is understood, plus what CORS needs.
pub(crate) struct Audit {
    endpoint: &'static str,
    realm: String,
    pub client: String,
    pub grant: String,
    pub user: String,
    /// How the client authenticated, when it did.
    auth_method: &'static str,
    /// Origins the identified client allows (for CORS on the answer).
    pub allowed_origins: Vec<String>,
    origin: Option<String>,
}

impl Audit {
    pub(crate) fn new(
        endpoint: &'static str,
        path: &HashMap<String, String>,
        headers: &HeaderMap,
    ) -> Self {
        Self {
            endpoint,
            realm: label(path.get("realm").map(String::as_str).unwrap_or_default()),
            client: String::new(),
            grant: String::new(),
            user: String::new(),
            auth_method: "",
            allowed_origins: Vec::new(),
            origin: cors::request_origin(headers),
        }
    }

    /// Records the client the request turned out to be from.
    pub(crate) fn client(&mut self, client: &Client) {
        self.client = label(&client.client_id);
        self.allowed_origins = crate::tokens::claims::allowed_origins(client);
    }

    /// Records the client that authenticated, and how.
    pub(crate) fn authenticated(&mut self, authenticated: &client_auth::Authenticated<'_>) {
        self.client(authenticated.client);
        self.auth_method = match authenticated.method {
            client_auth::AuthMethod::Basic => "client_secret_basic",
            client_auth::AuthMethod::Post => "client_secret_post",
            client_auth::AuthMethod::PrivateKeyJwt => "private_key_jwt",
            client_auth::AuthMethod::SecretJwt => "client_secret_jwt",
            client_auth::AuthMethod::None => "none",
        };
    }

    /// Logs the outcome, records a token grant as a login event (Keycloak's `CODE_TO_TOKEN`,
    /// `REFRESH_TOKEN`, `LOGIN` for the password grant, `CLIENT_LOGIN`, and their `_ERROR`s), and
    /// adds CORS headers for an allowed origin.
    pub(crate) fn finish_grant(
        mut self,
        state: &AppState,
        ip: Option<std::net::IpAddr>,
        result: Result<Response, OAuthError>,
    ) -> Response {
        let kind = match self.grant.as_str() {
            token::GRANT_CODE => Some(("CODE_TO_TOKEN", "CODE_TO_TOKEN_ERROR")),
            token::GRANT_REFRESH => Some(("REFRESH_TOKEN", "REFRESH_TOKEN_ERROR")),
            token::GRANT_PASSWORD => Some(("LOGIN", "LOGIN_ERROR")),
            token::GRANT_CLIENT_CREDENTIALS => Some(("CLIENT_LOGIN", "CLIENT_LOGIN_ERROR")),
            token::GRANT_DEVICE => Some((
                "OAUTH2_DEVICE_CODE_TO_TOKEN",
                "OAUTH2_DEVICE_CODE_TO_TOKEN_ERROR",
            )),
            _ => None,
        };
        let error = kind
            .and(result.as_ref().err())
            .map(|e| e.outcome().to_string());
        let response = self.finish(result);
        if let Some((ok, failed)) = kind {
            // The log line is written: the event takes the audit's strings rather than copies.
            let take = |text: &mut String| (!text.is_empty()).then(|| std::mem::take(text));
            let details =
                std::collections::BTreeMap::from([("grant_type", std::mem::take(&mut self.grant))]);
            state.record_event(LoginEvent {
                realm: std::mem::take(&mut self.realm),
                kind: if error.is_none() { ok } else { failed },
                client_id: take(&mut self.client),
                username: take(&mut self.user),
                ip_address: ip.map(|ip| ip.to_string()),
                error,
                details,
                ..LoginEvent::default()
            });
        }
        response
    }

    /// Logs the outcome and adds CORS headers for an allowed origin.
    pub(crate) fn finish(&self, result: Result<Response, OAuthError>) -> Response {
        use axum::response::IntoResponse as _;
        let (response, outcome) = match result {
            Ok(response) => (response, "ok"),
            Err(error) => {
                let outcome = error.outcome();
                (error.into_response(), outcome)
            }
        };
        tracing::info!(
            endpoint = self.endpoint,
            realm = ?self.realm,
            client_id = ?self.client,
            grant = ?self.grant,
            user = ?self.user,
            client_auth = self.auth_method,
            status = response.status().as_u16(),
            outcome,
            "openid-connect request"
        );
        cors::allow(response, self.origin.as_deref(), &self.allowed_origins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_cut_at_a_character_count() {
        assert_eq!(label(""), "");
        assert_eq!(label("cc-es256"), "cc-es256");
        let exact = "a".repeat(MAX_LOGGED_LABEL);
        assert_eq!(label(&exact), exact);
        let long = "é".repeat(MAX_LOGGED_LABEL + 6);
        assert_eq!(label(&long), "é".repeat(MAX_LOGGED_LABEL));
    }
}
