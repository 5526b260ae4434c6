//! The state every handler receives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use portcullis_core::clock::Clock;
use portcullis_core::epoch_cache::EpochCache;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::{
    HashScratch, PasswordHistory, PasswordPolicy, PolicySubject, PolicyViolation, StoredPassword,
};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_core::verified_cache::VerifiedCache;
use portcullis_store::{RefreshTokenRecord, Store, StoreError, UserSession};

use crate::WebError;
use crate::authenticator::{Attempt, Authenticator, Verification};
use crate::cluster::{self, Change};
use crate::events::{EventQueue, LoginEvent};
use crate::hashing::HashingPool;
use crate::realm_cache::RealmCache;

/// Users looked up by id (refresh grants) kept at most.
const BY_ID_CAPACITY: usize = 1_024;
/// Users looked up by id (refresh grants) are reused this long; changes made through this
/// process drop them at once, changes by another instance show within this time.
const BY_ID_TTL_SECS: i64 = 10;
/// SSO sessions and OIDC refresh-token rows kept at most, each (see [`EpochCache`]).
const LIVE_ROWS_CAPACITY: usize = 50_000;
/// How long a cached session or refresh-token row is reused within its cache epoch.
const LIVE_ROWS_TTL_SECS: i64 = 10;

/// An enabled user as [`AppState::user_by_id`] found them, with their effective roles and groups.
#[derive(Debug)]
pub struct LiveUser {
    pub user: User,
    pub resolved: Arc<ResolvedUser>,
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
    /// Verifies presented secrets: caches, rate limits, brute-force accounting.
    authenticator: Authenticator,
    by_id: VerifiedCache<Arc<LiveUser>>,
    /// SSO sessions by id and OIDC refresh-token rows by `jti`, for refresh grants and
    /// bearer checks: trusted only within the cache epoch they were read in.
    sessions: EpochCache<UserSession>,
    refresh_rows: EpochCache<RefreshTokenRecord>,
    /// One thread per core (or as configured), each with its own argon2 memory: bounds both
    /// the CPU a burst of logins takes from token signing and the memory it leaves behind.
    hashing: HashingPool,
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
            authenticator: Authenticator::default(),
            by_id: VerifiedCache::new(BY_ID_CAPACITY, BY_ID_TTL_SECS),
            sessions: EpochCache::new(LIVE_ROWS_CAPACITY, LIVE_ROWS_TTL_SECS),
            refresh_rows: EpochCache::new(LIVE_ROWS_CAPACITY, LIVE_ROWS_TTL_SECS),
            hashing: HashingPool::new(threads),
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
        let generation = self.0.realms.generation();
        let Some(mut snapshot) = self.0.store.load_realm_snapshot(name).await? else {
            return Ok(None);
        };
        self.resolve_relative_redirects(&mut snapshot);
        let snapshot = Arc::new(snapshot);
        self.0.realms.put(snapshot.clone(), now, generation);
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

