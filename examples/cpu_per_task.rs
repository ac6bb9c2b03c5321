//! CPU time per task on the submit paths, as the process's own CPU clock counts it: the
//! figure that stays readable when other builds share the cores and the wall-clock figures of
//! the bench command swing.
//!
//! Drives one workload on a multi-thread runtime (2 workers by default), from a task spawned
//! on it as a host's handler would, and prints its wall time, tasks/s, CPU seconds (user +
//! system, all threads) and CPU µs per task:
//!
//! - `par N C`: `C` clients (default 32) each submit `N / C` trivial tasks, then wait for
//!   theirs (the bench's `submit_to_terminal`);
//! - `seq N`: one client submits a trivial task and waits for it, `N` times;
//! - `submit N`: one client submits `N` trivial tasks and prints the p50 of a submit.
//!
//! ```text
//! cargo run --release --example cpu_per_task -- par 200000 32
//! cargo run --release --example cpu_per_task -- seq 100000
//! cargo run --release --example cpu_per_task -- submit 20000
//! valgrind --tool=dhat target/release/examples/cpu_per_task seq 20000   # allocations
//! ```
//!
//! A fourth argument sets the number of worker threads.

use std::time::{Duration, Instant};

use serde_json::Value;
use taskward::{Scope, TaskContext, TaskError, TaskSpec, Taskward};

async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

/// This process's CPU time so far, in seconds (user + system, every thread), from
/// `/proc/self/stat`; zero where there is no such file.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The fields after the command name (which may hold spaces), from field 3 on.
    let Some(after) = stat.rfind(')').map(|at| &stat[at + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        // utime and stime, in clock ticks (100 a second on Linux).
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => 0.0,
    }
}

fn spec(scope: &Scope) -> TaskSpec {
    TaskSpec::new("bench").scope(scope.clone())
}

async fn drive(mode: &str, n: usize, clients: usize) {
    let ward = Taskward::builder()
        .unlimited_live_tasks()
        .spawn()
        .await
        .expect("the runtime starts");
    let scope = Scope::session("bench");
    let cpu = cpu_seconds();
    let start = Instant::now();
    match mode {
        "seq" => {
            for _ in 0..n {
                let task = ward.submit(spec(&scope), trivial).await.expect("submit");
                task.wait().await.expect("wait");
            }
        }
        "submit" => {
            let mut times = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                ward.submit(spec(&scope), trivial).await.expect("submit");
                times.push(t.elapsed());
            }
            times.sort();
            let p50 = times.get(n / 2).copied().unwrap_or_default();
            println!("submit p50 {:.3} us", p50.as_secs_f64() * 1e6);
        }
        _ => {
            let per = n / clients.max(1);
            let mut joins = Vec::new();
            for _ in 0..clients {
                let (ward, scope) = (ward.clone(), scope.clone());
                joins.push(tokio::spawn(async move {
                    let mut tasks = Vec::with_capacity(per);
                    for _ in 0..per {
                        tasks.push(ward.submit(spec(&scope), trivial).await.expect("submit"));
                    }
                    for task in tasks {
                        task.wait().await.expect("wait");
                    }
                }));
            }
            for join in joins {
                join.await.expect("client");
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    println!(
        "{mode} n={n} wall {wall:.3} s  {:.0} tasks/s  cpu {cpu:.2} s  {:.2} us cpu/task",
        n as f64 / wall,
        cpu * 1e6 / n as f64
    );
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).cloned().unwrap_or_else(|| "par".to_owned());
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (n, clients, workers) = (arg(2, 200_000), arg(3, 32), arg(4, 2));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(rt.spawn(async move { drive(&mode, n, clients).await }))
        .expect("the driver");
}
