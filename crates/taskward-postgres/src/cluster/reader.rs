//! The read connection: a dedicated connection for reads by key, so that a read of another
//! node's task is one round trip on a connection at hand, with no pool checkout.
//!
//! It serves one read at a time: a read that finds it busy (or not connected) goes to the
//! pool, so concurrent reads are never queued behind each other on it. A lost connection is
//! opened again by a later read, at most once per retry interval; meanwhile reads go to the
//! pool, which says why when the server is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Row, Statement};
use uuid::Uuid;

use crate::pool::Target;

/// The read by key, as [`Cluster::get`](crate::Cluster::get) runs it.
pub(crate) const GET: &str = "SELECT id, record::text FROM tasks WHERE id = $1 AND scope = $2";

/// The read connection (see the module docs).
#[derive(Debug)]
pub(crate) struct Reader {
    target: Target,
    retry: Duration,
    state: Mutex<State>,
    busy: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    conn: Option<Arc<ReadConn>>,
    failed_at: Option<Instant>,
}

#[derive(Debug)]
struct ReadConn {
    client: Client,
    get: Statement,
}

/// Frees the reader when the read ends, or is dropped midway.
struct Busy<'a>(&'a AtomicBool);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Reader {
    pub(crate) fn new(target: Target, retry: Duration) -> Self {
        Self {
            target,
            retry,
            state: Mutex::default(),
            busy: AtomicBool::new(false),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The row of task `id` in scope key `scope`, read on the read connection; `None` when
    /// it is busy or cannot be had (read on the pool then).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the read frees the connection.
    pub(crate) async fn get(
        &self,
        id: &Uuid,
        scope: &str,
    ) -> Option<Result<Option<Row>, tokio_postgres::Error>> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return None;
        }
        let _busy = Busy(&self.busy);
        let conn = self.conn().await?;
        let read = conn.client.query_opt(&conn.get, &[id, &scope]).await;
        if read.is_err() && conn.client.is_closed() {
            // Lost: the pool answers this read (and says why if the server is gone).
            self.state().conn = None;
            return None;
        }
        Some(read)
    }

    /// The open connection, opened now if there is none (not twice within the retry
    /// interval after a failure).
    async fn conn(&self) -> Option<Arc<ReadConn>> {
        {
            let mut state = self.state();
            match &state.conn {
                Some(conn) if !conn.client.is_closed() => return Some(Arc::clone(conn)),
                _ => state.conn = None,
            }
            if state.failed_at.is_some_and(|at| at.elapsed() < self.retry) {
                return None;
            }
        }
        match self.open().await {
            Ok(conn) => {
                let conn = Arc::new(conn);
                let mut state = self.state();
                state.conn = Some(Arc::clone(&conn));
                state.failed_at = None;
                Some(conn)
            }
            Err(error) => {
                tracing::debug!(%error, "postgres cluster: the read connection cannot open");
                self.state().failed_at = Some(Instant::now());
                None
            }
        }
    }

    async fn open(&self) -> Result<ReadConn, tokio_postgres::Error> {
        let (client, connection) = self.target.connect().await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "postgres cluster: the read connection closed");
            }
        });
        let get = client.prepare(GET).await?;
        Ok(ReadConn { client, get })
    }
}
