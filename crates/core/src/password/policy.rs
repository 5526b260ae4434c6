//! The validation clauses of Keycloak's `passwordPolicy` string, with Keycloak's semantics and
//! message keys (`server-spi-private/.../policy/*PasswordPolicyProvider.java`).
//!
//! Counting follows Java, where a `String` is UTF-16: lengths count UTF-16 code units, and the
//! character classes are tested one code unit at a time, so a character outside the Basic
//! Multilingual Plane (an emoji, 𝐀) counts as two characters and as two special characters.
//! Digits are Unicode's `Nd`, letters `L*` (Java's `isDigit` / `isLetter`), lower and upper case
//! the `Lowercase` / `Uppercase` properties (Java's `isLowerCase` / `isUpperCase`).
//!
//! Clauses are checked in the order Keycloak checks them, which is the iteration order of the
//! `HashMap` its `PasswordPolicy` keeps them in, so the first violation reported is Keycloak's.
//! `passwordHistory` needs the user's stored hashes and argon2 work: it is a separate check,
//! [`PasswordRules::check_history`], that callers run after [`PasswordRules::check`] on their
//! hashing pool.

use std::fmt;
use std::sync::Arc;

use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

use super::{HashScratch, StoredPassword};

/// Keycloak's message keys, as in its `PolicyError`s and `messages_en.properties`.
pub const INVALID_PASSWORD_MIN_LENGTH_MESSAGE: &str = "invalidPasswordMinLengthMessage";
pub const INVALID_PASSWORD_MAX_LENGTH_MESSAGE: &str = "invalidPasswordMaxLengthMessage";
pub const INVALID_PASSWORD_MIN_DIGITS_MESSAGE: &str = "invalidPasswordMinDigitsMessage";
pub const INVALID_PASSWORD_MIN_LOWER_CASE_CHARS_MESSAGE: &str =
    "invalidPasswordMinLowerCaseCharsMessage";
pub const INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE: &str =
    "invalidPasswordMinUpperCaseCharsMessage";
pub const INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE: &str =
    "invalidPasswordMinSpecialCharsMessage";
pub const INVALID_PASSWORD_NOT_USERNAME_MESSAGE: &str = "invalidPasswordNotUsernameMessage";
pub const INVALID_PASSWORD_NOT_CONTAINS_USERNAME_MESSAGE: &str =
    "invalidPasswordNotContainsUsernameMessage";
pub const INVALID_PASSWORD_NOT_EMAIL_MESSAGE: &str = "invalidPasswordNotEmailMessage";
pub const INVALID_PASSWORD_REGEX_PATTERN_MESSAGE: &str = "invalidPasswordRegexPatternMessage";
pub const INVALID_PASSWORD_HISTORY_MESSAGE: &str = "invalidPasswordHistoryMessage";

/// Each key's English text in Keycloak's `messages_en.properties`; `{0}` is the parameter.
const ENGLISH: &[(&str, &str)] = &[
    (
        INVALID_PASSWORD_MIN_LENGTH_MESSAGE,
        "Invalid password: minimum length {0}.",
    ),
    (
        INVALID_PASSWORD_MAX_LENGTH_MESSAGE,
        "Invalid password: maximum length {0}.",
    ),
    (
        INVALID_PASSWORD_MIN_DIGITS_MESSAGE,
        "Invalid password: must contain at least {0} numerical digits.",
    ),
    (
        INVALID_PASSWORD_MIN_LOWER_CASE_CHARS_MESSAGE,
        "Invalid password: must contain at least {0} lower case characters.",
    ),
    (
        INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE,
        "Invalid password: must contain at least {0} upper case characters.",
    ),
    (
        INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE,
        "Invalid password: must contain at least {0} special characters.",
    ),
    (
        INVALID_PASSWORD_NOT_USERNAME_MESSAGE,
        "Invalid password: must not be equal to the username.",
    ),
    (
        INVALID_PASSWORD_NOT_CONTAINS_USERNAME_MESSAGE,
        "Invalid password: Can not contain the username.",
    ),
    (
        INVALID_PASSWORD_NOT_EMAIL_MESSAGE,
        "Invalid password: must not be equal to the email.",
    ),
    (
        INVALID_PASSWORD_REGEX_PATTERN_MESSAGE,
        "Invalid password: fails to match regex pattern(s).",
    ),
    (
        INVALID_PASSWORD_HISTORY_MESSAGE,
        "Invalid password: must not be equal to any of last {0} passwords.",
    ),
];

// Keycloak's policy provider ids.
const LENGTH: &str = "length";
const MAX_LENGTH: &str = "maxLength";
const DIGITS: &str = "digits";
const LOWER_CASE: &str = "lowerCase";
const UPPER_CASE: &str = "upperCase";
const SPECIAL_CHARS: &str = "specialChars";
const NOT_USERNAME: &str = "notUsername";
const NOT_CONTAINS_USERNAME: &str = "notContainsUsername";
const NOT_EMAIL: &str = "notEmail";
const REGEX_PATTERN: &str = "regexPattern";
const PASSWORD_HISTORY: &str = "passwordHistory";
pub(super) const HASH_ITERATIONS: &str = "hashIterations";

/// Keycloak clauses that take a number and that this module does not enforce: hashing is the
/// caller's ([`super::PasswordPolicy`]), the rest are not implemented yet.
const OTHER_NUMBER_CLAUSES: &[&str] = &[
    HASH_ITERATIONS,
    "forceExpiredPasswordChange",
    "passwordAge",
    "maxAuthAge",
    "recoveryCodesWarningThreshold",
];
/// Keycloak clauses with a free-form (or no) argument that this module does not enforce.
const OTHER_TEXT_CLAUSES: &[&str] = &["hashAlgorithm", "passwordBlacklist"];

/// Keycloak's defaults when a clause has no argument (`length` = `length(8)`).
const DEFAULT_LENGTH: i32 = 8;
const DEFAULT_MAX_LENGTH: i32 = 64;
const DEFAULT_MIN_CHARS: i32 = 1;
const DEFAULT_HISTORY: i32 = 3;

/// Keycloak's "no history policy" value: `passwordHistory(-1)` checks nothing.
const HISTORY_OFF: i32 = -1;

/// A password that a policy clause rejects: Keycloak's message key, its parameters, and the
/// English message with the parameter filled in (`Display` shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyViolation {
    /// Keycloak's message key, e.g. `invalidPasswordMinLengthMessage`.
    pub key: &'static str,
    /// The key's parameters as Keycloak passes them (`["12"]`; the pattern for
    /// `regexPattern`; none for `notUsername` and `notEmail`).
    pub params: Vec<String>,
    /// Keycloak's English text with the parameters formatted as Java's `MessageFormat` does.
    pub message: String,
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyViolation {}

