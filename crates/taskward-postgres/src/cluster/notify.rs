//! Notifications: sent with `pg_notify` in the transaction that makes the change, received
//! by a [`Listener`] on a dedicated connection that reconnects after a loss.

use std::future::poll_fn;

use serde::{Deserialize, Serialize};
use taskward_core::{StoreError, TaskId};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, Client, Transaction};
use uuid::Uuid;

use super::{CHANNEL, ClusterOptions, NodeId};
use crate::error::pg;
use crate::pool;
use crate::pool::Target;

/// What a notification carries on the wire (JSON, tagged by `t`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Payload {
    Cancel {
        id: Uuid,
        node: Option<Uuid>,
    },
    Input {
        id: Uuid,
        key: String,
        node: Option<Uuid>,
    },
    Changed {
        id: Uuid,
        seq: u64,
    },
    Queued {
        kind: String,
    },
    Status {
        id: Uuid,
        route: String,
    },
}

/// Sends `payload` on the channel, as part of `tx` (delivered if and when it commits).
pub(crate) async fn send(tx: &Transaction<'_>, payload: &Payload) -> Result<(), StoreError> {
    let text = serde_json::to_string(payload)
        .map_err(|e| StoreError::with_source("postgres cluster: encode a notification", e))?;
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &text])
        .await
        .map_err(pg("send a notification"))?;
    Ok(())
}

/// The SQL of a `status` notification's payload for the task of id `$id` and scope key
/// `$scope` (as the `tasks.scope` column holds it): its route is the key's MD5, so that no
/// session id travels in clear, and a node matches it with [`route`].
macro_rules! status_payload {
    ($id:literal, $scope:literal) => {
        concat!(
            "json_build_object('t', 'status', 'id', ",
            $id,
            ", 'route', md5(",
            $scope,
            "))::text"
        )
    };
}
pub(crate) use status_payload;

/// The route of a scope's `status` notifications: the MD5 of its key, in hex, as
/// PostgreSQL's `md5()` spells it.
pub(crate) fn route(scope: &taskward_core::Scope) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(crate::text::scope_key(scope).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sends a `status` notification for the task of id `id`, whose scope key is `scope`, as
/// part of `tx`.
pub(crate) async fn send_status(
    tx: &Transaction<'_>,
    id: &Uuid,
    scope: &str,
) -> Result<(), StoreError> {
    tx.execute(
        concat!(
            "SELECT pg_notify($1, ",
            status_payload!("$2::uuid", "$3::text"),
            ")"
        ),
        &[&CHANNEL, id, &scope],
    )
    .await
    .map_err(pg("send a notification"))?;
    Ok(())
}

/// A notification of the cluster, as a [`Listener`] yields it.
///
/// Notifications are hints: each is sent in the transaction of the change it announces (so
/// never for a change rolled back), but one may be missed while the listener reconnects,
/// which [`MaybeMissed`](Notification::MaybeMissed) says. The flags stay in the table: the
/// node re-reads them then, and [`Cluster::heartbeat`](crate::Cluster::heartbeat) reports
/// them anyway, so a missed notification costs at most one heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// A cancel was requested (the task is cancelled in the table already); `node` holds
    /// the task and should fire its token.
    Cancel {
        /// The task.
        id: TaskId,
        /// The node running it, if one held it.
        node: Option<NodeId>,
    },
    /// An input answer was stored for the task; `node` should take it with
    /// [`Cluster::take_answers`](crate::Cluster::take_answers).
    Input {
        /// The task.
        id: TaskId,
        /// The request the answer is for.
        key: String,
        /// The node running it, if one held it.
        node: Option<NodeId>,
    },
    /// The task's row changed (a terminal record, a rescue): a node caching it should read
    /// it again.
    Changed {
        /// The task.
        id: TaskId,
        /// Its `seq` (creation order).
        seq: u64,
    },
    /// Tasks of the kind were queued: a node with capacity that registered it should claim.
    Queued {
        /// The kind (the tasks' name).
        kind: String,
    },
    /// The task's status changed, as its node wrote it (or a cancel from any node): a node
    /// serving a session of its scope forwards it (see `SharedTasks::watch_scope`).
    Status {
        /// The task.
        id: TaskId,
        /// Its scope's route: the MD5 of its key (no session id in clear).
        route: String,
    },
    /// The listener's connection was lost and is back: notifications sent meanwhile were
    /// missed. Re-read the flags (cancel requested, answers) and claim.
    MaybeMissed,
}

