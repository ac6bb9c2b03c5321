//! The durable store's figures (issue 11): the runtime journaling its table to a
//! [`SqliteStore`] on a file, beside the same workload in memory and a raw SQLite floor, in
//! the same run. The database files go to a temp dir removed at the end of each figure.
//!
//! - `durable_submit_to_terminal`: tasks/s, `clients` submitters of trivial work, submit to
//!   terminal, on SQLite under the `process` policy. Its floor is the raw SQLite floor: the
//!   very rows the runtime left in its file, inserted by a plain rusqlite loop into a fresh
//!   database, one transaction per batch of the runtime's mean batch (writes per commit,
//!   `durable_writes_per_commit`). `durable_submit_to_terminal.in_memory` is the same
//!   workload without a durable store, and `.journal_only` the same on a store that keeps
//!   nothing (the journal's own cost, without a database). `durable_cpu_per_task` (and its
//!   `.journal_only`) is the CPU time of every thread per task, beside the in-memory run's:
//!   steadier than the throughput when the machine is loaded.
//! - `durable_power_submit_p50`/`_p99`: µs per submit, `clients` submitters, under the `power`
//!   policy (each commit is one fsync of the WAL), beside the same workload in memory; and
//!   `durable_power_commits_waited_p99`: how many commits completed while a submit waited,
//!   at p99 (one is the commit that holds its record; a second one, the commit already under
//!   way when the submit came).
//! - `reload`: ms for `Builder::durable(…).spawn()` on a file of finished tasks, split into
//!   the store's `load` (`reload.load`) and the rest (`reload.restore`: restore into the
//!   table, start of the actors); `reload.open` is `SqliteStore::open` before it.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use taskward::{Durability, DurableStore, Loaded, Scope, StoreError, StoreWrite, Taskward};
use taskward_sqlite::SqliteStore;
use tempfile::TempDir;

use crate::counted::{Counted, QueuedAt};
use crate::figures::Ctx;
use crate::report::Report;
use crate::sqlite_floor::{self, Row};
use crate::target::Target;
use crate::timing::{cpu_time, percentile};
use crate::workloads::{self, spec, trivial};

/// A durable store that keeps nothing: the journal's own cost, without a database.
#[derive(Debug)]
struct Discard;

impl DurableStore for Discard {
    fn durability(&self) -> Durability {
        Durability::Process
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }

    fn commit(&mut self, _batch: &[StoreWrite]) -> Result<(), StoreError> {
        Ok(())
    }
}

fn us_per_task(cpu: Duration, tasks: usize) -> f64 {
    cpu.as_secs_f64() * 1e6 / tasks as f64
}

fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("taskward-bench-")
        .tempdir()
        .expect("a temp dir")
}

async fn durable_ward(store: impl DurableStore) -> Taskward {
    Taskward::builder()
        .unlimited_live_tasks()
        .durable(store)
        .spawn()
        .await
        .expect("the runtime starts")
}

/// Tasks/s: `clients` submitters of `per` trivial tasks each, on a runtime over `store`.
async fn durable_rate(store: impl DurableStore, per: usize, clients: usize) -> f64 {
    let ward = durable_ward(store).await;
    let scope = Scope::session("bench");
    let elapsed = workloads::submit_to_terminal(&ward, &scope, clients, per).await;
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    (per * clients) as f64 / elapsed.as_secs_f64()
}

/// `durable_submit_to_terminal`, its in-memory twin and its raw SQLite floor.
pub(crate) fn throughput(ctx: &Ctx<'_>, report: &mut Report) {
    let (n, clients) = (ctx.sizes.durable, ctx.sizes.clients);
    let per = n / clients;
    let dir = temp_dir();
    let path = dir.path().join("throughput.db");
    let store = SqliteStore::open(&path, Durability::Process).expect("open");
    let (store, counters) = Counted::new(store);
    let tasks = per * clients;
    // Each run: tasks/s, and the CPU time of every thread per task (µs).
    let timed = |run: Pin<Box<dyn Future<Output = f64> + Send>>| {
        let cpu = cpu_time();
        let rate = ctx.drive(run);
        (rate, us_per_task(cpu_time() - cpu, tasks))
    };
    let (rate, cpu_durable) = timed(Box::pin(durable_rate(store, per, clients)));
    let batch = counters.writes() as f64 / counters.commits().max(1) as f64;
    let (memory, cpu_memory) = timed(Box::pin(crate::ward::throughput(tasks, clients)));
    let (journal_only, cpu_journal) = timed(Box::pin(durable_rate(Discard, per, clients)));
    let rows = read_rows(&path);
    assert_eq!(rows.len(), tasks, "every task is in the file");
    let floor = raw_floor(&dir.path().join("floor.db"), &rows, batch.round() as usize);
    let target = Target::AtLeast(50_000.0);
    report.add(
        "durable_submit_to_terminal",
        rate,
        Some(floor),
        "tasks/s",
        target,
    );
    report.add(
        "durable_submit_to_terminal.in_memory",
        memory,
        None,
        "tasks/s",
        Target::None,
    );
    report.add(
        "durable_submit_to_terminal.journal_only",
        journal_only,
        None,
        "tasks/s",
        Target::None,
    );
    // CPU time (every thread) per task: steadier than the throughput on a loaded machine.
    report.add(
        "durable_cpu_per_task",
        cpu_durable,
        Some(cpu_memory),
        "us",
        Target::None,
    );
    report.add(
        "durable_cpu_per_task.journal_only",
        cpu_journal,
        Some(cpu_memory),
        "us",
        Target::None,
    );
    report.add(
        "durable_writes_per_commit",
        batch,
        None,
        "writes",
        Target::None,
    );
}

