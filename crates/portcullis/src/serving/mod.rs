//! The HTTP server: a small accept loop over hyper's HTTP/1 connection builder, in place of
//! `axum::serve`, because serving on the open internet needs what that does not have:
//!
//! - a cap on open connections under the open-file limit, with eviction of idle and slow
//!   clients at the cap (`conns.rs`, `limits.rs`), so that silent sockets cannot make `accept`
//!   fail with "Too many open files";
//! - deadlines for headers (from accept, TLS handshake included), for idle keep-alive
//!   connections, for request bodies (408), none of which a trickle of bytes extends, and for
//!   responses the client has stopped reading;
//! - a shutdown that stops accepting, lets requests in flight finish, and closes whatever is
//!   left when `--shutdown-timeout` passes;
//! - HTTPS with rustls and a certificate re-read on SIGHUP (`tls.rs`).
//!
//! Handlers see the same request as under `axum::serve`: trailing slashes trimmed
//! (`NormalizePathLayer`) and the peer address as `ConnectInfo<SocketAddr>`.

mod body;
mod conns;
pub mod limits;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::{Service, ServiceExt};
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use self::body::{BusyBody, DeadlineBody};
use self::conns::{Admission, Conn, Due, Registered, Registry, Timeouts};
use self::tls::ReloadableCert;

/// Largest request head (request line and headers). Keycloak's own front end allows 20 KiB;
/// big cookies and a keyless-CI bearer token fit well inside. It bounds the memory a client can
/// make a connection hold (hyper's default would let each hold 400 KiB).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Connections the kernel completes and queues while the accept loop is busy. The standard
/// library's and tokio's 128 overflowed (SYNs dropped, clients retrying after a second) when
/// a burst of connections arrived while the runtime was busy with the connections before it.
const LISTEN_BACKLOG: u32 = 1024;

/// Binds `bind` (`host:port`; every address it resolves to is tried in turn) with a listen
/// backlog of [`LISTEN_BACKLOG`].
pub async fn bind(bind: &str) -> io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(bind).await? {
        let socket = match addr {
            SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket
            .bind(addr)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        )
    }))
}

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub header_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Settings {
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            header_read: self.header_read_timeout,
            keep_alive: self.keep_alive_timeout,
        }
    }
}

/// Where the server is in its life; connections watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// Shutting down: finish the request in flight, then close.
    Draining,
    /// The shutdown deadline passed: close now.
    Closing,
}

type AppService = <IntoMakeServiceWithConnectInfo<NormalizePath<Router>, SocketAddr> as Service<
    SocketAddr,
>>::Response;

/// Serves `router` on `listener` until `shutdown` resolves, then drains within
/// `settings.shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    tls: Option<Arc<ReloadableCert>>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let registry = Registry::new(settings.max_connections);
    // Keycloak's clients add trailing slashes (`POST /admin/realms/`); routing ignores them.
    let app = tower::Layer::layer(&NormalizePathLayer::trim_trailing_slash(), router);
    // Connect info gives handlers the peer address (login rate limiting, logs).
    let make_service =
        axum::ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<SocketAddr>(app);
    let acceptor = match &tls {
        Some(cert) => Some(TlsAcceptor::from(cert.server_config()?)),
        None => None,
    };
    if let Some(cert) = tls {
        spawn_reloader(cert);
    } else {
        ignore_sighup();
    }
    let (phase_tx, phase_rx) = watch::channel(Phase::Serving);
    let mut notes = Notes::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !is_per_connection(&error) {
                        notes.accept_failed(&error);
                        // Out of descriptors or memory: let connections close before trying again.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let Some(registered) = admit(&registry, &mut notes).await else {
            refuse(stream, acceptor.is_some());
            continue;
        };
        let service: AppService = match make_service.clone().oneshot(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        tokio::spawn(connection(
            stream,
            registered,
            service,
            acceptor.clone(),
            settings,
            phase_rx.clone(),
        ));
    }
    drop(listener);
    let open = registry.len();
    tracing::info!(
        open_connections = open,
        deadline_secs = settings.shutdown_timeout.as_secs(),
        "shutting down: no new connections; finishing requests in flight"
    );
    phase_tx.send_replace(Phase::Draining);
    if tokio::time::timeout(settings.shutdown_timeout, registry.all_closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open_connections = registry.len(),
            "shutdown deadline passed; closing the remaining connections"
        );
        phase_tx.send_replace(Phase::Closing);
        // Each connection task drops its socket as soon as it sees the phase.
        let _ = tokio::time::timeout(Duration::from_secs(1), registry.all_closed()).await;
    }
    Ok(())
}

