//! taskward as the task engine of [rmcp] 3.x servers.
//!
//! rmcp's own task manager keeps its tasks in a map behind a mutex, runs their work with a
//! bare `tokio::spawn` and sweeps the whole map on every call. This crate gives an rmcp
//! server the same API on a supervised [taskward runtime](taskward_runtime::Taskward):
//!
//! - [`TaskManager`], [`TaskOptions`], [`TaskContext`], [`TaskExit`], [`TaskFuture`]: a
//!   drop-in for `rmcp::task_manager`, with the same names and shapes. Runners supervise the
//!   work (a panic fails the task, a timeout cancels then aborts it), progress and input
//!   requests go through the runtime, TTLs are the runtime's (capped, swept by a timer in
//!   O(expired)), and its limits refuse a task with a typed [`SpawnError`].
//! - [`WithTasks`]: wraps any `ServerHandler`, answers `tasks/get`, `tasks/update` and
//!   `tasks/cancel` itself and runs the tools marked task-capable as tasks, each bound to its
//!   caller ([`Principal`], else the HTTP session, else the connection).
//!
//! # Migrating rmcp's task demo server
//!
//! The change to rmcp's `examples/servers/src/common/task_demo.rs`: the import, and the
//! spawn, which is `async` and fallible here (the runtime may refuse a task at a limit).
//! The constructor may stay `TaskManager::new()`, which starts a runtime with taskward's
//! defaults at the first spawn; [`TaskManager::with_runtime`] takes a configured one.
//!
//! ```diff
//!  use rmcp::{
//!      ...
//! -    task_manager::{TaskExit, TaskManager, TaskOptions},
//!      tool, tool_router,
//!  };
//! +use taskward_rmcp::{TaskExit, TaskManager, TaskOptions};
//!  ...
//!              let task = self.tasks.spawn(TaskOptions::default(), move |ctx| {
//!                  ...
//! -            });
//! +            }).await?;
//!              return Ok(CallToolResponse::Task(CreateTaskResult::new(task)));
//! ```
//!
//! The closure given to `spawn` must be `Send + 'static` here: it is called when the task's
//! runner starts, not inside `spawn`.
//!
//! `get_task`, `update_task` and `cancel_task` keep their signatures, so the demo's
//! `tasks/*` handlers do not change. With [`WithTasks`], a server needs none of them: it
//! writes `call_tool` only.
//!
//! [rmcp]: https://docs.rs/rmcp

mod caller;
mod context;
mod detail;
mod error;
mod manager;
mod options;
mod with_tasks;

pub use caller::{Principal, caller_scope};
pub use context::{TaskContext, TaskExit, TaskFuture};
pub use error::SpawnError;
pub use manager::TaskManager;
pub use options::{DEFAULT_POLL_INTERVAL_MS, TaskOptions};
pub use with_tasks::WithTasks;
