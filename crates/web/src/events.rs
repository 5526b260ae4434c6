//! Login and token events (Keycloak's user events), written off the request path.
//!
//! A token endpoint answers thousands of requests a second; one database write each would make
//! the event log its bottleneck. Requests hand their event to a bounded queue and go on; one
//! task per process wakes at the first event, lets others gather for [`GATHER_MS`], and writes
//! up to [`BATCH`] of them in one transaction
//! ([`portcullis_store::admin::events::LoginEventWriter`]). When the queue is full (the
//! database cannot keep up), events are dropped and counted in a warning rather than slowing
//! the requests. Events of a realm deleted in the meantime are left out of their batch; a
//! batch the database refuses is dropped whole, with a warning.
//! The sweeper deletes events older than the retention
//! (`portcullis_store::LOGIN_EVENT_RETENTION_SECS`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portcullis_core::model::RealmSnapshot;
use portcullis_store::admin::events::LoginEventWriter;
use portcullis_store::entity::login_event;
use tokio::sync::{mpsc, oneshot};

use crate::AppState;

/// Events waiting to be written, at most.
const QUEUE: usize = 8192;
/// How long the writer lets events gather after the first: at 50,000 grants a second that is
/// 2,500 events, well inside [`QUEUE`].
const GATHER_MS: u64 = 50;
/// Events per transaction, at most: five full insert statements. At 20,000 grants a second
/// that is 20 commits a second rather than the 100 of a commit per statement.
const BATCH: usize = 5 * portcullis_store::admin::events::LOGIN_EVENT_BATCH;

/// One event, as a request reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginEvent {
    /// The realm's name.
    pub realm: String,
    /// Keycloak's type: `LOGIN`, `LOGIN_ERROR`, `CODE_TO_TOKEN`, `REFRESH_TOKEN`, ... and
    /// `DOCKER_TOKEN` / `DOCKER_TOKEN_ERROR`.
    pub kind: &'static str,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub session_id: Option<String>,
    pub ip_address: Option<String>,
    pub error: Option<String>,
    pub details: BTreeMap<&'static str, String>,
}

pub(crate) enum Queued {
    Event(Box<LoginEvent>, i64),
    /// Write everything queued before this, then answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side, started with the first event.
pub(crate) struct EventQueue {
    sender: mpsc::Sender<Queued>,
    dropped: AtomicU64,
}

impl EventQueue {
    pub(crate) fn start(state: &AppState) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(state.clone(), receiver));
        Self {
            sender,
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) fn push(&self, event: LoginEvent, now_ms: i64) {
        if self
            .sender
            .try_send(Queued::Event(Box::new(event), now_ms))
            .is_err()
        {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "login events dropped: the database cannot keep up");
            }
        }
    }

    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Queued::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_loop(state: AppState, mut receiver: mpsc::Receiver<Queued>) {
    let mut writer = state.store().login_event_writer();
    let mut queued: Vec<Queued> = Vec::with_capacity(BATCH);
    loop {
        if receiver.recv_many(&mut queued, BATCH).await == 0 {
            return; // every sender is gone
        }
        // Let a batch gather: one wake-up and one insert per interval under load, rather than
        // a wake-up of this task for every event.
        if queued.len() < BATCH && !queued.iter().any(|q| matches!(q, Queued::Flush(_))) {
            tokio::time::sleep(Duration::from_millis(GATHER_MS)).await;
            while queued.len() < BATCH {
                match receiver.try_recv() {
                    Ok(next) => queued.push(next),
                    Err(_) => break,
                }
            }
        }
        let mut batch = Vec::with_capacity(queued.len());
        let mut waiting = Vec::new();
        for item in queued.drain(..) {
            match item {
                Queued::Event(event, time) => batch.push((*event, time)),
                Queued::Flush(done) => waiting.push(done),
            }
        }
        // Every event queued before a flush request is in this batch.
        write(&state, &mut writer, batch).await;
        for done in waiting {
            let _ = done.send(());
        }
    }
}

async fn write(state: &AppState, writer: &mut LoginEventWriter, batch: Vec<(LoginEvent, i64)>) {
    let mut rows = Vec::with_capacity(batch.len());
    // A batch usually holds one realm's events: look each realm up once.
    let mut realms: HashMap<String, Option<Arc<RealmSnapshot>>> = HashMap::new();
    for (event, time) in batch {
        let realm = match realms.get(&event.realm) {
            Some(realm) => realm.clone(),
            None => {
                let realm = state.realm(&event.realm).await.ok().flatten();
                realms.insert(event.realm.clone(), realm.clone());
                realm
            }
        };
        // Events name their realm; an unknown realm's events are not kept.
        let Some(realm) = realm else {
            continue;
        };
        // The realm's events settings (`eventsEnabled`, `enabledEventTypes`) decide.
        if !realm.realm.records_event(event.kind) {
            continue;
        }
        let details = (!event.details.is_empty())
            .then(|| serde_json::to_string(&event.details).unwrap_or_default());
        rows.push(login_event::Model {
            // UUID v7 ids grow with time, so events of one millisecond keep their order.
            id: uuid::Uuid::now_v7().to_string(),
            realm_id: realm.realm.id.clone(),
            time,
            event_type: event.kind.to_string(),
            client_id: event.client_id.map(|c| cut(c, 255)),
            user_id: event.user_id,
            username: event.username.map(|u| cut(u, 255)),
            session_id: event.session_id,
            ip_address: event.ip_address,
            error: event.error.map(|e| cut(e, 255)),
            details,
        });
    }
    if let Err(e) = writer.write(rows).await {
        tracing::warn!(error = %e, "login events not written");
    }
}

/// At most `max` bytes, cut at a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
