//! The raw floor: what any runtime of spawned, cancellable, listed tasks must do at least —
//! `tokio::spawn`, a `CancellationToken` per task, a sharded map of states (`dashmap`: one
//! read-write lock per shard, chosen by the id's hash, as taskward's store has) and a
//! `BTreeMap` by creation for pages — and its side of each workload.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use dashmap::DashMap;
use serde_json::Value;
use taskward::{TaskError, TaskId};
use tokio_util::sync::CancellationToken;

use crate::timing::{percentile, time_gets};
use crate::workloads::rss_bytes;

const WORKING: u8 = 0;
const COMPLETED: u8 = 1;
const CANCELLED: u8 = 2;

/// A task's state.
#[derive(Debug)]
pub(crate) struct Entry {
    id: TaskId,
    seq: u64,
    status: AtomicU8,
    token: CancellationToken,
}

/// States by id in a sharded map, tasks by creation for pages, tokio::spawn, a token per task.
#[derive(Debug, Default)]
pub(crate) struct Floor {
    by_id: DashMap<TaskId, Arc<Entry>>,
    /// Pages: tasks by creation sequence (the sequence is drawn under this lock, so the map
    /// is in creation order, as taskward's scope index is).
    by_seq: RwLock<BTreeMap<u64, Arc<Entry>>>,
    next: AtomicU64,
}

impl Floor {
    /// Records a task (the floor's `create`).
    fn create(&self) -> Arc<Entry> {
        let id = TaskId::new();
        let entry = {
            let mut by_seq = self.by_seq.write().unwrap();
            let entry = Arc::new(Entry {
                id,
                seq: self.next.fetch_add(1, Ordering::Relaxed) + 1,
                status: AtomicU8::new(WORKING),
                token: CancellationToken::new(),
            });
            by_seq.insert(entry.seq, entry.clone());
            entry
        };
        self.by_id.insert(id, entry.clone());
        entry
    }