/// The rows of `tasks` as the runtime left them.
fn read_rows(path: &Path) -> Vec<Row> {
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn
        .prepare("SELECT id, seq, scope, status, expires_at, record FROM tasks ORDER BY seq")
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("read the rows")
}

/// Rows/s: `rows` inserted into a fresh database at `path` by a plain rusqlite loop, one
/// transaction per `batch` rows, under the `process` policy.
fn raw_floor(path: &Path, rows: &[Row], batch: usize) -> f64 {
    let mut conn = sqlite_floor::connection(path, Durability::Process);
    let start = Instant::now();
    for chunk in rows.chunks(batch.max(1)) {
        sqlite_floor::insert(&mut conn, chunk);
    }
    rows.len() as f64 / start.elapsed().as_secs_f64()
}

/// The submit latencies of `samples` submits from `clients` submitters, and for each the
/// commits it waited for (`waited`; none without it: in memory).
async fn submits(
    ward: Taskward,
    waited: Option<Arc<QueuedAt>>,
    samples: usize,
    clients: usize,
) -> (Vec<Duration>, Vec<u64>) {
    let mut joins = Vec::new();
    for _ in 0..clients {
        let (ward, waited) = (ward.clone(), waited.clone());
        joins.push(tokio::spawn(async move {
            let scope = Scope::session("bench");
            let mut out = Vec::with_capacity(samples / clients);
            for _ in 0..samples / clients {
                let t = Instant::now();
                let task = ward.submit(spec(&scope), trivial).await.expect("submit");
                let elapsed = t.elapsed();
                let commits = waited
                    .as_ref()
                    .map_or(0, |w| w.commits_since_queued(&task.id()));
                out.push((elapsed, commits));
            }
            out
        }));
    }
    let mut times = Vec::with_capacity(samples);
    let mut commits = Vec::with_capacity(samples);
    for j in joins {
        for (t, c) in j.await.expect("submitter") {
            times.push(t);
            commits.push(c);
        }
    }
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    times.sort();
    commits.sort();
    (times, commits)
}

/// `durable_power_submit_p50`/`_p99` beside the same in memory, and the commits a submit
/// waited for at p99.
pub(crate) fn power_latency(ctx: &Ctx<'_>, report: &mut Report) {
    let (samples, clients) = (ctx.sizes.durable_samples, ctx.sizes.clients);
    let dir = temp_dir();
    let store = SqliteStore::open(dir.path().join("power.db"), Durability::Power).expect("open");
    let (store, counters) = Counted::new(store);
    let table = Arc::new(QueuedAt::new(counters));
    let (times, waited) = ctx.drive(async move {
        let ward = Taskward::builder()
            .unlimited_live_tasks()
            .store(table.clone())
            .durable(store)
            .spawn()
            .await
            .expect("the runtime starts");
        submits(ward, Some(table), samples, clients).await
    });
    let (memory, _) =
        ctx.drive(async move { submits(workloads::runtime().await, None, samples, clients).await });
    for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
        report.add(
            format!("durable_power_submit_{name}"),
            percentile(&times, p),
            Some(percentile(&memory, p)),
            "us",
            Target::None,
        );
    }
    let i = ((waited.len() as f64 - 1.0) * 0.99).round() as usize;
    let waited_p99 = waited.get(i).copied().unwrap_or(0) as f64;
    let target = Target::AtMost(2.0);
    report.add(
        "durable_power_commits_waited_p99",
        waited_p99,
        None,
        "commits",
        target,
    );
}

/// `reload`: a runtime started on a file of `sizes.reload` finished tasks.
pub(crate) fn reload(ctx: &Ctx<'_>, report: &mut Report) {
    let n = ctx.sizes.reload;
    let dir = temp_dir();
    let path = dir.path().join("reload.db");
    let mut store = SqliteStore::open(&path, Durability::Process).expect("open");
    for first in (0..n as u64).step_by(1_000) {
        let batch: Vec<_> = (first..(first + 1_000).min(n as u64))
            .map(|seq| StoreWrite::Put(Arc::new(sqlite_floor::finished(seq + 1))))
            .collect();
        store.commit(&batch).expect("commit");
    }
    drop(store);
    let start = Instant::now();
    let store = SqliteStore::open(&path, Durability::Process).expect("open");
    let open = start.elapsed();
    let (store, counters) = Counted::new(store);
    let (spawn, tasks) = ctx.drive(async move {
        let start = Instant::now();
        let ward = durable_ward(store).await;
        let spawn = start.elapsed();
        let tasks = ward.status().await.expect("status").tasks;
        ward.shutdown(Duration::from_secs(5))
            .await
            .expect("shutdown");
        (spawn, tasks)
    });
    assert_eq!(tasks, n, "every task is back");
    let load = counters.load_time();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let name = format!("reload@{n}");
    report.add(&name, ms(spawn), None, "ms", Target::AtMost(1_000.0));
    report.add(format!("{name}.load"), ms(load), None, "ms", Target::None);
    let restore = spawn.saturating_sub(load);
    report.add(
        format!("{name}.restore"),
        ms(restore),
        None,
        "ms",
        Target::None,
    );
    report.add(format!("{name}.open"), ms(open), None, "ms", Target::None);
}
