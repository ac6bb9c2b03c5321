//! The PostgreSQL durable store of taskward: the task table and the sessions in a PostgreSQL
//! database, so that tasks outlive the process (and, with issue 12, are shared by many
//! nodes).
//!
//! [`PostgresStore`] implements [`DurableStore`](taskward_core::DurableStore), as the SQLite
//! store does: the runtime serves every read from memory, hands the store its writes in
//! batches from one writer thread (group commit: many submits share one transaction) and
//! loads everything back once at start. [`Cluster`] and its companions are the database side
//! of several nodes on one database (issue 12): see [Several nodes](#several-nodes-the-database-side).
//! [`ClusterStore`] is the durable store a node's runtime writes through in a cluster: see
//! [A node's writes](#a-nodes-writes-clusterstore). [`Node`] joins a runtime to the cluster
//! and does its duties: see [Running a node](#running-a-node).
//!
//! # A tour
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use taskward_core::{Durability, DurableStore, Scope, StoreWrite, TaskId, TaskRecord};
//! use taskward_postgres::{PostgresOptions, PostgresStore};
//!
//! let url = "postgres://taskward@localhost/taskward";
//! let record = TaskRecord::new(TaskId::new(), Scope::global(), "count_primes".into(), 1);
//! let id = record.id;
//!
//! let mut store = PostgresStore::connect(url, PostgresOptions::new())?;
//! store.commit(&[
//!     StoreWrite::Put(Arc::new(record.clone())),
//!     StoreWrite::Checkpoint(id, Arc::new(serde_json::json!({ "next": 1000 }))),
//! ])?;
//! drop(store);
//!
//! // The next start reads everything back.
//! let mut store = PostgresStore::connect(url, PostgresOptions::new())?;
//! let loaded = store.load()?;
//! assert_eq!(loaded.tasks[0].record, record);
//! assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&serde_json::json!({ "next": 1000 })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Threads: a client of its own
//!
//! [`DurableStore`](taskward_core::DurableStore)'s methods are synchronous and are called
//! from a blocking thread of the runtime (`load`), the journal's writer thread (`commit`) and
//! from async tests. The store runs `tokio-postgres` on a thread of its own, in a
//! current-thread tokio runtime, and its methods hand the work over and wait for the answer
//! on a plain channel: safe from any thread, where `Runtime::block_on` (and the `postgres`
//! sync crate, which uses it) would panic inside a runtime. One connection, no pool: the
//! registry is the store's one writer and its commits are serial.
//!
//! # Policies: what a commit survives
//!
//! | policy | PostgreSQL | survives |
//! | --- | --- | --- |
//! | `process` (default) | `synchronous_commit = on` | a crash of the taskward process, or of the server |
//! | `power` | `synchronous_commit = on`; the server's `fsync` must be on | a power loss of the server's machine |
//!
//! `fsync` is the server's setting: under `power`, connecting checks it and fails if it is
//! off. `memory` is refused (a runtime without a store is the in-memory policy).
//!
//! # Schema and migrations
//!
//! Three tables (version 1; version 2 adds the cluster's columns and tables, see below;
//! version 3 the `node_slots` sequence, see [Running a node](#running-a-node); version 4
//! `tasks.depends_on`, see [The shared queue](#the-shared-queue)). `tasks`: one row per task, keyed by its id (`uuid`), with the columns a
//! query needs (`seq`, `scope`, `status`, `expires_at` as `timestamptz` or NULL; indexed by
//! `seq`, `status` and `expires_at`), the record as `json` and the last checkpoint as `json`
//! or NULL. `sessions`: `id`, `principal`, `expires_at`, the record as `json`; the step after
//! version 3 adds `ended` (a removed session stays a day as a tombstone, read by no one and
//! never written back) and `tasks.input_requests` (see [`ClusterStore`]).
//! `schema_version`: one row per migration step applied. Connecting applies the missing steps
//! in order, one transaction each under an advisory lock (several nodes may connect at once),
//! up to [`SCHEMA_VERSION`]; a database written by a newer taskward is refused with
//! [`SchemaTooNew`]. Use a database of its own for taskward (or a schema of its own, with
//! `options=-csearch_path%3Dtaskward` in the URL).
//!
//! # Commits
//!
//! A batch is one transaction of at most five statements over arrays (`unnest`), whatever its
//! size: the last write of each task and session wins, tasks are upserted with
//! `ON CONFLICT (id) DO UPDATE`, and a checkpoint updates its task's row only if the task is
//! still in the table at the end of the batch. Every statement is idempotent, so a batch
//! retried after the connection was lost during `COMMIT` leaves the same table.
//!
//! The records are `json`, not `jsonb`: `jsonb` refuses a string holding U+0000, which a
//! client's input may carry, and a commit that can never succeed would stall the journal
//! (it retries until it does). `json` keeps the text as written, so a record reads back
//! exactly, and still answers `->` and `->>`. PostgreSQL's `text` refuses U+0000 too, so the
//! `text` columns that key scopes, session ids and principals hold them with `%` and U+0000
//! percent-escaped (`%25`, `%00`; `/` too in a scope's session part, so that no two scopes
//! share a key); ordinary ids and names are stored as they are.
//!
//! # When the server goes away
//!
//! A `load` or `commit` while the connection is lost fails with a [`StoreError`](
//! taskward_core::StoreError); a transaction cut short is rolled back by the server. The next
//! call connects again (bounded by [`PostgresOptions::connect_timeout`]) before it runs. The
//! runtime's journal retries a failed commit with backoff (10 ms doubling to 5 s) until it
//! succeeds, and submits wait for it, so a server restart delays submits and loses nothing.
//! A row that no longer parses is skipped at load with a warning and counted in
//! [`PostgresStore::last_load`]; it never fails the start.
//!
//! # Several nodes: the database side
//!
//! [`Cluster`] is a node's handle on the shared tables: a pool of connections
//! (`deadpool-postgres`), each method one short transaction. [`Node`] calls it for a
//! runtime: see [Running a node](#running-a-node).
//!
//! - **Schema v2** adds per task `kind` (the registered kind's name, NULL for a closure
//!   task), `priority`, `queued` and `available_at`, `node`, `attempt` (the claims so far:
//!   the fencing token), `max_attempts`, `lease_until` (non-NULL while a node holds the
//!   task) and `cancel_requested`; the tables `nodes` (id, started_at, heartbeat_at,
//!   capacity) and `task_inputs` (answers not yet taken). The claim reads the partial index
//!   `tasks_queue (priority DESC, seq) WHERE queued`. A v1 database is upgraded in place.
//! - **Queue**: [`Cluster::enqueue`] inserts tasks of registered kinds as queued;
//!   [`Cluster::insert_local`] inserts closure tasks held by their node.
//! - **Claims**: [`Cluster::claim`] takes up to a capacity of queued tasks of the kinds the
//!   node registered, priority first then FIFO by `seq`, with `FOR UPDATE SKIP LOCKED`, and
//!   never past the [`Caps`] (global and per kind): a capped claim first takes
//!   transaction-scoped advisory locks (the global claim lock, or one per capped kind in
//!   name order), so the held counts it reads stay true until it commits.
//! - **Leases and fencing**: each claim sets `node`, `attempt + 1` and a lease;
//!   [`Cluster::heartbeat`] renews the node's row and every lease it holds in one statement,
//!   and reports the held tasks with a cancel requested or answers waiting. Every write of a
//!   claimed task ([`Cluster::finish`], [`Cluster::checkpoint`], [`Cluster::progress`],
//!   [`Cluster::take_answers`]) names its [`Fence`] and is refused with
//!   [`ClusterError::Fenced`] when the row was reclaimed or is terminal: the first terminal
//!   transition wins in SQL.
//! - **Rescue**: [`Cluster::rescue`] takes the tasks whose lease expired (no heartbeat for a
//!   lease: three heartbeats, 30 s by default): registered kinds with attempts left go back
//!   to the queue (attempt kept), the others fail `interrupted`. [`Cluster::sweep`] is the
//!   TTL sweep. Both are idempotent; the node holding the [`Leadership`] (a session-level
//!   `pg_try_advisory_lock` on a dedicated connection) runs them.
//! - **Signals**: [`Cluster::request_cancel`] and [`Cluster::answer_input`] change the row
//!   and `pg_notify` in one transaction; a [`Listener`] on a dedicated connection yields
//!   typed [`Notification`]s, reconnects after a loss and then yields
//!   [`Notification::MaybeMissed`]. A missed notification costs at most one heartbeat.
//! - **Reads by key**: [`Cluster::get`] and [`Cluster::list`] (keyset by `seq`),
//!   scope-checked: a foreign task reads as an unknown one.
//!
//! The single-node store's commits ([`PostgresStore`]) are not fenced: with several nodes, a
//! node's runtime writes through a [`ClusterStore`] instead.
//!
//! # A node's writes: ClusterStore
//!
//! [`ClusterStore`] is the [`DurableStore`](taskward_core::DurableStore) of one node of a
//! cluster: the runtime's journal writes the node's tasks into the shared `tasks` table, as
//! rows held by the node, and every later write is fenced by the node and the attempt it
//! holds the task under (the [`Fences`] it keeps; a task claimed with [`Cluster::claim`] is
//! [adopted](ClusterStore::adopt) before the runtime writes it). A terminal record releases
//! the lease and sends a `changed` notification, as [`Cluster::finish`] does. A `Remove` forgets the fence and leaves the row: the elected node's TTL sweep
//! removes expired rows for everyone, and a node dropping a finished task from its memory
//! must not delete it for the others. Sessions are written to the shared `sessions` table.
//! A task's outstanding input requests (`StoreWrite::Inputs`) are written, fenced, to its row,
//! and a status change sends a `status` notification (see [`Notification::Status`]).
//! Load returns every session and the tasks the node's [`NodeId`] holds, with their fences:
//! keep a node's id across restarts, or its former tasks wait for the rescue. A held task's
//! progress is [coalesced](ClusterStore#progress-is-coalesced): written at most about every
//! [`ClusterStoreOptions::progress_interval`] (250 ms), the last one by the store itself.
//!
//! ## Retries and refusals
//!
//! A batch is one transaction of at most eight array statements. A fenced write that matches
//! no row is not an error (the journal would retry it forever): the rest of the batch
//! commits, and a [`Refusal`] (the task and why, a [`Fenced`]) goes to the bounded channel
//! [`ClusterStore::refusals`] hands out once; when it is full, later refusals are dropped and
//! counted ([`Refusals::dropped`]). A refused write of a task another node made terminal
//! releases the node's hold. A database error fails the batch, and the journal retries it
//! whole: each statement is idempotent, and a fenced write also matches a row that already
//! holds exactly what it writes under the same node and attempt, so a retry after a `COMMIT`
//! whose reply was lost refuses nothing the node wrote itself.
//!
//! # Running a node
//!
//! [`Node::join`] connects as one node (keep its [`NodeId`] across restarts) and gives the
//! node's [`ClusterStore`], a [`SharedTable`] and the node's slot, for the runtime's builder;
//! [`Node::run`] spawns the node's duties and returns the [`NodeHandle`] that stops them.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use serde_json::{Value, json};
//! use taskward_core::TaskError;
//! use taskward_postgres::{ClusterOptions, Node, NodeId, NodeOptions};
//! use taskward_runtime::{TaskContext, Taskward};
//!
//! async fn resize(_ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
//!     Ok(json!({ "resized": input }))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let id: NodeId = std::fs::read_to_string("/var/lib/taskward/node-id")?.parse()?;
//! let options = NodeOptions::new()
//!     .capacity(16)
//!     .cluster(ClusterOptions::new().heartbeat(Duration::from_secs(5)));
//! let (node, store, shared) =
//!     Node::join("postgres://taskward@db/taskward", id, options).await?;
//! let ward = Taskward::builder()
//!     .register("resize", resize)
//!     .durable(store)
//!     .shared_tasks(shared)
//!     .node_slot(node.slot())
//!     .spawn()
//!     .await?;
//! let duties = node.run(ward.clone());
//! // ... serve requests with `ward` ...
//! duties.stop().await;
//! ward.shutdown(Duration::from_secs(5)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The duties run in one loop, outside the runtime's handlers; a database error is logged
//! and the duty runs again at the next period ([`ClusterOptions::heartbeat`]):
//!
//! - **Heartbeat**, every period ([`Cluster::heartbeat`]): renews the node's leases; a held
//!   task cancelled elsewhere that still runs here is cancelled locally (its token fires);
//!   the answers of a held task whose work has asked for input are taken
//!   ([`Cluster::take_answers`]) and handed to it (an answer that came first waits in the
//!   table for a later heartbeat); a task the node runs that two heartbeats in a row no
//!   longer list was lost, and is released (below).
//! - **Signals**, at once ([`Listener`]): a cancel or an input answer naming this node acts
//!   as above; tasks queued of a kind the runtime registered trigger a claim; a listener
//!   that reconnected triggers a heartbeat and a claim.
//! - **Claims**, at each trigger and every period ([`Cluster::claim`]): up to
//!   [`NodeOptions::capacity`] minus the claimed (and taken) tasks still live on the node
//!   (tasks that stay on the node do not count), of the runtime's kinds, under
//!   [`NodeOptions::caps`]; each claim is [adopted](Fences::adopt) by the store, then by the
//!   runtime (`Taskward::adopt`), which runs it from its checkpoint. A task the node claims
//!   back while it still runs it (its lease had lapsed) goes on under the new claim; one it
//!   already ended here is given back to the queue, claimable again a lease later.
//! - **Taking at admission**, while the duties run: a routed task submitted on the node is
//!   inserted held by it (attempt 1, a lease), its fence adopted and the runtime told
//!   (`Enqueued::Taken`) to run it at once, when the node has room (the same count as its
//!   claims'), no cap applies to it, it has no dependency, and no claimable task of its kind
//!   with at least its priority waits in the queue. Otherwise it is queued.
//! - **Leadership** ([`Leadership`]): while the node leads, every period, [`Cluster::rescue`],
//!   [`Cluster::sweep`] then [`Cluster::settle_dependents`]; a dead node's tasks are requeued
//!   or failed within the lease plus one period.
//! - **Refusals** ([`Refusals`]): a task whose write was refused (ended or claimed
//!   elsewhere) and still runs here is released.
//! - **Release** (`Taskward::release`): the work's token fires and, after its grace, the
//!   work is aborted, but no end is recorded or written; the task leaves the node's memory,
//!   so reads on this node go to the table, and a wait under way here follows the task there
//!   and returns the outcome it reaches on its new node.
//!
//! Reads by key of other nodes' tasks ([`SharedTable`]) go to a dedicated read connection
//! when it is free (else the pool), and a terminal record read once is answered from a
//! bounded cache until the task's expiry ([`ClusterOptions::terminal_cache`]). Every
//! connection is opened with TLS as the URL's `sslmode` asks (`disable`, `prefer`,
//! `require`, `verify-ca`, `verify-full`), trusting [`ClusterOptions::ca_file`] if given.
//!
//! # The shared queue
//!
//! A node's [`SharedTable`] has the shared queue: its runtime routes each task of a
//! registered kind that can travel (`Taskward::submit_kind`) to it instead of running it.
//! The submits that arrive together are admitted in one transaction ([`Cluster::admit`]):
//! the live limits are counted across the whole table under advisory locks, the
//! dependencies checked, and the rows inserted queued with a `queued` notification per kind;
//! the submit returns once that commits. Any node with room claims them. A queued task with
//! `depends_on` (schema v4: `tasks.depends_on uuid[]`) is skipped by claims until every
//! dependency is `completed`; the node whose write ends a task with queued dependents sends
//! a `queued` notification for their kinds, so that they are claimed at once; and the
//! leader's [`Cluster::settle_dependents`] ends, every period, the queued tasks whose
//! dependency failed, was cancelled or is gone.
//!
//! The slot is `nextval('node_slots') % NODE_SLOTS` (1024), drawn at each join: slots are
//! unique among the nodes that joined within any 1024 consecutive joins, which is what makes
//! their tasks' `seq`s unique (`Builder::node_slot`).

mod cluster;
mod cluster_store;
mod commit;
mod conn;
mod error;
mod load;
mod node;
mod options;
mod pool;
mod schema;
mod sessions;
mod store;
mod text;
mod tls;
mod worker;

pub use cluster::{
    Answered, CancelRequested, Caps, Claimed, Cluster, ClusterError, ClusterOptions, Fence, Fenced,
    Heartbeat, Leadership, Listener, NewTask, NodeId, Notification, Rescued, Settled, SharedTable,
    Swept,
};
pub use cluster_store::{ClusterStore, ClusterStoreOptions, Fences, Refusal, Refusals};
pub use node::{Node, NodeHandle, NodeOptions};
pub use options::PostgresOptions;
pub use schema::SCHEMA_VERSION;
pub use store::PostgresStore;
pub use taskward_core::{LoadStats, SchemaTooNew};