    /// Records a task and spawns its work; the handle completes when it is terminal.
    fn submit<F, Fut>(&self, work: F) -> (TaskId, tokio::task::JoinHandle<()>)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        let entry = self.create();
        let fut = work(entry.token.clone());
        let id = entry.id;
        let handle = tokio::spawn(async move {
            let status = match fut.await {
                Ok(_) => COMPLETED,
                Err(_) => CANCELLED,
            };
            let _ =
                entry
                    .status
                    .compare_exchange(WORKING, status, Ordering::AcqRel, Ordering::Acquire);
        });
        (id, handle)
    }

    /// The floor's `get`.
    pub(crate) fn get(&self, id: &TaskId) -> Option<Arc<Entry>> {
        self.by_id.get(id).map(|e| e.value().clone())
    }

    fn cancel(&self, id: &TaskId) -> bool {
        let Some(entry) = self.get(id) else {
            return false;
        };
        let won = entry
            .status
            .compare_exchange(WORKING, CANCELLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        entry.token.cancel();
        won
    }

    fn page(&self, after: u64, size: usize) -> Vec<Arc<Entry>> {
        self.by_seq
            .read()
            .unwrap()
            .range(after + 1..)
            .take(size)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

/// The floor's progress: latest-wins atomics.
#[derive(Debug, Default)]
struct ProgressCell {
    done: AtomicU64,
    total: AtomicU64,
}

impl ProgressCell {
    fn set(&self, done: u64, total: u64) {
        self.done.fetch_max(done, Ordering::AcqRel);
        self.total.store(total, Ordering::Release);
    }

    fn done(&self) -> u64 {
        self.done.load(Ordering::Acquire)
    }
}

// ---------------------------------------------------------------------------- the workloads

/// Tasks/s: `n` trivial tasks from `clients` concurrent clients, submit to terminal.
pub(crate) async fn throughput(n: usize, clients: usize) -> f64 {
    let floor = Arc::new(Floor::default());
    let per = n / clients;
    let start = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients {
        let floor = floor.clone();
        joins.push(tokio::spawn(async move {
            let mut handles = Vec::with_capacity(per);
            for _ in 0..per {
                let (_, h) = floor.submit(|_token| async { Ok::<_, TaskError>(Value::Null) });
                handles.push(h);
            }
            for h in handles {
                h.await.expect("work");
            }
        }));
    }
    for j in joins {
        j.await.expect("client");
    }
    (per * clients) as f64 / start.elapsed().as_secs_f64()
}

/// p50 of sequential submits, in µs.
pub(crate) async fn submit_latency(samples: usize) -> f64 {
    let floor = Floor::default();
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        let _ = floor.submit(|_token| async { Ok::<_, TaskError>(Value::Null) });
        times.push(t.elapsed());
    }
    times.sort();
    percentile(&times, 0.5)
}

/// A floor of `n` tasks created one by one: the floor, µs per create and the ids.
pub(crate) fn filled(n: usize) -> (Floor, f64, Vec<TaskId>) {
    let floor = Floor::default();
    let start = Instant::now();
    let ids: Vec<TaskId> = (0..n).map(|_| floor.create().id).collect();
    let create_us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    (floor, create_us, ids)
}

/// The figures for the flat check: µs per create, get and page at `n` tasks.
pub(crate) fn at(n: usize, gets: usize) -> [f64; 3] {
    let floor = Floor::default();
    let mut ids: Vec<TaskId> = (0..n - 1_000).map(|_| floor.create().id).collect();
    let start = Instant::now();
    ids.extend((0..1_000).map(|_| floor.create().id));
    let create = start.elapsed().as_secs_f64() * 1e6 / 1_000.0;
    let get = time_gets(&ids, gets, |id| floor.get(id).is_some());
    let page = time_pages(&floor, n);
    [create, get, page]
}

/// µs per page of 100 from all over the `table` tasks, cursor-based.
pub(crate) fn time_pages(floor: &Floor, table: usize) -> f64 {
    let pages = 2_000;
    let start = Instant::now();
    let mut seen = 0;
    for i in 0..pages {
        let after = ((i * 7919) % (table - 100)) as u64;
        seen += floor.page(after, 100).len();
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / pages as f64;
    assert_eq!(seen, pages * 100);
    per
}

/// µs per first page of `size` of a floor of `n` tasks (the floor has no statuses to filter
/// on: this is what an unfiltered page costs it).
pub(crate) fn first_pages(n: usize, size: usize, pages: usize) -> f64 {
    let (floor, _, _) = filled(n);
    let start = Instant::now();
    for _ in 0..pages {
        let page = floor.page(0, size);
        assert_eq!(page.len(), size);
        std::hint::black_box(page);
    }
    start.elapsed().as_secs_f64() * 1e6 / pages as f64
}

/// Cancel latencies: from the call to the work observing the cancel, µs (p50, p99).
pub(crate) async fn cancel(samples: usize) -> (f64, f64) {
    let floor = Floor::default();
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<Instant>();
        let (id, _) = floor.submit(move |token| async move {
            let _ = started_tx.send(());
            token.cancelled().await;
            let _ = seen_tx.send(Instant::now());
            Err(TaskError::cancelled())
        });
        started_rx.await.expect("work started");
        let t = Instant::now();
        floor.cancel(&id);
        let seen = seen_rx.await.expect("work saw the cancel");
        times.push(seen.saturating_duration_since(t));
    }
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// ns per progress update in a hot loop.
pub(crate) fn progress(calls: u64) -> f64 {
    let cell = ProgressCell::default();
    let start = Instant::now();
    for i in 0..calls {
        cell.set(std::hint::black_box(i), calls);
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    assert_eq!(cell.done(), calls - 1);
    ns
}

/// Bytes of RSS per live task with `n` live tasks (in a child process of its own).
pub(crate) async fn live_task_bytes(n: usize) -> f64 {
    let floor = Floor::default();
    let before = rss_bytes();
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (id, h) = floor.submit(|token| async move {
            token.cancelled().await;
            Err(TaskError::cancelled())
        });
        handles.push((id, h));
    }
    tokio::task::yield_now().await;
    let after = rss_bytes();
    (after.saturating_sub(before)) as f64 / n as f64
}