impl From<Payload> for Notification {
    fn from(payload: Payload) -> Self {
        let node = |n: Option<Uuid>| n.map(NodeId::from_uuid);
        match payload {
            Payload::Cancel { id, node: n } => Notification::Cancel {
                id: TaskId::from_uuid(id),
                node: node(n),
            },
            Payload::Input { id, key, node: n } => Notification::Input {
                id: TaskId::from_uuid(id),
                key,
                node: node(n),
            },
            Payload::Changed { id, seq } => Notification::Changed {
                id: TaskId::from_uuid(id),
                seq,
            },
            Payload::Queued { kind } => Notification::Queued { kind },
            Payload::Status { id, route } => Notification::Status {
                id: TaskId::from_uuid(id),
                route,
            },
        }
    }
}

/// Receives the cluster's notifications on a connection of its own (`LISTEN` does not
/// survive a pool), and reconnects when that connection is lost.
///
/// After a reconnection it yields [`Notification::MaybeMissed`] once `LISTEN` runs again.
/// Reconnecting is retried every [`ClusterOptions::retry`] until it succeeds or the
/// listener is dropped. Dropping the listener closes its connection. Notifications queue
/// without bound until [`recv`](Self::recv) takes them: receive them promptly.
#[derive(Debug)]
pub struct Listener {
    notifications: mpsc::UnboundedReceiver<Notification>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Connects to `url` and runs `LISTEN`; notifications sent after this returns are
    /// received. The connection's application name is `taskward-listener` unless the URL
    /// sets one.
    ///
    /// # Errors
    ///
    /// The URL does not parse, or the first connection or its `LISTEN` fails (later losses
    /// are retried instead).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the connection.
    pub async fn connect(url: &str, options: &ClusterOptions) -> Result<Self, StoreError> {
        let config = pool::config(url, options, "taskward-listener")?;
        let (out, notifications) = mpsc::unbounded_channel();
        let first = listen(&config, out.clone()).await?;
        let retry = options.retry;
        let task = tokio::spawn(async move {
            let mut connection = first;
            loop {
                // Keep the client alive while its connection delivers; the driver ends when
                // the connection is lost.
                let (client, driver) = connection;
                let _ = driver.await;
                drop(client);
                if out.is_closed() {
                    return;
                }
                tracing::warn!("postgres cluster: the listener's connection was lost");
                connection = loop {
                    tokio::time::sleep(retry).await;
                    match listen(&config, out.clone()).await {
                        Ok(connection) => break connection,
                        Err(error) => {
                            tracing::warn!(%error, "postgres cluster: the listener cannot reconnect");
                        }
                    }
                };
                if out.send(Notification::MaybeMissed).is_err() {
                    return;
                }
            }
        });
        Ok(Self {
            notifications,
            task,
        })
    }

    /// The next notification; `None` only after the listener's task stopped (it does not,
    /// short of a panic).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a notification not yet returned stays queued.
    pub async fn recv(&mut self) -> Option<Notification> {
        self.notifications.recv().await
    }

    /// This listener, handing each notification to `waiters` as it arrives (before whoever
    /// reads it from the listener, who may be busy): a node's waits of other nodes' tasks
    /// are then woken at once, not after the node's duty at work.
    pub(crate) fn waking(self, waiters: std::sync::Arc<super::Waiters>) -> Listener {
        let (out, notifications) = mpsc::unbounded_channel();
        let mut inner = self;
        let task = tokio::spawn(async move {
            while let Some(notification) = inner.recv().await {
                waiters.notified(&notification);
                if out.send(notification).is_err() {
                    break;
                }
            }
        });
        Listener {
            notifications,
            task,
        }
    }

    /// A notification already received, without waiting: `None` when none is queued now.
    pub fn try_recv(&mut self) -> Option<Notification> {
        self.notifications.try_recv().ok()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: connects, starts the driver that forwards notifications to `out`, runs
/// `LISTEN`. Returns the client (keep it) and the driver (ends when the connection does).
async fn listen(
    config: &Target,
    out: mpsc::UnboundedSender<Notification>,
) -> Result<(Client, JoinHandle<()>), StoreError> {
    let (client, mut connection) = config.connect().await.map_err(pg("connect the listener"))?;
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                    match serde_json::from_str::<Payload>(n.payload()) {
                        Ok(payload) => {
                            if out.send(payload.into()).is_err() {
                                return;
                            }
                        }
                        Err(e) => tracing::warn!(payload = n.payload(), error = %e,
                            "postgres cluster: a notification does not parse"),
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(%error, "postgres cluster: the listener's connection failed");
                    return;
                }
            }
        }
    });
    let listening = client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(pg("listen"));
    if let Err(e) = listening {
        driver.abort();
        return Err(e);
    }
    Ok((client, driver))
}
