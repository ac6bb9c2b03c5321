//! Criterion bench: the cost of an event with idle subscribers on other scopes.
//!
//! `event_publish/idle_subscribers_on_other_scopes/<n>`: one `submit_external` (a record and
//! its `created` event) while `n` subscribers, each to its own scope, are parked in `recv`.
//! Events are routed by scope and task, so the figure is the same at 0 and at 10,000; when
//! every subscriber shared one broadcast channel, each event woke all of them.
//!
//! Run it with `cargo bench -p taskward-runtime --bench events`.

// Only some of the shared workloads are measured here.
#[allow(dead_code)]
#[path = "shared/workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use taskward_core::Scope;
use taskward_runtime::EventFilter;
use workloads::{runtime, tokio_runtime};

fn event_publish(c: &mut Criterion) {
    let mut group = c.benchmark_group("event_publish");
    for idle in [0usize, 10_000] {
        let rt = tokio_runtime();
        let ward = rt.block_on(runtime());
        let parked: Vec<_> = (0..idle)
            .map(|i| {
                let mut sub =
                    ward.subscribe(EventFilter::all().scope(Scope::session(format!("idle-{i}"))));
                rt.spawn(async move { while sub.recv().await.is_some() {} })
            })
            .collect();
        let scope = Scope::session("bench");
        group.bench_with_input(
            BenchmarkId::new("idle_subscribers_on_other_scopes", idle),
            &idle,
            |b, _| {
                b.iter_custom(|iters| {
                    let (elapsed, ids) =
                        rt.block_on(workloads::create_external(&ward, &scope, iters as usize));
                    black_box(ids);
                    elapsed
                })
            },
        );
        rt.block_on(ward.shutdown(Duration::from_secs(10)))
            .expect("shutdown");
        for p in parked {
            rt.block_on(p).expect("the subscriber ends after shutdown");
        }
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    event_publish(&mut c);
    c.final_summary();
}
