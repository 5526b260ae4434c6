//! HTTP Basic credentials.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Parses `Authorization: Basic`; `None` when there is no Basic header, `Some(Err)` when it is
/// malformed (bad base64, not UTF-8, no colon).
#[allow(clippy::result_unit_err)]
pub fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    let value = headers.get(AUTHORIZATION)?;
    let value = match value.to_str() {
        Ok(v) => v.trim(),
        Err(_) => return Some(Err(())),
    };
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    Some(decode(encoded.trim()))
}

fn decode(encoded: &str) -> Result<(String, String), ()> {
    let bytes = STANDARD.decode(encoded).map_err(|_| ())?;
    let text = String::from_utf8(bytes).map_err(|_| ())?;
    let (user, password) = text.split_once(':').ok_or(())?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    /// A header, and what parsing it gives.
    type Row<'a> = (&'a str, Option<Result<(&'a str, &'a str), ()>>);

    #[test]
    fn parses_basic_headers() {
        let rows: &[Row] = &[
            ("Basic YWxpY2U6c2VjcmV0", Some(Ok(("alice", "secret")))),
            ("basic YWxpY2U6c2U6Y3JldA==", Some(Ok(("alice", "se:cret")))),
            ("Basic Og==", Some(Ok(("", "")))),
            ("Basic !!!", Some(Err(()))),
            ("Basic YWxpY2U=", Some(Err(()))),
            ("Bearer abc", None),
        ];
        for (header, expected) in rows {
            let got = basic_credentials(&with(header));
            let expected = expected.map(|r| r.map(|(u, p)| (u.to_string(), p.to_string())));
            assert_eq!(got, expected, "{header}");
        }
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
    }
}
