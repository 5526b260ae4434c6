//! Token minting and verification: which scopes a grant gets ([`scopes`]), which claims a token
//! carries ([`claims`], [`mappers`]: pure functions of the realm, client, user and scopes), and
//! signing and checking our own JWTs ([`jwt`], [`mint`]).
//!
//! The helpers at this level are shared with the browser flows: random secrets and their stored
//! hashes, redirect URI matching and `id_token_hint` verification.

pub(crate) mod claims;
pub(crate) mod jwt;
pub(crate) mod mappers;
pub(crate) mod mint;
pub(crate) mod scopes;

use portcullis_core::keys::{Algorithm, KeyError};
use portcullis_core::model::Client;

pub(crate) use jwt::verify_own_jwt;

/// Failures while minting tokens: server-side problems, never the client's fault.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("the realm has no signing key (wanted {0})")]
    NoKey(Algorithm),
    #[error("signing failed: {0}")]
    Sign(#[from] KeyError),
    #[error("encoding claims: {0}")]
    Json(#[from] serde_json::Error),
}

pub(crate) use portcullis_core::secrets::{hash_secret, new_secret, random_bytes};

/// Whether `uri` may receive an authorization response for `client`: an exact string match
/// with a registered URI (RFC 9700 §4.1.3), Keycloak's trailing `*` wildcard where the client
/// registered one, and any port on a loopback IP where the registered loopback URI names none
/// (RFC 8252 §7.3, for native apps). A URI with a fragment never matches (RFC 6749 §3.1.2).
///
/// Wildcards and the loopback port only apply to URIs a browser cannot resolve somewhere else
/// ([`safe_for_prefix_match`]): with a dot segment in its path (`/cb/../../evil`, also
/// percent-encoded, double-encoded or behind a backslash or `;`), userinfo or an odd authority,
/// a URI must equal a registered one exactly (the CVE-2024-1132 class).
pub(crate) fn redirect_uri_allowed(client: &Client, uri: &str) -> bool {
    if uri.is_empty() || uri.contains('#') {
        return false;
    }
    client
        .redirect_uris
        .iter()
        .any(|registered| redirect_matches(registered, uri))
}

fn redirect_matches(registered: &str, uri: &str) -> bool {
    if registered == uri {
        return true;
    }
    if !safe_for_prefix_match(uri) {
        return false;
    }
    if let Some(prefix) = registered.strip_suffix('*') {
        return uri.starts_with(prefix);
    }
    match (loopback_without_port(registered), strip_loopback_port(uri)) {
        (Some(registered), Some(uri)) => registered == uri,
        _ => false,
    }
}

/// Whether a requested URI means what its characters say, so that a prefix of it can be
/// trusted: an absolute http(s) URI whose authority is a plain host (no userinfo, no
/// backslash, no percent-encoding) and whose path has no dot segment once `%2e`, `%2f`, `%5c`,
/// `%3b`, their double encodings (`%25..`), backslashes and `;` parameters are read as the
/// characters browsers and servers take them for.
fn safe_for_prefix_match(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        // `*` may match other schemes (custom app schemes): judge the part after the scheme.
        return lower
            .split_once(':')
            .is_some_and(|(_, rest)| !has_dot_segment(rest));
    };
    let end = rest.find(['/', '?', '\\']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() || authority.contains(['@', '%']) {
        return false;
    }
    let path = tail.split('?').next().unwrap_or_default();
    !has_dot_segment(path)
}

/// Whether a path has a `.` or `..` segment, however it is encoded.
fn has_dot_segment(path: &str) -> bool {
    let mut decoded = path.to_string();
    // Double encoding (`%252e`) first, then the single one.
    for _ in 0..2 {
        decoded = decoded.replace("%25", "%");
    }
    let decoded = decoded
        .replace("%2e", ".")
        .replace("%2f", "/")
        .replace("%5c", "/")
        .replace("%3b", ";")
        .replace('\\', "/");
    decoded
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .any(|segment| segment == "." || segment == "..")
}

/// Loopback hosts RFC 8252 lets native apps listen on with any port.
const LOOPBACK_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// The registered URI if it is an http loopback URI with no explicit port.
fn loopback_without_port(registered: &str) -> Option<&str> {
    LOOPBACK_PREFIXES.iter().find_map(|prefix| {
        let rest = registered.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with(['/', '?'])).then_some(registered)
    })
}

