//! Keys a `client-jwt` client publishes at a URL (Keycloak's client attributes `use.jwks.url` =
//! `true` and `jwks.url`), kept by [`KeySets`] under tight limits (a short timeout, a small
//! answer) for [`KEYS_TTL_SECS`] per client and URL, fetched again for an unknown `kid` at most
//! every [`MIN_REFETCH_SECS`].
//!
//! The sets are one per process (assertions arrive at several endpoints; they hold only public
//! keys, which need no invalidation beyond the refetch rules).

use std::sync::OnceLock;
use std::time::Duration;

use portcullis_core::jwk::{ForeignJws, PublicJwk, parse_jwks};
use portcullis_core::model::Client;
use portcullis_web::http::{Http, Limits};
use portcullis_web::key_sets::{KeySetError, KeySets};

/// Client attribute: keys come from `jwks.url` (`"true"`).
pub(crate) const USE_JWKS_URL: &str = "use.jwks.url";
/// Client attribute: the URL of the client's JWKS.
pub(crate) const JWKS_URL: &str = "jwks.url";
/// How long fetched keys are used without asking again.
pub(crate) const KEYS_TTL_SECS: i64 = 300;
/// The shortest time between two fetches for one client.
pub(crate) const MIN_REFETCH_SECS: i64 = 5;
/// The largest key set read.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Whether the client takes its keys from a URL, and which.
pub(crate) fn jwks_url(client: &Client) -> Option<&str> {
    let attribute = |name: &str| client.attributes.get(name).map(|v| v.trim());
    (attribute(USE_JWKS_URL) == Some("true")).then(|| attribute(JWKS_URL).unwrap_or_default())
}

/// The key sets of every `jwks.url` client this process has seen assertions of.
fn key_sets() -> &'static KeySets {
    static SETS: OnceLock<KeySets> = OnceLock::new();
    SETS.get_or_init(|| {
        let limits = Limits {
            connect: Duration::from_secs(2),
            total: Duration::from_secs(3),
            max_body: MAX_JWKS_BYTES,
        };
        KeySets::new("client key set", KEYS_TTL_SECS, MIN_REFETCH_SECS, limits)
    })
}

async fn fetch(http: Http, url: &str) -> Result<Vec<PublicJwk>, String> {
    let parsed: Option<(&str, &str)> = url.split_once("://");
    if !matches!(parsed, Some(("http" | "https", rest)) if !rest.is_empty()) {
        return Err("jwks.url is not an http(s) URL".into());
    }
    let document = http
        .get_json(url, None, "application/json")
        .await
        .map_err(|e| e.to_string())?;
    let keys = parse_jwks(&document);
    if keys.is_empty() {
        return Err("the key set holds no usable signature key".into());
    }
    Ok(keys)
}

/// Checks an assertion's signature with the keys the client publishes at `url`, fetching them
/// again once when the assertion names a key the kept set lacks. `Err` says why not (for the
/// log; the client is told only that it failed).
pub(crate) async fn verify(
    client: &Client,
    url: &str,
    jws: &ForeignJws<'_>,
    now: i64,
) -> Result<(), String> {
    // Keyed by the client's internal id and the URL: a changed URL is a new set.
    let name = format!("{} {url}", client.id);
    key_sets()
        .verify(&name, jws, now, |http| fetch(http, url))
        .await
        .map_err(|e| match e {
            KeySetError::Unreachable(why) => why,
            KeySetError::Signature(e) => e.to_string(),
        })
}
