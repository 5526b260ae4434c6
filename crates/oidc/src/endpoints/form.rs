//! Request bodies: read with a size limit, parsed as `application/x-www-form-urlencoded`.

use std::collections::HashSet;

use axum::body::{Body, Bytes};

use super::error::OAuthError;

/// Form bodies beyond this are refused: real requests are well under a kilobyte or two.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// Reads at most [`MAX_FORM_BYTES`] of a body.
pub(crate) async fn read_body(body: Body) -> Result<Bytes, OAuthError> {
    axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| OAuthError::too_large())
}

/// Form parameters. RFC 6749 §3.1 forbids repeating a parameter, so a repeated name is refused
/// rather than guessed at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|_| OAuthError::invalid_request("Malformed form body"))?;
        Self::from_pairs(pairs)
    }

    /// Parameters already decoded; a repeated name is refused as in [`Form::parse`].
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, OAuthError> {
        let mut seen = HashSet::with_capacity(pairs.len());
        if !pairs.iter().all(|(name, _)| seen.insert(name.as_str())) {
            return Err(OAuthError::invalid_request("Repeated request parameter"));
        }
        Ok(Self(pairs))
    }

    /// The parameter's value; empty values count as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value even when empty (a password may be empty and is then simply wrong).
    pub(crate) fn get_raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `application/x-www-form-urlencoded` decoding of one component (`+` is a space, `%XX` a
/// byte), for client credentials in a Basic header (RFC 6749 §2.3.1). `None` when the result
/// is not UTF-8 or a `%` is not followed by two hex digits.
pub(crate) fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        let form = Form::parse(b"a=1&b=&c=x%20y+z&d=%E2%9C%93").unwrap();
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.get("b"), None);
        assert_eq!(form.get_raw("b"), Some(""));
        assert_eq!(form.get("c"), Some("x y z"));
        assert_eq!(form.get("d"), Some("✓"));
        assert_eq!(form.get("missing"), None);
        assert!(Form::parse(b"").unwrap().get("a").is_none());
        // Many distinct parameters parse quickly (the duplicate check is linear).
        let many: String = (0..10_000).map(|i| format!("p{i}=&")).collect();
        assert!(Form::parse(many.as_bytes()).unwrap().get("p9999").is_none());
        for bad in [&b"a=1&a=2"[..], b"grant_type=x&grant_type=x"] {
            assert_eq!(
                Form::parse(bad).unwrap_err().outcome(),
                "invalid_request",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn form_decoding() {
        let rows: &[(&str, Option<&str>)] = &[
            ("plain", Some("plain")),
            ("a+b", Some("a b")),
            ("a%2Bb", Some("a+b")),
            ("%3A%40", Some(":@")),
            ("100%", None),
            ("%zz", None),
            ("%+f", None),
            ("%C3%A9", Some("é")),
            ("%FF", None),
            ("", Some("")),
        ];
        for (input, expected) in rows {
            assert_eq!(form_decode(input).as_deref(), *expected, "{input}");
        }
    }
}