impl PolicyViolation {
    fn new(key: &'static str, params: Vec<String>, message_params: &[String]) -> Self {
        let template = ENGLISH
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(key, |(_, text)| *text);
        let mut message = template.to_owned();
        for (i, param) in message_params.iter().enumerate() {
            message = message.replace(&format!("{{{i}}}"), param);
        }
        Self {
            key,
            params,
            message,
        }
    }

    fn with_number(key: &'static str, n: i32) -> Self {
        Self::new(key, vec![n.to_string()], &[java_number(n)])
    }

    fn plain(key: &'static str) -> Self {
        Self::new(key, Vec::new(), &[])
    }
}

/// Who the password is for: the `notUsername`, `notContainsUsername` and `notEmail` clauses
/// compare against these. An empty username counts as none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicySubject<'a> {
    pub username: &'a str,
    pub email: Option<&'a str>,
}

/// A user's stored passwords, as the `passwordHistory` clause needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordHistory {
    /// The password the user has now, if any.
    pub current: Option<StoredPassword>,
    /// Replaced passwords kept as `password-history` credentials, newest first.
    pub previous: Vec<StoredPassword>,
}

/// Why a policy string is not one Keycloak would save. The texts are Keycloak's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyParseError {
    /// A clause name Keycloak has no provider for (names are case-sensitive).
    #[error("Password policy not found")]
    UnknownClause { name: String },
    /// A clause whose argument Keycloak's provider rejects.
    #[error("Invalid config for {name}: {reason}")]
    InvalidConfig { name: String, reason: &'static str },
}

/// One `name` or `name(config)` of a policy string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Clause<'a> {
    pub name: &'a str,
    /// The text between the parentheses, as written; `None` without parentheses.
    pub config: Option<&'a str>,
    /// An opening parenthesis without the closing one at the end.
    pub malformed: bool,
}

impl Clause<'_> {
    /// The argument as a Java `int`, blanks around it allowed.
    pub fn number(&self) -> Option<i32> {
        self.config.and_then(|c| c.trim().parse::<i32>().ok())
    }
}

/// Splits a policy string as Keycloak's `PasswordPolicy.Builder` does: on `" and "`, each clause
/// trimmed, `name(config)` or `name`. A repeated name keeps its first position and takes the
/// last config (Keycloak keeps them in a `LinkedHashMap`). Empty clauses are skipped.
pub(super) fn clauses(policy: &str) -> Vec<Clause<'_>> {
    let mut result: Vec<Clause<'_>> = Vec::new();
    for raw in policy.split(" and ") {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let clause = match raw.split_once('(') {
            Some((name, rest)) => match rest.strip_suffix(')') {
                Some(config) => Clause {
                    name: name.trim(),
                    config: Some(config),
                    malformed: false,
                },
                None => Clause {
                    name: name.trim(),
                    config: Some(rest),
                    malformed: true,
                },
            },
            None => Clause {
                name: raw,
                config: None,
                malformed: false,
            },
        };
        match result.iter_mut().find(|c| c.name == clause.name) {
            Some(existing) => *existing = clause,
            None => result.push(clause),
        }
    }
    result
}

/// The order in which Keycloak iterates clause names: a `java.util.HashMap` filled in the order
/// of `names` walks its buckets in index order, and each bucket in insertion order.
fn keycloak_order(names: &[&str]) -> Vec<usize> {
    // Default capacity 16, doubled whenever the size exceeds three quarters of it.
    let mut capacity = 16usize;
    while names.len() > capacity / 4 * 3 {
        capacity *= 2;
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| (java_hash(names[i]) as usize & (capacity - 1), i));
    order
}

/// `String.hashCode()` spread as `HashMap.hash` does.
fn java_hash(s: &str) -> u32 {
    let h = s.encode_utf16().fold(0u32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(u32::from(unit))
    });
    h ^ (h >> 16)
}

/// A compiled `regexPattern`: the whole password must match, as Java's `Matcher.matches()`.
#[derive(Clone)]
struct Pattern {
    source: String,
    /// `None` when the pattern does not compile: the clause then rejects every password.
    compiled: Option<Arc<fancy_regex::Regex>>,
}

impl Pattern {
    /// Keycloak's `parseConfig`: a missing or blank pattern and one that does not compile are
    /// configuration errors.
    fn compile(config: Option<&str>) -> Result<Pattern, (&'static str, String)> {
        let Some(source) = config else {
            return Err(("Config required", String::new()));
        };
        if source.trim().is_empty() {
            return Err(("White space not acepted", source.to_owned()));
        }
        // Compile the pattern alone first, so an unbalanced one cannot pair up with the anchors.
        let compiled = fancy_regex::Regex::new(source)
            .and_then(|_| fancy_regex::Regex::new(&format!(r"\A(?:{source})\z")));
        match compiled {
            Ok(regex) => Ok(Pattern {
                source: source.to_owned(),
                compiled: Some(Arc::new(regex)),
            }),
            Err(_) => Err(("Not a valid regular expression", source.to_owned())),
        }
    }

    /// True only for a definite whole match: a pattern that did not compile, or that gives up
    /// (its backtracking limit), rejects the password.
    fn matches(&self, password: &str) -> bool {
        self.compiled
            .as_ref()
            .is_some_and(|regex| regex.is_match(password).unwrap_or(false))
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern")
            .field("source", &self.source)
            .field("compiles", &self.compiled.is_some())
            .finish()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.compiled.is_some() == other.compiled.is_some()
    }
}

impl Eq for Pattern {}

/// One enforced clause.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    MinLength(i32),
    MaxLength(i32),
    Digits(i32),
    LowerCase(i32),
    UpperCase(i32),
    SpecialChars(i32),
    NotUsername,
    NotContainsUsername,
    NotEmail,
    Regex(Pattern),
}

/// The validation clauses of a realm's password policy.
///
/// Enforced: `length`, `maxLength`, `digits`, `lowerCase`, `upperCase`, `specialChars`,
/// `notUsername`, `notContainsUsername`, `notEmail`, `regexPattern` and `passwordHistory`.
/// Keycloak's other clauses (`hashAlgorithm`, `hashIterations`, `forceExpiredPasswordChange`,
/// `passwordBlacklist`, `passwordAge`, `maxAuthAge`, `recoveryCodesWarningThreshold`) are accepted
/// and not enforced here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PasswordRules {
    /// In Keycloak's order.
    checks: Vec<Check>,
    /// `passwordHistory(n)`.
    history: Option<i32>,
}

