//! Recently used docker refresh tokens, so that a client refreshing on every operation costs no
//! database read. A record is trusted for [`TTL_SECS`], and only while the state's cache epoch
//! (`AppState::cache_epoch`) is the one it was read in: any revocation, user change or realm
//! change this instance makes or hears of moves the epoch, so it takes effect at once.

use std::collections::HashMap;
use std::sync::RwLock;

use portcullis_store::DockerRefreshToken;

/// How long a stored record is reused before it is read again.
pub(crate) const TTL_SECS: i64 = 10;
/// Records kept at most; the cache is emptied when it fills (a rare, cheap event).
const CAPACITY: usize = 50_000;
/// `last_used_at` is written at most this often per token: it is bookkeeping, not security.
pub(crate) const TOUCH_INTERVAL_SECS: i64 = 60;

/// A record, when it was read, and the cache epoch it was read in.
type Entry = (DockerRefreshToken, i64, u64);

#[derive(Default)]
pub(crate) struct RefreshCache {
    entries: RwLock<HashMap<String, Entry>>,
}

impl RefreshCache {
    /// The record of a token hash, if read from the database less than [`TTL_SECS`] ago in the
    /// current `epoch`.
    pub(crate) fn get(&self, token_hash: &str, now: i64, epoch: u64) -> Option<DockerRefreshToken> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (record, fetched_at, read_in) = entries.get(token_hash)?;
        (now - fetched_at < TTL_SECS && *read_in == epoch).then(|| record.clone())
    }

    /// Remembers a record read from the database at `now` in `epoch`.
    pub(crate) fn put(&self, record: DockerRefreshToken, now: i64, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(record.token_hash.clone(), (record, now, epoch));
    }

    /// Notes that `last_used_at` was written, keeping the record's age.
    pub(crate) fn touched(&self, token_hash: &str, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some((record, _, _)) = entries.get_mut(token_hash) {
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
            last_address: None,
        }
    }

    #[test]
    fn records_expire_after_the_ttl_or_an_epoch_change_and_touches_are_kept() {
        let cache = RefreshCache::default();
        cache.put(record("h"), 1000, 7);
        assert!(cache.get("h", 1000 + TTL_SECS - 1, 7).is_some());
        assert!(cache.get("h", 1000 + TTL_SECS, 7).is_none());
        assert!(cache.get("h", 1000, 8).is_none(), "a new epoch drops it");
        assert!(cache.get("other", 1000, 7).is_none());
        cache.touched("h", 1005);
        assert_eq!(cache.get("h", 1005, 7).map(|r| r.last_used_at), Some(1005));
    }
}
