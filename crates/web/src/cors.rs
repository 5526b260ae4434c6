//! CORS for browser applications (SPAs) calling the token, userinfo, introspection, revocation,
//! device and account endpoints, as Keycloak does it: a preflight is answered for any origin,
//! and the real answer carries `Access-Control-Allow-Origin` only when the client's web origins
//! (`webOrigins`, `+` = the redirect URIs' origins, `*` = any) allow the request's origin.

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::model::Client;

const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
const ALLOWED_HEADERS: &str = "Authorization, Content-Type, Accept, X-Requested-With";
const PREFLIGHT_MAX_AGE: &str = "3600";

/// The request's `Origin`, when it is one (`null` and non-ASCII values are ignored).
pub fn request_origin(headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(ORIGIN)?.to_str().ok()?;
    (!origin.is_empty() && origin != "null").then(|| origin.to_owned())
}

/// Adds CORS headers when `allowed` (a client's web origins) admits `origin`.
pub fn allow(mut response: Response, origin: Option<&str>, allowed: &[String]) -> Response {
    let Some(origin) = origin else {
        return response;
    };
    if !allowed.iter().any(|a| a == "*" || a == origin) {
        return response;
    }
    let Ok(value) = HeaderValue::from_str(origin) else {
        return response;
    };
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("WWW-Authenticate"),
    );
    headers.append(VARY, HeaderValue::from_static("Origin"));
    response
}

/// Answers a preflight for any origin: which client is asking is only known from the real
/// request, whose answer then decides.
pub async fn preflight(headers: HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let Some(origin) = request_origin(&headers).and_then(|o| HeaderValue::from_str(&o).ok()) else {
        return response;
    };
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    h.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    h.append(VARY, HeaderValue::from_static("Origin"));
    response
}

/// `webOrigins` with `+` expanded to the origins of the redirect URIs (Keycloak's meaning).
pub fn allowed_origins(client: &Client) -> Vec<String> {
    let mut origins: Vec<String> = Vec::new();
    let mut push = |origin: String| {
        if !origin.is_empty() && !origins.contains(&origin) {
            origins.push(origin);
        }
    };
    for entry in &client.web_origins {
        if entry == "+" {
            for uri in &client.redirect_uris {
                if let Some(origin) = origin_of(uri) {
                    push(origin);
                }
            }
        } else {
            push(entry.trim_end_matches('/').to_owned());
        }
    }
    origins
}

/// `scheme://authority` of an absolute URI; `None` for relative or wildcard-host URIs.
pub fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let valid = !scheme.is_empty() && !authority.is_empty() && !authority.contains('*');
    valid.then(|| format!("{scheme}://{authority}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_only() {
        let allowed = vec!["https://app.test".to_owned()];
        let any = vec!["*".to_owned()];
        // (origin, allowed, expected ACAO)
        let rows: &[(Option<&str>, &[String], Option<&str>)] = &[
            (Some("https://app.test"), &allowed, Some("https://app.test")),
            (Some("https://evil.test"), &allowed, None),
            (None, &allowed, None),
            (Some("https://evil.test"), &any, Some("https://evil.test")),
            (Some("https://app.test"), &[], None),
        ];
        for (origin, allowed, expected) in rows {
            let response = allow(StatusCode::OK.into_response(), *origin, allowed);
            let got = response
                .headers()
                .get(ACCESS_CONTROL_ALLOW_ORIGIN)
                .map(|v| v.to_str().unwrap());
            assert_eq!(got, *expected, "{origin:?} {allowed:?}");
        }
    }

    #[test]
    fn origins() {
        let rows: &[(&str, Option<&str>)] = &[
            ("https://app.test/cb", Some("https://app.test")),
            ("http://127.0.0.1:9/cb?x#y", Some("http://127.0.0.1:9")),
            ("https://app.test", Some("https://app.test")),
            ("https://*.app.test/cb", None),
            ("/relative", None),
            ("*", None),
        ];
        for (uri, origin) in rows {
            assert_eq!(origin_of(uri).as_deref(), *origin, "{uri}");
        }
    }

    #[tokio::test]
    async fn preflight_echoes_the_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_static("https://app.test"));
        let response = preflight(headers).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.test"
        );
        assert!(
            response
                .headers()
                .contains_key(ACCESS_CONTROL_ALLOW_METHODS)
        );
        let mut null = HeaderMap::new();
        null.insert(ORIGIN, HeaderValue::from_static("null"));
        let response = preflight(null).await;
        assert!(!response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    }
}
