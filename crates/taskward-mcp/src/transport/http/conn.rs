//! One connection: hyper's HTTP/1.1 over the socket, watched for the header and idle
//! deadlines of [`ConnectionLimits`].
//!
//! The connection is in one of three phases: awaiting a request head (from its start, or
//! from the first byte of a later request: bounded by `header_timeout`), idle between
//! requests (bounded by `idle_timeout`), or with a request in flight (from the end of its
//! head until its response has been sent: unbounded here, so that streams last; its body is
//! bounded by the POST handler). Reads mark the start of a head; the service marks requests
//! in and out.
//!
//! The watcher sleeps until the deadline it last armed and, when it wakes, arms the deadline
//! the phase gives now. A change wakes it only when the new deadline is earlier than the armed
//! one (or none is armed): so requests back to back on a kept-alive connection wake nothing,
//! and the timer is re-armed once per deadline period, not around every request.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use super::direct::DirectPost;
use super::limits::ConnectionLimits;

/// What a connection serves: the router, and `POST /mcp` without it when it can
/// ([`DirectPost`]).
#[derive(Debug, Clone)]
pub(super) struct App {
    /// Every route.
    pub(super) router: Router,
    /// `POST /mcp`, when the transport does not authenticate.
    pub(super) direct: Option<Arc<DirectPost>>,
}

/// Serves one connection until it ends, a deadline passes, or `shutdown` is cancelled (then
/// the request in flight, if any, is finished and the connection closed).
pub(super) async fn serve<I>(io: I, app: App, limits: ConnectionLimits, shutdown: CancellationToken)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(limits));
    let io = TokioIo::new(Watched {
        inner: io,
        activity: activity.clone(),
    });
    let tracker = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let guard = tracker.begin();
        let request = request.map(Body::new);
        let route = match &app.direct {
            Some(direct) if direct.takes(&request) => Ok(direct.clone()),
            _ => Err(app.router.clone()),
        };
        async move {
            let response = match route {
                Ok(direct) => direct.call(request).await,
                Err(mut router) => router.call(request).await?,
            };
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _guard: guard,
                })
            }))
        }
    });
    let connection = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        let deadline = activity.arm();
        tokio::select! {
            _ = connection.as_mut() => return,
            () = sleep_until(deadline) => {
                if activity.deadline().is_some_and(|d| d <= Instant::now()) {
                    // Idle or a head too slow: close, unanswered.
                    tracing::debug!(phase = ?activity.phase(), "connection timed out: closed");
                    return;
                }
            }
            () = activity.changed.notified() => {}
            () = shutdown.cancelled(), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// What the connection is doing, for its deadlines.
#[derive(Debug)]
struct Activity {
    state: Mutex<Watch>,
    /// Set while idle: the next read starts a request head.
    idle: AtomicBool,
    /// Wakes the watcher when a change brings the deadline forward.
    changed: Notify,
    limits: ConnectionLimits,
}

/// The phase, and the deadline the watcher is sleeping until.
#[derive(Debug)]
struct Watch {
    phase: Phase,
    /// `None`: the watcher waits for a change without a timer (a request was in flight).
    armed: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Awaiting a request head since this instant.
    Head(Instant),
    /// No request since this instant.
    Idle(Instant),
    /// Requests in flight.
    Busy(usize),
}

impl Activity {
    fn new(limits: ConnectionLimits) -> Self {
        Self {
            state: Mutex::new(Watch {
                phase: Phase::Head(Instant::now()),
                armed: None,
            }),
            idle: AtomicBool::new(false),
            changed: Notify::new(),
            limits,
        }
    }

    fn watch(&self) -> MutexGuard<'_, Watch> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn phase(&self) -> Phase {
        self.watch().phase
    }

    fn deadline_of(&self, phase: Phase) -> Option<Instant> {
        match phase {
            // A timeout too long to add is no timeout.
            Phase::Head(since) => since.checked_add(self.limits.header_timeout),
            Phase::Idle(since) => since.checked_add(self.limits.idle_timeout),
            Phase::Busy(_) => None,
        }
    }

    /// The deadline of the phase now.
    fn deadline(&self) -> Option<Instant> {
        self.deadline_of(self.phase())
    }

    /// The deadline of the phase now, noted as the one the watcher sleeps until.
    fn arm(&self) -> Option<Instant> {
        let mut watch = self.watch();
        let deadline = self.deadline_of(watch.phase);
        watch.armed = deadline;
        deadline
    }

    /// Moves to `phase`; wakes the watcher if that brings the deadline before the armed one.
    fn enter(&self, mut watch: MutexGuard<'_, Watch>, phase: Phase) {
        watch.phase = phase;
        let sooner = match (self.deadline_of(phase), watch.armed) {
            (Some(new), Some(armed)) => new < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        drop(watch);
        if sooner {
            self.changed.notify_one();
        }
    }

    /// A read of `n` bytes: while idle, the start of a request head.
    fn read(&self, n: usize) {
        if n > 0 && self.idle.swap(false, Ordering::AcqRel) {
            let watch = self.watch();
            if matches!(watch.phase, Phase::Idle(_)) {
                self.enter(watch, Phase::Head(Instant::now()));
            }
        }
    }

    /// A request's head is in: it is in flight until the guard drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        {
            let watch = self.watch();
            let phase = match watch.phase {
                Phase::Busy(n) => Phase::Busy(n + 1),
                _ => Phase::Busy(1),
            };
            // No deadline while busy: the watcher finds out when its timer fires.
            self.enter(watch, phase);
        }
        self.idle.store(false, Ordering::Release);
        InFlight(self.clone())
    }

    fn end(&self) {
        let watch = self.watch();
        let phase = match watch.phase {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => {
                self.idle.store(true, Ordering::Release);
                Phase::Idle(Instant::now())
            }
        };
        self.enter(watch, phase);
    }
}

/// A request in flight, until its response has been sent (or dropped).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// A response body that keeps its request in flight while hyper sends it.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, reporting its reads.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_ready() {
            self.activity.read(buf.filled().len() - before);
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
