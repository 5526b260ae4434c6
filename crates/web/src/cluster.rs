//! Keeping the caches of several instances on one PostgreSQL database in step.
//!
//! Every instance caches realm snapshots (30 s), verified credentials (60 s), users by id and
//! docker logins. Whatever this instance drops from its caches after a change (an admin write,
//! a disabled user, a password change, a logout, a revocation, a brute-force lock) it also
//! announces with `NOTIFY`; every other instance hears it with `LISTEN` and drops the same
//! entries, so a user disabled on A is refused on B within milliseconds. No request pays a
//! query for this. When the listening connection is lost, the instance connects again and
//! then drops everything it caches, since notices may have been missed meanwhile.
//!
//! SQLite serves one instance: nothing is started.

use std::time::Duration;

use portcullis_store::notify::{Heard, Notices};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::AppState;

/// How long to wait before listening again after the connection was lost.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// How long one attempt to start listening may take.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(5);

/// A change whose cached traces every instance must drop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Change {
    /// Anything about the realm (its settings, roles, groups, clients, keys).
    Realm { realm: String },
    /// One user's password, status, roles or credentials.
    User { realm: String, user: String },
    /// A credential (a docker login) was revoked.
    Credentials,
}

/// A change as it travels: who announced it, so an instance ignores its own.
#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    from: String,
    #[serde(flatten)]
    change: Change,
}

/// Where this instance's changes go to be announced.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: mpsc::UnboundedSender<Change>,
}

impl Outbox {
    pub(crate) fn announce(&self, change: Change) {
        // The receiver lives as long as the runtime; a send after shutdown is moot.
        let _ = self.sender.send(change);
    }
}

/// Starts announcing this instance's changes and hearing the others'. Nothing on SQLite.
pub(crate) fn start(state: &AppState, origin: String) -> Option<Outbox> {
    if !state.store().is_shared() {
        return None;
    }
    let (sender, outbox) = mpsc::unbounded_channel();
    tokio::spawn(announce(state.clone(), origin.clone(), outbox));
    tokio::spawn(listen(state.clone(), origin));
    Some(Outbox { sender })
}

/// Sends each change of this instance as a notice, in order.
async fn announce(state: AppState, origin: String, mut outbox: mpsc::UnboundedReceiver<Change>) {
    while let Some(change) = outbox.recv().await {
        let notice = Notice {
            from: origin.clone(),
            change,
        };
        let result = match serde_json::to_string(&notice) {
            Ok(payload) => state.store().notify(&payload).await,
            Err(e) => Err(portcullis_store::StoreError::Invalid(e.to_string())),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "announcing a change to other instances failed");
        }
    }
}

/// Hears the other instances' notices for as long as the process runs.
async fn listen(state: AppState, origin: String) {
    loop {
        match state.store().listen(LISTEN_TIMEOUT).await {
            Ok(Some(mut notices)) => {
                // Listening again: whatever happened while nobody listened is unknown, so start
                // afresh. Dropping the caches only now, with the channel subscribed, leaves no
                // moment in which a change could be neither heard nor dropped.
                state.forget_everything();
                tracing::info!("hearing other instances' changes");
                match hear(&state, &origin, &mut notices).await {
                    Ok(()) => {
                        tracing::warn!(
                            "lost the connection hearing other instances' changes; reconnecting"
                        );
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot hear other instances' changes; retrying")
                    }
                }
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot hear other instances' changes; retrying");
            }
        }
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

/// Applies notices until the connection is lost (`Ok`) or fails (`Err`).
async fn hear(
    state: &AppState,
    origin: &str,
    notices: &mut Notices,
) -> Result<(), portcullis_store::StoreError> {
    loop {
        match notices.next().await? {
            Heard::Notice(payload) => apply(state, origin, &payload),
            Heard::Gap => return Ok(()),
        }
    }
}

fn apply(state: &AppState, origin: &str, payload: &str) {
    let notice: Notice = match serde_json::from_str(payload) {
        Ok(notice) => notice,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable change notice; dropping every cache");
            state.forget_everything();
            return;
        }
    };
    if notice.from != origin {
        state.forget(&notice.change);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let rows = [
            Change::Realm {
                realm: "acme".into(),
            },
            Change::User {
                realm: "acme".into(),
                user: "u-1".into(),
            },
            Change::Credentials,
        ];
        for change in rows {
            let notice = Notice {
                from: "i-1".into(),
                change: change.clone(),
            };
            let text = serde_json::to_string(&notice).unwrap();
            let back: Notice = serde_json::from_str(&text).unwrap();
            assert_eq!((back.from.as_str(), back.change), ("i-1", change));
        }
        let text = serde_json::to_string(&Notice {
            from: "i".into(),
            change: Change::User {
                realm: "r".into(),
                user: "u".into(),
            },
        })
        .unwrap();
        assert_eq!(text, r#"{"from":"i","kind":"user","realm":"r","user":"u"}"#);
    }
}
