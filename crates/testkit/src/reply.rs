//! A response, read, and the HTML forms in it.

use std::collections::BTreeMap;
use std::fmt;

use axum::body::Bytes;
use axum::http::header::AsHeaderName;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;

/// A response with its body read.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON; panics, showing the body, when it is not JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as a JSON value whatever it is: `null` when empty, a JSON string when it is not
    /// JSON. For APIs that answer JSON or nothing, and for assertion messages.
    pub fn value(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&self.body).unwrap_or_else(|_| Value::String(self.text()))
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value, `""` when absent or not visible ASCII.
    pub fn header(&self, name: impl AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `Location`, when there is one.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The last path segment of `Location` after a `201 Created`: the id REST clients take.
    #[track_caller]
    pub fn created_id(&self) -> String {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.text());
        let location = self.location().unwrap_or_default();
        location.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// Every `Set-Cookie` value, in order.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect()
    }

    /// The query (or fragment) parameters of the redirect; panics without a `Location`.
    #[track_caller]
    pub fn redirect_params(&self) -> BTreeMap<String, String> {
        let location = self.location().expect("a redirect");
        let params = location
            .split_once(['?', '#'])
            .map(|(_, q)| q)
            .unwrap_or_default();
        serde_urlencoded::from_str(params).unwrap()
    }

    /// The forms of an HTML page, in order.
    pub fn forms(&self) -> Vec<HtmlForm> {
        parse_forms(&self.text())
    }

    /// The first form of an HTML page; panics, showing the page, when there is none.
    #[track_caller]
    pub fn form(&self) -> HtmlForm {
        self.forms()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no form in {} page:\n{}", self.status, self.text()))
    }

    /// The form posting to an action ending in `suffix`; panics, showing the page, when there
    /// is none.
    #[track_caller]
    pub fn form_to(&self, suffix: &str) -> HtmlForm {
        self.forms()
            .into_iter()
            .find(|f| f.action.ends_with(suffix))
            .unwrap_or_else(|| {
                panic!(
                    "no form posting to ...{suffix} in {} page:\n{}",
                    self.status,
                    self.text()
                )
            })
    }

    /// The theme's login page (`kc-form-login`), answered 200.
    pub fn is_login_page(&self) -> bool {
        self.status == StatusCode::OK && self.text().contains(r#"id="kc-form-login""#)
    }

    /// The theme's error page, which shows a request id.
    pub fn is_error_page(&self) -> bool {
        let text = self.text();
        text.contains(r#"id="kc-error-message""#) && text.contains("Request id: ")
    }

    /// Asserts an OAuth 2.0 error response (RFC 6749 5.2): the status, the `error` code, an
    /// `error_description` (if any) in the RFC's character set, and `Cache-Control: no-store`.
    #[track_caller]
    pub fn assert_oauth_error(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        let body = self.json();
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(
            description
                .chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
            "RFC 6749 charset: {description:?}"
        );
        assert_eq!(self.header(header::CACHE_CONTROL), "no-store");
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.text())
            .finish()
    }
}

/// A form of an HTML page: where it posts, and its `<input>` fields with their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl HtmlForm {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The form with `name` set to `value` (replacing any value it had).
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.fields.retain(|(k, _)| k != name);
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The form without the field `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.fields.retain(|(k, _)| k != name);
        self
    }
}

/// The forms of `html`, as a script would read them: each `<form>`'s `action` and the `name`
/// and `value` of its `<input>` elements, entities decoded.
pub fn parse_forms(html: &str) -> Vec<HtmlForm> {
    let mut forms = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let action = attribute(&after[..open_end], "action").unwrap_or_default();
        let close = after.find("</form>").unwrap_or(after.len());
        let inner = &after[open_end..close];
        let mut fields = Vec::new();
        for piece in inner.split("<input").skip(1) {
            let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
            if let Some(name) = attribute(tag, "name") {
                fields.push((name, attribute(tag, "value").unwrap_or_default()));
            }
        }
        forms.push(HtmlForm { action, fields });
        rest = &after[close..];
    }
    forms
}

/// The value of the double-quoted attribute `name` in a start tag (not `data-name`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(r#"{name}=""#);
    let (at, _) = tag.match_indices(&needle).find(|(at, _)| {
        tag[..*at]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace)
    })?;
    let start = at + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2F;", "/")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::{HtmlForm, parse_forms};

    #[test]
    fn reads_forms_actions_and_inputs() {
        let html = r#"<p>x</p><form method="post" action="/a?x=1&amp;y=&quot;2&quot;">
            <input type="hidden" name="flow" value="abc&#x2F;d">
            <input type="text" data-name="no"
                name="username" value="">
            <input type="submit" value="Sign in">
            </form><form action="/b"><input name="decision" value="deny"></form>"#;
        let forms = parse_forms(html);
        assert_eq!(
            forms,
            [
                HtmlForm {
                    action: r#"/a?x=1&y="2""#.into(),
                    fields: vec![
                        ("flow".into(), "abc/d".into()),
                        ("username".into(), String::new()),
                    ],
                },
                HtmlForm {
                    action: "/b".into(),
                    fields: vec![("decision".into(), "deny".into())],
                },
            ]
        );
        let form = forms[0].clone().with("username", "alice").without("flow");
        assert_eq!(form.field("username"), Some("alice"));
        assert_eq!(form.field("flow"), None);
    }
}
