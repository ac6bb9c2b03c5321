//! Bench: the runtime against its performance targets, next to a raw floor, in one process.
//!
//! Each workload of the targets table in `docs/performance.md` runs twice in each run: once on
//! taskward and once on a **raw floor** — plain `tokio::spawn` + a `CancellationToken` + a
//! sharded map of states, doing the minimum any such runtime must do (no actors, no
//! supervision, no events, no TTL). Each workload's driver is a task spawned on a multi-thread
//! runtime of 2 workers, as a host's code would be; the main thread only waits for its result.
//!
//! `--runs N` (3 by default, 1 with `--quick`) repeats every figure; at the end, for each
//! figure, standard output gets `name value unit` lines: taskward's median over the runs
//! (`<name>`) and its range (`<name>.min`, `<name>.max`), the floor's from the same runs
//! (`<name>.floor`, `.floor.min`, `.floor.max`) and the median of the runs' ratios
//! taskward/floor (`<name>.ratio`, unit `x`). Each run's values go to standard error as they
//! are measured, and a summary with the targets at the end.
//!
//! A full run takes about 50 s on two cores (the default 3, about 2.5 minutes); `--quick` runs
//! every workload once on smaller sizes in about 3 s, the durable ones in under 1 s (CI runs
//! it). `--only <text>` runs the figures whose name contains the text. Memory is measured in
//! child processes (this binary, re-run with `--memory-child`), so that one workload's freed
//! memory cannot hide another's.
//!
//! The resource limits' figures (`limits`, on the workload of `limited`) compare taskward with
//! a limit on every task against taskward without it; the memory limit's run in a child, the
//! `bench_tracked` example, whose binary installs `TrackingAllocator` (this command builds it
//! when run by cargo).
//!
//! With `--features mimalloc` this binary (not the `bench_tracked` child) runs on mimalloc
//! instead of the system allocator, both taskward and the floor (docs/performance.md,
//! "Allocator").
//!
//! The durable store's figures (issue 11: `durable_*`, `reload@*`) run the runtime on a
//! `SqliteStore` in a temp dir, beside the same workload in memory and a raw SQLite floor
//! (`durable`, with `counted`, a store wrapper that counts commits, and `sqlite_floor`, the
//! floor shared with the SQLite store's criterion bench).
//!
//! The modules: `figures` lists the figures (`FIGURES`) and measures the main ones, `growth`
//! the flat and filtered-page ones, `limits` the limits' cost, `target` their goals, `ward` and `floor` are the two sides
//! of each workload, `memory` the child processes, `report` the output. The taskward workloads
//! the criterion benches measure too (`crates/taskward-runtime/benches/targets.rs`) are shared
//! with them, in `workloads`.
//!
//! Run it with (always with `--release`):
//!
//! ```text
//! cargo run --release --example bench
//! cargo run --release --example bench -- --quick
//! cargo run --release --example bench -- --runs 5 --only cancel
//! cargo run --release --example bench --features mimalloc
//! ```

mod counted;
mod durable;
mod figures;
mod floor;
mod growth;
mod limited;
mod limits;
mod memory;
mod report;
#[path = "../../crates/taskward-sqlite/benches/shared/floor.rs"]
mod sqlite_floor;
mod target;
mod timing;
mod ward;
#[path = "../../crates/taskward-runtime/benches/shared/workloads.rs"]
mod workloads;

use std::time::Instant;

// `--features mimalloc`: the bench runs on mimalloc, to measure whether a faster allocator
// pays (docs/performance.md, "Allocator"); without it, on the system allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use figures::{Ctx, FIGURES, Measure};
use report::Report;

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
    /// Tasks in the durable submit-to-terminal run (SQLite, `process`).
    durable: usize,
    /// Submits timed under the `power` policy.
    durable_samples: usize,
    /// Finished tasks in the file a runtime reloads at start.
    reload: usize,
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
    durable: 100_000,
    durable_samples: 5_000,
    reload: 100_000,
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
    durable: 5_000,
    durable_samples: 500,
    reload: 10_000,
};

/// The command line, parsed.
#[derive(Debug)]
struct Args {
    sizes: Sizes,
    runs: usize,
    only: Option<String>,
}

impl Args {
    /// Parses the options after the program's name; an error names the bad one.
    fn parse(args: &[String]) -> Result<Self, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let value = |flag: &str| -> Result<Option<&String>, String> {
            match args.iter().position(|a| a == flag) {
                None => Ok(None),
                Some(i) => args
                    .get(i + 1)
                    .map(Some)
                    .ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        let runs = match value("--runs")? {
            None if quick => 1,
            None => 3,
            Some(n) => match n.parse() {
                Ok(n) if n > 0 => n,
                _ => return Err(format!("--runs wants a positive number, not {n:?}")),
            },
        };
        Ok(Self {
            sizes: if quick { QUICK } else { FULL },
            runs,
            only: value("--only")?.cloned(),
        })
    }
}

/// The runtime every workload's driver runs on: multi-thread, 2 workers.
fn bench_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == memory::CHILD_FLAG) {
        let which = args.get(i + 1).cloned().unwrap_or_default();
        let n = args
            .get(i + 2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(10_000);
        memory::child(&workloads::tokio_runtime(), &which, n);
    }
    let args = match Args::parse(&args) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("bench: {e}");
            eprintln!("usage: bench [--quick] [--runs N] [--only TEXT]");
            std::process::exit(2);
        }
    };
    let rt = bench_runtime();
    let ctx = Ctx {
        rt: &rt,
        sizes: args.sizes,
        only: args.only.as_deref(),
    };
    let start = Instant::now();
    let wanted: Vec<_> = FIGURES.iter().filter(|f| f.wanted(&ctx)).collect();
    for f in &wanted {
        if let Measure::Pending(needs) = f.measure {
            eprintln!(
                "bench: {} not measured yet (needs {needs})",
                f.names.join(", ")
            );
        }
    }
    let mut report = Report::default();
    for run in 1..=args.runs {
        report.start_run(run, args.runs);
        for f in &wanted {
            if let Measure::Run(measure) = f.measure {
                measure(&ctx, &mut report);
            }
        }
    }
    println!("bench.runs {} runs", args.runs);
    report.print();
    report.summary(args.runs);
    eprintln!("bench: done in {:.1} s", start.elapsed().as_secs_f64());
}
