//! taskward's side of each workload, on the workloads shared with the criterion benches
//! (`workloads`), plus those only this command measures.

use std::time::{Duration, Instant};

use taskward::{Cursor, ListQuery, Scope, TaskId, Taskward};

use crate::timing::percentile;
use crate::workloads::{self, runtime, spec, trivial};

/// Tasks/s: `n` trivial tasks from `clients` concurrent clients, submit to terminal.
pub(crate) async fn throughput(n: usize, clients: usize) -> f64 {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let per = n / clients;
    let elapsed = workloads::submit_to_terminal(&ward, &scope, clients, per).await;
    let rate = (per * clients) as f64 / elapsed.as_secs_f64();
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    rate
}

/// p50 of sequential submits (recorded + runner started), in µs.
pub(crate) async fn submit_latency(samples: usize) -> f64 {
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

/// Creates `n` external tasks from one client; returns µs per create and their ids.
pub(crate) async fn create_external(
    ward: &Taskward,
    scope: &Scope,
    n: usize,
) -> (f64, Vec<TaskId>) {
    let (elapsed, ids) = workloads::create_external(ward, scope, n).await;
    (elapsed.as_secs_f64() * 1e6 / n as f64, ids)
}

/// Creates `n` external tasks from `clients` concurrent clients (to fill a table fast).
pub(crate) async fn fill(ward: &Taskward, scope: &Scope, n: usize, clients: usize) -> Vec<TaskId> {
    let per = n / clients;
    let mut joins = Vec::new();
    for _ in 0..clients {
        let ward = ward.clone();
        let scope = scope.clone();
        joins.push(tokio::spawn(async move {
            workloads::create_external(&ward, &scope, per).await.1
        }));
    }
    let mut ids = Vec::with_capacity(n);
    for j in joins {
        ids.extend(j.await.expect("filler"));
    }
    ids
}

/// µs per page of 100 from all over the scope's `table` tasks, cursor-based.
pub(crate) fn time_pages(ward: &Taskward, scope: &Scope, table: usize) -> f64 {
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

/// Cancel latencies: from the call to the work observing the cancel, µs (p50, p99).
pub(crate) async fn cancel(samples: usize) -> (f64, f64) {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        times.push(workloads::cancel_observed(&ward, &scope).await);
    }
    times.sort();
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    (percentile(&times, 0.5), percentile(&times, 0.99))
}

/// ns per `ctx.progress` call in a hot loop inside a task's work.
pub(crate) async fn progress(calls: u64) -> f64 {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let elapsed = workloads::progress_hot_loop(&ward, &scope, calls).await;
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    elapsed.as_nanos() as f64 / calls as f64
}
