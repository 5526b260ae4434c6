//! App passwords: personal, expiring, optionally narrowed secrets a user hands to `docker login`
//! or a CI job instead of their password.
//!
//! A secret is `pcp_` (a prefix secret scanners recognise) and 32 random bytes in base64url:
//! 256 bits, so the server keeps only its SHA-256 ([`crate::secrets::hash_secret`]) and finds a
//! presented secret by that hash. What the secret may do is the owner's *current* rights
//! narrowed by its [`Restriction`]; the protocol that issues the token applies both.

use std::collections::BTreeMap;

use crate::secrets::{hash_secret, random_token};

/// What every app password starts with.
pub const PREFIX: &str = "pcp_";
/// Random characters after the prefix: 32 bytes in base64url without padding.
const RANDOM_CHARS: usize = 43;
/// The realm attribute holding the longest lifetime an app password may be given, in seconds.
pub const MAX_LIFESPAN_ATTRIBUTE: &str = "appPasswordMaxLifespan";
/// The longest lifetime when the realm does not say: 90 days.
pub const DEFAULT_MAX_LIFESPAN_SECS: i64 = 90 * 24 * 3600;
/// The actions an app password may be limited to.
pub const ACTIONS: [&str; 4] = ["pull", "push", "delete", "*"];
/// Longest name, repository pattern; most patterns per app password.
pub const MAX_NAME_LEN: usize = 255;
pub const MAX_PATTERN_LEN: usize = 255;
pub const MAX_PATTERNS: usize = 32;

/// A new secret and the hash the server keeps of it.
pub fn new_secret() -> (String, String) {
    let secret = format!("{PREFIX}{}", random_token::<32>());
    let hash = hash_secret(&secret);
    (secret, hash)
}

/// Whether a presented secret has an app password's shape. Only such secrets are looked up as
/// app passwords; anything else is checked as a password.
pub fn looks_like_app_password(secret: &str) -> bool {
    secret.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == RANDOM_CHARS
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The longest lifetime the realm allows, from its attributes (positive seconds), else
/// [`DEFAULT_MAX_LIFESPAN_SECS`].
pub fn max_lifespan(realm_attributes: &BTreeMap<String, String>) -> i64 {
    realm_attributes
        .get(MAX_LIFESPAN_ATTRIBUTE)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(DEFAULT_MAX_LIFESPAN_SECS)
}

/// What an app password is limited to, beyond its owner's rights. Empty lists limit nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    /// The one registry (docker-v2 client id) it works for; any when `None`.
    pub service: Option<String>,
    /// Repository name patterns (the access rules' glob grammar, `${username}` allowed); when
    /// any are set, only repositories matching one of them, and no `registry` resources.
    pub repositories: Vec<String>,
    /// `pull`, `push` (implies pull), `delete`, `*`.
    pub actions: Vec<String>,
    /// Unix seconds; refused from then on.
    pub expires_at: i64,
}

/// Why a requested restriction cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRestriction {
    #[error("unknown action {0:?} (expected pull, push, delete or *)")]
    UnknownAction(String),
    #[error(
        "repository pattern {0:?} is empty, too long or has a placeholder other than ${{username}}"
    )]
    BadPattern(String),
    #[error("at most {MAX_PATTERNS} repository patterns")]
    TooManyPatterns,
}

/// Checks the actions and repository patterns of a restriction, trimmed and without empties.
pub fn validate(repositories: &[String], actions: &[String]) -> Result<(), InvalidRestriction> {
    if let Some(action) = actions.iter().find(|a| !ACTIONS.contains(&a.as_str())) {
        return Err(InvalidRestriction::UnknownAction(action.clone()));
    }
    if repositories.len() > MAX_PATTERNS {
        return Err(InvalidRestriction::TooManyPatterns);
    }
    let bad = |p: &String| {
        p.is_empty()
            || p.len() > MAX_PATTERN_LEN
            || p.replace("${username}", "").contains(['$', '{', '}'])
            || p.contains(char::is_whitespace)
    };
    if let Some(pattern) = repositories.iter().find(|p| bad(p)) {
        return Err(InvalidRestriction::BadPattern(pattern.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_prefix_and_256_bits_and_are_recognised() {
        let (secret, hash) = new_secret();
        assert!(secret.starts_with("pcp_"));
        assert_eq!(secret.len(), 4 + 43);
        assert_eq!(hash, hash_secret(&secret));
        assert!(looks_like_app_password(&secret));
        assert_ne!(new_secret().0, secret);
        for not in [
            "pcp_",
            "hunter2",
            "pcp_short",
            &format!("pcp_{}", "a".repeat(44)),
            &format!("pcp_{}!", "a".repeat(42)),
            &format!("PCP_{}", "a".repeat(43)),
        ] {
            assert!(!looks_like_app_password(not), "{not}");
        }
    }

    #[test]
    fn the_realm_maximum_defaults_to_ninety_days() {
        let mut attributes = BTreeMap::new();
        assert_eq!(max_lifespan(&attributes), 7_776_000);
        attributes.insert(MAX_LIFESPAN_ATTRIBUTE.into(), "3600".into());
        assert_eq!(max_lifespan(&attributes), 3600);
        for bad in ["0", "-5", "soon"] {
            attributes.insert(MAX_LIFESPAN_ATTRIBUTE.into(), bad.into());
            assert_eq!(
                max_lifespan(&attributes),
                DEFAULT_MAX_LIFESPAN_SECS,
                "{bad}"
            );
        }
    }

    #[test]
    fn restrictions_are_validated() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let rows: [(&[&str], &[&str], bool); 7] = [
            (&[], &[], true),
            (
                &["platform/**", "users/${username}/*"],
                &["push", "pull"],
                true,
            ),
            (&[], &["*", "delete"], true),
            (&[], &["write"], false),
            (&[""], &[], false),
            (&["a/${user}"], &[], false),
            (&["a b"], &[], false),
        ];
        for (repos, actions, ok) in rows {
            assert_eq!(
                validate(&s(repos), &s(actions)).is_ok(),
                ok,
                "{repos:?} {actions:?}"
            );
        }
        let many = vec!["a".to_string(); MAX_PATTERNS + 1];
        assert_eq!(
            validate(&many, &[]),
            Err(InvalidRestriction::TooManyPatterns)
        );
    }
}
