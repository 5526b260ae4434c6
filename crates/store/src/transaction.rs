//! The one way the store starts a transaction.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, TransactionTrait};

use crate::error::StoreError;

/// A write that changes nothing: on SQLite it takes the write lock at once, waiting for it.
const TAKE_WRITE_LOCK: &str = "UPDATE realm SET name = name WHERE 1 = 0";

/// Starts a write transaction on a connection, or a savepoint inside a transaction; dropping it
/// without [`DatabaseTransaction::commit`] rolls back.
///
/// On SQLite the write lock is taken up front. A deferred transaction that reads first and then
/// writes fails at once (`SQLITE_BUSY_SNAPSHOT`, whatever the busy timeout) when another
/// connection committed in between, which the login-event writer does every 50 ms under load;
/// waiting for the lock at the start honours the busy timeout instead.
pub(crate) async fn begin_write<C: TransactionTrait>(
    db: &C,
) -> Result<DatabaseTransaction, StoreError> {
    let txn = db.begin().await?;
    if txn.get_database_backend() == DbBackend::Sqlite {
        txn.execute_unprepared(TAKE_WRITE_LOCK).await?;
    }
    Ok(txn)
}
