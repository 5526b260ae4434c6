//! Open connections: what each is waiting for, its deadline, and the connection cap.
//!
//! A connection is either *busy* (a request's headers have arrived and its response is not
//! yet written) or *waiting* (for the headers of its first request since accept, or for the next
//! request of a keep-alive connection). Only waiting connections time out here (the body has its
//! own deadline, see `body.rs`) and only they are evicted: they cost a descriptor and have given
//! the server nothing to do.
//!
//! Deadlines, in one place:
//! - from accept (TLS handshake included) to complete headers: the header-read timeout;
//! - an idle keep-alive connection: the keep-alive timeout, until the first byte of its next
//!   request arrives; from that byte, the header-read timeout.
//!
//! A byte every few seconds does not extend anything, so a slow-header client holds its
//! descriptor at most the header-read timeout.
//!
//! A busy connection has one deadline here: a response the client has stopped reading (the
//! socket accepts nothing) is abandoned after [`WRITE_STALL_TIMEOUT`], so that clients which
//! never read cannot keep connections busy, and so unevictable, forever.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Evicted connections whose task has not yet dropped them still hold a descriptor. With this
/// many pending, a newcomer waits for one to close, so a burst of accepts cannot outrun the
/// closing.
const MAX_PENDING_EVICTIONS: usize = 32;

/// How long a response may wait for the client to read some of it.
pub const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A monotonic clock in milliseconds since the registry was made; 0 means "not set".
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn now_ms(&self) -> u64 {
        // +1: a connection accepted in the first millisecond must not read as "not set".
        self.0.elapsed().as_millis() as u64 + 1
    }

    pub fn instant(&self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms.saturating_sub(1))
    }
}

/// The timeouts that apply to waiting connections.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub keep_alive: Duration,
}

impl Timeouts {
    /// How long a watchdog may sleep without looking at its connection again. A state change
    /// at time `t` (a request begins or ends, a byte or a stalled write) never makes a deadline
    /// earlier than `t + tick`, so a watchdog that looks at least every tick is never late,
    /// and no state change needs to wake it.
    pub fn tick(&self) -> Duration {
        self.header_read
            .min(self.keep_alive)
            .min(WRITE_STALL_TIMEOUT)
    }
}

/// One connection's state, shared by its task, its I/O wrapper and its requests.
pub struct Conn {
    id: u64,
    clock: Clock,
    /// Requests whose headers arrived and whose response is not finished.
    busy: AtomicU32,
    /// When the current wait began: accept, or the end of the last response.
    waiting_since: AtomicU64,
    /// When the request being waited for began: accept for the first request, else the first
    /// byte read after the last response. 0: none yet (an idle keep-alive connection).
    request_started: AtomicU64,
    /// Since when writing to the client has been blocked (0: it is not).
    write_stalled_since: AtomicU64,
    evicted: AtomicBool,
    /// Wakes the connection's watchdog when it is evicted. State changes do not wake it (that
    /// would cost every request a wake-up and a timer): see [`Timeouts::tick`].
    wake: Notify,
}

/// What a connection's watchdog should do now.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// Close the connection.
    Close,
    /// Check again at this instant.
    At(Instant),
    /// Busy: nothing to time out until the state changes.
    Never,
}

