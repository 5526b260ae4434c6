//! Browser cookies of a realm: the SSO session cookie and the rules deciding whether a
//! server-side session is still alive.
//!
//! The session itself lives in the database (so instances sharing it share sessions); the
//! cookie carries an opaque 256-bit secret whose hash is the session row's id. Cookies are
//! scoped to the realm's path, `HttpOnly`, `SameSite=Lax` (sent on the top-level navigations
//! that start a login, not on cross-site posts) and `Secure` when the public URL is https.

use axum::http::{HeaderMap, HeaderValue, header};
use portcullis_core::model::Realm;
use portcullis_store::UserSession;

use crate::Urls;

/// The SSO session cookie (Keycloak's is `KEYCLOAK_SESSION`/`KEYCLOAK_IDENTITY`).
pub const SESSION_COOKIE: &str = "PORTCULLIS_SESSION";

/// Where a realm's cookies live: `{relative}/realms/{realm}/`, covering its protocol endpoints
/// and its `login-actions`, and no other realm.
pub fn realm_cookie_path(urls: &Urls, realm: &str) -> String {
    format!(
        "{}/realms/{}/",
        urls.relative_path,
        encode_path_segment(realm)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a realm name can sit in a
/// URL path or a cookie `Path` without changing their structure.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Cookies get `Secure` when the public URL is https (a plain-http development server would
/// otherwise never get them back).
pub fn cookies_secure(urls: &Urls) -> bool {
    urls.base_url.starts_with("https://")
}

/// Where and how a realm's cookies are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieScope {
    pub path: String,
    pub secure: bool,
}

impl CookieScope {
    pub fn for_realm(urls: &Urls, realm: &str) -> Self {
        Self {
            path: realm_cookie_path(urls, realm),
            secure: cookies_secure(urls),
        }
    }

    /// A `Set-Cookie` value for a browser-session cookie (no expiry: gone when the browser
    /// closes; the server-side session has its own timeouts). `None` when the name or value
    /// holds characters a cookie may not (ours are base64url, so never).
    pub fn set(&self, name: &str, value: &str) -> Option<HeaderValue> {
        if !is_token(name) || !value.bytes().all(is_cookie_octet) {
            return None;
        }
        HeaderValue::from_str(&format!("{name}={value}; {}", self.attributes())).ok()
    }

    /// A `Set-Cookie` value that deletes the cookie.
    pub fn clear(&self, name: &str) -> Option<HeaderValue> {
        if !is_token(name) {
            return None;
        }
        HeaderValue::from_str(&format!(
            "{name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; {}",
            self.attributes()
        ))
        .ok()
    }

    /// A `Set-Cookie` value for a browser-session cookie that page scripts may read (no
    /// `HttpOnly`): only for values that are no secret, such as keycloak-js's session-status
    /// hint. Over https it is `SameSite=None; Secure`, so the session iframe can read it when
    /// an application on another site frames it; over plain http browsers refuse
    /// `SameSite=None`, so it is `Lax` (readable in frames of the same site).
    pub fn set_script_readable(&self, name: &str, value: &str) -> Option<HeaderValue> {
        if !is_token(name) || !value.bytes().all(is_cookie_octet) {
            return None;
        }
        let same_site = if self.secure {
            "SameSite=None; Secure"
        } else {
            "SameSite=Lax"
        };
        HeaderValue::from_str(&format!("{name}={value}; Path={}; {same_site}", self.path)).ok()
    }

    fn attributes(&self) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("Path={}; HttpOnly; SameSite=Lax{secure}", self.path)
    }
}

/// The value of the first cookie called `name` in the request's `Cookie` headers. Browsers
/// send the most specific path first, so that is the realm's own cookie.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Whether an SSO session may still be used: not ended, in this realm, used within the idle
/// timeout and younger than the maximum lifespan (Keycloak's `ssoSessionIdleTimeout` and
/// `ssoSessionMaxLifespan`).
pub fn session_is_live(session: &UserSession, realm: &Realm, now: i64) -> bool {
    !session.ended
        && session.realm_id == realm.id
        && now - session.last_seen_at < realm.sso_session_idle_timeout
        && now - session.created_at < realm.sso_session_max_lifespan
}

