//! The durable store contract: the registry's writes go in as ordered batches, the table comes
//! back at start.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{InputRequest, StoreError, TaskId, TaskRecord};

/// What a committed write survives.
///
/// A submit returns only once its record is durable under the policy in force.
///
/// # Examples
///
/// ```
/// use taskward_core::Durability;
///
/// let policy: Durability = "power".parse().unwrap();
/// assert_eq!(policy, Durability::Power);
/// assert_eq!(policy.to_string(), "power");
/// assert!("disk".parse::<Durability>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Durability {
    /// Nothing is persisted: the tasks live as long as the process.
    Memory,
    /// A commit survives a crash of the process, not a power loss (SQLite: WAL,
    /// `synchronous=NORMAL`).
    #[default]
    Process,
    /// A commit survives a power loss: it is on stable storage before it is acknowledged
    /// (SQLite: WAL, `synchronous=FULL`).
    Power,
}

impl Durability {
    /// The policy's name, as `FromStr` reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Memory => "memory",
            Durability::Process => "process",
            Durability::Power => "power",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Durability {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "memory" => Ok(Durability::Memory),
            "process" => Ok(Durability::Process),
            "power" => Ok(Durability::Power),
            other => Err(StoreError::new(format!(
                "unknown durability policy {other:?} (expected memory, process or power)"
            ))),
        }
    }
}

/// A client session of a protocol binding (an MCP `Mcp-Session-Id`), kept so that a client
/// that comes back after a restart finds its session and its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The session id the client presents.
    pub id: Arc<str>,
    /// The principal the session is bound to, if the request that opened it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Arc<str>>,
    /// The binding's own data for the session (the negotiated protocol version, say).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
    /// When the session was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the session was last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    /// When the session expires unless it is used again.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl SessionRecord {
    /// A session opened now, with no expiry.
    pub fn new(id: impl Into<Arc<str>>, principal: Option<Arc<str>>) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            id: id.into(),
            principal,
            data: Value::Null,
            created_at: now,
            last_seen: now,
            expires_at: None,
        }
    }
}

/// One write of the table, in the order the registry made it.
///
/// Writes to the same task or session in one batch supersede each other: a store may apply
/// only the last one of each.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreWrite {
    /// A task's record, new or changed. Its expiry is on the wall clock:
    /// [`TaskRecord::expires_at`].
    Put(Arc<TaskRecord>),
    /// A task left the table (expired, evicted or removed).
    Remove(TaskId),
    /// The latest state a task's work saved with its checkpoint; replaces the previous one.
    /// A checkpoint of a task that is not in the table is ignored.
    Checkpoint(TaskId, Arc<Value>),
    /// A session, new or seen again.
    Session(Arc<SessionRecord>),
    /// A session was closed or expired.
    SessionRemove(Arc<str>),
    /// The outstanding input requests of a live task, all of them (empty: none left), in
    /// the order its work made them; replaces the previous list. Written as they change,
    /// next to the status change they cause, by a runtime that is a node of several (built
    /// with a [`SharedTasks`](crate::SharedTasks)).
    ///
    /// A store that shares its tasks with other nodes keeps them so that any node can show
    /// them (and must drop them once the task ends); a store of one node may ignore them:
    /// outstanding requests do not survive a restart (the work that asked is gone).
    Inputs(TaskId, Arc<[InputRequest]>),
}

/// A task as a durable store gives it back at start.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredTask {
    /// The last record written.
    pub record: TaskRecord,
    /// The last checkpoint written, if any.
    pub checkpoint: Option<Arc<Value>>,
}

impl StoredTask {
    /// A stored task.
    pub fn new(record: TaskRecord, checkpoint: Option<Arc<Value>>) -> Self {
        Self { record, checkpoint }
    }
}

/// Everything a durable store holds, read back at start.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Loaded {
    /// Every task, in creation order (by [`TaskRecord::seq`]).
    pub tasks: Vec<StoredTask>,
    /// Every session.
    pub sessions: Vec<SessionRecord>,
}

/// A store that keeps the task table across restarts.
///
/// The runtime serves every read from memory; a durable store only takes the registry's
/// writes and gives them back at the next start:
///
/// - [`load`](DurableStore::load) is called once, before the runtime starts, and returns every
///   task and session written and not removed;
/// - [`commit`](DurableStore::commit) is called from one writer thread that the runtime owns,
///   with every write since the last commit, in order. It returns once the batch is durable
///   under the store's [`durability`](DurableStore::durability) policy, and applies the batch
///   atomically: all of it or none. Many submits share one commit (group commit).
///
/// A failed commit is retried by the runtime with the same writes until it succeeds;
/// submits wait for it.
pub trait DurableStore: fmt::Debug + Send + 'static {
    /// The policy the store's commits meet.
    fn durability(&self) -> Durability;

    /// Reads back every task and session.
    fn load(&mut self) -> Result<Loaded, StoreError>;

    /// Applies a batch of writes, atomically and in order, durably under the policy.
    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError>;
}

impl<S: DurableStore + ?Sized> DurableStore for Box<S> {
    fn durability(&self) -> Durability {
        (**self).durability()
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        (**self).load()
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        (**self).commit(batch)
    }
}
