//! Rendering console pages: the templates, the layout's context, the security headers, flash
//! messages, form bodies and errors as pages.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tera::{Context, Tera};

use super::session::Console;
use crate::error::AdminError;

/// Every console template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("realms.html", include_str!("../../templates/realms.html")),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
    (
        "registries.html",
        include_str!("../../templates/registries.html"),
    ),
    (
        "registry_new.html",
        include_str!("../../templates/registry_new.html"),
    ),
    ("rules.html", include_str!("../../templates/rules.html")),
    ("diff.html", include_str!("../../templates/diff.html")),
    ("try.html", include_str!("../../templates/try.html")),
    ("setup.html", include_str!("../../templates/setup.html")),
    ("logins.html", include_str!("../../templates/logins.html")),
    ("users.html", include_str!("../../templates/users.html")),
    (
        "user_new.html",
        include_str!("../../templates/user_new.html"),
    ),
    ("user.html", include_str!("../../templates/user.html")),
    ("groups.html", include_str!("../../templates/groups.html")),
    ("problem.html", include_str!("../../templates/problem.html")),
    (
        "registry_tabs.html",
        include_str!("../../templates/registry_tabs.html"),
    ),
];

static TERA: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| format!("{e:?}"))?;
    tera.set_escape_fn(portcullis_web::templates::escape_html);
    Ok(tera)
});

/// Scripts and styles only from the console's own files, forms only to itself, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The flash message cookie: one message, shown by the next page.
const FLASH_COOKIE: &str = "PORTCULLIS_CONSOLE_FLASH";

/// Renders `name` inside the layout: `context` is the page's own, the console adds who is
/// signed in, the realm, the navigation, the CSRF token and the flash message.
pub fn render(console: &Console, name: &str, context: Value) -> Result<Response, ConsoleError> {
    render_status(console, StatusCode::OK, name, context)
}

pub fn render_status(
    console: &Console,
    status: StatusCode,
    name: &str,
    mut context: Value,
) -> Result<Response, ConsoleError> {
    let common = console.layout_context()?;
    if let (Some(page), Value::Object(common)) = (context.as_object_mut(), common) {
        for (key, value) in common {
            page.entry(key).or_insert(value);
        }
    }
    let body = render_template(name, &context)?;
    let mut response = html(status, body);
    if console.flash.is_some()
        && let Some(cookie) = console.cookie_header(FLASH_COOKIE, "", 0)
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Renders a template with a context (also used by the template test).
pub fn render_template(name: &str, context: &Value) -> Result<String, ConsoleError> {
    let tera = TERA
        .as_ref()
        .map_err(|e| ConsoleError::Internal(format!("templates failed to load: {e}")))?;
    let ctx = Context::from_value(context.clone())
        .map_err(|e| ConsoleError::Internal(format!("template context: {e}")))?;
    tera.render(name, &ctx)
        .map_err(|e| ConsoleError::Internal(format!("rendering {name}: {e:?}")))
}

/// An HTML response with the console's security headers.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

/// Headers every console response carries.
pub fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// `303 See Other` to `location` with a flash message for the next page.
pub fn redirect_with_flash(console: &Console, location: &str, message: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    if let Some(cookie) = console.cookie_header(FLASH_COOKIE, &flash_encode(message), 60) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    secure(response.headers_mut());
    response
}

/// Cookie values may not hold spaces or commas: the message travels percent-encoded.
fn flash_encode(message: &str) -> String {
    let mut out = String::new();
    for byte in message.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The flash message a request carries, if any.
pub fn read_flash(headers: &HeaderMap) -> Option<String> {
    let raw = portcullis_web::session::read_cookie(headers, FLASH_COOKIE)?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let message = String::from_utf8(out).ok()?;
    (!message.is_empty() && message.len() <= 500).then_some(message)
}

/// A posted form: every field in order, repeated names kept (checkbox groups).
#[derive(Debug, Clone, Default)]
pub struct FormBody(pub Vec<(String, String)>);

impl FormBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, ConsoleError> {
        serde_urlencoded::from_bytes(bytes)
            .map(FormBody)
            .map_err(|_| ConsoleError::BadRequest("The form could not be read.".into()))
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1")
    }
}

/// A console request that failed: shown as a page (403, 404, 400), or a sign-in redirect.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("sign in")]
    SignIn(Box<Response>),
    #[error("You do not have the rights to see or do this.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "The form has expired or did not come from this console; reload the page and try again."
    )]
    Csrf,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AdminError> for ConsoleError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden | AdminError::Unauthorized(_) => ConsoleError::Forbidden,
            AdminError::NotFound(message) => ConsoleError::NotFound(message),
            AdminError::Internal(message) => ConsoleError::Internal(message),
            AdminError::Store(e) => ConsoleError::Internal(e.to_string()),
            other => ConsoleError::BadRequest(field_message(&other)),
        }
    }
}

impl From<portcullis_web::WebError> for ConsoleError {
    fn from(error: portcullis_web::WebError) -> Self {
        ConsoleError::Internal(error.to_string())
    }
}

impl From<portcullis_store::StoreError> for ConsoleError {
    fn from(error: portcullis_store::StoreError) -> Self {
        ConsoleError::Internal(error.to_string())
    }
}

/// The sentence an admin error says, for a page or beside a field.
pub fn field_message(error: &AdminError) -> String {
    match error {
        AdminError::InvalidRequest { description, .. } => description.clone(),
        AdminError::InvalidField { field, .. } => format!("Please give a valid {field}."),
        other => other.to_string(),
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignIn(_) => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) | ConsoleError::Csrf => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match self {
            ConsoleError::SignIn(response) => return *response,
            ConsoleError::Internal(cause) => {
                let id = portcullis_web::templates::new_request_id();
                tracing::error!(request_id = %id, %cause, "console request failed");
                format!("Something went wrong on the server (request id {id}).")
            }
            other => other.to_string(),
        };
        let context = json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "status": status.as_u16(),
            "signed_in": false,
        });
        match render_template("problem.html", &context) {
            Ok(body) => html(status, body),
            Err(_) => html(
                status,
                format!("<!DOCTYPE html><title>Error</title><p>{}</p>", status),
            ),
        }
    }
}
