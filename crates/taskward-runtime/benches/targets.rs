//! Criterion benches for each figure of the performance targets (`docs/performance.md`).
//!
//! - `submit_to_terminal`: trivial tasks from 16 concurrent clients, submit to terminal
//!   (throughput, tasks/s);
//! - `create`: the record alone, `submit_external` (a task without a runner);
//! - `get`: a status read from a table of 100,000 tasks;
//! - `cancel_observed`: from `cancel` to the work seeing its token fire (mean here; the bench
//!   command prints p50 and p99);
//! - `page_of_100_from_100000`: one cursor page of 100 from the middle of 100,000 tasks;
//! - `list_page_of_10/{live_only,status_working}_past_{1000,1000000}_terminal`: the first
//!   page of 10 live (or working) tasks of a scope that holds 1,000 or 1,000,000 terminal
//!   tasks created before its 20 live ones (filling the large scope takes about 10 s);
//! - `progress_hot_loop`: one `ctx.progress` call inside a hot loop;
//! - `memory_per_live_task_100000`: bytes of RSS per live task with 100,000 live tasks,
//!   measured in a child process (this binary, re-run) so that freed memory cannot hide it.
//!
//! Run them with `cargo bench -p taskward-runtime --bench targets` (add a filter such as `get`
//! to run one). CI only compiles them (`cargo bench --no-run`); the `bench` example runs the
//! same workloads next to a raw floor in about a minute. The workloads both run live in
//! `shared/workloads.rs`, which the example includes too.

#[path = "shared/workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, SamplingMode, Throughput};
use taskward_core::{Cursor, ListQuery, Scope, Status};
use workloads::{runtime, tokio_runtime};

/// The environment variable that turns this binary into a memory-measuring child.
const MEMORY_CHILD: &str = "TASKWARD_BENCH_MEMORY_CHILD";

fn submit_to_terminal(c: &mut Criterion) {
    let rt = tokio_runtime();
    let ward = rt.block_on(runtime());
    let scope = Scope::session("bench");
    let mut group = c.benchmark_group("submit_to_terminal");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("trivial_work_16_clients", |b| {
        b.iter_custom(|iters| {
            let clients = 16;
            let per = (iters as usize).div_ceil(clients);
            let elapsed = rt.block_on(workloads::submit_to_terminal(&ward, &scope, clients, per));
            elapsed.mul_f64(iters as f64 / (per * clients) as f64)
        })
    });
    group.finish();
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn create(c: &mut Criterion) {
    let rt = tokio_runtime();
    let ward = rt.block_on(runtime());
    let scope = Scope::session("bench");
    c.bench_function("create", |b| {
        b.iter_custom(|iters| {
            let (elapsed, ids) =
                rt.block_on(workloads::create_external(&ward, &scope, iters as usize));
            black_box(ids);
            elapsed
        })
    });
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn reads(c: &mut Criterion) {
    let rt = tokio_runtime();
    let ward = rt.block_on(runtime());
    let scope = Scope::session("bench");
    let (_, ids) = rt.block_on(workloads::create_external(&ward, &scope, 100_000));
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

fn filtered_pages(c: &mut Criterion) {
    let rt = tokio_runtime();
    let mut group = c.benchmark_group("list_page_of_10");
    for terminal in [1_000, 1_000_000] {
        let ward = rt.block_on(runtime());
        let scope = Scope::session("bench");
        rt.block_on(workloads::retained_terminal(
            &ward, &scope, terminal, 20, 16,
        ));
        let queries = [
            ("live_only", ListQuery::new().live_only().limit(10)),
            (
                "status_working",
                ListQuery::new().status(Status::Working).limit(10),
            ),
        ];
        for (name, query) in queries {
            group.bench_function(format!("{name}_past_{terminal}_terminal"), |b| {
                b.iter_custom(|iters| workloads::time_list(&ward, &scope, &query, 10, iters))
            });
        }
        rt.block_on(ward.shutdown(Duration::from_secs(30)))
            .expect("shutdown");
    }
    group.finish();
}

fn cancel_observed(c: &mut Criterion) {
    let rt = tokio_runtime();
    let ward = rt.block_on(runtime());
    let scope = Scope::session("bench");
    let mut group = c.benchmark_group("cancel_observed");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("one_task", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += workloads::cancel_observed(&ward, &scope).await;
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
    let rt = tokio_runtime();
    let ward = rt.block_on(runtime());
    let scope = Scope::session("bench");
    c.bench_function("progress_hot_loop", |b| {
        b.iter_custom(|iters| rt.block_on(workloads::progress_hot_loop(&ward, &scope, iters)))
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

/// In the child: bring up `n` live tasks and print the RSS they added, per task.
fn memory_child(n: usize) {
    let per_task = tokio_runtime().block_on(workloads::live_task_bytes(n));
    println!("{per_task}");
    std::process::exit(0);
}

fn memory_in_child(n: usize) -> f64 {
    let exe = std::env::current_exe().expect("current exe");
    workloads::bytes_from_child(std::process::Command::new(exe).env(MEMORY_CHILD, n.to_string()))
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
    filtered_pages(&mut c);
    cancel_observed(&mut c);
    progress(&mut c);
    let mut m = Criterion::default()
        .with_measurement(BytesPerTask)
        .configure_from_args();
    memory(&mut m);
    c.final_summary();
    m.final_summary();
}
