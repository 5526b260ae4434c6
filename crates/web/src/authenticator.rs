//! The authenticator: verifies a secret presented with a username against the realm's
//! credential sources (the local password, app passwords, robot secrets) and says which
//! credential it was.
//!
//! Everything that makes secret checking safe and fast lives here, once, for every source:
//!
//! - the verified-credentials cache: a success is remembered (keyed by an HMAC of realm,
//!   username and secret) for at most 60 s, so a `docker pull` of many layers pays one check;
//!   changes to the user drop it on every instance ([`crate::cluster`]);
//! - rate limiting: a check that is not a cache hit first reserves a token from the (realm,
//!   address) and (realm, username) buckets; a success gives it back;
//! - single flight: identical checks arriving together wait for the one running;
//! - brute-force accounting (Keycloak's rules): every failure against an existing user counts,
//!   whichever source was tried, and a locked user is refused by every source;
//! - password hashing on the bounded hashing threads, with outdated hashes re-hashed after a
//!   success.
//!
//! A secret shaped like an app password (`pcp_…`) is checked as one when the caller accepts app
//! passwords, otherwise as a password. A secret shaped like a robot secret (`pcr_…`) presented
//! with a robot's login name (`robot.<name>`) is checked as that robot's when the caller
//! accepts robots; any other combination is checked as a password, so a user who happens to be
//! named `robot.x` keeps signing in with their password (new users may not take such names).
//! App passwords and robot secrets are 256-bit random secrets, so they are found by their
//! SHA-256 and need no slow hash.
//!
//! A robot has no user row: it counts toward the rate limits (its login name and the
//! address), not toward a user's brute-force lock, which would only let anyone who knows its
//! name lock a CI job out. Its cached verifications are dropped by its id
//! ([`crate::AppState::invalidate_user`] with the robot's id) on every change to it, and by any
//! change to the realm (its group's roles).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use portcullis_core::app_password::{Restriction, looks_like_app_password};
use portcullis_core::brute_force;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::{HashScratch, PasswordPolicy, StoredPassword};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_core::robot::{self, Cidr, address_allowed, looks_like_robot_secret};
use portcullis_core::secrets::hash_secret;
use portcullis_core::verified_cache::{CacheKey, VerifiedCache};
use portcullis_store::{AppPassword, AppPasswordUse, FailureAt, Robot, RobotSecret, RobotUse};
use tokio::sync::watch;

use crate::rate_limit::{Key, LoginRateLimiter};
use crate::{AppState, WebError};

/// Successful verifications are remembered this long (the issue allows at most 60 s).
const VERIFIED_TTL_SECS: i64 = 60;
/// At most this many remembered verifications: about 1 KiB each with the resolved roles and the
/// maps' overhead, so a storm of distinct logins holds ~1 MiB here. Beyond it the oldest go
/// first, so the users signing in right now (a registry's CI jobs, a `docker pull` of many
/// layers) stay cached; 1,024 distinct accounts within a minute is a large registry.
const VERIFIED_CAPACITY: usize = 1_024;
/// An app password's or robot secret's last use is written at most this often (per instance):
/// it is bookkeeping, not security, and must not cost a write per request.
pub const USE_RECORD_INTERVAL_SECS: i64 = 60;
/// App passwords and robot secrets whose last write is remembered; the map is emptied when it
/// fills.
const USES_CAPACITY: usize = 50_000;

/// Which credential sources a caller accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sources {
    pub passwords: bool,
    pub app_passwords: bool,
    pub robots: bool,
}

impl Sources {
    /// The local password only: browser logins and OIDC grants, where an app password's or a
    /// robot's narrowing could not be honoured.
    pub const PASSWORD: Sources = Sources {
        passwords: true,
        app_passwords: false,
        robots: false,
    };
    /// The local password or an app password.
    pub const PASSWORD_OR_APP_PASSWORD: Sources = Sources {
        passwords: true,
        app_passwords: true,
        robots: false,
    };
    /// The local password, an app password or a robot secret: the docker token endpoint.
    pub const DOCKER: Sources = Sources {
        passwords: true,
        app_passwords: true,
        robots: true,
    };
}

