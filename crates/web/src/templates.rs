//! HTML pages: tera templates embedded in the binary, rendered auto-escaped, and served with
//! headers that keep them out of frames (clickjacking), caches and `Referer` headers (RFC 9700
//! sections 4.16 and 4.2.4).
//!
//! Tera reports template errors only when a template is parsed or rendered, so every template
//! is rendered by a unit test below.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tera::{Context, Tera};

/// Every template, by name. Names end in `.html`, which turns tera's auto-escaping on.
const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("consent.html", include_str!("../templates/consent.html")),
    (
        "update_password.html",
        include_str!("../templates/update_password.html"),
    ),
    ("device.html", include_str!("../templates/device.html")),
    (
        "logout_confirm.html",
        include_str!("../templates/logout_confirm.html"),
    ),
    ("message.html", include_str!("../templates/message.html")),
    (
        "action_confirm.html",
        include_str!("../templates/action_confirm.html"),
    ),
    (
        "broker_access.html",
        include_str!("../templates/broker_access.html"),
    ),
    (
        "broker_review.html",
        include_str!("../templates/broker_review.html"),
    ),
    (
        "broker_link.html",
        include_str!("../templates/broker_link.html"),
    ),
    ("error.html", include_str!("../templates/error.html")),
    (
        "form_post.html",
        include_str!("../templates/form_post.html"),
    ),
];

/// The one stylesheet, inlined into every page and allowed by its hash in the CSP.
const STYLE: &str = include_str!("../templates/style.css");

/// The only script any page runs: the `form_post` response mode's auto-submit.
const AUTO_SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

static TEMPLATES: LazyLock<Result<Theme, String>> = LazyLock::new(|| Theme::with(&[]));

/// `Content-Security-Policy` of ordinary pages: no scripts, only the inline stylesheet, never
/// framed. No `form-action`: browsers apply it to the redirect after the login post, which goes
/// to the client's redirect URI.
static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src '{}'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        csp_hash(STYLE)
    )
});

/// The `form_post` page's policy: the same, plus its one auto-submit script.
static AUTO_SUBMIT_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; script-src '{}'; frame-ancestors 'none'; base-uri 'none'",
        csp_hash(AUTO_SUBMIT_SCRIPT)
    )
});

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("templates failed to load: {0}")]
    Load(String),
    #[error("template context must be a JSON object")]
    Context,
    #[error("rendering {name}: {message}")]
    Render { name: String, message: String },
}

/// Whether a page may run the auto-submit script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageScripts {
    None,
    AutoSubmit,
}

/// The theme's templates (the base layout, the login pages) plus another crate's own, which
/// extend `base.html`: one look for every page a user sees, rendered auto-escaped, with the
/// one stylesheet the page CSP allows.
pub struct Theme {
    tera: Tera,
}

impl Theme {
    /// The theme with `extra` templates added (names ending in `.html`).
    pub fn with(extra: &[(&'static str, &'static str)]) -> Result<Self, String> {
        let mut tera = Tera::default();
        tera.add_raw_templates(SOURCES.iter().chain(extra).copied())
            .map_err(|e| error_chain(&e))?;
        tera.set_escape_fn(escape_html);
        Ok(Self { tera })
    }

    /// Renders a template with `context` (a JSON object). The stylesheet and the auto-submit
    /// script are added as `style` and `script`.
    pub fn render(&self, name: &str, context: &Value) -> Result<String, TemplateError> {
        if !context.is_object() {
            return Err(TemplateError::Context);
        }
        let mut ctx = Context::from_value(context.clone()).map_err(|_| TemplateError::Context)?;
        ctx.insert("style", STYLE);
        ctx.insert("script", AUTO_SUBMIT_SCRIPT);
        self.tera
            .render(name, &ctx)
            .map_err(|e| TemplateError::Render {
                name: name.to_string(),
                message: error_chain(&e),
            })
    }

    /// Renders a page; a rendering failure becomes the generic error page (and is logged).
    pub fn page(&self, status: StatusCode, name: &str, context: &Value) -> Response {
        match self.render(name, context) {
            Ok(body) => html_response(status, body, PageScripts::None),
            Err(e) => internal_error_page(&e),
        }
    }
}

/// HTML escaping for text and quoted attribute values. Unlike tera's default it leaves `/`
/// alone, so form actions and URLs stay readable to simple HTML scrapers (test drivers, CLI
/// tools) that only undo `&amp;`.
pub fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 16);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders a template with `context` (a JSON object). The stylesheet and the auto-submit script
/// are added as `style` and `script`.
pub fn render(name: &str, context: &Value) -> Result<String, TemplateError> {
    TEMPLATES
        .as_ref()
        .map_err(|e| TemplateError::Load(e.clone()))?
        .render(name, context)
}