impl PasswordRules {
    /// Reads the validation clauses of `clauses`.
    ///
    /// Strict (`strict`): any clause Keycloak would refuse to save is an error. Lenient (for
    /// policies already stored, which must not stop a realm from loading): unknown clauses are
    /// ignored, a number that does not parse gives the clause its default (`length(x)` is
    /// `length(8)`), and a `regexPattern` that is missing, blank or does not compile rejects
    /// every password, so a broken policy never lets weaker passwords through.
    pub(super) fn from_clauses(
        clauses: &[Clause<'_>],
        strict: bool,
    ) -> Result<Self, PolicyParseError> {
        let names: Vec<&str> = clauses.iter().map(|c| c.name).collect();
        let mut rules = PasswordRules::default();
        for i in keycloak_order(&names) {
            let clause = &clauses[i];
            let number = |default: i32| -> Result<i32, PolicyParseError> {
                number_config(clause, default, strict)
            };
            let check = match clause.name {
                LENGTH => Check::MinLength(number(DEFAULT_LENGTH)?),
                MAX_LENGTH => Check::MaxLength(number(DEFAULT_MAX_LENGTH)?),
                DIGITS => Check::Digits(number(DEFAULT_MIN_CHARS)?),
                LOWER_CASE => Check::LowerCase(number(DEFAULT_MIN_CHARS)?),
                UPPER_CASE => Check::UpperCase(number(DEFAULT_MIN_CHARS)?),
                SPECIAL_CHARS => Check::SpecialChars(number(DEFAULT_MIN_CHARS)?),
                NOT_USERNAME => Check::NotUsername,
                NOT_CONTAINS_USERNAME => Check::NotContainsUsername,
                NOT_EMAIL => Check::NotEmail,
                REGEX_PATTERN => {
                    let config = if clause.malformed {
                        None
                    } else {
                        clause.config
                    };
                    match Pattern::compile(config) {
                        Ok(pattern) => Check::Regex(pattern),
                        Err((reason, _)) if strict => {
                            return Err(invalid_config(clause, reason));
                        }
                        Err((_, source)) => Check::Regex(Pattern {
                            source,
                            compiled: None,
                        }),
                    }
                }
                PASSWORD_HISTORY => {
                    rules.history = Some(number(DEFAULT_HISTORY)?);
                    continue;
                }
                name if OTHER_NUMBER_CLAUSES.contains(&name) => {
                    if strict {
                        number(0)?;
                    }
                    continue;
                }
                name if OTHER_TEXT_CLAUSES.contains(&name) => continue,
                name if strict => {
                    return Err(PolicyParseError::UnknownClause {
                        name: name.to_owned(),
                    });
                }
                _ => continue,
            };
            rules.checks.push(check);
        }
        Ok(rules)
    }

    /// True when no clause is enforced.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && !self.checks_history()
    }

    /// Checks every clause but `passwordHistory`, in Keycloak's order; the first violation.
    pub fn check(
        &self,
        password: &str,
        subject: &PolicySubject<'_>,
    ) -> Result<(), PolicyViolation> {
        if self.checks.is_empty() {
            return Ok(());
        }
        let counts = Counts::of(password);
        let username = Some(subject.username).filter(|u| !u.is_empty());
        for check in &self.checks {
            let violation = match check {
                Check::MinLength(min) => (counts.length < i64::from(*min)).then(|| {
                    PolicyViolation::with_number(INVALID_PASSWORD_MIN_LENGTH_MESSAGE, *min)
                }),
                Check::MaxLength(max) => (counts.length > i64::from(*max)).then(|| {
                    PolicyViolation::with_number(INVALID_PASSWORD_MAX_LENGTH_MESSAGE, *max)
                }),
                Check::Digits(min) => (counts.digits < i64::from(*min)).then(|| {
                    PolicyViolation::with_number(INVALID_PASSWORD_MIN_DIGITS_MESSAGE, *min)
                }),
                Check::LowerCase(min) => (counts.lower < i64::from(*min)).then(|| {
                    PolicyViolation::with_number(
                        INVALID_PASSWORD_MIN_LOWER_CASE_CHARS_MESSAGE,
                        *min,
                    )
                }),
                Check::UpperCase(min) => (counts.upper < i64::from(*min)).then(|| {
                    PolicyViolation::with_number(
                        INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE,
                        *min,
                    )
                }),
                Check::SpecialChars(min) => (counts.special < i64::from(*min)).then(|| {
                    PolicyViolation::with_number(INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE, *min)
                }),
                Check::NotUsername => username
                    .is_some_and(|u| java_equals_ignore_case(u, password))
                    .then(|| PolicyViolation::plain(INVALID_PASSWORD_NOT_USERNAME_MESSAGE)),
                Check::NotContainsUsername => username
                    .is_some_and(|u| password.to_lowercase().contains(&u.to_lowercase()))
                    .then(|| {
                        PolicyViolation::plain(INVALID_PASSWORD_NOT_CONTAINS_USERNAME_MESSAGE)
                    }),
                Check::NotEmail => subject
                    .email
                    .is_some_and(|e| java_equals_ignore_case(e, password))
                    .then(|| PolicyViolation::plain(INVALID_PASSWORD_NOT_EMAIL_MESSAGE)),
                Check::Regex(pattern) => (!pattern.matches(password)).then(|| {
                    PolicyViolation::new(
                        INVALID_PASSWORD_REGEX_PATTERN_MESSAGE,
                        vec![pattern.source.clone()],
                        &[],
                    )
                }),
            };
            if let Some(violation) = violation {
                return Err(violation);
            }
        }
        Ok(())
    }

    /// True when the policy has a `passwordHistory` clause that checks anything: the caller
    /// then loads the user's [`PasswordHistory`] and runs [`PasswordRules::check_history`].
    pub fn checks_history(&self) -> bool {
        self.history.is_some_and(|n| n != HISTORY_OFF)
    }

    /// How many replaced passwords to keep as `password-history` credentials: `n - 1` for
    /// `passwordHistory(n)` (the current password is the n-th), else 0 (keep none).
    pub fn history_depth(&self) -> usize {
        match self.history {
            Some(n) if n > 1 => usize::try_from(n - 1).unwrap_or(0),
            _ => 0,
        }
    }

    /// `passwordHistory(n)`: the new password must not be the current one, nor one of the
    /// `n - 1` newest replaced ones (Keycloak's `HistoryPasswordPolicyProvider`; `n <= 1` checks
    /// the current password only). Verifying is argon2 work: run this on the hashing pool.
    pub fn check_history(
        &self,
        password: &str,
        history: &PasswordHistory,
        scratch: &mut HashScratch,
    ) -> Result<(), PolicyViolation> {
        self.check_history_by(history, |stored| stored.verify_with(password, scratch))
    }

