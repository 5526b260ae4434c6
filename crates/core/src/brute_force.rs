//! Keycloak's brute-force detection, as pure functions of the realm policy, the user's failure
//! record and the time. The store counts each failure atomically (concurrent failures all
//! count) and hands back the new count with the time of the failure before it; [`lock_after`]
//! then says how long the user is locked:
//!
//! - every `max_failures` failures lock for `wait_increment` more (capped at `max_wait`), or
//!   for good with permanent lockout;
//! - otherwise two failures closer than `quick_login_check` milliseconds lock for
//!   `minimum_quick_login_wait`;
//! - failures older than `max_delta_time` are forgotten (not with permanent lockout).
//!
//! Failures while locked are not counted: a locked user's attempts are refused before any
//! password is checked.

use crate::model::BruteForcePolicy;

/// A user's failed logins, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureRecord {
    pub failures: i64,
    /// Unix milliseconds of the last counted failure.
    pub last_failure_ms: i64,
    /// Unix seconds; `i64::MAX` for a permanent lockout.
    pub locked_until: Option<i64>,
}

impl FailureRecord {
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// One failure, as counted by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedFailure {
    /// Failures counted so far, this one included (1 after a reset).
    pub failures: i64,
    /// Unix milliseconds of the failure counted before this one, if any.
    pub previous_failure_ms: Option<i64>,
    /// Unix milliseconds of this failure.
    pub now_ms: i64,
}

/// Milliseconds after which earlier failures are forgotten; `None` never (permanent lockout
/// counts every failure, as in Keycloak).
pub fn forget_after_ms(policy: &BruteForcePolicy) -> Option<i64> {
    (!policy.permanent_lockout).then(|| policy.max_delta_time_secs.max(0).saturating_mul(1000))
}

/// Until when (unix seconds) the user is locked after `failure`; `None` for no lock.
pub fn lock_after(policy: &BruteForcePolicy, failure: CountedFailure) -> Option<i64> {
    let now = failure.now_ms.div_euclid(1000);
    if policy.max_failures > 0 && failure.failures >= policy.max_failures {
        if policy.permanent_lockout {
            return Some(i64::MAX);
        }
        let steps = failure.failures / policy.max_failures;
        let wait = policy
            .wait_increment_secs
            .saturating_mul(steps)
            .min(policy.max_wait_secs);
        if wait > 0 {
            return Some(now.saturating_add(wait));
        }
    }
    let quick = failure
        .previous_failure_ms
        .is_some_and(|previous| failure.now_ms - previous < policy.quick_login_check_millis);
    (quick && policy.minimum_quick_login_wait_secs > 0)
        .then(|| now.saturating_add(policy.minimum_quick_login_wait_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> BruteForcePolicy {
        BruteForcePolicy {
            enabled: true,
            max_failures: 3,
            wait_increment_secs: 60,
            max_wait_secs: 150,
            quick_login_check_millis: 1000,
            minimum_quick_login_wait_secs: 30,
            max_delta_time_secs: 600,
            ..BruteForcePolicy::default()
        }
    }

    fn failure(failures: i64, previous_ms: Option<i64>, now_ms: i64) -> CountedFailure {
        CountedFailure {
            failures,
            previous_failure_ms: previous_ms,
            now_ms,
        }
    }

    #[test]
    fn lockouts_follow_keycloaks_rules() {
        let p = policy();
        let rows: &[(&str, CountedFailure, Option<i64>)] = &[
            (
                "a first failure locks nothing",
                failure(1, None, 100_000),
                None,
            ),
            (
                "a slow second failure locks nothing",
                failure(2, Some(90_000), 100_000),
                None,
            ),
            (
                "two failures 999 ms apart lock briefly",
                failure(2, Some(99_001), 100_000),
                Some(130),
            ),
            (
                "two failures 1000 ms apart do not",
                failure(2, Some(99_000), 100_000),
                None,
            ),
            (
                "the third failure locks a step",
                failure(3, Some(90_000), 100_000),
                Some(160),
            ),
            (
                "a step lock wins over a quick one",
                failure(3, Some(99_900), 100_000),
                Some(160),
            ),
            (
                "six failures lock two steps",
                failure(6, Some(90_000), 100_000),
                Some(220),
            ),
            (
                "the wait is capped",
                failure(9, Some(90_000), 100_000),
                Some(250),
            ),
        ];
        for (name, counted, locked) in rows {
            assert_eq!(lock_after(&p, *counted), *locked, "{name}");
        }
    }

    #[test]
    fn permanent_lockout_never_ends_nor_forgets() {
        let p = BruteForcePolicy {
            permanent_lockout: true,
            ..policy()
        };
        assert_eq!(lock_after(&p, failure(3, None, 0)), Some(i64::MAX));
        assert_eq!(lock_after(&p, failure(2, Some(0), 10_000)), None);
        assert_eq!(forget_after_ms(&p), None);
        assert_eq!(forget_after_ms(&policy()), Some(600_000));
    }

    #[test]
    fn locks_expire() {
        let record = FailureRecord {
            failures: 3,
            last_failure_ms: 120_000,
            locked_until: Some(180),
        };
        assert!(record.is_locked(179));
        assert!(!record.is_locked(180));
        assert!(!FailureRecord::default().is_locked(0));
    }
}
