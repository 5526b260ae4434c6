//! Password hashing in Keycloak's credential model.
//!
//! New hashes are argon2id with the realm's parameters. Hashes imported from Keycloak
//! (`pbkdf2`, `pbkdf2-sha256`, `pbkdf2-sha512`, and `argon2` in any type and version) verify as
//! they are, and [`StoredPassword::needs_rehash`] tells the caller to replace them with the
//! realm policy's argon2id after the next successful login (design section 4).
//!
//! Hashing costs milliseconds of CPU: callers run it on a blocking pool, never on the executor.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use aws_lc_rs::{constant_time, pbkdf2, rand};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::{Deserialize, Serialize};

mod policy;

pub use policy::{
    INVALID_PASSWORD_HISTORY_MESSAGE, INVALID_PASSWORD_MAX_LENGTH_MESSAGE,
    INVALID_PASSWORD_MIN_DIGITS_MESSAGE, INVALID_PASSWORD_MIN_LENGTH_MESSAGE,
    INVALID_PASSWORD_MIN_LOWER_CASE_CHARS_MESSAGE, INVALID_PASSWORD_MIN_SPECIAL_CHARS_MESSAGE,
    INVALID_PASSWORD_MIN_UPPER_CASE_CHARS_MESSAGE, INVALID_PASSWORD_NOT_CONTAINS_USERNAME_MESSAGE,
    INVALID_PASSWORD_NOT_EMAIL_MESSAGE, INVALID_PASSWORD_NOT_USERNAME_MESSAGE,
    INVALID_PASSWORD_REGEX_PATTERN_MESSAGE, PasswordHistory, PasswordRules, PolicyParseError,
    PolicySubject, PolicyViolation,
};

/// Keycloak's algorithm id for argon2 (any type).
pub const ARGON2: &str = "argon2";
/// Keycloak's algorithm id for PBKDF2 with HMAC-SHA1.
pub const PBKDF2_SHA1: &str = "pbkdf2";
pub const PBKDF2_SHA256: &str = "pbkdf2-sha256";
pub const PBKDF2_SHA384: &str = "pbkdf2-sha384";
pub const PBKDF2_SHA512: &str = "pbkdf2-sha512";

/// Length of the random salt of new hashes (Keycloak uses 16 bytes too).
const SALT_LEN: usize = 16;
/// Length of new argon2 hashes (Keycloak's `hashLength` default).
const HASH_LEN: usize = 32;
/// Keycloak ignores a policy's `hashIterations` above this for argon2: such values are meant
/// for PBKDF2 (27,500 or 210,000) and would make argon2 take minutes.
const MAX_POLICY_ARGON2_ITERATIONS: u32 = 100;

// Bounds on parameters read from stored hashes, an order of magnitude above what Keycloak
// writes (argon2 7 MiB x 5, pbkdf2-sha512 210,000, pbkdf2-sha256 27,500 to 600,000), so an
// imported hash cannot make each login attempt for its user occupy a hashing thread, shared
// by every realm, for seconds (a 512 MiB x 12 argon2 hash took 7.9 s per attempt).
const MAX_ARGON2_MEMORY_KIB: u32 = 64 * 1024;
const MAX_ARGON2_ITERATIONS: u32 = 10;
const MAX_ARGON2_PARALLELISM: u32 = 16;
const MAX_PBKDF2_ITERATIONS: u32 = 1_300_000;
const MAX_HASH_LEN: usize = 1_024;

/// Realm password policy: argon2id parameters (Keycloak 25+ defaults m=7168 KiB, t=5, p=1) and
/// the validation clauses of Keycloak's `passwordPolicy` string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// `length(12) and notUsername and ...`: what a new password must satisfy.
    pub rules: PasswordRules,
}

impl Default for PasswordPolicy {
    /// Keycloak's defaults: argon2id m=7168 KiB, t=5, p=1, and no validation clause.
    fn default() -> Self {
        Self {
            memory_kib: 7168,
            iterations: 5,
            parallelism: 1,
            rules: PasswordRules::default(),
        }
    }
}

