//! A short-lived cache of successful password verifications.
//!
//! Registry clients send Basic credentials on every token request, and a full argon2 costs
//! about 11 ms of CPU. This cache remembers recent successes for a few seconds so a `docker
//! pull` of many layers costs one hash, not one per request. It never stores a password: the
//! key is an HMAC under a random per-process key, so a memory dump does not even allow an
//! offline guessing attack without that key. Callers must drop entries when a user's password,
//! state or roles change ([`VerifiedCache::forget_user`], [`VerifiedCache::forget_realm`]), and
//! note the cache's [`Generation`] before they read what they verify: a verification that read
//! the database before a change was forgotten is not kept after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};

use aws_lc_rs::hmac;

/// How many forgets the cache has seen; see [`VerifiedCache::generation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// The keyed hash of (realm, username, password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

struct Entry<V> {
    realm: String,
    user_id: String,
    value: V,
    expires_at: i64,
    /// Insertion order, to find the oldest entry.
    seq: u64,
}

struct Inner<V> {
    entries: HashMap<CacheKey, Entry<V>>,
    /// seq -> key, oldest first.
    order: BTreeMap<u64, CacheKey>,
    next_seq: u64,
    /// Bumped by every forget.
    generation: u64,
}

/// Bounded, time-limited map from credentials to what their verification produced.
pub struct VerifiedCache<V> {
    hmac_key: hmac::Key,
    capacity: usize,
    ttl_secs: i64,
    inner: RwLock<Inner<V>>,
}

