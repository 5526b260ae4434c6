//! Login rate limiting per client address: brute-force detection protects one account; this
//! stops one address from guessing across many accounts. Each address has a bucket of failed
//! logins that refills slowly; while it is empty, password checks from there are refused without
//! spending a hash on them. Successful logins cost nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed logins an address may have in a burst.
const BURST: f64 = 20.0;
/// Failed logins per second an address may sustain.
const REFILL_PER_SEC: f64 = 1.0;
/// Addresses tracked at most; full buckets are dropped first when there are more.
const MAX_ADDRESSES: usize = 100_000;

#[derive(Default)]
pub(crate) struct LoginRateLimiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

impl Bucket {
    fn refilled(self, now_ms: i64) -> Bucket {
        let elapsed = (now_ms - self.updated_ms).max(0) as f64 / 1000.0;
        Bucket {
            tokens: (self.tokens + elapsed * REFILL_PER_SEC).min(BURST),
            updated_ms: now_ms,
        }
    }
}

impl LoginRateLimiter {
    /// Whether `ip` may try a password now.
    pub(crate) fn allows(&self, ip: IpAddr, now_ms: i64) -> bool {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .get(&ip)
            .is_none_or(|b| b.refilled(now_ms).tokens >= 1.0)
    }

    /// Spends one token of `ip` for a failed login.
    pub(crate) fn record_failure(&self, ip: IpAddr, now_ms: i64) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_ADDRESSES {
            buckets.retain(|_, b| b.refilled(now_ms).tokens < BURST);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: BURST,
            updated_ms: now_ms,
        });
        let mut refilled = bucket.refilled(now_ms);
        refilled.tokens = (refilled.tokens - 1.0).max(0.0);
        *bucket = refilled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_failures_then_one_per_second() {
        let limiter = LoginRateLimiter::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..20 {
            assert!(limiter.allows(ip, 0));
            limiter.record_failure(ip, 0);
        }
        assert!(!limiter.allows(ip, 0), "the burst is spent");
        assert!(limiter.allows(other, 0), "other addresses are unaffected");
        assert!(!limiter.allows(ip, 999));
        assert!(limiter.allows(ip, 1000), "one more after a second");
        limiter.record_failure(ip, 1000);
        assert!(!limiter.allows(ip, 1500));
        assert!(limiter.allows(ip, 60_000), "refilled after a pause");
    }
}