impl PasswordPolicy {
    /// Parses a stored `passwordPolicy` string, e.g.
    /// `"length(12) and notUsername and passwordHistory(3) and hashIterations(5)"`, leniently:
    /// a realm loads whatever its policy says.
    ///
    /// Unknown clauses are ignored. `hashIterations(n)` sets the argon2 iterations when
    /// `1 <= n <= 100`; larger values are PBKDF2 counts and are ignored, as Keycloak's argon2
    /// provider does. We always hash with argon2id, whatever `hashAlgorithm` says: imported
    /// PBKDF2 hashes still verify. For the validation clauses, a number that does not parse
    /// gives the clause Keycloak's default, and a `regexPattern` that does not compile rejects
    /// every password (see [`PasswordRules`]); [`PasswordPolicy::parse`] reports both instead.
    pub fn from_keycloak(policy: &str) -> Self {
        let clauses = policy::clauses(policy);
        let rules = PasswordRules::from_clauses(&clauses, false).unwrap_or_default();
        Self::with_clauses(&clauses, rules)
    }

    /// Parses a `passwordPolicy` string strictly, as Keycloak does when an administrator saves
    /// one: an unknown clause, a number that does not parse or a `regexPattern` that does not
    /// compile is an error (Keycloak's texts: `Password policy not found`,
    /// `Invalid config for length: Not a valid number`, ...).
    pub fn parse(policy: &str) -> Result<Self, PolicyParseError> {
        let clauses = policy::clauses(policy);
        let rules = PasswordRules::from_clauses(&clauses, true)?;
        Ok(Self::with_clauses(&clauses, rules))
    }

