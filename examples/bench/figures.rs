//! Each figure of the targets table: taskward's side and the floor's, measured one after the
//! other in the same run, reported with the target it is judged against.
//!
//! Every workload's driver runs as a task spawned on the multi-thread runtime
//! ([`Ctx::drive`]), as a host's code would; the main thread only waits for its result. So no
//! await of a workload pays the main thread's cross-thread wake-up (about 12 µs here), on
//! taskward as on the floor.

use std::future::Future;
use std::time::Duration;

use taskward::Scope;
use tokio::runtime::Runtime;

use crate::report::Report;
use crate::target::Target;
use crate::timing::time_gets;
use crate::workloads::runtime;
use crate::{Sizes, durable, floor, growth, limits, memory, ward};

/// What a figure's function gets: the runtime to drive workloads on, the sizes, the filter.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) rt: &'a Runtime,
    pub(crate) sizes: Sizes,
    pub(crate) only: Option<&'a str>,
}

impl Ctx<'_> {
    /// Whether the figure `name` is wanted (`--only`: its name contains the text).
    pub(crate) fn wanted(&self, name: &str) -> bool {
        self.only.is_none_or(|o| name.contains(o))
    }

    /// Runs `driver` as a task on the runtime's workers and waits for its result.
    pub(crate) fn drive<F>(&self, driver: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt
            .block_on(self.rt.spawn(driver))
            .expect("the workload's driver")
    }
}

/// How a figure is measured.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Measure {
    /// Measures one run of the figure(s) into the report.
    Run(fn(&Ctx<'_>, &mut Report)),
    /// Not measurable yet: waits for the named API (none now; kept for the next figure
    /// that waits on one).
    #[allow(dead_code)]
    Pending(&'static str),
}

/// One entry of [`FIGURES`]: the names `--only` matches against, and how to measure them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figure {
    pub(crate) names: &'static [&'static str],
    pub(crate) measure: Measure,
}

impl Figure {
    /// Whether any of this entry's names is wanted, or begins the `--only` text (so that
    /// `--only page_of_100` runs the entry named `page`).
    pub(crate) fn wanted(&self, ctx: &Ctx<'_>) -> bool {
        let begins = |n: &str| ctx.only.is_some_and(|o| o.starts_with(n));
        self.names.iter().any(|n| ctx.wanted(n) || begins(n))
    }
}

/// Every figure, in the order each run measures them. To add one, write a
/// `fn(&Ctx, &mut Report)` that measures taskward's side and the floor's with `ctx.drive` and
/// adds them with `report.add`, and list it here under the names `--only` should match.
pub(crate) const FIGURES: &[Figure] = &[
    Figure {
        names: &["memory_per_live_task"],
        measure: Measure::Run(memory_per_live_task),
    },
    Figure {
        names: &["submit_to_terminal"],
        measure: Measure::Run(submit_to_terminal),
    },
    Figure {
        names: &["submit_p50"],
        measure: Measure::Run(submit_p50),
    },
    Figure {
        names: &["create", "get", "page"],
        measure: Measure::Run(table),
    },
    Figure {
        names: &["cancel"],
        measure: Measure::Run(cancel),
    },
    Figure {
        names: &["progress"],
        measure: Measure::Run(progress),
    },
    Figure {
        names: &["flat"],
        measure: Measure::Run(growth::flat),
    },
    Figure {
        names: &["list_"],
        measure: Measure::Run(growth::filtered_pages),
    },
    // The per-task cost of the resource limits (issue 9), both off by default: submit to
    // terminal with the option set, beside the same workload without it (the "floor" of these
    // figures is taskward without the limit; see `limits`).
    Figure {
        names: &["cpu_budget_cost"],
        measure: Measure::Run(limits::cpu_budget_cost),
    },
    Figure {
        names: &["memory_limit_cost", "tracking_allocator_cost"],
        measure: Measure::Run(limits::memory_limit_cost),
    },
    // The durable store (issue 11): SQLite on a file in a temp dir, beside the same workload
    // in memory and a raw SQLite floor (see `durable`).
    Figure {
        names: &["durable_submit_to_terminal", "durable_writes_per_commit"],
        measure: Measure::Run(durable::throughput),
    },
    Figure {
        names: &["durable_power"],
        measure: Measure::Run(durable::power_latency),
    },
    Figure {
        names: &["reload"],
        measure: Measure::Run(durable::reload),
    },
];

