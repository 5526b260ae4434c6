//! Keys a `client-jwt` client publishes at a URL (Keycloak's client attributes `use.jwks.url` =
//! `true` and `jwks.url`): fetched with the one outbound HTTP client under tight limits (a
//! short timeout, a small answer), kept per client and URL for [`KEYS_TTL_SECS`], fetched
//! again when an assertion names a `kid` the kept set lacks (the client rotated its keys), but
//! never more often than every [`MIN_REFETCH_SECS`] per client, so a stream of forged
//! assertions cannot turn this server into a load generator against the client's host.
//!
//! The cache is one per process (assertions arrive at several endpoints; it holds only public
//! keys, which need no invalidation beyond the refetch rules): entries are keyed by the
//! client's internal id and the URL, so a changed URL is a new entry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use portcullis_core::jwk::{ForeignJws, PublicJwk, SignatureError, parse_jwks};
use portcullis_core::model::Client;
use portcullis_web::http::{Http, Limits};

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

#[derive(Debug, Clone, Default)]
struct Entry {
    keys: Arc<Vec<PublicJwk>>,
    /// When `keys` were fetched (0: never).
    fetched_at: i64,
    /// When a fetch last started, successful or not.
    attempted_at: i64,
    /// Why the last fetch failed.
    error: Option<String>,
}

#[derive(Default)]
struct ClientKeys {
    http: OnceLock<Option<Http>>,
    entries: Mutex<HashMap<(String, String), Entry>>,
}

fn cache() -> &'static ClientKeys {
    static CACHE: OnceLock<ClientKeys> = OnceLock::new();
    CACHE.get_or_init(ClientKeys::default)
}

/// Whether to fetch now rather than use what is kept.
fn due(entry: Option<&Entry>, now: i64, unknown_kid: bool) -> bool {
    let Some(entry) = entry else {
        return true;
    };
    if now - entry.attempted_at < MIN_REFETCH_SECS {
        return false;
    }
    unknown_kid || entry.fetched_at == 0 || now - entry.fetched_at >= KEYS_TTL_SECS
}

impl ClientKeys {
    fn http(&self) -> Option<&Http> {
        self.http
            .get_or_init(|| {
                let limits = Limits {
                    connect: Duration::from_secs(2),
                    total: Duration::from_secs(3),
                    max_body: MAX_JWKS_BYTES,
                };
                match Http::with_limits(limits) {
                    Ok(http) => Some(http),
                    Err(error) => {
                        tracing::error!(%error, "no HTTP client for client key sets");
                        None
                    }
                }
            })
            .as_ref()
    }

    async fn keys(
        &self,
        client: &Client,
        url: &str,
        now: i64,
        unknown_kid: bool,
    ) -> Result<Arc<Vec<PublicJwk>>, String> {
        let key = (client.id.clone(), url.to_owned());
        let cached = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let entry = entries.get(&key);
            if due(entry, now, unknown_kid) {
                entries.entry(key.clone()).or_default().attempted_at = now;
                None
            } else {
                entry.cloned()
            }
        };
        if let Some(entry) = cached {
            return match (entry.fetched_at, entry.error) {
                (0, Some(error)) => Err(error),
                (0, None) => Err("the key set is being fetched".into()),
                _ => Ok(entry.keys),
            };
        }
        let fetched = self.fetch(url).await;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(key).or_default();
        match fetched {
            Ok(keys) => {
                tracing::info!(client = %client.client_id, keys = keys.len(), "client key set fetched");
                entry.keys = Arc::new(keys);
                entry.fetched_at = now;
                entry.error = None;
                Ok(entry.keys.clone())
            }
            // Keys fetched before keep working while the client's host is unreachable.
            Err(error) if entry.fetched_at > 0 => {
                tracing::warn!(client = %client.client_id, %error, "client key set not refreshed; keeping the previous one");
                Ok(entry.keys.clone())
            }
            Err(error) => {
                tracing::warn!(client = %client.client_id, %error, "client key set could not be fetched");
                entry.error = Some(error.clone());
                Err(error)
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<Vec<PublicJwk>, String> {
        let parsed: Option<(&str, &str)> = url.split_once("://");
        if !matches!(parsed, Some(("http" | "https", rest)) if !rest.is_empty()) {
            return Err("jwks.url is not an http(s) URL".into());
        }
        let http = self
            .http()
            .ok_or_else(|| "no HTTP client (TLS configuration)".to_owned())?;
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
    let cache = cache();
    let keys = cache.keys(client, url, now, false).await?;
    match jws.verify(&keys) {
        Ok(()) => Ok(()),
        Err(SignatureError::UnknownKey(_)) => {
            let keys = cache.keys(client, url, now, true).await?;
            jws.verify(&keys).map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_are_due_by_age_and_unknown_kids_but_never_too_often() {
        let entry = Entry {
            fetched_at: 1000,
            attempted_at: 1000,
            ..Entry::default()
        };
        assert!(due(None, 0, false));
        assert!(!due(Some(&entry), 1000 + MIN_REFETCH_SECS - 1, true));
        assert!(due(Some(&entry), 1000 + MIN_REFETCH_SECS, true));
        assert!(!due(Some(&entry), 1000 + MIN_REFETCH_SECS, false));
        assert!(due(Some(&entry), 1000 + KEYS_TTL_SECS, false));
        let failed = Entry {
            attempted_at: 1000,
            ..Entry::default()
        };
        assert!(due(Some(&failed), 1000 + MIN_REFETCH_SECS, false));
    }
}
