//! Recently used docker refresh tokens, so that a client refreshing on every operation costs no
//! database read: an [`EpochCache`] of their rows (see there for why that is safe).

use portcullis_core::epoch_cache::EpochCache;
use portcullis_store::DockerRefreshToken;

/// How long a stored record is reused before it is read again.
const TTL_SECS: i64 = 10;
/// Records kept at most.
const CAPACITY: usize = 50_000;
/// `last_used_at` is written at most this often per token: it is bookkeeping, not security.
pub(crate) const TOUCH_INTERVAL_SECS: i64 = 60;

/// Docker refresh-token rows by the token's hash.
pub(crate) type RefreshCache = EpochCache<DockerRefreshToken>;

pub(crate) fn new() -> RefreshCache {
    EpochCache::new(CAPACITY, TTL_SECS)
}