impl Conn {
    /// Bytes arrived from the client.
    pub fn on_read(&self) {
        if self.busy.load(Ordering::Acquire) == 0
            && self.request_started.load(Ordering::Acquire) == 0
        {
            let now = self.clock.now_ms();
            let _ =
                self.request_started
                    .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// A write to the client could not proceed (the socket buffer is full).
    pub fn on_write_blocked(&self) {
        if self.write_stalled_since.load(Ordering::Acquire) == 0 {
            let now = self.clock.now_ms();
            let _ = self.write_stalled_since.compare_exchange(
                0,
                now,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }

    /// A write to the client went through.
    pub fn on_write_progress(&self) {
        if self.write_stalled_since.load(Ordering::Acquire) != 0 {
            self.write_stalled_since.store(0, Ordering::Release);
        }
    }

    /// A request's headers arrived; the guard marks the end of its response.
    pub fn begin_request(self: &std::sync::Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        BusyGuard(self.clone())
    }

    pub fn is_evicted(&self) -> bool {
        self.evicted.load(Ordering::Acquire)
    }

    /// Resolves when the watchdog should look again.
    pub async fn woken(&self) {
        self.wake.notified().await
    }

    pub fn due(&self, timeouts: &Timeouts) -> Due {
        if self.is_evicted() {
            return Due::Close;
        }
        if self.busy.load(Ordering::Acquire) > 0 {
            let stalled = self.write_stalled_since.load(Ordering::Acquire);
            if stalled == 0 {
                return Due::Never;
            }
            return self.due_at(stalled + WRITE_STALL_TIMEOUT.as_millis() as u64);
        }
        let started = self.request_started.load(Ordering::Acquire);
        let deadline_ms = if started != 0 {
            started + timeouts.header_read.as_millis() as u64
        } else {
            self.waiting_since.load(Ordering::Acquire) + timeouts.keep_alive.as_millis() as u64
        };
        self.due_at(deadline_ms)
    }

    fn due_at(&self, deadline_ms: u64) -> Due {
        if self.clock.now_ms() >= deadline_ms {
            Due::Close
        } else {
            Due::At(self.clock.instant(deadline_ms))
        }
    }

    /// The start of the current wait, when waiting; `None` when busy or already evicted.
    fn waiting_since(&self) -> Option<u64> {
        if self.is_evicted() || self.busy.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(self.waiting_since.load(Ordering::Acquire))
    }
}

/// Held by a request until its response has been written (dropped with the response body).
pub struct BusyGuard(std::sync::Arc<Conn>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let conn = &self.0;
        if conn.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            let now = conn.clock.now_ms();
            conn.request_started.store(0, Ordering::Release);
            conn.waiting_since.store(now, Ordering::Release);
        }
    }
}

/// The open connections and the cap on them.
pub struct Registry {
    clock: Clock,
    cap: usize,
    inner: Mutex<Inner>,
    /// Notified whenever a connection is removed.
    removed: Notify,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    conns: HashMap<u64, std::sync::Arc<Conn>>,
    pending_evictions: usize,
}

/// The answer to a new connection.
pub enum Admission {
    Admitted(Registered),
    /// Admitted by evicting the connection that had waited longest.
    AdmittedByEviction(Registered),
    /// At the cap with every connection busy: the newcomer is closed.
    Refused,
    /// Too many evicted connections are still closing: ask again once one has.
    Saturated,
}

impl Registry {
    pub fn new(cap: usize) -> std::sync::Arc<Registry> {
        std::sync::Arc::new(Registry {
            clock: Clock(Instant::now()),
            cap: cap.max(1),
            inner: Mutex::new(Inner::default()),
            removed: Notify::new(),
        })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the map consistent (every change is one call).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection; at the cap, evicts the waiting connection whose wait began
    /// earliest, or refuses the newcomer when none is waiting.
    pub fn admit(self: &std::sync::Arc<Self>) -> Admission {
        let now = self.clock.now_ms();
        let mut inner = self.lock();
        let mut evicted = false;
        if inner.conns.len() >= self.cap {
            let victim = inner
                .conns
                .values()
                .filter_map(|c| c.waiting_since().map(|since| (since, c)))
                .min_by_key(|(since, _)| *since)
                .map(|(_, c)| c.clone());
            match victim {
                _ if inner.pending_evictions >= MAX_PENDING_EVICTIONS => {
                    return Admission::Saturated;
                }
                Some(victim) => {
                    victim.evicted.store(true, Ordering::Release);
                    victim.wake.notify_one();
                    inner.pending_evictions += 1;
                    evicted = true;
                }
                None => return Admission::Refused,
            }
        }
        inner.next_id += 1;
        let conn = std::sync::Arc::new(Conn {
            id: inner.next_id,
            clock: self.clock,
            busy: AtomicU32::new(0),
            waiting_since: AtomicU64::new(now),
            request_started: AtomicU64::new(now),
            write_stalled_since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            wake: Notify::new(),
        });
        inner.conns.insert(conn.id, conn.clone());
        let registered = Registered {
            registry: self.clone(),
            conn,
        };
        if evicted {
            Admission::AdmittedByEviction(registered)
        } else {
            Admission::Admitted(registered)
        }
    }

    /// Waits until a connection closes, or `at_most`.
    pub async fn one_closed(&self, at_most: Duration) {
        let _ = tokio::time::timeout(at_most, self.removed.notified()).await;
    }

    /// Waits until no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let removed = self.removed.notified();
            if self.len() == 0 {
                return;
            }
            removed.await;
        }
    }
}

/// A connection's place in the registry, given back on drop.
pub struct Registered {
    registry: std::sync::Arc<Registry>,
    pub conn: std::sync::Arc<Conn>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut inner = self.registry.lock();
        inner.conns.remove(&self.conn.id);
        if self.conn.is_evicted() {
            inner.pending_evictions = inner.pending_evictions.saturating_sub(1);
        }
        drop(inner);
        self.registry.removed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn registered(a: Admission) -> Registered {
        match a {
            Admission::Admitted(r) | Admission::AdmittedByEviction(r) => r,
            _ => panic!("not admitted"),
        }
    }

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        keep_alive: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_longest_waiting_connection_is_evicted() {
        let registry = Registry::new(2);
        let first = registered(registry.admit());
        tokio::time::advance(Duration::from_millis(5)).await;
        let second = registered(registry.admit());
        let busy = second.conn.begin_request();
        tokio::time::advance(Duration::from_millis(5)).await;

        let third = match registry.admit() {
            Admission::AdmittedByEviction(r) => r,
            _ => panic!("expected an eviction"),
        };
        assert!(first.conn.is_evicted(), "the oldest waiting one goes");
        assert!(
            !second.conn.is_evicted(),
            "busy connections are never evicted"
        );
        assert_eq!(first.conn.due(&TIMEOUTS), Due::Close);
        drop(first);
        assert_eq!(registry.len(), 2);

        // Both left are busy: the newcomer is refused.
        let _busy_third = third.conn.begin_request();
        assert!(matches!(registry.admit(), Admission::Refused));

        // A finished response makes the connection an idle keep-alive one, evictable again.
        drop(busy);
        assert!(matches!(registry.admit(), Admission::AdmittedByEviction(_)));
        assert!(second.conn.is_evicted());
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_connection_state() {
        let registry = Registry::new(10);
        let r = registered(registry.admit());
        let conn = &r.conn;
        let start = Instant::now();
        // Fresh connection: the header timeout from accept, bytes or not.
        assert_eq!(conn.due(&TIMEOUTS), Due::At(start + TIMEOUTS.header_read));
        tokio::time::advance(Duration::from_secs(3)).await;
        conn.on_read();
        assert_eq!(conn.due(&TIMEOUTS), Due::At(start + TIMEOUTS.header_read));

        // Busy: no deadline here, unless the client stops reading the response.
        let guard = conn.begin_request();
        conn.on_read();
        assert_eq!(conn.due(&TIMEOUTS), Due::Never);
        tokio::time::advance(Duration::from_secs(30)).await;
        conn.on_write_blocked();
        let stalled = Instant::now();
        tokio::time::advance(Duration::from_secs(5)).await;
        conn.on_write_blocked();
        assert_eq!(conn.due(&TIMEOUTS), Due::At(stalled + WRITE_STALL_TIMEOUT));
        conn.on_write_progress();
        assert_eq!(conn.due(&TIMEOUTS), Due::Never);
        conn.on_write_blocked();
        tokio::time::advance(WRITE_STALL_TIMEOUT).await;
        assert_eq!(conn.due(&TIMEOUTS), Due::Close);
        conn.on_write_progress();
        drop(guard);

        // Idle keep-alive: the keep-alive timeout from the end of the response...
        let idle = Instant::now();
        assert_eq!(conn.due(&TIMEOUTS), Due::At(idle + TIMEOUTS.keep_alive));
        // ...until the next request's first byte, then the header timeout from that byte.
        tokio::time::advance(Duration::from_secs(20)).await;
        conn.on_read();
        let first_byte = Instant::now();
        tokio::time::advance(Duration::from_secs(4)).await;
        conn.on_read();
        assert_eq!(
            conn.due(&TIMEOUTS),
            Due::At(first_byte + TIMEOUTS.header_read)
        );
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(conn.due(&TIMEOUTS), Due::Close);
    }

    #[tokio::test(start_paused = true)]
    async fn pending_evictions_are_bounded() {
        let registry = Registry::new(1);
        let mut kept = vec![registered(registry.admit())];
        for _ in 0..MAX_PENDING_EVICTIONS {
            kept.push(registered(registry.admit()));
        }
        assert!(matches!(registry.admit(), Admission::Saturated));
        kept.remove(0);
        assert!(matches!(registry.admit(), Admission::AdmittedByEviction(_)));
    }
}