    /// [`PasswordRules::check_history`] with the caller's `verify`: true when the new password
    /// matches that stored hash.
    pub fn check_history_by(
        &self,
        history: &PasswordHistory,
        mut verify: impl FnMut(&StoredPassword) -> bool,
    ) -> Result<(), PolicyViolation> {
        let Some(n) = self.history.filter(|n| *n != HISTORY_OFF) else {
            return Ok(());
        };
        let recent = usize::try_from(n.saturating_sub(1)).unwrap_or(0);
        let reused = history.current.iter().any(&mut verify)
            || history.previous.iter().take(recent).any(&mut verify);
        if reused {
            return Err(PolicyViolation::with_number(
                INVALID_PASSWORD_HISTORY_MESSAGE,
                n,
            ));
        }
        Ok(())
    }
}

fn number_config(clause: &Clause<'_>, default: i32, strict: bool) -> Result<i32, PolicyParseError> {
    if clause.config.is_none() {
        return Ok(default);
    }
    match clause.number() {
        Some(n) if !clause.malformed => Ok(n),
        _ if strict => Err(invalid_config(clause, "Not a valid number")),
        _ => Ok(default),
    }
}

fn invalid_config(clause: &Clause<'_>, reason: &'static str) -> PolicyParseError {
    PolicyParseError::InvalidConfig {
        name: clause.name.to_owned(),
        reason,
    }
}

/// What the counting clauses count, per UTF-16 code unit as Java's `toCharArray()`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    length: i64,
    digits: i64,
    lower: i64,
    upper: i64,
    special: i64,
}

impl Counts {
    fn of(password: &str) -> Counts {
        let mut counts = Counts::default();
        for unit in password.encode_utf16() {
            counts.length += 1;
            // A surrogate half is neither letter nor digit nor cased: a special character.
            let Some(c) = char::from_u32(u32::from(unit)) else {
                counts.special += 1;
                continue;
            };
            let digit = c.general_category() == GeneralCategory::DecimalNumber;
            let letter = c.general_category_group() == GeneralCategoryGroup::Letter;
            counts.digits += i64::from(digit);
            counts.special += i64::from(!digit && !letter);
            counts.lower += i64::from(c.is_lowercase());
            counts.upper += i64::from(c.is_uppercase());
        }
        counts
    }
}

