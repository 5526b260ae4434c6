//! The state every handler receives.

use std::sync::{Arc, LazyLock};

use portcullis_core::clock::Clock;
use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::password::{PasswordPolicy, StoredPassword};
use portcullis_core::resolve::{ResolvedUser, resolve_user};
use portcullis_core::verified_cache::VerifiedCache;
use portcullis_store::Store;
use tokio::sync::Semaphore;

use crate::WebError;
use crate::realm_cache::RealmCache;

/// Successful verifications are remembered this long (the issue allows at most 60 s).
const VERIFIED_TTL_SECS: i64 = 60;
const VERIFIED_CAPACITY: usize = 10_000;

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
    /// Bounds concurrent password hashes so a burst of logins cannot starve token signing.
    hashing: Semaphore,
}

impl AppState {
    pub fn new(store: Store, clock: Arc<dyn Clock>, urls: Urls) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self(Arc::new(Inner {
            store,
            clock,
            urls,
            realms: RealmCache::default(),
            verified: VerifiedCache::new(VERIFIED_CAPACITY, VERIFIED_TTL_SECS),
            hashing: Semaphore::new(cores),
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
        let Some(snapshot) = self.0.store.load_realm_snapshot(name).await? else {
            return Ok(None);
        };
        let snapshot = Arc::new(snapshot);
        self.0.realms.put(snapshot.clone(), now);
        Ok(Some(snapshot))
    }

    /// Drops everything cached about a realm, after this process changed it.
    pub fn invalidate_realm(&self, name: &str) {
        self.0.realms.forget(name);
        self.0.verified.forget_realm(name);
    }

    /// Drops cached verifications of one user (password changed, user disabled or deleted).
    pub fn invalidate_user(&self, realm: &str, user_id: &str) {
        self.0.verified.forget_user(realm, user_id);
    }

    /// Checks a username and password. `None` for an unknown user, a wrong password or a disabled
    /// user, indistinguishably. Recent successes are answered from the verified-credentials cache;
    /// everything else pays one hash on the bounded blocking pool.
    pub async fn authenticate_password(
        &self,
        realm: &RealmSnapshot,
        username: &str,
        password: &str,
    ) -> Result<Option<Arc<ResolvedUser>>, WebError> {
        let username = username.to_lowercase();
        let realm_name = &realm.realm.name;
        let key = self.0.verified.key(realm_name, &username, password);
        let now = self.now();
        if let Some(hit) = self.0.verified.get(&key, now) {
            return Ok(Some(hit));
        }
        let found = self
            .0
            .store
            .find_user_by_username(&realm.realm.id, &username)
            .await?;
        let (user, stored) = match found {
            Some((user, Some(stored))) if user.enabled => (user, stored),
            _ => {
                // Spend the same time as a real check, so response times do not reveal which
                // usernames exist.
                self.verify_on_pool(dummy_password().clone(), password.to_string())
                    .await?;
                return Ok(None);
            }
        };
        if !self
            .verify_on_pool(stored.clone(), password.to_string())
            .await?
        {
            return Ok(None);
        }
        self.rehash_if_outdated(&realm.realm.password_policy, &user, &stored, password)
            .await;
        let resolved = Arc::new(resolve_user(realm, &user));
        self.0
            .verified
            .insert(key, realm_name, &user.id, resolved.clone(), now);
        Ok(Some(resolved))
    }

    /// The user's current roles and groups, for grants that carry no password (refresh tokens).
    /// `None` when the user is gone or disabled.
    pub async fn resolve_user_by_id(
        &self,
        realm: &RealmSnapshot,
        user_id: &str,
    ) -> Result<Option<Arc<ResolvedUser>>, WebError> {
        let user = self
            .0
            .store
            .find_user_by_id(&realm.realm.id, user_id)
            .await?;
        Ok(user
            .filter(|u| u.enabled)
            .map(|u| Arc::new(resolve_user(realm, &u))))
    }

    async fn verify_on_pool(
        &self,
        stored: StoredPassword,
        password: String,
    ) -> Result<bool, WebError> {
        self.on_hashing_pool(move || stored.verify(&password)).await
    }

    /// Runs CPU-heavy password work off the async executor, at most one job per core at a time.
    async fn on_hashing_pool<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WebError> {
        let _permit = self
            .0
            .hashing
            .acquire()
            .await
            .map_err(|e| WebError::Pool(e.to_string()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| WebError::Pool(e.to_string()))
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
            .on_hashing_pool(move || StoredPassword::hash(&policy, &password))
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
/// exist so that the response takes as long as a real check.
fn dummy_password() -> &'static StoredPassword {
    static DUMMY: LazyLock<StoredPassword> = LazyLock::new(|| {
        StoredPassword::hash(&PasswordPolicy::default(), "portcullis-timing-equaliser").unwrap_or(
            StoredPassword {
                algorithm: "argon2".into(),
                iterations: 5,
                salt: vec![0; 16],
                hash: vec![0; 32],
                additional_parameters: Default::default(),
            },
        )
    });
    &DUMMY
}
