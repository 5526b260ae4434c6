//! The state every handler receives.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use portcullis_core::brute_force;
use portcullis_core::clock::Clock;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::{
    HashScratch, PasswordHistory, PasswordPolicy, PolicySubject, PolicyViolation, StoredPassword,
};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_core::verified_cache::{CacheKey, VerifiedCache};
use portcullis_store::{FailureAt, Store};
use tokio::sync::watch;

use crate::WebError;
use crate::cluster::{self, Change};
use crate::events::{EventQueue, LoginEvent};
use crate::hashing::HashingPool;
use crate::rate_limit::{Key, LoginRateLimiter};
use crate::realm_cache::RealmCache;

/// Successful verifications are remembered this long (the issue allows at most 60 s).
const VERIFIED_TTL_SECS: i64 = 60;
/// At most this many remembered verifications (and users by id): about 1 KiB each with the
/// resolved roles and the maps' overhead, so a storm of distinct logins holds ~1 MiB here.
/// Beyond it the oldest go first, so the users signing in right now (a registry's CI jobs, a
/// `docker pull` of many layers) stay cached; 1,024 distinct accounts within a minute is a
/// large registry.
const VERIFIED_CAPACITY: usize = 1_024;
/// Users looked up by id (refresh grants) are reused this long; changes made through this
/// process drop them at once, changes by another instance show within this time.
const BY_ID_TTL_SECS: i64 = 10;

/// The outcome of a password check.
#[derive(Debug, Clone)]
pub enum PasswordCheck {
    /// The password is right and the user enabled and not locked. Whether the account is set
    /// up ([`ResolvedUser::is_set_up`]) is the caller's to check.
    Verified(Arc<ResolvedUser>),
    /// An unknown user, a wrong password, a disabled or a locked user, indistinguishably.
    Refused,
    /// Too many failed logins lately from this address or for this username in the realm:
    /// nothing was checked; answer 429 with `Retry-After`.
    RateLimited { retry_after_secs: u64 },
}

/// Public URLs: the issuer of a realm is `{base_url}{relative_path}/realms/{realm}`, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// `http://127.0.0.1:8080`, without a trailing slash.
    pub base_url: String,
    /// `/auth`, or empty.
    pub relative_path: String,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
    urls: Urls,
    realms: RealmCache,
    verified: VerifiedCache<Arc<ResolvedUser>>,
    by_id: VerifiedCache<Arc<ResolvedUser>>,
    login_limiter: LoginRateLimiter,
    /// One thread per core (or as configured), each with its own argon2 memory: bounds both
    /// the CPU a burst of logins takes from token signing and the memory it leaves behind.
    hashing: HashingPool,
    /// Verifications running now, by credentials: identical requests wait for the running one.
    in_flight: Mutex<HashMap<CacheKey, watch::Receiver<()>>>,
    /// Moves on every invalidation; caches kept outside the state compare it (see
    /// [`AppState::cache_epoch`]).
    epoch: AtomicU64,
    /// Where changes go to reach the other instances (PostgreSQL, once started).
    outbox: OnceLock<cluster::Outbox>,
    /// Login and token events on their way to the database (started by the first event).
    events: OnceLock<EventQueue>,
}

impl AppState {
    /// A state with one password-hashing thread per core.
    pub fn new(store: Store, clock: Arc<dyn Clock>, urls: Urls) -> Self {
        Self::with_hashing_threads(store, clock, urls, None)
    }

