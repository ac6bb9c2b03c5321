//! The store's own thread: a current-thread tokio runtime that owns the connection and
//! serves the store's synchronous calls one at a time.
//!
//! [`DurableStore`](taskward_core::DurableStore)'s methods are synchronous: `load` runs on a
//! blocking thread of the host's runtime, `commit` on the journal's writer thread, and tests
//! call both from async code. tokio-postgres is async, and `Runtime::block_on` panics on a
//! thread that is already inside a runtime (so does the `postgres` sync crate, which wraps
//! it). The store therefore runs the client on a thread of its own and sends it requests over
//! a channel; the caller blocks on a plain `std` channel for the answer, which is safe from
//! any thread. One connection is enough: the registry is the store's one writer, and its
//! commits are serial (a pool buys nothing until issue 12 adds concurrent readers).
//!
//! When the connection is lost (the server restarted, the network dropped), the request that
//! finds it closed fails, and the next request connects again first. The journal retries a
//! failed commit with backoff (10 ms doubling to 5 s), so commits resume by themselves once
//! the server is back; submits wait meanwhile.
//!
//! Between requests the thread also wakes when its backend has held writes back
//! ([`Backend::next_flush`]: the cluster store's coalesced progress) and writes them, and it
//! writes whatever is still held back when the store is dropped.

use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use taskward_core::{StoreError, StoreWrite};
use tokio::sync::mpsc;

type Reply<T> = std_mpsc::Sender<Result<T, StoreError>>;

/// What a worker's thread serves: a connection that opens from its setup, loads and commits.
/// [`Conn`](crate::conn::Conn) for [`PostgresStore`](crate::PostgresStore), the cluster
/// store's connection for [`ClusterStore`](crate::ClusterStore).
pub(crate) trait Backend: Sized + 'static {
    /// What opening a connection needs (moved to the thread).
    type Setup: Send + 'static;
    /// What a load returns.
    type Load: Send + 'static;

    /// Opens a connection (the first, or again after a loss).
    async fn open(setup: &Self::Setup) -> Result<Self, StoreError>;
    /// Whether the connection is lost (the next request opens a new one first).
    fn is_closed(&self) -> bool;
    /// Reads the table back.
    async fn load(&mut self) -> Result<Self::Load, StoreError>;
    /// Applies a batch.
    async fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError>;
    /// When the backend has writes it held back to flush by itself (none by default).
    fn next_flush(&self) -> Option<tokio::time::Instant> {
        None
    }
    /// Writes what it held back and is due (all of it with `all`: the store is closing).
    async fn flush(&mut self, _all: bool) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A call of the store, with where to send its answer.
enum Request<L> {
    Load(Reply<L>),
    Commit(Vec<StoreWrite>, Reply<()>),
}

/// The handle on the store's thread: dropping it ends the thread (and closes the connection).
#[derive(Debug)]
pub(crate) struct Worker<B: Backend> {
    requests: Option<mpsc::UnboundedSender<Request<B::Load>>>,
    thread: Option<JoinHandle<()>>,
}

impl<B: Backend> Worker<B> {
    /// Starts the thread and opens the first connection; fails if that connection does.
    pub(crate) fn start(setup: B::Setup) -> Result<Self, StoreError> {
        let (requests, receiver) = mpsc::unbounded_channel();
        let (ready, opened) = std_mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("taskward-postgres".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(StoreError::with_source(
                            "postgres store: cannot start its runtime",
                            e,
                        )));
                        return;
                    }
                };
                runtime.block_on(serve::<B>(setup, receiver, ready));
            })
            .map_err(|e| StoreError::with_source("postgres store: cannot start its thread", e))?;
        let worker = Self {
            requests: Some(requests),
            thread: Some(thread),
        };
        match opened.recv() {
            Ok(result) => result.map(|()| worker),
            Err(_) => Err(StoreError::new("postgres store: its thread stopped")),
        }
    }

    pub(crate) fn load(&self) -> Result<B::Load, StoreError> {
        self.call(Request::Load)
    }

    pub(crate) fn commit(&self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        let batch = batch.to_vec();
        self.call(|reply| Request::Commit(batch, reply))
    }

    fn call<T>(&self, request: impl FnOnce(Reply<T>) -> Request<B::Load>) -> Result<T, StoreError> {
        let (reply, answer) = std_mpsc::channel();
        let stopped = || StoreError::new("postgres store: its thread stopped");
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(request(reply))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl<B: Backend> Drop for Worker<B> {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's loop: one request at a time, reconnecting first when the connection is gone.
async fn serve<B: Backend>(
    setup: B::Setup,
    mut requests: mpsc::UnboundedReceiver<Request<B::Load>>,
    ready: std_mpsc::Sender<Result<(), StoreError>>,
) {
    let mut conn = match B::open(&setup).await {
        Ok(conn) => {
            let _ = ready.send(Ok(()));
            conn
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    loop {
        let request = match conn.next_flush() {
            None => requests.recv().await,
            Some(at) => tokio::select! {
                request = requests.recv() => request,
                () = tokio::time::sleep_until(at) => {
                    flush(&setup, &mut conn, false).await;
                    continue;
                }
            },
        };
        let Some(request) = request else { break };
        if let Err(e) = reopen(&setup, &mut conn).await {
            request.fail(e);
            continue;
        }
        match request {
            Request::Load(reply) => _ = reply.send(conn.load().await),
            Request::Commit(batch, reply) => _ = reply.send(conn.commit(&batch).await),
        }
    }
    // The store is closing: what it held back goes now, if the connection is up.
    if conn.next_flush().is_some() && !conn.is_closed() {
        flush(&setup, &mut conn, true).await;
    }
}

/// Opens the connection again if it is lost.
async fn reopen<B: Backend>(setup: &B::Setup, conn: &mut B) -> Result<(), StoreError> {
    if conn.is_closed() {
        *conn = B::open(setup).await?;
        tracing::info!("postgres store: connected again");
    }
    Ok(())
}

/// Writes what the backend held back and is due; a failure is logged (the backend keeps the
/// writes and tries again later: on a connection that could not open again, its write fails
/// at once and waits its next turn, so a server that is down costs no busy loop).
async fn flush<B: Backend>(setup: &B::Setup, conn: &mut B, all: bool) {
    if let Err(e) = reopen(setup, conn).await {
        tracing::warn!("postgres store: cannot connect to flush held-back writes: {e}");
    }
    if let Err(e) = conn.flush(all).await {
        tracing::warn!("postgres store: cannot flush held-back writes: {e}");
    }
}

impl<L> Request<L> {
    fn fail(self, error: StoreError) {
        match self {
            Request::Load(reply) => _ = reply.send(Err(error)),
            Request::Commit(_, reply) => _ = reply.send(Err(error)),
        }
    }
}
