//! Bench: the runtime against its performance targets, next to a raw floor, in one process.
//!
//! Each workload of the targets table in `docs/performance.md` runs twice in the same process:
//! once on taskward and once on a **raw floor** — plain `tokio::spawn` + a
//! `CancellationToken` + a map of states behind an `RwLock`, doing the minimum any such runtime
//! must do (no actors, no supervision, no events, no TTL). For each figure it prints, on
//! standard output, three `name value unit` lines: taskward's figure, the floor's
//! (`<name>.floor`) and the ratio taskward/floor (`<name>.ratio`, unit `x`). A summary with
//! the targets goes to standard error.
//!
//! The full run takes about a minute on two cores; `--quick` runs every workload on smaller
//! sizes in a few seconds (CI runs it). `--only <text>` runs the figures whose name contains
//! the text. Memory is measured in child processes (this binary, re-run with
//! `--memory-child`), so that one workload's freed memory cannot hide another's.
//!
//! Run it with (always with `--release`):
//!
//! ```text
//! cargo run --release --example bench
//! cargo run --release --example bench -- --quick
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use taskward::{Cursor, ListQuery, Scope, TaskContext, TaskError, TaskId, TaskSpec, Taskward};
use tokio_util::sync::CancellationToken;

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Tasks in the submit-to-terminal throughput run.
    throughput: usize,
    /// Concurrent submitting clients.
    clients: usize,
    /// Sequential submits timed one by one.
    submit_samples: usize,
    /// Tasks in the table that `get`, `list` and `create` are measured against.
    table: usize,
    /// `get` calls timed.
    gets: usize,
    /// Cancels timed one by one.
    cancels: usize,
    /// Live tasks held for the memory figure.
    memory: usize,
    /// `ctx.progress` calls in the hot loop.
    progress: u64,
    /// Tasks retained for the "flat" figures: the small and the large table.
    flat: (usize, usize),
}

const FULL: Sizes = Sizes {
    throughput: 200_000,
    clients: 32,
    submit_samples: 5_000,
    table: 100_000,
    gets: 2_000_000,
    cancels: 2_000,
    memory: 100_000,
    progress: 20_000_000,
    flat: (1_000, 1_000_000),
};

const QUICK: Sizes = Sizes {
    throughput: 20_000,
    clients: 16,
    submit_samples: 500,
    table: 10_000,
    gets: 200_000,
    cancels: 200,
    memory: 10_000,
    progress: 2_000_000,
    flat: (1_000, 20_000),
};

/// One figure: taskward's value, the floor's, the unit and the goal.
#[derive(Debug)]
struct Figure {
    name: String,
    taskward: f64,
    floor: f64,
    unit: &'static str,
    target: &'static str,
    met: Option<bool>,
}

#[derive(Debug, Default)]
struct Report {
    figures: Vec<Figure>,
}

impl Report {
    fn add(
        &mut self,
        name: impl Into<String>,
        taskward: f64,
        floor: f64,
        unit: &'static str,
        target: &'static str,
        met: Option<bool>,
    ) {
        let name = name.into();
        let ratio = if floor > 0.0 { taskward / floor } else { 0.0 };
        println!("{name} {} {unit}", fmt(taskward));
        println!("{name}.floor {} {unit}", fmt(floor));
        println!("{name}.ratio {ratio:.2} x");
        self.figures.push(Figure {
            name,
            taskward,
            floor,
            unit,
            target,
            met,
        });
    }

    fn summary(&self) {
        eprintln!();
        eprintln!(
            "{:<34} {:>14} {:>14} {:>8} {:>10} {:>14}  met",
            "figure", "taskward", "floor", "ratio", "unit", "target"
        );
        for f in &self.figures {
            let ratio = if f.floor > 0.0 {
                f.taskward / f.floor
            } else {
                0.0
            };
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            eprintln!(
                "{:<34} {:>14} {:>14} {:>8.2} {:>10} {:>14}  {met}",
                f.name,
                fmt(f.taskward),
                fmt(f.floor),
                ratio,
                f.unit,
                f.target
            );
        }
    }
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_nanos() as f64 / 1000.0
}

// ------------------------------------------------------------------------------- the floor

/// The raw floor: what any runtime of spawned, cancellable, listed tasks must do at least.
mod floor {
    use super::*;

