//! Criterion benches for each figure of the performance targets (`docs/performance.md`).
//!
//! - `submit_to_terminal`: trivial tasks from 16 concurrent clients, submit to terminal
//!   (throughput, tasks/s);
//! - `create`: the record alone, `submit_external` (a task without a runner);
//! - `get`: a status read from a table of 100,000 tasks;
//! - `cancel_observed`: from `cancel` to the work seeing its token fire (mean here; the bench
//!   command prints p50 and p99);
//! - `page_of_100_from_100000`: one cursor page of 100 from the middle of 100,000 tasks;
//! - `progress_hot_loop`: one `ctx.progress` call inside a hot loop;
//! - `memory_per_live_task_100000`: bytes of RSS per live task with 100,000 live tasks,
//!   measured in a child process (this binary, re-run) so that freed memory cannot hide it.
//!
//! Run them with `cargo bench -p taskward-runtime --bench targets` (add a filter such as `get`
//! to run one). CI only compiles them (`cargo bench --no-run`); the `bench` example runs the
//! same workloads next to a raw floor in about a minute.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, SamplingMode, Throughput};
use serde_json::Value;
use taskward_core::{Cursor, ListQuery, Scope, TaskError, TaskId};
use taskward_runtime::{TaskContext, TaskSpec, Taskward};
use tokio::runtime::Runtime;

/// The environment variable that turns this binary into a memory-measuring child.
const MEMORY_CHILD: &str = "TASKWARD_BENCH_MEMORY_CHILD";

fn tokio() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

async fn ward() -> Taskward {
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

async fn fill(ward: &Taskward, scope: &Scope, n: usize) -> Vec<TaskId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let handle = ward
            .submit_external(spec(scope), |_| {})
            .await
            .expect("create");
        ids.push(handle.id());
    }
    ids
}

fn submit_to_terminal(c: &mut Criterion) {
    let rt = tokio();
    let ward = rt.block_on(ward());
    let scope = Scope::session("bench");
    let mut group = c.benchmark_group("submit_to_terminal");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("trivial_work_16_clients", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let clients = 16;
                let per = (iters as usize).div_ceil(clients);
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
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per * clients) as f64)
            })
        })
    });
    group.finish();
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn create(c: &mut Criterion) {
    let rt = tokio();
    let ward = rt.block_on(ward());
    let scope = Scope::session("bench");
    c.bench_function("create", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(
                        ward.submit_external(spec(&scope), |_| {})
                            .await
                            .expect("create"),
                    );
                }
                start.elapsed()
            })
        })
    });
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn reads(c: &mut Criterion) {
    let rt = tokio();
    let ward = rt.block_on(ward());
    let scope = Scope::session("bench");
    let ids = rt.block_on(fill(&ward, &scope, 100_000));
    let mut i = 0usize;
    c.bench_function("get", |b| {
        b.iter(|| {
            // A stride through the table, so reads do not hit the cache in order.
            i = (i + 7919) % ids.len();
            black_box(ward.get(&scope, ids[i]).expect("found"))
        })
    });
    let mut n = 0u64;
    c.bench_function("page_of_100_from_100000", |b| {
        b.iter(|| {
            n = (n + 7919) % 99_800;
            let page = ward
                .list(
                    &scope,
                    &ListQuery::new().limit(100).after(Cursor::after_seq(n)),
                )
                .expect("list");
            assert_eq!(page.tasks.len(), 100);
            black_box(page)
        })
    });
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn cancel_observed(c: &mut Criterion) {
    let rt = tokio();
    let ward = rt.block_on(ward());
    let scope = Scope::session("bench");
    let mut group = c.benchmark_group("cancel_observed");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("one_task", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
                    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<Instant>();
                    let slots = Arc::new(Mutex::new(Some((started_tx, seen_tx))));
                    let handle = ward
                        .submit(spec(&scope), move |ctx: TaskContext| {
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
                    started_rx.await.expect("started");
                    let t = Instant::now();
                    handle.cancel(None).await.expect("cancel");
                    total += seen_rx.await.expect("seen").saturating_duration_since(t);
                }
                total
            })
        })
    });
    group.finish();
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn progress(c: &mut Criterion) {
    let rt = tokio();
    let ward = rt.block_on(ward());
    let scope = Scope::session("bench");
    c.bench_function("progress_hot_loop", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let handle = ward
                    .submit(spec(&scope), move |ctx: TaskContext| async move {
                        let start = Instant::now();
                        for i in 0..iters {
                            ctx.progress(black_box(i), Some(iters), "working");
                        }
                        Ok(Value::from(start.elapsed().as_nanos() as u64))
                    })
                    .await
                    .expect("submit");
                let outcome = handle.wait().await.expect("wait");
                let ns = outcome
                    .value()
                    .and_then(Value::as_u64)
                    .expect("the work returns its time");
                Duration::from_nanos(ns)
            })
        })
    });
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

// ------------------------------------------------------------------------------------ memory

/// Bytes of resident memory per live task.
struct BytesPerTask;

struct BytesFormatter;

impl ValueFormatter for BytesFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values.iter_mut() {
            *v /= 1024.0;
        }
        "KiB"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        self.scale_values(0.0, values)
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "B"
    }
}

impl Measurement for BytesPerTask {
    type Intermediate = ();
    type Value = f64;

    fn start(&self) -> Self::Intermediate {}

    fn end(&self, _i: Self::Intermediate) -> Self::Value {
        0.0
    }

    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        v1 + v2
    }

    fn zero(&self) -> Self::Value {
        0.0
    }

    fn to_f64(&self, value: &Self::Value) -> f64 {
        *value
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &BytesFormatter
    }
}

fn rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

/// In the child: bring up `n` live tasks and print the RSS they added, per task.
fn memory_child(n: usize) {
    let rt = tokio();
    let per_task = rt.block_on(async {
        let ward = ward().await;
        let scope = Scope::session("bench");
        for _ in 0..100 {
            let h = ward.submit(spec(&scope), trivial).await.expect("submit");
            h.wait().await.expect("wait");
        }
        let before = rss_bytes();
        for _ in 0..n {
            black_box(
                ward.submit(spec(&scope), until_cancelled)
                    .await
                    .expect("submit"),
            );
        }
        let live = ward.status().await.expect("status").live;
        assert!(live >= n);
        (rss_bytes() - before) / n as f64
    });
    println!("{per_task}");
    std::process::exit(0);
}

fn memory_in_child(n: usize) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .env(MEMORY_CHILD, n.to_string())
        .output()
        .expect("the child runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("bytes per task")
}

fn memory(c: &mut Criterion<BytesPerTask>) {
    let mut group = c.benchmark_group("memory_per_live_task_100000");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    group.bench_function("rss", |b| {
        // One child per sample: the figure is per task, so it is scaled by the iterations.
        b.iter_custom(|iters| memory_in_child(100_000) * iters as f64)
    });
    group.finish();
}

fn main() {
    if let Some(n) = std::env::var(MEMORY_CHILD)
        .ok()
        .and_then(|n| n.parse().ok())
    {
        memory_child(n);
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    submit_to_terminal(&mut c);
    create(&mut c);
    reads(&mut c);
    cancel_observed(&mut c);
    progress(&mut c);
    let mut m = Criterion::default()
        .with_measurement(BytesPerTask)
        .configure_from_args();
    memory(&mut m);
    c.final_summary();
    m.final_summary();
}
