//! Change notices between instances sharing one PostgreSQL database, over `LISTEN/NOTIFY`.
//!
//! Instances cache realm snapshots, verified credentials and docker logins; a change one
//! instance makes must reach the others' caches at once (a user disabled on A must not log in
//! on B). Notices are small text payloads on one channel; what they mean is the caller's (the
//! web layer's) business. SQLite serves one instance, so there is nothing to send or hear.

use std::time::Duration;

use sea_orm::sqlx::postgres::{PgListener, PgPool};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Store;
use crate::error::StoreError;

/// The channel every instance listens on.
const CHANNEL: &str = "portcullis_changes";
/// PostgreSQL refuses payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7_900;

/// A connection that hears the other instances' notices.
pub struct Notices {
    listener: PgListener,
}

/// What the listening connection heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A notice's payload.
    Notice(String),
    /// The connection was lost and is being made again: notices may have been missed.
    Gap,
}

impl Notices {
    /// The next notice, or the news that some may have been missed. An error means the
    /// connection could not be made again; start over with [`Store::listen`].
    pub async fn next(&mut self) -> Result<Heard, StoreError> {
        // `try_recv` reports a lost connection (and reconnects on the next call); `recv` would
        // reconnect silently and hide the gap.
        Ok(match self.listener.try_recv().await? {
            Some(notification) => Heard::Notice(notification.payload().to_string()),
            None => Heard::Gap,
        })
    }
}

impl Store {
    /// Whether several instances may share this database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// Sends a notice to every listening instance (this one too). Nothing on SQLite.
    pub async fn notify(&self, payload: &str) -> Result<(), StoreError> {
        if !self.is_shared() {
            return Ok(());
        }
        if payload.len() > MAX_PAYLOAD {
            return Err(StoreError::Invalid("change notice too large".into()));
        }
        self.db
            .execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        Ok(())
    }

    /// Starts hearing notices; `None` on SQLite. Gives up after `timeout`.
    pub async fn listen(&self, timeout: Duration) -> Result<Option<Notices>, StoreError> {
        if !self.is_shared() {
            return Ok(None);
        }
        let pool: &PgPool = self.db.get_postgres_connection_pool();
        let connect = async {
            let mut listener = PgListener::connect_with(pool).await?;
            // Reconnecting is the caller's: it must flush what it caches after a gap.
            listener.ignore_pool_close_event(true);
            listener.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(listener)
        };
        let listener = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| StoreError::Invalid("listening for change notices timed out".into()))??;
        Ok(Some(Notices { listener }))
    }
}
