//! Queries behind [`crate::Store`]'s methods, and small helpers they share.

pub mod app_password;
pub(crate) mod consent;
pub(crate) mod device;
pub(crate) mod docker;
pub(crate) mod login_failure;
pub(crate) mod realm;
pub(crate) mod revocation;
pub mod robot;
pub(crate) mod session;
pub(crate) mod sign_out;
pub(crate) mod sweep;
pub(crate) mod user;
pub(crate) mod user_attribute;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StoreError;

/// Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits for our widest
/// table.
const INSERT_CHUNK: usize = 200;

/// Serializes a JSON column value.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("value cannot be stored as JSON: {e}")))
}

/// Parses a JSON column value; `what` names it in the error.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

/// A client secret: 256 random bits, base64url.
pub(crate) fn random_secret() -> Result<String, StoreError> {
    Ok(portcullis_core::secrets::new_secret())
}

/// Inserts rows in chunks, without `RETURNING` (ids are always set by the caller).
pub(crate) async fn insert_all<E, C>(db: &C, rows: Vec<E::Model>) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E>,
    C: ConnectionTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<E::ActiveModel> = rows
            .by_ref()
            .take(INSERT_CHUNK)
            .map(IntoActiveModel::into_active_model)
            .collect();
        E::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}