    pub(super) const WORKING: u8 = 0;
    pub(super) const COMPLETED: u8 = 1;
    pub(super) const CANCELLED: u8 = 2;

    /// A task's state.
    #[derive(Debug)]
    pub(super) struct Entry {
        pub(super) id: TaskId,
        pub(super) seq: u64,
        pub(super) status: AtomicU8,
        pub(super) token: CancellationToken,
    }

    #[derive(Debug, Default)]
    struct Table {
        by_id: HashMap<TaskId, Arc<Entry>>,
        by_seq: BTreeMap<u64, Arc<Entry>>,
        next: u64,
    }

    /// A map of states behind a lock, tokio::spawn, a token per task.
    #[derive(Debug, Default)]
    pub(super) struct Floor {
        table: RwLock<Table>,
    }

    impl Floor {
        /// Records a task (the floor's `create`).
        pub(super) fn create(&self) -> Arc<Entry> {
            let id = TaskId::new();
            let mut table = self.table.write().unwrap();
            table.next += 1;
            let entry = Arc::new(Entry {
                id,
                seq: table.next,
                status: AtomicU8::new(WORKING),
                token: CancellationToken::new(),
            });
            table.by_id.insert(id, entry.clone());
            table.by_seq.insert(entry.seq, entry.clone());
            entry
        }

        /// Records a task and spawns its work; the handle completes when it is terminal.
        pub(super) fn submit<F, Fut>(&self, work: F) -> (TaskId, tokio::task::JoinHandle<()>)
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
                let _ = entry.status.compare_exchange(
                    WORKING,
                    status,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            });
            (id, handle)
        }

        pub(super) fn get(&self, id: &TaskId) -> Option<Arc<Entry>> {
            self.table.read().unwrap().by_id.get(id).cloned()
        }

        pub(super) fn cancel(&self, id: &TaskId) -> bool {
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

        pub(super) fn page(&self, after: u64, size: usize) -> Vec<Arc<Entry>> {
            self.table
                .read()
                .unwrap()
                .by_seq
                .range(after + 1..)
                .take(size)
                .map(|(_, e)| e.clone())
                .collect()
        }
    }

    /// The floor's progress: latest-wins atomics.
    #[derive(Debug, Default)]
    pub(super) struct ProgressCell {
        done: AtomicU64,
        total: AtomicU64,
    }

    impl ProgressCell {
        pub(super) fn set(&self, done: u64, total: u64) {
            self.done.fetch_max(done, Ordering::AcqRel);
            self.total.store(total, Ordering::Release);
        }

        pub(super) fn done(&self) -> u64 {
            self.done.load(Ordering::Acquire)
        }
    }
}

use floor::Floor;

// ---------------------------------------------------------------------------- the workloads

async fn runtime() -> Taskward {
    Taskward::builder()
        .unlimited_live_tasks()
        .spawn()
        .await
        .expect("the runtime starts")
}

fn spec(scope: &Scope) -> TaskSpec {
    TaskSpec::new("bench").scope(scope.clone())
}

async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

async fn until_cancelled(ctx: TaskContext) -> Result<Value, TaskError> {
    ctx.cancelled().await;
    Err(TaskError::cancelled())
}

/// Submit `n` trivial tasks from `clients` concurrent clients and wait for all to be terminal.
async fn throughput_taskward(n: usize, clients: usize) -> f64 {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let per = n / clients;
    let start = Instant::now();
    let mut joins = Vec::new();
    for _ in 0..clients {
        let ward = ward.clone();
        let scope = scope.clone();
        joins.push(tokio::spawn(async move {
            let mut handles = Vec::with_capacity(per);
            for _ in 0..per {
                handles.push(ward.submit(spec(&scope), trivial).await.expect("submit"));
            }
            for h in handles {
                h.wait().await.expect("wait");
            }
        }));
    }
    for j in joins {
        j.await.expect("client");
    }
    let rate = (per * clients) as f64 / start.elapsed().as_secs_f64();
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    rate
}

async fn throughput_floor(n: usize, clients: usize) -> f64 {
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

/// p50 of sequential submits (recorded + runner started), in µs.
async fn submit_latency_taskward(samples: usize) -> f64 {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t = Instant::now();
        ward.submit(spec(&scope), trivial).await.expect("submit");
        times.push(t.elapsed());
    }
    times.sort();
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    percentile(&times, 0.5)
}

