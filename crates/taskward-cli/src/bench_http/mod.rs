//! `taskward bench-http`: an HTTP-level benchmark of `taskward serve`, with its own load
//! generator.
//!
//! The server runs as a child process (this binary, `serve --http 127.0.0.1:<free port>`,
//! with limits that do not bind), so that its CPU time can be read from `/proc/<pid>/stat`.
//! Clients, each on its own keep-alive connection, create short tasks (a task-augmented
//! `tools/call` of `sleep {seconds: 0}`) and poll `tasks/get` until the task is terminal,
//! in both generations: a 2025-11-25 session each, or stateless 2026-07-28 requests that
//! negotiate the tasks extension in their own `_meta`. Each figure is printed on standard
//! output as `name value unit`.

mod client;
mod load;
mod report;
mod server;

use std::time::Duration;

use clap::Args;

use crate::BoxError;
use load::{Generation, Workload};

/// The options of `taskward bench-http`.
#[derive(Debug, Args)]
pub(crate) struct BenchHttpArgs {
    /// A second per figure and one run each (for CI).
    #[arg(long)]
    pub(crate) quick: bool,
    /// Clients of the steady run.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub(crate) clients: usize,
    /// Clients of the saturation run.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) saturation_clients: usize,
    /// Measured seconds per run [default: 4, 1 with --quick].
    #[arg(long, value_name = "S")]
    pub(crate) seconds: Option<f64>,
    /// Runs per figure, of which the median is printed [default: 3, 1 with --quick].
    #[arg(long, value_name = "N")]
    pub(crate) runs: Option<usize>,
    /// Only this generation: `2025-11-25` (sessions) or `2026-07-28` (stateless).
    #[arg(long, value_name = "VERSION")]
    pub(crate) only: Option<String>,
    /// The `taskward` binary to serve with [default: this one] (to compare builds).
    #[arg(long, value_name = "PATH")]
    pub(crate) server: Option<std::path::PathBuf>,
}

/// Runs every workload and prints its figures.
pub(crate) async fn run(args: BenchHttpArgs) -> Result<(), BoxError> {
    let seconds = args.seconds.unwrap_or(if args.quick { 1.0 } else { 4.0 });
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 3 }).max(1);
    let measured = Duration::from_secs_f64(seconds.max(0.1));
    let warmup = measured.mul_f64(0.25).min(Duration::from_secs(1));
    let generations = match args.only.as_deref() {
        None => vec![Generation::Sessions, Generation::Stateless],
        Some(v) => vec![Generation::from_version(v).ok_or_else(|| format!("unknown --only {v}"))?],
    };
    let modes = [("c20", args.clients), ("sat", args.saturation_clients)];
    for generation in generations {
        for (mode, clients) in modes {
            let workload = Workload {
                generation,
                clients: clients.max(1),
                warmup,
                measured,
            };
            let mut results = Vec::with_capacity(runs);
            for _ in 0..runs {
                let server = server::Child::start(args.server.as_deref()).await?;
                let result = load::run(&server, &workload).await;
                server.stop().await;
                results.push(result?);
            }
            let name = format!("http.{}.{mode}", generation.label());
            report::print(&name, clients, &results);
        }
    }
    Ok(())
}
