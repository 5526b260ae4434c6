//! Public key sets other hosts publish (a CI issuer's, a `client-jwt` client's `jwks.url`),
//! fetched with the one outbound HTTP client and kept per name for a TTL. A token naming a
//! `kid` the kept set lacks (the host rotated its keys) fetches the set again, but never more
//! often than a minimum interval per name, so a stream of forged tokens cannot turn this server
//! into a load generator against that host. Keys fetched before keep working while the host is
//! unreachable. They are public keys: nothing to invalidate beyond these rules.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_core::jwk::{ForeignJws, PublicJwk, SignatureError};

use crate::http::{Http, Limits};

/// Why a token's signature was not checked against a fetched key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySetError {
    /// The set could not be fetched (and none was fetched before): why.
    Unreachable(String),
    Signature(SignatureError),
}

/// One name's keys as last fetched.
#[derive(Debug, Clone, Default)]
struct Entry {
    keys: Arc<Vec<PublicJwk>>,
    /// When `keys` were fetched (0: never).
    fetched_at: i64,
    /// When a fetch last started, successful or not.
    attempted_at: i64,
    /// Why the last fetch failed, while no keys were ever fetched.
    error: Option<String>,
}

/// Key sets by name (an issuer, a client and URL), with their fetching rules.
pub struct KeySets {
    /// What the sets are, for log lines ("CI issuer keys").
    what: &'static str,
    ttl_secs: i64,
    min_refetch_secs: i64,
    limits: Limits,
    http: OnceLock<Option<Http>>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for KeySets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySets")
            .field("what", &self.what)
            .finish_non_exhaustive()
    }
}

impl KeySets {
    pub fn new(what: &'static str, ttl_secs: i64, min_refetch_secs: i64, limits: Limits) -> Self {
        Self {
            what,
            ttl_secs,
            min_refetch_secs,
            limits,
            http: OnceLock::new(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Checks `jws` with the set kept under `name`, fetched by `fetch` when due, and fetched
    /// again once when the token names a key the kept set lacks. `fetch` gets a clone of the
    /// one client (cheap), so its future may outlive the borrow of this cache.
    pub async fn verify<F, Fut>(
        &self,
        name: &str,
        jws: &ForeignJws<'_>,
        now: i64,
        fetch: F,
    ) -> Result<(), KeySetError>
    where
        F: Fn(Http) -> Fut,
        Fut: Future<Output = Result<Vec<PublicJwk>, String>>,
    {
        let keys = self.keys(name, now, false, &fetch).await?;
        match jws.verify(&keys) {
            Err(SignatureError::UnknownKey(_)) => {
                let keys = self.keys(name, now, true, &fetch).await?;
                jws.verify(&keys).map_err(KeySetError::Signature)
            }
            other => other.map_err(KeySetError::Signature),
        }
    }

    /// Whether to fetch now rather than use what is kept.
    fn due(&self, entry: Option<&Entry>, now: i64, unknown_kid: bool) -> bool {
        let Some(entry) = entry else {
            return true;
        };
        if now - entry.attempted_at < self.min_refetch_secs {
            return false;
        }
        unknown_kid || entry.fetched_at == 0 || now - entry.fetched_at >= self.ttl_secs
    }

    fn http(&self) -> Option<&Http> {
        self.http
            .get_or_init(|| match Http::with_limits(self.limits) {
                Ok(http) => Some(http),
                Err(error) => {
                    tracing::error!(%error, what = self.what, "no HTTP client for fetching keys");
                    None
                }
            })
            .as_ref()
    }

    async fn keys<F, Fut>(
        &self,
        name: &str,
        now: i64,
        unknown_kid: bool,
        fetch: &F,
    ) -> Result<Arc<Vec<PublicJwk>>, KeySetError>
    where
        F: Fn(Http) -> Fut,
        Fut: Future<Output = Result<Vec<PublicJwk>, String>>,
    {
        let cached = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let entry = entries.get(name);
            if self.due(entry, now, unknown_kid) {
                entries.entry(name.to_owned()).or_default().attempted_at = now;
                None
            } else {
                entry.cloned()
            }
        };
        if let Some(entry) = cached {
            return match (entry.fetched_at, entry.error) {
                (0, Some(error)) => Err(KeySetError::Unreachable(error)),
                (0, None) => Err(KeySetError::Unreachable(
                    "the keys are being fetched; retry".into(),
                )),
                _ => Ok(entry.keys),
            };
        }
        let fetched = match self.http() {
            Some(http) => fetch(http.clone()).await,
            None => Err("no HTTP client (TLS configuration)".to_owned()),
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(name.to_owned()).or_default();
        let what = self.what;
        match fetched {
            Ok(keys) => {
                tracing::info!(what, name, keys = keys.len(), "keys fetched");
                entry.keys = Arc::new(keys);
                entry.fetched_at = now;
                entry.error = None;
                Ok(entry.keys.clone())
            }
            Err(error) if entry.fetched_at > 0 => {
                tracing::warn!(what, name, %error, "keys not refreshed; keeping the previous set");
                Ok(entry.keys.clone())
            }
            Err(error) => {
                tracing::warn!(what, name, %error, "keys could not be fetched");
                entry.error = Some(error.clone());
                Err(KeySetError::Unreachable(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetches_are_due_by_age_and_unknown_kids_but_never_too_often() {
        let sets = KeySets::new("test", 300, 10, Limits::default());
        let now = 1_000_000;
        let fresh = Entry {
            fetched_at: now,
            attempted_at: now,
            ..Entry::default()
        };
        let failed = Entry {
            attempted_at: now,
            error: Some("down".into()),
            ..Entry::default()
        };
        let rows = [
            (None, now, false, true),
            (Some(&fresh), now + 1, false, false),
            (Some(&fresh), now + 1, true, false),
            (Some(&fresh), now + 10, true, true),
            (Some(&fresh), now + 10, false, false),
            (Some(&fresh), now + 300, false, true),
            (Some(&failed), now + 1, false, false),
            (Some(&failed), now + 10, false, true),
        ];
        for (entry, at, unknown_kid, expected) in rows {
            assert_eq!(
                sets.due(entry, at, unknown_kid),
                expected,
                "{entry:?} at {at}"
            );
        }
    }
}
