//! Rows of live credentials (refresh tokens, SSO sessions) kept in memory so that clients which
//! refresh often cost no database read. An entry is trusted for a few seconds, and only while the
//! caller's cache epoch is the one it was read in: every revocation, sign-out, user change or
//! realm change that this instance makes or hears of from another instance moves the epoch, so
//! ending a credential takes effect at once everywhere.
//!
//! Two rules make that safe, and callers must keep them: read the epoch *before* reading the
//! row from the database (a row read before a revocation committed is then stored under an
//! epoch that has already moved on, and never trusted), and answer "no" only from a fresh read
//! (an entry is evidence that a credential lives, never that it is dead).

use std::collections::HashMap;
use std::sync::RwLock;

/// A row, when it was read, and the epoch it was read in.
struct Entry<V> {
    value: V,
    fetched_at: i64,
    epoch: u64,
}

/// Rows by key, each trusted for `ttl_secs` within its epoch.
pub struct EpochCache<V> {
    entries: RwLock<HashMap<String, Entry<V>>>,
    ttl_secs: i64,
    capacity: usize,
}

impl<V: Clone> EpochCache<V> {
    /// At most `capacity` rows (the cache is emptied when it fills: rare, and cheap), each
    /// reused for `ttl_secs`.
    pub fn new(capacity: usize, ttl_secs: i64) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl_secs,
            capacity,
        }
    }

    /// The row under `key`, if read less than the TTL ago in `epoch`.
    pub fn get(&self, key: &str, now: i64, epoch: u64) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        (now - entry.fetched_at < self.ttl_secs && entry.epoch == epoch)
            .then(|| entry.value.clone())
    }

    /// Remembers a row read from the database at `now`; `epoch` is the one read before it.
    pub fn put(&self, key: &str, value: V, now: i64, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(
            key.to_owned(),
            Entry {
                value,
                fetched_at: now,
                epoch,
            },
        );
    }

    /// Applies a write this instance made to the row (a touch, a longer expiry), keeping its
    /// age and epoch.
    pub fn update(&self, key: &str, change: impl FnOnce(&mut V)) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.get_mut(key) {
            change(&mut entry.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_expire_after_the_ttl_or_an_epoch_change_and_updates_are_kept() {
        let cache = EpochCache::new(10, 10);
        cache.put("h", 1, 1000, 7);
        assert_eq!(cache.get("h", 1009, 7), Some(1));
        assert_eq!(cache.get("h", 1010, 7), None, "the TTL has passed");
        assert_eq!(cache.get("h", 1000, 8), None, "a new epoch drops it");
        assert_eq!(cache.get("other", 1000, 7), None);
        cache.update("h", |v| *v = 2);
        assert_eq!(cache.get("h", 1005, 7), Some(2));
    }

    #[test]
    fn a_full_cache_starts_again() {
        let cache = EpochCache::new(2, 10);
        cache.put("a", 1, 0, 0);
        cache.put("b", 2, 0, 0);
        cache.put("c", 3, 0, 0);
        assert_eq!(cache.get("a", 0, 0), None);
        assert_eq!(cache.get("c", 0, 0), Some(3));
    }
}
