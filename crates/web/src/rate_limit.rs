//! Login rate limiting: brute-force detection protects one account in the database; this stops
//! one client address from guessing across a realm's accounts, and many addresses from
//! guessing one account, without touching the database.
//!
//! Each (realm, address) and each (realm, username) has a bucket of failed logins that refills
//! slowly. A password check reserves one token from both buckets *before* it hashes, so a
//! hundred concurrent guesses get at most the burst through; a success gives its tokens back
//! (successful logins cost nothing), a failure keeps them spent. Buckets belong to one realm:
//! failures in one realm never lock anybody out of another.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// Failed logins a bucket allows in a burst.
const BURST: f64 = 20.0;
/// Failed logins per second a bucket sustains.
const REFILL_PER_SEC: f64 = 1.0;
/// Buckets kept at most; full buckets (nothing to remember) go first when there are more.
const MAX_BUCKETS: usize = 100_000;
/// A refused address or username is logged at most this often.
const WARN_EVERY_MS: i64 = 60_000;

/// Whose failures a bucket counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Address { realm: String, ip: IpAddr },
    Username { realm: String, username: String },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
    /// When a refusal of this bucket was last logged.
    warned_ms: Option<i64>,
}

impl Bucket {
    fn full(now_ms: i64) -> Bucket {
        Bucket {
            tokens: BURST,
            updated_ms: now_ms,
            warned_ms: None,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        let elapsed = (now_ms - self.updated_ms).max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * REFILL_PER_SEC).min(BURST);
        self.updated_ms = now_ms;
    }

    /// Seconds until one token is back.
    fn retry_after_secs(&self) -> u64 {
        ((1.0 - self.tokens).max(0.0) / REFILL_PER_SEC)
            .ceil()
            .max(1.0) as u64
    }
}

/// A refused password check: wait this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    pub secs: u64,
    /// Whether this refusal should be logged (once a minute per bucket).
    pub(crate) log: bool,
}

#[derive(Default)]
pub(crate) struct LoginRateLimiter {
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// Tokens taken for one password check; [`Reservation::refund`] gives them back.
#[must_use]
pub(crate) struct Reservation<'a> {
    limiter: &'a LoginRateLimiter,
    keys: Vec<Key>,
}

impl Reservation<'_> {
    /// The check succeeded: its tokens go back to their buckets.
    pub(crate) fn refund(self) {
        let mut buckets = self.limiter.lock();
        for key in &self.keys {
            if let Some(bucket) = buckets.get_mut(key) {
                bucket.tokens = (bucket.tokens + 1.0).min(BURST);
            }
        }
    }
}

impl LoginRateLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Bucket>> {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one token from each bucket of `keys`, or none when any of them is empty.
    pub(crate) fn reserve(
        &self,
        keys: Vec<Key>,
        now_ms: i64,
    ) -> Result<Reservation<'_>, RetryAfter> {
        let mut buckets = self.lock();
        if buckets.len() + keys.len() > MAX_BUCKETS {
            buckets.retain(|_, b| {
                b.refill(now_ms);
                b.tokens < BURST
            });
        }
        let mut refused: Option<RetryAfter> = None;
        for key in &keys {
            let Some(bucket) = buckets.get_mut(key) else {
                continue;
            };
            bucket.refill(now_ms);
            if bucket.tokens < 1.0 {
                let log = bucket
                    .warned_ms
                    .is_none_or(|at| now_ms - at >= WARN_EVERY_MS);
                if log {
                    bucket.warned_ms = Some(now_ms);
                }
                let secs = bucket.retry_after_secs();
                refused = Some(match refused {
                    Some(r) => RetryAfter {
                        secs: r.secs.max(secs),
                        log: r.log || log,
                    },
                    None => RetryAfter { secs, log },
                });
            }
        }
        if let Some(refused) = refused {
            return Err(refused);
        }
        for key in &keys {
            let bucket = buckets
                .entry(key.clone())
                .or_insert_with(|| Bucket::full(now_ms));
            bucket.tokens -= 1.0;
        }
        Ok(Reservation {
            limiter: self,
            keys,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn address(realm: &str, ip: &str) -> Key {
        Key::Address {
            realm: realm.into(),
            ip: ip.parse().unwrap(),
        }
    }

    fn username(realm: &str, name: &str) -> Key {
        Key::Username {
            realm: realm.into(),
            username: name.into(),
        }
    }

    #[test]
    fn a_burst_of_failures_then_one_per_second() {
        let limiter = LoginRateLimiter::default();
        let keys = || vec![address("acme", "192.0.2.7")];
        for _ in 0..20 {
            let _spent = limiter.reserve(keys(), 0).unwrap();
        }
        let refused = limiter.reserve(keys(), 0).err().unwrap();
        assert_eq!(refused.secs, 1);
        assert!(refused.log, "the first refusal is logged");
        assert!(
            !limiter.reserve(keys(), 500).err().unwrap().log,
            "not again within a minute"
        );
        assert!(
            limiter
                .reserve(vec![address("acme", "192.0.2.8")], 0)
                .is_ok(),
            "other addresses"
        );
        assert!(
            limiter
                .reserve(vec![address("other", "192.0.2.7")], 0)
                .is_ok(),
            "other realms"
        );
        assert!(limiter.reserve(keys(), 999).is_err());
        let _spent = limiter.reserve(keys(), 1000).unwrap();
        assert!(limiter.reserve(keys(), 1500).is_err());
        assert!(
            limiter.reserve(keys(), 60_000).is_ok(),
            "refilled after a pause"
        );
    }

    #[test]
    fn successes_give_their_tokens_back() {
        let limiter = LoginRateLimiter::default();
        let keys = || vec![address("acme", "192.0.2.7"), username("acme", "alice")];
        for _ in 0..100 {
            limiter.reserve(keys(), 0).unwrap().refund();
        }
        assert!(limiter.reserve(keys(), 0).is_ok());
    }

    #[test]
    fn a_username_is_limited_across_addresses() {
        let limiter = LoginRateLimiter::default();
        for i in 0..20 {
            let keys = vec![
                address("acme", &format!("192.0.2.{i}")),
                username("acme", "alice"),
            ];
            let _spent = limiter.reserve(keys, 0).unwrap();
        }
        let keys = vec![address("acme", "198.51.100.1"), username("acme", "alice")];
        assert!(limiter.reserve(keys, 0).is_err());
        let keys = vec![address("acme", "198.51.100.1"), username("acme", "bob")];
        assert!(
            limiter.reserve(keys, 0).is_ok(),
            "other users are not affected"
        );
    }

    #[test]
    fn a_refusal_takes_no_token_from_the_other_bucket() {
        let limiter = LoginRateLimiter::default();
        for _ in 0..20 {
            let _spent = limiter.reserve(vec![username("acme", "alice")], 0).unwrap();
        }
        let both = vec![address("acme", "192.0.2.1"), username("acme", "alice")];
        assert!(limiter.reserve(both, 0).is_err());
        for _ in 0..20 {
            let _spent = limiter
                .reserve(vec![address("acme", "192.0.2.1")], 0)
                .unwrap();
        }
    }
}
