//! Discovery: OIDC's `{issuer}/.well-known/openid-configuration` and RFC 8414's
//! `{relative}/.well-known/oauth-authorization-server/realms/{realm}`, the same document. Only
//! what exists is advertised; `request_uri_parameter_supported` is stated as false because
//! OIDC Discovery's default for it is true.

use std::collections::{BTreeSet, HashMap};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use portcullis_web::AppState;
use serde_json::{Value, json};

use portcullis_core::model::{ProtocolMapper, RealmSnapshot};

use super::Ctx;
use super::token::GRANT_TYPES;

/// Claims the server itself puts in tokens and userinfo, whatever the realm's mappers say.
const BASE_CLAIMS: [&str; 12] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "jti",
    "azp",
    "sid",
    "nonce",
    "acr",
    "at_hash",
];

/// How clients authenticate at the token endpoint: one authenticator
/// ([`super::client_auth`]) serves the token, introspection and revocation endpoints; `none`
/// is a public client naming itself.
const CLIENT_AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "client_secret_jwt",
];

/// Algorithms client assertions may be signed with: asymmetric ones for `private_key_jwt`
/// (the JWS verifier's), HMAC for `client_secret_jwt`.
const ASSERTION_ALGS: [&str; 12] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
    "HS384", "HS512",
];

/// Keycloak's client-scope attribute: whether discovery lists the scope (default yes).
const INCLUDE_IN_METADATA: &str = "include.in.openid.provider.metadata";
const OPENID_CONNECT: &str = "openid-connect";

pub(crate) async fn openid_configuration(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    respond(&state, &path).await
}