    /// Drops every cached row of a live credential (a docker login was revoked, an SSO session
    /// ended, a refresh token revoked), here and on every instance. Call it after the write has
    /// committed.
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
                self.0.authenticator.forget_realm(realm);
                self.0.by_id.forget_realm(realm);
            }
            Change::User { realm, user } => {
                self.0.authenticator.forget_user(realm, user);
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
        self.0.authenticator.forget_all();
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

    /// The one service that verifies presented secrets (see [`crate::authenticator`]).
    pub fn authenticator(&self) -> &Authenticator {
        &self.0.authenticator
    }

    /// Verifies a username and secret against the sources the attempt accepts:
    /// [`Authenticator::verify`].
    pub async fn authenticate(&self, attempt: Attempt<'_>) -> Result<Verification, WebError> {
        self.0.authenticator.verify(self, attempt).await
    }

    /// Milliseconds of the clock: rate limits and brute-force detection count in them.
    pub(crate) fn now_ms(&self) -> i64 {
        self.0.clock.now_unix_ms()
    }

    /// The user's current roles and groups, for grants that carry no password (refresh tokens).
    /// `None` when the user is gone or disabled. Answers are reused for a few seconds: registry
    /// clients refresh on every operation.
    pub async fn resolve_user_by_id(
        &self,
        realm: &RealmSnapshot,
        user_id: &str,
    ) -> Result<Option<Arc<ResolvedUser>>, WebError> {
        Ok(self
            .user_by_id(realm, user_id)
            .await?
            .map(|live| live.resolved.clone()))
    }

    /// The enabled user with their current roles and groups, for grants that carry no password
    /// (refresh tokens). `None` when the user is gone or disabled. Answers are reused for a few
    /// seconds ([`BY_ID_TTL_SECS`]) and dropped at once by any change to the user or realm
    /// ([`AppState::invalidate_user`], [`AppState::invalidate_realm`]).
    pub async fn user_by_id(
        &self,
        realm: &RealmSnapshot,
        user_id: &str,
    ) -> Result<Option<Arc<LiveUser>>, WebError> {
        let realm_name = &realm.realm.name;
        // Keyed like a verification, with the user id in place of a name and no password.
        let key = self.0.by_id.key(realm_name, user_id, "");
        let now = self.now();
        if let Some(hit) = self.0.by_id.get(&key, now) {
            return Ok(Some(hit));
        }
        let read_at = self.0.by_id.generation();
        let user = self
            .0
            .store
            .find_user_by_id(&realm.realm.id, user_id)
            .await?;
        let Some(user) = user.filter(|u| u.enabled) else {
            return Ok(None);
        };
        let resolved = Arc::new(resolve_user(realm, &user));
        let live = Arc::new(LiveUser { user, resolved });
        self.0
            .by_id
            .insert(key, realm_name, user_id, live.clone(), now, read_at);
        Ok(Some(live))
    }

    /// The SSO session `id`: a cached copy when one read in the current cache epoch passes
    /// `usable`, else the row read now. A session that fails `usable` is always read again
    /// first, so a stale copy can keep a session alive only until the epoch moves (every way
    /// of ending one moves it), never end it early.
    pub async fn user_session(
        &self,
        id: &str,
        usable: impl Fn(&UserSession) -> bool,
    ) -> Result<Option<UserSession>, WebError> {
        let store = &self.0.store;
        self.live_row(&self.0.sessions, id, usable, || store.find_user_session(id))
            .await
    }

    /// Notes that this instance wrote the session's `last_seen_at`.
    pub fn session_touched(&self, id: &str, now: i64) {
        self.0.sessions.update(id, |s| s.last_seen_at = now);
    }

    /// The OIDC refresh-token row `jti`, cached as [`AppState::user_session`] is.
    pub async fn refresh_token_row(
        &self,
        jti: &str,
        usable: impl Fn(&RefreshTokenRecord) -> bool,
    ) -> Result<Option<RefreshTokenRecord>, WebError> {
        let store = &self.0.store;
        self.live_row(&self.0.refresh_rows, jti, usable, || {
            store.find_refresh_token(jti)
        })
        .await
    }

    /// Notes that this instance pushed the refresh-token row's expiry to `until`.
    pub fn refresh_token_extended(&self, jti: &str, until: i64) {
        self.0.refresh_rows.update(jti, |r| r.expires_at = until);
    }

    async fn live_row<V: Clone, F: Future<Output = Result<Option<V>, StoreError>>>(
        &self,
        cache: &EpochCache<V>,
        key: &str,
        usable: impl Fn(&V) -> bool,
        read: impl FnOnce() -> F,
    ) -> Result<Option<V>, WebError> {
        let now = self.now();
        // Read before the row: an invalidation racing with the read leaves the entry stale.
        let epoch = self.cache_epoch();
        if let Some(row) = cache.get(key, now, epoch).filter(|row| usable(row)) {
            return Ok(Some(row));
        }
        let row = read().await?;
        if let Some(row) = &row {
            cache.put(key, row.clone(), now, epoch);
        }
        Ok(row)
    }

    /// Runs CPU-heavy password work off the async executor on the hashing threads, at most one
    /// job per core at a time, with that thread's reusable argon2 memory.
    pub(crate) async fn on_hashing_pool<T: Send + 'static>(
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
}
