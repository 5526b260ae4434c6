//! The openid-connect protocol: discovery, the published keys (JWKS at `certs`), the realm info
//! document, the token service (`endpoints`, `tokens`) and the browser flows (`browser`).

mod browser;
mod endpoints;
mod tokens;

pub use browser::{AuthorizationLogin, DeviceApproval, login_action_routes};
pub use endpoints::well_known_routes;

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_core::keys::Algorithm;
use portcullis_core::model::{Client, RealmSnapshot};
use portcullis_web::{
    AppState, ExampleRequest, ExampleToken, MapperType, Mount, Protocol, WebError,
};
use serde_json::{Map, Value, json};

/// The `openid-connect` protocol plug-in.
pub struct OpenIdConnect;

impl Protocol for OpenIdConnect {
    fn name(&self) -> &'static str {
        "openid-connect"
    }

    fn routes(&self, mount: &Mount) -> Router<AppState> {
        Router::new()
            .route(&mount.at("/certs"), get(certs))
            .merge(endpoints::routes(mount))
            .merge(browser::routes(mount))
    }

    fn mapper_types(&self) -> Vec<MapperType> {
        tokens::mappers::mapper_types()
    }

    fn granted_client_scopes(
        &self,
        snapshot: &RealmSnapshot,
        client: &Client,
        scope: Option<&str>,
    ) -> Vec<String> {
        tokens::scopes::grant(snapshot, client, scope, true)
            .names()
            .map(str::to_owned)
            .collect()
    }

    fn example_token(
        &self,
        request: &ExampleRequest<'_>,
        kind: ExampleToken,
    ) -> Result<Map<String, Value>, String> {
        tokens::mint::example_claims(request, kind)
    }
}

/// Routes outside the protocol mount: `GET {relative}/realms/{realm}`, the realm info document.
/// (The account console and its REST basics under `{realm}/account` are `portcullis-account`'s.)
pub fn realm_routes(relative_path: &str) -> Router<AppState> {
    Router::new().route(
        &format!("{relative_path}/realms/{{realm}}"),
        get(realm_info),
    )
}

/// The JWKS of every realm key, each under its RFC 7638 thumbprint, the `kid` OIDC tokens carry.
pub fn jwks(snapshot: &RealmSnapshot) -> Value {
    let keys: Vec<Value> = snapshot
        .keys
        .iter()
        .map(|k| k.public_jwk(k.thumbprint_kid()))
        .collect();
    json!({ "keys": keys })
}

async fn certs(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let Some(snapshot) = realm_of(&state, &params).await? else {
        return Ok(realm_not_found());
    };
    // Public keys, read cross-origin by browser applications: any origin, as Keycloak does.
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(jwks(&snapshot)),
    )
        .into_response())
}

async fn realm_info(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let Some(snapshot) = realm_of(&state, &params).await? else {
        return Ok(realm_not_found());
    };
    let name = &snapshot.realm.name;
    let url = state.realm_url(name);
    let public_key = snapshot
        .signing_key(Algorithm::Rs256)
        .map(|k| STANDARD.encode(k.spki_der()));
    Ok(Json(json!({
        "realm": name,
        "public_key": public_key,
        "token-service": format!("{url}/protocol/openid-connect"),
        "account-service": format!("{url}/account"),
        "tokens-not-before": 0,
    }))
    .into_response())
}

async fn realm_of(
    state: &AppState,
    params: &HashMap<String, String>,
) -> Result<Option<std::sync::Arc<RealmSnapshot>>, WebError> {
    match params.get("realm") {
        Some(name) => state.realm(name).await,
        None => Ok(None),
    }
}

fn realm_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "Realm does not exist" })),
    )
        .into_response()
}