/// An HTML response with the security headers every page gets.
pub fn html_response(status: StatusCode, body: String, scripts: PageScripts) -> Response {
    let csp = match scripts {
        PageScripts::None => PAGE_CSP.as_str(),
        PageScripts::AutoSubmit => AUTO_SUBMIT_CSP.as_str(),
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CACHE_CONTROL,
            "no-store, must-revalidate, max-age=0",
        ),
        (header::PRAGMA, "no-cache"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(csp) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// Renders a page; a rendering failure becomes the generic error page (and is logged).
pub fn page(status: StatusCode, name: &str, context: &Value) -> Response {
    match render(name, context) {
        Ok(body) => html_response(status, body, PageScripts::None),
        Err(e) => internal_error_page(&e),
    }
}

/// The error page: a title, a message for the user and a fresh request id, which is logged with
/// `cause` so an operator can find what happened. Never a stack trace or internal detail.
pub fn error_page(
    status: StatusCode,
    realm_name: Option<&str>,
    title: &str,
    message: &str,
    cause: &str,
) -> Response {
    let request_id = new_request_id();
    if status.is_server_error() {
        tracing::error!(request_id = %request_id, status = status.as_u16(), cause, "error page");
    } else {
        tracing::info!(request_id = %request_id, status = status.as_u16(), cause, "error page");
    }
    let context = json!({
        "realm_name": realm_name,
        "title": title,
        "message": message,
        "request_id": request_id,
    });
    match render("error.html", &context) {
        Ok(body) => html_response(status, body, PageScripts::None),
        Err(e) => fallback_error(&request_id, &e),
    }
}

/// The error page for a server-side failure.
pub fn internal_error_page(cause: &dyn std::fmt::Display) -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "We are sorry...",
        "An internal error occurred. Please try again later.",
        &cause.to_string(),
    )
}

/// Plain text, for when even the error template cannot render.
fn fallback_error(request_id: &str, cause: &TemplateError) -> Response {
    tracing::error!(request_id = %request_id, error = %cause, "error page failed to render");
    let body = format!("An internal error occurred. Request id: {request_id}\n");
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 128 random bits, hex: identifies one error in the log and on the page.
pub fn new_request_id() -> String {
    portcullis_core::secrets::hex(&portcullis_core::secrets::random_bytes::<16>())
}

/// `sha256-<base64>` of an inline script or style, as CSP level 2 allows it by hash.
fn csp_hash(source: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, source.as_bytes());
    format!("sha256-{}", STANDARD.encode(digest.as_ref()))
}