    fn with_clauses(clauses: &[policy::Clause<'_>], rules: PasswordRules) -> Self {
        let mut result = Self {
            rules,
            ..Self::default()
        };
        for clause in clauses {
            if clause.name == policy::HASH_ITERATIONS
                && !clause.malformed
                && let Some(n) = clause.number().and_then(|n| u32::try_from(n).ok())
                && (1..=MAX_POLICY_ARGON2_ITERATIONS).contains(&n)
            {
                result.iterations = n;
            }
        }
        result
    }

    /// Checks `password` against every validation clause but `passwordHistory`, in Keycloak's
    /// order; the first violation. Cheap: run it before hashing.
    pub fn check(
        &self,
        password: &str,
        subject: &PolicySubject<'_>,
    ) -> Result<(), PolicyViolation> {
        self.rules.check(password, subject)
    }

    /// True when the `passwordHistory` clause needs the user's [`PasswordHistory`].
    pub fn checks_history(&self) -> bool {
        self.rules.checks_history()
    }

    /// How many replaced passwords the store keeps as `password-history` (0: none).
    pub fn history_depth(&self) -> usize {
        self.rules.history_depth()
    }

    /// The `passwordHistory` check; argon2 work, for the hashing pool. See
    /// [`PasswordRules::check_history`].
    pub fn check_history(
        &self,
        password: &str,
        history: &PasswordHistory,
        scratch: &mut HashScratch,
    ) -> Result<(), PolicyViolation> {
        self.rules.check_history(password, history, scratch)
    }

    fn argon2_params(&self, output_len: usize) -> Result<argon2::Params, PasswordError> {
        argon2::Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(output_len),
        )
        .map_err(|e| PasswordError::InvalidParameters(e.to_string()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("malformed credential JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("credential field `{0}` is not valid base64")]
    Base64(&'static str),
    #[error("invalid password hash parameters: {0}")]
    InvalidParameters(String),
    #[error("the system random number generator failed")]
    Random,
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// Argon2's working memory (7 MiB with Keycloak's defaults), kept between hashes until
/// [`HashScratch::release`].
///
/// Allocating and freeing it per login makes glibc keep the freed memory per thread arena, so a
/// burst of first-time logins grows the process by hundreds of MiB. A worker thread that owns one
/// scratch reuses the same memory for every hash of a burst instead.
///
/// The scratch reserves [`HashScratch::RESERVED_BYTES`] of address space whatever the policy
/// needs. glibc serves an allocation that large from a mapping of its own and unmaps it when it is
/// freed, so [`HashScratch::release`] really returns the memory to the OS. A smaller scratch
/// (7 MiB) would come from a thread arena after the first release: glibc raises its mmap
/// threshold to the size of each mapping freed, up to 32 MiB, and keeps what an arena frees.
/// Only the pages a hash writes become resident; the rest of the reservation costs nothing.
#[derive(Default)]
pub struct HashScratch {
    blocks: Vec<argon2::Block>,
}

impl std::fmt::Debug for HashScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashScratch")
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl HashScratch {
    /// Memory kept after a hash: enough for twice Keycloak's default policy. A hash that needs
    /// more (an import with a large `memory`) still runs, then gives its memory back.
    const MAX_RETAINED_BLOCKS: usize = 2 * 7168;

    /// Address space reserved for the blocks: above glibc's largest dynamic mmap threshold
    /// (32 MiB on 64-bit systems), so the allocation is always a mapping of its own.
    pub const RESERVED_BYTES: usize = 33 << 20;

    /// Bytes of working memory currently held.
    pub fn bytes(&self) -> usize {
        self.blocks.len() * argon2::Block::SIZE
    }

    /// Gives the working memory back; the next hash allocates it again.
    pub fn release(&mut self) {
        self.blocks = Vec::new();
    }

    /// Hashes into `out`, growing the scratch to the parameters' block count when needed.
    fn hash_into(
        &mut self,
        argon2: &argon2::Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let needed = argon2.params().block_count();
        if self.blocks.len() < needed {
            let reserved = (Self::RESERVED_BYTES / argon2::Block::SIZE).max(needed);
            self.blocks.reserve_exact(reserved - self.blocks.len());
            self.blocks.resize(needed, argon2::Block::default());
        }
        // Argon2 overwrites every block it uses before reading it, so old contents are harmless.
        let result = argon2.hash_password_into_with_memory(password, salt, out, &mut self.blocks);
        if self.blocks.len() > Self::MAX_RETAINED_BLOCKS {
            self.release();
        }
        result
    }
}

/// A stored password hash in Keycloak's credential model, so imports and exports round-trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPassword {
    /// `argon2`, `pbkdf2-sha256`, `pbkdf2-sha512`, `pbkdf2-sha384` or `pbkdf2` (HMAC-SHA1).
    pub algorithm: String,
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
    /// argon2: `type`, `version`, `memory`, `parallelism`, `hashLength` (one value each).
    pub additional_parameters: BTreeMap<String, Vec<String>>,
}

/// How to recompute a stored hash, validated and bounded.
enum Scheme {
    Pbkdf2 {
        algorithm: pbkdf2::Algorithm,
        iterations: NonZeroU32,
    },
    Argon2 {
        algorithm: argon2::Algorithm,
        version: argon2::Version,
        params: argon2::Params,
    },
}

/// Keycloak's `secretData` JSON.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretData {
    value: String,
    salt: String,
    #[serde(default)]
    additional_parameters: BTreeMap<String, Vec<String>>,
}

/// Keycloak's `credentialData` JSON for passwords.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialData {
    hash_iterations: u32,
    algorithm: String,
    #[serde(default)]
    additional_parameters: BTreeMap<String, Vec<String>>,
}

impl StoredPassword {
    /// Hashes with argon2id v1.3 and the policy's parameters: 16-byte random salt, 32-byte hash.
    /// Allocates its working memory; servers use [`StoredPassword::hash_with`].
    pub fn hash(policy: &PasswordPolicy, password: &str) -> Result<Self, PasswordError> {
        Self::hash_with(policy, password, &mut HashScratch::default())
    }

    /// [`StoredPassword::hash`] with argon2's working memory taken from (and left in) `scratch`.
    pub fn hash_with(
        policy: &PasswordPolicy,
        password: &str,
        scratch: &mut HashScratch,
    ) -> Result<Self, PasswordError> {
        let params = policy.argon2_params(HASH_LEN)?;
        let mut salt = vec![0u8; SALT_LEN];
        rand::fill(&mut salt).map_err(|_| PasswordError::Random)?;
        let mut hash = vec![0u8; HASH_LEN];
        let argon2 =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        scratch
            .hash_into(&argon2, password.as_bytes(), &salt, &mut hash)
            .map_err(|e| PasswordError::Hashing(e.to_string()))?;
        Ok(Self {
            algorithm: ARGON2.to_owned(),
            iterations: policy.iterations,
            salt,
            hash,
            additional_parameters: argon2_parameters(policy, HASH_LEN),
        })
    }

    /// Recomputes the hash of `password` and compares in constant time. Unknown algorithms and
    /// invalid or out-of-bounds parameters never verify. Allocates argon2's working memory;
    /// servers use [`StoredPassword::verify_with`].
    pub fn verify(&self, password: &str) -> bool {
        self.verify_with(password, &mut HashScratch::default())
    }

    /// [`StoredPassword::verify`] with argon2's working memory taken from (and left in)
    /// `scratch`; PBKDF2 needs none and ignores it.
    pub fn verify_with(&self, password: &str, scratch: &mut HashScratch) -> bool {
        let Ok(scheme) = self.scheme() else {
            return false;
        };
        match scheme {
            Scheme::Pbkdf2 {
                algorithm,
                iterations,
            } => {
                // Keycloak may pad short passwords with NULs before PBKDF2 (its
                // `max-padding-length`); HMAC pads keys with zeros to the block size anyway,
                // so the result is the same and no padding is needed here.
                pbkdf2::verify(
                    algorithm,
                    iterations,
                    &self.salt,
                    password.as_bytes(),
                    &self.hash,
                )
                .is_ok()
            }
            Scheme::Argon2 {
                algorithm,
                version,
                params,
            } => {
                let mut computed = vec![0u8; self.hash.len()];
                let argon2 = argon2::Argon2::new(algorithm, version, params);
                scratch
                    .hash_into(&argon2, password.as_bytes(), &self.salt, &mut computed)
                    .is_ok()
                    && constant_time::verify_slices_are_equal(&computed, &self.hash).is_ok()
            }
        }
    }

    /// True unless this is argon2id v1.3 with exactly the policy's parameters and a 32-byte
    /// hash: the caller then stores a fresh [`StoredPassword::hash`] after a successful login.
    pub fn needs_rehash(&self, policy: &PasswordPolicy) -> bool {
        let current = self.algorithm == ARGON2
            && self.iterations == policy.iterations
            && self.hash.len() == HASH_LEN
            && self.additional_parameters == argon2_parameters(policy, HASH_LEN);
        !current
    }

    /// From Keycloak's credential `secretData` and `credentialData` JSON strings.
    ///
    /// Only the structure is checked here; an algorithm we cannot compute is kept (so it
    /// exports unchanged) and simply never verifies.
    ///
    /// The hash must be one we can verify within the cost bounds (known algorithm, argon2
    /// memory up to 64 MiB and 10 iterations, PBKDF2 up to 1.3 million iterations): an import
    /// carrying anything else is refused here rather than slowing every login of the user.
    pub fn from_keycloak(secret_data: &str, credential_data: &str) -> Result<Self, PasswordError> {
        let secret: SecretData = serde_json::from_str(secret_data)?;
        let credential: CredentialData = serde_json::from_str(credential_data)?;
        let stored = Self {
            algorithm: credential.algorithm,
            iterations: credential.hash_iterations,
            salt: decode_base64(&secret.salt).ok_or(PasswordError::Base64("salt"))?,
            hash: decode_base64(&secret.value).ok_or(PasswordError::Base64("value"))?,
            additional_parameters: credential.additional_parameters,
        };
        stored.scheme()?;
        Ok(stored)
    }

    /// Back to (`secretData`, `credentialData`) JSON strings, Keycloak's exact shape.
    pub fn to_keycloak(&self) -> (String, String) {
        let secret = SecretData {
            value: STANDARD.encode(&self.hash),
            salt: STANDARD.encode(&self.salt),
            additional_parameters: BTreeMap::new(),
        };
        let credential = CredentialData {
            hash_iterations: self.iterations,
            algorithm: self.algorithm.clone(),
            additional_parameters: self.additional_parameters.clone(),
        };
        (to_json(&secret), to_json(&credential))
    }

    fn scheme(&self) -> Result<Scheme, PasswordError> {
        if self.hash.is_empty() || self.hash.len() > MAX_HASH_LEN {
            return Err(invalid("hash length"));
        }
        let pbkdf2 = match self.algorithm.as_str() {
            PBKDF2_SHA1 => pbkdf2::PBKDF2_HMAC_SHA1,
            PBKDF2_SHA256 => pbkdf2::PBKDF2_HMAC_SHA256,
            PBKDF2_SHA384 => pbkdf2::PBKDF2_HMAC_SHA384,
            PBKDF2_SHA512 => pbkdf2::PBKDF2_HMAC_SHA512,
            ARGON2 => return self.argon2_scheme(),
            other => return Err(invalid(&format!("unknown algorithm `{other}`"))),
        };
        let iterations = NonZeroU32::new(self.iterations)
            .filter(|n| n.get() <= MAX_PBKDF2_ITERATIONS)
            .ok_or_else(|| invalid("pbkdf2 iterations"))?;
        Ok(Scheme::Pbkdf2 {
            algorithm: pbkdf2,
            iterations,
        })
    }

    fn argon2_scheme(&self) -> Result<Scheme, PasswordError> {
        let algorithm = match self.parameter("type").unwrap_or("id") {
            "id" => argon2::Algorithm::Argon2id,
            "i" => argon2::Algorithm::Argon2i,
            "d" => argon2::Algorithm::Argon2d,
            _ => return Err(invalid("argon2 type")),
        };
        let version = match self.parameter("version").unwrap_or("1.3") {
            "1.3" => argon2::Version::V0x13,
            "1.0" => argon2::Version::V0x10,
            _ => return Err(invalid("argon2 version")),
        };
        let memory = self.bounded_parameter("memory", MAX_ARGON2_MEMORY_KIB)?;
        let parallelism = self.bounded_parameter("parallelism", MAX_ARGON2_PARALLELISM)?;
        let hash_length = self.bounded_parameter("hashLength", MAX_HASH_LEN as u32)?;
        if hash_length as usize != self.hash.len() {
            return Err(invalid("argon2 hashLength differs from the stored hash"));
        }
        if self.iterations > MAX_ARGON2_ITERATIONS {
            return Err(invalid("argon2 iterations"));
        }
        let policy = PasswordPolicy {
            memory_kib: memory,
            iterations: self.iterations,
            parallelism,
            rules: PasswordRules::default(),
        };
        Ok(Scheme::Argon2 {
            algorithm,
            version,
            params: policy.argon2_params(self.hash.len())?,
        })
    }

    /// The first value of an additional parameter, as Keycloak's `getFirst`.
    fn parameter(&self, name: &str) -> Option<&str> {
        self.additional_parameters
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    }

    fn bounded_parameter(&self, name: &str, max: u32) -> Result<u32, PasswordError> {
        self.parameter(name)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .filter(|v| *v <= max)
            .ok_or_else(|| invalid(&format!("argon2 {name}")))
    }
}

/// Keycloak's argon2 `additionalParameters` for a policy.
fn argon2_parameters(policy: &PasswordPolicy, hash_len: usize) -> BTreeMap<String, Vec<String>> {
    [
        ("type", "id".to_owned()),
        ("version", "1.3".to_owned()),
        ("hashLength", hash_len.to_string()),
        ("memory", policy.memory_kib.to_string()),
        ("parallelism", policy.parallelism.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), vec![v]))
    .collect()
}

fn invalid(what: &str) -> PasswordError {
    PasswordError::InvalidParameters(what.to_owned())
}

/// Keycloak writes standard padded base64; accept a missing padding too.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .ok()
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs of strings, numbers and maps with string keys cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failing test may panic
mod tests {
    use super::*;

    fn fast_policy() -> PasswordPolicy {
        PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            ..PasswordPolicy::default()
        }
    }

    fn keycloak_secret(salt: &str, value: &str) -> String {
        format!(r#"{{"value":"{value}","salt":"{salt}","additionalParameters":{{}}}}"#)
    }

    fn keycloak_pbkdf2(algorithm: &str, iterations: u32) -> String {
        format!(
            r#"{{"hashIterations":{iterations},"algorithm":"{algorithm}","additionalParameters":{{}}}}"#
        )
    }

    fn keycloak_argon2(t: u32, ty: &str, version: &str, m: u32, p: u32, len: u32) -> String {
        format!(
            r#"{{"hashIterations":{t},"algorithm":"argon2","additionalParameters":{{"hashLength":["{len}"],"memory":["{m}"],"type":["{ty}"],"version":["{version}"],"parallelism":["{p}"]}}}}"#
        )
    }

    /// (what, secretData, credentialData, password). Computed with Python's
    /// `hashlib.pbkdf2_hmac` and argon2-cffi's `hash_secret_raw`.
    fn keycloak_vectors() -> Vec<(&'static str, String, String, &'static str)> {
        vec![
            (
                "pbkdf2-sha256 27500, 512-bit key (Keycloak's default size)",
                keycloak_secret(
                    "AAECAwQFBgcICQoLDA0ODw==",
                    "qnA427fe69fAjkevcHZvnm7vp3MewnxKL4g2WLfI7U6teQVH1eR2L5DfcV0psPIfjGPtlZbkpnogYX+2TaSl6w==",
                ),
                keycloak_pbkdf2("pbkdf2-sha256", 27500),
                "correct horse",
            ),
            (
                "pbkdf2-sha512 210000, non-ASCII password",
                keycloak_secret(
                    "ZGVmZ2hpamtsbW5vcHFycw==",
                    "wWGdVmkCcKmkug5frKj8TKPGAOveEiHnGUAMZ1m2aYry85/OtVJq6hagXFkOOn6gBDvITFVW03/tbkyyagNnRQ==",
                ),
                keycloak_pbkdf2("pbkdf2-sha512", 210000),
                "pässwörd",
            ),
            (
                "pbkdf2 (HMAC-SHA1) 20000",
                keycloak_secret(
                    "c2FsdHNhbHRzYWx0c2FsdA==",
                    "WePwNzIBNqKym9fZo2mANkb14qDSysNZ2uHWbWpnLHyDRoadvqty8j4jsJd56wS9lgcQswX+hU+F4MMznJzcPQ==",
                ),
                keycloak_pbkdf2("pbkdf2", 20000),
                "hunter2",
            ),
            (
                "argon2id v1.3 with Keycloak's defaults",
                keycloak_secret(
                    "yMnKy8zNzs/Q0dLT1NXW1w==",
                    "iAtoAa5J5Qp1cV9JDw5B+FCj1sAAQ2XTxtKv1T91tYE=",
                ),
                keycloak_argon2(5, "id", "1.3", 7168, 1, 32),
                "Tr0ub4dor&3",
            ),
            (
                "argon2i v1.0, p=2, 24-byte hash",
                keycloak_secret(
                    "MjM0NTY3ODk6Ozw9Pj9AQQ==",
                    "64oyAM0+2RL3eDKAHj/ZIxfW1j+a3V2C",
                ),
                keycloak_argon2(3, "i", "1.0", 1024, 2, 24),
                "s3cret",
            ),
            (
                "argon2d v1.3",
                keycloak_secret(
                    "MjM0NTY3ODk6Ozw9Pj9AQQ==",
                    "NR1hda5kqyDWxrqceK+B8RIkUjKwu3Q5pZGJt29mcFk=",
                ),
                keycloak_argon2(2, "d", "1.3", 256, 1, 32),
                "s3cret",
            ),
        ]
    }

    #[test]
    fn keycloak_vectors_verify_and_reject_wrong_passwords() {
        for (what, secret, credential, password) in keycloak_vectors() {
            let stored = StoredPassword::from_keycloak(&secret, &credential).unwrap();
            assert!(stored.verify(password), "{what}: right password");
            assert!(!stored.verify("wrong"), "{what}: wrong password");
            assert!(
                !stored.verify(&format!("{password} ")),
                "{what}: extra char"
            );
            assert_eq!(
                stored.needs_rehash(&PasswordPolicy::default()),
                !what.contains("defaults"),
                "{what}: needs_rehash"
            );
        }
    }

    #[test]
    fn one_scratch_serves_every_parameter_set() {
        let mut scratch = HashScratch::default();
        // Twice, so each vector also runs after a larger and after a smaller parameter set.
        for round in 0..2 {
            for (what, secret, credential, password) in keycloak_vectors() {
                let stored = StoredPassword::from_keycloak(&secret, &credential).unwrap();
                assert!(stored.verify_with(password, &mut scratch), "{round} {what}");
                assert!(!stored.verify_with("wrong", &mut scratch), "{round} {what}");
            }
        }
        assert_eq!(scratch.bytes(), 7168 * 1024, "grown to the largest, kept");
        let policy = fast_policy();
        let stored = StoredPassword::hash_with(&policy, "pw", &mut scratch).unwrap();
        assert!(stored.verify("pw"), "hash_with agrees with verify");
        assert!(!stored.verify_with("px", &mut scratch));
    }

    #[test]
    fn scratch_does_not_keep_huge_memory() {
        let mut scratch = HashScratch::default();
        let policy = PasswordPolicy {
            memory_kib: 3 * 7168,
            iterations: 1,
            parallelism: 1,
            ..PasswordPolicy::default()
        };
        let stored = StoredPassword::hash_with(&policy, "pw", &mut scratch).unwrap();
        assert_eq!(scratch.bytes(), 0);
        assert!(stored.verify_with("pw", &mut scratch));
    }

    #[test]
    fn keycloak_json_round_trips_byte_for_byte() {
        for (what, secret, credential, _) in keycloak_vectors() {
            let stored = StoredPassword::from_keycloak(&secret, &credential).unwrap();
            let (secret_out, credential_out) = stored.to_keycloak();
            assert_eq!(secret_out, secret, "{what}: secretData");
            let again = StoredPassword::from_keycloak(&secret_out, &credential_out).unwrap();
            assert_eq!(again, stored, "{what}: reparsed");
            if !what.starts_with("argon2") {
                assert_eq!(credential_out, credential, "{what}: credentialData");
            }
        }
    }

    #[test]
    fn hash_writes_keycloak_argon2_shape() {
        let stored = StoredPassword::hash(&PasswordPolicy::default(), "pw").unwrap();
        let (secret, credential) = stored.to_keycloak();
        let secret: serde_json::Value = serde_json::from_str(&secret).unwrap();
        let credential: serde_json::Value = serde_json::from_str(&credential).unwrap();
        assert_eq!(
            credential,
            serde_json::json!({
                "hashIterations": 5,
                "algorithm": "argon2",
                "additionalParameters": {
                    "hashLength": ["32"], "memory": ["7168"], "type": ["id"],
                    "version": ["1.3"], "parallelism": ["1"]
                }
            })
        );
        assert_eq!(secret["additionalParameters"], serde_json::json!({}));
        assert_eq!(
            STANDARD
                .decode(secret["salt"].as_str().unwrap())
                .unwrap()
                .len(),
            16
        );
        assert_eq!(
            STANDARD
                .decode(secret["value"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(stored.verify("pw"));
        assert!(!stored.needs_rehash(&PasswordPolicy::default()));
    }

    #[test]
    fn hash_verify_round_trip() {
        let policy = fast_policy();
        for password in ["", "a", "correct horse battery staple", "пароль 密码 🔑"] {
            let stored = StoredPassword::hash(&policy, password).unwrap();
            assert!(stored.verify(password), "{password:?}");
            assert!(!stored.verify(&format!("{password}x")), "{password:?}");
        }
    }

    #[test]
    fn salts_are_random() {
        let a = StoredPassword::hash(&fast_policy(), "same").unwrap();
        let b = StoredPassword::hash(&fast_policy(), "same").unwrap();
        assert_ne!(a.salt, b.salt);
        assert_ne!(a.hash, b.hash);
    }

    #[test]
    fn invalid_policy_is_an_error() {
        let policy = PasswordPolicy {
            memory_kib: 7168,
            iterations: 0,
            parallelism: 1,
            ..PasswordPolicy::default()
        };
        assert!(matches!(
            StoredPassword::hash(&policy, "pw"),
            Err(PasswordError::InvalidParameters(_))
        ));
    }

    #[test]
    fn needs_rehash_rows() {
        let policy = fast_policy();
        let current = StoredPassword::hash(&policy, "pw").unwrap();
        let with = |f: &dyn Fn(&mut StoredPassword)| {
            let mut s = current.clone();
            f(&mut s);
            s
        };
        let set = |name: &'static str, value: &'static str| {
            with(&move |s: &mut StoredPassword| {
                s.additional_parameters
                    .insert(name.to_owned(), vec![value.to_owned()]);
            })
        };
        let rows: Vec<(&str, StoredPassword, bool)> = vec![
            ("current", current.clone(), false),
            (
                "pbkdf2",
                with(&|s| s.algorithm = PBKDF2_SHA256.into()),
                true,
            ),
            ("other iterations", with(&|s| s.iterations = 2), true),
            ("other memory", set("memory", "128"), true),
            ("other parallelism", set("parallelism", "2"), true),
            ("argon2i", set("type", "i"), true),
            ("version 1.0", set("version", "1.0"), true),
            ("hash length 64", set("hashLength", "64"), true),
            (
                "no parameters",
                with(&|s| s.additional_parameters.clear()),
                true,
            ),
        ];
        for (what, stored, expected) in rows {
            assert_eq!(stored.needs_rehash(&policy), expected, "{what}");
        }
        assert!(current.needs_rehash(&PasswordPolicy::default()));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let good_secret = keycloak_secret("AAECAwQFBgcICQoLDA0ODw==", "AAAA");
        let good_credential = keycloak_pbkdf2("pbkdf2-sha256", 27500);
        let rows = [
            ("not json", "{".to_owned(), good_credential.clone()),
            (
                "secret is an array",
                "[]".to_owned(),
                good_credential.clone(),
            ),
            (
                "no salt",
                r#"{"value":"AAAA"}"#.to_owned(),
                good_credential.clone(),
            ),
            (
                "bad base64",
                keycloak_secret("!!!", "AAAA"),
                good_credential.clone(),
            ),
            (
                "negative iterations",
                good_secret.clone(),
                keycloak_pbkdf2("pbkdf2", 0).replace(":0", ":-1"),
            ),
            (
                "no algorithm",
                good_secret.clone(),
                r#"{"hashIterations":1}"#.to_owned(),
            ),
        ];
        for (what, secret, credential) in rows {
            assert!(
                StoredPassword::from_keycloak(&secret, &credential).is_err(),
                "{what}"
            );
        }
    }

    #[test]
    fn unverifiable_hashes_fail_closed() {
        let base = StoredPassword::from_keycloak(
            &keycloak_secret("AAECAwQFBgcICQoLDA0ODw==", "AAAAAAAAAAAAAAAAAAAAAA=="),
            &keycloak_argon2(1, "id", "1.3", 64, 1, 16),
        )
        .unwrap();
        let mutate = |f: &dyn Fn(&mut StoredPassword)| {
            let mut s = base.clone();
            f(&mut s);
            s
        };
        let rows = [
            (
                "unknown algorithm",
                mutate(&|s| s.algorithm = "bcrypt".into()),
            ),
            ("empty hash", mutate(&|s| s.hash.clear())),
            (
                "zero pbkdf2 iterations",
                mutate(&|s| {
                    s.algorithm = PBKDF2_SHA256.into();
                    s.iterations = 0;
                }),
            ),
            (
                "huge memory",
                mutate(&|s| {
                    s.additional_parameters
                        .insert("memory".into(), vec!["99999999".into()]);
                }),
            ),
            (
                "garbage type",
                mutate(&|s| {
                    s.additional_parameters
                        .insert("type".into(), vec!["x".into()]);
                }),
            ),
            ("length mismatch", mutate(&|s| s.hash.push(0))),
            ("short salt", mutate(&|s| s.salt.truncate(4))),
        ];
        for (what, stored) in rows {
            assert!(!stored.verify(""), "{what}");
            assert!(!stored.verify("anything"), "{what}");
        }
    }

    #[test]
    fn policy_from_keycloak_reads_hash_iterations() {
        let default = PasswordPolicy::default().iterations;
        let rows = [
            ("", default),
            (
                "length(8) and hashAlgorithm(argon2) and hashIterations(3)",
                3,
            ),
            ("hashIterations( 7 )", 7),
            (
                "hashAlgorithm(pbkdf2-sha256) and hashIterations(27500)",
                default,
            ),
            ("hashIterations(0)", default),
            ("hashIterations(-3)", default),
            ("hashIterations(abc) and notUsername", default),
            ("hashIterations(4", default),
            ("hashIterations(4) and hashIterations(6)", 6),
        ];
        for (policy, iterations) in rows {
            let parsed = PasswordPolicy::from_keycloak(policy);
            assert_eq!(parsed.iterations, iterations, "{policy:?}");
            assert_eq!(
                (parsed.memory_kib, parsed.parallelism),
                (7168, 1),
                "{policy:?}"
            );
        }
        assert_eq!(PasswordPolicy::from_keycloak(""), PasswordPolicy::default());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod cost_bounds {
    use super::*;

    fn argon2(memory: u32, iterations: u32, parallelism: u32) -> (String, String) {
        let secret = r#"{"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","salt":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
        let credential = serde_json::json!({
            "hashIterations": iterations,
            "algorithm": "argon2",
            "additionalParameters": {
                "type": ["id"], "version": ["1.3"], "memory": [memory.to_string()],
                "parallelism": [parallelism.to_string()], "hashLength": ["32"]
            }
        });
        (secret.to_string(), credential.to_string())
    }

    fn pbkdf2(iterations: u32) -> (String, String) {
        let secret = r#"{"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","salt":"AAAAAAAAAAAAAAAAAAAAAA=="}"#;
        let credential =
            format!(r#"{{"hashIterations":{iterations},"algorithm":"pbkdf2-sha512"}}"#);
        (secret.to_string(), credential)
    }

    /// Imported hashes whose verification would cost far more than Keycloak's are refused at
    /// import, with the parameter named.
    #[test]
    fn imports_above_the_cost_bounds_are_refused() {
        let rows: &[(&str, (String, String), Option<&str>)] = &[
            ("Keycloak's argon2", argon2(7168, 5, 1), None),
            ("the argon2 ceiling", argon2(65_536, 10, 16), None),
            ("512 MiB", argon2(524_288, 12, 1), Some("argon2 memory")),
            ("65 MiB", argon2(66_560, 5, 1), Some("argon2 memory")),
            ("11 passes", argon2(7168, 11, 1), Some("argon2 iterations")),
            ("17 lanes", argon2(7168, 5, 17), Some("argon2 parallelism")),
            ("Keycloak's pbkdf2", pbkdf2(210_000), None),
            ("the pbkdf2 ceiling", pbkdf2(1_300_000), None),
            (
                "too many pbkdf2 rounds",
                pbkdf2(1_300_001),
                Some("pbkdf2 iterations"),
            ),
        ];
        for (what, (secret, credential), refused) in rows {
            let result = StoredPassword::from_keycloak(secret, credential);
            match refused {
                None => assert!(result.is_ok(), "{what}: {result:?}"),
                Some(part) => {
                    let err = result.unwrap_err().to_string();
                    assert!(err.contains(part), "{what}: {err}");
                }
            }
        }
    }
}