/// Java's `String.equalsIgnoreCase`: the same length, and each pair of characters equal, or equal
/// after upper-casing, or after upper- then lower-casing (one-character case mappings).
fn java_equals_ignore_case(a: &str, b: &str) -> bool {
    if a.encode_utf16().count() != b.encode_utf16().count() {
        return false;
    }
    let mut left = a.chars();
    let mut right = b.chars();
    loop {
        match (left.next(), right.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                let (ux, uy) = (simple_upper(x), simple_upper(y));
                if x != y && ux != uy && simple_lower(ux) != simple_lower(uy) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// The one-character upper-case mapping; a character whose mapping is longer stays itself.
fn simple_upper(c: char) -> char {
    single(c.to_uppercase()).unwrap_or(c)
}

fn simple_lower(c: char) -> char {
    single(c.to_lowercase()).unwrap_or(c)
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

/// An `int` as Java's `MessageFormat` shows it in English: grouped by thousands (`1,000`).
fn java_number(n: i32) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        grouped.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use super::super::PasswordPolicy;
    use super::*;

    fn rules(policy: &str) -> PasswordRules {
        PasswordRules::from_clauses(&clauses(policy), true).unwrap()
    }

    fn subject<'a>(username: &'a str, email: Option<&'a str>) -> PolicySubject<'a> {
        PolicySubject { username, email }
    }

    /// (policy, password, expected key or None, expected parameters).
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static [&'static str],
    );

    fn run(rows: &[Row], subject: &PolicySubject<'_>) {
        for (policy, password, key, params) in rows {
            let result = rules(policy).check(password, subject);
            match key {
                None => assert_eq!(result, Ok(()), "{policy} / {password:?}"),
                Some(key) => {
                    let violation = result.expect_err(&format!("{policy} / {password:?}"));
                    assert_eq!(violation.key, *key, "{policy} / {password:?}");
                    assert_eq!(violation.params, *params, "{policy} / {password:?}");
                }
            }
        }
    }

    #[test]
    fn length_and_max_length_count_utf16_units() {
        const MIN: Option<&str> = Some(INVALID_PASSWORD_MIN_LENGTH_MESSAGE);
        const MAX: Option<&str> = Some(INVALID_PASSWORD_MAX_LENGTH_MESSAGE);
        let rows: &[Row] = &[
            ("length", "1234567", MIN, &["8"]),
            ("length", "12345678", None, &[]),
            ("length(4)", "123", MIN, &["4"]),
            ("length(4)", "1234", None, &[]),
            ("length(0)", "", None, &[]),
            ("length(1)", "", MIN, &["1"]),
            ("length(-1)", "", None, &[]),
            // One UTF-16 unit each.
            ("length(4)", "äöüß", None, &[]),
            ("length(4)", "密码密", MIN, &["4"]),
            // An emoji is a surrogate pair: two units.
            ("length(4)", "😀😀", None, &[]),
            ("length(4)", "a😀", MIN, &["4"]),
            // e + combining acute accent: two units, as in Java.
            ("length(2)", "e\u{301}", None, &[]),
            ("maxLength(4)", "1234", None, &[]),
            ("maxLength(4)", "12345", MAX, &["4"]),
            ("maxLength(4)", "😀😀", None, &[]),
            ("maxLength(4)", "😀😀a", MAX, &["4"]),
            ("maxLength(0)", "", None, &[]),
        ];
        run(rows, &PolicySubject::default());
        // maxLength defaults to 64.
        let max = rules("maxLength");
        assert_eq!(
            max.check(&"x".repeat(64), &PolicySubject::default()),
            Ok(())
        );
        let violation = max
            .check(&"x".repeat(65), &PolicySubject::default())
            .unwrap_err();
        assert_eq!(
            (violation.key, violation.params),
            (MAX.unwrap(), vec!["64".to_owned()])
        );
    }

    #[test]
    fn character_classes_follow_java() {
        const DIGITS: Option<&str> = Some(INVALID_PASSWORD_MIN_DIGITS_MESSAGE);
        const LOWER: Option<&str> = Some(INVALID_PASSWORD_MIN_LOWER_CASE_CHARS_MESSAGE);
        const UPPER: Option<&str> = Some(INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE);
        const SPECIAL: Option<&str> = Some(INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE);
        let rows: &[Row] = &[
            ("digits", "abcd", DIGITS, &["1"]),
            ("digits", "abcd1", None, &[]),
            ("digits(2)", "abcd1", DIGITS, &["2"]),
            ("digits(2)", "abcd12", None, &[]),
            ("digits(0)", "", None, &[]),
            // Arabic-Indic and full-width digits are Nd: digits.
            ("digits(3)", "١٢٣", None, &[]),
            ("digits(2)", "１２", None, &[]),
            // Superscript two and a Roman numeral are numbers but not Nd: not digits.
            ("digits", "²Ⅻ", DIGITS, &["1"]),
            ("lowerCase", "ABCD1234", LOWER, &["1"]),
            ("lowerCase", "ABcD1234", None, &[]),
            ("lowerCase(2)", "ABcD1234", LOWER, &["2"]),
            ("lowerCase(2)", "aBcD1234", None, &[]),
            ("lowerCase(3)", "äßπ", None, &[]),
            // Feminine ordinal: a letter with Other_Lowercase, lower case in Java 7+.
            ("lowerCase", "ª", None, &[]),
            // Title case Dž is neither lower nor upper case.
            ("lowerCase", "ǅ", LOWER, &["1"]),
            (
                "upperCase",
                "ǅ",
                Some(INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE),
                &["1"],
            ),
            ("upperCase", "abcd1234", UPPER, &["1"]),
            ("upperCase", "abCd1234", None, &[]),
            ("upperCase(2)", "abCd1234", UPPER, &["2"]),
            ("upperCase(2)", "AbCd1234", None, &[]),
            ("upperCase(3)", "ÄÉΩ", None, &[]),
            // Roman numeral twelve has Other_Uppercase: upper case in Java.
            ("upperCase", "Ⅻ", None, &[]),
            // Mathematical bold capital A lies outside the BMP: two surrogates, not upper case.
            ("upperCase", "𝐀", UPPER, &["1"]),
            ("specialChars", "abcd1234", SPECIAL, &["1"]),
            ("specialChars", "ab&d1234", None, &[]),
            ("specialChars(2)", "ab&d1234", SPECIAL, &["2"]),
            ("specialChars(2)", "ab&d-234", None, &[]),
            // Letters and digits of any script are not special.
            ("specialChars", "密码١Ωß", SPECIAL, &["1"]),
            // Spaces, marks, ² and Ⅻ are neither letters nor Nd digits.
            ("specialChars(4)", " \u{301}²Ⅻ", None, &[]),
            // An emoji is two surrogates: two special characters.
            ("specialChars(2)", "abc😀", None, &[]),
            ("specialChars(3)", "abc😀", SPECIAL, &["3"]),
        ];
        run(rows, &PolicySubject::default());
    }

    #[test]
    fn not_username_not_contains_username_and_not_email() {
        const USERNAME: Option<&str> = Some(INVALID_PASSWORD_NOT_USERNAME_MESSAGE);
        const CONTAINS: Option<&str> = Some(INVALID_PASSWORD_NOT_CONTAINS_USERNAME_MESSAGE);
        const EMAIL: Option<&str> = Some(INVALID_PASSWORD_NOT_EMAIL_MESSAGE);
        let rows: &[Row] = &[
            ("notUsername", "jdoe", USERNAME, &[]),
            ("notUsername", "JDoe", USERNAME, &[]),
            ("notUsername", "jdoe1", None, &[]),
            ("notUsername", "ab&d1234", None, &[]),
            ("notContainsUsername", "jdoe", CONTAINS, &[]),
            ("notContainsUsername", "123JDOE!", CONTAINS, &[]),
            ("notContainsUsername", "jdo", None, &[]),
            ("notEmail", "jdoe@example.com", EMAIL, &[]),
            ("notEmail", "JDoe@Example.COM", EMAIL, &[]),
            ("notEmail", "jdoe@example.co", None, &[]),
            ("notEmail", "jdoe", None, &[]),
        ];
        run(rows, &subject("jdoe", Some("jdoe@example.com")));

        let accented = subject("åsa", Some("émile@exämple.org"));
        let rows: &[Row] = &[
            ("notUsername", "ÅSA", USERNAME, &[]),
            ("notContainsUsername", "xxÅsAxx", CONTAINS, &[]),
            ("notEmail", "ÉMILE@EXÄMPLE.ORG", EMAIL, &[]),
            // Different lengths never match, whatever the case folding.
            ("notUsername", "åsa ", None, &[]),
        ];
        run(rows, &accented);

        // No email, or no username: nothing to compare against.
        let rows: &[Row] = &[
            ("notEmail", "", None, &[]),
            ("notEmail", "anything", None, &[]),
            ("notUsername", "", None, &[]),
            ("notContainsUsername", "anything", None, &[]),
        ];
        run(rows, &subject("", None));
    }

    #[test]
    fn java_equals_ignore_case_rows() {
        let rows = [
            ("abc", "ABC", true),
            ("ß", "ß", true),
            // No one-character upper case: ß only equals itself.
            ("ß", "SS", false),
            ("ǅ", "ǆ", true),
            ("Σ", "ς", true),
            ("σ", "ς", true),
            ("k", "\u{212A}", true), // Kelvin sign
            ("a", "b", false),
            ("", "", true),
            ("a", "", false),
        ];
        for (a, b, equal) in rows {
            assert_eq!(java_equals_ignore_case(a, b), equal, "{a:?} {b:?}");
            assert_eq!(java_equals_ignore_case(b, a), equal, "{b:?} {a:?}");
        }
    }

    #[test]
    fn regex_pattern_must_match_the_whole_password() {
        const REGEX: Option<&str> = Some(INVALID_PASSWORD_REGEX_PATTERN_MESSAGE);
        let rows: &[Row] = &[
            ("regexPattern(^[a-z].*$)", "abc1", None, &[]),
            ("regexPattern(^[a-z].*$)", "1abc", REGEX, &["^[a-z].*$"]),
            // Java's matches(): no anchors needed, and a partial match is not enough.
            ("regexPattern([a-z]+)", "abc", None, &[]),
            ("regexPattern([a-z]+)", "abc1", REGEX, &["[a-z]+"]),
            ("regexPattern([a-z]+)", "1abc", REGEX, &["[a-z]+"]),
            // The whole input, even where the leftmost match is shorter.
            ("regexPattern(a|ab)", "ab", None, &[]),
            // Alternation at the top level stays inside the anchors.
            ("regexPattern(x|y)", "xy", REGEX, &["x|y"]),
            // Look-ahead and back-references, as Java supports them.
            (
                "regexPattern((?=.*\\d)(?=.*[A-Z]).{6,})",
                "abcdE1",
                None,
                &[],
            ),
            (
                "regexPattern((?=.*\\d)(?=.*[A-Z]).{6,})",
                "abcdef1",
                REGEX,
                &["(?=.*\\d)(?=.*[A-Z]).{6,}"],
            ),
            (
                "regexPattern(^(?!.*password).*$)",
                "my-password",
                REGEX,
                &["^(?!.*password).*$"],
            ),
            ("regexPattern((.)\\1.*)", "aab", None, &[]),
            ("regexPattern((.)\\1.*)", "abb", REGEX, &["(.)\\1.*"]),
            ("regexPattern(\\p{L}+)", "pässwörd", None, &[]),
            // A newline at the end is not swallowed by `$`.
            ("regexPattern(^abc$)", "abc\n", REGEX, &["^abc$"]),
            // The pattern keeps its blanks (Keycloak does not trim it).
            ("regexPattern( a)", " a", None, &[]),
            ("regexPattern( a)", "a", REGEX, &[" a"]),
        ];
        run(rows, &PolicySubject::default());
    }

    #[test]
    fn regex_is_compiled_once_and_shared_by_clones() {
        let policy = PasswordPolicy::from_keycloak("regexPattern([a-z]+)");
        let copy = policy.clone();
        let pattern = |p: &PasswordPolicy| match &p.rules.checks[0] {
            Check::Regex(Pattern {
                compiled: Some(regex),
                ..
            }) => Arc::clone(regex),
            other => panic!("{other:?}"),
        };
        assert!(Arc::ptr_eq(&pattern(&policy), &pattern(&copy)));
        for _ in 0..3 {
            assert!(copy.check("abc", &PolicySubject::default()).is_ok());
        }
    }

    #[test]
    fn broken_regex_is_a_parse_error_or_rejects_everything() {
        for (policy, reason) in [
            ("regexPattern([a-z)", "Not a valid regular expression"),
            ("regexPattern(a)|(b)", "Not a valid regular expression"),
            ("regexPattern", "Config required"),
            ("regexPattern(  )", "White space not acepted"),
        ] {
            assert_eq!(
                PasswordPolicy::parse(policy),
                Err(PolicyParseError::InvalidConfig {
                    name: "regexPattern".into(),
                    reason
                }),
                "{policy}"
            );
            let lenient = PasswordPolicy::from_keycloak(policy);
            for password in ["", "a", "b", "anything at all"] {
                let violation = lenient
                    .check(password, &PolicySubject::default())
                    .expect_err(policy);
                assert_eq!(violation.key, INVALID_PASSWORD_REGEX_PATTERN_MESSAGE);
            }
        }
    }

    #[test]
    fn a_regex_that_gives_up_rejects_the_password() {
        // The first branch backtracks exponentially through a back-reference before the second
        // could match: fancy-regex stops at its backtracking limit, and the password is refused.
        let policy = PasswordPolicy::from_keycloak("regexPattern((a|aa)+\\1c|a*)");
        let who = PolicySubject::default();
        assert_eq!(policy.check("aaaaa", &who), Ok(()), "short: it matches");
        let violation = policy.check(&"a".repeat(64), &who).unwrap_err();
        assert_eq!(violation.key, INVALID_PASSWORD_REGEX_PATTERN_MESSAGE);
    }

    #[test]
    fn messages_are_keycloaks_english_with_the_parameter() {
        let rows = [
            (
                "length(12)",
                "short",
                "Invalid password: minimum length 12.",
            ),
            (
                "length(1000)",
                "short",
                "Invalid password: minimum length 1,000.",
            ),
            (
                "maxLength(4)",
                "toolong",
                "Invalid password: maximum length 4.",
            ),
            (
                "digits(2)",
                "abc",
                "Invalid password: must contain at least 2 numerical digits.",
            ),
            (
                "lowerCase(3)",
                "ABC",
                "Invalid password: must contain at least 3 lower case characters.",
            ),
            (
                "upperCase",
                "abc",
                "Invalid password: must contain at least 1 upper case characters.",
            ),
            (
                "specialChars(12345)",
                "abc",
                "Invalid password: must contain at least 12,345 special characters.",
            ),
            (
                "notUsername",
                "jdoe",
                "Invalid password: must not be equal to the username.",
            ),
            (
                "notContainsUsername",
                "xjdoex",
                "Invalid password: Can not contain the username.",
            ),
            (
                "notEmail",
                "j@example.com",
                "Invalid password: must not be equal to the email.",
            ),
            (
                "regexPattern(x)",
                "y",
                "Invalid password: fails to match regex pattern(s).",
            ),
        ];
        let who = subject("jdoe", Some("j@example.com"));
        for (policy, password, message) in rows {
            let violation = rules(policy).check(password, &who).unwrap_err();
            assert_eq!(violation.message, message, "{policy}");
            assert_eq!(violation.to_string(), message, "{policy}");
        }
        let history = PasswordRules::from_clauses(&clauses("passwordHistory(2)"), true).unwrap();
        let stored = PasswordHistory {
            current: Some(fast_hash("pw")),
            previous: Vec::new(),
        };
        let violation = history
            .check_history("pw", &stored, &mut HashScratch::default())
            .unwrap_err();
        assert_eq!(violation.key, INVALID_PASSWORD_HISTORY_MESSAGE);
        assert_eq!(violation.params, ["2"]);
        assert_eq!(
            violation.message,
            "Invalid password: must not be equal to any of last 2 passwords."
        );
    }

    #[test]
    fn java_number_groups_thousands() {
        let rows = [
            (0, "0"),
            (7, "7"),
            (999, "999"),
            (1000, "1,000"),
            (27500, "27,500"),
            (-1, "-1"),
            (-1234567, "-1,234,567"),
            (i32::MAX, "2,147,483,647"),
            (i32::MIN, "-2,147,483,648"),
        ];
        for (n, text) in rows {
            assert_eq!(java_number(n), text);
        }
    }

    #[test]
    fn clauses_split_like_keycloaks_builder() {
        let c = |name, config: Option<&'static str>, malformed| Clause {
            name,
            config,
            malformed,
        };
        let rows: Vec<(&str, Vec<Clause<'static>>)> = vec![
            ("", vec![]),
            ("   ", vec![]),
            ("length", vec![c("length", None, false)]),
            ("length(12)", vec![c("length", Some("12"), false)]),
            (" length ( 12 ) ", vec![c("length", Some(" 12 "), false)]),
            (
                "length(12) and notUsername and passwordHistory(3) and regexPattern(^[a-z].*$)",
                vec![
                    c("length", Some("12"), false),
                    c("notUsername", None, false),
                    c("passwordHistory", Some("3"), false),
                    c("regexPattern", Some("^[a-z].*$"), false),
                ],
            ),
            // The pattern keeps inner parentheses.
            (
                "regexPattern(^(a|b)+$)",
                vec![c("regexPattern", Some("^(a|b)+$"), false)],
            ),
            ("length(12", vec![c("length", Some("12"), true)]),
            // `and` needs blanks on both sides; doubled separators leave empty clauses out.
            (
                "length(8)and digits",
                vec![c("length", Some("8)and digits"), true)],
            ),
            (
                "length(8) and  and digits",
                vec![c("length", Some("8"), false), c("digits", None, false)],
            ),
            // A repeated clause keeps its first place and its last argument.
            (
                "length(8) and digits and length(10)",
                vec![c("length", Some("10"), false), c("digits", None, false)],
            ),
        ];
        for (policy, expected) in rows {
            assert_eq!(clauses(policy), expected, "{policy:?}");
        }
    }

    #[test]
    fn parses_keycloak_policy_strings() {
        let policy = PasswordPolicy::parse(
            "length(12) and notUsername and passwordHistory(3) and regexPattern(^[a-z].*$)",
        )
        .unwrap();
        let who = subject("alice", None);
        assert_eq!(policy.history_depth(), 2);
        assert!(policy.checks_history());
        assert_eq!(
            policy.check("short", &who).unwrap_err().key,
            INVALID_PASSWORD_MIN_LENGTH_MESSAGE
        );
        assert_eq!(
            policy.check("1twelve-chars", &who).unwrap_err().key,
            INVALID_PASSWORD_REGEX_PATTERN_MESSAGE
        );
        assert_eq!(
            PasswordPolicy::parse("length(5) and notUsername")
                .unwrap()
                .check("ALICE", &who)
                .unwrap_err()
                .key,
            INVALID_PASSWORD_NOT_USERNAME_MESSAGE
        );
        assert_eq!(policy.check("twelve-chars", &who), Ok(()));

        // Hashing clauses and clauses that are not enforced parse and change nothing here.
        let other = PasswordPolicy::parse(
            "hashAlgorithm(pbkdf2-sha256) and hashIterations(27500) and \
             forceExpiredPasswordChange(365) and passwordBlacklist(list.txt) and passwordAge(30) \
             and maxAuthAge(300) and recoveryCodesWarningThreshold(4)",
        )
        .unwrap();
        assert!(other.rules.is_empty());
        assert_eq!(other.check("x", &who), Ok(()));

        // Lenient and strict agree on good policies.
        for text in [
            "",
            "length",
            "length(12) and notUsername and passwordHistory(3) and regexPattern(^[a-z].*$)",
            "digits(2) and lowerCase and upperCase(1) and specialChars(3) and maxLength(20) and notEmail",
        ] {
            assert_eq!(
                PasswordPolicy::parse(text).unwrap(),
                PasswordPolicy::from_keycloak(text),
                "{text}"
            );
        }
    }

    #[test]
    fn strict_parse_rejects_what_keycloak_rejects() {
        let unknown = |name: &str| PolicyParseError::UnknownClause { name: name.into() };
        let invalid = |name: &str, reason| PolicyParseError::InvalidConfig {
            name: name.into(),
            reason,
        };
        let rows = [
            ("noSuchPolicy", unknown("noSuchPolicy")),
            ("Length(8)", unknown("Length")),
            ("length(8) and bogus(1)", unknown("bogus")),
            ("length(abc)", invalid("length", "Not a valid number")),
            ("length()", invalid("length", "Not a valid number")),
            ("length(8", invalid("length", "Not a valid number")),
            ("digits(1.5)", invalid("digits", "Not a valid number")),
            (
                "maxLength(99999999999)",
                invalid("maxLength", "Not a valid number"),
            ),
            (
                "passwordHistory(x)",
                invalid("passwordHistory", "Not a valid number"),
            ),
            (
                "hashIterations(many)",
                invalid("hashIterations", "Not a valid number"),
            ),
            (
                "forceExpiredPasswordChange(soon)",
                invalid("forceExpiredPasswordChange", "Not a valid number"),
            ),
        ];
        for (policy, error) in rows {
            assert_eq!(PasswordPolicy::parse(policy), Err(error), "{policy}");
        }
        assert_eq!(unknown("x").to_string(), "Password policy not found");
        assert_eq!(
            invalid("length", "Not a valid number").to_string(),
            "Invalid config for length: Not a valid number"
        );
    }

    #[test]
    fn lenient_parse_ignores_unknown_clauses_and_defaults_bad_numbers() {
        let rows: &[Row] = &[
            (
                "noSuchPolicy and length(4)",
                "123",
                Some(INVALID_PASSWORD_MIN_LENGTH_MESSAGE),
                &["4"],
            ),
            (
                "length(abc)",
                "1234567",
                Some(INVALID_PASSWORD_MIN_LENGTH_MESSAGE),
                &["8"],
            ),
            (
                "length(12",
                "1234567",
                Some(INVALID_PASSWORD_MIN_LENGTH_MESSAGE),
                &["8"],
            ),
            (
                "digits(x)",
                "abc",
                Some(INVALID_PASSWORD_MIN_DIGITS_MESSAGE),
                &["1"],
            ),
            ("Length(20)", "x", None, &[]),
        ];
        for (policy, password, key, params) in rows {
            let result =
                PasswordPolicy::from_keycloak(policy).check(password, &PolicySubject::default());
            match key {
                None => assert_eq!(result, Ok(()), "{policy}"),
                Some(key) => {
                    let v = result.unwrap_err();
                    assert_eq!(v.key, *key, "{policy}");
                    assert_eq!(v.params, *params, "{policy}");
                }
            }
        }
        assert_eq!(
            PasswordPolicy::from_keycloak("passwordHistory(x)").history_depth(),
            2,
            "the default passwordHistory(3)"
        );
    }

    #[test]
    fn checks_run_in_keycloaks_hashmap_order() {
        // Buckets of Java's HashMap (capacity 16) for the ids: specialChars 4, upperCase 6,
        // lowerCase 7, length 8, regexPattern 8, digits 10, notUsername 10, maxLength 14,
        // notEmail 15, notContainsUsername 0.
        let names = [
            "length",
            "maxLength",
            "digits",
            "lowerCase",
            "upperCase",
            "specialChars",
            "notUsername",
            "notContainsUsername",
            "notEmail",
            "regexPattern",
        ];
        let order: Vec<&str> = keycloak_order(&names)
            .into_iter()
            .map(|i| names[i])
            .collect();
        assert_eq!(
            order,
            [
                "notContainsUsername",
                "specialChars",
                "upperCase",
                "lowerCase",
                "length",
                "regexPattern",
                "digits",
                "notUsername",
                "maxLength",
                "notEmail",
            ]
        );
        // Same bucket: the order of the policy string decides.
        let order: Vec<&str> = keycloak_order(&["regexPattern", "length"])
            .into_iter()
            .map(|i| ["regexPattern", "length"][i])
            .collect();
        assert_eq!(order, ["regexPattern", "length"]);
        // Thirteen names grow the map to 32 buckets, which reorders them.
        let many = [
            "length",
            "maxLength",
            "digits",
            "lowerCase",
            "upperCase",
            "specialChars",
            "notUsername",
            "notContainsUsername",
            "notEmail",
            "regexPattern",
            "passwordHistory",
            "hashAlgorithm",
            "hashIterations",
        ];
        let order: Vec<&str> = keycloak_order(&many).into_iter().map(|i| many[i]).collect();
        assert_eq!(
            &order[..4],
            [
                "hashIterations",
                "passwordHistory",
                "length",
                "regexPattern"
            ]
        );

        // "abc" breaks length, digits, upper case and special characters: Keycloak reports
        // specialChars first, whatever the order of the string.
        for policy in [
            "length(8) and digits and upperCase and specialChars",
            "specialChars and upperCase and digits and length(8)",
        ] {
            let violation = rules(policy)
                .check("abc", &PolicySubject::default())
                .unwrap_err();
            assert_eq!(
                violation.key, INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE,
                "{policy}"
            );
        }
        let violation = rules("digits and length(8)")
            .check("abc", &PolicySubject::default())
            .unwrap_err();
        assert_eq!(violation.key, INVALID_PASSWORD_MIN_LENGTH_MESSAGE);
    }

    fn fast_hash(password: &str) -> StoredPassword {
        let policy = PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            ..PasswordPolicy::default()
        };
        StoredPassword::hash(&policy, password).unwrap()
    }

    /// Stand-ins for hashes: the "hash" of a password is its salt, so verifying is a comparison.
    fn fake(password: &str) -> StoredPassword {
        StoredPassword {
            algorithm: "fake".into(),
            iterations: 0,
            salt: password.as_bytes().to_vec(),
            hash: Vec::new(),
            additional_parameters: Default::default(),
        }
    }

    fn history(current: Option<&str>, previous: &[&str]) -> PasswordHistory {
        PasswordHistory {
            current: current.map(fake),
            previous: previous.iter().map(|p| fake(p)).collect(),
        }
    }

    #[test]
    fn history_checks_the_current_password_and_n_minus_one_previous() {
        let stored = history(Some("now"), &["old1", "old2", "old3"]);
        // (policy, candidate, rejected, hashes verified)
        let rows = [
            ("passwordHistory(3)", "now", true, 1),
            ("passwordHistory(3)", "old1", true, 2),
            ("passwordHistory(3)", "old2", true, 3),
            ("passwordHistory(3)", "old3", false, 3),
            ("passwordHistory(3)", "new", false, 3),
            ("passwordHistory", "old2", true, 3),
            ("passwordHistory(5)", "old3", true, 4),
            ("passwordHistory(2)", "old1", true, 2),
            ("passwordHistory(2)", "old2", false, 2),
            ("passwordHistory(1)", "now", true, 1),
            ("passwordHistory(1)", "old1", false, 1),
            // Zero still checks the current password, as Keycloak's provider does.
            ("passwordHistory(0)", "now", true, 1),
            ("passwordHistory(0)", "old1", false, 1),
            ("passwordHistory(-1)", "now", false, 0),
            ("", "now", false, 0),
            ("length(1)", "now", false, 0),
        ];
        for (policy, candidate, rejected, verified) in rows {
            let rules = rules(policy);
            let mut calls = 0;
            let result = rules.check_history_by(&stored, |s| {
                calls += 1;
                s.salt == candidate.as_bytes()
            });
            assert_eq!(result.is_err(), rejected, "{policy} / {candidate}");
            assert_eq!(calls, verified, "{policy} / {candidate}");
            if let Err(v) = result {
                assert_eq!(v.key, INVALID_PASSWORD_HISTORY_MESSAGE);
            }
        }
        // Without a current password the previous ones still count.
        let rules3 = rules("passwordHistory(3)");
        let orphan = history(None, &["old1", "old2"]);
        assert!(
            rules3
                .check_history_by(&orphan, |s| s.salt == b"old2")
                .is_err()
        );
        assert!(
            rules3
                .check_history_by(&PasswordHistory::default(), |_| true)
                .is_ok()
        );
    }

    #[test]
    fn history_depth_and_checks_history() {
        let rows = [
            ("", 0, false),
            ("length(8)", 0, false),
            ("passwordHistory", 2, true),
            ("passwordHistory(3)", 2, true),
            ("passwordHistory(10)", 9, true),
            ("passwordHistory(2)", 1, true),
            ("passwordHistory(1)", 0, true),
            ("passwordHistory(0)", 0, true),
            ("passwordHistory(-1)", 0, false),
            ("passwordHistory(-5)", 0, true),
        ];
        for (policy, depth, checks) in rows {
            let parsed = PasswordPolicy::parse(policy).unwrap();
            assert_eq!(parsed.history_depth(), depth, "{policy}");
            assert_eq!(parsed.checks_history(), checks, "{policy}");
        }
    }

    #[test]
    fn history_verifies_real_hashes_with_a_scratch() {
        let policy = PasswordPolicy::parse("passwordHistory(2)").unwrap();
        let stored = PasswordHistory {
            current: Some(fast_hash("current-pw")),
            previous: vec![fast_hash("previous-pw"), fast_hash("ancient-pw")],
        };
        let mut scratch = HashScratch::default();
        let rows = [
            ("current-pw", true),
            ("previous-pw", true),
            ("ancient-pw", false),
            ("brand-new-pw", false),
        ];
        for (candidate, rejected) in rows {
            assert_eq!(
                policy
                    .check_history(candidate, &stored, &mut scratch)
                    .is_err(),
                rejected,
                "{candidate}"
            );
        }
        assert!(scratch.bytes() > 0, "the scratch was used");
    }
}
