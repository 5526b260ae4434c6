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
    entries: RwLock<HashMap<String, (Arc<RealmSnapshot>, i64)>>,
}

impl RealmCache {
    pub(crate) fn get(&self, name: &str, now: i64) -> Option<Arc<RealmSnapshot>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (snapshot, loaded_at) = entries.get(name)?;
        (now - loaded_at < SNAPSHOT_TTL_SECS).then(|| snapshot.clone())
    }

    pub(crate) fn put(&self, snapshot: Arc<RealmSnapshot>, now: i64) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.insert(snapshot.realm.name.clone(), (snapshot, now));
    }

    pub(crate) fn forget(&self, name: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.remove(name);
    }

    pub(crate) fn forget_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.clear();
    }
}
