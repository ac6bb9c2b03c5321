//! Submit → terminal with a resource limit on every task, shared by the bench command (no
//! limit, CPU budget) and its child `bench_tracked` (no limit, memory limit), which includes
//! this file with `#[path]`: the memory limit needs `TrackingAllocator` as the global
//! allocator, which the bench binary cannot install beside its own.

use std::time::{Duration, Instant};

use serde_json::Value;
use taskward::{Error, Scope, TaskContext, TaskError, TaskSpec, Taskward};

/// The limit set on every task of a run. The limits are generous: no task reaches them, so
/// the run measures what metering costs, not what stopping a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metered {
    /// No limit: the work is not wrapped at all.
    None,
    /// A CPU budget of 60 s.
    CpuBudget,
    /// A memory limit of 1 GiB (the tracking allocator must be installed).
    MemoryLimit,
}

impl Metered {
    /// Its name on the command line of `bench_tracked` and in its output.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Metered::None => "none",
            Metered::CpuBudget => "cpu_budget",
            Metered::MemoryLimit => "memory_limit",
        }
    }

    /// The limit of this name.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Metered::None, Metered::CpuBudget, Metered::MemoryLimit]
            .into_iter()
            .find(|l| l.name() == name)
    }

    /// The spec of each task of a run with this limit.
    fn spec(self) -> TaskSpec {
        let spec = TaskSpec::new("bench").scope(Scope::session("bench"));
        match self {
            Metered::None => spec,
            Metered::CpuBudget => spec.cpu_budget(Duration::from_secs(60)),
            Metered::MemoryLimit => spec.memory_limit(1 << 30),
        }
    }
}

async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

/// One run of [`us_per_task`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    /// µs per task, from the first submit to the last terminal task.
    pub(crate) us: f64,
    /// Submits refused with `Error::RunnerStart` (their tasks failed `start_failed`): with a
    /// memory limit, `tracking-allocator` 0.4 can refuse an allocation group to one of two
    /// registrations that race (docs/performance.md, "Resource limits").
    pub(crate) refused: usize,
}

/// `n` trivial tasks with `limit` from `clients` concurrent clients, from the first submit to
/// the last terminal task, on a fresh runtime. A submit refused with `Error::RunnerStart` is
/// counted, not waited for; any other error panics.
pub(crate) async fn us_per_task(limit: Metered, n: usize, clients: usize) -> Run {
    let ward = Taskward::builder()
        .unlimited_live_tasks()
        .spawn()
        .await
        .expect("the runtime starts");
    let per = n / clients;
    let start = Instant::now();
    let joins: Vec<_> = (0..clients)
        .map(|_| {
            let ward = ward.clone();
            tokio::spawn(async move {
                let (mut handles, mut refused) = (Vec::with_capacity(per), 0);
                for _ in 0..per {
                    match ward.submit(limit.spec(), trivial).await {
                        Ok(handle) => handles.push(handle),
                        Err(Error::RunnerStart { .. }) => refused += 1,
                        Err(e) => panic!("submit: {e}"),
                    }
                }
                for h in handles {
                    h.wait().await.expect("wait");
                }
                refused
            })
        })
        .collect();
    let mut refused = 0;
    for j in joins {
        refused += j.await.expect("client");
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (per * clients) as f64;
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
    Run { us, refused }
}
