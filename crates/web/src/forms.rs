//! What the server-rendered consoles share about their pages' forms: a posted form with
//! repeated names kept, and the one-shot flash message that travels to the next page in a
//! cookie.

use axum::http::HeaderMap;

use crate::session::read_cookie;

/// A posted body that is not a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The form could not be read.")]
pub struct UnreadableForm;

/// A posted form: every field in order, repeated names kept (checkbox groups).
#[derive(Debug, Clone, Default)]
pub struct FormBody(pub Vec<(String, String)>);

impl FormBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, UnreadableForm> {
        serde_urlencoded::from_bytes(bytes)
            .map(FormBody)
            .map_err(|_| UnreadableForm)
    }

    /// The first value of `name`; empty when there is none.
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

/// The longest flash message read back.
const MAX_FLASH: usize = 500;

/// A flash message as a cookie value: cookie values may not hold spaces or commas, so it
/// travels percent-encoded.
pub fn flash_value(message: &str) -> String {
    let mut out = String::new();
    for byte in message.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The flash message in the request's cookie `cookie`, if any; a value that does not decode
/// (a cut escape, not UTF-8, too long) is none.
pub fn read_flash(headers: &HeaderMap, cookie: &str) -> Option<String> {
    let bytes = read_cookie(headers, cookie)?.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let message = String::from_utf8(out).ok()?;
    (!message.is_empty() && message.len() <= MAX_FLASH).then_some(message)
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    #[test]
    fn flash_messages_survive_their_cookie() {
        let mut headers = HeaderMap::new();
        let message = "App password \"ci\" revoked: 100% gone, push on team-a/**.";
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("FLASH={}", flash_value(message))).unwrap(),
        );
        assert_eq!(read_flash(&headers, "FLASH").as_deref(), Some(message));
        headers.insert(header::COOKIE, HeaderValue::from_static("FLASH=%E2%8"));
        assert_eq!(
            read_flash(&headers, "FLASH"),
            None,
            "a cut escape is no message"
        );
        headers.insert(header::COOKIE, HeaderValue::from_static("FLASH=%ZZ"));
        assert_eq!(read_flash(&headers, "FLASH"), None);
    }

    #[test]
    fn forms_keep_repeated_names() {
        let form = FormBody::parse(b"a=1&b=on&a=2&c=").unwrap();
        assert_eq!(form.all("a"), ["1", "2"]);
        assert_eq!(form.get("a"), "1");
        assert!(form.checked("b"));
        assert!(!form.checked("c"));
        assert_eq!(form.get("missing"), "");
    }
}
