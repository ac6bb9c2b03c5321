//! Leader election: the node holding a session-level advisory lock on a dedicated connection
//! leads (runs the TTL sweep and the rescue). The lock goes with the connection: if the
//! leader's connection or process dies, the server releases it, and another node takes it
//! at its next attempt.

use taskward_core::StoreError;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use super::ClusterOptions;
use crate::error::pg;
use crate::pool;
use crate::pool::Target;

/// The key of the leader's advisory lock ("twleader" in ASCII).
const LEADER_LOCK: i64 = 0x7477_6c65_6164_6572;

/// Whether this node leads the cluster, kept up to date by a task of its own.
///
/// The task keeps a dedicated connection (application name `taskward-leader` unless the
/// URL sets one) and, every [`ClusterOptions::retry`], either tries
/// `pg_try_advisory_lock` (while not leading) or checks that the connection still answers
/// (while leading). A lost connection means lost leadership: it reconnects and tries again.
/// Dropping the handle closes the connection, which releases the lock.
///
/// Leadership can overlap briefly (the old leader learns of its lost connection at its next
/// check, after the server released the lock): the work a leader does (rescue, sweep) is
/// idempotent and fenced, so two running it at once is harmless.
#[derive(Debug)]
pub struct Leadership {
    leading: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Leadership {
    /// Starts contending for the lead on `url`. Never fails for an unreachable server (it
    /// retries); the handle reads `false` until the lock is taken.
    ///
    /// # Errors
    ///
    /// The URL does not parse.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (it spawns its task on the current one).
    pub fn start(url: &str, options: &ClusterOptions) -> Result<Self, StoreError> {
        let config = pool::config(url, options, "taskward-leader")?;
        let (tx, leading) = watch::channel(false);
        let retry = options.retry;
        let task = tokio::spawn(async move {
            loop {
                if let Err(error) = contend(&config, &tx, retry).await {
                    tracing::debug!(%error, "postgres cluster: leadership connection lost");
                }
                tx.send_replace(false);
                if tx.is_closed() {
                    return;
                }
                tokio::time::sleep(retry).await;
            }
        });
        Ok(Self { leading, task })
    }

    /// Whether this node leads now (as of the last attempt or check).
    pub fn is_leader(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until leadership changes, and returns the new state.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn changed(&mut self) -> bool {
        // The sender lives as long as the task, which only ends when the handle drops.
        let _ = self.leading.changed().await;
        *self.leading.borrow_and_update()
    }

    /// A receiver of the leadership state, for a task of the runtime that waits on it.
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.leading.clone()
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection's life: try the lock until taken, then check the connection until it
/// fails. Returns the error that ended it.
async fn contend(
    target: &Target,
    leading: &watch::Sender<bool>,
    retry: std::time::Duration,
) -> Result<(), StoreError> {
    let (client, connection) = target
        .connect()
        .await
        .map_err(pg("connect for the leadership"))?;
    let mut driver = tokio::spawn(connection);
    let result = async {
        loop {
            let lead = if *leading.borrow() {
                check(&client).await?
            } else {
                try_lock(&client).await?
            };
            leading.send_if_modified(|now| std::mem::replace(now, lead) != lead);
            tokio::select! {
                _ = tokio::time::sleep(retry) => {}
                _ = &mut driver => return Err(StoreError::new("postgres cluster: the leadership connection closed")),
            }
        }
    }
    .await;
    driver.abort();
    result
}

async fn try_lock(client: &Client) -> Result<bool, StoreError> {
    client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg("try the leader lock"))
}

async fn check(client: &Client) -> Result<bool, StoreError> {
    client
        .simple_query("SELECT 1")
        .await
        .map(|_| true)
        .map_err(pg("check the leader's connection"))
}
