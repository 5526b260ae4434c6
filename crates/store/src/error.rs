//! The store's error type.

use portcullis_core::keys::KeyError;
use portcullis_core::password::PasswordError;

/// What can go wrong reading or writing the database, or importing a realm file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// Bad input: an unparsable realm file or a reference to something that does not exist.
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("key error: {0}")]
    Key(#[from] KeyError),
    #[error("password error: {0}")]
    Password(#[from] PasswordError),
    /// The connection that hears other instances' change notices failed.
    #[error("change notices: {0}")]
    Notices(#[from] sea_orm::sqlx::Error),
}

impl StoreError {
    /// Stored JSON that no longer parses: the database was edited by hand or is corrupt.
    pub(crate) fn corrupt(what: &str, err: serde_json::Error) -> Self {
        StoreError::Invalid(format!("stored {what} is not valid JSON: {err}"))
    }
}
