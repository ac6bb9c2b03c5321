//! The cost of the per-task resource limits: trivial tasks from 16 concurrent clients, submit
//! to terminal (throughput, tasks/s), with no limit, with a CPU budget, and with a memory
//! limit.
//!
//! This binary installs [`TrackingAllocator`], as a host that uses memory limits does, so its
//! `none` case next to `targets`' `submit_to_terminal` shows what the installed allocator
//! costs, and its other cases what each limit adds. Run it with
//! `cargo bench -p taskward-runtime --bench limits`.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use serde_json::Value;
use taskward_core::{Scope, TaskError};
use taskward_runtime::{TaskContext, TaskSpec, Taskward, TrackingAllocator};

#[global_allocator]
static ALLOC: TrackingAllocator = TrackingAllocator::system();

async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

/// `clients` concurrent clients each submit `per` tasks of this spec, then wait for theirs.
async fn run(ward: &Taskward, spec: &TaskSpec, clients: usize, per: usize) -> Duration {
    let start = Instant::now();
    let joins: Vec<_> = (0..clients)
        .map(|_| {
            let (ward, spec) = (ward.clone(), spec.clone());
            tokio::spawn(async move {
                let mut handles = Vec::with_capacity(per);
                for _ in 0..per {
                    handles.push(ward.submit(spec.clone(), trivial).await.expect("submit"));
                }
                for h in handles {
                    h.wait().await.expect("wait");
                }
            })
        })
        .collect();
    for j in joins {
        j.await.expect("client");
    }
    start.elapsed()
}

fn submit_to_terminal(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let ward = rt
        .block_on(Taskward::builder().unlimited_live_tasks().spawn())
        .expect("the runtime starts");
    let plain = TaskSpec::new("bench").scope(Scope::session("bench"));
    let cases = [
        ("none", plain.clone()),
        (
            "cpu_budget",
            plain.clone().cpu_budget(Duration::from_secs(60)),
        ),
        ("memory_limit", plain.clone().memory_limit(1 << 30)),
    ];
    let mut group = c.benchmark_group("limits_submit_to_terminal");
    group.throughput(Throughput::Elements(1));
    for (name, spec) in &cases {
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let clients = 16;
                let per = (iters as usize).div_ceil(clients);
                let elapsed = rt.block_on(run(&ward, spec, clients, per));
                elapsed.mul_f64(iters as f64 / (per * clients) as f64)
            })
        });
    }
    group.finish();
    rt.block_on(ward.shutdown(Duration::from_secs(10)))
        .expect("shutdown");
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    submit_to_terminal(&mut c);
    c.final_summary();
}
