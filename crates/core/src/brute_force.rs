//! Keycloak's brute-force detection, as a pure function of the realm policy, the user's failure
//! record and the time: failures within `max_delta_time` accumulate; every `max_failures` of them
//! lock the user for `wait_increment` more (capped at `max_wait`), or for good with permanent
//! lockout; two failures closer than `quick_login_check` lock for `minimum_quick_login_wait`.

use crate::model::BruteForcePolicy;

/// A user's failed logins, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureRecord {
    pub failures: i64,
    pub last_failure_at: i64,
    /// Unix seconds; `i64::MAX` for a permanent lockout.
    pub locked_until: Option<i64>,
}

impl FailureRecord {
    pub fn is_locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// The record after one more failure at `now`.
pub fn record_failure(
    policy: &BruteForcePolicy,
    previous: Option<FailureRecord>,
    now: i64,
) -> FailureRecord {
    let previous = previous
        .filter(|p| now - p.last_failure_at <= policy.max_delta_time_secs)
        .unwrap_or_default();
    let failures = previous.failures + 1;
    let quick = previous.failures > 0
        && (now - previous.last_failure_at) * 1000 < policy.quick_login_check_millis;
    let mut locked_until = previous.locked_until.filter(|until| now < *until);
    if quick {
        locked_until = later(locked_until, now + policy.minimum_quick_login_wait_secs);
    }
    if policy.max_failures > 0 && failures >= policy.max_failures {
        let until = if policy.permanent_lockout {
            i64::MAX
        } else {
            let steps = failures / policy.max_failures;
            now + (policy.wait_increment_secs * steps).min(policy.max_wait_secs)
        };
        locked_until = later(locked_until, until);
    }
    FailureRecord {
        failures,
        last_failure_at: now,
        locked_until,
    }
}

fn later(current: Option<i64>, candidate: i64) -> Option<i64> {
    Some(current.map_or(candidate, |c| c.max(candidate)))
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

    /// Failures at the given times; the lock after the last one.
    fn after(times: &[i64], policy: &BruteForcePolicy) -> FailureRecord {
        times
            .iter()
            .fold(None, |prev, &t| Some(record_failure(policy, prev, t)))
            .unwrap_or_default()
    }

    #[test]
    fn lockouts_follow_keycloaks_rules() {
        let p = policy();
        let rows: &[(&str, &[i64], i64, Option<i64>)] = &[
            ("one failure locks nothing", &[100], 1, None),
            ("two slow failures lock nothing", &[100, 110], 2, None),
            ("two quick failures lock briefly", &[100, 100], 2, Some(130)),
            (
                "the third failure locks a step",
                &[100, 110, 120],
                3,
                Some(180),
            ),
            (
                "six failures lock two steps",
                &[0, 10, 20, 30, 40, 50],
                6,
                Some(170),
            ),
            (
                "the wait is capped",
                &[0, 10, 20, 30, 40, 50, 60, 70, 80],
                9,
                Some(230),
            ),
            ("old failures are forgotten", &[0, 10, 1000], 1, None),
        ];
        for (name, times, failures, locked) in rows {
            let record = after(times, &p);
            assert_eq!(record.failures, *failures, "{name}");
            assert_eq!(record.locked_until, *locked, "{name}");
        }
    }

    #[test]
    fn permanent_lockout_never_ends() {
        let p = BruteForcePolicy {
            permanent_lockout: true,
            ..policy()
        };
        let record = after(&[0, 10, 20], &p);
        assert!(record.is_locked(i64::MAX - 1));
        assert!(!after(&[0, 10], &p).is_locked(11));
    }

    #[test]
    fn locks_expire() {
        let record = after(&[100, 110, 120], &policy());
        assert!(record.is_locked(179));
        assert!(!record.is_locked(180));
    }
}