/// A place for a new connection, evicting one at the cap; `None`: close the newcomer.
async fn admit(registry: &Arc<Registry>, notes: &mut Notes) -> Option<Registered> {
    // Evicted connections close within microseconds; this bounds the wait if they did not.
    let give_up = Instant::now() + Duration::from_secs(1);
    loop {
        match registry.admit() {
            Admission::Admitted(registered) => return Some(registered),
            Admission::AdmittedByEviction(registered) => {
                notes.evicted(registry.cap());
                return Some(registered);
            }
            Admission::Refused => {
                notes.refused(registry.cap());
                return None;
            }
            Admission::Saturated if Instant::now() >= give_up => {
                notes.refused(registry.cap());
                return None;
            }
            Admission::Saturated => registry.one_closed(Duration::from_millis(20)).await,
        }
    }
}

/// One connection, from accept to close. Dropping `registered` gives its place back.
async fn connection(
    stream: TcpStream,
    registered: Registered,
    service: AppService,
    acceptor: Option<TlsAcceptor>,
    settings: Settings,
    mut phase: watch::Receiver<Phase>,
) {
    let conn = registered.conn.clone();
    let _ = stream.set_nodelay(true);
    let io = Tracked {
        inner: stream,
        conn: conn.clone(),
    };
    match acceptor {
        None => http(io, &conn, service, settings, &mut phase).await,
        Some(acceptor) => {
            // The handshake counts against the header-read deadline, like the headers after it.
            let stream = tokio::select! {
                handshake = acceptor.accept(io) => match handshake {
                    Ok(stream) => stream,
                    Err(error) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        return;
                    }
                },
                () = watchdog(&conn, settings.timeouts()) => return,
                () = reached(&mut phase, Phase::Draining) => return,
            };
            http(stream, &conn, service, settings, &mut phase).await
        }
    }
    drop(registered);
}

async fn http<I>(
    io: I,
    conn: &Arc<Conn>,
    service: AppService,
    settings: Settings,
    phase: &mut watch::Receiver<Phase>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = {
        let conn = conn.clone();
        hyper::service::service_fn(move |request: Request<Incoming>| {
            let busy = conn.begin_request();
            let service = service.clone();
            let timed_out = Arc::new(AtomicBool::new(false));
            let deadline = Instant::now() + settings.body_read_timeout;
            let request = request.map(|b| DeadlineBody::new(b, deadline, timed_out.clone()));
            async move {
                let response = match service.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                let response = if timed_out.load(Ordering::Acquire) {
                    body_timed_out()
                } else {
                    response
                };
                Ok::<_, Infallible>(response.map(|b| BusyBody::new(b, busy)))
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        // The watchdog below keeps the header and keep-alive deadlines.
        .header_read_timeout(None)
        .max_buf_size(MAX_HEAD_BYTES);
    let connection = builder.serve_connection(TokioIo::new(io), handler);
    tokio::pin!(connection);
    let mut next_phase = Phase::Draining;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection closed with an error");
                }
                return;
            }
            () = watchdog(conn, settings.timeouts()) => return,
            () = reached(phase, next_phase) => {
                if next_phase == Phase::Closing {
                    return;
                }
                // Idle connections close now; one with a request in flight after its response.
                connection.as_mut().graceful_shutdown();
                next_phase = Phase::Closing;
            }
        }
    }
}

