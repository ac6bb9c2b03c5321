//! Bench: the runtime against its performance targets, next to a raw floor, in one process.
//!
//! Each workload of the targets table in `docs/performance.md` runs twice in the same process:
//! once on taskward and once on a **raw floor** — plain `tokio::spawn` + a
//! `CancellationToken` + a map of states behind an `RwLock`, doing the minimum any such runtime
//! must do (no actors, no supervision, no events, no TTL). For each figure it prints, on
//! standard output, three `name value unit` lines: taskward's figure, the floor's
//! (`<name>.floor`) and the ratio taskward/floor (`<name>.ratio`, unit `x`). A summary with
//! the targets goes to standard error.
//!
//! The full run takes about a minute on two cores; `--quick` runs every workload on smaller
//! sizes in a few seconds (CI runs it). `--only <text>` runs the figures whose name contains
//! the text. Memory is measured in child processes (this binary, re-run with
//! `--memory-child`), so that one workload's freed memory cannot hide another's.
//!
//! The modules: `figures` runs each figure and judges it against its target, `ward` and
//! `floor` are the two sides of each workload, `memory` the child processes, `report` the
//! output. The taskward workloads the criterion benches measure too
//! (`crates/taskward-runtime/benches/targets.rs`) are shared with them, in `workloads`.
//!
//! Run it with (always with `--release`):
//!
//! ```text
//! cargo run --release --example bench
//! cargo run --release --example bench -- --quick
//! ```

mod figures;
mod floor;
mod memory;
mod report;
mod timing;
mod ward;
#[path = "../../crates/taskward-runtime/benches/shared/workloads.rs"]
mod workloads;

use std::time::Instant;

/// The sizes of one run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Tasks in the submit-to-terminal throughput run.
    throughput: usize,
    /// Concurrent submitting clients.
    clients: usize,
    /// Sequential submits timed one by one.
    submit_samples: usize,
    /// Tasks in the table that `get`, `list` and `create` are measured against.
    table: usize,
    /// `get` calls timed.
    gets: usize,
    /// Cancels timed one by one.
    cancels: usize,
    /// Live tasks held for the memory figure.
    memory: usize,
    /// `ctx.progress` calls in the hot loop.
    progress: u64,
    /// Tasks retained for the "flat" figures: the small and the large table (and terminal
    /// tasks retained for the filtered list figures).
    flat: (usize, usize),
}

const FULL: Sizes = Sizes {
    throughput: 200_000,
    clients: 32,
    submit_samples: 5_000,
    table: 100_000,
    gets: 2_000_000,
    cancels: 2_000,
    memory: 100_000,
    progress: 20_000_000,
    flat: (1_000, 1_000_000),
};

const QUICK: Sizes = Sizes {
    throughput: 20_000,
    clients: 16,
    submit_samples: 500,
    table: 10_000,
    gets: 200_000,
    cancels: 200,
    memory: 10_000,
    progress: 2_000_000,
    flat: (1_000, 20_000),
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = workloads::tokio_runtime();
    if let Some(i) = args.iter().position(|a| a == memory::CHILD_FLAG) {
        let which = args.get(i + 1).cloned().unwrap_or_default();
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        memory::child(&rt, &which, n);
    }
    let sizes = if args.iter().any(|a| a == "--quick") {
        QUICK
    } else {
        FULL
    };
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let start = Instant::now();
    rt.block_on(figures::run(sizes, only));
    eprintln!("bench: done in {:.1} s", start.elapsed().as_secs_f64());
}