/// Which credential a verification used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The user's local password.
    Password,
    /// One of the user's app passwords: what it grants is the owner's rights narrowed by the
    /// restriction, and it earns no refresh token.
    AppPassword {
        id: String,
        restriction: Arc<Restriction>,
    },
    /// A robot's secret: the verified "user" is the robot, holding what a member of its group
    /// holds; what it grants is that narrowed by the restriction, and it earns no refresh
    /// token.
    Robot(Arc<RobotCredential>),
}

impl Credential {
    /// What the credential narrows the holder's rights to, if anything.
    pub fn restriction(&self) -> Option<&Restriction> {
        match self {
            Credential::Password => None,
            Credential::AppPassword { restriction, .. } => Some(restriction),
            Credential::Robot(robot) => Some(&robot.restriction),
        }
    }
}

/// What a verified robot secret carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotCredential {
    /// The robot's id.
    pub id: String,
    /// The id of the secret that was presented.
    pub secret_id: String,
    /// The owning group's id.
    pub group_id: String,
    pub restriction: Restriction,
    /// The earlier of the robot's expiry and the secret's end (rotation grace).
    pub valid_until: i64,
    /// The ranges it may be used from (empty: anywhere), checked on every use, cached or not.
    pub source_cidrs: Vec<Cidr>,
}

/// A successful verification.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The user with their current roles and groups. Whether the account is set up
    /// ([`ResolvedUser::is_set_up`]) is the caller's to check.
    pub user: Arc<ResolvedUser>,
    pub credential: Credential,
}

/// The outcome of a verification.
#[derive(Debug, Clone)]
pub enum Verification {
    /// The secret is right and the user enabled and not locked.
    Verified(Verified),
    /// An unknown user, a wrong, revoked or expired secret, a disabled or a locked user,
    /// indistinguishably.
    Refused,
    /// Too many failed logins lately from this address or for this username in the realm:
    /// nothing was checked; answer 429 with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
}

/// One presented secret.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub realm: &'a RealmSnapshot,
    pub username: &'a str,
    pub secret: &'a str,
    /// The peer address: the per-address rate limit, brute-force records and last use.
    pub client: Option<IpAddr>,
    /// Recorded as an app password's last use.
    pub user_agent: Option<&'a str>,
    pub sources: Sources,
}

/// The one place secrets are verified (see the module documentation).
pub struct Authenticator {
    verified: VerifiedCache<Verified>,
    login_limiter: LoginRateLimiter,
    /// Verifications running now, by credentials: identical requests wait for the running one.
    in_flight: Mutex<HashMap<CacheKey, watch::Receiver<()>>>,
    /// When each app password's last use was written by this instance.
    uses_written: Mutex<HashMap<String, i64>>,
}