pub(crate) async fn authorization_server_metadata(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Response {
    respond(&state, &path).await
}

async fn respond(state: &AppState, path: &HashMap<String, String>) -> Response {
    match Ctx::load(state, path).await {
        Ok(ctx) => {
            let mut response = Json(document(&ctx.issuer, &ctx.snapshot)).into_response();
            let headers = response.headers_mut();
            // Browser applications read discovery cross-origin; it holds nothing private.
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// The discovery document of the realm with this issuer. Every list says what the server
/// does for this realm: the signing algorithms of its keys, the scopes and claims of its
/// OpenID Connect client scopes.
pub(crate) fn document(issuer: &str, snapshot: &RealmSnapshot) -> Value {
    let endpoint = |name: &str| format!("{issuer}/protocol/openid-connect/{name}");
    let with_none = |methods: &[&'static str]| {
        let mut all = methods.to_vec();
        all.push("none");
        all
    };
    json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "introspection_endpoint": endpoint("token/introspect"),
        "token_introspection_endpoint": endpoint("token/introspect"),
        "userinfo_endpoint": endpoint("userinfo"),
        "end_session_endpoint": endpoint("logout"),
        "jwks_uri": endpoint("certs"),
        "check_session_iframe": endpoint("login-status-iframe.html"),
        "revocation_endpoint": endpoint("revoke"),
        "device_authorization_endpoint": endpoint("auth/device"),
        "grant_types_supported": GRANT_TYPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": signing_algs(snapshot),
        "token_endpoint_auth_methods_supported": with_none(&CLIENT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        // Public clients may not introspect.
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "revocation_endpoint_auth_methods_supported": with_none(&CLIENT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "code_challenge_methods_supported": ["S256", "plain"],
        "scopes_supported": scopes(snapshot),
        "claims_supported": claims(snapshot),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent"],
        "acr_values_supported": ["0", "1"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
    })
}

/// The algorithms of the realm's signing keys (ID tokens are signed with one of them).
fn signing_algs(snapshot: &RealmSnapshot) -> Vec<&'static str> {
    let mut algs: Vec<&'static str> = Vec::new();
    for key in &snapshot.keys {
        let alg = key.algorithm().as_str();
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    algs
}

/// The realm's OpenID Connect client scopes that may be listed (Keycloak's rule: every one
/// whose `include.in.openid.provider.metadata` is not `false`), after `openid`.
fn scopes(snapshot: &RealmSnapshot) -> Vec<String> {
    let listed: BTreeSet<&str> = snapshot
        .client_scopes
        .iter()
        .filter(|s| s.protocol == OPENID_CONNECT && s.name != "openid")
        .filter(|s| {
            s.attributes
                .get(INCLUDE_IN_METADATA)
                .is_none_or(|v| !v.eq_ignore_ascii_case("false"))
        })
        .map(|s| s.name.as_str())
        .collect();
    std::iter::once("openid")
        .chain(listed)
        .map(str::to_owned)
        .collect()
}

/// The claims the server sets itself and those the protocol mappers of the realm's OpenID
/// Connect client scopes write (their top-level names).
fn claims(snapshot: &RealmSnapshot) -> Vec<String> {
    let mut names: BTreeSet<String> = BASE_CLAIMS.iter().map(|c| c.to_string()).collect();
    let mappers = snapshot
        .client_scopes
        .iter()
        .filter(|s| s.protocol == OPENID_CONNECT)
        .flat_map(|s| &s.protocol_mappers);
    for mapper in mappers {
        if let Some(name) = mapper_claim(mapper) {
            names.insert(name);
        }
    }
    names.into_iter().collect()
}

/// The top-level claim a mapper writes, when it names one.
fn mapper_claim(mapper: &ProtocolMapper) -> Option<String> {
    let fixed = match mapper.mapper_type.as_str() {
        "oidc-full-name-mapper" => Some("name"),
        "oidc-address-mapper" => Some("address"),
        "oidc-allowed-origins-mapper" => Some("allowed-origins"),
        "oidc-usermodel-realm-role-mapper" => Some("realm_access"),
        "oidc-usermodel-client-role-mapper" => Some("resource_access"),
        "oidc-group-membership-mapper" => Some("groups"),
        _ => None,
    };
    // A configured name wins; `a.b` nests `b` in `a` (`\.` keeps a dot in a name).
    let configured = mapper
        .config
        .get("claim.name")
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .and_then(|n| {
            let mut top = String::new();
            let mut chars = n.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if chars.peek() == Some(&'.') => {
                        top.push('.');
                        chars.next();
                    }
                    '.' => break,
                    other => top.push(other),
                }
            }
            Some(top).filter(|t| !t.is_empty())
        });
    configured.or_else(|| fixed.map(str::to_owned))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
    use portcullis_core::model::{ClientScope, Realm, RealmScopeType};

    use super::*;

    fn scope(name: &str, protocol: &str, attributes: &[(&str, &str)]) -> ClientScope {
        ClientScope {
            id: name.into(),
            name: name.into(),
            description: None,
            protocol: protocol.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            protocol_mappers: Vec::new(),
            role_ids: Vec::new(),
            realm_type: RealmScopeType::None,
        }
    }

    fn mapper(mapper_type: &str, claim: Option<&str>) -> ProtocolMapper {
        ProtocolMapper {
            id: mapper_type.into(),
            name: mapper_type.into(),
            protocol: OPENID_CONNECT.into(),
            mapper_type: mapper_type.into(),
            config: claim
                .map(|c| BTreeMap::from([("claim.name".to_string(), c.to_string())]))
                .unwrap_or_default(),
        }
    }

    fn snapshot() -> RealmSnapshot {
        let key = |alg| {
            let material = KeyMaterial::generate(alg, "acme", 0).unwrap();
            Arc::new(SigningKey::from_material(&material).unwrap())
        };
        let mut profile = scope("profile", OPENID_CONNECT, &[]);
        profile.protocol_mappers = vec![
            mapper("oidc-full-name-mapper", None),
            mapper(
                "oidc-usermodel-attribute-mapper",
                Some("preferred_username"),
            ),
            mapper("oidc-usermodel-attribute-mapper", Some("org.team")),
            mapper("oidc-usermodel-attribute-mapper", Some("dotted\\.name")),
        ];
        let mut saml = scope("saml-only", "saml", &[]);
        saml.protocol_mappers = vec![mapper("saml-x", Some("not_oidc"))];
        RealmSnapshot {
            realm: Realm {
                name: "acme".into(),
                ..Realm::default()
            },
            roles: vec![],
            groups: vec![],
            clients: vec![],
            client_scopes: vec![
                profile,
                scope("email", OPENID_CONNECT, &[]),
                scope("hidden", OPENID_CONNECT, &[(INCLUDE_IN_METADATA, "false")]),
                scope("shown", OPENID_CONNECT, &[(INCLUDE_IN_METADATA, "true")]),
                saml,
            ],
            keys: vec![key(Algorithm::Es256), key(Algorithm::Rs256)],
        }
    }

    #[test]
    fn document_shape() {
        let issuer = "http://id.test/auth/realms/acme";
        let doc = document(issuer, &snapshot());
        assert_eq!(doc["issuer"], issuer);
        for key in [
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
            "device_authorization_endpoint",
            "check_session_iframe",
        ] {
            let url = doc[key].as_str().unwrap();
            assert!(
                url.starts_with(&format!("{issuer}/protocol/openid-connect/")),
                "{key}"
            );
        }
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256", "RS256"])
        );
        assert_eq!(
            doc["scopes_supported"],
            json!(["openid", "email", "profile", "shown"])
        );
        assert_eq!(
            doc["claims_supported"],
            json!([
                "acr",
                "at_hash",
                "aud",
                "auth_time",
                "azp",
                "dotted.name",
                "exp",
                "iat",
                "iss",
                "jti",
                "name",
                "nonce",
                "org",
                "preferred_username",
                "sid",
                "sub"
            ])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "client_secret_jwt",
                "none"
            ])
        );
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "client_secret_jwt"
            ])
        );
        assert_eq!(doc["request_uri_parameter_supported"], false);
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert!(
            doc["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("urn:ietf:params:oauth:grant-type:device_code"))
        );
    }
}
