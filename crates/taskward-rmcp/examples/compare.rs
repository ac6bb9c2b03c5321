//! rmcp 3.x's own task manager against the taskward drop-in, on the same workload: N tasks of
//! trivial work (an immediate `CallToolResult`), spawned one after another, then waited for
//! until none is running; then `get_task` on ids drawn across the table.
//!
//! ```text
//! cargo run --release -p taskward-rmcp --example compare -- [rmcp|taskward] [N ...]
//! (default: both managers, at 10000 and 100000; naming one runs only it, to read its CPU time
//! with /usr/bin/time)
//! ```
//!
//! Prints, per manager and size: spawn to terminal (tasks/s, wall clock) and the mean latency
//! of a `get_task`, with the load average beside them. Timings are wall-clock and noisy on a
//! shared machine; figures are printed, never asserted (see docs/performance.md).

use std::time::{Duration, Instant};

use rmcp::model::{CallToolResult, ContentBlock, TaskStatus};
use taskward_runtime::Taskward;

/// How many `get_task` calls the read latency is the mean of (fewer when N is smaller).
const GETS: usize = 2_000;

fn trivial() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text("done")])
}

/// Draws `count` indexes spread over `0..n` (a fixed stride, so both managers read the same).
fn spread(n: usize, count: usize) -> impl Iterator<Item = usize> {
    let step = (n / count.max(1)).max(1);
    (0..count.min(n)).map(move |i| (i * step + step / 2) % n)
}

/// What one run measured.
struct Figures {
    spawn_to_terminal: Duration,
    get_mean: Duration,
}

fn print(manager: &str, n: usize, figures: &Figures) {
    let rate = n as f64 / figures.spawn_to_terminal.as_secs_f64();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "{manager:<22} n={n:<7} spawn to terminal {:>8.2} s {rate:>10.0} tasks/s   get {:>9.2} µs   (load {load})",
        figures.spawn_to_terminal.as_secs_f64(),
        figures.get_mean.as_secs_f64() * 1e6,
    );
}

/// The reads both managers have, under the same names.
trait Read {
    fn running(&self) -> usize;
    fn status(&self, id: &str) -> Option<TaskStatus>;
}

impl Read for rmcp::task_manager::TaskManager {
    fn running(&self) -> usize {
        self.running_task_count()
    }
    fn status(&self, id: &str) -> Option<TaskStatus> {
        self.get_task(id).map(|task| task.status()).ok()
    }
}

impl Read for taskward_rmcp::TaskManager {
    fn running(&self) -> usize {
        self.running_task_count()
    }
    fn status(&self, id: &str) -> Option<TaskStatus> {
        self.get_task(id).map(|task| task.status()).ok()
    }
}

/// Waits (1 ms apart) until `running()` is 0: spawn to terminal from `started`. Then times
/// `get` on [`GETS`] ids spread over the table.
async fn settle_and_read(started: Instant, ids: &[String], tasks: &impl Read) -> Figures {
    while tasks.running() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let spawn_to_terminal = started.elapsed();
    let picks: Vec<&String> = spread(ids.len(), GETS).map(|i| &ids[i]).collect();
    let started = Instant::now();
    for id in &picks {
        assert_eq!(tasks.status(id), Some(TaskStatus::Completed), "task {id}");
    }
    let get_mean = started.elapsed() / picks.len().max(1) as u32;
    Figures {
        spawn_to_terminal,
        get_mean,
    }
}

async fn rmcp_own(n: usize) -> Figures {
    use rmcp::task_manager::{TaskManager, TaskOptions};
    let tasks = TaskManager::new();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let task = tasks.spawn(TaskOptions::default(), |_ctx| {
            Box::pin(async { Ok(trivial()) })
        });
        ids.push(task.task_id);
    }
    let figures = settle_and_read(started, &ids, &tasks).await;
    tasks.shutdown();
    figures
}

async fn taskward_drop_in(n: usize) -> Figures {
    use taskward_rmcp::{TaskManager, TaskOptions};
    let ward = Taskward::builder()
        .unlimited_live_tasks()
        .spawn()
        .await
        .expect("the runtime starts");
    let tasks = TaskManager::with_runtime(ward);
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let task = tasks
            .spawn(TaskOptions::default(), |_ctx| {
                Box::pin(async { Ok(trivial()) })
            })
            .await
            .expect("admitted");
        ids.push(task.task_id);
    }
    let figures = settle_and_read(started, &ids, &tasks).await;
    tasks.shutdown().await.expect("the runtime shuts down");
    figures
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|arg| arg.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    let only = std::env::args()
        .skip(1)
        .find(|arg| arg.parse::<usize>().is_err());
    let runs = |name: &str| only.as_deref().is_none_or(|only| only == name);
    for n in sizes {
        if runs("rmcp") {
            print("rmcp TaskManager", n, &rmcp_own(n).await);
        }
        if runs("taskward") {
            print("taskward-rmcp drop-in", n, &taskward_drop_in(n).await);
        }
    }
}
