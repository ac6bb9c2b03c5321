//! The embedded durable store of taskward: the task table and the sessions in one SQLite file,
//! so that tasks outlive the process.
//!
//! [`SqliteStore`] implements [`DurableStore`](taskward_core::DurableStore): the runtime
//! serves every read from memory, hands the store its writes in batches from one writer
//! thread (group commit: many submits share one transaction) and loads everything back once
//! at start. SQLite is compiled in (rusqlite's `bundled` feature): nothing to install.
//!
//! # A tour
//!
//! ```
//! use std::sync::Arc;
//!
//! use taskward_core::{Durability, DurableStore, Scope, StoreWrite, TaskId, TaskRecord};
//! use taskward_sqlite::SqliteStore;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("taskward.db");
//! let record = TaskRecord::new(TaskId::new(), Scope::global(), "count_primes".into(), 1);
//! let id = record.id;
//!
//! let mut store = SqliteStore::open(&path, Durability::Process)?;
//! store.commit(&[
//!     StoreWrite::Put(Arc::new(record.clone())),
//!     StoreWrite::Checkpoint(id, Arc::new(serde_json::json!({ "next": 1000 }))),
//! ])?;
//! drop(store);
//!
//! // The next start reads everything back.
//! let mut store = SqliteStore::open(&path, Durability::Process)?;
//! let loaded = store.load()?;
//! assert_eq!(loaded.tasks.len(), 1);
//! assert_eq!(loaded.tasks[0].record, record);
//! assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&serde_json::json!({ "next": 1000 })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Policies: what a commit survives
//!
//! [`commit`](taskward_core::DurableStore::commit) returns once its batch is durable under the
//! policy the store was opened with ([`Durability`](taskward_core::Durability)):
//!
//! | policy | SQLite | survives |
//! | --- | --- | --- |
//! | `memory` | an in-memory database | nothing: the tasks live as long as the process |
//! | `process` (default) | WAL, `synchronous=NORMAL` | a crash or kill of the process; a power loss or OS crash may lose the last commits (never corrupts) |
//! | `power` | WAL, `synchronous=FULL` | a power loss too: the WAL is fsynced before each commit returns |
//!
//! [`SqliteStore::open`] checks that SQLite took WAL mode and the `synchronous` level, and
//! fails otherwise (a file system without shared memory, say).
//!
//! # Schema and migrations
//!
//! Two tables: `tasks` (`row_id`, `id`, `seq`, `scope`, `status`, `expires_at` in Unix
//! milliseconds of the wall clock or NULL, `record` as JSON, `checkpoint` as JSON or NULL,
//! indexed by `seq` and by `expires_at`) and `sessions` (`id` primary key, `record` as JSON,
//! `expires_at`). Task rows are keyed by an increasing `row_id`, not by the random task id,
//! so that a commit appends instead of touching pages all over an id index; the store keeps
//! id → `row_id` in memory, rebuilt at load. It must therefore be the database's only writer
//! while it is open (readers are fine).
//!
//! The schema version is SQLite's `PRAGMA user_version`; opening a database applies the
//! missing migration steps in order, one transaction each, up to [`SCHEMA_VERSION`]. A
//! database written by a newer taskward is refused with [`SchemaTooNew`] rather than misread.
//!
//! Within one batch the last write of each task and session wins; a checkpoint updates its
//! task's row only if the task is still in the table at the end of the batch (see
//! [`SqliteStore`]). A row that no longer parses is skipped at load with a warning and counted
//! in [`SqliteStore::last_load`]; it never fails the start.
//!
//! # Backups
//!
//! A stopped store is its data directory: copy the database file together with its `-wal`
//! and `-shm` files (a copy of the `.db` file alone misses the commits still in the WAL). For
//! a consistent copy of a live store, use SQLite itself: `VACUUM INTO '/backup/taskward.db'`
//! from `sqlite3` (a single compact file), or `sqlite3 taskward.db ".backup
//! /backup/taskward.db"` (the online backup API); both read under a read transaction and never
//! block the store's writer for long.

mod commit;
mod error;
mod load;
mod open;
mod options;
mod rows;
mod schema;
mod store;

pub use options::SqliteOptions;
pub use schema::SCHEMA_VERSION;
pub use store::SqliteStore;
pub use taskward_core::{LoadStats, SchemaTooNew};