    /// `hashing_threads`: how many passwords are hashed at once (`None`: one per core). Each
    /// busy thread holds argon2's working memory (7 MiB with Keycloak's policy), so fewer
    /// threads trade first-time logins per second for resident memory during login bursts.
    pub fn with_hashing_threads(
        store: Store,
        clock: Arc<dyn Clock>,
        urls: Urls,
        hashing_threads: Option<usize>,
    ) -> Self {
        let threads = hashing_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        Self(Arc::new(Inner {
            store,
            clock,
            urls,
            realms: RealmCache::default(),
            verified: VerifiedCache::new(VERIFIED_CAPACITY, VERIFIED_TTL_SECS),
            by_id: VerifiedCache::new(VERIFIED_CAPACITY, BY_ID_TTL_SECS),
            login_limiter: LoginRateLimiter::default(),
            hashing: HashingPool::new(threads),
            in_flight: Mutex::default(),
            epoch: AtomicU64::new(0),
            outbox: OnceLock::new(),
            events: OnceLock::new(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    pub fn now(&self) -> i64 {
        self.0.clock.now_unix()
    }

    pub fn urls(&self) -> &Urls {
        &self.0.urls
    }

    /// `{base}{relative}/realms/{realm}`: the realm's issuer and public URL.
    pub fn issuer(&self, realm: &str) -> String {
        let Urls {
            base_url,
            relative_path,
        } = &self.0.urls;
        format!("{base_url}{relative_path}/realms/{realm}")
    }

    /// The same as [`AppState::issuer`]; named for the places that mean a URL, not a claim.
    pub fn realm_url(&self, realm: &str) -> String {
        self.issuer(realm)
    }

    /// The realm's snapshot, from the cache or the database. `None` when there is no such realm.
    pub async fn realm(&self, name: &str) -> Result<Option<Arc<RealmSnapshot>>, WebError> {
        let now = self.now();
        if let Some(snapshot) = self.0.realms.get(name, now) {
            return Ok(Some(snapshot));
        }
        let Some(mut snapshot) = self.0.store.load_realm_snapshot(name).await? else {
            return Ok(None);
        };
        self.resolve_relative_redirects(&mut snapshot);
        let snapshot = Arc::new(snapshot);
        self.0.realms.put(snapshot.clone(), now);
        Ok(Some(snapshot))
    }

    /// Registered redirect URIs that start with `/` are relative to `{base}{relative}`, as
    /// Keycloak resolves them against its `${authBaseUrl}` root (the admin console's
    /// `/admin/{realm}/console/*`): made absolute once, here, so every check compares URLs.
    fn resolve_relative_redirects(&self, snapshot: &mut RealmSnapshot) {
        let Urls {
            base_url,
            relative_path,
        } = &self.0.urls;
        for client in &mut snapshot.clients {
            for uri in &mut client.redirect_uris {
                if uri.starts_with('/') && !uri.starts_with("//") {
                    *uri = format!("{base_url}{relative_path}{uri}");
                }
            }
        }
    }

    /// Records a login or token event; it is written to the database within a fraction of a
    /// second, off the request path (see [`crate::events`]).
    pub fn record_event(&self, event: LoginEvent) {
        let now_ms = self.0.clock.now_unix_ms();
        self.0
            .events
            .get_or_init(|| EventQueue::start(self))
            .push(event, now_ms);
    }

    /// Waits until every event recorded so far is written (tests, shutdown).
    pub async fn flush_events(&self) {
        if let Some(queue) = self.0.events.get() {
            queue.flush().await;
        }
    }

    /// Starts keeping this instance's caches in step with other instances on the same
    /// PostgreSQL database (see [`crate::cluster`]); nothing on SQLite. Call once, inside the
    /// runtime, before serving.
    pub fn start_cluster_sync(&self) {
        let origin = portcullis_core::secrets::random_token::<12>();
        if let Some(outbox) = cluster::start(self, origin) {
            let _ = self.0.outbox.set(outbox);
        }
    }

    /// Drops everything cached about a realm after a change, here and on every instance.
    pub fn invalidate_realm(&self, name: &str) {
        self.changed(Change::Realm {
            realm: name.to_string(),
        });
    }

    /// Drops cached verifications of one user (password changed, user disabled or deleted,
    /// credentials ended), here and on every instance.
    pub fn invalidate_user(&self, realm: &str, user_id: &str) {
        self.changed(Change::User {
            realm: realm.to_string(),
            user: user_id.to_string(),
        });
    }

    /// Drops what caches outside the state hold about credentials (a docker login was
    /// revoked), here and on every instance.
    pub fn invalidate_credentials(&self) {
        self.changed(Change::Credentials);
    }

    fn changed(&self, change: Change) {
        self.forget(&change);
        if let Some(outbox) = self.0.outbox.get() {
            outbox.announce(change);
        }
    }

    /// Drops this instance's cached traces of a change.
    pub(crate) fn forget(&self, change: &Change) {
        match change {
            Change::Realm { realm } => {
                self.0.realms.forget(realm);
                self.0.verified.forget_realm(realm);
                self.0.by_id.forget_realm(realm);
            }
            Change::User { realm, user } => {
                self.0.verified.forget_user(realm, user);
                self.0.by_id.forget_user(realm, user);
            }
            Change::Credentials => {}
        }
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops everything this instance caches (another instance's changes may have been
    /// missed).
    pub(crate) fn forget_everything(&self) {
        self.0.realms.forget_all();
        self.0.verified.forget_all();
        self.0.by_id.forget_all();
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// A number that changes whenever anything cached may have gone stale. Protocol crates that
    /// keep their own caches of credentials (the docker refresh-token cache) record it with
    /// each entry and trust an entry only while it is unchanged, so a revocation or a user
    /// change takes effect at once.
    pub fn cache_epoch(&self) -> u64 {
        self.0.epoch.load(Ordering::SeqCst)
    }

    /// Checks a username and password. Recent successes are answered from the
    /// verified-credentials cache (a hit never extends an entry: it lives at most 60 s from its
    /// verification) and cost no rate-limit token. Everything else first reserves a token from
    /// the (realm, address) and (realm, username) buckets, then pays one hash on the hashing
    /// threads; identical requests arriving meanwhile wait for that one hash. An unknown user,
    /// a wrong password, a disabled or locked user are refused alike.
    pub async fn check_password(
        &self,
        realm: &RealmSnapshot,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<PasswordCheck, WebError> {
        let username = username.to_lowercase();
        let realm_name = &realm.realm.name;
        let key = self.0.verified.key(realm_name, &username, password);
        let now = self.now();
        if let Some(hit) = self.0.verified.get(&key, now) {
            return Ok(PasswordCheck::Verified(hit));
        }
        let mut buckets = vec![Key::Username {
            realm: realm_name.clone(),
            username: username.clone(),
        }];
        if let Some(ip) = client {
            buckets.push(Key::Address {
                realm: realm_name.clone(),
                ip,
            });
        }
        let reservation = match self.0.login_limiter.reserve(buckets, self.now_ms()) {
            Ok(reservation) => reservation,
            Err(retry) => {
                if retry.log {
                    tracing::warn!(realm = %realm_name, client = ?client, retry_after = retry.secs, "login refused: too many failed logins from this address or for this username (logged once a minute)");
                }
                return Ok(PasswordCheck::RateLimited {
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
                if let Some(hit) = self.0.verified.get(&key, self.now()) {
                    reservation.refund();
                    return Ok(PasswordCheck::Verified(hit));
                }
                // The leader failed: check ourselves so that this attempt is counted too.
                None
            }
        };
        let Some(user) = self.verify_user(realm, &username, password, client).await? else {
            return Ok(PasswordCheck::Refused);
        };
        reservation.refund();
        let resolved = Arc::new(resolve_user(realm, &user));
        self.0
            .verified
            .insert(key, realm_name, &user.id, resolved.clone(), now);
        Ok(PasswordCheck::Verified(resolved))
    }

    /// Milliseconds of the clock: rate limits and brute-force detection count in them.
    fn now_ms(&self) -> i64 {
        self.0.clock.now_unix_ms()
    }

    /// Looks the user up and checks the password against the stored hash, under the realm's
    /// brute-force policy; re-hashes outdated hashes after a success.
    async fn verify_user(
        &self,
        realm: &RealmSnapshot,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<Option<User>, WebError> {
        let found = self
            .0
            .store
            .find_user_by_username(&realm.realm.id, username)
            .await?;
        let (user, stored) = match found {
            Some((user, Some(stored))) if user.enabled => (user, stored),
            _ => return self.spend_a_hash_and_refuse(password).await,
        };
        let policy = &realm.realm.brute_force;
        let failures = if policy.enabled {
            self.0
                .store
                .login_failures(&realm.realm.id, &user.id)
                .await?
                .map(|f| f.record)
        } else {
            None
        };
        // A locked user's attempts are refused unchecked and, as in Keycloak, not counted.
        if failures.is_some_and(|f| f.is_locked(self.now())) {
            tracing::info!(realm = %realm.realm.name, user = %user.id, "login refused: temporarily locked");
            return self.spend_a_hash_and_refuse(password).await;
        }
        if !self
            .verify_on_pool(stored.clone(), password.to_string())
            .await?
        {
            if policy.enabled {
                self.record_login_failure(realm, &user, client).await?;
            }
            return Ok(None);
        }
        if failures.is_some() {
            self.0
                .store
                .clear_login_failures(&realm.realm.id, &user.id)
                .await?;
        }
        self.rehash_if_outdated(&realm.realm.password_policy, &user, &stored, password)
            .await;
        Ok(Some(user))
    }

    /// Answers "no" after as long as a real check takes, so response times do not reveal which
    /// usernames exist or are locked.
    async fn spend_a_hash_and_refuse(&self, password: &str) -> Result<Option<User>, WebError> {
        let password = password.to_string();
        self.0
            .hashing
            .run(move |scratch| dummy_password(scratch).verify_with(&password, scratch))
            .await?;
        Ok(None)
    }

    /// Leads the verification of `key`, or follows the one already running.
    fn join_flight(&self, key: CacheKey) -> Flight<'_> {
        let mut flights = self
            .0
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = flights.get(&key) {
            return Flight::Follow(done.clone());
        }
        let (done, waiters) = watch::channel(());
        flights.insert(key, waiters);
        Flight::Lead(FlightGuard {
            flights: &self.0.in_flight,
            key,
            _done: done,
        })
    }

    /// Counts a failure atomically and locks the user as Keycloak's rules say
    /// ([`brute_force::lock_after`]); a user who becomes locked also loses their cached
    /// verifications, so the lock holds for every client.
    async fn record_login_failure(
        &self,
        realm: &RealmSnapshot,
        user: &User,
        client: Option<IpAddr>,
    ) -> Result<(), WebError> {
        let policy = &realm.realm.brute_force;
        let ip = client.map(|ip| ip.to_string());
        let counted = self
            .0
            .store
            .count_login_failure(FailureAt {
                realm_id: &realm.realm.id,
                user_id: &user.id,
                now_ms: self.now_ms(),
                ip: ip.as_deref(),
                forget_after_ms: brute_force::forget_after_ms(policy),
            })
            .await?;
        if let Some(until) = brute_force::lock_after(policy, counted) {
            self.0
                .store
                .lock_user(&realm.realm.id, &user.id, until)
                .await?;
            tracing::warn!(realm = %realm.realm.name, user = %user.id, failures = counted.failures, "user locked after failed logins");
            self.invalidate_user(&realm.realm.name, &user.id);
        }
        Ok(())
    }

    /// The user's current roles and groups, for grants that carry no password (refresh tokens).
    /// `None` when the user is gone or disabled. Answers are reused for a few seconds: registry
    /// clients refresh on every operation.
    pub async fn resolve_user_by_id(
        &self,
        realm: &RealmSnapshot,
        user_id: &str,
    ) -> Result<Option<Arc<ResolvedUser>>, WebError> {
        let realm_name = &realm.realm.name;
        // Keyed like a verification, with the user id in place of a name and no password.
        let key = self.0.by_id.key(realm_name, user_id, "");
        let now = self.now();
        if let Some(hit) = self.0.by_id.get(&key, now) {
            return Ok(Some(hit));
        }
        let user = self
            .0
            .store
            .find_user_by_id(&realm.realm.id, user_id)
            .await?;
        let Some(user) = user.filter(|u| u.enabled) else {
            return Ok(None);
        };
        let resolved = Arc::new(resolve_user(realm, &user));
        self.0
            .by_id
            .insert(key, realm_name, user_id, resolved.clone(), now);
        Ok(Some(resolved))
    }

    async fn verify_on_pool(
        &self,
        stored: StoredPassword,
        password: String,
    ) -> Result<bool, WebError> {
        self.on_hashing_pool(move |scratch| stored.verify_with(&password, scratch))
            .await
    }

    /// Runs CPU-heavy password work off the async executor on the hashing threads, at most one
    /// job per core at a time, with that thread's reusable argon2 memory.
    async fn on_hashing_pool<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut HashScratch) -> T + Send + 'static,
    ) -> Result<T, WebError> {
        self.0.hashing.run(job).await
    }

    /// A new password for a user: it must pass the realm policy's clauses (against the user's
    /// name and email) and, for an existing user (`user_id`), its `passwordHistory`; it is then
    /// hashed with the policy. The history check and the hash run on the hashing threads.
    pub async fn new_password(
        &self,
        policy: &PasswordPolicy,
        password: &str,
        subject: PolicySubject<'_>,
        user_id: Option<&str>,
    ) -> Result<Result<StoredPassword, PolicyViolation>, WebError> {
        if let Err(violation) = policy.check(password, &subject) {
            return Ok(Err(violation));
        }
        let history = match user_id {
            Some(id) if policy.checks_history() => self.0.store.password_history(id).await?,
            _ => PasswordHistory::default(),
        };
        let (policy, password) = (policy.clone(), password.to_string());
        let hashed = self
            .on_hashing_pool(move |scratch| {
                policy.check_history(&password, &history, scratch)?;
                Ok(StoredPassword::hash_with(&policy, &password, scratch))
            })
            .await?;
        match hashed {
            Ok(Ok(stored)) => Ok(Ok(stored)),
            Ok(Err(e)) => Err(WebError::Pool(format!("hashing a new password: {e}"))),
            Err(violation) => Ok(Err(violation)),
        }
    }

    /// Imported hashes (pbkdf2, older argon2 parameters) move to the realm policy on the next
    /// successful login, as Keycloak does. A failure here must not fail the login.
    async fn rehash_if_outdated(
        &self,
        policy: &PasswordPolicy,
        user: &User,
        stored: &StoredPassword,
        password: &str,
    ) {
        if !stored.needs_rehash(policy) {
            return;
        }
        let (policy, password) = (policy.clone(), password.to_string());
        let rehashed = self
            .on_hashing_pool(move |scratch| StoredPassword::hash_with(&policy, &password, scratch))
            .await;
        let result = match rehashed {
            Ok(Ok(new)) => self.0.store.set_password(&user.id, &new, self.now()).await,
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