/// An http loopback URI with its port removed (`http://127.0.0.1:53817/cb` → `http://127.0.0.1/cb`).
fn strip_loopback_port(uri: &str) -> Option<String> {
    LOOPBACK_PREFIXES.iter().find_map(|prefix| {
        let rest = uri.strip_prefix(prefix)?.strip_prefix(':')?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &rest[digits..];
        let valid = digits > 0 && (tail.is_empty() || tail.starts_with(['/', '?']));
        valid.then(|| format!("{prefix}{tail}"))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashes_are_hex_sha256() {
        let a = new_secret();
        let b = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_secret(&a).len(), 64);
    }

    #[test]
    fn redirect_uri_matching() {
        // (registered, requested, allowed)
        let rows: &[(&[&str], &str, bool)] = &[
            (&["https://app.test/cb"], "https://app.test/cb", true),
            (&["https://app.test/cb"], "https://app.test/cb/x", false),
            (&["https://app.test/cb"], "https://app.test/cb?x=1", false),
            (&["https://app.test/cb"], "https://app.test/CB", false),
            (&["https://app.test/cb"], "https://app.test/cb#f", false),
            (&["https://app.test/cb"], "", false),
            (
                &["https://app.test/cb?a=1"],
                "https://app.test/cb?a=1",
                true,
            ),
            (
                &["https://app.test/*"],
                "https://app.test/anything/deep",
                true,
            ),
            (&["https://app.test/*"], "https://app.test.evil/x", false),
            (&["https://app.test/*"], "https://app.test/x#frag", false),
            (&["*"], "https://anywhere.test/", true),
            (
                &["https://a.test/1", "https://b.test/2"],
                "https://b.test/2",
                true,
            ),
            (&[], "https://app.test/cb", false),
            (&["http://127.0.0.1/cb"], "http://127.0.0.1:53817/cb", true),
            (&["http://127.0.0.1/cb"], "http://127.0.0.1/cb", true),
            (
                &["http://127.0.0.1/cb"],
                "http://127.0.0.1:8080/other",
                false,
            ),
            (&["http://127.0.0.1/cb"], "http://127.0.0.1:/cb", false),
            (&["http://127.0.0.1/cb"], "http://127.0.0.1:80x/cb", false),
            (&["http://127.0.0.1:9/cb"], "http://127.0.0.1:10/cb", false),
            (&["http://[::1]"], "http://[::1]:4000", true),
            (&["http://localhost/cb"], "http://localhost:4000/cb", false),
            (
                &["http://127.0.0.1.evil/cb"],
                "http://127.0.0.1.evil:1/cb",
                false,
            ),
            // Dot segments, however written, never pass a wildcard.
            (&["https://host/cb/*"], "https://host/cb/ok/x", true),
            (&["https://host/cb/*"], "https://host/cb/../../evil", false),
            (
                &["https://host/cb/*"],
                "https://host/cb/%2e%2e/%2E%2E/evil",
                false,
            ),
            (
                &["https://host/cb/*"],
                "https://host/cb/%252e%252e/evil",
                false,
            ),
            (&["https://host/cb/*"], "https://host/cb/..%2fevil", false),
            (&["https://host/cb/*"], "https://host/cb/..%5cevil", false),
            (&["https://host/cb/*"], "https://host/cb/..\\evil", false),
            (&["https://host/cb/*"], "https://host/cb/..;x/evil", false),
            (&["https://host/cb/*"], "https://host/cb/.", false),
            (&["https://host/cb/*"], "https://host/cb/..", false),
            (&["https://host/cb/*"], "https://host/cb/...x/ok", true),
            (
                &["https://host/cb/*"],
                "https://host/cb/x?next=../../y",
                true,
            ),
            (&["https://host*"], "https://host@evil.test/", false),
            (&["https://host/*"], "https://host%2eevil.test/", false),
            (&["*"], "https://anywhere.test/a/../b", false),
            (&["app://cb/*"], "app://cb/../x", false),
            (
                &["http://127.0.0.1/cb"],
                "http://127.0.0.1:4000/cb/../x",
                false,
            ),
            // An exact match stays an exact match.
            (&["https://host/a/../b"], "https://host/a/../b", true),
        ];
        for (registered, requested, allowed) in rows {
            let client = Client {
                redirect_uris: registered.iter().map(|s| (*s).to_owned()).collect(),
                ..Client::default()
            };
            assert_eq!(
                redirect_uri_allowed(&client, requested),
                *allowed,
                "{registered:?} {requested:?}"
            );
        }
    }
}
