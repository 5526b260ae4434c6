//! The sweeper: a background task that deletes expired sessions, codes and tokens, and login
//! and admin events older than their realm keeps them (`eventsExpiration`,
//! `adminEventsExpiration`) ([`Store::sweep_expired`]). Nothing else removes them, so without
//! it the tables only grow.

use std::sync::Arc;
use std::time::Duration;

use portcullis_core::clock::Clock;
use portcullis_store::{SWEEP_BATCH, Store};
use tokio::time::{Instant, MissedTickBehavior};

/// How often the sweeper runs. Expired rows are harmless (every reader checks expiry), so a few
/// minutes' delay costs nothing, while running often would compete with requests for SQLite's
/// single writer. Every instance on a shared database sweeps; the deletes are idempotent.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Starts the sweeper. Its first run is one interval after start-up, so start-up stays fast.
pub fn spawn(store: Store, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + SWEEP_INTERVAL, SWEEP_INTERVAL);
        // After a stall (a suspended machine), run once, not once per missed interval.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            sweep_once(&store, clock.as_ref()).await;
        }
    });
}

/// One sweep; a failure is logged and the next run tries again.
async fn sweep_once(store: &Store, clock: &dyn Clock) {
    match store.sweep_expired(clock.now_unix(), SWEEP_BATCH).await {
        Ok(report) if report.total() > 0 => tracing::info!(
            user_sessions = report.user_sessions,
            auth_codes = report.auth_codes,
            refresh_tokens = report.refresh_tokens,
            device_codes = report.device_codes,
            docker_refresh_tokens = report.docker_refresh_tokens,
            revoked_tokens = report.revoked_tokens,
            login_failures = report.login_failures,
            login_events = report.login_events,
            admin_events = report.admin_events,
            "swept expired rows"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "sweeping expired rows failed"),
    }
}
