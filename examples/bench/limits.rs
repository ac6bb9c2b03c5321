//! The per-task cost of the resource limits (issue 9), both off by default: submit → terminal
//! with the limit on every task, beside the same workload without it in the same run. In these
//! figures the "floor" column is taskward without the limit, and the unit is µs per task (the
//! inverse of the throughput), so the ratio is the limit's relative cost.
//!
//! The CPU budget is measured in this process. The memory limit needs `TrackingAllocator` as
//! the global allocator, so it is measured in a child process, the `bench_tracked` example
//! (`examples/bench_tracked.rs`), with and without the limit there; this command builds it
//! first when it runs under cargo (`cargo run` sets `CARGO`), else runs the one beside its
//! own binary. `tracking_allocator_cost` is the child's no-limit figure beside this
//! process's: what installing the allocator costs every task, limited or not.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::figures::Ctx;
use crate::limited::{self, Metered};
use crate::report::Report;
use crate::target::Target;

/// The child's name, beside this binary.
const CHILD: &str = "bench_tracked";

/// `cpu_budget_cost`: µs per task with a CPU budget on every task, beside none.
pub(crate) fn cpu_budget_cost(ctx: &Ctx<'_>, report: &mut Report) {
    let (n, clients) = (ctx.sizes.throughput, ctx.sizes.clients);
    let none = ctx.drive(limited::us_per_task(Metered::None, n, clients));
    let cpu = ctx.drive(limited::us_per_task(Metered::CpuBudget, n, clients));
    warn_refused("cpu_budget_cost", none.refused + cpu.refused);
    report.add(
        "cpu_budget_cost",
        cpu.us,
        Some(none.us),
        "us/task",
        Target::None,
    );
}

/// `memory_limit_cost` (µs per task with a memory limit beside none, both under the tracking
/// allocator, in the child) and `tracking_allocator_cost` (the child's none beside this
/// process's none).
pub(crate) fn memory_limit_cost(ctx: &Ctx<'_>, report: &mut Report) {
    let (n, clients) = (ctx.sizes.throughput, ctx.sizes.clients);
    let child = match child() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("bench: memory_limit_cost not measured: {e}");
            return;
        }
    };
    let plain = ctx.drive(limited::us_per_task(Metered::None, n, clients));
    warn_refused("tracking_allocator_cost", plain.refused);
    let figures = match run_child(child, n, clients) {
        Ok(figures) => figures,
        Err(e) => {
            eprintln!("bench: memory_limit_cost not measured: {e}");
            return;
        }
    };
    let [tracked, limited] = figures.map(|run| run.us);
    warn_refused(
        "memory_limit_cost",
        figures.iter().map(|run| run.refused).sum(),
    );
    report.add(
        "memory_limit_cost",
        limited,
        Some(tracked),
        "us/task",
        Target::None,
    );
    report.add(
        "tracking_allocator_cost",
        tracked,
        Some(plain.us),
        "us/task",
        Target::None,
    );
}

/// Says how many submits a run refused (their tasks are in the figure, unrun).
fn warn_refused(figure: &str, refused: usize) {
    if refused > 0 {
        eprintln!("bench: {figure}: {refused} submits refused with RunnerStart in this run");
    }
}

/// The child's runs, with no limit and with a memory limit.
fn run_child(child: &PathBuf, n: usize, clients: usize) -> Result<[limited::Run; 2], String> {
    let limits = [Metered::None, Metered::MemoryLimit];
    let out = Command::new(child)
        .args([n.to_string(), clients.to_string()])
        .args(limits.map(Metered::name))
        .output()
        .map_err(|e| format!("{} did not run: {e}", child.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{} failed: {}", child.display(), err.trim()));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let figure = |limit: Metered| {
        stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find_map(|words| match words[..] {
                [name, us, refused] if Metered::from_name(name) == Some(limit) => {
                    let us = us.parse().ok()?;
                    let refused = refused.parse().ok()?;
                    Some(limited::Run { us, refused })
                }
                _ => None,
            })
            .ok_or_else(|| format!("{CHILD} printed no {} figure: {stdout:?}", limit.name()))
    };
    Ok([figure(limits[0])?, figure(limits[1])?])
}

/// The child binary, built first when this command runs under cargo; once per process.
fn child() -> Result<&'static PathBuf, String> {
    static CHILD_EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHILD_EXE.get_or_init(locate).as_ref().map_err(Clone::clone)
}

fn locate() -> Result<PathBuf, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("no path to this binary: {e}"))?
        .with_file_name(CHILD);
    let build = || {
        let mut args = vec!["build", "--quiet", "--example", CHILD];
        if !cfg!(debug_assertions) {
            args.push("--release");
        }
        if cfg!(feature = "mimalloc") {
            // The same features as this binary, so cargo reuses the library it built.
            args.extend(["--features", "mimalloc"]);
        }
        args
    };
    if let Some(cargo) = std::env::var_os("CARGO") {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        eprintln!("bench: building the {CHILD} example for the memory-limit figures");
        let status = Command::new(cargo)
            .args(build())
            .args(["--manifest-path", manifest])
            .status()
            .map_err(|e| format!("cargo did not run: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build of {CHILD} failed ({status})"));
        }
    }
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!(
            "no {} (build it: cargo {})",
            exe.display(),
            build().join(" ")
        ))
    }
}