fn memory_per_live_task(ctx: &Ctx<'_>, report: &mut Report) {
    let n = ctx.sizes.memory;
    let tw = memory::in_child("taskward", n) / 1024.0;
    let fl = memory::in_child("floor", n) / 1024.0;
    let name = format!("memory_per_live_task@{n}");
    report.add(name, tw, Some(fl), "KiB", Target::AtMost(2.0));
}

fn submit_to_terminal(ctx: &Ctx<'_>, report: &mut Report) {
    let (n, clients) = (ctx.sizes.throughput, ctx.sizes.clients);
    let tw = ctx.drive(ward::throughput(n, clients));
    let fl = ctx.drive(floor::throughput(n, clients));
    let target = Target::AtLeastAndOfFloor(250_000.0, 0.5);
    report.add("submit_to_terminal", tw, Some(fl), "tasks/s", target);
}

fn submit_p50(ctx: &Ctx<'_>, report: &mut Report) {
    let samples = ctx.sizes.submit_samples;
    let tw = ctx.drive(ward::submit_latency(samples));
    let fl = ctx.drive(floor::submit_latency(samples));
    report.add("submit_p50", tw, Some(fl), "us", Target::AtMost(3.0));
}

/// `create`, `get` and `page_of_100` against a table of `sizes.table` tasks. The targets are
/// "no worse than today": the figures of docs/performance.md before issue 9.
fn table(ctx: &Ctx<'_>, report: &mut Report) {
    let Sizes { table, gets, .. } = ctx.sizes;
    let tw = ctx.drive(async move {
        let ward = runtime().await;
        let scope = Scope::session("bench");
        let (create, ids) = ward::create_external(&ward, &scope, table).await;
        let get = time_gets(&ids, gets, |id| ward.get(&scope, *id).is_ok());
        let page = ward::time_pages(&ward, &scope, table);
        ward.shutdown(Duration::from_secs(5))
            .await
            .expect("shutdown");
        [create, get, page]
    });
    let fl = ctx.drive(async move {
        let (floor, create, ids) = floor::filled(table);
        let get = time_gets(&ids, gets, |id| floor.get(id).is_some());
        [create, get, floor::time_pages(&floor, table)]
    });
    let names = [
        "create".to_string(),
        "get".into(),
        format!("page_of_100@{table}"),
    ];
    let today = [2.16, 0.23, 15.4];
    for (i, name) in names.into_iter().enumerate() {
        if ctx.wanted(&name) {
            report.add(name, tw[i], Some(fl[i]), "us", Target::AtMost(today[i]));
        }
    }
}

fn cancel(ctx: &Ctx<'_>, report: &mut Report) {
    let samples = ctx.sizes.cancels;
    let (tw50, tw99) = ctx.drive(ward::cancel(samples));
    let (fl50, fl99) = ctx.drive(floor::cancel(samples));
    report.add(
        "cancel_observed_p50",
        tw50,
        Some(fl50),
        "us",
        Target::AtMost(2.0),
    );
    report.add(
        "cancel_observed_p99",
        tw99,
        Some(fl99),
        "us",
        Target::AtMost(10.0),
    );
}

fn progress(ctx: &Ctx<'_>, report: &mut Report) {
    let calls = ctx.sizes.progress;
    let tw = ctx.drive(ward::progress(calls));
    let fl = ctx.drive(async move { floor::progress(calls) });
    report.add("progress_call", tw, Some(fl), "ns", Target::AtMost(50.0));
}
