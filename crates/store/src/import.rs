//! Realm import: plan (resolve names, hash passwords, read or make keys) off the async
//! executor, then write every row in one transaction.

use sea_orm::{ConnectionTrait, DatabaseConnection, SqlErr};

use crate::entity::{
    client, composite_role, credential, group_role, identity_provider, identity_provider_mapper,
    protocol_mapper, realm, realm_group, realm_key, role, user_entity, user_group, user_role,
};
use crate::error::StoreError;
use crate::plan::{self, Plan, Planner};
use crate::queries::insert_all;
use crate::queries::realm::{delete_realm, realm_by_name};
use crate::representation::RealmRepresentation;
use crate::representation::stream::UserBatch;

/// What [`crate::Store::import_realm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The realm did not exist and was created.
    Created,
    /// The realm existed and `overwrite` replaced it.
    Replaced,
    /// The realm existed and was left alone.
    Skipped,
}

pub(crate) async fn import_realm(
    db: &DatabaseConnection,
    mut rep: RealmRepresentation,
    overwrite: bool,
    now_unix: i64,
) -> Result<ImportOutcome, StoreError> {
    let name = plan::realm_name(&rep)?;
    crate::admin::ensure_realm_management(&mut rep);
    // Checked before the expensive planning too, so a start-up import of existing realms is cheap.
    if !overwrite && realm_by_name(db, &name).await?.is_some() {
        return Ok(ImportOutcome::Skipped);
    }
    let plan = build_plan_blocking(rep, now_unix).await?;
    let txn = crate::transaction::begin_write(db).await?;
    let existing = realm_by_name(&txn, &name).await?;
    let outcome = match (&existing, overwrite) {
        (Some(_), false) => return Ok(ImportOutcome::Skipped),
        (Some(old), true) => {
            delete_realm(&txn, &old.id).await?;
            ImportOutcome::Replaced
        }
        (None, _) => ImportOutcome::Created,
    };
    write_plan(&txn, plan)
        .await
        .map_err(|e| id_collision_as_conflict(e, &name))?;
    txn.commit().await?;
    tracing::info!(realm = %name, ?outcome, "realm imported");
    Ok(outcome)
}

/// Password hashing and RSA key generation take milliseconds each: keep them off the executor.
pub(crate) async fn build_plan_blocking(
    rep: RealmRepresentation,
    now_unix: i64,
) -> Result<Plan, StoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(move || plan::build(&rep, now_unix))
            .await
            .map_err(|e| StoreError::Invalid(format!("realm import task failed: {e}")))?,
        Err(_) => plan::build(&rep, now_unix),
    }
}

/// Within one realm the plan has no duplicates, so a unique violation means an id in the file
/// belongs to another realm (say, an export imported again under a new name).
pub(crate) fn id_collision_as_conflict(err: StoreError, realm: &str) -> StoreError {
    match &err {
        StoreError::Db(db) => match db.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => StoreError::Conflict(format!(
                "realm '{realm}': an id in the file is already used by another realm ({detail})"
            )),
            _ => err,
        },
        _ => err,
    }
}

pub(crate) async fn write_plan<C: ConnectionTrait>(db: &C, plan: Plan) -> Result<(), StoreError> {
    let realm_id = plan.realm.as_ref().map(|r| r.id.clone());
    insert_all::<realm::Entity, _>(db, plan.realm.into_iter().collect()).await?;
    if let Some(realm_id) = &realm_id {
        if let Some(profile) = &plan.user_profile {
            crate::admin::user_profile::set(db, realm_id, profile).await?;
        }
        crate::admin::extras::set(db, realm_id, realm_id, &plan.kept).await?;
        for (owner_id, kept) in &plan.kept_by_owner {
            crate::admin::extras::set(db, realm_id, owner_id, kept).await?;
        }
    }
    insert_all::<realm_key::Entity, _>(db, plan.keys).await?;
    insert_all::<client::Entity, _>(db, plan.clients).await?;
    insert_all::<protocol_mapper::Entity, _>(db, plan.mappers).await?;
    insert_all::<crate::entity::client_scope::Entity, _>(db, plan.client_scopes).await?;
    insert_all::<role::Entity, _>(db, plan.roles).await?;
    insert_all::<composite_role::Entity, _>(db, plan.composites).await?;
    insert_all::<realm_group::Entity, _>(db, plan.groups).await?;
    insert_all::<group_role::Entity, _>(db, plan.group_roles).await?;
    let attributes = crate::queries::user_attribute::rows_of(&plan.users)?;
    insert_all::<user_entity::Entity, _>(db, plan.users).await?;
    insert_all::<crate::entity::user_attribute::Entity, _>(db, attributes).await?;
    insert_all::<credential::Entity, _>(db, plan.credentials).await?;
    insert_all::<user_role::Entity, _>(db, plan.user_roles).await?;
    insert_all::<user_group::Entity, _>(db, plan.user_groups).await?;
    insert_all::<identity_provider::Entity, _>(db, plan.identity_providers).await?;
    insert_all::<identity_provider_mapper::Entity, _>(db, plan.identity_provider_mappers).await?;
    insert_all::<crate::admin::entity::user_federated_identity::Entity, _>(
        db,
        plan.federated_links,
    )
    .await?;
    Ok(())
}