/// RFC 6265 token characters, for cookie names.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 6265 `cookie-octet`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn urls(base: &str, relative: &str) -> Urls {
        Urls {
            base_url: base.into(),
            relative_path: relative.into(),
        }
    }

    #[test]
    fn cookie_scope_follows_the_public_url() {
        let scope = CookieScope::for_realm(&urls("https://id.test", "/auth"), "acme");
        assert_eq!(
            scope.set(SESSION_COOKIE, "abc_-1").unwrap(),
            "PORTCULLIS_SESSION=abc_-1; Path=/auth/realms/acme/; HttpOnly; SameSite=Lax; Secure"
        );
        let plain = CookieScope::for_realm(&urls("http://127.0.0.1:8080", ""), "acme");
        assert_eq!(
            plain.set("X", "v").unwrap(),
            "X=v; Path=/realms/acme/; HttpOnly; SameSite=Lax"
        );
        let odd = CookieScope::for_realm(&urls("http://h", ""), "a b;c/é");
        assert_eq!(odd.path, "/realms/a%20b%3Bc%2F%C3%A9/");
        let cleared = plain.clear("X").unwrap();
        assert!(cleared.to_str().unwrap().starts_with("X=; Max-Age=0;"));
    }

    #[test]
    fn script_readable_cookies_are_not_http_only() {
        let secure = CookieScope::for_realm(&urls("https://id.test", "/auth"), "acme");
        assert_eq!(
            secure
                .set_script_readable("KEYCLOAK_SESSION", "h_-1")
                .unwrap(),
            "KEYCLOAK_SESSION=h_-1; Path=/auth/realms/acme/; SameSite=None; Secure"
        );
        let plain = CookieScope::for_realm(&urls("http://127.0.0.1:8080", "/auth"), "acme");
        assert_eq!(
            plain.set_script_readable("KEYCLOAK_SESSION", "h").unwrap(),
            "KEYCLOAK_SESSION=h; Path=/auth/realms/acme/; SameSite=Lax"
        );
        assert!(
            plain
                .set_script_readable("KEYCLOAK_SESSION", "a;b")
                .is_none()
        );
    }

    #[test]
    fn unsafe_cookie_values_are_refused() {
        let scope = CookieScope::for_realm(&urls("http://h", ""), "r");
        for (name, value) in [
            ("X", "a;b"),
            ("X", "a b"),
            ("X", "a\r\nSet-Cookie: y"),
            ("X", "a,b"),
            ("", "v"),
            ("a=b", "v"),
        ] {
            assert!(scope.set(name, value).is_none(), "{name}={value}");
        }
    }

    #[test]
    fn reading_cookies() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            "a=1; PORTCULLIS_SESSION=first".parse().unwrap(),
        );
        headers.append(
            header::COOKIE,
            "PORTCULLIS_SESSION=second; b=\"q\"".parse().unwrap(),
        );
        headers.append(header::COOKIE, "empty=".parse().unwrap());
        let table = [
            ("PORTCULLIS_SESSION", Some("first")),
            ("a", Some("1")),
            ("b", Some("q")),
            ("empty", None),
            ("missing", None),
            ("PORTCULLIS", None),
        ];
        for (name, expected) in table {
            assert_eq!(read_cookie(&headers, name), expected, "{name}");
        }
    }

    #[test]
    fn session_liveness_table() {
        let realm = Realm {
            id: "r1".into(),
            sso_session_idle_timeout: 100,
            sso_session_max_lifespan: 1000,
            ..Realm::default()
        };
        let session = UserSession {
            id: "s".into(),
            realm_id: "r1".into(),
            user_id: "u".into(),
            auth_time: 0,
            created_at: 0,
            last_seen_at: 500,
            ended: false,
        };
        let cases = [
            (session.clone(), 550, true),
            (session.clone(), 599, true),
            (session.clone(), 600, false), // idle
            (
                UserSession {
                    last_seen_at: 990,
                    ..session.clone()
                },
                1000,
                false,
            ), // max lifespan
            (
                UserSession {
                    ended: true,
                    ..session.clone()
                },
                550,
                false,
            ),
            (
                UserSession {
                    realm_id: "other".into(),
                    ..session.clone()
                },
                550,
                false,
            ),
        ];
        for (i, (s, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(session_is_live(&s, &realm, now), expected, "case {i}");
        }
    }
}