impl<V> std::fmt::Debug for VerifiedCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("capacity", &self.capacity)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl<V: Clone> VerifiedCache<V> {
    /// At most `capacity` entries, each living `ttl_secs` (callers pass <= 60). A capacity or
    /// ttl of 0 makes a cache that remembers nothing.
    ///
    /// # Panics
    /// If the operating system's random number generator fails, which AWS-LC treats as fatal
    /// anyway.
    pub fn new(capacity: usize, ttl_secs: i64) -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let hmac_key = match hmac::Key::generate(hmac::HMAC_SHA256, &rng) {
            Ok(key) => key,
            Err(_) => panic!("the system random number generator failed"),
        };
        Self {
            hmac_key,
            capacity,
            ttl_secs: ttl_secs.max(0),
            inner: RwLock::new(Inner {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                next_seq: 0,
                generation: 0,
            }),
        }
    }

    /// HMAC-SHA256 of realm, username and password, each length-prefixed so fields cannot run
    /// together (`("ab", "c")` and `("a", "bc")` differ).
    pub fn key(&self, realm: &str, username: &str, password: &str) -> CacheKey {
        let mut ctx = hmac::Context::with_key(&self.hmac_key);
        for field in [realm, username, password] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field.as_bytes());
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ctx.sign().as_ref());
        CacheKey(key)
    }

    /// The cached value, unless absent or expired (an entry inserted at `t` is live while
    /// `now_unix < t + ttl_secs`).
    pub fn get(&self, key: &CacheKey, now_unix: i64) -> Option<V> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .entries
            .get(key)
            .filter(|entry| now_unix < entry.expires_at)
            .map(|entry| entry.value.clone())
    }

    /// Note this before reading the user, the credential or anything else the verification
    /// depends on, and pass it to [`VerifiedCache::insert`].
    pub fn generation(&self) -> Generation {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        Generation(inner.generation)
    }

    /// Remembers a successful verification of `user_id` in `realm`, read from the database
    /// after `read_at` was noted; nothing is kept if anything was forgotten since (a password
    /// changed or a credential revoked while the verification ran). Expired entries go first,
    /// so a login storm does not keep `capacity` dead entries alive; when still full, the oldest.
    pub fn insert(
        &self,
        key: CacheKey,
        realm: &str,
        user_id: &str,
        value: V,
        now_unix: i64,
        read_at: Generation,
    ) {
        if self.capacity == 0 || self.ttl_secs == 0 {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.generation != read_at.0 {
            return;
        }
        inner.remove(&key);
        inner.make_room(self.capacity, now_unix);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.insert(seq, key);
        inner.entries.insert(
            key,
            Entry {
                realm: realm.to_owned(),
                user_id: user_id.to_owned(),
                value,
                expires_at: now_unix.saturating_add(self.ttl_secs),
                seq,
            },
        );
    }

    /// Drop every entry of this user (password changed, user disabled or deleted).
    pub fn forget_user(&self, realm: &str, user_id: &str) {
        self.retain(|entry| !(entry.realm == realm && entry.user_id == user_id));
    }

    /// Drop every entry of a realm (roles, groups or the realm changed).
    pub fn forget_realm(&self, realm: &str) {
        self.retain(|entry| entry.realm != realm);
    }

    /// Drop everything (another instance's changes may have been missed).
    pub fn forget_all(&self) {
        self.retain(|_| false);
    }

    /// Entries held, expired ones included until they are evicted.
    pub fn len(&self) -> usize {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn retain(&self, keep: impl Fn(&Entry<V>) -> bool) {
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.generation += 1;
        let Inner { entries, order, .. } = &mut *inner;
        entries.retain(|_, entry| {
            let kept = keep(entry);
            if !kept {
                order.remove(&entry.seq);
            }
            kept
        });
    }
}

impl<V> Inner<V> {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(old) = self.entries.remove(key) {
            self.order.remove(&old.seq);
        }
    }

    /// Drops every expired entry, then, if the cache is still full, the oldest. Every entry
    /// lives the same time, so insertion order is expiry order: the walk stops at the first
    /// live entry, and each entry is visited once in its life.
    fn make_room(&mut self, capacity: usize, now_unix: i64) {
        while let Some((&seq, key)) = self.order.first_key_value() {
            let key = *key;
            if self
                .entries
                .get(&key)
                .is_some_and(|entry| now_unix < entry.expires_at)
            {
                break;
            }
            self.order.remove(&seq);
            self.entries.remove(&key);
        }
        while self.entries.len() >= capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    #[test]
    fn hit_and_miss() {
        let cache = VerifiedCache::new(10, 30);
        let key = cache.key("r", "alice", "pw");
        assert_eq!(cache.get(&key, T0), None);
        cache.insert(key, "r", "u1", "resolved-alice", T0, cache.generation());
        assert_eq!(cache.get(&key, T0), Some("resolved-alice"));
        assert_eq!(cache.get(&cache.key("r", "alice", "pw2"), T0), None);
        assert_eq!(cache.get(&cache.key("r2", "alice", "pw"), T0), None);
        assert_eq!(cache.get(&cache.key("r", "bob", "pw"), T0), None);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn expiry_at_the_ttl_boundary() {
        let cache = VerifiedCache::new(10, 30);
        let key = cache.key("r", "alice", "pw");
        cache.insert(key, "r", "u1", 1, T0, cache.generation());
        let rows = [
            (T0 - 1, true),
            (T0, true),
            (T0 + 29, true),
            (T0 + 30, false),
            (T0 + 31, false),
        ];
        for (now, hit) in rows {
            assert_eq!(cache.get(&key, now).is_some(), hit, "at {}", now - T0);
        }
        // Re-inserting refreshes the entry.
        cache.insert(key, "r", "u1", 2, T0 + 40, cache.generation());
        assert_eq!(cache.get(&key, T0 + 69), Some(2));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn keys_separate_fields_and_passwords() {
        let cache: VerifiedCache<()> = VerifiedCache::new(10, 30);
        let base = cache.key("r", "alice", "pw");
        assert_eq!(base, cache.key("r", "alice", "pw"));
        let others = [
            cache.key("r", "alice", "pW"),
            cache.key("r", "alice", ""),
            cache.key("r", "alicep", "w"),
            cache.key("ra", "lice", "pw"),
            cache.key("", "ralice", "pw"),
            cache.key("r", "Alice", "pw"),
        ];
        for (i, other) in others.iter().enumerate() {
            assert_ne!(&base, other, "row {i}");
        }
        let other_process: VerifiedCache<()> = VerifiedCache::new(10, 30);
        assert_ne!(
            base,
            other_process.key("r", "alice", "pw"),
            "per-process key"
        );
    }

    #[test]
    fn capacity_evicts_expired_then_oldest() {
        let cache = VerifiedCache::new(3, 10);
        let k = |i: u32| cache.key("r", &format!("user{i}"), "pw");
        cache.insert(k(1), "r", "u1", 1, T0, cache.generation());
        cache.insert(k(2), "r", "u2", 2, T0 + 5, cache.generation());
        cache.insert(k(3), "r", "u3", 3, T0 + 6, cache.generation());
        assert_eq!(cache.len(), 3);

        // Full and nothing expired: the oldest (1) goes.
        cache.insert(k(4), "r", "u4", 4, T0 + 7, cache.generation());
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&k(1), T0 + 7), None);
        for i in [2, 3, 4] {
            assert_eq!(cache.get(&k(i), T0 + 7), Some(i), "{i}");
        }

        // Full, 2 and 3 expired at T0+16: both go, 4 stays although it is the oldest left.
        cache.insert(k(5), "r", "u5", 5, T0 + 16, cache.generation());
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&k(4), T0 + 16), Some(4));
        assert_eq!(cache.get(&k(5), T0 + 16), Some(5));

        // Re-inserting an existing key never evicts another.
        cache.insert(k(6), "r", "u6", 6, T0 + 16, cache.generation());
        cache.insert(k(4), "r", "u4", 40, T0 + 16, cache.generation());
        assert_eq!(cache.len(), 3);
        for (i, v) in [(4, 40), (5, 5), (6, 6)] {
            assert_eq!(cache.get(&k(i), T0 + 16), Some(v), "{i}");
        }
        // 4 was refreshed, so 5 is now the oldest.
        cache.insert(k(7), "r", "u7", 7, T0 + 17, cache.generation());
        assert_eq!(cache.get(&k(5), T0 + 17), None);
        assert_eq!(cache.get(&k(4), T0 + 17), Some(40));
    }

    #[test]
    fn expired_entries_go_before_the_cache_is_full() {
        // A storm of distinct logins must not keep `capacity` dead entries in memory.
        let cache = VerifiedCache::new(1000, 10);
        let k = |i: u32| cache.key("r", &format!("user{i}"), "pw");
        for i in 0..100 {
            cache.insert(
                k(i),
                "r",
                "u",
                i,
                T0 + i64::from(i) / 10,
                cache.generation(),
            );
        }
        assert_eq!(cache.len(), 100);
        // At T0+15 the entries inserted up to T0+5 (i < 60) are dead and gone.
        cache.insert(k(1000), "r", "u", 1000, T0 + 15, cache.generation());
        assert_eq!(cache.len(), 41);
        assert_eq!(cache.get(&k(60), T0 + 15), Some(60));
        // A refreshed key lives from its new insertion.
        cache.insert(k(60), "r", "u", 60, T0 + 15, cache.generation());
        cache.insert(k(1001), "r", "u", 1001, T0 + 24, cache.generation());
        assert_eq!(cache.get(&k(60), T0 + 24), Some(60));
        assert_eq!(cache.get(&k(59), T0 + 24), None);
        assert_eq!(cache.len(), 3, "60, 1000 and 1001");
    }

    #[test]
    fn forget_user_and_realm() {
        let cache = VerifiedCache::new(10, 30);
        let rows = [
            ("r1", "alice", "pw1", "u1"),
            ("r1", "alice", "pw2", "u1"),
            ("r1", "bob", "pw", "u2"),
            ("r2", "alice", "pw1", "u1"),
            ("r2", "carol", "pw", "u3"),
        ];
        for (realm, user, pw, id) in rows {
            cache.insert(
                cache.key(realm, user, pw),
                realm,
                id,
                id,
                T0,
                cache.generation(),
            );
        }
        assert_eq!(cache.len(), 5);
        let live = |realm, user, pw| cache.get(&cache.key(realm, user, pw), T0).is_some();

        cache.forget_user("r1", "u1");
        assert_eq!(cache.len(), 3);
        assert!(!live("r1", "alice", "pw1"));
        assert!(!live("r1", "alice", "pw2"));
        assert!(live("r1", "bob", "pw"));
        assert!(
            live("r2", "alice", "pw1"),
            "same user id in another realm stays"
        );

        cache.forget_realm("r2");
        assert_eq!(cache.len(), 1);
        assert!(live("r1", "bob", "pw"));
        assert!(!live("r2", "carol", "pw"));

        // Eviction order stays consistent after forgetting.
        let small = VerifiedCache::new(2, 30);
        small.insert(
            small.key("r", "a", "p"),
            "r",
            "a",
            1,
            T0,
            small.generation(),
        );
        small.insert(
            small.key("r", "b", "p"),
            "r",
            "b",
            2,
            T0,
            small.generation(),
        );
        small.forget_user("r", "a");
        small.insert(
            small.key("r", "c", "p"),
            "r",
            "c",
            3,
            T0,
            small.generation(),
        );
        assert_eq!(small.len(), 2);
        assert_eq!(small.get(&small.key("r", "b", "p"), T0), Some(2));
    }

    #[test]
    fn a_verification_read_before_a_forget_is_not_kept() {
        let cache = VerifiedCache::new(10, 30);
        let key = cache.key("r", "alice", "old");
        // The verification notes the generation and reads the old password's hash...
        let read_at = cache.generation();
        // ...while the password is changed, and the user forgotten.
        cache.forget_user("r", "u1");
        cache.insert(key, "r", "u1", 1, T0, read_at);
        assert_eq!(cache.get(&key, T0), None);
        // Any forget counts, of this user or not: the cache cannot tell what a read depended on.
        let read_at = cache.generation();
        cache.forget_realm("other");
        cache.insert(key, "r", "u1", 1, T0, read_at);
        assert_eq!(cache.get(&key, T0), None);
        let read_at = cache.generation();
        cache.forget_all();
        cache.insert(key, "r", "u1", 1, T0, read_at);
        assert_eq!(cache.get(&key, T0), None);
        // Read after the change: kept.
        cache.insert(key, "r", "u1", 1, T0, cache.generation());
        assert_eq!(cache.get(&key, T0), Some(1));
    }

    #[test]
    fn zero_capacity_or_ttl_caches_nothing() {
        for (capacity, ttl) in [(0, 30), (10, 0), (10, -5)] {
            let cache = VerifiedCache::new(capacity, ttl);
            let key = cache.key("r", "a", "p");
            cache.insert(key, "r", "a", 1, T0, cache.generation());
            assert_eq!(cache.get(&key, T0), None, "{capacity} {ttl}");
            assert!(cache.is_empty());
        }
    }

    #[test]
    fn shared_across_threads() {
        let cache = std::sync::Arc::new(VerifiedCache::new(1000, 30));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let cache = cache.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let key = cache.key("r", &format!("{t}-{i}"), "pw");
                        cache.insert(key, "r", "u", i, T0, cache.generation());
                        assert_eq!(cache.get(&key, T0), Some(i));
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(cache.len(), 400);
    }
}
