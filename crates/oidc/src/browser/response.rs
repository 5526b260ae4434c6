//! Authorization responses: the code or an error, with `state` and the RFC 9207 `iss`, in the
//! query, the fragment, or an auto-submitted form (OAuth 2.0 Form Post Response Mode).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_web::templates::{self, PageScripts};
use serde_json::json;

use super::request::{Destination, ErrorResponse, ResponseMode};

/// How the browser reached us decides the redirect status: 302 after a GET; 303 after a POST,
/// so the browser follows with a GET and never re-posts credentials (RFC 9700 §4.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Get,
    Post,
}

impl Via {
    fn status(self) -> StatusCode {
        match self {
            Self::Get => StatusCode::FOUND,
            Self::Post => StatusCode::SEE_OTHER,
        }
    }
}

/// A successful authorization response carrying `code`.
pub(crate) fn code(destination: &Destination, issuer: &str, code: &str, via: Via) -> Response {
    deliver(destination, issuer, &[("code", code)], via)
}

/// An error response (RFC 6749 §4.1.2.1).
pub(crate) fn error(error: &ErrorResponse, issuer: &str, via: Via) -> Response {
    let fields = [
        ("error", error.error),
        ("error_description", error.description.as_str()),
    ];
    deliver(&error.destination, issuer, &fields, via)
}

/// Sends `fields` plus `state` (when the request had one) and `iss`.
fn deliver(destination: &Destination, issuer: &str, fields: &[(&str, &str)], via: Via) -> Response {
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    if let Some(state) = destination.state.as_deref() {
        all.push(("state", state));
    }
    all.push(("iss", issuer));
    match destination.mode {
        ResponseMode::Query | ResponseMode::Fragment => {
            redirect(&response_url(destination, &all), via)
        }
        ResponseMode::FormPost => form_post(&destination.redirect_uri, &all),
    }
}

/// The redirect URI with the response in its query (joined to any query it already has) or its
/// fragment.
pub(crate) fn response_url(destination: &Destination, fields: &[(&str, &str)]) -> String {
    let encoded = serde_urlencoded::to_string(fields).unwrap_or_default();
    let uri = &destination.redirect_uri;
    match destination.mode {
        ResponseMode::Fragment => format!("{uri}#{encoded}"),
        _ => append_query(uri, &encoded),
    }
}

/// `uri` with `encoded` added to its query.
pub(crate) fn append_query(uri: &str, encoded: &str) -> String {
    if encoded.is_empty() {
        return uri.to_string();
    }
    let separator = match uri.split_once('?') {
        None => '?',
        Some((_, "")) => return format!("{uri}{encoded}"),
        Some(_) => '&',
    };
    format!("{uri}{separator}{encoded}")
}

/// A redirect that caches and `Referer` headers keep no trace of.
pub(crate) fn redirect(location: &str, via: Via) -> Response {
    let Ok(location) = HeaderValue::from_str(location) else {
        // Registered URIs are checked on import; one that is not a valid header value is a
        // configuration problem, shown rather than half-sent.
        return templates::error_page(
            StatusCode::BAD_REQUEST,
            None,
            "Invalid redirect",
            "The application's redirect URI cannot be used.",
            "redirect location is not a valid header value",
        );
    };
    let mut response = via.status().into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The auto-submitting form that posts the response to the client.
fn form_post(action: &str, fields: &[(&str, &str)]) -> Response {
    let fields: Vec<_> = fields
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let context = json!({"action": action, "fields": fields});
    match templates::render("form_post.html", &context) {
        Ok(body) => templates::html_response(StatusCode::OK, body, PageScripts::AutoSubmit),
        Err(e) => templates::internal_error_page(&e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const ISS: &str = "https://id.test/realms/a";

    fn destination(uri: &str, mode: ResponseMode, state: Option<&str>) -> Destination {
        Destination {
            redirect_uri: uri.into(),
            mode,
            state: state.map(String::from),
        }
    }

    #[test]
    fn redirect_urls_table() {
        let cases = [
            (
                destination("https://rp.test/cb", ResponseMode::Query, Some("s 1")),
                "https://rp.test/cb?code=c&state=s+1&iss=https%3A%2F%2Fid.test%2Frealms%2Fa",
            ),
            (
                destination("https://rp.test/cb?x=1", ResponseMode::Query, None),
                "https://rp.test/cb?x=1&code=c&iss=https%3A%2F%2Fid.test%2Frealms%2Fa",
            ),
            (
                destination("https://rp.test/cb?", ResponseMode::Query, None),
                "https://rp.test/cb?code=c&iss=https%3A%2F%2Fid.test%2Frealms%2Fa",
            ),
            (
                destination("https://rp.test/cb", ResponseMode::Fragment, Some("s")),
                "https://rp.test/cb#code=c&state=s&iss=https%3A%2F%2Fid.test%2Frealms%2Fa",
            ),
        ];
        for (dest, expected) in cases {
            let response = code(&dest, ISS, "c", Via::Get);
            assert_eq!(response.status(), StatusCode::FOUND);
            assert_eq!(response.headers()[header::LOCATION], expected);
            assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        }
    }

    #[test]
    fn posts_are_answered_with_303() {
        let dest = destination("https://rp.test/cb", ResponseMode::Query, None);
        assert_eq!(
            code(&dest, ISS, "c", Via::Post).status(),
            StatusCode::SEE_OTHER
        );
    }

    #[test]
    fn errors_carry_state_and_iss() {
        let e = ErrorResponse {
            destination: destination("https://rp.test/cb", ResponseMode::Query, Some("xyz")),
            error: "login_required",
            description: "Login required".into(),
        };
        let response = error(&e, ISS, Via::Get);
        let location = response.headers()[header::LOCATION].to_str().unwrap();
        assert_eq!(
            location,
            "https://rp.test/cb?error=login_required&error_description=Login+required&state=xyz&iss=https%3A%2F%2Fid.test%2Frealms%2Fa"
        );
    }

    #[tokio::test]
    async fn form_post_is_an_auto_submitting_page() {
        let dest = destination("https://rp.test/cb", ResponseMode::FormPost, Some("<s>"));
        let response = code(&dest, ISS, "c0de", Via::Post);
        assert_eq!(response.status(), StatusCode::OK);
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'sha256-"), "{csp}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        assert!(html.contains(r#"action="https://rp.test/cb""#));
        assert!(html.contains(r#"name="code" value="c0de""#));
        assert!(html.contains(r#"name="state" value="&lt;s&gt;""#));
        assert!(html.contains(r#"name="iss" value="https://id.test/realms/a""#));
    }

    #[test]
    fn an_unusable_location_is_an_error_page() {
        let response = redirect("https://rp.test/\n", Via::Get);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