impl Default for Authenticator {
    fn default() -> Self {
        Self {
            verified: VerifiedCache::new(VERIFIED_CAPACITY, VERIFIED_TTL_SECS),
            login_limiter: LoginRateLimiter::default(),
            in_flight: Mutex::default(),
            uses_written: Mutex::default(),
        }
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    pub(crate) fn forget_realm(&self, realm: &str) {
        self.verified.forget_realm(realm);
    }

    pub(crate) fn forget_user(&self, realm: &str, user_id: &str) {
        self.verified.forget_user(realm, user_id);
    }

    pub(crate) fn forget_all(&self) {
        self.verified.forget_all();
    }

    /// Verifies a username and secret. Recent successes are answered from the
    /// verified-credentials cache (a hit never extends an entry: it lives at most 60 s from its
    /// verification) and cost no rate-limit token. Everything else first reserves a token from
    /// the (realm, address) and (realm, username) buckets, then pays one check; identical
    /// requests arriving meanwhile wait for that one check.
    pub async fn verify(
        &self,
        state: &AppState,
        attempt: Attempt<'_>,
    ) -> Result<Verification, WebError> {
        let username = attempt.username.to_lowercase();
        let realm_name = &attempt.realm.realm.name;
        let key = self.verified.key(realm_name, &username, attempt.secret);
        let now = state.now();
        if let Some(hit) = self.hit(&key, now, &attempt) {
            self.note_use(state, &hit, &attempt).await;
            return Ok(Verification::Verified(hit));
        }
        // Before anything is read: a credential revoked while this runs is not cached.
        let read_at = self.verified.generation();
        let mut buckets = vec![Key::Username {
            realm: realm_name.clone(),
            username: username.clone(),
        }];
        if let Some(ip) = attempt.client {
            buckets.push(Key::Address {
                realm: realm_name.clone(),
                ip,
            });
        }
        let reservation = match self.login_limiter.reserve(buckets, state.now_ms()) {
            Ok(reservation) => reservation,
            Err(retry) => {
                if retry.log {
                    tracing::warn!(realm = %realm_name, client = ?attempt.client, retry_after = retry.secs, "login refused: too many failed logins from this address or for this username (logged once a minute)");
                }
                return Ok(Verification::RateLimited {
                    retry_after_secs: retry.secs,
                });
            }
        };
        // Held until the result is cached (or the request is dropped), then waiters wake.
        let _lead = match self.join_flight(key) {
            Flight::Lead(guard) => Some(guard),
            Flight::Follow(mut done) => {
                // Err only means "the leader finished": it never sends a value.
                let _ = done.changed().await;
                if let Some(hit) = self.hit(&key, state.now(), &attempt) {
                    reservation.refund();
                    self.note_use(state, &hit, &attempt).await;
                    return Ok(Verification::Verified(hit));
                }
                // The leader failed: check ourselves so that this attempt is counted too.
                None
            }
        };
        let robot_name = robot::name_of_login(&username)
            .filter(|_| attempt.sources.robots && looks_like_robot_secret(attempt.secret));
        let as_app_password =
            attempt.sources.app_passwords && looks_like_app_password(attempt.secret);
        let found = if let Some(name) = robot_name {
            self.verify_robot(state, &attempt, &name).await?
        } else if as_app_password {
            self.verify_app_password(state, &attempt, &username)
                .await?
                .map(|(user, credential)| (resolve_user(attempt.realm, &user), credential))
        } else if attempt.sources.passwords {
            self.verify_password(state, &attempt, &username)
                .await?
                .map(|user| (resolve_user(attempt.realm, &user), Credential::Password))
        } else {
            None
        };
        let Some((user, credential)) = found else {
            return Ok(Verification::Refused);
        };
        reservation.refund();
        let user_id = user.id.clone();
        let verified = Verified {
            user: Arc::new(user),
            credential,
        };
        self.verified
            .insert(key, realm_name, &user_id, verified.clone(), now, read_at);
        self.note_use(state, &verified, &attempt).await;
        Ok(Verification::Verified(verified))
    }

    /// A cached verification this caller accepts, that has not expired since and, for a
    /// robot, whose source-address ranges hold the caller.
    fn hit(&self, key: &CacheKey, now: i64, attempt: &Attempt<'_>) -> Option<Verified> {
        let hit = self.verified.get(key, now)?;
        let sources = attempt.sources;
        let usable = match &hit.credential {
            Credential::Password => sources.passwords,
            Credential::AppPassword { restriction, .. } => {
                sources.app_passwords && now < restriction.expires_at
            }
            Credential::Robot(robot) => {
                sources.robots
                    && now < robot.valid_until
                    && address_allowed(&robot.source_cidrs, attempt.client)
            }
        };
        usable.then_some(hit)
    }

    /// Looks the user up and checks the password against the stored hash, under the realm's
    /// brute-force policy; re-hashes outdated hashes after a success.
    async fn verify_password(
        &self,
        state: &AppState,
        attempt: &Attempt<'_>,
        username: &str,
    ) -> Result<Option<User>, WebError> {
        let realm = attempt.realm;
        let found = state
            .store()
            .find_user_by_username(&realm.realm.id, username)
            .await?;
        let (user, stored) = match found {
            Some((user, Some(stored))) if user.enabled => (user, stored),
            _ => return self.spend_a_hash_and_refuse(state, attempt.secret).await,
        };
        let Some(failures) = self.unlocked_failures(state, realm, &user).await? else {
            return self.spend_a_hash_and_refuse(state, attempt.secret).await;
        };
        let (check, password) = (stored.clone(), attempt.secret.to_string());
        let right = state
            .on_hashing_pool(move |scratch| check.verify_with(&password, scratch))
            .await?;
        if !right {
            self.count_failure(state, realm, &user, attempt.client)
                .await?;
            return Ok(None);
        }
        if failures {
            state
                .store()
                .clear_login_failures(&realm.realm.id, &user.id)
                .await?;
        }
        self.rehash_if_outdated(
            state,
            &realm.realm.password_policy,
            &user,
            &stored,
            attempt.secret,
        )
        .await;
        Ok(Some(user))
    }

    /// Looks the user up and the app password by the SHA-256 of the secret; it must be the
    /// user's, of this realm, neither revoked nor expired, and not older than the user's
    /// `notBefore`. Failures count toward brute-force protection like wrong passwords.
    async fn verify_app_password(
        &self,
        state: &AppState,
        attempt: &Attempt<'_>,
        username: &str,
    ) -> Result<Option<(User, Credential)>, WebError> {
        let realm = attempt.realm;
        let found = state
            .store()
            .find_user_by_username(&realm.realm.id, username)
            .await?;
        let Some((user, _)) = found.filter(|(user, _)| user.enabled) else {
            return Ok(None);
        };
        let Some(failures) = self.unlocked_failures(state, realm, &user).await? else {
            return Ok(None);
        };
        let hash = hash_secret(attempt.secret);
        let stored = state.store().find_app_password(&hash).await?;
        let now = state.now();
        let usable = |p: &AppPassword| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                p.secret_hash.as_bytes(),
                hash.as_bytes(),
            )
            .is_ok()
                && p.realm_id == realm.realm.id
                && p.user_id == user.id
                && p.is_live(now)
                && !user.revoked_before(p.created_at)
        };
        let Some(password) = stored.filter(usable) else {
            tracing::info!(realm = %realm.realm.name, user = %user.id, "app password refused: unknown, another user's, revoked or expired");
            self.count_failure(state, realm, &user, attempt.client)
                .await?;
            return Ok(None);
        };
        if failures {
            state
                .store()
                .clear_login_failures(&realm.realm.id, &user.id)
                .await?;
        }
        let credential = Credential::AppPassword {
            id: password.id,
            restriction: Arc::new(password.restriction),
        };
        Ok(Some((user, credential)))
    }

    /// Finds the robot by the SHA-256 of the secret; it must be the robot named in the login
    /// name, of this realm, enabled, neither revoked nor expired, the secret within its
    /// rotation grace, and the caller's address within the robot's ranges. The robot then
    /// holds what a member of its group holds now.
    async fn verify_robot(
        &self,
        state: &AppState,
        attempt: &Attempt<'_>,
        name: &str,
    ) -> Result<Option<(ResolvedUser, Credential)>, WebError> {
        let realm = attempt.realm;
        let hash = hash_secret(attempt.secret);
        let stored = state.store().find_robot_by_secret(&hash).await?;
        let now = state.now();
        let usable = |(robot, secret): &(Robot, RobotSecret)| {
            aws_lc_rs::constant_time::verify_slices_are_equal(
                secret.secret_hash.as_bytes(),
                hash.as_bytes(),
            )
            .is_ok()
                && robot.realm_id == realm.realm.id
                && robot.name == name
                && robot.is_live(now)
                && secret.is_live(now)
        };
        let Some((robot, secret)) = stored.filter(usable) else {
            tracing::info!(realm = %realm.realm.name, robot = %name, "robot secret refused: unknown, another robot's, rotated out, revoked, disabled or expired");
            return Ok(None);
        };
        // Stored ranges were checked when saved; unreadable ones allow nothing.
        let Ok(source_cidrs) = robot::parse_cidrs(&robot.source_cidrs) else {
            tracing::warn!(realm = %realm.realm.name, robot = %name, "robot refused: its stored source addresses are unreadable");
            return Ok(None);
        };
        if !address_allowed(&source_cidrs, attempt.client) {
            tracing::info!(realm = %realm.realm.name, robot = %name, client = ?attempt.client, "robot secret refused: used from outside its source addresses");
            return Ok(None);
        }
        let login = robot.login_name();
        let member = robot::as_member(realm, &robot.id, &login, &robot.group_id);
        let valid_until = secret
            .expires_at
            .map_or(robot.restriction.expires_at, |end| {
                end.min(robot.restriction.expires_at)
            });
        let credential = Credential::Robot(Arc::new(RobotCredential {
            id: robot.id,
            secret_id: secret.id,
            group_id: robot.group_id,
            restriction: robot.restriction,
            valid_until,
            source_cidrs,
        }));
        Ok(Some((member, credential)))
    }

    /// `None` when the user is locked (attempts are then refused unchecked and, as in
    /// Keycloak, not counted); else whether failures are on record.
    async fn unlocked_failures(
        &self,
        state: &AppState,
        realm: &RealmSnapshot,
        user: &User,
    ) -> Result<Option<bool>, WebError> {
        if !realm.realm.brute_force.enabled {
            return Ok(Some(false));
        }
        let failures = state
            .store()
            .login_failures(&realm.realm.id, &user.id)
            .await?
            .map(|f| f.record);
        if failures.is_some_and(|f| f.is_locked(state.now())) {
            tracing::info!(realm = %realm.realm.name, user = %user.id, "login refused: temporarily locked");
            return Ok(None);
        }
        Ok(Some(failures.is_some()))
    }

    /// Answers "no" after as long as a real check takes, so response times do not reveal which
    /// usernames exist or are locked.
    async fn spend_a_hash_and_refuse(
        &self,
        state: &AppState,
        password: &str,
    ) -> Result<Option<User>, WebError> {
        let password = password.to_string();
        state
            .on_hashing_pool(move |scratch| dummy_password(scratch).verify_with(&password, scratch))
            .await?;
        Ok(None)
    }

    /// Leads the verification of `key`, or follows the one already running.
    fn join_flight(&self, key: CacheKey) -> Flight<'_> {
        let mut flights = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = flights.get(&key) {
            return Flight::Follow(done.clone());
        }
        let (done, waiters) = watch::channel(());
        flights.insert(key, waiters);
        Flight::Lead(FlightGuard {
            flights: &self.in_flight,
            key,
            _done: done,
        })
    }

    /// Counts a failure atomically (when the realm detects brute force) and locks the user as
    /// Keycloak's rules say ([`brute_force::lock_after`]); a user who becomes locked also loses
    /// their cached verifications, so the lock holds for every client.
    async fn count_failure(
        &self,
        state: &AppState,
        realm: &RealmSnapshot,
        user: &User,
        client: Option<IpAddr>,
    ) -> Result<(), WebError> {
        let policy = &realm.realm.brute_force;
        if !policy.enabled {
            return Ok(());
        }
        let ip = client.map(|ip| ip.to_string());
        let counted = state
            .store()
            .count_login_failure(FailureAt {
                realm_id: &realm.realm.id,
                user_id: &user.id,
                now_ms: state.now_ms(),
                ip: ip.as_deref(),
                forget_after_ms: brute_force::forget_after_ms(policy),
            })
            .await?;
        if let Some(until) = brute_force::lock_after(policy, counted) {
            state
                .store()
                .lock_user(&realm.realm.id, &user.id, until)
                .await?;
            tracing::warn!(realm = %realm.realm.name, user = %user.id, failures = counted.failures, "user locked after failed logins");
            state.invalidate_user(&realm.realm.name, &user.id);
        }
        Ok(())
    }

    /// Records an app password's or robot's use (time, address, user agent; for a robot, which
    /// secret) at most once a [`USE_RECORD_INTERVAL_SECS`] per app password or robot secret;
    /// nothing for passwords.
    async fn note_use(&self, state: &AppState, verified: &Verified, attempt: &Attempt<'_>) {
        let id = match &verified.credential {
            Credential::Password => return,
            Credential::AppPassword { id, .. } => id,
            Credential::Robot(robot) => &robot.secret_id,
        };
        let now = state.now();
        {
            let mut written = self
                .uses_written
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if written
                .get(id)
                .is_some_and(|at| now - at < USE_RECORD_INTERVAL_SECS)
            {
                return;
            }
            if written.len() >= USES_CAPACITY {
                written.clear();
            }
            written.insert(id.clone(), now);
        }
        let address = attempt.client.map(|ip| ip.to_string());
        let written = match &verified.credential {
            Credential::Robot(robot) => {
                let used = RobotUse {
                    robot_id: &robot.id,
                    secret_id: &robot.secret_id,
                    now,
                    address: address.as_deref(),
                    user_agent: attempt.user_agent,
                };
                state.store().touch_robot(used).await
            }
            _ => {
                let used = AppPasswordUse {
                    id,
                    now,
                    address: address.as_deref(),
                    user_agent: attempt.user_agent,
                };
                state.store().touch_app_password(used).await
            }
        };
        // Bookkeeping only: the verification itself is sound, so do not fail it.
        if let Err(error) = written {
            tracing::warn!(error = %error, "recording an app password's or robot's use failed");
        }
    }

    /// Imported hashes (pbkdf2, older argon2 parameters) move to the realm policy on the next
    /// successful login, as Keycloak does. A failure here must not fail the login.
    async fn rehash_if_outdated(
        &self,
        state: &AppState,
        policy: &PasswordPolicy,
        user: &User,
        stored: &StoredPassword,
        password: &str,
    ) {
        if !stored.needs_rehash(policy) {
            return;
        }
        let (policy, password) = (policy.clone(), password.to_string());
        let rehashed = state
            .on_hashing_pool(move |scratch| StoredPassword::hash_with(&policy, &password, scratch))
            .await;
        let result = match rehashed {
            Ok(Ok(new)) => {
                state
                    .store()
                    .set_password(&user.id, &new, state.now())
                    .await
            }
            Ok(Err(e)) => return tracing::warn!(user = %user.id, error = %e, "re-hash failed"),
            Err(e) => return tracing::warn!(user = %user.id, error = %e, "re-hash failed"),
        };
        if let Err(e) = result {
            tracing::warn!(user = %user.id, error = %e, "storing re-hashed password failed");
        }
    }
}

