//! `POST /admin/realms`: the realm-file importer, inside the caller's transaction.
//!
//! Planning (password hashing, key generation) takes milliseconds per user and key, so it runs
//! before the transaction starts; only the writes hold the database.

use sea_orm::ConnectionTrait;

use crate::error::StoreError;
use crate::import::{build_plan_blocking, id_collision_as_conflict, write_plan};
use crate::plan::{self, Plan};
use crate::queries::realm::realm_by_name;
use crate::representation::RealmRepresentation;

/// A realm ready to be written: every reference resolved, passwords hashed, keys made.
#[derive(Debug)]
pub struct PlannedRealm {
    name: String,
    plan: Plan,
}

impl PlannedRealm {
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Plans the realm `rep` describes, with the `realm-management` client added;
/// [`StoreError::Invalid`] for a dangling or duplicate reference.
pub async fn plan_realm(
    mut rep: RealmRepresentation,
    now_unix: i64,
) -> Result<PlannedRealm, StoreError> {
    let name = plan::realm_name(&rep)?;
    super::ensure_realm_management(&mut rep);
    let plan = build_plan_blocking(rep, now_unix).await?;
    Ok(PlannedRealm { name, plan })
}

/// Writes a planned realm and returns its id; [`StoreError::Conflict`] if a realm of that name
/// exists or an id in it belongs to another realm.
pub async fn create_realm<C: ConnectionTrait>(
    db: &C,
    planned: PlannedRealm,
) -> Result<String, StoreError> {
    let PlannedRealm { name, plan } = planned;
    if realm_by_name(db, &name).await?.is_some() {
        return Err(StoreError::Conflict(format!("realm {name} exists")));
    }
    let id = plan
        .realm
        .as_ref()
        .map(|r| r.id.clone())
        .ok_or_else(|| StoreError::Invalid("the realm plan has no realm".into()))?;
    write_plan(db, plan)
        .await
        .map_err(|e| id_collision_as_conflict(e, &name))?;
    Ok(id)
}