/// Where a streamed import's users come from: called once, on a blocking thread, with the sink
/// to pass each batch to; returns when the users are all read, or with the first error
/// (including the sink's, which stops the reading).
pub type UserSource = Box<
    dyn FnOnce(&mut dyn FnMut(UserBatch) -> Result<(), StoreError>) -> Result<(), StoreError>
        + Send,
>;

/// Told how many users are written so far, after every batch.
pub type ImportProgress<'a> = &'a (dyn Fn(u64) + Send + Sync);

/// Batches planned but not yet written: reading and planning run ahead of the writes by this
/// much, and no more, so memory stays bounded by a few batches.
const BATCHES_IN_FLIGHT: usize = 2;

/// Imports `rep` (whose own `users`, if any, come first) with the users of `users`, a batch at a
/// time, in one transaction: a bad record anywhere leaves nothing behind, and only a few
/// batches are in memory at once. Reading and planning (password hashing of plain `value`s)
/// run on a blocking thread beside the writes.
pub(crate) async fn import_realm_streamed(
    db: &DatabaseConnection,
    mut rep: RealmRepresentation,
    users: UserSource,
    overwrite: bool,
    now_unix: i64,
    progress: ImportProgress<'_>,
) -> Result<ImportOutcome, StoreError> {
    let name = plan::realm_name(&rep)?;
    crate::admin::ensure_realm_management(&mut rep);
    if !overwrite && realm_by_name(db, &name).await?.is_some() {
        return Ok(ImportOutcome::Skipped);
    }
    let inline = rep.users.take().unwrap_or_default();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(u64, Plan)>(BATCHES_IN_FLIGHT);
    let producer = tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
        let mut planner = Planner::start(&rep, now_unix)?;
        drop(rep);
        let send = |written: u64, plan: Plan| {
            tx.blocking_send((written, plan))
                .map_err(|_| StoreError::Invalid("the import stopped".into()))
        };
        send(0, planner.take_rows())?;
        let mut sink = |batch: UserBatch| -> Result<(), StoreError> {
            for (offset, user) in batch.users.iter().enumerate() {
                let index = batch.first_index + offset as u64;
                planner.user(user).map_err(|e| at_user(e, index))?;
            }
            send(batch.users.len() as u64, planner.take_rows())
        };
        if !inline.is_empty() {
            sink(UserBatch {
                first_index: 0,
                users: inline,
            })?;
        }
        users(&mut sink)?;
        send(0, planner.finish()?)
    });

    let txn = crate::transaction::begin_write(db).await?;
    let existing = realm_by_name(&txn, &name).await?;
    let outcome = match (&existing, overwrite) {
        (Some(_), false) => {
            drop(rx);
            let _ = producer.await;
            return Ok(ImportOutcome::Skipped);
        }
        (Some(old), true) => {
            delete_realm(&txn, &old.id).await?;
            ImportOutcome::Replaced
        }
        (None, _) => ImportOutcome::Created,
    };
    let mut written = 0;
    while let Some((users, plan)) = rx.recv().await {
        if let Err(e) = write_plan(&txn, plan).await {
            // The reader stops at its next batch; the transaction rolls back when dropped.
            drop(rx);
            let _ = producer.await;
            return Err(id_collision_as_conflict(e, &name));
        }
        if users > 0 {
            written += users;
            progress(written);
        }
    }
    producer
        .await
        .map_err(|e| StoreError::Invalid(format!("realm import task failed: {e}")))??;
    txn.commit().await?;
    tracing::info!(realm = %name, ?outcome, users = written, "realm imported");
    Ok(outcome)
}

/// Names the user record a planning error is about: `users[5123]: user 'x' refers to ...`.
fn at_user(err: StoreError, index: u64) -> StoreError {
    match err {
        StoreError::Invalid(message) => StoreError::Invalid(format!("users[{index}]: {message}")),
        other => other,
    }
}