/// A hash of a random password with the default policy, verified against when the user does not
/// exist so that the response takes as long as a real check. Made on first use, on a hashing
/// thread with its scratch.
fn dummy_password(scratch: &mut HashScratch) -> &'static StoredPassword {
    static DUMMY: OnceLock<StoredPassword> = OnceLock::new();
    DUMMY.get_or_init(|| {
        StoredPassword::hash_with(
            &PasswordPolicy::default(),
            "portcullis-timing-equaliser",
            scratch,
        )
        .unwrap_or(StoredPassword {
            algorithm: "argon2".into(),
            iterations: 5,
            salt: vec![0; 16],
            hash: vec![0; 32],
            additional_parameters: Default::default(),
        })
    })
}

/// Whether a request runs a verification or waits for an identical one.
enum Flight<'a> {
    Lead(FlightGuard<'a>),
    Follow(watch::Receiver<()>),
}

/// The leader's mark in the in-flight map. Dropping it (after caching a success, on failure, or
/// when the request is cancelled) removes the entry, then closes the channel: waiters wake.
struct FlightGuard<'a> {
    flights: &'a Mutex<HashMap<CacheKey, watch::Receiver<()>>>,
    key: CacheKey,
    _done: watch::Sender<()>,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.flights
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use portcullis_core::app_password::new_secret;
    use portcullis_core::clock::FixedClock;
    use portcullis_store::{Store, app_passwords, parse_realm_json};

    use super::*;
    use crate::Urls;

    const NOW: i64 = 1_795_000_000;

    struct Fixture {
        state: AppState,
        clock: Arc<FixedClock>,
        realm: Arc<RealmSnapshot>,
    }

    async fn fixture() -> Fixture {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let realm = serde_json::json!({
            "realm": "acme", "enabled": true,
            "users": [
                {"username": "alice", "enabled": true,
                 "credentials": [{"type": "password", "value": "alice-pw"}]},
                // Signs in through an upstream provider only: no local password.
                {"username": "sso", "enabled": true}
            ]
        });
        let rep = parse_realm_json(&realm.to_string()).unwrap();
        store.import_realm(rep, false, NOW).await.unwrap();
        let clock = Arc::new(FixedClock::at(NOW));
        let urls = Urls {
            base_url: "http://id.test".into(),
            relative_path: "/auth".into(),
        };
        let state = AppState::new(store, clock.clone(), urls);
        let realm = state.realm("acme").await.unwrap().unwrap();
        Fixture {
            state,
            clock,
            realm,
        }
    }

    impl Fixture {
        /// Stores an app password of `username` expiring at `expires_at`; (secret, id).
        async fn app_password(&self, username: &str, expires_at: i64) -> (String, String) {
            let store = self.state.store();
            let user = store
                .find_user_by_username(&self.realm.realm.id, username)
                .await
                .unwrap()
                .unwrap()
                .0;
            let (secret, secret_hash) = new_secret();
            let id = format!("ap-{}", &secret_hash[..8]);
            let record = AppPassword {
                id: id.clone(),
                realm_id: self.realm.realm.id.clone(),
                user_id: user.id,
                name: "ci".into(),
                secret_hash,
                restriction: Restriction {
                    repositories: vec!["platform/**".into()],
                    expires_at,
                    ..Restriction::default()
                },
                created_at: NOW,
                revoked_at: None,
                last_used_at: None,
                last_used_address: None,
                last_used_user_agent: None,
            };
            app_passwords::insert(store.connection(), &record)
                .await
                .unwrap();
            (secret, id)
        }

        async fn verify(&self, username: &str, secret: &str, sources: Sources) -> Verification {
            let attempt = Attempt {
                realm: &self.realm,
                username,
                secret,
                client: Some("192.0.2.1".parse().unwrap()),
                user_agent: Some("docker/27"),
                sources,
            };
            self.state.authenticate(attempt).await.unwrap()
        }

        async fn last_used(&self, username: &str, id: &str) -> Option<i64> {
            let store = self.state.store();
            let user = store
                .find_user_by_username(&self.realm.realm.id, username)
                .await
                .unwrap()
                .unwrap()
                .0;
            app_passwords::find(store.connection(), &self.realm.realm.id, &user.id, id)
                .await
                .unwrap()
                .unwrap()
                .last_used_at
        }
    }

    fn credential(verification: &Verification) -> Option<&Credential> {
        match verification {
            Verification::Verified(verified) => Some(&verified.credential),
            _ => None,
        }
    }

    #[tokio::test]
    async fn each_source_says_which_credential_was_used_and_callers_choose_the_sources() {
        let f = fixture().await;
        let (secret, id) = f.app_password("sso", NOW + 3600).await;
        let both = Sources::PASSWORD_OR_APP_PASSWORD;

        let verified = f.verify("SSO", &secret, both).await;
        match credential(&verified) {
            Some(Credential::AppPassword {
                id: used,
                restriction,
            }) => {
                assert_eq!(used, &id);
                assert_eq!(restriction.repositories, ["platform/**"]);
            }
            other => panic!("{other:?}"),
        }
        // Cached now, yet a caller that takes passwords only is refused.
        let refused = f.verify("sso", &secret, Sources::PASSWORD).await;
        assert!(matches!(refused, Verification::Refused), "{refused:?}");
        assert_eq!(
            credential(&f.verify("alice", "alice-pw", both).await),
            Some(&Credential::Password)
        );
        assert_eq!(
            credential(&f.verify("alice", "alice-pw", Sources::PASSWORD).await),
            Some(&Credential::Password)
        );
        // Someone else's app password does not sign in as alice.
        let refused = f.verify("alice", &secret, both).await;
        assert!(matches!(refused, Verification::Refused), "{refused:?}");
    }

    #[tokio::test]
    async fn a_cached_app_password_dies_at_its_expiry_and_its_use_is_written_once_a_minute() {
        let f = fixture().await;
        let both = Sources::PASSWORD_OR_APP_PASSWORD;
        let (short, _) = f.app_password("alice", NOW + 20).await;
        let (long, long_id) = f.app_password("alice", NOW + 90).await;
        assert!(credential(&f.verify("alice", &short, both).await).is_some());
        assert!(credential(&f.verify("alice", &long, both).await).is_some());
        assert_eq!(f.last_used("alice", &long_id).await, Some(NOW));

        f.clock.advance(20);
        // Within the cache's minute, but past its expiry.
        let refused = f.verify("alice", &short, both).await;
        assert!(matches!(refused, Verification::Refused), "{refused:?}");
        assert!(credential(&f.verify("alice", &long, both).await).is_some());
        assert_eq!(
            f.last_used("alice", &long_id).await,
            Some(NOW),
            "not again within the minute"
        );

        f.clock.advance(41);
        assert!(credential(&f.verify("alice", &long, both).await).is_some());
        assert_eq!(f.last_used("alice", &long_id).await, Some(NOW + 61));

        f.clock.advance(29);
        let refused = f.verify("alice", &long, both).await;
        assert!(matches!(refused, Verification::Refused), "{refused:?}");
    }
}
