//! Supervised long-running tasks, the OTP way, on [ractor] and [tokio].
//!
//! A tool call that takes minutes must return at once with a task id, keep running under
//! supervision, report progress, honour cancel and timeout, survive crashes of its parts, and
//! be inspectable while it runs. taskward does that with a small supervision tree:
//!
//! ```text
//! Taskward        root supervisor (or your own, via Builder::spawn_linked)
//! ├── Registry    the one writer of the task table: state machine, TTL sweep, events, quotas
//! └── RunnerSup   one runner per partition of tasks; restarts a dead one; restart intensity
//!     └── Runner  holds the tasks hashed to it: deadlines, cancel escalation, retry
//!         │       backoffs, status queries
//!         └── work   your async fn(TaskContext) in its own tokio task
//! ```
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use serde_json::json;
//! use taskward::{Outcome, Scope, TaskContext, TaskError, TaskSpec, Taskward};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward::Error> {
//! let ward = Taskward::builder().max_live_tasks(10_000).spawn().await?;
//! let scope = Scope::session("session-1");
//!
//! let task = ward
//!     .submit(
//!         TaskSpec::new("count").scope(scope.clone()).timeout(Duration::from_secs(30)),
//!         |ctx: TaskContext| async move {
//!             let n = 1_000;
//!             for i in 0..n {
//!                 ctx.progress(i, Some(n), "counting");
//!                 if ctx.is_cancelled() {
//!                     return Err(TaskError::cancelled());
//!                 }
//!             }
//!             Ok(json!({ "counted": n }))
//!         },
//!     )
//!     .await?;
//!
//! // Reads go straight to the table; waiting never misses the wake-up.
//! println!("{:?}", ward.get(&scope, task.id())?.status);
//! assert_eq!(task.wait().await?, Outcome::completed(json!({ "counted": 1000 })));
//! ward.shutdown(Duration::from_secs(1)).await?;
//! # Ok(()) }
//! ```
//!
//! # Topics
//!
//! - **Submitting**: [`Taskward::submit`] returns once the task is recorded and its runner has
//!   acknowledged start. [`TaskSpec`] sets scope, timeout, cancel grace, restart policy, TTL,
//!   idempotency key, owner, parent.
//! - **Reading**: [`Taskward::get`] and [`Taskward::list`] read the table without a mailbox
//!   round trip; [`Taskward::wait`] waits for the [`Outcome`].
//! - **Cancel and timeout**: the cooperative token fires at once ([`TaskContext::cancelled`]);
//!   after the grace period the work is aborted. See [`CancelPolicy`].
//! - **Resource limits**: [`TaskSpec::cpu_budget`] and [`TaskSpec::memory_limit`] stop an
//!   attempt whose work is polled too long or holds too much (the latter needs the host's
//!   [`TrackingAllocator`]), with their own failure causes.
//! - **Progress**: [`TaskContext::progress`] never blocks and never queues a message per call.
//! - **Input**: [`TaskContext::request_input`] parks the work (status `input_required`) until a
//!   client answers with [`Taskward::provide_input`]; [`Taskward::input_requests`] lists what
//!   is outstanding as [`InputRequest`]s.
//! - **Events**: [`Taskward::subscribe`] yields numbered [`TaskEvent`]s, and
//!   [`Event::Lagged`] instead of a silent gap.
//! - **Supervision**: [`Builder::spawn_linked`] puts the runtime under a host's supervisor;
//!   [`Taskward::status`] and [`Taskward::runner_status`] answer while work runs.
//! - **Durability**: [`Builder::durable`] keeps the table in a [`DurableStore`] (feature
//!   `sqlite`: `taskward::sqlite::SqliteStore`; feature `postgres`:
//!   `taskward::postgres::PostgresStore`) across restarts: finished tasks are served as
//!   before, tasks of a registered kind ([`Builder::register`], [`Taskward::submit_kind`]) resume
//!   from their last [`TaskContext::checkpoint`], and [`Taskward::suspend`] and
//!   [`Taskward::resume`] stop and restart them. See `docs/durability.md`.
//! - **Owners and scopes**: [`Owner`] actors are told outcomes; [`ClosePolicy`] applies when an
//!   owner dies or [`Taskward::close_scope`] is called.
//!
//! # Crates and features
//!
//! | crate | what it holds | in the facade |
//! |---|---|---|
//! | `taskward-core` | the protocol-neutral model: ids, status machine, records, outcomes, events, errors, the store trait | re-exported at the root |
//! | `taskward-runtime` | the actors, [`TaskContext`], the in-memory store | re-exported at the root |
//! | `taskward-mcp` | the MCP tasks binding: wire types, dispatch, stdio and Streamable HTTP | `taskward::mcp`, feature `mcp` (default) |
//! | `taskward-sqlite` | the embedded durable store: SQLite (bundled), WAL, group commit, migrations | `taskward::sqlite`, feature `sqlite` |
//! | `taskward-postgres` | the PostgreSQL durable store: one row per task (its record as JSON), one transaction per batch, migrations | `taskward::postgres`, feature `postgres` |
//!
//! The `taskward` binary (`taskward serve`, `taskward status`) is the `taskward-cli` package.
//!
//! [ractor]: https://docs.rs/ractor
//! [tokio]: https://docs.rs/tokio

pub use taskward_core::{
    Backoff, CancelPolicy, Cancellation, CancelledBy, ClosePolicy, Cursor, Durability,
    DurableStore, Error, Event, EventKind, Failure, FailureCause, InputRequest, InvalidCursor,
    Limit, ListQuery, Loaded, Outcome, Page, Phase, Progress, Restart, Scope, SessionRecord,
    SharedCancel, SharedInput, SharedTasks, Status, StoreError, StoreWrite, StoredTask, TaskError,
    TaskEvent, TaskId, TaskKind, TaskRecord, TaskStore,
};
pub use taskward_runtime::{
    Builder, Config, EventFilter, Intensity, Kind, Limits, MemoryStore, NODE_SLOTS, Owner,
    ProgressMessage, RegistryStatus, RunnerStatus, ShutdownReport, Subscription, TaskContext,
    TaskHandle, TaskNotice, TaskSpec, Taskward, TrackingAllocator, memory_tracking_installed,
};

/// The MCP tasks binding (feature `mcp`, on by default): serve tools as tasks to MCP clients.
#[cfg(feature = "mcp")]
pub use taskward_mcp as mcp;

/// The embedded durable store (feature `sqlite`): keep the task table in a SQLite file.
#[cfg(feature = "sqlite")]
pub use taskward_sqlite as sqlite;

/// The PostgreSQL durable store (feature `postgres`): keep the task table in a PostgreSQL
/// database.
#[cfg(feature = "postgres")]
pub use taskward_postgres as postgres;

/// The crates behind the facade, for what it does not re-export.
pub mod crates {
    pub use taskward_core as core;
    pub use taskward_runtime as runtime;
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
struct ReadmeDoctests;
