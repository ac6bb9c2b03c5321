//! The durable store contract, written once (issue 11): what the runtime promises through a
//! store, checked against any storage that can open one.
//!
//! A [`Storage`] opens a store on the same data as a process started now would (a fresh
//! connection to the same file, the same database); [`Rig`] starts runtimes on it, one
//! "process" after another, and reads back what the storage holds with a fresh open. The
//! checks are in [`checks`], each an `async fn(&Rig<S>)` generic over the storage, and
//! `store_contract!` makes one `#[tokio::test]` per check for a
//! storage.
//!
//! A crash is a new process started while the old one still runs: [`Rig::builder`] fences
//! every store opened before it, whose later commits are dropped (as if the process had died
//! when the new one started) while its runtime carries on until the test shuts it down.
//!
//! The storage of the in-memory runtime opens no store: the checks of what reaches a store
//! check only what the runtime serves, and the checks that need a durable store (a restart, or
//! a store opened directly) are ignored with
//! the reason given to the macro (shown by `cargo test` as `ignored, <reason>`).
//!
//! # Adding a store
//!
//! Implement [`Storage`] for it (its `open` connects to the same database each time; reset
//! the data in its constructor) and add one line to `tests/store_contract.rs`:
//!
//! ```text
//! store_contract!(postgres, PgStorage::new(&url));
//! ```

#![allow(dead_code, unreachable_pub)]

pub mod checks;
/// Records and sessions that exercise every column: the SQLite store's test helpers.
#[path = "../../crates/taskward-sqlite/tests/common/mod.rs"]
pub mod records;

use std::sync::{Arc, Condvar, Mutex};

use taskward::{Builder, Durability, DurableStore, Loaded, StoreError, StoreWrite, Taskward};

/// Where a store keeps its data: opens stores on it, one per "process".
pub trait Storage: Send + Sync + 'static {
    /// A store on this storage's data, as a process started now would open it; `None` for
    /// the in-memory runtime (no durable store).
    fn open(&self) -> Option<Box<dyn DurableStore>>;
}

/// The commits of the current process, and a gate that holds them.
#[derive(Debug, Default)]
struct Shared {
    /// The process whose commits reach the storage; older ones are fenced. Held across each
    /// commit, so that a new process starts either before an old one's commit (which is then
    /// dropped) or after it has landed: never in between.
    generation: Mutex<u64>,
    /// Every write that reached the storage, in order.
    log: Mutex<Vec<StoreWrite>>,
    /// While true, commits wait (see [`Rig::hold`]).
    held: Mutex<bool>,
    released: Condvar,
}

/// A store opened for one process: commits while its process is the current one.
#[derive(Debug)]
struct Fenced {
    store: Box<dyn DurableStore>,
    generation: u64,
    shared: Arc<Shared>,
}

impl DurableStore for Fenced {
    fn durability(&self) -> Durability {
        self.store.durability()
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        self.store.load()
    }

    fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        let mut held = self.shared.held.lock().unwrap();
        while *held {
            held = self.shared.released.wait(held).unwrap();
        }
        drop(held);
        let current = self.shared.generation.lock().unwrap();
        if *current != self.generation {
            // This process "died" when a newer one started: nothing it writes lands.
            return Ok(());
        }
        self.store.commit(batch)?;
        self.shared
            .log
            .lock()
            .unwrap()
            .extend(batch.iter().cloned());
        drop(current);
        Ok(())
    }
}

/// Runtimes on one storage, one process after another (see the module docs).
pub struct Rig<S> {
    storage: S,
    shared: Arc<Shared>,
}

impl<S: Storage> Rig<S> {
    /// A rig on `storage`.
    pub fn new(storage: S) -> Self {
        Self {
            storage,
            shared: Arc::default(),
        }
    }

    /// Whether runtimes of this rig write to a store (false for the in-memory runtime).
    pub fn durable(&self) -> bool {
        self.storage.open().is_some()
    }

    /// The builder of a new process on the storage; every store opened before is fenced.
    pub fn builder(&self) -> Builder {
        let builder = Taskward::builder();
        match self.storage.open() {
            Some(store) => {
                let generation = {
                    let mut current = self.shared.generation.lock().unwrap();
                    *current += 1;
                    *current
                };
                builder.durable(Fenced {
                    store,
                    generation,
                    shared: self.shared.clone(),
                })
            }
            None => builder,
        }
    }

    /// A new process with the default options.
    pub async fn start(&self) -> Taskward {
        self.builder().spawn().await.expect("the runtime starts")
    }

    /// A store on the storage, opened directly (not fenced, no runtime); `None` without one.
    pub fn open(&self) -> Option<Box<dyn DurableStore>> {
        self.storage.open()
    }

    /// What the storage holds now, read by a store opened afresh (`None` without one).
    pub fn stored(&self) -> Option<Loaded> {
        let mut store = self.storage.open()?;
        Some(store.load().expect("a fresh open loads"))
    }

    /// Every write that reached the storage so far, in order.
    pub fn log(&self) -> Vec<StoreWrite> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Holds every commit until [`release`](Rig::release): writes queue up meanwhile.
    pub fn hold(&self) {
        *self.shared.held.lock().unwrap() = true;
    }

    /// Lets the held commits go.
    pub fn release(&self) {
        *self.shared.held.lock().unwrap() = false;
        self.shared.released.notify_all();
    }
}

/// One `#[tokio::test]` per contract check for a storage, in a module of its own:
/// `store_contract!(name, storage)`, or for a storage without a durable store
/// `store_contract!(name, storage, without_restart = "reason")`, which ignores the checks
/// that need a durable store (a restart, or a store opened directly) with that reason. `storage` is an expression evaluated once per test.
macro_rules! store_contract {
    ($name:ident, $storage:expr) => {
        store_contract!(@ $name, $storage, []);
    };
    ($name:ident, $storage:expr, without_restart = $why:literal) => {
        store_contract!(@ $name, $storage, [#[ignore = $why]]);
    };
    (@ $name:ident, $storage:expr, [$($restart:tt)*]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            store_contract!(@ tests $storage, [#[tokio::test]], [
                submit_is_durable_when_it_returns,
                transitions_reach_the_store_in_order,
                removal_on_eviction_reaches_the_store,
                checkpoints_coalesce_to_the_last_one,
            ]);
            store_contract!(@ tests $storage, [#[tokio::test(start_paused = true)]], [
                removal_on_expiry_reaches_the_store,
            ]);
            store_contract!(@ tests $storage, [#[tokio::test] $($restart)*], [
                finished_tasks_reload_exactly_as_before,
                live_closure_tasks_come_back_failed_interrupted,
                live_tasks_of_a_registered_kind_resume_from_their_checkpoint,
                sessions_round_trip,
                list_order_and_cursors_are_stable_across_a_restart,
                idempotency_keys_survive_a_restart,
                batch_keeps_the_last_put_of_a_task,
                batch_put_then_remove_leaves_nothing,
                batch_a_remove_drops_the_checkpoint_of_a_task_put_again,
                batch_a_checkpoint_is_kept_across_puts,
                batch_a_checkpoint_of_a_missing_task_is_ignored,
                batch_keeps_the_last_write_of_a_session,
            ]);
        }
    };
    (@ tests $storage:expr, $attrs:tt, [$($check:ident),* $(,)?]) => {
        $(store_contract!(@ one $storage, $attrs, $check);)*
    };
    (@ one $storage:expr, [$(#[$attr:meta])*], $check:ident) => {
        $(#[$attr])*
        async fn $check() {
            crate::contract::checks::$check(&crate::contract::Rig::new($storage)).await;
        }
    };
}
