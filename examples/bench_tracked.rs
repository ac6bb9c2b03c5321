//! The bench command's child for the memory-limit figures (`examples/bench`, figures
//! `memory_limit_cost` and `tracking_allocator_cost`): a binary that installs
//! [`taskward::TrackingAllocator`] as its global allocator, as a host that uses memory limits
//! does.
//!
//! A process has one global allocator, so the bench binary cannot measure a memory limit in
//! its own process without paying the tracking allocator on every other figure. It runs this
//! binary instead (building it first when it runs under cargo), which measures submit →
//! terminal of `tasks` trivial tasks from `clients` concurrent clients with each limit named
//! (`none`, `cpu_budget`, `memory_limit`), one after the other in this one process, and prints
//! one `limit µs-per-task refused-submits` line for each:
//!
//! ```text
//! cargo run --release --example bench_tracked -- 200000 32 none memory_limit
//! ```

#[path = "bench/limited.rs"]
mod limited;

use limited::Metered;

#[global_allocator]
static ALLOC: taskward::TrackingAllocator = taskward::TrackingAllocator::system();

const USAGE: &str = "usage: bench_tracked <tasks> <clients> <none|cpu_budget|memory_limit>...";

/// The command line: tasks, clients and the limits to measure, or what is wrong with it.
fn parse(args: &[String]) -> Result<(usize, usize, Vec<Metered>), String> {
    let [n, clients, limits @ ..] = args else {
        return Err(USAGE.into());
    };
    let number = |s: &String| {
        s.parse::<usize>()
            .map_err(|_| format!("not a number: {s:?}"))
    };
    let (n, clients) = (number(n)?, number(clients)?);
    if clients == 0 || n < clients {
        return Err(format!("{n} tasks from {clients} clients: {USAGE}"));
    }
    let limits = limits
        .iter()
        .map(|l| Metered::from_name(l).ok_or_else(|| format!("no limit {l:?}: {USAGE}")))
        .collect::<Result<_, _>>()?;
    Ok((n, clients, limits))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (n, clients, limits) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("bench_tracked: {e}");
            std::process::exit(2);
        }
    };
    if !taskward::memory_tracking_installed() {
        eprintln!("bench_tracked: the tracking allocator does not report allocations");
        std::process::exit(1);
    }
    // The bench command's runtime: multi-thread, 2 workers; the driver runs on a worker.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    for limit in limits {
        let run = rt
            .block_on(rt.spawn(limited::us_per_task(limit, n, clients)))
            .expect("the workload's driver");
        println!("{} {} {}", limit.name(), run.us, run.refused);
    }
}
