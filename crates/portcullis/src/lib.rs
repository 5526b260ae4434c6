//! Router assembly: health, realm info, and every protocol the server serves. A library
//! function, so that the binary and the test kit build the same application.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Json};
use portcullis_web::login::{self, Continuation, Continuations};
use portcullis_web::{AppState, Mount, Protocol, Protocols};
use serde_json::json;
use tower_http::trace::TraceLayer;

/// The protocols this binary serves. Adding SAML means adding a crate and a line here.
pub fn protocols() -> Vec<Box<dyn Protocol>> {
    vec![
        Box::new(portcullis_oidc::OpenIdConnect),
        Box::new(portcullis_docker::DockerV2::default()),
    ]
}

/// What a browser login can be for, each finished by its continuation once the user is signed
/// in (see [`portcullis_web::login`]). Brokering and the account console add theirs here.
pub fn continuations() -> Vec<Box<dyn Continuation>> {
    vec![
        Box::new(portcullis_oidc::AuthorizationLogin),
        Box::new(portcullis_oidc::DeviceApproval),
        Box::new(portcullis_account::AccountPage),
    ]
}

pub fn router(state: AppState, relative: &str) -> Router {
    let mut app = Router::new()
        .route(&format!("{relative}/health/live"), get(live))
        .route(&format!("{relative}/health/ready"), get(ready))
        .merge(portcullis_oidc::realm_routes(relative))
        .merge(portcullis_oidc::well_known_routes(relative))
        .merge(login::routes(relative))
        .merge(portcullis_oidc::login_action_routes(relative))
        .merge(portcullis_admin::routes_with_protocols(
            relative,
            &Protocols::new(protocols()),
        ))
        .merge(portcullis_account::routes(
            relative,
            &Protocols::new(protocols()),
        ))
        .merge(portcullis_broker::routes(
            relative,
            &Protocols::new(protocols()),
        ));
    #[cfg(feature = "bench")]
    {
        app = app.route(
            &format!("{relative}/realms/{{realm}}/bench/sign"),
            get(bench::sign_only),
        );
    }
    for protocol in protocols() {
        app = app.merge(protocol.routes(&Mount::new(relative, protocol.name())));
    }
    app.fallback(portcullis_admin::fallback(relative))
        .layer(Extension(Continuations::new(continuations())))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of every request: method and path. Never the query string: authorization requests
/// carry `id_token_hint` and `login_hint`, callbacks carry codes, and tower-http's default span
/// logs the whole URI at debug.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

async fn live() -> impl IntoResponse {
    Json(json!({ "status": "UP" }))
}

/// Ready once migrations ran (the store only exists after they did) and the database answers.
async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    match state.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "UP" }))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "DOWN" })),
            )
        }
    }
}

/// The benchmark ceiling: sign a token of the docker endpoint's shape with the realm key, and do
/// nothing else (no credentials, no policy, no database).
#[cfg(feature = "bench")]
mod bench {
    use std::collections::HashMap;

    use axum::Json;
    use axum::extract::{Path, Query, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use base64::Engine;
    use portcullis_core::keys::Algorithm;
    use portcullis_web::AppState;
    use serde_json::json;

    pub async fn sign_only(
        State(state): State<AppState>,
        Path(realm): Path<String>,
        Query(query): Query<HashMap<String, String>>,
    ) -> Response {
        let alg = query
            .get("alg")
            .and_then(|a| Algorithm::parse(a))
            .unwrap_or(Algorithm::Rs256);
        let Ok(Some(snapshot)) = state.realm(&realm).await else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let Some(key) = snapshot.signing_key(alg) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let now = state.now();
        let mut jti = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": key.libtrust_kid()});
        let claims = json!({
            "iss": state.issuer(&realm), "sub": "bench", "aud": "bench",
            "exp": now + 300, "nbf": now - 5, "iat": now,
            "jti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
            "access": [{"type": "repository", "name": "bench/app", "actions": ["pull"]}],
        });
        match key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes()) {
            Ok(token) => Json(json!({ "token": token })).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}