async fn submit_latency_floor(samples: usize) -> f64 {
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

/// Creates `n` external tasks from one client; returns µs per create.
async fn create_external(ward: &Taskward, scope: &Scope, n: usize) -> (f64, Vec<TaskId>) {
    let mut ids = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let handle = ward
            .submit_external(spec(scope), |_| {})
            .await
            .expect("create");
        ids.push(handle.id());
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    (per, ids)
}

/// Creates `n` external tasks from `clients` concurrent clients (to fill a table fast).
async fn fill(ward: &Taskward, scope: &Scope, n: usize, clients: usize) -> Vec<TaskId> {
    let per = n / clients;
    let mut joins = Vec::new();
    for _ in 0..clients {
        let ward = ward.clone();
        let scope = scope.clone();
        joins.push(tokio::spawn(async move {
            let mut ids = Vec::with_capacity(per);
            for _ in 0..per {
                let h = ward
                    .submit_external(spec(&scope), |_| {})
                    .await
                    .expect("create");
                ids.push(h.id());
            }
            ids
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for j in joins {
        ids.extend(j.await.expect("filler"));
    }
    ids
}

/// The floor's figures for the flat check: µs per create, get and page at `n` tasks.
fn floor_at(n: usize, gets: usize) -> (f64, f64, f64) {
    let floor = Floor::default();
    let mut ids: Vec<TaskId> = (0..n - 1_000).map(|_| floor.create().id).collect();
    let start = Instant::now();
    ids.extend((0..1_000).map(|_| floor.create().id));
    let create = start.elapsed().as_secs_f64() * 1e6 / 1_000.0;
    let get = time_gets(&ids, gets, |id| floor.get(id).is_some());
    let page = time_pages_floor(&floor, n);
    (create, get, page)
}

fn time_gets(ids: &[TaskId], gets: usize, mut get: impl FnMut(&TaskId) -> bool) -> f64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..gets {
        // xorshift: a random id each time, so the table is not read in cache order.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if get(&ids[(state % ids.len() as u64) as usize]) {
            found += 1;
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / gets as f64;
    assert_eq!(found, gets, "every id is found");
    ns / 1000.0
}

/// µs per page of 100 from the middle of the scope's tasks, cursor-based.
fn time_pages(ward: &Taskward, scope: &Scope, table: usize) -> f64 {
    let pages = 2_000;
    let start = Instant::now();
    let mut seen = 0;
    for i in 0..pages {
        // Start pages all over the table: the cursor is the position of an earlier task.
        let after = ((i * 7919) % (table - 100)) as u64;
        let page = ward
            .list(
                scope,
                &ListQuery::new().limit(100).after(Cursor::after_seq(after)),
            )
            .expect("list");
        seen += page.tasks.len();
    }
    let per = start.elapsed().as_secs_f64() * 1e6 / pages as f64;
    assert_eq!(seen, pages * 100);
    per
}

fn time_pages_floor(floor: &Floor, table: usize) -> f64 {
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

/// Cancel latencies: from the call to the work observing the cancel, µs (p50, p99).
async fn cancel_taskward(samples: usize) -> (f64, f64) {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<Instant>();
        let slots = Arc::new(Mutex::new(Some((started_tx, seen_tx))));
        let handle = ward
            .submit(spec(&scope), move |ctx: TaskContext| {
                let slots = slots.clone();
                async move {
                    let Some((started, seen)) = slots.lock().unwrap().take() else {
                        return Err(TaskError::cancelled());
                    };
                    let _ = started.send(());
                    ctx.cancelled().await;
                    let _ = seen.send(Instant::now());
                    Err(TaskError::cancelled())
                }
            })
            .await
            .expect("submit");
        started_rx.await.expect("work started");
        let t = Instant::now();
        handle.cancel(None).await.expect("cancel");
        let seen = seen_rx.await.expect("work saw the cancel");
        times.push(seen.saturating_duration_since(t));
    }
    times.sort();
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

async fn cancel_floor(samples: usize) -> (f64, f64) {
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

/// ns per `ctx.progress` call in a hot loop inside a task's work.
async fn progress_taskward(calls: u64) -> f64 {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let handle = ward
        .submit(spec(&scope), move |ctx: TaskContext| async move {
            let start = Instant::now();
            for i in 0..calls {
                ctx.progress(i, Some(calls), "working");
            }
            let ns = start.elapsed().as_nanos() as f64 / calls as f64;
            Ok(Value::from(ns))
        })
        .await
        .expect("submit");
    let outcome = handle.wait().await.expect("wait");
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    match outcome {
        taskward::Outcome::Completed { value } => value.as_f64().unwrap_or(0.0),
        other => panic!("progress work ended {other}"),
    }
}

fn progress_floor(calls: u64) -> f64 {
    let cell = floor::ProgressCell::default();
    let start = Instant::now();
    for i in 0..calls {
        cell.set(std::hint::black_box(i), calls);
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    assert_eq!(cell.done(), calls - 1);
    ns
}

// ------------------------------------------------------------------------------------ memory

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// In a child process: bytes of RSS per live task with `n` live tasks.
async fn memory_child(which: &str, n: usize) -> f64 {
    match which {
        "taskward" => {
            let ward = runtime().await;
            let scope = Scope::session("bench");
            // Warm up the runtime's structures with a few tasks first.
            for _ in 0..100 {
                ward.submit(spec(&scope), trivial)
                    .await
                    .expect("submit")
                    .wait()
                    .await
                    .expect("wait");
            }
            let before = rss_bytes();
            let mut handles = Vec::with_capacity(n);
            for _ in 0..n {
                let h = ward
                    .submit(spec(&scope), until_cancelled)
                    .await
                    .expect("submit");
                handles.push(h.id());
            }
            let status = ward.status().await.expect("status");
            assert!(status.live >= n);
            let after = rss_bytes();
            (after.saturating_sub(before)) as f64 / n as f64
        }
        _ => {
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
    }
}

fn memory_in_child(which: &str, n: usize) -> f64 {
    let exe = std::env::current_exe().expect("current exe");
    let out = std::process::Command::new(exe)
        .args(["--memory-child", which, &n.to_string()])
        .output()
        .expect("the child runs");
    assert!(
        out.status.success(),
        "memory child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the child prints bytes per task")
}

// -------------------------------------------------------------------------------------- main

async fn run(sizes: Sizes, only: Option<String>) {
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    let mut report = Report::default();
    let kib = 1024.0;

    if wanted("memory_per_live_task") {
        let tw = memory_in_child("taskward", sizes.memory);
        let fl = memory_in_child("floor", sizes.memory);
        report.add(
            format!("memory_per_live_task@{}", sizes.memory),
            tw / kib,
            fl / kib,
            "KiB",
            "<= 8 KiB",
            Some(tw / kib <= 8.0),
        );
    }

    if wanted("submit_to_terminal") {
        let tw = throughput_taskward(sizes.throughput, sizes.clients).await;
        let fl = throughput_floor(sizes.throughput, sizes.clients).await;
        report.add(
            "submit_to_terminal",
            tw,
            fl,
            "tasks/s",
            ">= 150000",
            Some(tw >= 150_000.0),
        );
    }

    if wanted("submit_p50") {
        let tw = submit_latency_taskward(sizes.submit_samples).await;
        let fl = submit_latency_floor(sizes.submit_samples).await;
        report.add("submit_p50", tw, fl, "us", "<= 10 us", Some(tw <= 10.0));
    }

    if wanted("create") || wanted("get") || wanted("page") {
        let ward = runtime().await;
        let scope = Scope::session("bench");
        let (create_us, ids) = create_external(&ward, &scope, sizes.table).await;
        let floor = Floor::default();
        let start = Instant::now();
        let floor_ids: Vec<TaskId> = (0..sizes.table).map(|_| floor.create().id).collect();
        let floor_create_us = start.elapsed().as_secs_f64() * 1e6 / sizes.table as f64;
        if wanted("create") {
            report.add(
                "create",
                create_us,
                floor_create_us,
                "us",
                "<= 3 us",
                Some(create_us <= 3.0),
            );
        }
        if wanted("get") {
            let tw = time_gets(&ids, sizes.gets, |id| ward.get(&scope, *id).is_ok());
            let fl = time_gets(&floor_ids, sizes.gets, |id| floor.get(id).is_some());
            report.add("get", tw, fl, "us", "<= 0.3 us", Some(tw <= 0.3));
        }
        if wanted("page") {
            let tw = time_pages(&ward, &scope, sizes.table);
            let fl = time_pages_floor(&floor, sizes.table);
            report.add(
                format!("page_of_100@{}", sizes.table),
                tw,
                fl,
                "us",
                "<= 50 us",
                Some(tw <= 50.0),
            );
        }
        ward.shutdown(Duration::from_secs(5))
            .await
            .expect("shutdown");
    }

    if wanted("cancel") {
        let (tw50, tw99) = cancel_taskward(sizes.cancels).await;
        let (fl50, fl99) = cancel_floor(sizes.cancels).await;
        report.add(
            "cancel_observed_p50",
            tw50,
            fl50,
            "us",
            "<= 5 us",
            Some(tw50 <= 5.0),
        );
        report.add(
            "cancel_observed_p99",
            tw99,
            fl99,
            "us",
            "<= 30 us",
            Some(tw99 <= 30.0),
        );
    }

    if wanted("progress") {
        let tw = progress_taskward(sizes.progress).await;
        let fl = progress_floor(sizes.progress);
        report.add("progress_call", tw, fl, "ns", "<= 50 ns", Some(tw <= 50.0));
    }

    if wanted("flat") {
        // The same calls against a small and a large table; each figure is the growth, cost at
        // the large table / cost at the small one (1.0 is flat), taskward's next to the
        // floor's. Reads at the large table draw ids from all of it, so cache misses count.
        let (small, large) = sizes.flat;
        let ward = runtime().await;
        let scope = Scope::session("flat");
        let (_, mut ids) = create_external(&ward, &scope, small).await;
        let get_small = time_gets(&ids, sizes.gets / 4, |id| ward.get(&scope, *id).is_ok());
        let page_small = time_pages(&ward, &scope, small);
        let (create_small, more) = create_external(&ward, &scope, 1_000).await;
        ids.extend(more);
        ids.extend(fill(&ward, &scope, large - small - 2_000, sizes.clients).await);
        let (create_large, more) = create_external(&ward, &scope, 1_000).await;
        ids.extend(more);
        let get_large = time_gets(&ids, sizes.gets / 4, |id| ward.get(&scope, *id).is_ok());
        let page_large = time_pages(&ward, &scope, ids.len());
        // A sweep runs during each status call's wait; the call itself drains and counts.
        let start = Instant::now();
        for _ in 0..10 {
            let _ = ward.status().await;
        }
        let status_large = start.elapsed().as_secs_f64() * 1e6 / 10.0;
        ward.shutdown(Duration::from_secs(10))
            .await
            .expect("shutdown");
        drop(ids);
        let (fc_small, fg_small, fp_small) = floor_at(small + 1_000, sizes.gets / 4);
        let (fc_large, fg_large, fp_large) = floor_at(large, sizes.gets / 4);
        // Flat: it grows no more than twice as much as the floor's map does (whose growth is
        // the memory hierarchy's, not an algorithm's).
        let flat = |growth: f64, floor: f64| Some(growth <= 2.0 * floor.max(1.0));
        let mut growth = |name: &str, tw: (f64, f64), fl: (f64, f64)| {
            let g = tw.1 / tw.0;
            println!("flat.{name}@{small} {} us", fmt(tw.0));
            println!("flat.{name}@{large} {} us", fmt(tw.1));
            report.add(
                format!("flat.{name}@{large}/{small}"),
                g,
                fl.1 / fl.0,
                "x",
                "<= 2x floor's",
                flat(g, fl.1 / fl.0),
            );
        };
        growth("get", (get_small, get_large), (fg_small, fg_large));
        growth("create", (create_small, create_large), (fc_small, fc_large));
        growth(
            "page_of_100",
            (page_small, page_large),
            (fp_small, fp_large),
        );
        println!("flat.status_call@{large} {} us", fmt(status_large));
    }

    report.summary();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    if let Some(i) = args.iter().position(|a| a == "--memory-child") {
        let which = args.get(i + 1).cloned().unwrap_or_default();
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        let bytes = rt.block_on(memory_child(&which, n));
        println!("{bytes}");
        // Exit at once: tearing down 100,000 live tasks is not part of the figure.
        std::process::exit(0);
    }
    let sizes = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let start = Instant::now();
    rt.block_on(run(sizes, only));
    eprintln!("bench: done in {:.1} s", start.elapsed().as_secs_f64());
}
