//! Recently used docker refresh tokens, so that a client refreshing on every operation costs no
//! database read. A record is trusted for [`TTL_SECS`]: revoking a token (or disabling its user)
//! takes effect within that time on every instance, and at once for the user through
//! `AppState::invalidate_user`, which the refresh grant consults on each use.

use std::collections::HashMap;
use std::sync::RwLock;

use portcullis_store::DockerRefreshToken;

/// How long a stored record is reused before it is read again.
pub(crate) const TTL_SECS: i64 = 10;
/// Records kept at most; the cache is emptied when it fills (a rare, cheap event).
const CAPACITY: usize = 50_000;
/// `last_used_at` is written at most this often per token: it is bookkeeping, not security.
pub(crate) const TOUCH_INTERVAL_SECS: i64 = 60;

#[derive(Default)]
pub(crate) struct RefreshCache {
    entries: RwLock<HashMap<String, (DockerRefreshToken, i64)>>,
}

impl RefreshCache {
    /// The record of a token hash, if read from the database less than [`TTL_SECS`] ago.
    pub(crate) fn get(&self, token_hash: &str, now: i64) -> Option<DockerRefreshToken> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (record, fetched_at) = entries.get(token_hash)?;
        (now - fetched_at < TTL_SECS).then(|| record.clone())
    }

    /// Remembers a record read from the database at `now`.
    pub(crate) fn put(&self, record: DockerRefreshToken, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(record.token_hash.clone(), (record, now));
    }

    /// Notes that `last_used_at` was written, keeping the record's age.
    pub(crate) fn touched(&self, token_hash: &str, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some((record, _)) = entries.get_mut(token_hash) {
            record.last_used_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &str) -> DockerRefreshToken {
        DockerRefreshToken {
            id: "id".into(),
            token_hash: hash.into(),
            realm_id: "r".into(),
            user_id: "u".into(),
            service: "s".into(),
            created_at: 0,
            last_used_at: 0,
            expires_at: 100,
            revoked: false,
        }
    }

    #[test]
    fn records_expire_after_the_ttl_and_touches_are_kept() {
        let cache = RefreshCache::default();
        cache.put(record("h"), 1000);
        assert!(cache.get("h", 1000 + TTL_SECS - 1).is_some());
        assert!(cache.get("h", 1000 + TTL_SECS).is_none());
        assert!(cache.get("other", 1000).is_none());
        cache.touched("h", 1005);
        assert_eq!(cache.get("h", 1005).map(|r| r.last_used_at), Some(1005));
    }
}