/// Tera puts the useful part of a message in the error's sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const HOSTILE: &str = "<script>alert('x')</script>&\"";

    /// Every template with a context that uses every variable, plus what must appear and what
    /// must not (unescaped hostile input).
    fn cases() -> Vec<(&'static str, Value, Vec<&'static str>)> {
        vec![
            (
                "login.html",
                json!({"realm_name": HOSTILE, "action": "/auth/realms/a/login-actions/authenticate",
                       "flow": "t.o.k", "username": HOSTILE, "error": "Invalid username or password.",
                       "info": "timed out"}),
                vec![
                    r#"action="/auth/realms/a/login-actions/authenticate""#,
                    r#"name="flow" value="t.o.k""#,
                    "Invalid username or password.",
                    "timed out",
                    r#"name="password""#,
                ],
            ),
            (
                "login.html",
                json!({"realm_name": "Acme", "action": "/x", "flow": "f", "username": ""}),
                vec!["Sign in to Acme", r#"name="username" type="text" value="""#],
            ),
            (
                "action_confirm.html",
                json!({"realm_name": HOSTILE, "action": "/auth/realms/a/login-actions/action-token",
                       "flow": "t.o.k", "title": "Verify e-mail", "message": HOSTILE}),
                vec![
                    r#"action="/auth/realms/a/login-actions/action-token""#,
                    r#"name="flow" value="t.o.k""#,
                    "Verify e-mail",
                ],
            ),
            (
                "update_password.html",
                json!({"realm_name": HOSTILE, "action": "/auth/realms/a/login-actions/required-action",
                       "flow": "t.o.k", "error": HOSTILE, "error_field": "password-confirm"}),
                vec![
                    r#"name="password-new""#,
                    r#"name="password-confirm" type="password" autocomplete="new-password" required aria-invalid="true""#,
                    r#"name="flow" value="t.o.k""#,
                ],
            ),
            (
                "login.html",
                json!({"realm_name": "Acme", "action": "/x", "flow": "f", "username": "a",
                       "error": "Invalid username or password."}),
                vec![r#"aria-invalid="true" aria-describedby="input-error""#],
            ),
            (
                "consent.html",
                json!({"realm_name": "Acme", "client_name": HOSTILE, "username": "alice",
                       "scopes": ["Email address", HOSTILE], "action": "/c", "flow": "f", "device": false}),
                vec![
                    "<li>Email address</li>",
                    r#"name="decision" value="accept""#,
                    r#"name="decision" value="deny""#,
                ],
            ),
            (
                "consent.html",
                json!({"realm_name": "Acme", "client_name": "TV", "username": "alice",
                       "scopes": [], "action": "/c", "flow": "f", "device": true}),
                vec!["Grant access to TV?", "A device is asking"],
            ),
            (
                "device.html",
                json!({"realm_name": "Acme", "action": "/d", "flow": "f", "user_code": HOSTILE,
                       "error": "Invalid code"}),
                vec![r#"name="device_user_code""#, "Invalid code"],
            ),
            (
                "logout_confirm.html",
                json!({"realm_name": "Acme", "action": "/l", "flow": "f"}),
                vec![r#"id="kc-logout""#, r#"action="/l""#],
            ),
            (
                "message.html",
                json!({"realm_name": "Acme", "title": "You are logged out", "message": HOSTILE}),
                vec!["You are logged out"],
            ),
            (
                "broker_access.html",
                json!({"grants": [{"registry": "registry", "pattern": "platform/**",
                                   "actions": "push", "through": HOSTILE}]}),
                vec![r#"id="broker-access""#, "<code>platform/**</code>: push"],
            ),
            (
                "broker_review.html",
                json!({"realm_name": "Acme", "action": "/r", "flow": "f", "create": true,
                       "username": "bob", "provider": "Corp", "upstream_name": HOSTILE,
                       "grants": []}),
                vec![
                    r#"id="kc-broker-review""#,
                    r#"id="kc-broker-continue""#,
                    r#"id="broker-no-access""#,
                    "creates your account <strong>bob</strong>",
                ],
            ),
            (
                "broker_link.html",
                json!({"realm_name": "Acme", "action": "/k", "flow": "f", "username": "carol",
                       "provider": "Corp", "matched_by": "e-mail", "error": HOSTILE,
                       "grants": []}),
                vec![
                    r#"id="kc-broker-link""#,
                    r#"aria-invalid="true""#,
                    r#"for="password""#,
                ],
            ),
            (
                "error.html",
                json!({"title": "Error", "message": HOSTILE, "request_id": "abc123"}),
                vec!["Request id: abc123", "Portcullis"],
            ),
            (
                "form_post.html",
                json!({"action": "https://rp.test/cb?x=1&y=2",
                       "fields": [{"name": "code", "value": "c0de"}, {"name": "state", "value": HOSTILE}]}),
                vec![
                    r#"action="https://rp.test/cb?x=1&amp;y=2""#,
                    r#"name="code" value="c0de""#,
                    "<script>document.forms[0].submit();</script>",
                ],
            ),
        ]
    }

    #[test]
    fn every_template_renders_and_escapes() {
        let mut rendered = std::collections::BTreeSet::new();
        for (name, context, expected) in cases() {
            let html = render(name, &context).unwrap_or_else(|e| panic!("{name}: {e}"));
            for needle in expected {
                assert!(
                    html.contains(needle),
                    "{name}: missing {needle:?} in\n{html}"
                );
            }
            assert!(
                !html.contains("<script>alert"),
                "{name}: unescaped input\n{html}"
            );
            if html.contains("alert(") {
                assert!(
                    html.contains("&lt;script&gt;alert(&#x27;x&#x27;)"),
                    "{name}"
                );
            }
            rendered.insert(name);
        }
        for (name, _) in SOURCES {
            if *name != "base.html" {
                assert!(rendered.contains(name), "{name} has no render test");
            }
        }
    }

    #[test]
    fn the_stylesheet_and_script_hashes_match_what_pages_inline() {
        let html = render("message.html", &json!({"title": "t", "message": "m"})).unwrap();
        let inline = html
            .split_once("<style>")
            .and_then(|(_, rest)| rest.split_once("</style>"))
            .map(|(style, _)| style)
            .unwrap();
        assert!(PAGE_CSP.contains(&csp_hash(inline)));
        assert!(AUTO_SUBMIT_CSP.contains(&csp_hash("document.forms[0].submit();")));
        assert!(!PAGE_CSP.contains("script-src"));
    }

    #[test]
    fn escaping_table() {
        for (input, expected) in [
            ("plain /path?a=b", "plain /path?a=b"),
            ("a&b", "a&amp;b"),
            ("<b>", "&lt;b&gt;"),
            (r#"say "hi""#, "say &quot;hi&quot;"),
            ("it's", "it&#x27;s"),
        ] {
            assert_eq!(escape_html(input), expected);
        }
    }

    #[test]
    fn pages_carry_the_security_headers() {
        let response = page(
            StatusCode::OK,
            "message.html",
            &json!({"title": "t", "message": "m"}),
        );
        let headers = response.headers();
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }

    #[test]
    fn a_missing_template_or_bad_context_is_an_error_not_a_panic() {
        assert!(matches!(
            render("nope.html", &json!({})),
            Err(TemplateError::Render { .. })
        ));
        assert!(matches!(
            render("message.html", &json!([1])),
            Err(TemplateError::Context)
        ));
        // a template variable missing from the context is a render error
        assert!(render("message.html", &json!({"title": "t"})).is_err());
        let response = page(StatusCode::OK, "nope.html", &json!({}));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn error_pages_have_a_request_id() {
        let response = error_page(
            StatusCode::BAD_REQUEST,
            Some("Acme"),
            "Error",
            "Bad client",
            "test",
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let a = new_request_id();
        let b = new_request_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