/// 408 for a request whose body did not arrive in time, whatever the handler answered to the
/// failed read; the connection closes after it.
fn body_timed_out() -> Response<Body> {
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONNECTION, "close")],
        "request body not received in time\n",
    )
        .into_response()
}

/// Resolves when the connection is due to close: a deadline passed, or it was evicted.
async fn watchdog(conn: &Conn, timeouts: Timeouts) {
    loop {
        let next_look = Instant::now() + timeouts.tick();
        let wake_at = match conn.due(&timeouts) {
            Due::Close => return,
            Due::At(at) => at.min(next_look),
            Due::Never => next_look,
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake_at) => {}
            () = conn.woken() => {}
        }
    }
}

/// Resolves once the server is in `phase` or later (never, if the sender is gone first).
async fn reached(rx: &mut watch::Receiver<Phase>, phase: Phase) {
    loop {
        if *rx.borrow_and_update() >= phase {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// At the cap with every connection busy: a plain-HTTP newcomer gets a 503 if the socket takes
/// it without waiting (best effort), then the connection is closed.
fn refuse(stream: TcpStream, tls: bool) {
    if !tls {
        let _ = stream.try_write(
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\
              Retry-After: 1\r\nContent-Length: 0\r\n\r\n",
        );
    }
}

/// Errors of one incoming connection, not of the listener.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Warnings about abuse and exhaustion, at most one line per interval, with counts.
#[derive(Default)]
struct Notes {
    last: Option<Instant>,
    evicted: u64,
    refused: u64,
    accept_errors: u64,
    last_error: Option<String>,
}

impl Notes {
    const INTERVAL: Duration = Duration::from_secs(10);

    fn evicted(&mut self, cap: usize) {
        self.evicted += 1;
        self.maybe_log(cap);
    }

    fn refused(&mut self, cap: usize) {
        self.refused += 1;
        self.maybe_log(cap);
    }

    fn accept_failed(&mut self, error: &io::Error) {
        self.accept_errors += 1;
        self.last_error = Some(error.to_string());
        self.maybe_log(0);
    }

    fn maybe_log(&mut self, cap: usize) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + Self::INTERVAL) {
            return;
        }
        self.last = Some(now);
        if self.evicted + self.refused > 0 {
            tracing::warn!(
                max_connections = cap,
                evicted_waiting = self.evicted,
                refused_all_busy = self.refused,
                "at the connection cap: closed connections that had sent no complete request"
            );
        }
        if let Some(error) = self.last_error.take() {
            tracing::error!(
                failures = self.accept_errors,
                %error,
                "accepting connections failed"
            );
        }
        self.evicted = 0;
        self.refused = 0;
        self.accept_errors = 0;
    }
}

/// Re-reads the TLS certificate and key on every SIGHUP.
fn spawn_reloader(cert: Arc<ReloadableCert>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; the TLS certificate will not be reloaded");
                return;
            }
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                match cert.reload() {
                    Ok(()) => tracing::info!(
                        cert = %cert.cert_path().display(),
                        "SIGHUP: reloaded the TLS certificate"
                    ),
                    Err(error) => tracing::error!(
                        error = %format!("{error:#}"),
                        "SIGHUP: reloading the TLS certificate failed; still serving the previous one"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = cert;
}

/// Without TLS, SIGHUP has nothing to reload; it must not end the process (its default).
fn ignore_sighup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hangups) = signal(SignalKind::hangup()) {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    tracing::info!("SIGHUP: nothing to reload (no --tls-cert)");
                }
            });
        }
    }
}

/// The client socket, telling its connection's state when bytes arrive.
struct Tracked {
    inner: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.on_read();
        }
        result
    }
}

impl Tracked {
    fn track_write(&self, result: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match &result {
            Poll::Pending => self.conn.on_write_blocked(),
            Poll::Ready(_) => self.conn.on_write_progress(),
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.track_write(result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.track_write(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
