//! `clients/{id}/certificates/{attr}` (get, `generate`, `upload`, `upload-certificate`,
//! `download`) and `clients/{id}/installation/providers/{providerId}`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

use super::{Reply, ok};
use crate::error::AdminError;
use crate::extract::Admin;
use crate::ops::client_certificates as certs;

/// `GET clients/{id}/certificates/{attr}`: Keycloak's `CertificateRepresentation`.
pub async fn get(admin: Admin, Path((realm, id, attr)): Path<(String, String, String)>) -> Reply {
    let ops = admin.ops();
    ok(certs::get(ops, &realm, &id, &attr).await?)
}

/// `POST clients/{id}/certificates/{attr}/generate`: a new key pair; the private key is in
/// this answer only.
pub async fn generate(
    admin: Admin,
    Path((realm, id, attr)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    ok(certs::generate(ops, &realm, &id, &attr).await?)
}

/// `POST clients/{id}/certificates/{attr}/upload` and `upload-certificate`: a multipart form
/// with `keystoreFormat` and `file`.
pub async fn upload(
    admin: Admin,
    Path((realm, id, attr)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    let parts = multipart(&headers, &body)?;
    let field = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let format = field("keystoreFormat")
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .unwrap_or_else(|| certs::CERTIFICATE_PEM.to_string());
    let file = field("file").ok_or_else(|| AdminError::BadRequest("No file uploaded".into()))?;
    let ops = admin.ops();
    ok(certs::upload(ops, &realm, &id, &attr, &format, file).await?)
}

/// `POST clients/{id}/certificates/{attr}/download` with a `KeyStoreConfig` (`format`): the
/// stored certificate or public key in PEM.
pub async fn download(
    admin: Admin,
    Path((realm, id, attr)): Path<(String, String, String)>,
    body: Bytes,
) -> Reply {
    let config: Value = match body.is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(&body).map_err(|_| AdminError::unparsable())?,
    };
    let format = config
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or(certs::CERTIFICATE_PEM)
        .to_string();
    let ops = admin.ops();
    let pem = certs::download(ops, &realm, &id, &attr, &format).await?;
    let mut response = (StatusCode::OK, pem).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    Ok(response)
}

/// The parts of a `multipart/form-data` body: (name, content).
fn multipart(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, AdminError> {
    let bad = || AdminError::BadRequest("Expected a multipart/form-data body".into());
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(bad)?;
    if !content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return Err(bad());
    }
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or_else(bad)?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, &delimiter).ok_or_else(bad)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        let rest_after_crlf = rest.strip_prefix(b"\r\n").ok_or_else(bad)?;
        let end = find(rest_after_crlf, &delimiter).ok_or_else(bad)?;
        let part = &rest_after_crlf[..end];
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let split = find(part, b"\r\n\r\n").ok_or_else(bad)?;
        let head = String::from_utf8_lossy(&part[..split]);
        let content = part[split + 4..].to_vec();
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .and_then(|l| {
                l.split(';')
                    .filter_map(|p| p.trim().strip_prefix("name="))
                    .next()
                    .map(|n| n.trim_matches('"').to_string())
            })
            .ok_or_else(bad)?;
        parts.push((name, content));
        rest = &rest_after_crlf[end + delimiter.len()..];
    }
    Ok(parts)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET clients/{id}/installation/providers/{providerId}`.
pub async fn installation(
    admin: Admin,
    Path((realm, id, provider)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    let file = crate::ops::installation::generate(ops, &realm, &id, &provider).await?;
    let mut response = (StatusCode::OK, file.body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(file.media_type));
    if let Some(name) = file.file_name
        && let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_multipart_forms() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=XyZ"),
        );
        let body = "pre\r\n--XyZ\r\nContent-Disposition: form-data; name=\"keystoreFormat\"\r\n\r\nCertificate PEM\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.pem\"\r\nContent-Type: application/octet-stream\r\n\r\nline1\r\nline2\r\n--XyZ--\r\n";
        let parts = multipart(&headers, body.as_bytes()).unwrap();
        assert_eq!(
            parts[0],
            ("keystoreFormat".into(), b"Certificate PEM".to_vec())
        );
        assert_eq!(parts[1], ("file".into(), b"line1\r\nline2".to_vec()));
        assert!(multipart(&HeaderMap::new(), body.as_bytes()).is_err());
        assert!(multipart(&headers, b"garbage").is_err());
    }
}
