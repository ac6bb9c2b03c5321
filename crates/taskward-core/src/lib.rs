//! The protocol-neutral model of [taskward]: what a task is, how it ends, and where it is kept.
//!
//! This crate knows no actors and no protocol. It defines:
//!
//! - identity and access: [`TaskId`] (random, never sequential) and [`Scope`];
//! - the status machine: [`Status`] (as MCP names it) and the [`Phase`] inside `working`;
//! - the record a task table holds: [`TaskRecord`], [`Progress`], [`TaskKind`];
//! - what parked work asks its client for: [`InputRequest`];
//! - how a task ends: [`Outcome`], [`Failure`], [`Cancellation`], and the [`TaskError`] work
//!   returns;
//! - policies: [`Restart`], [`Backoff`], [`CancelPolicy`], [`ClosePolicy`];
//! - events for subscribers: [`TaskEvent`], [`EventKind`], [`Event`];
//! - listing: [`ListQuery`], [`Page`], [`Cursor`];
//! - the table itself: the [`TaskStore`] trait, written by the registry alone, and the
//!   [`DurableStore`] contract that keeps it across restarts ([`StoreWrite`], [`Loaded`],
//!   [`Durability`]);
//! - the [`Error`] of every fallible call.
//!
//! The runtime that drives all this is `taskward-runtime`; most users depend on the `taskward`
//! facade, which re-exports both.
//!
//! [taskward]: https://docs.rs/taskward

mod durable;
mod durable_load;
mod error;
mod event;
mod id;
mod input;
mod outcome;
mod policies;
mod policy;
mod query;
mod queue;
mod record;
mod scope;
mod shared;
mod status;
mod store;

pub use durable::{Durability, DurableStore, Loaded, SessionRecord, StoreWrite, StoredTask};
pub use durable_load::{LoadStats, SchemaTooNew};
pub use error::{Error, Limit};
pub use event::{Event, EventKind, TaskEvent};
pub use id::{ParseTaskIdError, TaskId};
pub use input::InputRequest;
pub use outcome::{
    Cancellation, CancelledBy, Failure, FailureCause, Outcome, SUMMARY_BYTES, TaskError, summary,
};
pub use policies::TaskPolicies;
pub use policy::{Backoff, CancelPolicy, ClosePolicy, Restart};
pub use query::{Cursor, DEFAULT_PAGE_SIZE, InvalidCursor, ListQuery, MAX_PAGE_SIZE, Page};
pub use queue::{Enqueue, Enqueued};
pub use record::{Progress, TaskKind, TaskRecord};
pub use scope::Scope;
pub use shared::{BoxFuture, ScopeWatch, SharedCancel, SharedInput, SharedTasks, StatusChanged};
pub use status::{Phase, Status};
pub use store::{StoreError, TaskStore};
