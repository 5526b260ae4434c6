//! Realm snapshots, loaded once and shared by every request.
//!
//! Snapshots are dropped when this process changes the realm, and reloaded after a short time to
//! pick up changes made by another process (an `import` run, a second instance on PostgreSQL).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use portcullis_core::model::RealmSnapshot;

/// How long a snapshot is trusted before it is reloaded from the database.
pub(crate) const SNAPSHOT_TTL_SECS: i64 = 30;

#[derive(Default)]
pub(crate) struct RealmCache {
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    snapshots: HashMap<String, (Arc<RealmSnapshot>, i64)>,
    /// Counts the forgets. A snapshot read from the database while a change committed may hold
    /// the old state: the loader notes the generation before it reads, and its snapshot is kept
    /// only if nothing was forgotten in between.
    generation: u64,
}

impl RealmCache {
    pub(crate) fn get(&self, name: &str, now: i64) -> Option<Arc<RealmSnapshot>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (snapshot, loaded_at) = entries.snapshots.get(name)?;
        (now - loaded_at < SNAPSHOT_TTL_SECS).then(|| snapshot.clone())
    }

    /// The generation to pass to [`RealmCache::put`]: note it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.entries
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .generation
    }

    /// Keeps `snapshot` unless something was forgotten since `generation` was noted.
    pub(crate) fn put(&self, snapshot: Arc<RealmSnapshot>, now: i64, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.generation == generation {
            entries
                .snapshots
                .insert(snapshot.realm.name.clone(), (snapshot, now));
        }
    }

    pub(crate) fn forget(&self, name: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.snapshots.remove(name);
        entries.generation += 1;
    }

    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.snapshots.clear();
        entries.generation += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::model::Realm;

    fn snapshot(name: &str) -> Arc<RealmSnapshot> {
        Arc::new(RealmSnapshot {
            realm: Realm {
                name: name.into(),
                ..Realm::default()
            },
            roles: Vec::new(),
            groups: Vec::new(),
            clients: Vec::new(),
            client_scopes: Vec::new(),
            keys: Vec::new(),
        })
    }

    #[test]
    fn a_snapshot_read_before_a_change_is_not_kept_after_it() {
        let cache = RealmCache::default();
        // A loader notes the generation, then reads the old state from the database...
        let before = cache.generation();
        // ...while a change commits and is forgotten.
        cache.forget("acme");
        cache.put(snapshot("acme"), 0, before);
        assert!(cache.get("acme", 0).is_none());

        // Loaded after the change, it is kept (until the next change or its time is up).
        let after = cache.generation();
        cache.put(snapshot("acme"), 0, after);
        assert!(cache.get("acme", 1).is_some());
        assert!(cache.get("acme", SNAPSHOT_TTL_SECS).is_none());
        cache.forget_all();
        assert!(cache.get("acme", 1).is_none());
        cache.put(snapshot("acme"), 0, after);
        assert!(cache.get("acme", 1).is_none());
    }
}
