//! The taskward workloads that both the criterion benches (`benches/targets.rs`) and the bench
//! command (`examples/bench/`, in the root package) measure, so the two measure the same thing.
//!
//! Both include this file with `#[path = "…"] mod workloads;`, so it names the crates as
//! `taskward_core` and `taskward_runtime` (the root package depends on both) and uses only
//! what both packages have: tokio and serde_json. Each function here is used by both, since an
//! unused one would be dead code in one of them.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use taskward_core::{ListQuery, Scope, TaskError, TaskId};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};

/// A multi-thread tokio runtime, as both binaries run every workload on.
pub(crate) fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A taskward runtime with no cap on live tasks.
pub(crate) async fn runtime() -> Taskward {
    Taskward::builder()
        .unlimited_live_tasks()
        .spawn()
        .await
        .expect("the runtime starts")
}

/// The spec of every bench task, in `scope`.
pub(crate) fn spec(scope: &Scope) -> TaskSpec {
    TaskSpec::new("bench").scope(scope.clone())
}

/// Work that completes at once.
pub(crate) async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

/// Work that stays live until cancelled.
async fn until_cancelled(ctx: TaskContext) -> Result<Value, TaskError> {
    ctx.cancelled().await;
    Err(TaskError::cancelled())
}

/// `clients` concurrent clients each submit `per` trivial tasks, then wait for all of theirs
/// to be terminal; the time from the first submit to the last terminal task.
pub(crate) async fn submit_to_terminal(
    ward: &Taskward,
    scope: &Scope,
    clients: usize,
    per: usize,
) -> Duration {
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
    start.elapsed()
}

/// Creates `n` external tasks (the record alone, no runner) from one client: the time it
/// took and their ids.
pub(crate) async fn create_external(
    ward: &Taskward,
    scope: &Scope,
    n: usize,
) -> (Duration, Vec<TaskId>) {
    let mut ids = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let handle = ward
            .submit_external(spec(scope), |_| {})
            .await
            .expect("create");
        ids.push(handle.id());
    }
    (start.elapsed(), ids)
}

/// Fills `scope` for the filtered-page figures: `terminal` tasks that end before any live
/// one is created (external tasks, created and cancelled by `clients` concurrent clients),
/// then `live` live external tasks after them, so a live page from the start of the scope
/// has every terminal task before it.
pub(crate) async fn retained_terminal(
    ward: &Taskward,
    scope: &Scope,
    terminal: usize,
    live: usize,
    clients: usize,
) {
    let per = terminal.div_ceil(clients);
    let mut joins = Vec::new();
    for client in 0..clients {
        let (ward, scope) = (ward.clone(), scope.clone());
        let n = per.min(terminal.saturating_sub(client * per));
        joins.push(tokio::spawn(async move {
            for _ in 0..n {
                let handle = ward
                    .submit_external(spec(&scope), |_| {})
                    .await
                    .expect("create");
                handle.cancel(None).await.expect("cancel");
            }
        }));
    }
    for j in joins {
        j.await.expect("client");
    }
    create_external(ward, scope, live).await;
}

/// The time `pages` calls of `list(scope, query)` take; each page must hold `full` tasks.
pub(crate) fn time_list(
    ward: &Taskward,
    scope: &Scope,
    query: &ListQuery,
    full: usize,
    pages: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..pages {
        let page = ward.list(scope, query).expect("list");
        assert_eq!(page.tasks.len(), full, "a full page");
        std::hint::black_box(page);
    }
    start.elapsed()
}

/// One cancel: submits work that parks on its token, cancels it once it runs, and returns
/// the time from the `cancel` call to the work observing it.
pub(crate) async fn cancel_observed(ward: &Taskward, scope: &Scope) -> Duration {
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<Instant>();
    let slots = Arc::new(Mutex::new(Some((started_tx, seen_tx))));
    let handle = ward
        .submit(spec(scope), move |ctx: TaskContext| {
            let slots = slots.clone();
            async move {
                let taken = slots.lock().expect("slots").take();
                let Some((started, seen)) = taken else {
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
    seen.saturating_duration_since(t)
}

/// The time `calls` calls of `ctx.progress` take in a hot loop inside a task's work.
pub(crate) async fn progress_hot_loop(ward: &Taskward, scope: &Scope, calls: u64) -> Duration {
    let handle = ward
        .submit(spec(scope), move |ctx: TaskContext| async move {
            let start = Instant::now();
            for i in 0..calls {
                ctx.progress(i, Some(calls), "working");
            }
            Ok(Value::from(start.elapsed().as_nanos() as u64))
        })
        .await
        .expect("submit");
    let outcome = handle.wait().await.expect("wait");
    let ns = outcome
        .value()
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("progress work ended {outcome}"));
    Duration::from_nanos(ns)
}

// ------------------------------------------------------------------------------------ memory

/// The resident memory of this process, in bytes (0 where `/proc` is missing).
pub(crate) fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes of RSS per live task with `n` live tasks, on a fresh runtime warmed up by 100 tasks.
/// Run it in a child process of its own ([`bytes_from_child`]): freed memory cannot hide it.
pub(crate) async fn live_task_bytes(n: usize) -> f64 {
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
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let h = ward
            .submit(spec(&scope), until_cancelled)
            .await
            .expect("submit");
        ids.push(h.id());
    }
    let status = ward.status().await.expect("status");
    assert!(status.live >= n);
    let after = rss_bytes();
    (after.saturating_sub(before)) as f64 / n as f64
}

/// Runs `child` (this binary, re-run to measure memory) and reads the bytes per task it
/// prints on standard output.
pub(crate) fn bytes_from_child(child: &mut Command) -> f64 {
    let out = child.output().expect("the child runs");
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
