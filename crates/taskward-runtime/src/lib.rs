//! The taskward runtime: a registry actor, a runner supervisor and a fixed set of runner
//! partitions, on [ractor] and [tokio].
//!
//! ```text
//! Taskward        root supervisor (or the host's own supervisor, via spawn_linked)
//! ├── Registry    the one writer of the task table; state machine; TTL sweep; events; quotas
//! └── RunnerSup   one runner per partition; restarts a dead one; restart intensity
//!     └── Runner  holds the tasks hashed to it: deadlines in a timer wheel; cancel
//!         │       escalation; retry backoff; status per task
//!         └── work   one tokio task per task, running the user's async fn(TaskContext)
//! ```
//!
//! Start with [`Taskward::builder`]; describe a task with [`TaskSpec`]; the work receives a
//! [`TaskContext`]. Most users depend on the `taskward` facade, which re-exports this crate
//! and `taskward-core`.
//!
//! [ractor]: https://docs.rs/ractor
//! [tokio]: https://docs.rs/tokio

mod builder;
mod checkpoint;
mod config;
mod context;
mod control;
mod event_router;
mod handle;
mod journal;
mod kinds;
mod memory_store;
mod meter;
mod progress;
mod registry;
mod report;
mod restart_window;
mod root;
mod runner;
mod spec;
mod spec_limits;
mod subscription;
mod table;
mod ward;

pub use builder::Builder;
pub use config::{Config, Intensity, NODE_SLOTS};
pub use context::TaskContext;
pub use handle::TaskHandle;
pub use kinds::Kind;
pub use memory_store::MemoryStore;
pub use meter::{TrackingAllocator, memory_tracking_installed};
pub use progress::ProgressMessage;
pub use registry::{Limits, RegistryStatus};
pub use root::RootMsg;
pub use runner::RunnerStatus;
pub use spec::{Owner, TaskNotice, TaskSpec};
pub use subscription::{EventFilter, Subscription};
pub use ward::{ElsewhereStatuses, ShutdownReport, Taskward};
